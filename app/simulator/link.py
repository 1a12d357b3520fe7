"""What every simulated charge point does whatever OCPP version it speaks.

Its websocket (connect, authenticate, reconnect after every close), the task group of one
connection, sending a CALL, booting until accepted, and what its cars draw for the
composite limit in force. :class:`app.simulator.station.SimulatedStation` (OCPP 1.6J) and
:class:`app.simulator.station_v201.SimulatedStation201` (OCPP 2.0.1) add what their version
says and answers.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from ocpp.exceptions import OCPPError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Subprotocol

from app.simulator.car import PluggedCar
from app.simulator.clock import VirtualClock
from app.simulator.config import SimulatorConfig
from app.simulator.faults import FaultInjector
from app.simulator.meter import Connector
from app.simulator.tls import client_context

logger = logging.getLogger("chargeplan.simulator")

_Spawnable = Coroutine[Any, Any, None]


class StationLink:
    """A charge point with ``config.connectors`` connectors (EVSEs in 2.0.1) that connects
    to ``config.url``; it reconnects after every close until :meth:`run` is cancelled.

    A version fills in :attr:`subprotocol`, :meth:`open_protocol`, :meth:`_after_boot`,
    :meth:`send_boot_notification`, :meth:`set_heartbeat_interval`, :meth:`is_charging`,
    :meth:`limit_w` and :meth:`limit_a`.
    """

    subprotocol = Subprotocol("ocpp1.6")

    def __init__(
        self,
        station_id: str,
        index: int,
        config: SimulatorConfig,
        clock: VirtualClock,
        *,
        connect_gate: asyncio.Semaphore | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.station_id = station_id
        self.config = config
        self.clock = clock
        self.faults = FaultInjector(config, index)
        self._gate = connect_gate or asyncio.Semaphore(config.connect_concurrency)
        self._tls = tls if tls is not None else client_context(config)
        self.connectors = {n: Connector(n) for n in range(1, config.connectors + 1)}
        self.cars: dict[int, PluggedCar] = {}  # simulated cars, by connector
        # Told (connector, instant) each time a car's draw is decided: on a profile
        # change, a transaction's start and end, and every sample.
        self.draw_listeners: list[Callable[[int, datetime], None]] = []
        self.connected = asyncio.Event()
        self.booted = asyncio.Event()
        # Set once the first connection attempt has ended, whatever its outcome.
        self.first_attempt_done = asyncio.Event()
        self.boots = 0
        self._stopping = False
        self._connection: ClientConnection | None = None
        self._protocol: Any = None
        self._tasks: asyncio.TaskGroup | None = None

    @property
    def boot_accepted(self) -> bool:
        return self.booted.is_set()

    # --- what a version fills in -------------------------------------------------------

    def open_protocol(self, connection: ClientConnection) -> Any:
        """The ``ocpp`` ChargePoint that serves ``connection``."""
        raise NotImplementedError

    async def _after_boot(self) -> None:
        """What the station sends and starts once its boot is accepted."""
        raise NotImplementedError

    async def _after_connect(self, release_gate: Callable[[], None]) -> None:
        try:
            await self._boot()
        finally:
            release_gate()
        if self.config.disconnect_every is not None:
            self.spawn(self._disconnect_later(self.config.disconnect_every))
        await self._after_boot()

    async def send_boot_notification(self) -> Any:
        raise NotImplementedError

    def set_heartbeat_interval(self, seconds: float) -> None:
        raise NotImplementedError

    def is_charging(self, connector_id: int) -> bool:
        """Whether a transaction runs on ``connector_id``."""
        raise NotImplementedError

    def limit_w(self, connector_id: int, at: datetime | None = None) -> float:
        raise NotImplementedError

    def limit_a(self, connector_id: int, at: datetime | None = None) -> float:
        raise NotImplementedError

    def metered_power_w(self, connector_id: int, at: datetime | None = None) -> float:
        """Power the EV on ``connector_id`` draws at ``at``: never above the composite limit."""
        if not self.is_charging(connector_id):
            return 0.0
        limit = self.limit_w(connector_id, at)
        return max(0.0, min(self.config.ev_max_power_w, limit))

    # --- lifecycle ------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, boot and serve; reconnect after every close until cancelled."""
        while not self._stopping:
            await self._connect_once()
            self.first_attempt_done.set()
            if not self._stopping:
                await asyncio.sleep(self.config.reconnect_delay)

    def request_stop(self) -> None:
        """Make :meth:`run` end instead of reconnecting; cancel its task to end it now.

        The flag matters on Python 3.11, where a cancellation arriving while the
        connection's task group handles a closed socket surfaces as ConnectionClosed.
        """
        self._stopping = True

    async def _connect_once(self) -> None:
        await self._gate.acquire()
        gate_held = True

        def release_gate() -> None:
            nonlocal gate_held
            if gate_held:
                gate_held = False
                self._gate.release()

        try:
            async with connect(
                f"{self.config.url.rstrip('/')}/{self.station_id}",
                subprotocols=[self.subprotocol],
                additional_headers=self._auth_headers(),
                # permessage-deflate costs ~53 KiB per connection against ~14 KiB without.
                compression=None,
                proxy=None,
                open_timeout=self.config.response_timeout,
                ssl=self._tls,
                local_addr=(self.config.source_address, 0) if self.config.source_address
                else None,
            ) as connection:
                logger.info("%s: connected to %s", self.station_id, self.config.url)
                await self._serve(connection, release_gate)
        except (OSError, InvalidHandshake, TimeoutError) as error:
            logger.info("%s: connection failed: %s", self.station_id, error)
        finally:
            release_gate()
            self.connected.clear()
            self.booted.clear()

    def _auth_headers(self) -> dict[str, str]:
        if self.config.password is None:
            return {}
        # OCA security profile 1: HTTP Basic with the charge point id as user name.
        token = base64.b64encode(f"{self.station_id}:{self.config.password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    async def _serve(self, connection: ClientConnection, release_gate: Callable[[], None]) -> None:
        protocol = self.open_protocol(connection)
        self._connection, self._protocol = connection, protocol
        self.connected.set()
        try:
            async with asyncio.TaskGroup() as tasks:
                self._tasks = tasks
                tasks.create_task(protocol.start())
                tasks.create_task(self._after_connect(release_gate))
        except* ConnectionClosed as closed:
            logger.info("%s: connection closed: %s", self.station_id, closed.exceptions[0])
        finally:
            self._tasks = None
            self._connection = self._protocol = None

    async def _boot(self) -> None:
        """Boot until Accepted, waiting the interval given after Pending/Rejected (OCPP 1.6
        §4.2; OCPP 2.0.1 B02, B03)."""
        while True:
            answer = await self.send_boot_notification()
            status = getattr(answer, "status", None)
            interval = float(getattr(answer, "interval", 0) or 0)
            if status == "Accepted":
                if self.config.heartbeat_interval is None and interval > 0:
                    self.set_heartbeat_interval(interval)
                self.boots += 1
                self.booted.set()
                logger.info("%s: boot accepted (heartbeat %ss)", self.station_id, interval)
                return
            retry = interval if interval > 0 else self.config.boot_retry_interval
            logger.info("%s: boot %s, retrying in %ss", self.station_id, status, retry)
            await asyncio.sleep(retry)

    def spawn(self, work: _Spawnable) -> None:
        """Run ``work`` as part of the current connection; dropped when disconnected."""
        if self._tasks is None:
            work.close()
            return
        try:
            self._tasks.create_task(work)
        except RuntimeError:
            # The connection is closing and its task group takes no more work.
            work.close()

    async def disconnect(self) -> None:
        """Close the websocket; the station reconnects after ``reconnect_delay``."""
        if self._connection is not None:
            await self._connection.close()

    async def _disconnect_later(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        logger.info("%s: dropping the connection (disconnect_every)", self.station_id)
        await self.disconnect()

    # --- outbound messages and power ------------------------------------------------------

    async def send(self, request: Any) -> Any:
        """Send a CALL; a CALLERROR or a timeout is logged and gives None."""
        protocol = self._protocol
        if protocol is None:
            return None
        try:
            answer = await protocol.call(request, suppress=False)
            _raise_if_cancelled()
            return answer
        except OCPPError as error:
            logger.warning(
                "%s: %s answered with %s", self.station_id, type(request).__name__, error
            )
        except TimeoutError:
            logger.warning("%s: %s got no answer", self.station_id, type(request).__name__)
        return None

    def _refresh_power(self, connector_id: int, at: datetime | None = None) -> None:
        """Apply the limit in force now: called on every profile change and every sample."""
        instant = at if at is not None else self.clock.now()
        connector = self.connectors[connector_id]
        plugged = self.cars.get(connector_id)
        if plugged is not None:
            self._refresh_car(connector, plugged, instant)
            return
        offered = self.limit_w(connector_id, instant) if self.is_charging(connector_id) else 0.0
        connector.draw(instant, self.metered_power_w(connector_id, instant), offered)

    def _refresh_car(self, connector: Connector, plugged: PluggedCar, at: datetime) -> None:
        """The car draws what its model takes of the composite's offer, never more."""
        charging = self.is_charging(connector.connector_id)
        offered = self.limit_a(connector.connector_id, at) if charging else 0.0
        voltage = self.config.voltage
        amps = plugged.draw(at, offered, voltage)
        phases = min(plugged.car.phases, self.config.phases)
        connector.phase_a = (amps, amps if phases == 3 else 0.0, amps if phases == 3 else 0.0)
        connector.offered_a = offered
        connector.draw(at, amps * voltage * phases, offered * voltage * phases)
        for listener in self.draw_listeners:
            listener(connector.connector_id, at)

    def _refresh_all_power(self) -> None:
        for connector_id in self.connectors:
            if self.is_charging(connector_id):
                self._refresh_power(connector_id)


def _raise_if_cancelled() -> None:
    """Re-raise a cancellation that Python 3.11 let slip.

    ``asyncio.wait_for`` returns the result instead of raising when the awaited answer and
    the cancellation arrive together (CPython gh-86296); the task must still end.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
