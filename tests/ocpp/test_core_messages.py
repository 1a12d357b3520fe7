"""Every Core message a charge point sends, through a real websocket to a running server."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import func, select

from app.db.models import Connector, MeterValue, Station, Transaction
from tests.conftest import RunningServer, settled_audit_rows
from tests.e2e.harness import eventually
from tests.ocpp_client import raw_station

NOW = "2026-11-25T10:00:00Z"



async def _configuration_read(server: RunningServer, station_id: str) -> Station | None:
    async with server.services.db.uow() as session:
        station = await session.get(Station, station_id)
    return station if station is not None and station.configuration_read_at else None

async def test_boot_is_accepted_with_interval_and_stored(server: RunningServer) -> None:
    async with raw_station(server.station_url("CP-1")) as cp:
        answer = await cp.boot()
    assert answer["status"] == "Accepted"
    assert answer["interval"] == server.settings.heartbeat_interval_s
    assert datetime.fromisoformat(answer["currentTime"].replace("Z", "+00:00")).tzinfo
    async with server.services.db.uow() as session:
        station = await session.get(Station, "CP-1")
    assert station is not None
    assert (station.vendor, station.model, station.serial_number, station.firmware_version) == (
        "TestVendor", "TM-1", "SN-1", "9.9")


async def test_boot_is_followed_by_get_configuration_and_capabilities_stored(
    server: RunningServer,
) -> None:
    keys = [
        {"key": "SupportedFeatureProfiles", "readonly": True,
         "value": "Core,SmartCharging"},
        {"key": "ChargeProfileMaxStackLevel", "readonly": True, "value": "5"},
        {"key": "ChargingScheduleAllowedChargingRateUnit", "readonly": True, "value": "Current"},
        {"key": "ChargingScheduleMaxPeriods", "readonly": True, "value": "12"},
        {"key": "MaxChargingProfilesInstalled", "readonly": True, "value": "8"},
        {"key": "NumberOfConnectors", "readonly": True, "value": "2"},
    ]
    async with raw_station(server.station_url("CP-CFG"),
                           answers={"GetConfiguration": {"configurationKey": keys}}) as cp:
        await cp.boot()
        station = await eventually(lambda: _configuration_read(server, "CP-CFG"))
        assert [c[2] for c in cp.server_calls] == ["GetConfiguration"]
    assert station is not None
    assert station.supported_feature_profiles == "Core,SmartCharging"
    assert station.charge_profile_max_stack_level == 5
    assert station.charging_schedule_allowed_charging_rate_unit == "Current"
    assert station.charging_schedule_max_periods == 12
    assert station.max_charging_profiles_installed == 8
    assert station.number_of_connectors == 2


async def test_heartbeat_answers_current_time(server: RunningServer) -> None:
    async with raw_station(server.station_url("CP-HB")) as cp:
        answer = await cp.ok("Heartbeat", {})
    parsed = datetime.fromisoformat(answer["currentTime"].replace("Z", "+00:00"))
    assert abs((parsed - datetime.now(UTC)).total_seconds()) < 5


async def test_status_notification_is_stored_per_connector(server: RunningServer) -> None:
    async with raw_station(server.station_url("CP-ST")) as cp:
        await cp.boot()
        for connector, status in ((0, "Available"), (1, "Charging"), (2, "Faulted")):
            await cp.ok("StatusNotification", {
                "connectorId": connector, "status": status,
                "errorCode": "GroundFailure" if status == "Faulted" else "NoError",
                "timestamp": NOW})
    async with server.services.db.uow() as session:
        rows = (await session.scalars(
            select(Connector).where(Connector.station_id == "CP-ST")
            .order_by(Connector.connector_id))).all()
    assert [(r.connector_id, r.status, r.error_code) for r in rows] == [
        (0, "Available", "NoError"), (1, "Charging", "NoError"), (2, "Faulted", "GroundFailure")]


async def test_authorize_checks_the_id_tag_table(server: RunningServer,
                                                 http: httpx.AsyncClient) -> None:
    await http.post("/id_tags", json={"id_tag": "GOOD", "status": "Accepted"})
    await http.post("/id_tags", json={"id_tag": "BLOCKED", "status": "Blocked"})
    await http.post("/id_tags", json={"id_tag": "OLD", "status": "Accepted",
                                      "expiry_date": "2020-01-01T00:00:00Z"})
    async with raw_station(server.station_url("CP-AU")) as cp:
        good = await cp.ok("Authorize", {"idTag": "GOOD"})
        blocked = await cp.ok("Authorize", {"idTag": "BLOCKED"})
        old = await cp.ok("Authorize", {"idTag": "OLD"})
        unknown = await cp.ok("Authorize", {"idTag": "NOBODY"})
    assert good["idTagInfo"]["status"] == "Accepted"
    assert blocked["idTagInfo"]["status"] == "Blocked"
    assert old["idTagInfo"]["status"] == "Expired"
    assert unknown["idTagInfo"]["status"] == "Invalid"  # the default for unknown tags


async def test_transactions_get_database_ids_and_repeats_are_idempotent(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    await http.post("/id_tags", json={"id_tag": "DRIVER", "status": "Accepted"})
    start = {"connectorId": 1, "idTag": "DRIVER", "meterStart": 1000, "timestamp": NOW}
    async with raw_station(server.station_url("CP-TX")) as cp:
        await cp.boot()
        first = await cp.ok("StartTransaction", start)
        again = await cp.ok("StartTransaction", start)  # answer lost, charger repeats
        other = await cp.ok("StartTransaction", {**start, "connectorId": 2})
        stop = {"transactionId": first["transactionId"], "meterStop": 5000,
                "timestamp": "2026-11-25T11:00:00Z", "idTag": "DRIVER", "reason": "Local",
                "transactionData": [{"timestamp": "2026-11-25T11:00:00Z", "sampledValue": [
                    {"value": "5000", "measurand": "Energy.Active.Import.Register",
                     "unit": "Wh"}]}]}
        stopped = await cp.ok("StopTransaction", stop)
        stopped_again = await cp.ok("StopTransaction", {**stop, "meterStop": 9999})
    assert first["idTagInfo"]["status"] == "Accepted"
    assert again["transactionId"] == first["transactionId"]
    assert other["transactionId"] != first["transactionId"]
    assert stopped["idTagInfo"]["status"] == stopped_again["idTagInfo"]["status"] == "Accepted"
    async with server.services.db.uow() as session:
        tx = await session.get(Transaction, first["transactionId"])
        count = await session.scalar(select(func.count()).select_from(Transaction))
    assert count == 2
    assert tx is not None and tx.meter_stop == 5000 and tx.stop_reason == "Local"


async def test_meter_values_store_the_smart_charging_measurands(server: RunningServer) -> None:
    samples = [
        {"value": "7200", "measurand": "Power.Active.Import", "unit": "W"},
        {"value": "10.4", "measurand": "Current.Import", "unit": "A", "phase": "L1"},
        {"value": "16", "measurand": "Current.Offered", "unit": "A"},
        {"value": "12345", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
    ]
    async with raw_station(server.station_url("CP-MV")) as cp:
        await cp.boot()
        await cp.ok("MeterValues", {"connectorId": 1, "transactionId": 7, "meterValue": [
            {"timestamp": NOW, "sampledValue": samples}]})

    async def four_rows() -> list[MeterValue] | None:
        async with server.services.db.uow() as session:
            found = list((await session.scalars(
                select(MeterValue).where(MeterValue.station_id == "CP-MV"))).all())
        return found if len(found) == 4 else None

    rows: list[MeterValue] = await eventually(four_rows)
    assert {(r.measurand, r.value, r.unit) for r in rows} == {
        ("Power.Active.Import", 7200.0, "W"), ("Current.Import", 10.4, "A"),
        ("Current.Offered", 16.0, "A"), ("Energy.Active.Import.Register", 12345.0, "Wh")}
    assert all(r.transaction_id == 7 and r.connector_id == 1 for r in rows)


async def test_data_transfer_and_status_notifications_of_other_profiles(
    server: RunningServer,
) -> None:
    async with raw_station(server.station_url("CP-DT")) as cp:
        await cp.boot()
        transfer = await cp.ok("DataTransfer", {"vendorId": "acme", "data": "x"})
        assert await cp.ok("DiagnosticsStatusNotification", {"status": "Uploaded"}) == {}
        assert await cp.ok("FirmwareStatusNotification", {"status": "Installed"}) == {}
    assert transfer == {"status": "UnknownVendorId"}
    async with server.services.db.uow() as session:
        station = await session.get(Station, "CP-DT")
    assert station is not None
    assert (station.diagnostics_status, station.firmware_status) == ("Uploaded", "Installed")


async def test_every_frame_both_ways_lands_in_the_audit_table(server: RunningServer) -> None:
    async with raw_station(server.station_url("CP-AUD")) as cp:
        await cp.boot()
        await cp.ok("Heartbeat", {})
    rows = await settled_audit_rows(server, "CP-AUD")
    seen = [(r.direction, r.message_type, r.action) for r in rows]
    assert ("in", "CALL", "BootNotification") in seen
    assert ("out", "CALLRESULT", "BootNotification") in seen
    assert ("out", "CALL", "GetConfiguration") in seen
    assert ("in", "CALLRESULT", "GetConfiguration") in seen
    assert ("in", "CALL", "Heartbeat") in seen and ("out", "CALLRESULT", "Heartbeat") in seen
    result = next(r for r in rows if r.message_type == "CALLRESULT" and r.direction == "in")
    assert result.rtt_ms is not None and result.rtt_ms >= 0
    assert all(r.ts.tzinfo is not None for r in rows)


async def test_station_online_state_follows_the_socket(server: RunningServer) -> None:
    async with raw_station(server.station_url("CP-ON")) as cp:
        await cp.boot()
        async with server.services.db.uow() as session:
            station = await session.get(Station, "CP-ON")
            assert station is not None and station.online
            assert station.node_id == server.settings.node_id
    async def offline() -> bool:
        async with server.services.db.uow() as session:
            found = await session.get(Station, "CP-ON")
        return found is not None and not found.online

    await eventually(offline)


async def test_timestamps_without_offset_are_accepted_as_utc(server: RunningServer) -> None:
    # OCPP 1.6 §7: ISO 8601, UTC recommended; many chargers omit the offset.
    async with raw_station(server.station_url("CP-TZ")) as cp:
        await cp.boot()
        await cp.ok("StatusNotification", {"connectorId": 1, "status": "Available",
                                           "errorCode": "NoError",
                                           "timestamp": "2026-11-25T10:00:00.123456789"})
    async with server.services.db.uow() as session:
        row = await session.get(Connector, ("CP-TZ", 1))
    assert row is not None and row.status_timestamp == datetime(
        2026, 11, 25, 10, 0, 0, 123456, tzinfo=UTC)
