"""Request and response bodies of the smart-charging endpoints.

Profiles travel as OCPP 1.6 ChargingProfile JSON (camelCase, as in SetChargingProfile.req
csChargingProfiles), and ``POST /stations/{id}/charging_profile`` also takes the OCPP
2.0.1 ChargingProfileType (as in SetChargingProfileRequest chargingProfile); the pure core
parses and validates them, so they are typed here as JSON objects and documented with the
OCPP schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from app.db.models import DesiredProfile
from app.domain.ownership import OwnerKind, natural_id
from app.domain.states import DeliveryState, DeliveryStatus
from app.json_types import JsonObject

Status = Annotated[DeliveryStatus, Meta(
    description="success: the station accepted; rejected: it answered Rejected; error: "
    "CALLERROR, timeout or invalid answer; pending: the station is offline, the request is "
    "stored and carried out when it reconnects")]
OcppProfile = Annotated[JsonObject, Meta(
    description="OCPP 1.6 ChargingProfile in camelCase (chargingProfileId, stackLevel, "
    "chargingProfilePurpose, chargingProfileKind, recurrencyKind, validFrom, validTo, "
    "transactionId, chargingSchedule{duration, startSchedule, chargingRateUnit, "
    "chargingSchedulePeriod[{startPeriod, limit, numberPhases}], minChargingRate})")]
OcppProfile201 = Annotated[JsonObject, Meta(
    description="With evse_id, instead of connector_id and profile: an OCPP 2.0.1 "
    "ChargingProfileType in camelCase (id, stackLevel, "
    "chargingProfilePurpose ChargingStationMaxProfile, TxDefaultProfile or TxProfile, "
    "chargingProfileKind, recurrencyKind, validFrom, validTo, transactionId: the "
    "station's own id of the transaction (a 1.6 station's: its integer id in decimal), "
    "chargingSchedule: one [{id, startSchedule, duration, chargingRateUnit, "
    "chargingSchedulePeriod[{startPeriod, limit, numberPhases}], minChargingRate}]). "
    "Kept in its OCPP 1.6 form, so refused (400) with ChargingStationExternalConstraints, "
    "more than one schedule, salesTariff or phaseToUse, which that form cannot keep")]
# OCPP-J leaves integer sizes open; chargers hold them in 32 bits, and so do the columns
# they are stored in. Profile numbers beyond this are refused as 400, not overflowed.
MAX_INT32 = 2**31 - 1
ConnectorId = Annotated[int, Meta(ge=0, le=MAX_INT32, description="0 = the whole charge point")]
Quantity = Annotated[float, Meta(le=MAX_INT32)]
Int32 = Annotated[int, Meta(le=MAX_INT32)]
Unit = Literal["A", "W"]
UnitField = Annotated[Unit, Meta(description="chargingRateUnit of the composite: A or W")]
StationId = Annotated[str, Meta(description="Charge point identity")]
Message = Annotated[str, Meta(description="What happened, for a person")]
Error = Annotated[str | None, Meta(description="The station's reason or the failure")]
ProfileId = Annotated[int, Meta(description="chargingProfileId")]
Purpose = Annotated[str, Meta(
    description="chargingProfilePurpose: ChargePointMaxProfile, TxDefaultProfile or TxProfile")]
StackLevel = Annotated[int, Meta(description="stackLevel: higher wins (OCPP 1.6 §3.13.2)")]
Composite = Annotated[JsonObject, Meta(
    description="A composite schedule in GetCompositeSchedule.conf shape (status, connectorId, "
    "scheduleStart, chargingSchedule)")]
# Past a month a composite says nothing useful, and a window that ends after the year 9999
# cannot be represented.
MAX_DURATION_S = 31 * 86400
Duration = Annotated[int, Meta(gt=0, le=MAX_DURATION_S, description="Seconds, at most 31 days")]


EvseId = Annotated[int, Meta(ge=0, le=MAX_INT32, description=(
    "With charging_profile: the EVSE (0 = the whole station); on a 1.6 station, the "
    "connector"))]


class ProfileRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One of two forms: ``connector_id`` with ``profile`` (OCPP 1.6), or ``evse_id``
    with ``charging_profile`` (OCPP 2.0.1); either form for a station of either version."""

    connector_id: ConnectorId | UnsetType = UNSET
    profile: OcppProfile | UnsetType = UNSET
    evse_id: EvseId | UnsetType = UNSET
    charging_profile: OcppProfile201 | UnsetType = UNSET


class ProfileResponse(msgspec.Struct, kw_only=True):
    status: Status
    station_id: StationId
    message: Message
    error: Error = None
    profile_id: Annotated[int, Meta(description="chargingProfileId (allocated when omitted)")]
    connector_id: Annotated[int, Meta(description="The connector the profile is for (the "
                                      "same number as evse_id)")]
    warnings: Annotated[list[str], Meta(
        description="Capabilities the station never reported, so not checked")] = []
    evse_id: Annotated[int | UnsetType, Meta(
        description="The EVSE the profile is for, the same number as connector_id; only "
        "when the request used the OCPP 2.0.1 form")] = UNSET


class ScenarioRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    scenario: Annotated[str, Meta(description="peak_shaving | time_of_use | energy_cap")]
    connector_id: ConnectorId = 0
    max_power_w: Annotated[Quantity | None, Meta(
        description="peak_shaving: station cap")] = None
    off_peak_w: Annotated[Quantity | None, Meta(
        description="time_of_use: limit off peak")] = None
    peak_w: Annotated[Quantity | None, Meta(
        description="time_of_use: limit in the peak")] = None
    peak_start_hour: Annotated[Int32 | None, Meta(
        description="time_of_use: 0..23, local")] = None
    peak_end_hour: Annotated[Int32 | None, Meta(
        description="time_of_use: 0..23, local")] = None
    timezone: Annotated[str | None, Meta(description="time_of_use: IANA zone, default UTC")] = None
    transaction_id: Annotated[Int32 | None, Meta(
        description="energy_cap: running transaction")] = None
    max_energy_wh: Annotated[Quantity | None, Meta(
        description="energy_cap: energy budget")] = None
    duration_seconds: Annotated[Int32 | None, Meta(
        description="energy_cap: schedule length")] = None
    power_limit_w: Annotated[Quantity | None, Meta(
        description="energy_cap: power until the budget is used")] = None


class ScenarioResponse(ProfileResponse, kw_only=True):
    scenario: Annotated[str, Meta(description="The scenario that generated the profile")]
    profile: OcppProfile


class CompositeResponse(msgspec.Struct, kw_only=True):
    status: Status
    station_id: StationId
    message: Message
    error: Error = None
    schedule: Annotated[JsonObject | None, Meta(
        description="GetCompositeSchedule.conf exactly as the station sent it")]
    expected: Annotated[JsonObject, Meta(
        description="The composite the server computes from what the station should hold, "
        "in the same shape")]
    matches: Annotated[bool | None, Meta(
        description="Same limits within 0.1 at every instant of the window; null when the "
        "station did not report")]


class ClearedProfile(msgspec.Struct, kw_only=True):
    profile_id: ProfileId
    connector_id: Annotated[int, Meta(description="The connector the profile was for")]
    purpose: Purpose
    stack_level: StackLevel


class ClearResponse(msgspec.Struct, kw_only=True):
    status: Status
    station_id: StationId
    message: Message
    error: Error = None
    filters: Annotated[JsonObject, Meta(description="The filters applied (AND)")]
    cleared: Annotated[list[ClearedProfile], Meta(
        description="Desired profiles removed, so they are not pushed again")]


class DesiredProfileView(msgspec.Struct, kw_only=True):
    desired_id: Annotated[int, Meta(description="Row id; audit_log.desired_profile_id")]
    profile_id: ProfileId
    connector_id: Annotated[int, Meta(description="The connector the profile is for")]
    purpose: Purpose
    stack_level: StackLevel
    owner_kind: Annotated[OwnerKind, Meta(description="What made the profile")]
    owner_id: Annotated[int | str | None, Meta(
        description="The owner's id in its own type: the integer id of the owning plan, "
        "tariff or pending remote start, the id (a string) of the owning circuit; null "
        "for a single request")] = None
    state: Annotated[DeliveryState, Meta(
        description="pending: not acknowledged yet; accepted; rejected: final until the "
        "profile changes; error: failed, retried with backoff; failed: still failing after "
        "the last attempt, retried when the station reconnects")]
    attempts: Annotated[int, Meta(description="SetChargingProfile calls made so far")]
    last_answer: Annotated[JsonObject | None, Meta(
        description="The station's last SetChargingProfile.conf; null before any answer")]
    last_error: Annotated[str | None, Meta(description="Why the last attempt failed, if it did")]
    last_attempt_at: Annotated[datetime | None, Meta(
        description="When it was last sent (ISO 8601, UTC); null if never")]
    updated_at: Annotated[datetime, Meta(description="When the row last changed (UTC)")]
    profile: OcppProfile
    charging_profile: Annotated[JsonObject | None, Meta(
        description="For a station that speaks OCPP 2.0.1: the ChargingProfileType it is "
        "sent as (converted from profile; an Absolute profile without startSchedule "
        "starts when it was last sent, or now). null for a 1.6 station, and for a "
        "profile with no 2.0.1 form (last_error says why)")] = None


class PreviewItem(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    connector_id: ConnectorId
    profile: OcppProfile


class PreviewRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    profiles: Annotated[list[PreviewItem], Meta(
        description="Profiles to add to the desired set for this preview only")]
    connector_id: ConnectorId
    duration: Duration
    charging_rate_unit: UnitField = "W"
    start: Annotated[datetime | None, Meta(
        description="Start of the window, ISO 8601; without offset it is read as UTC. "
        "Default: now")] = None


class PreviewResponse(msgspec.Struct, kw_only=True):
    station_id: StationId
    composite: Composite


def desired_view(row: DesiredProfile, charging_profile: JsonObject | None = None
                 ) -> DesiredProfileView:
    return DesiredProfileView(
        desired_id=row.id, profile_id=row.charging_profile_id, connector_id=row.connector_id,
        purpose=row.purpose,
        stack_level=row.stack_level, owner_kind=row.owner_kind,
        owner_id=natural_id(row.owner_kind, row.owner_id),
        state=row.state,
        attempts=row.attempts, last_answer=row.last_answer, last_error=row.last_error,
        last_attempt_at=row.last_attempt_at, updated_at=row.updated_at, profile=row.profile,
        charging_profile=charging_profile)
