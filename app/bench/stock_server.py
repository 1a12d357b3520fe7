"""The stock server: the `ocpp` package's ChargePoint with its default validation.

It answers BootNotification, Heartbeat, StatusNotification and MeterValues, as the
package's own examples do, and nothing more.

Run: ``python -m app.bench.stock_server --port 9200`` (listens on 127.0.0.1 only).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC, datetime
from typing import Any, Final

from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action, RegistrationStatus
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from app.bench.limits import raise_open_files_limit
from app.bench.serve_args import parse_port

HOST: Final = "127.0.0.1"
HEARTBEAT_INTERVAL_S: Final = 300


class StockChargePoint(ChargePoint):  # type: ignore[misc]
    @on(Action.boot_notification)  # type: ignore[untyped-decorator]
    def on_boot_notification(self, **_: Any) -> call_result.BootNotification:
        return call_result.BootNotification(
            current_time=_now(),
            interval=HEARTBEAT_INTERVAL_S,
            status=RegistrationStatus.accepted,
        )

    @on(Action.heartbeat)  # type: ignore[untyped-decorator]
    def on_heartbeat(self, **_: Any) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=_now())

    @on(Action.status_notification)  # type: ignore[untyped-decorator]
    def on_status_notification(self, **_: Any) -> call_result.StatusNotification:
        return call_result.StatusNotification()

    @on(Action.meter_values)  # type: ignore[untyped-decorator]
    def on_meter_values(self, **_: Any) -> call_result.MeterValues:
        return call_result.MeterValues()


async def handle(connection: ServerConnection) -> None:
    station_id = connection.request.path.strip("/") if connection.request else "unknown"
    try:
        await StockChargePoint(station_id, connection).start()
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
    port = parse_port("Stock `ocpp` package OCPP 1.6J server for the benchmark", argv)
    raise_open_files_limit()
    # The package logs every frame at INFO; that would measure the terminal, not the server.
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve_forever(port))


if __name__ == "__main__":
    main()
