"""The smart-charging state of a simulated OCPP 2.0.1 station: what it holds per EVSE and
the limits that imposes. Every rule is the shared core (``rules=V201``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from app.domain.composite import EvseTransaction, composite_schedule
from app.domain.installation import clear, install
from app.domain.profiles import ChargingRateUnit, ProfileFormatError
from app.domain.profiles_v201 import (
    ChargingLimitSource,
    ChargingProfile201,
    ChargingProfilePurpose201,
    EvseProfile,
    select_profiles,
)
from app.domain.protocol_rules import V201
from app.domain.schedule_comparison import limit_at
from app.domain.units import SupplyConfig
from app.domain.validation import validate_profile_v201
from app.domain.violations import Violation
from app.simulator.config import SimulatorConfig
from app.simulator.smart_charging import station_limits

logger = logging.getLogger("chargeplan.simulator")

# See app/simulator/smart_charging.py: limits are looked up in a window of whole seconds.
_LOOKUP_WINDOW_S = 2


class SmartCharging201:
    """The profiles one 2.0.1 station holds, and the composite limit at any instant."""

    def __init__(self, station_id: str, config: SimulatorConfig) -> None:
        self._station_id = station_id
        self._config = config
        self._supply = SupplyConfig(voltage=config.voltage, phases=config.phases)
        self.held: tuple[EvseProfile, ...] = ()

    def parse(self, payload: Mapping[str, Any]) -> ChargingProfile201 | list[Violation]:
        try:
            return ChargingProfile201.from_ocpp(payload)
        except ProfileFormatError as error:
            return error.violations

    def check(self, profile: ChargingProfile201, evse_id: int,
              running: Mapping[int, str]) -> list[Violation]:
        """What the station refuses in ``profile`` (K01): among it, a profile that shares
        another's stackLevel (K01.FR.06, K01.FR.39), unless ``same_stack_replaces``."""
        return validate_profile_v201(
            profile, evse_id, station_limits(self._config), transactions=running,
            installed=() if self._config.same_stack_replaces else self.held)

    def install(self, held: EvseProfile) -> str | None:
        """Hold ``held``; the reason when the station is full."""
        outcome = install(self.held, held, max_profiles=self._config.max_profiles, rules=V201)
        if not outcome.accepted:
            return outcome.reason
        self.held = outcome.installed
        logger.info("%s: holds profile %s (%s, stack %s) on EVSE %s", self._station_id,
                    held.profile.charging_profile_id, held.profile.purpose.value,
                    held.profile.stack_level, held.evse_id)
        return None

    def forget(self, profile_id: int) -> bool:
        """Lose a profile without telling anyone, as a station whose storage failed or
        whose firmware dropped it on a restart; False when it held none with that id."""
        kept = tuple(h for h in self.held if h.profile.charging_profile_id != profile_id)
        lost = len(kept) < len(self.held)
        self.held = kept
        if lost:
            logger.info("%s: lost profile %s", self._station_id, profile_id)
        return lost

    def lift(self, source: ChargingLimitSource) -> None:
        """Drop the external limits ``source`` set (only the station itself does this)."""
        self.held = tuple(h for h in self.held if h.source is not source)

    def clear(self, *, profile_id: int | None = None, evse_id: int | None = None,
              purpose: ChargingProfilePurpose201 | None = None,
              stack_level: int | None = None) -> int:
        outcome = clear(self.held, profile_id=profile_id, connector_id=evse_id, purpose=purpose,
                        stack_level=stack_level, rules=V201)
        self.held = outcome.installed
        return len(outcome.removed)

    def end_transaction(self, evse_id: int) -> None:
        """A TxProfile lives as long as its transaction."""
        self.clear(evse_id=evse_id, purpose=ChargingProfilePurpose201.TX_PROFILE)

    def report_groups(self, **criteria: Any) -> list[tuple[int, ChargingLimitSource,
                                                           list[EvseProfile]]]:
        """What GetChargingProfiles selects, grouped as ReportChargingProfiles carries it:
        one report per EVSE and limit source."""
        groups: dict[tuple[int, ChargingLimitSource], list[EvseProfile]] = {}
        for item in select_profiles(self.held, **criteria):
            groups.setdefault((item.evse_id, item.source), []).append(item)
        return [(evse, source, items) for (evse, source), items in groups.items()]

    def composite(self, evse_id: int, start: datetime, duration: int, unit: ChargingRateUnit,
                  transactions: Sequence[EvseTransaction]) -> dict[str, Any]:
        """The GetCompositeScheduleResponse payload."""
        return composite_schedule(
            self.held, evse_id, start, duration, unit, transactions=transactions,
            number_of_connectors=self._config.connectors, supply=self._supply,
            station_max_w=self._config.max_power_w, rules=V201).to_ocpp()

    def limit(self, evse_id: int, at: datetime, unit: ChargingRateUnit, station_max: float,
              transactions: Sequence[EvseTransaction]) -> float:
        """The composite's limit at ``at``, never above the station's own maximum."""
        payload = self.composite(evse_id, at.replace(microsecond=0), _LOOKUP_WINDOW_S, unit,
                                 transactions)
        found = limit_at(payload["schedule"], at)
        return station_max if found is None else min(found, station_max)

    def limit_a(self, evse_id: int, at: datetime,
                transactions: Sequence[EvseTransaction]) -> float:
        """Per phase, the lower of ``at`` and the next whole second (as in 1.6)."""
        station_max_a = self._config.max_power_w / (self._config.voltage * self._config.phases)
        next_second = at.replace(microsecond=0) + timedelta(seconds=1)
        return min(self.limit(evse_id, instant, ChargingRateUnit.A, station_max_a, transactions)
                   for instant in (at, next_second))
