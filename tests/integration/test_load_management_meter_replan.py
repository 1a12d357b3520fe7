"""A charging car's meter samples re-plan its circuit at once, not at the next periodic
re-plan: the current a nearly full car leaves goes to the others as soon as three samples
show it, and a charger over its limit is taken from the rest as soon as it is seen."""

from __future__ import annotations

from collections.abc import Awaitable

import httpx
import pytest

from app.settings import Settings
from tests.conftest import RunningServer, make_settings
from tests.e2e.harness import eventually
from tests.integration.test_load_management import (
    first_limit,
    limits_acknowledged,
    tx_profiles,
)
from tests.integration.test_load_management_taper import draw, two_sharing


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    # No periodic re-plan within the test's life: only events re-plan.
    return make_settings(sqlite_url, unknown_id_tag_status="Accepted", circuit_debounce_s=0.05,
                         circuit_meter_replan_s=0.05, reconcile_interval_s=3600,
                         verify_interval_s=3600, circuit_replan_interval_s=1700,
                         circuit_lease_s=3600)


async def test_meter_samples_of_a_tapering_car_re_plan_its_circuit(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with two_sharing(server, http) as (a, b, tx_a):
        # The re-plans the transactions set off are over: what follows is the meter's.
        await eventually(lambda: not server.services.scheduler.busy)
        await draw(a, tx_a, [5.0, 5.2, 4.8])  # nearly full: 11 A under its share
        await eventually(lambda: first_limit(tx_profiles(b)[-1]) == 25.7)
        assert first_limit(tx_profiles(a)[-1]) == 6.3  # 5.2 A x 1.2

        async def last_trigger() -> str:
            solved = (await http.get("/circuits/site/allocation")).json()
            return str(solved["last_replan"]["trigger"])

        # The re-plan is recorded once it has sent everything it stored, after B's share.
        await eventually(lambda: _is_meter(last_trigger()))

        # Samples answer a limit once its charger has acknowledged it.
        await eventually(lambda: limits_acknowledged(server))
        await draw(a, tx_a, [20.0, 20.0, 20.0])  # and now over any limit it was given
        await eventually(lambda: first_limit(tx_profiles(b)[-1]) <= 13.0)
        flagged = {s["transaction_id"]: s["over_limit"] for s in
                   (await http.get("/circuits/site/allocation")).json()["sessions"]}
        assert flagged[tx_a] is True


async def _is_meter(trigger: Awaitable[str]) -> bool:
    return await trigger == "meter"
