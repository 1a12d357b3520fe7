"""ReportChargingProfiles pages (OCPP 2.0.1 K09) handed to whoever waits for them: the
REST GetChargingProfiles command (``app/services/fleet/profile_reports.py``). Wraps the
action's handler of ``smart_charging.py``, which still answers the page."""

from __future__ import annotations

from typing import Any

from app.ocpp.router import CallContext, Handler, Reply


def collecting(handler: Handler) -> Handler:
    async def report_charging_profiles(ctx: CallContext, payload: dict[str, Any]) -> Reply:
        ctx.services.profile_reports.page(ctx.station_id, payload)
        return await handler(ctx, payload)

    return report_charging_profiles
