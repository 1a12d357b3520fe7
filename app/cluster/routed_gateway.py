"""Any node answers: a call for a station whose socket another node holds is carried out
by that node (its owner), and the answer comes back as if the station were here.

:class:`RoutedGateway` is the :class:`~app.services.ports.ChargerGateway` of a node on
PostgreSQL. A station connected here is called directly. For any other station it looks
up the owner (``stations.node_id`` of an online station whose node still beats); with
none the call fails as ``StationOffline``, exactly as on one node. Otherwise it writes a
request row for the owner and waits for its result: the owner claims it, sends the CALL
under its own per-station lock (so it never interleaves with that station's reconcile),
and writes the CALLRESULT or the typed error back. A request whose owner stops beating
before claiming it goes to the station's new owner; one whose owner died during the call
fails with the reason (the station may or may not have received it, as with a timeout).

:class:`ClusterPeers` asks the owners of stations to run a job (reconcile, verify) for
them now, so a plan or profile stored on any node is delivered by the owner at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from app import tasks
from app.clock import Clock, utcnow
from app.cluster.request_bus import RequestBus
from app.db.batching import chunks
from app.db.engine import Database
from app.db.fleet_models import Node
from app.db.models import Station
from app.db.node_models import NodeRequest
from app.json_types import JsonObject
from app.services.ports import (
    CallTimeout,
    CheckedGateway,
    InvalidRequest,
    ProfileReport,
    StationCallError,
    StationOffline,
    StationProfile,
    call_error_from_json,
    call_error_to_json,
)

T = TypeVar("T")
log = logging.getLogger("chargeplan.cluster")

# Seconds a caller waits beyond the call's own timeout for the owner's answer: the round
# trips through the database and the owner's queue.
GRACE_S = 5.0
# How often a waiting caller reads its request again (a lost notification, a dead owner).
RECHECK_S = 1.0

# The request kind of a GetChargingProfiles and its pages, carried out by the owner.
REPORT = "report"

JobRunner = Callable[[str, list[str] | None, str], Awaitable[None]]
LockFor = Callable[[str], asyncio.Lock]
Handler = Callable[[str, JsonObject], Awaitable[JsonObject]]


class RoutedGateway:
    def __init__(self, local: CheckedGateway, db: Database, bus: RequestBus, *,
                 stale_after_s: float, call_timeout_s: float,
                 clock: Clock = utcnow) -> None:
        self._local = local
        self._db = db
        self._bus = bus
        self.node_id = bus.node_id
        self._stale = timedelta(seconds=stale_after_s)
        self._call_timeout = call_timeout_s
        self._clock = clock
        # Routed calls made from here, by outcome.
        self.routed: Counter[str] = Counter()
        self.calls = local.calls

    # --- ChargerGateway ----------------------------------------------------------------
    def is_connected(self, station_id: str) -> bool:
        return self._local.is_connected(station_id)

    def connected_station_ids(self) -> list[str]:
        return self._local.connected_station_ids()

    async def reachable(self, station_id: str) -> bool:
        if self._local.holds(station_id):
            return True
        try:
            return await self.owner_of(station_id) is not None
        except SQLAlchemyError:
            return False

    async def call(self, station_id: str, action: str, payload: JsonObject, *,
                   timeout: float | None = None,
                   desired_profile_id: int | None = None) -> JsonObject:
        if self._local.holds(station_id):
            return await self._local.call(station_id, action, payload, timeout=timeout,
                                          desired_profile_id=desired_profile_id)
        self._local.check_request(station_id, action, payload)
        try:
            answer = await self._routed(station_id, action, payload, timeout,
                                        desired_profile_id)
        except StationCallError as exc:
            self.routed[exc.kind] += 1
            raise
        self.routed["ok"] += 1
        return answer

    async def held_profiles(self, station_id: str) -> list[StationProfile] | None:
        """Read back only from a station connected here: a reconcile runs on the node
        holding the station (its lease), so no other node is asked."""
        if self._local.holds(station_id):
            return await self._local.held_profiles(station_id)
        raise StationOffline(station_id, "GetChargingProfiles")

    async def profile_report(self, station_id: str, request: JsonObject, *,
                             timeout: float) -> ProfileReport:
        """The pages come to the node holding the station's socket: a station held
        elsewhere is asked by that node, which collects them and writes the report back."""
        if self._local.holds(station_id):
            return await self._local.profile_report(station_id, request, timeout=timeout)
        action = "GetChargingProfiles"
        try:
            owner = await self._owner_for(station_id, action)
            if owner is None:
                raise StationOffline(station_id, action)
            # The owner waits for the answer, then for the pages: both timeouts.
            result = await self._request(owner, REPORT, station_id, action,
                                         {"request": request, "timeout": timeout},
                                         self._call_timeout + timeout, None)
            report = ProfileReport.from_json(answer_of(station_id, action, result))
        except StationCallError as exc:
            self.routed[exc.kind] += 1
            raise
        self.routed["ok"] += 1
        return report

    # --- where a station is ------------------------------------------------------------
    async def owner_of(self, station_id: str) -> str | None:
        """The other live node holding the station's socket; None when no node does."""
        async with self._db.uow() as session:
            owner: str | None = await session.scalar(
                select(Station.node_id).join(Node, Node.id == Station.node_id)
                .where(Station.id == station_id, Station.online.is_(True),
                       Node.heartbeat_at >= self._clock() - self._stale,
                       Station.node_id != self.node_id))
        return owner

    async def owners_of(self, station_ids: list[str]) -> dict[str, list[str]]:
        """node -> the stations among ``station_ids`` it holds (other live nodes only)."""
        by_node: defaultdict[str, list[str]] = defaultdict(list)
        cutoff = self._clock() - self._stale
        async with self._db.uow() as session:
            for batch in chunks(sorted(set(station_ids))):
                rows = await session.execute(
                    select(Station.id, Station.node_id).join(Node, Node.id == Station.node_id)
                    .where(Station.id.in_(batch), Station.online.is_(True),
                           Node.heartbeat_at >= cutoff, Station.node_id != self.node_id))
                for station_id, node_id in rows:
                    by_node[str(node_id)].append(station_id)
        return dict(by_node)

    async def live_peers(self) -> list[str]:
        async with self._db.uow() as session:
            return list((await session.scalars(
                select(Node.id).where(Node.heartbeat_at >= self._clock() - self._stale,
                                      Node.id != self.node_id).order_by(Node.id))).all())

    async def _alive(self, node_id: str) -> bool:
        async with self._db.uow() as session:
            beat = await session.scalar(select(Node.heartbeat_at).where(Node.id == node_id))
        return beat is not None and beat >= self._clock() - self._stale

    # --- the caller's side -------------------------------------------------------------
    async def _routed(self, station_id: str, action: str, payload: JsonObject,
                      timeout: float | None, desired_profile_id: int | None
                      ) -> JsonObject:
        owner = await self._owner_for(station_id, action)
        if owner is None:
            raise StationOffline(station_id, action)
        result = await self._request(owner, "call", station_id, action, payload, timeout,
                                     desired_profile_id)
        return answer_of(station_id, action, result)

    async def carry_out(self, kind: str, station_id: str, payload: JsonObject
                        ) -> JsonObject | None:
        """``app.services.delivery.ports.Owners``: work of ``kind`` done by the station's owner
        with one of :attr:`handlers`; None when no live node holds the station."""
        owner = await self._owner_for(station_id, kind)
        if owner is None:
            return None
        try:
            result = await self._request(owner, kind, station_id, kind, payload, None, None)
        except StationOffline:
            return None
        if not isinstance(result, dict) or "error" in result:
            error = result.get("error") if isinstance(result, dict) else None
            reason = error.get("reason") if isinstance(error, dict) else None
            raise StationCallError(station_id, kind, str(reason or "no result"))
        value: JsonObject = result["value"]
        return value

    async def _owner_for(self, station_id: str, action: str) -> str | None:
        try:
            return await self.owner_of(station_id)
        except SQLAlchemyError as exc:
            raise StationCallError(station_id, action, "cannot find the node holding the "
                                   f"station: database unreachable ({exc})") from None

    async def _request(self, owner: str, kind: str, station_id: str, action: str,
                       payload: JsonObject, timeout: float | None,
                       desired_profile_id: int | None) -> Any:
        """Write the request for ``owner``, wait for its result and return it."""
        waited = (timeout or self._call_timeout) + GRACE_S
        request_id = await self._bus.ask(
            kind, owner, payload, station_id=station_id,
            action=action if kind == "call" else None,
            desired_profile_id=desired_profile_id, timeout_s=timeout)
        deadline = time.monotonic() + waited
        try:
            while True:
                row = await self._bus.wait(
                    request_id, max(0.0, min(RECHECK_S, deadline - time.monotonic())))
                if row is None:
                    raise StationCallError(station_id, action, "the request was deleted")
                if row.state == "done":
                    return row.result
                if time.monotonic() >= deadline:
                    raise CallTimeout(station_id, action, waited)
                if not await self._alive(row.target_node):
                    await self._owner_gone(row, station_id, action)
        finally:
            await self._bus.forget(request_id)

    async def _owner_gone(self, row: NodeRequest, station_id: str, action: str) -> None:
        if row.state != "pending":
            raise StationCallError(station_id, action, f"node {row.target_node} holding the "
                                   "station stopped during the call")
        owner = await self.owner_of(station_id)
        if owner is None:
            raise StationOffline(station_id, action)
        if await self._bus.retarget(row.id, owner):
            log.info("%s to %s: node %s stopped, asking %s", action, station_id,
                     row.target_node, owner)


