"""The whole server on PostgreSQL: Core messages, transaction ids, audit through COPY."""

from __future__ import annotations

from sqlalchemy import func, select

from app.db.models import AuditFrame, MeterValue, Station
from tests.conftest import make_settings, start_server, stop_server
from tests.ocpp_client import raw_station

NOW = "2026-11-25T10:00:00Z"


async def test_core_flow_and_audit_on_postgresql(postgres_head_url: str) -> None:
    running = await start_server(make_settings(postgres_head_url, unknown_id_tag_status="Accepted"))
    try:
        async with raw_station(running.station_url("PG-1")) as cp:
            assert (await cp.boot())["status"] == "Accepted"
            start = {"connectorId": 1, "idTag": "ANY", "meterStart": 0, "timestamp": NOW}
            first = await cp.ok("StartTransaction", start)
            assert (await cp.ok("StartTransaction", start)) == first
            await cp.ok(
                "MeterValues",
                {
                    "connectorId": 1,
                    "transactionId": first["transactionId"],
                    "meterValue": [
                        {
                            "timestamp": NOW,
                            "sampledValue": [
                                {"value": "7000", "measurand": "Power.Active.Import", "unit": "W"}
                            ],
                        }
                    ],
                },
            )
            await cp.send_raw("not json")
            await cp.ok("Heartbeat", {})
    finally:
        await stop_server(running)  # a clean stop flushes every queued row
    async with running.services.db.uow() as session:
        station = await session.get(Station, "PG-1")
        frames = (
            await session.scalars(select(AuditFrame).where(AuditFrame.station_id == "PG-1"))
        ).all()
        meters = await session.scalar(select(func.count()).select_from(MeterValue))
    await running.services.db.dispose()
    assert station is not None and station.vendor == "TestVendor" and not station.online
    kinds = {(f.direction, f.message_type, f.action) for f in frames}
    assert ("in", "CALL", "StartTransaction") in kinds
    assert ("out", "CALLRESULT", "MeterValues") in kinds
    assert any(f.raw == "not json" and f.error_code == "FormationViolation" for f in frames)
    boot = next(f for f in frames if f.action == "BootNotification" and f.direction == "in")
    assert boot.payload["chargePointVendor"] == "TestVendor"
    assert meters == 1
