"""The floor: a bare websockets + json OCPP 1.6J endpoint with fixed answers.

No validation, no state, no database. Whatever a real server does above this is its cost;
the bench reports every figure as a ratio to this floor.

Run: ``python -m app.bench.floor_server --port 9100`` (listens on 127.0.0.1 only).
"""

from __future__ import annotations

import asyncio
import json
import signal
from datetime import UTC, datetime
from typing import Any, Final

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from app.bench.limits import raise_open_files_limit
from app.bench.serve_args import parse_port

HOST: Final = "127.0.0.1"
HEARTBEAT_INTERVAL_S: Final = 300
ACCEPTED: Final = {"status": "Accepted"}


def answer(action: str) -> dict[str, Any]:
    """The fixed CALLRESULT payload for a charge point's CALL (OCPP 1.6 §6)."""
    if action == "BootNotification":
        return {"status": "Accepted", "currentTime": _now(), "interval": HEARTBEAT_INTERVAL_S}
    if action == "Heartbeat":
        return {"currentTime": _now()}
    if action in ("Authorize", "StartTransaction"):
        return {"idTagInfo": ACCEPTED, "transactionId": 1}
    return {}


async def handle(connection: ServerConnection) -> None:
    try:
        async for raw in connection:
            frame = json.loads(raw)
            # OCPP-J 1.6 §4.2.1: only CALLs (type 2) get an answer; the rest is dropped.
            if frame[0] == 2:
                await connection.send(json.dumps([3, frame[1], answer(frame[2])]))
    except ConnectionClosed:
        return


async def serve_forever(port: int) -> None:
    stop = asyncio.get_running_loop().create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set_result, None)
    async with serve(
        handle,
        HOST,
        port,
        # OCPP-J 1.6 §3.1.2: the subprotocol is ocpp1.6.
        subprotocols=[Subprotocol("ocpp1.6")],
        compression=None,
    ):
        await stop


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def main(argv: list[str] | None = None) -> None:
    port = parse_port("Bare OCPP 1.6J floor server for the benchmark", argv)
    raise_open_files_limit()
    asyncio.run(serve_forever(port))


if __name__ == "__main__":
    main()
