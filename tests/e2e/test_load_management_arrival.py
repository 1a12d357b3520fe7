"""A car arriving on a full circuit, measured from the chargers' side: four cars share a
40 A circuit (4 A margin) at 9 A each; a fifth plugs in on another station. From its first
ampere it draws no more than the circuit can give it (here 0: its station's arrival
allowance), and it gets its share at the next re-plan, the others going down first: the
sum of the draws never passes 36 A, at any change of any car's draw."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.db.models import MeterValue
from app.settings import Settings
from app.simulator.car import Car
from app.simulator.depot import Depot, DrawChange
from app.simulator.site import parse_site
from tests.conftest import RunningServer, make_settings
from tests.e2e.harness import eventually

LIMIT_A = 40.0
MARGIN_A = 4.0
TOLERANCE_A = 0.5
SHARE_OF_FOUR = 9.0  # 36 A in four
SHARE_OF_FIVE = 7.2  # 36 A in five
NEW = "ARR-05"
# The stations sample every second: its share by its fifth sample is within 5 s.
SAMPLES_TO_SHARE = 5


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return make_settings(sqlite_url, unknown_id_tag_status="Accepted", circuit_debounce_s=0.05,
                         circuit_lease_s=3600, circuit_replan_interval_s=1700,
                         reconcile_interval_s=3600, verify_interval_s=3600)


def arrival_site(server: RunningServer) -> dict[str, Any]:
    return {
        "url": server.ocpp_url, "http_url": server.http_url, "meter_interval_s": 1.0,
        # No circuit meter: the circuit's other load is its worst case, 0 A.
        "circuits": [{"id": "site", "meter": False}],
        "stations": [{"id": f"ARR-0{n}", "circuit": "site"} for n in range(1, 6)],
        "cars": [{"id": f"VAN-{n}", "station": f"ARR-0{n}", "max_current_a": 32}
                 for n in range(1, 5)],
    }


def car_amps(station_id: str, draws: list[DrawChange]) -> list[float]:
    return [max(d.phase_a) for d in draws if d.station_id == station_id]


async def sampled(server: RunningServer, station_id: str) -> list[float]:
    """The Current.Import on L1 of the station's MeterValues, oldest first."""
    async with server.services.db.uow() as session:
        rows = (await session.scalars(
            select(MeterValue.value).where(MeterValue.station_id == station_id,
                                           MeterValue.measurand == "Current.Import",
                                           MeterValue.phase == "L1")
            .order_by(MeterValue.ts))).all()
    return [float(v) for v in rows if v is not None]


def worst_total(draws: list[DrawChange]) -> float:
    return max(max(d.circuit.total_a) for d in draws if d.circuit is not None)


async def test_a_car_arriving_on_a_full_circuit_never_takes_it_over_its_limit(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    answer = await http.post("/circuits", json={
        "id": "site", "max_current_a": LIMIT_A, "margin_a": MARGIN_A, "connector_count": 5})
    assert answer.status_code == 201, answer.text
    site = parse_site(arrival_site(server))
    for spec in site.stations:
        answer = await http.post("/stations", json={"station_id": spec.id,
                                                    "max_power_w": 32 * 230 * 3})
        assert answer.status_code == 201, answer.text
        answer = await http.patch(f"/stations/{spec.id}", json={
            "circuit_id": "site", "phase_rotation": "RST", "max_current_a": 32})
        assert answer.status_code == 200, answer.text

    async with Depot(site, reconnect_delay=0.2) as depot:
        sharing = [f"ARR-0{n}" for n in range(1, 5)]

        async def four_at_nine() -> bool:
            solved = (await http.get("/circuits/site/allocation")).json()
            drawing = all(depot.stations[s].cars.get(1) is not None
                          and depot.stations[s].cars[1].amps == SHARE_OF_FOUR for s in sharing)
            return drawing and sorted(s["limit_a"] for s in solved["sessions"]) == [
                SHARE_OF_FOUR] * 4

        async def everything_delivered() -> bool:
            for station_id in depot.stations:
                rows = (await http.get(f"/stations/{station_id}/charging_profiles")).json()
                if not rows or any(r["state"] != "accepted" for r in rows):
                    return False
            return True

        await eventually(four_at_nine, timeout=90)
        await eventually(everything_delivered, timeout=60)
        start = len(depot.draws)
        station = depot.stations[NEW]
        plugged_at = station.clock.now()
        await station.plug_in(1, Car("NEW-5", max_current_a=32))
        # Its first draw, decided as its transaction started: what the charger's own
        # composite schedule allowed then, and nothing the circuit does not have.
        first = max(station.connectors[1].phase_a or (0.0, 0.0, 0.0))
        assert first <= station.limit_a(1) + 1e-9

        async def shared() -> list[float] | None:
            samples = await sampled(server, NEW)
            return samples if any(a >= SHARE_OF_FIVE - 0.1 for a in samples) else None

        samples = await eventually(shared, timeout=60)
        await eventually(lambda: all(depot.stations[s].cars[1].amps <= SHARE_OF_FIVE
                                     for s in sharing), timeout=60)

        after = depot.draws[start:]
        worst = worst_total(after)
        reached = next(d for d in after if d.station_id == NEW
                       and max(d.phase_a) >= SHARE_OF_FIVE - 0.1)
        seconds = (reached.at - plugged_at).total_seconds()
        to_share = next(i for i, a in enumerate(samples, 1) if a >= SHARE_OF_FIVE - 0.1)
        print(f"arrival: first draw {first} A, worst sum {worst} A of "
              f"{LIMIT_A - MARGIN_A} A, share {max(reached.phase_a)} A at its sample "
              f"{to_share} ({samples[:to_share]}), {seconds:.2f} s after plugging in")
        assert worst <= LIMIT_A - MARGIN_A + TOLERANCE_A, [
            d.circuit.total_a for d in after if d.circuit is not None]
        assert first == 0.0  # no room on the circuit: it waits for its share
        # Its draws: nothing, then its share; never more than the circuit could give.
        assert car_amps(NEW, after)[0] == 0.0
        assert max(car_amps(NEW, after)) <= SHARE_OF_FIVE
        assert max(samples) <= SHARE_OF_FIVE
        assert to_share <= SAMPLES_TO_SHARE, samples
