"""Plans on acnportal's Caltech network are feasible under acnportal's own check, and the
planner beats the water level on ACN-Sim (quick form: two days, two capacities)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

acnsim = pytest.importorskip("acnportal.acnsim")
np = pytest.importorskip("numpy")

from app.bench.acn import (  # noqa: E402
    _network,
    _phases,
    _prices,
    scoreboard,  # noqa: E402
    site_json,
)
from app.cli.allocate import read_request  # noqa: E402
from app.domain.phasors import violations  # noqa: E402
from app.domain.planner import plan  # noqa: E402

AT = datetime(2019, 3, 4, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize("seed", range(6))
def test_random_plans_are_feasible_for_acnportal(seed: int) -> None:
    rng = random.Random(seed)
    capacity = rng.choice((10, 20, 35, 60))
    network = _network(capacity)
    site = site_json(network, capacity, AT)
    pods = site.pop("_pods")
    stations = rng.sample(network.station_ids, rng.randint(3, 30))
    for station in stations:
        site["sessions"].append({
            "id": station, "node": pods.get(station, "secondary"),
            "phases": _phases(network, station), "wiring": "line-to-line",
            "min_current_a": 6, "max_current_a": 32, "energy_kwh": rng.uniform(1, 40),
            "departure": (AT + timedelta(minutes=rng.randint(30, 900))).isoformat()})
    request, _ = read_request(site, now=AT)
    planned = plan(request)
    assert planned.decided_by == "planner"
    index = {s: i for i, s in enumerate(network.station_ids)}
    for row in planned.currents:
        rates = np.zeros((len(index), 1))
        currents = {}
        for i, session in enumerate(request.site.sessions):
            rates[index[session.id], 0] = row[i]
            currents[session.id] = row[i]
        assert network.is_feasible(rates, violation_tolerance=1e-6, relative_tolerance=0)
        assert violations(request.site, request.grid, currents, AT) == []


@pytest.mark.timeout(1800)
def test_quick_scoreboard_is_feasible_and_planner_beats_the_water_level() -> None:
    board = scoreboard(2, (20, 40), ("water_level", "planner"))
    assert all(figures["violations"] == 0 for figures in board.values())
    for capacity in ("20", "40"):
        assert (board[f"planner@{capacity}kW"]["delivered_pct"]
                >= board[f"water_level@{capacity}kW"]["delivered_pct"])


def test_the_bench_prices_hours_across_the_start_of_daylight_saving_time() -> None:
    # 10 March 2019, 02:00 Pacific does not exist: 01:00 PST is followed by 03:00 PDT.
    prices = _prices(datetime(2019, 3, 10, 8, 30, tzinfo=UTC), 4)
    hours = [(datetime.fromisoformat(p["from"]), datetime.fromisoformat(p["to"]))
             for p in prices]
    assert all(end - start == timedelta(hours=1) for start, end in hours)
    assert all(a[1] == b[0] for a, b in zip(hours, hours[1:], strict=False))
    read_request({"at": "2019-03-10T08:30:00Z", "nodes": [], "sessions": [],
                  "prices": prices}, now=datetime(2019, 3, 10, 8, 30, tzinfo=UTC))
