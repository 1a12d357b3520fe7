"""One station's websocket: OCPP-J framing, validation, ordering, calls both ways, audit.

Inbound CALLs are answered one after another in the order received (a charger's
StartTransaction must be handled before its MeterValues), by a worker task that exists
while CALLs wait (an idle connection keeps no task, queue or future of its own); the reader
keeps reading meanwhile, so CALLRESULTs to the server's own CALLs are never stuck
behind a slow handler. Outbound CALLs go one at a time (OCPP-J 1.6 §4.1.1).

Every frame the server sends leaves only once its audit row is committed: a CALLRESULT
(and so the CALL it answers, queued before it, and the data its handler stored) is
durable before the station learns it need not send it again; a CALL is on record before
the station can act on it. Frames received are queued for the audit without waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from app import tasks
from app.clock import Clock
from app.db.batch_writer import WriterStopped
from app.db.security_models import SecurityEventKind
from app.ocpp import audit, frames
from app.ocpp.errors import ErrorCode, OcppError
from app.ocpp.ratelimit import TokenBucket, WindowCounter
from app.services.fleet.call_context import current_job_run
from app.services.ports import CallErrorReceived, CallTimeout, StationOffline
from app.services.security.security_events import SecurityEvents

if TYPE_CHECKING:
    from app.ocpp.protocol import ProtocolAdapter
    from app.ocpp.router import Router

log = logging.getLogger("chargeplan.ocpp")

# CALLs a station may have waiting for the one being handled before its socket is not read.
INBOUND_MAX = 32


class AuditLog(Protocol):
    async def put(self, row: audit.Record) -> None:
        """Queue a row."""

    async def write(self, rows: Iterable[audit.Record]) -> None:
        """Queue rows and return once they are committed."""


# action, future, start (perf_counter), desired profile the call serves, job run
_PendingCall = tuple[str, "asyncio.Future[dict[str, Any]]", float, int | None, int | None]


def remote_host(ws: ServerConnection) -> str | None:
    """The client's address without its port: what per-address limits and events key on."""
    remote: Any = ws.remote_address
    if isinstance(remote, tuple) and remote:
        return str(remote[0])
    return None if remote is None else str(remote)


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """What one station may cost: CALLs (and junk) per second, and what of junk is kept."""

    rate_per_s: float
    burst: float
    raw_max_bytes: int


