"""The simulated OCPP 2.0.1 station against a minimal central system built on the ``ocpp``
package's ``ocpp.v201.ChargePoint``, over a real websocket on loopback.

Every frame either side sends is recorded and checked against the 2.0.1 JSON schemas
(requests and responses, additionalProperties false), on top of the package's own checks.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ocpp.messages import get_validator
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from app.simulator import Simulator, SimulatorConfig
from app.simulator.car import Car
from app.simulator.station_v201 import SimulatedStation201
from tests.e2e import harness

WAIT = 60.0  # bounds a failure only; a loaded machine can be slow
START = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)


class RecordedConnection:
    """The server side of the socket, recording every frame both ways."""

    def __init__(self, connection: ServerConnection, frames: list[tuple[str, list[Any]]]) -> None:
        self._connection = connection
        self._frames = frames

    async def recv(self) -> str:
        raw = await self._connection.recv()
        self._frames.append(("station", json.loads(raw)))
        return str(raw)

    async def send(self, raw: str) -> None:
        self._frames.append(("csms", json.loads(raw)))
        await self._connection.send(raw)


class Csms(ChargePoint):  # type: ignore[misc]
    """Answers what a 2.0.1 station sends and keeps every request, by action."""

    def __init__(self, station_id: str, connection: Any) -> None:
        super().__init__(station_id, connection)
        self.received: list[tuple[str, dict[str, Any]]] = []

    def got(self, action: str) -> list[dict[str, Any]]:
        return [payload for name, payload in self.received if name == action]

    def _keep(self, action: str, payload: dict[str, Any]) -> None:
        self.received.append((action, payload))

    @on(Action.boot_notification)
    def boot(self, **payload: Any) -> Any:
        self._keep("BootNotification", payload)
        return call_result.BootNotification(current_time=START.isoformat(), interval=300,
                                            status="Accepted")

    @on(Action.status_notification)
    def status(self, **payload: Any) -> Any:
        self._keep("StatusNotification", payload)
        return call_result.StatusNotification()

    @on(Action.heartbeat)
    def heartbeat(self, **payload: Any) -> Any:
        return call_result.Heartbeat(current_time=START.isoformat())

    @on(Action.transaction_event)
    def transaction_event(self, **payload: Any) -> Any:
        self._keep("TransactionEvent", payload)
        return call_result.TransactionEvent()

    @on(Action.notify_ev_charging_needs)
    def charging_needs(self, **payload: Any) -> Any:
        self._keep("NotifyEVChargingNeeds", payload)
        return call_result.NotifyEVChargingNeeds(status="Accepted")

    @on(Action.notify_report)
    def notify_report(self, **payload: Any) -> Any:
        self._keep("NotifyReport", payload)
        return call_result.NotifyReport()

    @on(Action.report_charging_profiles)
    def report_charging_profiles(self, **payload: Any) -> Any:
        self._keep("ReportChargingProfiles", payload)
        return call_result.ReportChargingProfiles()

    @on(Action.notify_charging_limit)
    def notify_charging_limit(self, **payload: Any) -> Any:
        self._keep("NotifyChargingLimit", payload)
        return call_result.NotifyChargingLimit()


class Server:
    def __init__(self) -> None:
        self.frames: list[tuple[str, list[Any]]] = []
        self.csms: dict[str, Csms] = {}
        self.subprotocols: list[str | None] = []
        self.url = ""

    async def handle(self, connection: ServerConnection) -> None:
        station_id = connection.request.path.strip("/") if connection.request else "?"
        self.subprotocols.append(connection.subprotocol)
        csms = Csms(station_id, RecordedConnection(connection, self.frames))
        self.csms[station_id] = csms
        with suppress(ConnectionClosed):
            await csms.start()

    def check_schemas(self) -> int:
        """Validate every recorded frame strictly; the number checked."""
        actions: dict[str, str] = {}
        for _, frame in self.frames:
            if frame[0] == 2:
                actions[frame[1]] = frame[2]
                get_validator(2, frame[2], "2.0.1").validate(frame[3])
            elif frame[0] == 3:
                get_validator(3, actions[frame[1]], "2.0.1").validate(frame[2])
        return len(self.frames)


@asynccontextmanager
async def central_system() -> AsyncIterator[Server]:
    """The 2.0.1 central system on a free loopback port; every frame checked at the end."""
    server = Server()
    async with serve(server.handle, "127.0.0.1", 0,
                     subprotocols=[Subprotocol("ocpp2.0.1")]) as ws:
        port = ws.sockets[0].getsockname()[1]
        server.url = f"ws://127.0.0.1:{port}"
        yield server
    assert server.check_schemas() > 0


@asynccontextmanager
async def running(**changes: Any) -> AsyncIterator[tuple[Server, Csms, SimulatedStation201]]:
    async with central_system() as server:
        config = SimulatorConfig(url=server.url, ocpp_version="2.0.1",
                                 id_prefix="V201-", start_time=START, connectors=2,
                                 reconnect_delay=0.1, **changes)
        async with Simulator(config) as simulator:
            station = simulator.stations["V201-0001"]
            assert isinstance(station, SimulatedStation201)
            csms = await eventually(lambda: server.csms.get("V201-0001"))
            await eventually(lambda: len(csms.got("StatusNotification")) == 2)
            yield server, csms, station


async def eventually(check: Callable[[], Any]) -> Any:
    return await harness.eventually(check, timeout=WAIT)


async def ask(csms: Csms, request: Any) -> Any:
    return await csms.call(request, suppress=False)


async def test_boot_offers_ocpp201_and_reports_each_evse() -> None:
    async with running() as (server, csms, _):
        assert server.subprotocols == ["ocpp2.0.1"]
        boot = csms.got("BootNotification")[0]
        assert boot["reason"] == "PowerUp"
        assert boot["charging_station"]["serial_number"] == "V201-0001"
        assert [(s["evse_id"], s["connector_id"], s["connector_status"])
                for s in csms.got("StatusNotification")] == [
            (1, 1, "Available"), (2, 1, "Available")]


async def test_a_session_sends_started_needs_updates_and_ended_in_sequence() -> None:
    async with running(meter_interval=0.2) as (_, csms, station):
        car = Car("EV-1", max_current_a=16.0, battery_wh=50_000.0, soc=0.2, depart_s=7200.0)
        await station.plug_in(1, car)
        await eventually(lambda: len(csms.got("TransactionEvent")) >= 4)
        await station.unplug(1)

        events = csms.got("TransactionEvent")
        ids = {e["transaction_info"]["transaction_id"] for e in events}
        assert len(ids) == 1
        assert [e["seq_no"] for e in events] == list(range(len(events)))
        assert events[0]["event_type"] == "Started"
        assert events[0]["trigger_reason"] == "CablePluggedIn"
        assert {e["event_type"] for e in events[1:-1]} == {"Updated"}
        assert "MeterValuePeriodic" in {e["trigger_reason"] for e in events[1:-1]}
        assert events[-1]["event_type"] == "Ended"
        assert events[-1]["transaction_info"]["stopped_reason"] == "EVDisconnected"
        contexts = [e["meter_value"][0]["sampled_value"][0]["context"] for e in events]
        assert contexts[0] == "Transaction.Begin" and contexts[-1] == "Transaction.End"

        needs = csms.got("NotifyEVChargingNeeds")
        assert len(needs) == 1 and needs[0]["evse_id"] == 1
        ac = needs[0]["charging_needs"]["ac_charging_parameters"]
        assert (ac["energy_amount"], ac["ev_min_current"], ac["ev_max_current"]) == (
            40_000, 6, 16)
        departure = datetime.fromisoformat(needs[0]["charging_needs"]["departure_time"])
        assert (departure - START).total_seconds() >= 7200
        # Sent at session start: after Started, before the first meter update.
        order = [action for action, _ in csms.received
                 if action in ("TransactionEvent", "NotifyEVChargingNeeds")]
        assert order[:2] == ["TransactionEvent", "NotifyEVChargingNeeds"]


async def test_set_profile_then_composite_and_report_show_what_it_holds() -> None:
    async with running() as (_, csms, station):
        await station.plug_in(1, Car("EV-1", max_current_a=32.0))
        started = await eventually(lambda: csms.got("TransactionEvent"))
        tx_id = started[0]["transaction_info"]["transaction_id"]
        start = station.clock.now().replace(microsecond=0).isoformat()

        maximum = {"id": 1, "stackLevel": 0, "chargingProfilePurpose": "ChargingStationMaxProfile",
                   "chargingProfileKind": "Absolute",
                   "chargingSchedule": [{"id": 1, "startSchedule": start, "chargingRateUnit": "A",
                                         "chargingSchedulePeriod": [
                                             {"startPeriod": 0, "limit": 20.0}]}]}
        tx = {"id": 2, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
              "chargingProfileKind": "Relative", "transactionId": tx_id,
              "chargingSchedule": [{"id": 1, "chargingRateUnit": "A", "chargingSchedulePeriod": [
                  {"startPeriod": 0, "limit": 10.0}, {"startPeriod": 3600, "limit": 32.0}]}]}
        first = await ask(csms, call.SetChargingProfile(evse_id=0, charging_profile=maximum))
        second = await ask(csms, call.SetChargingProfile(evse_id=1, charging_profile=tx))
        assert (first.status, second.status) == ("Accepted", "Accepted")

        answer = await ask(csms, call.GetCompositeSchedule(duration=7200, evse_id=1,
                                                             charging_rate_unit="A"))
        assert answer.status == "Accepted"
        periods = answer.schedule["charging_schedule_period"]
        limits = [(p["start_period"], p["limit"]) for p in periods]
        # The TxProfile's 10 A; after an hour its 32 A, capped by the station's 20 A.
        assert limits[0] == (0, 10.0) and limits[-1][1] == 20.0
        assert answer.schedule["evse_id"] == 1
        # The car follows what it is given, and the meter values say so.
        await eventually(lambda: station.connectors[1].offered_a == 10.0)
        await station.send_meter_values(1)
        sampled = csms.got("TransactionEvent")[-1]["meter_value"][0]["sampled_value"]
        by_measurand = {(v["measurand"], v.get("phase")): v["value"] for v in sampled}
        assert by_measurand[("Current.Offered", None)] == 10.0
        assert 6.0 <= by_measurand[("Current.Import", "L1")] <= 10.0

        report = await ask(csms, call.GetChargingProfiles(request_id=5, charging_profile={}))
        assert report.status == "Accepted"
        reports = await eventually(lambda: csms.got("ReportChargingProfiles")
                                   if len(csms.got("ReportChargingProfiles")) == 2 else None)
        assert sorted((r["evse_id"], [p["id"] for p in r["charging_profile"]], r.get("tbc"))
                      for r in reports) == [(0, [1], True), (1, [2], False)]
        assert {r["request_id"] for r in reports} == {5}

        cleared = await ask(csms, call.ClearChargingProfile(charging_profile_id=2))
        gone = await ask(csms, call.ClearChargingProfile(charging_profile_id=2))
        assert (cleared.status, gone.status) == ("Accepted", "Unknown")


async def test_a_profile_breaking_k01_is_rejected_with_its_reason() -> None:
    async with running() as (_, csms, _):
        profile = {"id": 3, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
                   "chargingProfileKind": "Relative", "transactionId": "nobody",
                   "chargingSchedule": [{"id": 1, "chargingRateUnit": "A",
                                         "chargingSchedulePeriod": [
                                             {"startPeriod": 0, "limit": 8.0}]}]}

        answer = await ask(csms, call.SetChargingProfile(evse_id=1, charging_profile=profile))

        assert answer.status == "Rejected"
        assert "K01.FR.09" in answer.status_info["additional_info"]


async def test_device_model_reports_in_pages_and_reads_and_writes_variables() -> None:
    async with running(report_items_per_message=4) as (_, csms, _):
        accepted = await ask(csms, call.GetBaseReport(request_id=9, report_base="FullInventory"))
        assert accepted.status == "Accepted"
        pages = await eventually(lambda: (csms.got("NotifyReport")
                                          if csms.got("NotifyReport")
                                          and not csms.got("NotifyReport")[-1].get("tbc")
                                          else None))
        assert [p["seq_no"] for p in pages] == list(range(len(pages)))
        assert len(pages) > 1 and all(p["tbc"] for p in pages[:-1])
        assert all(len(p["report_data"]) <= 4 for p in pages)
        names = {(d["component"]["name"], d["variable"]["name"])
                 for p in pages for d in p["report_data"]}
        assert ("SmartChargingCtrlr", "PeriodsPerSchedule") in names
        assert ("DeviceDataCtrlr", "ItemsPerMessage") in names

        def variable(component: str, name: str, instance: str | None = None) -> dict[str, Any]:
            item: dict[str, Any] = {"component": {"name": component},
                                    "variable": {"name": name}}
            if instance:
                item["variable"]["instance"] = instance
            return item

        got = await ask(csms, call.GetVariables(get_variable_data=[
            variable("SmartChargingCtrlr", "Enabled"),
            variable("SmartChargingCtrlr", "RateUnit"),
            variable("SmartChargingCtrlr", "Entries", "ChargingProfiles"),
            variable("DeviceDataCtrlr", "ItemsPerMessage", "GetReport"),
            variable("SmartChargingCtrlr", "NoSuchThing")]))
        assert [(r["attribute_status"], r.get("attribute_value"))
                for r in got.get_variable_result] == [
            ("Accepted", "true"), ("Accepted", "A,W"), ("Accepted", "0"), ("Accepted", "4"),
            ("UnknownVariable", None)]

        changed = await ask(csms, call.SetVariables(set_variable_data=[
            {**variable("SmartChargingCtrlr", "LimitChangeSignificance"), "attributeValue": "5"},
            {**variable("SmartChargingCtrlr", "PeriodsPerSchedule"), "attributeValue": "99"},
            {**variable("SmartChargingCtrlr", "Enabled"), "attributeValue": "false"}]))
        assert [r["attribute_status"] for r in changed.set_variable_result] == [
            "Accepted", "Rejected", "Accepted"]

        # With smart charging off the station does not support SetChargingProfile.
        profile = {"id": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
                   "chargingProfileKind": "Absolute",
                   "chargingSchedule": [{"id": 1, "startSchedule": START.isoformat(),
                                         "chargingRateUnit": "A", "chargingSchedulePeriod": [
                                             {"startPeriod": 0, "limit": 8.0}]}]}
        refused = await csms.call(call.SetChargingProfile(evse_id=1, charging_profile=profile),
                                  suppress=True)
        assert refused is None


async def test_grid_limit_is_announced_and_caps_the_composite() -> None:
    async with running(grid_limit_a=10.0) as (_, csms, station):
        limit = (await eventually(lambda: csms.got("NotifyChargingLimit")))[0]
        assert limit["charging_limit"] == {"charging_limit_source": "SO",
                                           "is_grid_critical": True}
        assert limit["charging_schedule"][0]["charging_schedule_period"] == [
            {"start_period": 0, "limit": 10.0}]

        answer = await ask(csms, call.GetCompositeSchedule(duration=600, evse_id=2,
                                                             charging_rate_unit="A"))
        assert [(p["start_period"], p["limit"])
                for p in answer.schedule["charging_schedule_period"]] == [(0, 10.0)]

        # The central system can neither replace nor clear the grid's limit.
        cleared = await ask(csms, call.ClearChargingProfile(charging_profile_id=0))
        assert cleared.status == "Unknown"
        report = await ask(csms, call.GetChargingProfiles(
            request_id=1, charging_profile={"chargingLimitSource": ["SO"]}))
        assert report.status == "Accepted"
        reported = (await eventually(lambda: csms.got("ReportChargingProfiles")))[0]
        assert reported["charging_limit_source"] == "SO"
        assert reported["charging_profile"][0]["charging_profile_purpose"] == (
            "ChargingStationExternalConstraints")
        assert station.limit_a(1) == 10.0



async def _finish(process: asyncio.subprocess.Process) -> tuple[int, str]:
    if process.returncode is None:
        with suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    return process.returncode if process.returncode is not None else -1, stderr.decode()


async def test_simulate_ocpp_201_charges_and_raises_the_grid_fault() -> None:
    async with central_system() as server:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "app.cli", "simulate", "--url", server.url, "--ocpp", "2.0.1",
            "--id-prefix", "CLI201-", "--auto-charge", "--grid-limit", "16",
            stderr=asyncio.subprocess.PIPE)
        try:
            csms = await eventually(lambda: server.csms.get("CLI201-0001"))
            await eventually(lambda: csms.got("NotifyChargingLimit")
                             and csms.got("NotifyEVChargingNeeds"))
        finally:
            code, stderr = await _finish(process)
        assert code == 0, stderr
        assert server.subprotocols == ["ocpp2.0.1"]
        assert csms.got("TransactionEvent")[0]["event_type"] == "Started"


async def test_a_site_station_speaks_the_ocpp_version_its_file_names(tmp_path: Path) -> None:
    async with central_system() as server:
        site = tmp_path / "site.json"
        site.write_text(json.dumps({
            "url": server.url,
            "stations": [{"id": "SITE-201", "ocpp": "2.0.1", "connectors": 1}],
            "cars": [{"id": "EV9", "station": "SITE-201", "arrive_s": 0, "soc": 0.5,
                      "battery_kwh": 40}]}))
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "app.cli", "simulate", "--site", str(site),
            stderr=asyncio.subprocess.PIPE)
        try:
            csms = await eventually(lambda: server.csms.get("SITE-201"))
            needs = await eventually(lambda: csms.got("NotifyEVChargingNeeds"))
        finally:
            code, stderr = await _finish(process)
        assert code == 0, stderr
        assert needs[0]["charging_needs"]["ac_charging_parameters"]["energy_amount"] == 20_000


def test_a_site_file_with_an_unknown_ocpp_version_is_refused(tmp_path: Path) -> None:
    site = tmp_path / "site.json"
    site.write_text(json.dumps({"stations": [{"id": "S1", "ocpp": "2.1"}]}))

    done = subprocess.run([sys.executable, "-m", "app.cli", "simulate", "--site", str(site)],
                          capture_output=True, text=True, timeout=60, check=False)

    assert done.returncode == 2
    assert "stations[0].ocpp: must be one of 1.6, 2.0.1" in done.stderr
