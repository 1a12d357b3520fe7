"""What the car says it needs (OCPP 2.0.1 NotifyEVChargingNeeds), through the service the
2.0.1 adapter calls, for a session over a real websocket: it is the session's need before
any other source, and the car's evMinCurrent / evMaxCurrent bound its share of the
circuit, the rest going to the other session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.services.errors import NotFound
from app.services.load.ev_needs import EvChargingNeeds
from tests.conftest import RunningServer
from tests.e2e.harness import eventually
from tests.integration.test_load_management import (
    depot,  # noqa: F401  (the fixture: CP-A and CP-B on a 32 A circuit "site")
    first_limit,
    settings,  # noqa: F401  (the fixture: transactions re-plan after 50 ms)
    start,
    tx_profiles,
)
from tests.ocpp_client import RawStation


async def test_the_cars_needs_come_first_and_its_currents_bound_its_share(
    depot: dict[str, RawStation], server: RunningServer,  # noqa: F811
    http: httpx.AsyncClient
) -> None:
    a, b = depot["CP-A"], depot["CP-B"]
    tx_a, tx_b = await start(a), await start(b)
    await eventually(lambda: tx_profiles(a) and tx_profiles(b)
                     and first_limit(tx_profiles(a)[-1]) == 16.0)
    await http.patch("/circuits/site", json={"default_dwell_s": 8 * 3600})
    asked = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    put = await http.put(f"/transactions/{tx_a}/needs",
                         json={"energy_kwh": 12, "departure": asked.isoformat()})
    assert put.json()["source"] == "request"

    leaves = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=6)
    said = await server.services.ev_needs.notify("CP-A", 1, EvChargingNeeds(
        energy_transfer="AC_three_phase", departure=leaves, energy_amount_wh=20_000,
        ev_min_current_a=8, ev_max_current_a=10, ev_max_voltage_v=400))
    assert (said.transaction.id, said.need.source) == (tx_a, "ev")

    need = (await http.get(f"/transactions/{tx_a}/needs")).json()
    assert (need["source"], need["energy_kwh"], need["remaining_kwh"]) == ("ev", 20.0, 20.0)
    assert datetime.fromisoformat(need["departure"]) == leaves
    assert need["detail"] == {"energy_transfer": "AC_three_phase", "energy_amount_wh": 20000.0,
                              "ev_min_current_a": 8.0, "ev_max_current_a": 10.0}
    # The request is still held: it decides again if the car's needs go.
    assert need["requested"]["energy_kwh"] == 12.0

    # The car takes at most 10 A and never less than 8 A when it charges: its plan gets
    # its 20 kWh by its departure inside that, the other session the rest of the 32 A.
    def planned_for_the_car() -> bool:
        periods_a = periods(tx_profiles(a)[-1])
        return bool(max(limit for _, limit in periods_a) == 10.0
                    and all(limit == 0 or 8 <= limit <= 10 for _, limit in periods_a)
                    and max(together(periods_a, periods(tx_profiles(b)[-1]))) == 32.0)

    await eventually(planned_for_the_car)
    solved = (await http.get("/circuits/site/allocation")).json()
    shares = {s["transaction_id"]: s for s in solved["sessions"]}
    assert (shares[tx_a]["min_current_a"], shares[tx_a]["max_current_a"]) == (8.0, 10.0)
    assert (shares[tx_b]["min_current_a"], shares[tx_b]["max_current_a"]) == (6.0, 32.0)
    assert (shares[tx_a]["need_source"], shares[tx_a]["decided_by"]) == ("ev", "planner")
    # Currents go in steps of 0.1 A: what rounding down takes is given back unless it is
    # under 10 Wh (app/domain/plan_model.py, ``repacked``), so the plan may stop a few Wh
    # short of the 20 kWh, depending on where the clock puts the slot boundaries.
    assert shares[tx_a]["planned_kwh"] >= 20.0 - 0.01
    assert shares[tx_a]["shortfall_kwh"] == 0


def periods(profile: dict[str, Any]) -> list[tuple[int, float]]:
    """(start in s, limit in A) of each period of an absolute TxProfile."""
    return [(p["startPeriod"], p["limit"])
            for p in profile["chargingSchedule"]["chargingSchedulePeriod"]]


def together(first: list[tuple[int, float]], second: list[tuple[int, float]]) -> list[float]:
    """The sum of two step functions of time at every instant either changes."""
    def at(steps: list[tuple[int, float]], t: int) -> float:
        return [limit for start, limit in steps if start <= t][-1]
    return [at(first, t) + at(second, t) for t in sorted({s for s, _ in first + second})]


async def test_needs_for_an_evse_without_a_running_transaction_are_refused(
    depot: dict[str, RawStation], server: RunningServer  # noqa: F811
) -> None:
    with pytest.raises(NotFound):
        await server.services.ev_needs.notify("CP-A", 1, EvChargingNeeds(energy_amount_wh=1))


async def test_a_cars_offer_gives_way_to_the_circuit_that_plans_it_later(
    depot: dict[str, RawStation], server: RunningServer,  # noqa: F811
    http: httpx.AsyncClient
) -> None:
    a = depot["CP-A"]
    assert (await http.patch("/stations/CP-A", json={"circuit_id": None})).status_code == 200
    tx_a = await start(a)
    leaves = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=6)
    await server.services.ev_needs.notify("CP-A", 1, EvChargingNeeds(
        energy_transfer="AC_three_phase", departure=leaves, energy_amount_wh=20_000,
        ev_min_current_a=6, ev_max_current_a=10, ev_max_voltage_v=400))
    # No circuit plans the station: the car is offered what its profiles allow, at most
    # the 10 A it takes, as a TxProfile of chargeplan's own.
    await eventually(lambda: bool(tx_profiles(a)))
    offer = tx_profiles(a)[-1]
    assert (offer["transactionId"], offer["stackLevel"], first_limit(offer)) == (tx_a, 0, 10.0)

    # The circuit takes the station over: its plan is the car's answer, bound by the
    # car's own currents, not by the offer it replaces.
    assert (await http.patch("/stations/CP-A", json={"circuit_id": "site"})).status_code == 200
    await eventually(lambda: tx_profiles(a)[-1]["stackLevel"] == 7)
    solved = (await http.get("/circuits/site/allocation")).json()
    share = next(s for s in solved["sessions"] if s["transaction_id"] == tx_a)
    assert (share["max_current_a"], share["need_source"]) == (10.0, "ev")
    assert "(ev " not in share["binding"]

    # Once the station holds the circuit's TxProfile the offer is withdrawn and cleared.
    def offer_cleared() -> bool:
        return any(frame[2] == "ClearChargingProfile"
                   and frame[3].get("id") == offer["chargingProfileId"]
                   for frame in a.server_calls)

    await eventually(offer_cleared)
    kinds = {(r["owner_kind"], r["purpose"]) for r in
             (await http.get("/stations/CP-A/charging_profiles")).json()}
    assert ("ev", "TxProfile") not in kinds and ("circuit", "TxProfile") in kinds
