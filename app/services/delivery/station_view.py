"""What a station accepts, read from the registry for one station or for many at once.

A plan or a tariff checks its profile against every target station; reading them in
two statements (stations, then connectors) instead of two per station keeps a fan-out to
a large fleet cheap.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload, load_only

from app.db.batching import chunks
from app.db.models import Connector, Station
from app.domain.composite import Convention
from app.domain.profiles import ChargingRateUnit
from app.domain.protocol_rules import V16, OcppVersion, ProtocolRules, rules_of
from app.domain.validation import StationLimits
from app.services.fleet.stations import capabilities

_UNITS = {"Current": ChargingRateUnit.A, "Power": ChargingRateUnit.W}


@dataclass(frozen=True)
class StationView:
    limits: StationLimits
    warnings: list[str]
    smart_charging: bool | None
    number_of_connectors: int
    max_power_w: float | None
    managed: bool = True
    # What verification learned: how it answers GetCompositeSchedule, and its own limit.
    convention: Convention | None = None
    unconstrained: tuple[float, ChargingRateUnit] | None = None
    # The rules of the OCPP version it last connected with: its profiles are checked as
    # that version sends them. A station never connected is taken as 1.6, the version
    # the registry assumes until it speaks (Station.ocpp_version).
    rules: ProtocolRules = V16


def view_of(station: Station, connectors: Sequence[int]) -> StationView:
    """The limits the station reported (OCPP 1.6 §9.4 configuration keys, 2.0.1
    SmartChargingCtrlr variables) and a warning for each it never reported, named as its
    version names it."""
    caps = capabilities(station)
    rules = rules_of(station.ocpp_version or OcppVersion.V16)
    # A 2.0.1 station has no feature profiles: SmartChargingCtrlr.Enabled stands for them.
    features = ("SupportedFeatureProfiles" if rules.version is OcppVersion.V16
                else "SmartChargingCtrlr.Enabled")
    warnings = []
    for name, value in (
        (features, caps.supported_feature_profiles),
        (rules.names["max_stack_level"], caps.max_stack_level),
        (rules.names["allowed_units"], caps.allowed_units),
        (rules.names["max_periods"], caps.max_periods),
        (rules.names["max_profiles"], caps.max_profiles),
    ):
        if value is None:
            warnings.append(f"station never reported {name}: not checked")
    units = None
    if caps.allowed_units is not None:
        units = frozenset(_UNITS[u] for u in caps.allowed_units if u in _UNITS) or None
    max_periods, max_profiles = caps.max_periods, caps.max_profiles
    # A value no profile could meet (no period, no room for a profile, no unit) is not a
    # limit but a station reporting nonsense (a placeholder, a value not set up): taken as
    # not reported, so it does not silently block every profile; the station's answer
    # decides, as for a capability never reported.
    for name, odd in ((rules.names["allowed_units"],
                       caps.allowed_units is not None and units is None),
                      (rules.names["max_periods"], max_periods is not None and max_periods < 1),
                      (rules.names["max_profiles"],
                       max_profiles is not None and max_profiles < 1)):
        if odd:
            warnings.append(f"station reported {name} that no profile can meet: not checked")
    if max_periods is not None and max_periods < 1:
        max_periods = None
    if max_profiles is not None and max_profiles < 1:
        max_profiles = None
    smart = None
    if caps.supported_feature_profiles is not None:
        smart = "SmartCharging" in caps.supported_feature_profiles
    if smart is False and station.ocpp_version == OcppVersion.V201:
        # A 1.6 station lists the feature profiles it implements (SupportedFeatureProfiles,
        # OCPP 1.6 §9.1), so one without SmartCharging is refused. A 2.0.1
        # SmartChargingCtrlr.Enabled is a switch of its device model, read once and
        # possibly stale or switched since: the profile is sent and the station's answer
        # (NotSupported, Rejected) decides.
        smart = None
        warnings.append("station's SmartChargingCtrlr.Enabled read false: sent anyway, "
                        "its answer decides")
    limits = StationLimits(
        max_stack_level=caps.max_stack_level, allowed_units=units,
        max_periods=max_periods, max_profiles=max_profiles,
        number_of_connectors=caps.number_of_connectors,
    )
    known_connectors = max([c for c in connectors if c > 0], default=1)
    unconstrained = None
    if station.unconstrained_limit is not None and station.unconstrained_unit in _UNIT_NAMES:
        unconstrained = (station.unconstrained_limit,
                         ChargingRateUnit(station.unconstrained_unit))
    return StationView(limits, warnings, smart,
                       caps.number_of_connectors or known_connectors, station.max_power_w,
                       managed=station.managed is not False,
                       convention=station.composite_convention, unconstrained=unconstrained,
                       rules=rules)


_VIEW_COLUMNS = (
    Station.id, Station.supported_feature_profiles, Station.charge_profile_max_stack_level,
    Station.charging_schedule_allowed_charging_rate_unit,
    Station.charging_schedule_max_periods, Station.max_charging_profiles_installed,
    Station.number_of_connectors, Station.max_power_w, Station.managed,
    Station.composite_convention, Station.unconstrained_limit, Station.unconstrained_unit,
    Station.ocpp_version,
)
_UNIT_NAMES = {"A", "W"}


async def station_views(session: AsyncSession, station_ids: Iterable[str]
                        ) -> dict[str, StationView]:
    """The view of every listed station that is registered (missing ones are left out)."""
    stations: dict[str, Station] = {}
    connectors: defaultdict[str, list[int]] = defaultdict(list)
    for batch in chunks(dict.fromkeys(station_ids)):
        found = await session.scalars(
            select(Station).options(load_only(*_VIEW_COLUMNS), lazyload(Station.connectors))
            .where(Station.id.in_(batch)))
        stations.update((s.id, s) for s in found.all())
        for station_id, connector_id in (await session.execute(
                select(Connector.station_id, Connector.connector_id)
                .where(Connector.station_id.in_(batch)))).all():
            connectors[station_id].append(connector_id)
    return {sid: view_of(station, connectors[sid]) for sid, station in stations.items()}
