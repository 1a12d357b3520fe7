"""What differs between OCPP 1.6 and OCPP 2.0.1 smart charging, as data.

The profile rules (validation, what a station holds, the composite schedule) are one body
of code; a :class:`ProtocolRules` value says which version they speak: which purposes cap
what, which profiles a central system may not replace or clear, how the place a profile is
set on is named, and which section states each rule. :data:`V16` and :data:`V201` are the
two versions.

A profile of either version is read through :class:`SchedulableProfile`: its
:class:`ProfileRole` (the version-neutral meaning of its purpose) and the schedule in force.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from app.domain.profiles import ChargingProfileKind, ChargingSchedule, RecurrencyKind

#: The reference of a rule the specification does not state: chargeplan's choice.
POLICY = "chargeplan policy"


# The longest id token either version carries: OCPP 2.0.1 IdTokenType.idToken is a
# string of at most 36 characters (its JSON schemas); a 1.6 IdToken is a CiString20Type,
# so a 1.6 station never sends or takes a longer one (its schema refuses it).
ID_TOKEN_LENGTH = 36


class OcppVersion(StrEnum):
    V16 = "1.6"
    V201 = "2.0.1"


class ProfileRole(StrEnum):
    """What a purpose means, whatever the version calls it."""

    STATION_MAX = "station_max"  # ChargePointMaxProfile, ChargingStationMaxProfile
    EXTERNAL = "external"  # ChargingStationExternalConstraints (2.0.1)
    TX_DEFAULT = "tx_default"  # TxDefaultProfile
    TX = "tx"  # TxProfile


class SchedulableProfile(Protocol):
    """What the composite and the holding rules read of a profile of either version."""

    @property
    def charging_profile_id(self) -> int: ...
    @property
    def stack_level(self) -> int: ...
    @property
    def purpose(self) -> StrEnum: ...
    @property
    def role(self) -> ProfileRole: ...
    @property
    def kind(self) -> ChargingProfileKind: ...
    @property
    def recurrency_kind(self) -> RecurrencyKind | None: ...
    @property
    def valid_from(self) -> datetime | None: ...
    @property
    def valid_to(self) -> datetime | None: ...
    @property
    def transaction_id(self) -> int | str | None: ...
    @property
    def schedule(self) -> ChargingSchedule: ...


class Holding(Protocol):
    """A profile as a station holds it on one place (connector or EVSE; 0 = the station)."""

    @property
    def connector_id(self) -> int: ...
    @property
    def profile(self) -> SchedulableProfile: ...


@dataclass(frozen=True)
class ProtocolRules:
    """The version-specific part of the smart-charging rules.

    - ``station_caps``: roles that, held on place 0, cap every place and the station's sum.
    - ``place_caps``: roles that, held on place N, cap place N.
    - ``protected``: roles a central system can neither replace nor clear (a limit set by
      someone else, which only its setter lifts).
    - ``place``: the name of the field that addresses the place (connectorId, evseId).
    - ``cites``: the reference of each rule by key; a key not given is :data:`POLICY`.
    - ``names``: what the station calls each of its bounds (configuration key or variable).
    - ``keeps_profiles_on_boot``: whether what a station acknowledged is taken as still held
      after it boots (else the boot's reconcile sends it again).
    - ``tx_reported_after_boot``: whether a transaction started before the station's
      latest boot counts as running only once the station told of it since that boot.
    """

    version: OcppVersion
    station_caps: frozenset[ProfileRole]
    place_caps: frozenset[ProfileRole]
    protected: frozenset[ProfileRole]
    place: str
    cites: Mapping[str, str] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)
    keeps_profiles_on_boot: bool = False
    tx_reported_after_boot: bool = False

    def cite(self, rule: str) -> str:
        return self.cites.get(rule, POLICY)


V16 = ProtocolRules(
    version=OcppVersion.V16,
    station_caps=frozenset({ProfileRole.STATION_MAX}),
    place_caps=frozenset(),
    protected=frozenset(),
    place="connectorId",
    cites={
        "periods_present": "OCPP 1.6 §7.13",  # chargingSchedulePeriod is 1..*
        "first_period_zero": "OCPP 1.6 §7.13",  # the first startPeriod SHALL be 0
        "one_decimal": "OCPP 1.6 §7.14",  # limit is a multipleOf 0.1 (schema)
        "min_rate_one_decimal": "OCPP 1.6 §7.13",
        "stack_level": "OCPP 1.6 §7.8",  # stackLevel >= 0
        "station_limits": "OCPP 1.6 §9.4",  # configuration keys bound what a charger takes
        "unit_allowed": "OCPP 1.6 §9.4",  # ChargingScheduleAllowedChargingRateUnit
        "place_exists": "OCPP 1.6 §3.8",  # connectors numbered from 1, 0 = the charge point
        "station_max_place": "OCPP 1.6 §3.13.1",  # ChargePointMaxProfile on connector 0
        "tx_place": "OCPP 1.6 §3.13.1",  # TxProfile on a connector > 0
        "tx_id_required": "OCPP 1.6 §5.16",
        "tx_id_only_tx": "OCPP 1.6 §7.8",  # transactionId only valid for a TxProfile
    },
    names={
        "max_stack_level": "ChargeProfileMaxStackLevel",
        "allowed_units": "ChargingScheduleAllowedChargingRateUnit",
        "max_periods": "ChargingScheduleMaxPeriods",
        "max_profiles": "MaxChargingProfilesInstalled",
        "places": "the station's NumberOfConnectors",
    },
)

V201 = ProtocolRules(
    version=OcppVersion.V201,
    station_caps=frozenset({ProfileRole.STATION_MAX, ProfileRole.EXTERNAL}),
    place_caps=frozenset({ProfileRole.EXTERNAL}),
    protected=frozenset({ProfileRole.EXTERNAL}),
    place="evseId",
    cites={
        "first_period_zero": "OCPP 2.0.1 Part 2 K01.FR.31",
        "periods_increase": "OCPP 2.0.1 Part 2 K01.FR.35",
        "unit_allowed": "OCPP 2.0.1 Part 2 K01.FR.26",
        "place_exists": "OCPP 2.0.1 Part 2 K01.FR.28",
        "tx_place": "OCPP 2.0.1 Part 2 K01.FR.16",
        "tx_id_required": "OCPP 2.0.1 Part 2 K01.FR.03",
        "tx_running": "OCPP 2.0.1 Part 2 K01.FR.09",
        "station_max_not_relative": "OCPP 2.0.1 Part 2 K01.FR.38",
        "start_schedule_required": "OCPP 2.0.1 Part 2 K01.FR.40",
        "start_schedule_forbidden": "OCPP 2.0.1 Part 2 K01.FR.41",
        "external_not_settable": "OCPP 2.0.1 Part 2 K01.FR.22",
        # phaseToUse: only with numberPhases = 1 (the datatype's description says so).
        "phase_to_use": "OCPP 2.0.1 Part 2 ChargingSchedulePeriodType",
        "same_stack": "OCPP 2.0.1 Part 2 K01.FR.06",
        "same_stack_tx": "OCPP 2.0.1 Part 2 K01.FR.39",
        "replace_by_id": "OCPP 2.0.1 Part 2 K01.FR.05",
        # The datatypes of OCPP 2.0.1 (and their JSON schemas) state these.
        "periods_present": "OCPP 2.0.1 Part 2 ChargingScheduleType",  # 1..1024 periods
        "schedules_count": "OCPP 2.0.1 Part 2 ChargingProfileType",  # 1..3 schedules
        "one_decimal": "OCPP 2.0.1 Part 2 ChargingSchedulePeriodType",  # one digit fraction
        "min_rate_one_decimal": "OCPP 2.0.1 Part 2 ChargingScheduleType",
        "stack_level": "OCPP 2.0.1 Part 2 ChargingProfileType",  # lowest level is 0
        "tx_id_only_tx": "OCPP 2.0.1 Part 2 ChargingProfileType",  # only for a TxProfile
        "phase_values": "OCPP 2.0.1 Part 2 ChargingSchedulePeriodType",  # phaseToUse 1..3
        # The variables of SmartChargingCtrlr bound what a station accepts.
        "station_limits": "OCPP 2.0.1 Part 2 SmartChargingCtrlr",
        # Profiles set with SetChargingProfile persist across reboots and power cycles.
        "kept_on_boot": "OCPP 2.0.1 Part 2 K01.FR.27",
        # A TxProfile names its transaction (K01.FR.03) and is rejected where no
        # transaction is active (K01.FR.09).
        "tx_running_after_boot": "OCPP 2.0.1 Part 2 K01.FR.03, K01.FR.09",
    },
    names={
        "max_stack_level": "SmartChargingCtrlr.ProfileStackLevel",
        "allowed_units": "SmartChargingCtrlr.RateUnit",
        "max_periods": "SmartChargingCtrlr.PeriodsPerSchedule",
        "max_profiles": "SmartChargingCtrlr.Entries",
        "places": "the station's EVSEs",
    },
    # K01.FR.27, and a 2.0.1 station can be asked what it holds (GetChargingProfiles):
    # the read-back finds what one lost, so a boot re-sends nothing on trust alone.
    keeps_profiles_on_boot=True,
    # A station rejects a TxProfile for an EVSE with no transaction active (K01.FR.09);
    # whether one still runs after a boot only the station's own TransactionEvents tell.
    tx_reported_after_boot=True,
)


def rules_of(version: OcppVersion) -> ProtocolRules:
    return V201 if version is OcppVersion.V201 else V16
