"""The station's smart-charging state: installed profiles and the limits they impose.

Every rule (validation, replacement, clearing, composite) is the shared core in
``app.domain``; this module only holds the state and the station's own limits.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from app.domain.composite import (
    ActiveTransaction,
    CompositeSchedule,
    Convention,
    composite_answer,
    composite_schedule,
)
from app.domain.installation import InstalledProfile, clear, install
from app.domain.profiles import (
    ChargingProfile,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ProfileFormatError,
)
from app.domain.schedule_comparison import limit_at
from app.domain.units import SupplyConfig, convert
from app.domain.validation import StationLimits, validate_profile
from app.simulator.config import SimulatorConfig

logger = logging.getLogger("chargeplan.simulator")

# A limit is looked up in a composite over this many seconds from the whole second before
# the instant asked about: the core reports periods in whole seconds from its start, so a
# window starting mid-second would shift every breakpoint that falls on a whole second.
_LOOKUP_WINDOW_S = 2


class ProfileDecision(enum.StrEnum):
    """ChargingProfileStatus of SetChargingProfile.conf (OCPP 1.6 §7.11)."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    NOT_SUPPORTED = "NotSupported"


def station_limits(config: SimulatorConfig) -> StationLimits:
    # OCPP 1.6 §9.4 ChargingScheduleAllowedChargingRateUnit: "Current" is A, "Power" is W.
    names = {"current": ChargingRateUnit.A, "power": ChargingRateUnit.W}
    units = frozenset(
        names[part.strip().lower()]
        for part in config.allowed_units.split(",")
        if part.strip().lower() in names
    )
    return StationLimits(
        max_stack_level=config.max_stack_level,
        allowed_units=units,
        max_periods=config.max_periods,
        max_profiles=config.max_profiles,
        number_of_connectors=config.connectors,
    )


