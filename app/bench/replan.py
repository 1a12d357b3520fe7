"""Re-plan bench: from a StopTransaction to every re-planned limit Accepted.

``stations`` bench stations hang from one circuit, each with a running transaction. Most
are held by their own maximum (8 A, binding ``cap``); ``sharing`` of them (at most 30, so
that one leaving frees at least 1 A for each of the rest, the threshold of a re-send)
share the water level at 30 A. The circuit is sized for exactly that. Once every station
holds its limit, one sharing station sends StopTransaction; the clock runs until every
other sharing station has answered Accepted to its raised TxProfile.

The figure includes the server's debounce of transaction events
(``CHARGEPLAN_CIRCUIT_DEBOUNCE_S``, 2 s by default), as a user sees it. Stations answer
every SetChargingProfile Accepted at once (app/bench/frames.py).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from app.bench import stats
from app.bench.config import BenchConfig
from app.bench.errors import BenchError
from app.bench.frames import CALL
from app.bench.rest import RestClient
from app.bench.scenarios import Outcome
from app.bench.servers import RunningServer
from app.bench.station import CallFailed, Station

CIRCUIT: Final = "bench-replan"
CAPPED_A: Final = 8.0
LEVEL_A: Final = 30.0
MAX_SHARING: Final = 30
CONNECT_CONCURRENCY: Final = 50
SETTLE_WITHIN_S: Final = 120.0
REPLAN_WITHIN_S: Final = 60.0


class ProfileRecorder(Station):
    """A bench station that also notes each TxProfile limit it is sent, and when."""

    def __init__(self, station_id: str, connection: Any) -> None:
        super().__init__(station_id, connection)
        self.limits: list[tuple[float, float]] = []  # (monotonic time answered, limit A)

    async def _dispatch(self, raw: str | bytes) -> None:
        await super()._dispatch(raw)  # answers Accepted first
        frame = orjson.loads(raw)
        if isinstance(frame, list) and len(frame) >= 4 and frame[0] == CALL \
                and frame[2] == "SetChargingProfile":
            profile = frame[3].get("csChargingProfiles", {})
            if profile.get("chargingProfilePurpose") == "TxProfile":
                first = profile["chargingSchedule"]["chargingSchedulePeriod"][0]
                self.limits.append((time.monotonic(), float(first["limit"])))


@dataclass
class Depot:
    sharing: list[str]
    capped: list[str]
    errors: list[str] = field(default_factory=list)

    @property
    def limit_a(self) -> float:
        return len(self.capped) * CAPPED_A + len(self.sharing) * LEVEL_A


def depot(stations: int) -> Depot:
    ids = [f"REPLAN-{n:05d}" for n in range(1, stations + 1)]
    sharing = min(MAX_SHARING, max(2, stations // 2))
    return Depot(ids[:sharing], ids[sharing:])


def replan_after_stop(server: RunningServer, config: BenchConfig) -> Outcome:
    if server.http_url is None:
        raise BenchError("replan needs the server's REST API")
    site = depot(config.replan_stations)
    rest = RestClient(server.http_url, timeout_s=max(config.call_timeout_s, 30.0))
    try:
        _wire(rest, site)
    finally:
        rest.close()
    return asyncio.run(_run(server.ocpp_url, site, config.call_timeout_s))


def _wire(rest: RestClient, site: Depot) -> None:
    status, answer = rest.request("POST", "/circuits", {"id": CIRCUIT,
                                                        "max_current_a": site.limit_a})
    if status != 201:
        raise BenchError(f"POST /circuits answered {status}: {answer!r}")
    for station_id in site.sharing + site.capped:
        status, answer = rest.request("POST", "/stations", {"station_id": station_id})
        if status != 201:
            raise BenchError(f"POST /stations answered {status}: {answer!r}")
        maximum = 32.0 if station_id in site.sharing else CAPPED_A
        status, answer = rest.request("PATCH", f"/stations/{station_id}",
                                      {"circuit_id": CIRCUIT, "max_current_a": maximum})
        if status != 200:
            raise BenchError(f"PATCH /stations/{station_id} answered {status}: {answer!r}")


async def _run(ocpp_url: str, site: Depot, timeout_s: float) -> Outcome:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    stations: dict[str, ProfileRecorder] = {}
    transactions: dict[str, int] = {}

    async def bring_up(station_id: str) -> None:
        async with gate:
            station = await ProfileRecorder.connect(ocpp_url, station_id, timeout_s)
            assert isinstance(station, ProfileRecorder)
            stations[station_id] = station
            await station.call("BootNotification", {"chargePointVendor": "bench",
                                                    "chargePointModel": "replan"}, timeout_s)
            answer = await station.call("StartTransaction", {
                "connectorId": 1, "idTag": station_id[-8:], "meterStart": 0,
                "timestamp": _now()}, timeout_s)
            transactions[station_id] = int(answer["transactionId"])

    try:
        results = await asyncio.gather(*(bring_up(s) for s in site.sharing + site.capped),
                                       return_exceptions=True)
        site.errors += [str(r) for r in results if isinstance(r, BaseException)]
        if not await _settled(stations, site):
            site.errors.append("the circuit's limits did not settle before the stop")
            return _outcome(site, None, 0)
        leaving, staying = site.sharing[0], site.sharing[1:]
        seen = {s: len(stations[s].limits) for s in staying}
        began = time.monotonic()
        await stations[leaving].call("StopTransaction", {
            "transactionId": transactions[leaving], "meterStop": 0, "timestamp": _now(),
            "reason": "EVDisconnected"}, timeout_s)
        raised = await _raised(stations, staying, seen)
        if raised is None:
            site.errors.append(f"not every raised limit was answered in {REPLAN_WITHIN_S} s")
            return _outcome(site, None, 0)
        resent = sum(len(stations[s].limits) - seen[s] for s in stations if s in seen)
        return _outcome(site, raised - began, resent)
    except CallFailed as exc:
        site.errors.append(str(exc))
        return _outcome(site, None, 0)
    finally:
        await asyncio.gather(*(s.close() for s in stations.values()))


async def _settled(stations: dict[str, ProfileRecorder], site: Depot) -> bool:
    """Every station holds its share: the sharing ones 30 A, the others their 8 A."""
    def done() -> bool:
        return all(bool(stations[s].limits) and stations[s].limits[-1][1] == expected
                   for group, expected in ((site.sharing, LEVEL_A), (site.capped, CAPPED_A))
                   for s in group if s in stations)
    return await _until(done, SETTLE_WITHIN_S)


async def _raised(stations: dict[str, ProfileRecorder], staying: list[str],
                  seen: dict[str, int]) -> float | None:
    """When the last staying sharing station answered a raised limit, or None."""
    def done() -> bool:
        return all(any(limit > LEVEL_A for _, limit in stations[s].limits[seen[s]:])
                   for s in staying)
    if not await _until(done, REPLAN_WITHIN_S):
        return None
    return max(next(t for t, limit in stations[s].limits[seen[s]:] if limit > LEVEL_A)
               for s in staying)


async def _until(done: Any, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while not done():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def _outcome(site: Depot, seconds: float | None, resent: int) -> Outcome:
    return Outcome({
        "stations": len(site.sharing) + len(site.capped),
        "raised": len(site.sharing) - 1,
        "resent": resent,
        "stop_to_accepted_s": stats.rounded(seconds),
        "errors": len(site.errors),
    }, error_samples=site.errors[:5])


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
