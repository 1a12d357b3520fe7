"""Request and response bodies of /plans and /tariffs; ORM rows are converted here."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from app.api.smart_charging_schemas import OcppProfile
from app.db.fleet_models import Plan, Tariff
from app.domain.states import VerificationState
from app.json_types import JsonObject
from app.services.schedules.plans import (
    Materialised,
    PlanSpec,
    StationPreview,
    StationProblem,
    StationStatus,
    Targets,
    TargetState,
)
from app.services.schedules.tariffs import PriceRuleSpec, TariffSpec, WindowSpec

ConnectorId = Annotated[int, Meta(ge=0, description="0 = the whole charge point (default)")]
Name = Annotated[str, Meta(min_length=1, max_length=100, description="A label for people")]
Day = Literal["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
Limit = Annotated[float, Meta(ge=0, description="In the tariff's unit; at most one decimal")]


class TargetsBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Which stations: by id, by tag, or both (at least one entry in all)."""

    station_ids: Annotated[list[str], Meta(
        description="Charge point identities; one that is not registered is reported, "
        "not fatal")] = []
    tags: Annotated[list[str], Meta(
        description="Every station carrying any of these tags (set with PATCH /stations)")] = []

    def to_service(self) -> Targets:
        return Targets.from_json({"station_ids": self.station_ids, "tags": self.tags})


def targets_body(data: JsonObject) -> TargetsBody:
    return TargetsBody(station_ids=list(data.get("station_ids") or []),
                       tags=list(data.get("tags") or []))


class Problem(msgspec.Struct, kw_only=True):
    """Why one station did not (or would not) get the profile."""

    station_id: Annotated[str, Meta(description="The station concerned")]
    key: Annotated[str, Meta(description="The field at fault, e.g. "
                             "profile.chargingSchedule.chargingSchedulePeriod")]
    message: Annotated[str, Meta(description="The rule broken, for a person")]


def problems(items: list[StationProblem]) -> list[Problem]:
    return [Problem(station_id=p.station_id, key=p.field, message=p.message) for p in items]


class Applied(msgspec.Struct, kw_only=True):
    """What the last change materialised as desired state."""

    stations: Annotated[list[str], Meta(
        description="Stations holding the profile as desired state; the reconcile job "
        "delivers it")]
    removed_from: Annotated[list[str], Meta(
        description="Stations whose profile from this plan or tariff was removed; the "
        "reconcile job clears it")]
    problems: Annotated[list[Problem], Meta(description="Per-station problems")]


def applied(outcome: Materialised) -> Applied:
    return Applied(stations=outcome.stations, removed_from=outcome.removed_from,
                   problems=problems(outcome.problems))


# --- plans ----------------------------------------------------------------------------
class PlanBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    targets: Annotated[TargetsBody, Meta(description="The stations the plan applies to")]
    connector_id: ConnectorId = 0
    profile: Annotated[JsonObject, Meta(
        description="OCPP 1.6 ChargingProfile in camelCase *without* chargingProfileId "
        "(each station's id is allocated by the database): stackLevel, "
        "chargingProfilePurpose, chargingProfileKind, recurrencyKind, validFrom, validTo, "
        "chargingSchedule")]
    enabled: Annotated[bool, Meta(description="A disabled plan is removed from every "
                                  "station")] = True

    def to_service(self) -> PlanSpec:
        return PlanSpec(name=self.name, targets=self.targets.to_service(),
                        profile=self.profile, connector_id=self.connector_id,
                        enabled=self.enabled)


class PlanView(msgspec.Struct, kw_only=True):
    id: Annotated[int, Meta(description="The plan's id")]
    name: Name
    targets: TargetsBody
    connector_id: ConnectorId
    profile: Annotated[JsonObject, Meta(description="The profile, without "
                                            "chargingProfileId")]
    enabled: Annotated[bool, Meta(description="Whether the plan is applied")]
    created_at: Annotated[datetime, Meta(description="ISO 8601, UTC")]
    updated_at: Annotated[datetime, Meta(description="ISO 8601, UTC")]
    applied: Annotated[Applied | None, Meta(
        description="What this request materialised (on create and replace only)")] = None


