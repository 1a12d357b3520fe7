"""One simulated charge point on a raw websocket: sends CALLs, answers the server's CALLs."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Final

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from app.bench.frames import CALL, CALLERROR, CALLRESULT, answer_to_server_call, encode_call

# OCPP-J 1.6 §3.1.2: the websocket subprotocol of OCPP 1.6J.
OCPP16: Final = Subprotocol("ocpp1.6")
CLOSE_TIMEOUT_S: Final = 2.0


class CallFailed(Exception):
    """A CALL that got a CALLERROR, no answer in time, or lost its connection."""

    def __init__(self, reason: str, *, fatal: bool) -> None:
        super().__init__(reason)
        # A fatal failure leaves the station unusable: the connection is gone, or an
        # unanswered CALL would break the one-outstanding-CALL rule (OCPP-J 1.6 §4.1.1).
        self.fatal = fatal


class Station:
    """A charge point connection holding at most one outstanding CALL (OCPP-J 1.6 §4.1.1)."""

    def __init__(self, station_id: str, connection: ClientConnection) -> None:
        self.station_id = station_id
        self.energy_wh = 0.0
        self._connection = connection
        self._next_id = 0
        self._pending: tuple[str, asyncio.Future[list[Any]]] | None = None
        self._closed_reason: str | None = None
        self._reader = asyncio.create_task(self._read(), name=f"read-{station_id}")

    @classmethod
    async def connect(cls, base_url: str, station_id: str, open_timeout_s: float) -> Station:
        connection = await connect(
            f"{base_url}/{station_id}",
            subprotocols=[OCPP16],
            compression=None,
            proxy=None,
            open_timeout=open_timeout_s,
            # The server keeps the connection alive; client pings would only add load.
            ping_interval=None,
            close_timeout=CLOSE_TIMEOUT_S,
        )
        return cls(station_id, connection)

    @property
    def busy(self) -> bool:
        return self._pending is not None

    @property
    def closed(self) -> bool:
        return self._closed_reason is not None

    async def call(self, action: str, payload: dict[str, Any], timeout_s: float) -> Any:
        """Send a CALL and return the CALLRESULT payload, or raise CallFailed."""
        if self._closed_reason is not None:
            raise CallFailed(f"{action}: {self._closed_reason}", fatal=True)
        self._next_id += 1
        unique_id = str(self._next_id)
        answer: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._pending = (unique_id, answer)
        try:
            await self._connection.send(encode_call(unique_id, action, payload), text=True)
            async with asyncio.timeout(timeout_s):
                frame = await answer
        except TimeoutError:
            raise CallFailed(f"{action}: no answer within {timeout_s} s", fatal=True) from None
        except ConnectionClosed as exc:
            raise CallFailed(f"{action}: connection closed ({exc})", fatal=True) from None
        finally:
            self._pending = None
        if frame[0] == CALLERROR:
            raise CallFailed(f"{action}: CALLERROR {frame[2:4]}", fatal=False)
        return frame[2]

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._connection.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

    async def _read(self) -> None:
        try:
            while True:
                raw = await self._connection.recv(decode=False)
                await self._dispatch(raw)
        except ConnectionClosed as exc:
            self._lose_connection(f"connection closed ({exc})")
        except Exception as exc:  # the reason fails the CALL waiting on it
            self._lose_connection(f"reader failed: {exc!r}")

    async def _dispatch(self, raw: str | bytes) -> None:
        frame = orjson.loads(raw)
        if not isinstance(frame, list) or len(frame) < 3:
            return
        message_type = frame[0]
        if message_type == CALL and len(frame) >= 4:
            # The server's own CALLs (GetConfiguration after boot, ...) are answered at once
            # and are not round trips of the station.
            await self._connection.send(answer_to_server_call(frame[1], frame[2]), text=True)
        elif message_type in (CALLRESULT, CALLERROR):
            pending = self._pending
            if pending is not None and pending[0] == frame[1] and not pending[1].done():
                pending[1].set_result(frame)

    def _lose_connection(self, reason: str) -> None:
        self._closed_reason = reason
        pending = self._pending
        if pending is not None and not pending[1].done():
            pending[1].set_exception(CallFailed(reason, fatal=True))