class RequestServer:
    """The owner's side: claims the requests other nodes wrote for this node and carries
    them out: a CALL under the station's own ``lock``, other ``work`` by its kind, a job
    with ``run_job``."""

    def __init__(self, local: CheckedGateway, bus: RequestBus, *, lock: LockFor,
                 work: Mapping[str, Handler], run_job: JobRunner,
                 call_timeout_s: float, served: Counter[str] | None = None) -> None:
        self._local = local
        self._bus = bus
        self.lock = lock
        # Work other than a CALL that a caller may ask the owner of a station to do.
        self.handlers = work
        self.run_job_here = run_job
        self._call_timeout = call_timeout_s
        self._tasks: set[asyncio.Task[None]] = set()
        self._claiming: asyncio.Task[None] | None = None
        self._stopping = False
        self._jobs: set[asyncio.Task[None]] = set()  # served jobs: nobody awaits a result
        # Requests carried out here for other nodes, by kind.
        self.served: Counter[str] = Counter() if served is None else served

    async def start(self) -> None:
        """Claim what is waiting now, then whatever the bus says is waiting."""
        self._claiming = asyncio.create_task(self._claiming_loop(), name="cluster-claim")
        self.wake()

    def wake(self) -> None:
        """A request for this node may be waiting: claim what there is."""
        self._bus.poke()

    async def _claiming_loop(self) -> None:
        while True:
            await self._bus.next_request()
            if self._stopping:
                return
            await self._claim_all()

    async def _claim_all(self) -> None:
        while True:
            try:
                rows = await self._bus.claim()
            except (SQLAlchemyError, OSError) as exc:
                log.warning("claiming requests failed: %s", exc)
                return
            for row in rows:
                task = self._spawn(self._serve(row), f"cluster-serve-{row.id}")
                if row.kind == "job":
                    self._jobs.add(task)
                    task.add_done_callback(self._jobs.discard)
            if not rows:
                return

    async def _serve(self, row: NodeRequest) -> None:
        result: JsonObject | None
        if row.kind == "call":
            result = await self._serve_call(row)
        elif row.kind == REPORT:
            result = await self._serve_report(row)
        elif row.kind == "job":
            await self._serve_job(row)
            result = None
        else:
            result = await self._serve_work(row)
        self.served[row.kind] += 1
        try:
            await self._bus.finish(row, result)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("writing the result of request %s failed: %s", row.id, exc)

    async def _serve_call(self, row: NodeRequest) -> JsonObject:
        station_id = row.station_id or ""

        async def call() -> JsonObject:
            async with self.lock(station_id):
                return await self._local.call(station_id, row.action or "", row.payload,
                                              timeout=row.timeout_s,
                                              desired_profile_id=row.desired_profile_id)

        return await self._answered(row, call)

    async def _serve_report(self, row: NodeRequest) -> JsonObject:
        """A GetChargingProfiles of another node: its pages come here."""
        async def report() -> JsonObject:
            found = await self._local.profile_report(
                row.station_id or "", row.payload["request"],
                timeout=float(row.payload["timeout"]))
            return found.to_json()

        return await self._answered(row, report)

    async def _answered(self, row: NodeRequest,
                        work: Callable[[], Awaitable[JsonObject]]) -> JsonObject:
        """The answer of ``work``, or its typed error, as the caller reads it back."""
        try:
            answer = await work()
        except StationCallError as exc:
            return {"error": call_error_to_json(exc)}
        except Exception as exc:
            log.exception("request %s (%s to %s) failed", row.id, row.action or row.kind,
                          row.station_id)
            return {"error": {"kind": "error", "reason": f"{type(exc).__name__}: {exc}"}}
        return {"answer": answer}

    async def _serve_work(self, row: NodeRequest) -> JsonObject:
        handler = self.handlers.get(row.kind)
        if handler is None:
            return {"error": {"kind": "error", "reason": f"unknown request kind {row.kind}"}}
        try:
            return {"value": await handler(row.station_id or "", row.payload)}
        except Exception as exc:
            log.exception("request %s (%s for %s) failed", row.id, row.kind, row.station_id)
            return {"error": {"kind": "error", "reason": f"{type(exc).__name__}: {exc}"}}

    async def _serve_job(self, row: NodeRequest) -> None:
        payload = row.payload
        try:
            await self.run_job_here(payload["job"], payload.get("station_ids"),
                                    payload.get("trigger", "peer"))
        except Exception:
            log.exception("job requested by %s failed", row.origin_node)

    def _spawn(self, work: Awaitable[None], name: str) -> asyncio.Task[None]:
        return tasks.spawn(work, name, log, self._tasks)

    async def stop(self) -> None:
        """Claim nothing more and let the requests being served write their results: by
        now the station sockets are closed, so a call still waiting on one has failed as
        offline. A request cancelled without a result would leave its caller with "node
        stopped during the call" (a 502) instead of the station's or offline answer."""
        self._stopping = True
        if self._claiming is not None:
            self._bus.poke()  # the claim under way ends; no other begins
            await asyncio.wait([self._claiming], timeout=self._call_timeout + GRACE_S)
            self._claiming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._claiming
        for job in list(self._jobs):
            job.cancel()  # a job asked for by another node: its stations reboot elsewhere
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=self._call_timeout + GRACE_S)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class ClusterPeers:
    """Implements ``app.services.ports.Peers`` over request rows."""

    def __init__(self, gateway: RoutedGateway, bus: RequestBus, db: Database) -> None:
        self._gateway = gateway
        self._bus = bus
        self._db = db

    async def run_elsewhere(self, job: str, station_ids: list[str] | None,
                            trigger: str) -> None:
        if station_ids is None:
            targets: dict[str, list[str] | None] = {
                node: None for node in await self._gateway.live_peers()}
        else:
            targets = dict(await self._gateway.owners_of(station_ids))
        for node, ids in targets.items():
            await self._bus.ask("job", node, {"job": job, "station_ids": ids,
                                              "trigger": trigger}, awaited=False)

    async def once(self, key: str, work: Callable[[], Awaitable[object]]) -> bool:
        """Run ``work`` holding a transaction-level advisory lock named ``key``: a node
        whose timer fires while another runs the job leaves it to that one, and a node that
        dies meanwhile holds nothing (its transaction ends with its connection). The fleet
        jobs are idempotent, so one that starts after the other finished changes nothing."""
        async with self._db.engine.connect() as conn, conn.begin():
            got = await conn.scalar(select(func.pg_try_advisory_xact_lock(
                func.hashtextextended(f"chargeplan:{key}", 0))))
            if not got:
                log.info("%s: running on another node", key)
                return False
            await work()
        return True

    async def exclusive(self, key: str, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work`` holding a transaction-level advisory lock named ``key``, waiting
        for the node that holds it; a node that dies while holding it lets go with its
        connection."""
        async with self._db.engine.connect() as conn, conn.begin():
            await conn.execute(select(func.pg_advisory_xact_lock(
                func.hashtextextended(f"chargeplan:{key}", 0))))
            return await work()


def answer_of(station_id: str, action: str, result: Any) -> JsonObject:
    """The CALLRESULT payload of a finished request, or its error raised as on one node."""
    if isinstance(result, dict) and isinstance(result.get("answer"), dict):
        answer: JsonObject = result["answer"]
        return answer
    error = result.get("error") if isinstance(result, dict) else None
    if not isinstance(error, dict):
        raise StationCallError(station_id, action, "the node holding the station wrote no "
                               "result")
    if error.get("kind") == InvalidRequest.kind:
        raise InvalidRequest(station_id, action, str(error.get("reason", "")))
    raise call_error_from_json(station_id, action, error)
