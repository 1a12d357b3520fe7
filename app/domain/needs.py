"""What a charging session needs: energy (kWh) by a departure, and where that came from.

A session's need is taken from the first source that has one, in this order (the
``PRECEDENCE`` table; a new source is one more member of :class:`Source` and one more
place in the table):

0. ``ev``: what the car itself said (OCPP 2.0.1 NotifyEVChargingNeeds, ISO 15118): its
   ``departureTime`` and ``energyAmount`` (kept as the session's whole energy: the
   amount plus what was delivered when the car asked). Without a departure the car says
   nothing about when, and the next source decides. Its ``evMinCurrent`` /
   ``evMaxCurrent`` bound the session's current whatever source decides
   (:func:`session_bounds`).
1. ``request``: what a driver app or a fleet system asked for this transaction
   (``PUT /transactions/{id}/needs``).
2. ``id_tag``: the id tag's default (e.g. a van that leaves at 06:00 needing 60 kWh): the
   departure is the first ``departure_local`` in its ``timezone`` after the transaction
   started (DST-correct: a wall time skipped by a spring-forward moves an hour on, the
   first of a repeated one is taken).
3. ``history``: the medians of the id tag's last sessions ended before this one started
   (at least ``HISTORY_MIN``, at most ``HISTORY_MAX``, newest by stop): dwell
   (stop - start) added to this start, energy (meterStop - meterStart).
4. ``circuit_default``: the circuit's ``default_dwell_s`` after the start; the energy is
   "as much as it can take" (``energy_kwh`` None).
5. ``none``: no need; the session gets its fair share.

Arithmetic: ``delivered_kwh`` is the session's energy register less meterStart;
``remaining_kwh`` = requested - delivered, never below 0 (None when the energy is
unbounded). A need whose departure has passed, or whose energy is 0, is kept and shown but
does not plan (``plan`` False, with the reason): the session gets its fair share.

Pure: standard library only, times passed in (aware UTC), frozen dataclasses.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

HISTORY_MIN = 3  # ended sessions of the id tag needed before its history is believed
HISTORY_MAX = 10  # the newest ones used

_HH_MM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class Source(StrEnum):
    EV = "ev"
    REQUEST = "request"
    ID_TAG = "id_tag"
    HISTORY = "history"
    CIRCUIT_DEFAULT = "circuit_default"
    NONE = "none"


class NeedError(ValueError):
    """Bad input: ``field`` names it as the client spells it."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


@dataclass(frozen=True)
class Requested:
    """What a client asked for one transaction (energy already worked out)."""

    energy_kwh: float
    departure: datetime


@dataclass(frozen=True)
class EvNeed:
    """What the car said it needs (energy already made the session's whole energy)."""

    departure: datetime | None = None
    energy_kwh: float | None = None
    min_current_a: float | None = None
    max_current_a: float | None = None
    detail: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class DailyDefault:
    """An id tag's default: ``energy_kwh`` by the next ``departure_local`` in ``timezone``."""

    energy_kwh: float
    departure_local: str  # "HH:MM"
    timezone: str  # IANA zone, e.g. "Europe/Berlin"


@dataclass(frozen=True)
class PastSession:
    """An ended session of the same id tag."""

    started_at: datetime
    stopped_at: datetime
    energy_kwh: float


@dataclass(frozen=True)
class Facts:
    """Everything one session's need is decided from; missing sources are None/empty."""

    started_at: datetime
    delivered_kwh: float = 0.0
    ev: EvNeed | None = None
    request: Requested | None = None
    id_tag: str | None = None
    id_tag_default: DailyDefault | None = None
    history: Sequence[PastSession] = ()
    circuit_id: str | None = None
    circuit_dwell_s: int | None = None


@dataclass(frozen=True)
class Candidate:
    source: Source
    energy_kwh: float | None
    departure: datetime
    detail: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Need:
    source: Source
    energy_kwh: float | None  # None: as much as it can take (or no need at all)
    departure: datetime | None
    delivered_kwh: float
    remaining_kwh: float | None
    plan: bool
    reason: str | None  # why it does not plan, when it does not
    detail: Mapping[str, object] = field(default_factory=dict)


def energy_from_soc(target_soc: float, soc: float | None, battery_kwh: float) -> float:
    """(target - now) x battery, in kWh; states of charge in percent. Without the state
    of charge now the gap is unknown: refused, naming ``soc``."""
    if soc is None:
        raise NeedError("soc", "is needed with target_soc: the energy is "
                        "(target_soc - soc) / 100 x battery_kwh")
    return max(0.0, (target_soc - soc) / 100 * battery_kwh)


