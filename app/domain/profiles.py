"""The OCPP 1.6 charging profile (§7.8) and its exact JSON form.

``ChargingProfile.from_ocpp`` reads the camelCase JSON of ``csChargingProfiles`` in
SetChargingProfile.req (§6.43) and reports every field it cannot read; it checks shapes and
types only. The rules of the specification are checked by :mod:`app.domain.validation`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from app.domain.protocol_rules import ProfileRole
from app.domain.violations import Violation


class ChargingProfilePurpose(StrEnum):
    """OCPP 1.6 §7.10 ChargingProfilePurposeType."""

    CHARGE_POINT_MAX_PROFILE = "ChargePointMaxProfile"
    TX_DEFAULT_PROFILE = "TxDefaultProfile"
    TX_PROFILE = "TxProfile"


class ChargingProfileKind(StrEnum):
    """OCPP 1.6 §7.9 ChargingProfileKindType."""

    ABSOLUTE = "Absolute"
    RECURRING = "Recurring"
    RELATIVE = "Relative"


class RecurrencyKind(StrEnum):
    """OCPP 1.6 RecurrencyKindType."""

    DAILY = "Daily"
    WEEKLY = "Weekly"


class ChargingRateUnit(StrEnum):
    """OCPP 1.6 §7.12 ChargingRateUnitType."""

    A = "A"
    W = "W"


class ProfileFormatError(ValueError):
    """The JSON is not a charging profile: a field is missing or of the wrong type."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        super().__init__("; ".join(str(v) for v in violations))


@dataclass(frozen=True)
class ChargingSchedulePeriod:
    """OCPP 1.6 §7.14: a limit from ``start_period`` seconds after the schedule start."""

    start_period: int
    limit: float
    number_phases: int | None = None

    def to_ocpp(self) -> dict[str, Any]:
        data: dict[str, Any] = {"startPeriod": self.start_period, "limit": render_limit(self.limit)}
        if self.number_phases is not None:
            data["numberPhases"] = self.number_phases
        return data