class StationConnection:
    def __init__(
        self,
        station_id: str,
        ws: ServerConnection,
        *,
        router: Router,
        audit: AuditLog,
        clock: Clock,
        call_timeout: float,
        limits: ConnectionLimits,
        malformed: WindowCounter,
        security_events: SecurityEvents,
    ) -> None:
        self.station_id = station_id
        self.ws = ws
        # The client's host, taken at the handshake: every security event recorded while
        # the station is connected carries it.
        self.remote_host = remote_host(ws)
        self._router = router
        # The OCPP version the handshake negotiated: what the station's frames mean.
        self.protocol: ProtocolAdapter = router.protocol
        self._audit_log = audit
        self._audit = audit.put
        self._clock = clock
        self.call_timeout = call_timeout
        self._bucket = TokenBucket(limits.rate_per_s, limits.burst)
        self._raw_max_bytes = limits.raw_max_bytes
        # Shared by this station's connections: reconnecting does not reset it.
        self._malformed = malformed
        self._security_events = security_events
        # CALLs received and not answered yet, in order; the worker handles the first.
        self._inbound: deque[frames.Call] = deque()
        self._inbound_ids: set[str] = set()
        self._worker: asyncio.Task[None] | None = None
        # Set by the worker when the reader, paused on a full inbound queue, may go on.
        self._room: asyncio.Future[None] | None = None
        self._pending: dict[str, _PendingCall] = {}
        # Ids of CALLs that timed out, to tell a late answer from an unknown one.
        self._expired: OrderedDict[str, str] = OrderedDict()
        self._call_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.closed = False
        # OCPP 1.6 §4.2, 2.0.1 B02: a boot answered Pending (a held station) leaves it not
        # accepted until a boot is answered Accepted; the services treat it as offline.
        self.pending_boot = False
        # What chargeplan's TriggerMessage asked for while Pending: the station may send it
        # (OCPP 1.6 §4.2; B02.FR.09).
        self.triggered: set[str] = set()
        self._refusing = False
        self.last_seen = clock()

    # --- lifecycle ---------------------------------------------------------------------
    async def serve(self) -> None:
        try:
            async for message in self.ws:
                if self._refusing:
                    # Closing for junk: read on, unprocessed, so the peer's close frame
                    # behind what it already sent can reach us.
                    continue
                self.last_seen = self._clock()
                await self._receive(message)
        except ConnectionClosed:
            pass
        finally:
            await self._audit_close()
            self._shut()

    def _shut(self) -> None:
        self.closed = True
        if self._worker is not None:
            self._worker.cancel()
        for task in self._tasks:
            task.cancel()
        # Calls fail fast: every CALL waiting on this socket ends now, not at its timeout.
        for action, future, *_ in self._pending.values():
            if not future.done():
                future.set_exception(StationOffline(self.station_id, action))
        self._pending.clear()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.ws.close(code, reason)

    def spawn(self, coro: Awaitable[Any], name: str) -> None:
        """Run work after an answer is sent (e.g. GetConfiguration after a boot); the
        task belongs to this connection and ends with it."""
        tasks.spawn(coro, f"{name}-{self.station_id}", log, self._tasks,
                    label=f"{self.station_id}: {name}")

    # --- inbound ------------------------------------------------------------------------
    async def _receive(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            error = frames.FrameError(
                ErrorCode.FORMATION_VIOLATION,
                "binary frame: OCPP-J messages are text frames (OCPP-J 1.6 §3)",
            )
            with contextlib.suppress(frames.FrameError):
                parsed = frames.parse(message.decode("utf-8", errors="replace"))
                error.unique_id = parsed.unique_id
                error.reply = isinstance(parsed, frames.Call)
            await self._reject(error, message)
            return
        try:
            frame = frames.parse(message)
        except frames.FrameError as exc:
            await self._reject(exc, message)
            return
        if isinstance(frame, frames.Call):
            await self._accept_call(frame)
        else:
            await self._answer_received(frame)

    async def _reject(self, exc: frames.FrameError, frame: str | bytes) -> None:
        await self._audit(audit.row(
            self._clock(), self.station_id, "in", exc.message_type, unique_id=exc.unique_id,
            action=exc.action, raw=audit.Raw.of(frame, self._raw_max_bytes),
            error_code=exc.code, error_description=exc.description,
        ))
        # Junk costs the station's rate limit as a CALL does, and a flood of it ends the
        # connection: nothing a station sends is free.
        self._bucket.take()
        if self._malformed.hit():
            await self._close_for_junk(exc)
            return
        if exc.reply:
            await self._send_error(exc.unique_id, exc.code, exc.description, exc.action)

    async def _close_for_junk(self, exc: frames.FrameError) -> None:
        limit = self._malformed.limit
        self._security_events.record(
            SecurityEventKind.MALFORMED_FLOOD, station_id=self.station_id,
            remote_address=self.remote_host,
            detail={"malformed_frames_per_minute": limit, "last_error": exc.description[:200]},
            coalesce=True)
        log.warning("%s: more than %d malformed frames in a minute: disconnecting",
                    self.station_id, limit)
        # RFC 6455 §7.4.1: 1008, a message that violates the endpoint's policy. Nothing the
        # station sent after it is processed.
        self._refusing = True
        self.spawn(self.ws.close(1008, f"more than {limit} malformed frames per minute"),
                   "close-1008")

    async def _accept_call(self, call: frames.Call) -> None:
        await self._audit(audit.row(
            self._clock(), self.station_id, "in", "CALL", unique_id=call.unique_id,
            action=call.action, payload=call.payload,
        ))
        if call.unique_id in self._inbound_ids:
            # OCPP-J 1.6 §4.1.4: ids are unique per sender; a CALL whose id is still
            # being handled is a protocol error, answered without touching the first.
            await self._send_error(call.unique_id, ErrorCode.PROTOCOL_ERROR,
                                   "a CALL with this UniqueId is already being handled",
                                   call.action)
            return
        if not self._bucket.take():
            await self._send_error(
                call.unique_id, ErrorCode.GENERIC_ERROR,
                f"rate limit: more than {self._bucket.rate:g} CALLs per second from this "
                "station; retry later", call.action)
            return
        self._inbound_ids.add(call.unique_id)
        # Bounded: when the worker falls behind, reading this socket pauses.
        while len(self._inbound) >= INBOUND_MAX:
            self._room = asyncio.get_running_loop().create_future()
            await self._room
        self._inbound.append(call)
        if self._worker is None:
            self._worker = asyncio.create_task(self._work(),
                                               name=f"ocpp-worker-{self.station_id}")

    async def _work(self) -> None:
        try:
            while self._inbound:
                call = self._inbound.popleft()
                if self._room is not None:
                    if not self._room.done():
                        self._room.set_result(None)
                    self._room = None
                try:
                    await self._handle(call)
                finally:
                    self._inbound_ids.discard(call.unique_id)
        finally:
            self._worker = None
            # Ended by a failure: a reader waiting for room starts the next worker.
            if self._room is not None and not self._room.done():
                self._room.set_result(None)

    async def _handle(self, call: frames.Call) -> None:
        try:
            result, after = await self._router.dispatch(self, call)
        except OcppError as exc:
            await self._send_error(call.unique_id, exc.code, exc.description, call.action,
                                   exc.details)
            return
        except Exception as exc:
            log.exception("%s: handling %s failed", self.station_id, call.action)
            await self._send_error(call.unique_id, ErrorCode.INTERNAL_ERROR,
                                   f"{type(exc).__name__} while handling {call.action}",
                                   call.action)
            return
        await self._send(frames.call_result(call.unique_id, result), audit.row(
            self._clock(), self.station_id, "out", "CALLRESULT", unique_id=call.unique_id,
            action=call.action, payload=result,
        ))
        if after is not None:
            self.spawn(after(), f"after-{call.action}")

    async def _answer_received(self, frame: frames.CallResult | frames.CallError) -> None:
        pending = self._pending.get(frame.unique_id)
        now = self._clock()
        if pending is None:
            late = self._expired.get(frame.unique_id)
            note = (f"answer to {late} after its timeout: ignored" if late
                    else "no CALL with this UniqueId awaits an answer: ignored")
            await self._audit(self._answer_row(frame, now, late, None, note, None, None))
            return
        action, future, started, desired_profile_id, job_run_id = pending
        rtt_ms = (time.perf_counter() - started) * 1000.0
        await self._audit(self._answer_row(frame, now, action, rtt_ms, None, desired_profile_id,
                                           job_run_id))
        if future.done():
            return
        if isinstance(frame, frames.CallResult):
            future.set_result(frame.payload)
        else:
            future.set_exception(CallErrorReceived(
                self.station_id, action, frame.code, frame.description, frame.details))

    def _answer_row(self, frame: frames.CallResult | frames.CallError, now: Any,
                    action: str | None, rtt_ms: float | None, note: str | None,
                    desired_profile_id: int | None, job_run_id: int | None) -> audit.Record:
        if isinstance(frame, frames.CallResult):
            return audit.row(now, self.station_id, "in", "CALLRESULT", unique_id=frame.unique_id,
                             action=action, payload=frame.payload, rtt_ms=rtt_ms,
                             error_description=note, desired_profile_id=desired_profile_id,
                             job_run_id=job_run_id)
        return audit.row(now, self.station_id, "in", "CALLERROR", unique_id=frame.unique_id,
                         action=action, payload=frame.details, error_code=frame.code,
                         error_description=frame.description if note is None
                         else f"{frame.description} ({note})", rtt_ms=rtt_ms,
                         desired_profile_id=desired_profile_id, job_run_id=job_run_id)

    # --- outbound -----------------------------------------------------------------------
    async def call(self, action: str, payload: dict[str, Any], timeout: float | None = None,
                   *, desired_profile_id: int | None = None) -> dict[str, Any]:
        """Send a CALL and wait for its CALLRESULT payload; raise StationCallError."""
        timeout = self.call_timeout if timeout is None else timeout
        async with self._call_lock:
            if self.closed:
                raise StationOffline(self.station_id, action)
            unique_id = str(uuid.uuid4())
            if self.pending_boot and action == "TriggerMessage":
                self.triggered.add(str(payload.get("requestedMessage")))
            future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            job_run_id = current_job_run.get()
            self._pending[unique_id] = (action, future, time.perf_counter(), desired_profile_id,
                                        job_run_id)
            try:
                sent = await self._send(frames.call(unique_id, action, payload), audit.row(
                    self._clock(), self.station_id, "out", "CALL", unique_id=unique_id,
                    action=action, payload=payload, desired_profile_id=desired_profile_id,
                    job_run_id=job_run_id,
                ))
                if not sent:
                    raise StationOffline(self.station_id, action)
                return await asyncio.wait_for(future, timeout)
            except TimeoutError:
                self._expired[unique_id] = action
                while len(self._expired) > 64:
                    self._expired.popitem(last=False)
                raise CallTimeout(self.station_id, action, timeout) from None
            finally:
                self._pending.pop(unique_id, None)

    async def _send_error(self, unique_id: Any, code: ErrorCode, description: str,
                          action: str | None, details: dict[str, Any] | None = None) -> None:
        # The code as the station's version spells it, on the wire and in the audit trail.
        spelled = self.protocol.error_code(code)
        await self._send(frames.call_error(unique_id, spelled, description, details), audit.row(
            self._clock(), self.station_id, "out", "CALLERROR", unique_id=unique_id,
            action=action, payload=details or {}, error_code=spelled,
            error_description=description,
        ))

    async def _send(self, text: str, row: audit.Record) -> bool:
        try:
            await self._audit_log.write((row,))
        except WriterStopped:
            log.warning("%s: %s %s not sent: the audit writer stopped", self.station_id,
                        row[audit.MESSAGE_TYPE], row[audit.ACTION])
            return False
        try:
            await self.ws.send(text)
        except ConnectionClosed:
            return False
        return True

    async def _audit_close(self) -> None:
        # The websocket layer fails the connection itself on an oversized frame (1009)
        # or invalid UTF-8 (1007): the frame never reaches us, so record why it closed.
        sent = self.ws.protocol.close_sent
        code = sent.code if sent is not None else None
        if code in (1007, 1008, 1009):
            reason = sent.reason if sent is not None else ""
            what = {1007: "invalid UTF-8 in a text frame", 1008: "malformed frames",
                    1009: "frame over the size limit"}[code]
            await self._audit(audit.row(
                self._clock(), self.station_id, "in", "INVALID",
                error_code=ErrorCode.FORMATION_VIOLATION,
                error_description=f"{what}: connection closed with {code} {reason}".strip(),
            ))