def plan_view(plan: Plan, outcome: Materialised | None = None) -> PlanView:
    return PlanView(id=plan.id, name=plan.name, targets=targets_body(plan.targets),
                    connector_id=plan.connector_id, profile=plan.profile, enabled=plan.enabled,
                    created_at=plan.created_at, updated_at=plan.updated_at,
                    applied=applied(outcome) if outcome is not None else None)


class StationPreviewView(msgspec.Struct, kw_only=True):
    station_id: Annotated[str, Meta(description="A target station")]
    composite: Annotated[JsonObject | None, Meta(
        description="GetCompositeSchedule.conf shape: the next 24 h in W with this plan "
        "added to the station's desired profiles; null when it cannot take the profile")]
    problems: Annotated[list[Problem], Meta(description="Why the station cannot take it")]


class PlanPreview(msgspec.Struct, kw_only=True):
    stations: Annotated[list[StationPreviewView], Meta(description="One per target station")]
    problems: Annotated[list[Problem], Meta(
        description="Targets that are not registered stations")]


def plan_preview(items: list[StationPreview], unknown: list[StationProblem]) -> PlanPreview:
    return PlanPreview(
        stations=[StationPreviewView(station_id=i.station_id, composite=i.composite,
                                     problems=problems(i.problems)) for i in items],
        problems=problems(unknown))


class StationStatusView(msgspec.Struct, kw_only=True):
    station_id: Annotated[str, Meta(description="A target station")]
    profile_id: Annotated[int | None, Meta(description="chargingProfileId on this station")]
    state: Annotated[TargetState, Meta(description="Delivery state; missing: targeted but "
                                          "the station cannot take the profile")]
    attempts: Annotated[int, Meta(description="SetChargingProfile attempts")]
    last_error: Annotated[str | None, Meta(description="The last failure, if any")]
    last_attempt_at: Annotated[datetime | None, Meta(description="ISO 8601, UTC")]
    verification_state: Annotated[VerificationState | None, Meta(
        description="The station's last verification; null if never")]
    last_verified_at: Annotated[datetime | None, Meta(description="ISO 8601, UTC")]


def status_views(items: list[StationStatus]) -> list[StationStatusView]:
    return [StationStatusView(
        station_id=i.station_id, profile_id=i.profile_id,
        state=i.state,
        attempts=i.attempts, last_error=i.last_error, last_attempt_at=i.last_attempt_at,
        verification_state=i.verification_state, last_verified_at=i.last_verified_at)
        for i in items]


class PlanStatus(msgspec.Struct, kw_only=True):
    plan_id: Annotated[int, Meta(description="The plan")]
    stations: Annotated[list[StationStatusView], Meta(description="One per station")]


class TariffStatus(msgspec.Struct, kw_only=True):
    tariff_id: Annotated[int, Meta(description="The tariff")]
    stations: Annotated[list[StationStatusView], Meta(description="One per station")]


# --- tariffs --------------------------------------------------------------------------
class WindowBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    days: Annotated[list[Day], Meta(min_length=1, description="Local weekdays, Mon..Sun")]
    start: Annotated[str, Meta(description="Local HH:MM")]
    end: Annotated[str, Meta(description="Local HH:MM; at or before start = the next day")]
    limit: Limit


class PriceRuleBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    cheapest_hours: Annotated[int, Meta(ge=0, le=25, description="How many cheap hours a "
                                        "priced day gets")]
    cheap_limit: Annotated[float, Meta(ge=0, description="Limit in the cheapest hours")]
    other_limit: Annotated[float, Meta(ge=0, description="Limit in every other hour")]


class TariffBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    timezone: Annotated[str, Meta(description="IANA time zone, e.g. Europe/Berlin")]
    unit: Annotated[Literal["W", "A"], Meta(description="Unit of every limit")] = "W"
    windows: Annotated[list[WindowBody], Meta(description="Weekly local windows")] = []
    default_limit: Limit
    price_rule: Annotated[PriceRuleBody | None, Meta(
        description="Applied on local dates that have prices; replaces the windows there")
    ] = None
    targets: Annotated[TargetsBody, Meta(description="The stations the tariff applies to")]
    connector_id: ConnectorId = 0
    stack_level: Annotated[int, Meta(ge=0, description="stackLevel of the "
                                     "TxDefaultProfile")] = 0
    enabled: Annotated[bool, Meta(description="A disabled tariff is removed from every "
                                  "station")] = True

    def to_service(self) -> TariffSpec:
        rule = None if self.price_rule is None else PriceRuleSpec(
            self.price_rule.cheapest_hours, self.price_rule.cheap_limit,
            self.price_rule.other_limit)
        return TariffSpec(
            name=self.name, timezone=self.timezone,
            windows=[WindowSpec(w.days, w.start, w.end, w.limit) for w in self.windows],
            default_limit=self.default_limit, targets=self.targets.to_service(),
            unit=self.unit, price_rule=rule, connector_id=self.connector_id,
            stack_level=self.stack_level, enabled=self.enabled)


class TariffView(msgspec.Struct, kw_only=True):
    id: Annotated[int, Meta(description="The tariff's id")]
    name: Name
    timezone: Annotated[str, Meta(description="IANA time zone")]
    unit: Annotated[str, Meta(description="W or A")]
    windows: Annotated[list[JsonObject], Meta(description="Weekly local windows")]
    default_limit: Annotated[float, Meta(description="Limit outside the windows")]
    price_rule: Annotated[JsonObject | None, Meta(description="The price rule, if any")]
    targets: TargetsBody
    connector_id: ConnectorId
    stack_level: Annotated[int, Meta(description="stackLevel of the TxDefaultProfile")]
    enabled: Annotated[bool, Meta(description="Whether the tariff is applied")]
    created_at: Annotated[datetime, Meta(description="ISO 8601, UTC")]
    updated_at: Annotated[datetime, Meta(description="ISO 8601, UTC")]
    applied: Annotated[Applied | None, Meta(
        description="What this request materialised (on create, replace, prices)")] = None


def tariff_view(tariff: Tariff, outcome: Materialised | None = None) -> TariffView:
    return TariffView(
        id=tariff.id, name=tariff.name, timezone=tariff.timezone, unit=tariff.unit,
        windows=tariff.windows, default_limit=tariff.default_limit,
        price_rule=tariff.price_rule, targets=targets_body(tariff.targets),
        connector_id=tariff.connector_id, stack_level=tariff.stack_level,
        enabled=tariff.enabled, created_at=tariff.created_at, updated_at=tariff.updated_at,
        applied=applied(outcome) if outcome is not None else None)


class PricesBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    date: Annotated[str, Meta(description="Local date YYYY-MM-DD in the tariff's zone")]
    prices: Annotated[list[float], Meta(
        description="Hourly prices from local midnight: 24, or 23 / 25 on a daylight-saving "
        "day")]


class TariffPreview(msgspec.Struct, kw_only=True):
    tariff_id: Annotated[int, Meta(description="The tariff")]
    date: Annotated[str, Meta(description="The local date the profile starts")]
    profile: OcppProfile


class TariffDraftPreview(msgspec.Struct, kw_only=True):
    """What an unsaved tariff would do: its profile, and each target's next 24 h."""

    date: Annotated[str, Meta(description="The local date the profile starts")]
    profile: OcppProfile
    stations: Annotated[list[StationPreviewView], Meta(
        description="One per target station: the composite for the next 24 h in W with the "
        "tariff's profile in place of any it holds at the same stackLevel and purpose")]
    problems: Annotated[list[Problem], Meta(
        description="Targets that are not registered stations")]