@dataclass(frozen=True)
class ChargingSchedule:
    """OCPP 1.6 §7.13 ChargingSchedule."""

    charging_rate_unit: ChargingRateUnit
    periods: tuple[ChargingSchedulePeriod, ...]
    duration: int | None = None
    start_schedule: datetime | None = None
    min_charging_rate: float | None = None

    def to_ocpp(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.duration is not None:
            data["duration"] = self.duration
        if self.start_schedule is not None:
            data["startSchedule"] = format_datetime(self.start_schedule)
        data["chargingRateUnit"] = self.charging_rate_unit.value
        data["chargingSchedulePeriod"] = [p.to_ocpp() for p in self.periods]
        if self.min_charging_rate is not None:
            data["minChargingRate"] = render_limit(self.min_charging_rate)
        return data


@dataclass(frozen=True)
class ChargingProfile:
    """OCPP 1.6 §7.8 ChargingProfile."""

    charging_profile_id: int
    stack_level: int
    purpose: ChargingProfilePurpose
    kind: ChargingProfileKind
    schedule: ChargingSchedule
    transaction_id: int | None = None
    recurrency_kind: RecurrencyKind | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    @property
    def role(self) -> ProfileRole:
        """The version-neutral meaning of the purpose."""
        return _ROLES[self.purpose]

    def with_id(self, charging_profile_id: int) -> ChargingProfile:
        """A copy carrying ``charging_profile_id`` (ids are allocated after parsing)."""
        return dataclasses.replace(self, charging_profile_id=charging_profile_id)

    def to_ocpp(self) -> dict[str, Any]:
        """The exact camelCase JSON, absent optional fields left out."""
        data: dict[str, Any] = {"chargingProfileId": self.charging_profile_id}
        if self.transaction_id is not None:
            data["transactionId"] = self.transaction_id
        data["stackLevel"] = self.stack_level
        data["chargingProfilePurpose"] = self.purpose.value
        data["chargingProfileKind"] = self.kind.value
        if self.recurrency_kind is not None:
            data["recurrencyKind"] = self.recurrency_kind.value
        if self.valid_from is not None:
            data["validFrom"] = format_datetime(self.valid_from)
        if self.valid_to is not None:
            data["validTo"] = format_datetime(self.valid_to)
        data["chargingSchedule"] = self.schedule.to_ocpp()
        return data

    @classmethod
    def from_ocpp(
        cls, data: Mapping[str, Any], *, default_id: int | None = None
    ) -> ChargingProfile:
        """Read the JSON of a charging profile.

        ``default_id`` stands in for an absent ``chargingProfileId`` (the server allocates
        ids after it has accepted a profile). Raises :class:`ProfileFormatError` listing
        every unreadable field.
        """
        reader = _Reader()
        profile = reader.profile(data, default_id)
        if reader.violations or profile is None:
            raise ProfileFormatError(reader.violations)
        return profile


_ROLES = {
    ChargingProfilePurpose.CHARGE_POINT_MAX_PROFILE: ProfileRole.STATION_MAX,
    ChargingProfilePurpose.TX_DEFAULT_PROFILE: ProfileRole.TX_DEFAULT,
    ChargingProfilePurpose.TX_PROFILE: ProfileRole.TX,
}


def format_datetime(value: datetime) -> str:
    """``2026-03-29T01:00:00Z``; fractions only when present (milliseconds when enough)."""
    value = ensure_utc(value)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond % 1000 == 0 and value.microsecond:
        text += f".{value.microsecond // 1000:03d}"
    elif value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


def parse_datetime(text: str) -> datetime:
    """Read an ISO 8601 instant; a naive one is taken as UTC. Raises ValueError."""
    value = datetime.fromisoformat(text.strip())
    return ensure_utc(value)


def ensure_utc(value: datetime) -> datetime:
    """The same instant as an aware UTC datetime; a naive value is read as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def render_limit(value: float) -> float:
    """A limit as OCPP carries it: at most one decimal (schema ``multipleOf 0.1``), rounded
    down so a converted limit never exceeds what was asked (20,000 W on 3 x 230 V is
    28.9 A, not 29.0). The small allowance keeps 28.999999... (float error) at 29.0."""
    floored = math.floor(value * 10 + 1e-6) / 10
    return floored + 0.0  # turns -0.0 into 0.0


_E = TypeVar("_E", bound=StrEnum)

_PROFILE_FIELDS = frozenset(
    {
        "chargingProfileId",
        "transactionId",
        "stackLevel",
        "chargingProfilePurpose",
        "chargingProfileKind",
        "recurrencyKind",
        "validFrom",
        "validTo",
        "chargingSchedule",
    }
)
_SCHEDULE_FIELDS = frozenset(
    {"duration", "startSchedule", "chargingRateUnit", "chargingSchedulePeriod", "minChargingRate"}
)
_PERIOD_FIELDS = frozenset({"startPeriod", "limit", "numberPhases"})


class FieldReader:
    """Reads JSON field by field, collecting a violation for each unreadable one."""

    # OCPP 1.6 §7.8 to §7.14 give the fields and their types (schema SetChargingProfile).
    reference = "OCPP 1.6 §7.8"

    def __init__(self) -> None:
        self.violations: list[Violation] = []

    def fail(self, path: str, rule: str) -> None:
        self.violations.append(Violation(path, rule, self.reference))

    def unknown_fields(self, data: Mapping[str, Any], known: frozenset[str], prefix: str) -> None:
        # The OCPP JSON schemas set additionalProperties to false.
        for key in data:
            if key not in known:
                self.fail(f"{prefix}{key}", "is not a field of this object")

    def integer(
        self, data: Mapping[str, Any], key: str, prefix: str, *, required: bool
    ) -> int | None:
        value = data.get(key)
        if value is None:
            if required:
                self.fail(prefix + key, "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(prefix + key, "must be an integer")
            return None
        if isinstance(value, float):
            if not value.is_integer():
                self.fail(prefix + key, "must be an integer")
                return None
            return int(value)
        return value

    def number(
        self, data: Mapping[str, Any], key: str, prefix: str, *, required: bool
    ) -> float | None:
        value = data.get(key)
        if value is None:
            if required:
                self.fail(prefix + key, "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(prefix + key, "must be a number")
            return None
        if not math.isfinite(value):
            self.fail(prefix + key, "must be a finite number")
            return None
        return float(value)

    def enum(
        self,
        data: Mapping[str, Any],
        key: str,
        prefix: str,
        enum_type: type[_E],
        *,
        required: bool = True,
    ) -> _E | None:
        value = data.get(key)
        if value is None:
            if required:
                self.fail(prefix + key, "is required")
            return None
        try:
            return enum_type(value)
        except ValueError:
            allowed = ", ".join(str(member) for member in enum_type)
            self.fail(prefix + key, f"must be one of {allowed}")
            return None

    def instant(self, data: Mapping[str, Any], key: str, prefix: str) -> datetime | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(prefix + key, "must be an ISO 8601 date-time string")
            return None
        try:
            return parse_datetime(value)
        except ValueError:
            self.fail(prefix + key, "must be an ISO 8601 date-time string")
            return None


class _Reader(FieldReader):
    """Reads the JSON of an OCPP 1.6 charging profile."""

    def profile(self, data: Mapping[str, Any], default_id: int | None) -> ChargingProfile | None:
        if not isinstance(data, Mapping):
            self.fail("", "must be a JSON object")
            return None
        self.unknown_fields(data, _PROFILE_FIELDS, "")
        profile_id = self.integer(data, "chargingProfileId", "", required=default_id is None)
        stack_level = self.integer(data, "stackLevel", "", required=True)
        purpose = self.enum(data, "chargingProfilePurpose", "", ChargingProfilePurpose)
        kind = self.enum(data, "chargingProfileKind", "", ChargingProfileKind)
        transaction_id = self.integer(data, "transactionId", "", required=False)
        recurrency = self.enum(data, "recurrencyKind", "", RecurrencyKind, required=False)
        valid_from = self.instant(data, "validFrom", "")
        valid_to = self.instant(data, "validTo", "")
        schedule = self.schedule(data)
        if profile_id is None:
            profile_id = default_id
        if (
            profile_id is None
            or stack_level is None
            or purpose is None
            or kind is None
            or schedule is None
        ):
            return None
        return ChargingProfile(
            charging_profile_id=profile_id,
            stack_level=stack_level,
            purpose=purpose,
            kind=kind,
            schedule=schedule,
            transaction_id=transaction_id,
            recurrency_kind=recurrency,
            valid_from=valid_from,
            valid_to=valid_to,
        )

    def schedule(self, data: Mapping[str, Any]) -> ChargingSchedule | None:
        raw = data.get("chargingSchedule")
        if raw is None:
            self.fail("chargingSchedule", "is required")
            return None
        if not isinstance(raw, Mapping):
            self.fail("chargingSchedule", "must be a JSON object")
            return None
        prefix = "chargingSchedule."
        self.unknown_fields(raw, _SCHEDULE_FIELDS, prefix)
        unit = self.enum(raw, "chargingRateUnit", prefix, ChargingRateUnit)
        duration = self.integer(raw, "duration", prefix, required=False)
        start = self.instant(raw, "startSchedule", prefix)
        min_rate = self.number(raw, "minChargingRate", prefix, required=False)
        periods = self.periods(raw.get("chargingSchedulePeriod"))
        if unit is None or periods is None:
            return None
        return ChargingSchedule(
            charging_rate_unit=unit,
            periods=periods,
            duration=duration,
            start_schedule=start,
            min_charging_rate=min_rate,
        )

    def periods(self, raw: Any) -> tuple[ChargingSchedulePeriod, ...] | None:
        path = "chargingSchedule.chargingSchedulePeriod"
        if raw is None:
            self.fail(path, "is required")
            return None
        if not isinstance(raw, list):
            self.fail(path, "must be a JSON array")
            return None
        periods: list[ChargingSchedulePeriod] = []
        for index, item in enumerate(raw):
            prefix = f"{path}[{index}]."
            if not isinstance(item, Mapping):
                self.fail(f"{path}[{index}]", "must be a JSON object")
                continue
            self.unknown_fields(item, _PERIOD_FIELDS, prefix)
            start = self.integer(item, "startPeriod", prefix, required=True)
            limit = self.number(item, "limit", prefix, required=True)
            phases = self.integer(item, "numberPhases", prefix, required=False)
            if start is not None and limit is not None:
                periods.append(ChargingSchedulePeriod(start, limit, phases))
        return tuple(periods)