def check_default(default: DailyDefault, prefix: str = "default_needs") -> None:
    """The id tag default's fields, named ``<prefix>.<field>``."""
    if not default.energy_kwh >= 0:
        raise NeedError(f"{prefix}.energy_kwh", "must be 0 or more")
    if _HH_MM.match(default.departure_local) is None:
        raise NeedError(f"{prefix}.departure_local", "must be HH:MM, 00:00 to 23:59")
    try:
        ZoneInfo(default.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise NeedError(f"{prefix}.timezone",
                        "must be an IANA time zone, e.g. Europe/Berlin") from None


def next_local(after: datetime, wall: str, zone_name: str) -> datetime:
    """The first instant after ``after`` whose wall time in the zone is ``wall`` (HH:MM),
    in UTC. A wall time a spring-forward skips is read as in the offset before the gap
    (zoneinfo's fold=0), so it lands an hour later on the clock; a repeated one is its
    first occurrence."""
    zone = ZoneInfo(zone_name)
    hours, minutes = (int(part) for part in wall.split(":"))
    local_day = after.astimezone(zone).date()
    for days in range(3):
        day = local_day + timedelta(days=days)
        candidate = datetime.combine(day, time(hours, minutes), tzinfo=zone).astimezone(UTC)
        if candidate > after:
            return candidate
    raise AssertionError("a wall time recurs within three days")  # pragma: no cover


def _ev(facts: Facts) -> Candidate | None:
    if facts.ev is None or facts.ev.departure is None:
        return None
    return Candidate(Source.EV, facts.ev.energy_kwh, facts.ev.departure, facts.ev.detail)


def _request(facts: Facts) -> Candidate | None:
    if facts.request is None:
        return None
    return Candidate(Source.REQUEST, facts.request.energy_kwh, facts.request.departure)


def _id_tag(facts: Facts) -> Candidate | None:
    default = facts.id_tag_default
    if default is None:
        return None
    departure = next_local(facts.started_at, default.departure_local, default.timezone)
    return Candidate(Source.ID_TAG, default.energy_kwh, departure, {
        "id_tag": facts.id_tag, "departure_local": default.departure_local,
        "timezone": default.timezone})


def _history(facts: Facts) -> Candidate | None:
    ended = sorted((s for s in facts.history
                    if facts.started_at >= s.stopped_at > s.started_at),
                   key=lambda s: s.stopped_at, reverse=True)[:HISTORY_MAX]
    if len(ended) < HISTORY_MIN:
        return None
    dwell_s = statistics.median((s.stopped_at - s.started_at).total_seconds() for s in ended)
    energy = statistics.median(max(0.0, s.energy_kwh) for s in ended)
    return Candidate(Source.HISTORY, round(energy, 3),
                     facts.started_at + timedelta(seconds=dwell_s), {
                         "id_tag": facts.id_tag, "sessions": len(ended),
                         "median_dwell_s": dwell_s})


def _circuit(facts: Facts) -> Candidate | None:
    if facts.circuit_dwell_s is None:
        return None
    return Candidate(Source.CIRCUIT_DEFAULT, None,
                     facts.started_at + timedelta(seconds=facts.circuit_dwell_s),
                     {"circuit_id": facts.circuit_id, "default_dwell_s": facts.circuit_dwell_s})


# The precedence, first wins: one row per source.
PRECEDENCE: tuple[tuple[Source, Callable[[Facts], Candidate | None]], ...] = (
    (Source.EV, _ev),
    (Source.REQUEST, _request),
    (Source.ID_TAG, _id_tag),
    (Source.HISTORY, _history),
    (Source.CIRCUIT_DEFAULT, _circuit),
)


def candidates(facts: Facts) -> list[Candidate]:
    """Every source that has something to say, in precedence order."""
    return [c for _, source in PRECEDENCE if (c := source(facts)) is not None]


def decide(facts: Facts, now: datetime) -> Need:
    """The session's effective need at ``now``: the first candidate in precedence order."""
    delivered = max(0.0, facts.delivered_kwh)
    found = candidates(facts)
    if not found:
        return Need(Source.NONE, None, None, round(delivered, 3), None, False,
                    "no source says what this session needs")
    chosen = found[0]
    remaining = (None if chosen.energy_kwh is None
                 else round(max(0.0, chosen.energy_kwh - delivered), 3))
    reason = None
    if chosen.energy_kwh == 0:
        reason = "energy_kwh is 0"
    elif chosen.departure <= now:
        reason = "departure has passed"
    elif remaining == 0:
        reason = "the requested energy is delivered"
    return Need(chosen.source, chosen.energy_kwh, chosen.departure, round(delivered, 3),
                remaining, reason is None, reason, chosen.detail)


def session_bounds(min_current_a: float, max_current_a: float, ev_min_a: float | None,
                   ev_max_a: float | None) -> tuple[float, float]:
    """A session's (minimum, maximum) current once the car's own are known: the car takes
    no more than ``ev_max_a`` and pauses below ``ev_min_a`` (ISO 15118 via OCPP 2.0.1
    ACChargingParametersType evMinCurrent / evMaxCurrent). The station's maximum is never
    passed; a car minimum above it leaves the minimum at the maximum. Values that are not
    positive say nothing."""
    high = max_current_a if ev_max_a is None or ev_max_a <= 0 else min(max_current_a,
                                                                         ev_max_a)
    low = min_current_a if ev_min_a is None or ev_min_a <= 0 else max(min_current_a, ev_min_a)
    return min(low, high), high