class SmartChargingState:
    """Installed profiles of one station, and the composite limit at any instant."""

    def __init__(
        self,
        station_id: str,
        config: SimulatorConfig,
        installed: Iterable[InstalledProfile] = (),
        on_change: Callable[[tuple[InstalledProfile, ...]], None] | None = None,
    ) -> None:
        self._station_id = station_id
        self._config = config
        self._limits = station_limits(config)
        self._supply = SupplyConfig(voltage=config.voltage, phases=config.phases)
        self._installed: tuple[InstalledProfile, ...] = tuple(installed)
        self._on_change = on_change

    @property
    def installed(self) -> tuple[InstalledProfile, ...]:
        return self._installed

    def parse(self, payload: dict[str, Any]) -> ChargingProfile | None:
        """A profile from its camelCase OCPP form, or None when it cannot be read."""
        try:
            return ChargingProfile.from_ocpp(payload)
        except ProfileFormatError as error:
            logger.info("%s: unreadable charging profile: %s", self._station_id, error)
            return None

    def check(
        self,
        profile: ChargingProfile,
        connector_id: int,
        active_transaction_ids: dict[int, int],
        *,
        in_remote_start: bool = False,
    ) -> ProfileDecision:
        """Whether the station may install ``profile`` on ``connector_id`` now."""
        violations = validate_profile(
            profile, connector_id, self._limits, in_remote_start=in_remote_start
        )
        if violations:
            logger.info(
                "%s: profile %s refused: %s",
                self._station_id,
                profile.charging_profile_id,
                "; ".join(str(violation) for violation in violations),
            )
            return ProfileDecision.REJECTED
        # OCPP 1.6 §3.13.1: a TxProfile with no transaction active on its connector is
        # discarded with an error status (one for another transaction: likewise, here).
        if profile.purpose is ChargingProfilePurpose.TX_PROFILE and not (
            in_remote_start or active_transaction_ids.get(connector_id) == profile.transaction_id
        ):
            logger.info(
                "%s: TxProfile %s refused: no matching transaction on connector %s",
                self._station_id,
                profile.charging_profile_id,
                connector_id,
            )
            return ProfileDecision.REJECTED
        return ProfileDecision.ACCEPTED

    def install(self, profile: ChargingProfile, connector_id: int) -> bool:
        outcome = install(
            self._installed,
            InstalledProfile(connector_id, profile),
            max_profiles=self._config.max_profiles,
        )
        if not outcome.accepted:
            logger.info(
                "%s: profile %s not installed: %s",
                self._station_id,
                profile.charging_profile_id,
                outcome.reason,
            )
            return False
        self._set(tuple(outcome.installed))
        logger.info(
            "%s: installed profile %s (%s, stack %s) on connector %s",
            self._station_id,
            profile.charging_profile_id,
            profile.purpose.value,
            profile.stack_level,
            connector_id,
        )
        return True

    def install_for_transaction(
        self, profile: ChargingProfile, connector_id: int, transaction_id: int
    ) -> bool:
        """Install a RemoteStartTransaction TxProfile for the transaction it started.

        OCPP 1.6 errata §3.41: the profile arrives without transactionId; the charge point
        binds it to the transaction that the remote start created.
        """
        bound = dataclasses.replace(profile, transaction_id=transaction_id)
        return self.install(bound, connector_id)

    def clear(
        self,
        *,
        profile_id: int | None = None,
        connector_id: int | None = None,
        purpose: ChargingProfilePurpose | None = None,
        stack_level: int | None = None,
    ) -> int:
        """Remove the matching profiles; returns how many were removed."""
        outcome = clear(
            self._installed,
            profile_id=profile_id,
            connector_id=connector_id,
            purpose=purpose,
            stack_level=stack_level,
        )
        removed = len(outcome.removed)
        if removed:
            self._set(tuple(outcome.installed))
            logger.info(
                "%s: cleared %d profile(s) (id=%s connector=%s purpose=%s stack=%s)",
                self._station_id,
                removed,
                profile_id,
                connector_id,
                purpose.value if purpose else None,
                stack_level,
            )
        return removed

    def end_transaction(self, connector_id: int) -> None:
        """OCPP 1.6 §3.13.1: a TxProfile lives only as long as its transaction."""
        self.clear(connector_id=connector_id, purpose=ChargingProfilePurpose.TX_PROFILE)

    def forget_all(self) -> None:
        """What a charger without persistent storage loses on reboot."""
        self._installed = ()

    def composite(
        self,
        connector_id: int,
        start: datetime,
        duration: int,
        unit: ChargingRateUnit,
        transactions: Iterable[ActiveTransaction] = (),
    ) -> CompositeSchedule:
        return composite_schedule(
            self._installed,
            connector_id,
            start,
            duration,
            unit,
            transactions=tuple(transactions),
            number_of_connectors=self._config.connectors,
            supply=self._supply,
            station_max_w=self._config.max_power_w,
        )

    def composite_answer(
        self,
        connector_id: int,
        start: datetime,
        duration: int,
        unit: ChargingRateUnit,
        transactions: Iterable[ActiveTransaction] = (),
    ) -> dict[str, Any]:
        """What this station reports: the composite under its convention, with its own
        unconstrained value where no profile bounds it."""
        convention = Convention(self._config.composite_convention)
        own = self._config.unconstrained_w
        if own is None and convention is Convention.STRICT:
            own = self._config.max_power_w
        return composite_answer(
            self._installed,
            connector_id,
            start,
            duration,
            unit,
            convention=convention,
            transactions=tuple(transactions),
            number_of_connectors=self._config.connectors,
            supply=self._supply,
            station_max_w=self._config.max_power_w,
            unconstrained=None if own is None else convert(
                own, ChargingRateUnit.W, unit, supply=self._supply),
        ).to_ocpp()

    def limit_w(
        self, connector_id: int, at: datetime, transactions: Iterable[ActiveTransaction] = ()
    ) -> float:
        """The power the composite schedule allows on ``connector_id`` at ``at``, in W."""
        return self._limit(connector_id, at, ChargingRateUnit.W, self._config.max_power_w,
                           transactions)

    def limit_a(
        self, connector_id: int, at: datetime, transactions: Iterable[ActiveTransaction] = ()
    ) -> float:
        """What the composite schedule offers ``connector_id`` per phase at ``at``, in A:
        the lower of ``at`` and the next whole second, as the composite runs on whole
        seconds and a profile sent now starts a fraction of a second later."""
        station_max_a = self._config.max_power_w / (self._config.voltage * self._config.phases)
        running = tuple(transactions)
        next_second = at.replace(microsecond=0) + timedelta(seconds=1)
        return min(self._limit(connector_id, instant, ChargingRateUnit.A, station_max_a,
                               running) for instant in (at, next_second))

    def _limit(self, connector_id: int, at: datetime, unit: ChargingRateUnit,
               station_max: float, transactions: Iterable[ActiveTransaction]) -> float:
        """The composite's limit at ``at``; the station's own maximum where nothing bounds it."""
        schedule = composite_schedule(
            self._installed,
            connector_id,
            at.replace(microsecond=0),
            _LOOKUP_WINDOW_S,
            unit,
            transactions=tuple(transactions),
            number_of_connectors=self._config.connectors,
            supply=self._supply,
            station_max_w=self._config.max_power_w,
        )
        limit = limit_at(schedule.to_ocpp(), at)
        return station_max if limit is None else min(limit, station_max)

    def _set(self, installed: tuple[InstalledProfile, ...]) -> None:
        self._installed = installed
        if self._on_change is not None:
            self._on_change(installed)
