"""REST request and response bodies; ORM rows are converted here and nowhere else.

Datetimes go out as ISO 8601 in UTC. A ``None`` in a capability means "the station
never reported it" (unknown), which is not the same as "not supported".
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from app.db.models import AuditFrame, Connector, IdTag, Station, Transaction
from app.domain.composite import Convention
from app.domain.protocol_rules import OcppVersion
from app.domain.station_time import TimeFlag
from app.json_types import JsonObject
from app.services.errors import Invalid
from app.services.fleet.stations import capabilities

Direction = Literal["in", "out"]
MessageType = Literal["CALL", "CALLRESULT", "CALLERROR", "INVALID"]
IdTagStatus = Literal["Accepted", "Blocked", "Expired", "Invalid"]

StationId = Annotated[str, Meta(description=(
    "Charge point identity (the websocket path segment): 1 to 48 characters from "
    "A-Z a-z 0-9 - . _ ~, and not '.', '..' or 'ocpp'"))]
Password = Annotated[
    str,
    Meta(description="OCPP security profile 1 AuthorizationKey, 16 to 20 bytes; stored hashed"),
]
Tag = Annotated[str, Meta(min_length=1, max_length=64)]
Tags = Annotated[list[Tag], Meta(description="Free labels used to group stations")]
Timestamp = Annotated[datetime, Meta(description="ISO 8601, UTC")]
MaxPower = Annotated[float, Meta(
    gt=0, description="The station's rated power in W: the limit a composite schedule shows "
    "where no profile applies (unknown = the OCPP default of 48 A per phase)")] | None
CircuitRef = Annotated[str, Meta(
    description="The circuit (POST /circuits) the station hangs from; null = not load-managed")]
PhaseRotation = Annotated[
    Literal["RST", "RTS", "SRT", "STR", "TRS", "TSR"],
    Meta(description="How the station's L1, L2, L3 are wired to the grid's R (L1), S (L2), "
         "T (L3); RST = straight")]
StationMaxCurrent = Annotated[float, Meta(
    gt=0, description="The most current per phase its connectors can give, in A; null = the "
    "server's session_max_current_a")] | None
OptionalTimestamp = Annotated[datetime | None, Meta(description="ISO 8601, UTC; null if never")]


# --- stations -----------------------------------------------------------------------
class ConnectorView(msgspec.Struct, kw_only=True):
    """The last StatusNotification of one connector (OCPP 1.6 §4.9); 0 is the whole station."""

    connector_id: Annotated[int, Meta(description="0 = the charge point itself")]
    status: Annotated[str, Meta(description="OCPP 1.6 ChargePointStatus, e.g. Available")]
    error_code: Annotated[str, Meta(description="OCPP 1.6 ChargePointErrorCode, e.g. NoError")]
    info: Annotated[str | None, Meta(description="Free text the station sent, if any")]
    vendor_error_code: Annotated[str | None, Meta(description="Vendor-specific error code")]
    status_timestamp: Annotated[
        datetime | None, Meta(description=(
            "The station's time of the status (ISO 8601, UTC), which orders its statuses; "
            "null when it sent none or one more than CHARGEPLAN_STATION_CLOCK_SKEW_S in "
            "the future: such a status is ordered by receipt (updated_at)"))
    ]
    updated_at: Annotated[datetime, Meta(description="When the server stored the status")]


class CapabilitiesView(msgspec.Struct, kw_only=True):
    """Smart-charging limits read with GetConfiguration (OCPP 1.6 §9.4); null = unknown."""

    supported_feature_profiles: Annotated[
        list[str] | None, Meta(description="SupportedFeatureProfiles; null if never reported")
    ]
    charge_profile_max_stack_level: Annotated[
        int | None, Meta(description="ChargeProfileMaxStackLevel; null if never reported")
    ]
    charging_schedule_allowed_charging_rate_unit: Annotated[
        list[str] | None,
        Meta(description="ChargingScheduleAllowedChargingRateUnit (A, W); null if never reported"),
    ]
    charging_schedule_max_periods: Annotated[
        int | None, Meta(description="ChargingScheduleMaxPeriods; null if never reported")
    ]
    max_charging_profiles_installed: Annotated[
        int | None, Meta(description="MaxChargingProfilesInstalled; null if never reported")
    ]
    number_of_connectors: Annotated[
        int | None, Meta(description="NumberOfConnectors; null if never reported")
    ]
    smart_charging: Annotated[
        bool | None,
        Meta(description="SmartCharging is among the feature profiles; null if never reported"),
    ]


class ConfigurationEntry(msgspec.Struct, kw_only=True):
    value: Annotated[str | None, Meta(description="The value as the station reported it")]
    readonly: Annotated[bool | None, Meta(description="The station does not allow changing it")]


class StationView(msgspec.Struct, kw_only=True):
    """A registered charge point as the server knows it. The password hash is never shown."""

    station_id: StationId
    online: Annotated[bool, Meta(description="A websocket to the station is open")]
    last_seen: Annotated[datetime | None, Meta(description="Last frame from the station")]
    connected_at: Annotated[datetime | None, Meta(description="When the last socket opened")]
    last_boot_at: Annotated[datetime | None, Meta(description="Last BootNotification")]
    node_id: Annotated[str | None, Meta(description="Server process that holds the socket")]
    vendor: Annotated[str | None, Meta(description="BootNotification chargePointVendor")]
    model: Annotated[str | None, Meta(description="BootNotification chargePointModel")]
    serial_number: Annotated[str | None, Meta(description="chargePointSerialNumber")]
    charge_box_serial_number: Annotated[str | None, Meta(description="chargeBoxSerialNumber")]
    firmware_version: Annotated[str | None, Meta(description="BootNotification firmwareVersion")]
    firmware_status: Annotated[str | None, Meta(description="Last FirmwareStatusNotification")]
    diagnostics_status: Annotated[
        str | None, Meta(description="Last DiagnosticsStatusNotification")
    ]
    has_password: Annotated[bool, Meta(description="HTTP Basic authentication is required")]
    security_profile: Annotated[int, Meta(
        description="OCPP security profile: 0 none, 1 HTTP Basic, 2 TLS + Basic, 3 TLS with a "
        "client certificate; connections below it are refused")]
    password_rotation_pending: Annotated[bool, Meta(
        description="A new password was sent; the old one works until the station uses it")]
    hold: Annotated[HoldView | None, Meta(
        description="An operator's hold: BootNotification is answered Pending, the "
        "station's other requests refused and profiles kept back until it is released; "
        "null when not held")]
    tags: Tags
    max_power_w: MaxPower
    circuit_id: CircuitRef | None
    phase_rotation: PhaseRotation
    max_current_a: StationMaxCurrent
    connectors: Annotated[list[ConnectorView], Meta(description="Connectors by connector_id")]
    capabilities: CapabilitiesView
    configuration: Annotated[
        dict[str, ConfigurationEntry] | None,
        Meta(description="Keys read with GetConfiguration; null if never read"),
    ]
    configuration_read_at: Annotated[
        datetime | None, Meta(description="When the configuration was read")
    ]
    clock_offset_s: Annotated[float | None, Meta(description=(
        "The station's clock minus the server's, seconds: the largest (timestamp - receive "
        "time) of its StatusNotification, MeterValues, StartTransaction and StopTransaction "
        "in the last one to two hours since its boot (delays only lower a sample); null "
        "before it sent any"))]
    clock_offset_measured_at: Annotated[
        datetime | None, Meta(description="When clock_offset_s was last updated")]
    managed: Annotated[bool, Meta(
        description="false: chargeplan sends the station nothing on its own (no after-boot "
        "configuration read, reconcile or verify, no repairs, no plan, tariff or circuit "
        "deliveries); calls asked for over REST still go")]
    composite_convention: Annotated[Convention | None, Meta(
        description="How the station answers GetCompositeSchedule where OCPP 1.6 is silent, "
        "as its last verified answer showed (tried first next time); null until learned")]
    unconstrained: Annotated[UnconstrainedView | None, Meta(
        description="What the station reports where no profile bounds it; null until seen")]
    ocpp_version: Annotated[OcppVersion, Meta(
        description="The OCPP version the station last connected with (the websocket "
        "subprotocol negotiated: ocpp1.6 or ocpp2.0.1); 1.6 for a station never connected")]


class UnconstrainedView(msgspec.Struct, kw_only=True):
    limit: Annotated[float, Meta(description="The station's own limit")]
    unit: Annotated[Literal["A", "W"], Meta(description="Its unit")]


class StationCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Pre-register a station so it may connect."""

    station_id: StationId
    password: Password | None = None
    tags: Tags = msgspec.field(default_factory=list)
    max_power_w: MaxPower = None


class SecurityProfileChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Raise a station's security profile; it is never lowered."""

    security_profile: Annotated[int, Meta(
        ge=0, le=3, description="0 none, 1 HTTP Basic, 2 TLS + Basic, 3 TLS with a client "
        "certificate (CN = station id, O = CHARGEPLAN_CPO_NAME)")]


class PasswordRotationView(msgspec.Struct, kw_only=True):
    """The outcome of a password rotation. The new password is never shown."""

    station_id: StationId
    status: Annotated[str, Meta(
        description="accepted: the station took the new AuthorizationKey; both passwords "
        "work until it connects with the new one. rejected: it refused; nothing changed")]
    response: Annotated[JsonObject, Meta(
        description="The station's ChangeConfiguration.conf")]


class HoldRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An operator's hold on a station."""

    reason: Annotated[str, Meta(
        max_length=200, description="Why the station is held, shown with it")] | None = None


class HoldView(msgspec.Struct, kw_only=True):
    """The hold on a station: its boots are answered Pending until it is released."""

    since: Annotated[datetime, Meta(description="When the hold was set")]
    reason: Annotated[str | None, Meta(description="Why, as the operator said")]


class StationUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Fields left out stay as they are; ``"password": null`` removes the password."""

    password: Annotated[
        str | None,
        Meta(description="New AuthorizationKey (16 to 20 bytes), or null to remove it"),
    ] | UnsetType = UNSET
    tags: Tags | UnsetType = UNSET
    max_power_w: MaxPower | UnsetType = UNSET
    circuit_id: CircuitRef | None | UnsetType = UNSET
    phase_rotation: PhaseRotation | UnsetType = UNSET
    max_current_a: StationMaxCurrent | UnsetType = UNSET
    managed: Annotated[bool, Meta(
        description="false: chargeplan stops sending the station anything on its own")
    ] | UnsetType = UNSET

    def changes(self) -> JsonObject:
        return {
            name: value
            for name in self.__struct_fields__
            if (value := getattr(self, name)) is not UNSET
        }


def _connector_view(row: Connector) -> ConnectorView:
    return ConnectorView(
        connector_id=row.connector_id,
        status=row.status,
        error_code=row.error_code,
        info=row.info,
        vendor_error_code=row.vendor_error_code,
        status_timestamp=row.status_timestamp,
        updated_at=row.updated_at,
    )


def _capabilities_view(station: Station) -> CapabilitiesView:
    caps = capabilities(station)
    profiles = caps.supported_feature_profiles
    return CapabilitiesView(
        supported_feature_profiles=None if profiles is None else list(profiles),
        charge_profile_max_stack_level=caps.max_stack_level,
        charging_schedule_allowed_charging_rate_unit=(
            None if caps.allowed_units is None else list(caps.allowed_units)
        ),
        charging_schedule_max_periods=caps.max_periods,
        max_charging_profiles_installed=caps.max_profiles,
        number_of_connectors=caps.number_of_connectors,
        # OCPP 1.6 §9.1.29 SupportedFeatureProfiles: without SmartCharging listed the
        # profile messages do not work.
        smart_charging=None if profiles is None else "SmartCharging" in profiles,
    )


def _configuration_view(raw: JsonObject | None) -> dict[str, ConfigurationEntry] | None:
    if raw is None:
        return None
    entries: dict[str, ConfigurationEntry] = {}
    for key, entry in raw.items():
        value = entry.get("value") if isinstance(entry, dict) else entry
        readonly = entry.get("readonly") if isinstance(entry, dict) else None
        entries[key] = ConfigurationEntry(
            value=None if value is None else str(value),
            readonly=None if readonly is None else bool(readonly),
        )
    return entries


def station_view(station: Station) -> StationView:
    return StationView(
        station_id=station.id,
        online=bool(station.online),
        last_seen=station.last_seen,
        connected_at=station.connected_at,
        last_boot_at=station.last_boot_at,
        node_id=station.node_id,
        vendor=station.vendor,
        model=station.model,
        serial_number=station.serial_number,
        charge_box_serial_number=station.charge_box_serial_number,
        firmware_version=station.firmware_version,
        firmware_status=station.firmware_status,
        diagnostics_status=station.diagnostics_status,
        has_password=station.password_hash is not None,
        security_profile=station.security_profile,
        password_rotation_pending=station.pending_password_hash is not None,
        hold=None if station.held_since is None else HoldView(
            since=station.held_since, reason=station.hold_reason),
        tags=list(station.tags or []),
        max_power_w=station.max_power_w,
        circuit_id=station.circuit_id,
        phase_rotation=station.phase_rotation,  # type: ignore[arg-type]
        max_current_a=station.max_current_a,
        connectors=[_connector_view(c) for c in station.connectors],
        capabilities=_capabilities_view(station),
        configuration=_configuration_view(station.configuration),
        configuration_read_at=station.configuration_read_at,
        clock_offset_s=station.clock_offset_s,
        clock_offset_measured_at=station.clock_offset_at,
        managed=station.managed,
        composite_convention=station.composite_convention,
        unconstrained=None if station.unconstrained_limit is None else UnconstrainedView(
            limit=station.unconstrained_limit,
            unit="A" if station.unconstrained_unit == "A" else "W"),
        ocpp_version=station.ocpp_version or OcppVersion.V16,
    )


# --- id tags ------------------------------------------------------------------------
# An id token as both versions carry it (app/domain/protocol_rules.py ID_TOKEN_LENGTH).
ID_TAG_TEXT = "OCPP IdToken, 1 to 36 characters (a 1.6 station takes 20 at most)"


class IdTagView(msgspec.Struct, kw_only=True):
    """An entry of the central id-tag list (OCPP 1.6 §7.27 IdTagInfo)."""

    id_tag: Annotated[str, Meta(description=ID_TAG_TEXT)]
    status: Annotated[IdTagStatus, Meta(description="OCPP 1.6 AuthorizationStatus")]
    expiry_date: Annotated[
        datetime | None, Meta(description="After this time Accepted is answered as Expired")
    ]
    parent_id_tag: Annotated[str | None, Meta(description="Group id tag (OCPP parentIdTag)")]
    default_needs: Annotated[DefaultNeedsBody | None, Meta(
        description="What its sessions need unless a request says otherwise; null: none")]
    created_at: Timestamp
    updated_at: Timestamp


class DefaultNeedsBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Energy by a daily local departure, e.g. a fleet van leaving at 06:00 needing 60 kWh."""

    # 0 or more, checked by the service: it names default_needs.energy_kwh, which a
    # schema bound inside this nullable object would not.
    energy_kwh: Annotated[float, Meta(description="Energy wanted by the departure, kWh, 0 "
                                      "or more")]
    departure_local: Annotated[str, Meta(
        description="Local wall time, HH:MM: the departure is the first one after the "
        "transaction started, in `timezone` (DST-correct)")]
    timezone: Annotated[str, Meta(description="IANA time zone, e.g. Europe/Berlin")]


class IdTagPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Fields left out stay as they are."""

    default_needs: Annotated[DefaultNeedsBody | None, Meta(
        description="What its sessions need unless a request says otherwise; null removes "
        "it")] | UnsetType = UNSET


class IdTagCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id_tag: Annotated[str, Meta(description=ID_TAG_TEXT)]
    status: Annotated[IdTagStatus, Meta(description="OCPP 1.6 AuthorizationStatus")] = "Accepted"
    expiry_date: Annotated[
        datetime | None, Meta(description="ISO 8601; without offset it is read as UTC")
    ] = None
    parent_id_tag: Annotated[str | None, Meta(description="Group id tag, 1 to 36 chars")] = None


class IdTagReplace(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The whole entry: fields left out take their defaults."""

    status: Annotated[IdTagStatus, Meta(description="OCPP 1.6 AuthorizationStatus")] = "Accepted"
    expiry_date: Annotated[
        datetime | None, Meta(description="ISO 8601; without offset it is read as UTC")
    ] = None
    parent_id_tag: Annotated[str | None, Meta(description="Group id tag, 1 to 36 chars")] = None


def id_tag_view(row: IdTag) -> IdTagView:
    return IdTagView(
        id_tag=row.id_tag,
        status=row.status,  # type: ignore[arg-type]  # the service only stores STATUSES
        expiry_date=row.expiry_date,
        parent_id_tag=row.parent_id_tag,
        default_needs=(None if row.default_needs is None
                       else msgspec.convert(row.default_needs, DefaultNeedsBody)),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


# --- audit --------------------------------------------------------------------------
class AuditItem(msgspec.Struct, kw_only=True):
    """One OCPP-J frame as it crossed the wire (OCPP-J 1.6 §4)."""

    id: Annotated[int, Meta(description="Row id; larger is newer")]
    ts: Annotated[datetime, Meta(description="When the frame was sent or received (UTC)")]
    station_id: StationId
    direction: Annotated[str, Meta(description="in = from the station, out = to the station")]
    message_type: Annotated[
        str, Meta(description="CALL, CALLRESULT, CALLERROR, or INVALID (not OCPP-J)")
    ]
    unique_id: Annotated[str | None, Meta(description="OCPP-J message id")]
    action: Annotated[str | None, Meta(description="OCPP action, e.g. BootNotification")]
    # OCPP-J payloads are objects; an INVALID frame keeps whatever JSON value it carried.
    payload: Annotated[
        JsonObject | list[Any] | str | float | bool | None,
        Meta(description="The decoded payload; null when the frame was not JSON"),
    ]
    raw: Annotated[str | None, Meta(
        description="The frame as received when it was unusable: its first "
        "CHARGEPLAN_AUDIT_RAW_MAX_BYTES bytes")]
    raw_length: Annotated[int | None, Meta(description="Length of the whole raw frame, bytes")]
    raw_sha256: Annotated[str | None, Meta(description="SHA-256 of the whole raw frame, hex")]
    error_code: Annotated[str | None, Meta(description="CALLERROR errorCode")]
    error_description: Annotated[str | None, Meta(description="CALLERROR errorDescription")]
    rtt_ms: Annotated[float | None, Meta(description="CALL to answer round trip, ms")]
    desired_profile_id: Annotated[
        int | None, Meta(description="The desired charging profile this exchange served, if any")
    ]


class AuditPageView(msgspec.Struct, kw_only=True):
    items: Annotated[list[AuditItem], Meta(description="Newest first")]
    next_cursor: Annotated[
        str | None, Meta(description="Pass as ?cursor= for the next, older page; null at the end")
    ]


def audit_item(row: AuditFrame) -> AuditItem:
    return AuditItem(
        id=row.id,
        ts=row.ts,
        station_id=row.station_id,
        direction=row.direction,
        message_type=row.message_type,
        unique_id=row.unique_id,
        action=row.action,
        payload=row.payload,
        raw=row.raw,
        raw_length=row.raw_length,
        raw_sha256=row.raw_sha256,
        error_code=row.error_code,
        error_description=row.error_description,
        rtt_ms=row.rtt_ms,
        desired_profile_id=row.desired_profile_id,
    )


# --- health -------------------------------------------------------------------------
class HealthView(msgspec.Struct, kw_only=True):
    status: Annotated[Literal["ok", "degraded"], Meta(description="ok only if all checks pass")]
    database: Annotated[bool, Meta(description="The database answered a query")]
    ocpp_listener: Annotated[bool, Meta(description="The OCPP websocket port is listening")]
    connected_stations: Annotated[int, Meta(description="Stations connected to this process")]
    audit_queue_depth: Annotated[int, Meta(description="Frames waiting to be written to audit")]
    problems: Annotated[list[str], Meta(
        description="Why the status is degraded: a check that failed, an audit or meter "
                    "writer that fails to write or whose queue is over half full")] = []


def as_utc(value: datetime | None, field: str) -> datetime | None:
    """A client datetime as aware UTC; one without offset is read as UTC (as OCPP 1.6 §7)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # e.g. 9999-12-31T23:00:00-05:00 lies past the last representable UTC instant.
        raise Invalid(field, "must lie within the years 1 to 9999 in UTC") from None


# --- transactions ---------------------------------------------------------------------
class TransactionView(msgspec.Struct, kw_only=True):
    """A charging session (OCPP 1.6 §4.8 StartTransaction, §4.10 StopTransaction)."""

    id: Annotated[int, Meta(description="Allocated by the database: the OCPP 1.6 "
                            "transactionId, and the key of an OCPP 2.0.1 one (remote_id)")]
    station_id: StationId
    connector_id: Annotated[int, Meta(description="The connector it runs on")]
    id_tag: Annotated[str, Meta(description="The idTag that started it")]
    id_tag_status: Annotated[str, Meta(description="What StartTransaction answered for the tag")]
    active: Annotated[bool, Meta(description="Still running: no StopTransaction yet")]
    started_at: Annotated[datetime, Meta(description="The station's start time, ISO 8601 UTC")]
    meter_start: Annotated[int, Meta(description="Energy register at the start, Wh")]
    stopped_at: Annotated[datetime | None, Meta(description="ISO 8601 UTC; null while active")]
    meter_stop: Annotated[int | None, Meta(description="Energy register at the stop, Wh")]
    energy_wh: Annotated[int | None, Meta(
        description="meter_stop - meter_start; null while active")]
    stop_reason: Annotated[str | None, Meta(description="StopTransaction reason, if given")]
    stop_id_tag: Annotated[str | None, Meta(description="The idTag that stopped it, if given")]
    reservation_id: Annotated[int | None, Meta(description="The reservation it used, if any")]
    start_time_flag: Annotated[TimeFlag | None, Meta(
        description="started_at is not to be believed: future or too_old (stored as sent)")]
    stop_time_flag: Annotated[TimeFlag | None, Meta(
        description="stopped_at is not to be believed: future, too_old, or before_start")]
    remote_id: Annotated[str | None, Meta(
        description="The station's own transactionId (OCPP 2.0.1: a string of up to 36 "
        "characters); null for an OCPP 1.6 transaction, whose transactionId is id")]


class CurvePointView(msgspec.Struct, kw_only=True):
    at: Annotated[datetime, Meta(description="The sample's time, ISO 8601 UTC")]
    energy_wh: Annotated[float | None, Meta(
        description="Energy.Active.Import.Register minus meter_start, Wh")]
    power_w: Annotated[float | None, Meta(
        description="Power.Active.Import, W (phases summed when no total is given)")]
    current_a: Annotated[float | None, Meta(
        description="Current.Import, A: the highest phase")]


class MeterCurveView(msgspec.Struct, kw_only=True):
    transaction_id: Annotated[int, Meta(description="The transaction")]
    station_id: StationId
    connector_id: Annotated[int, Meta(description="The connector it runs on")]
    active: Annotated[bool, Meta(description="Still running: no StopTransaction yet")]
    meter_start: Annotated[int, Meta(description="Energy register at the start, Wh")]
    points: Annotated[list[CurvePointView], Meta(
        description="Oldest first: one per sampled instant with energy, power or current")]


class TransactionPageView(msgspec.Struct, kw_only=True):
    items: Annotated[list[TransactionView], Meta(description="Newest first")]
    next_cursor: Annotated[
        str | None, Meta(description="Pass as ?cursor= for the next, older page; null at the end")
    ]


def transaction_view(row: Transaction) -> TransactionView:
    energy = None if row.meter_stop is None else row.meter_stop - row.meter_start
    return TransactionView(
        id=row.id, station_id=row.station_id, connector_id=row.connector_id,
        id_tag=row.id_tag, id_tag_status=row.id_tag_status, active=row.stopped_at is None,
        started_at=row.started_at, meter_start=row.meter_start, stopped_at=row.stopped_at,
        meter_stop=row.meter_stop, energy_wh=energy, stop_reason=row.stop_reason,
        stop_id_tag=row.stop_id_tag, reservation_id=row.reservation_id,
        start_time_flag=_time_flag(row.start_time_flag),
        stop_time_flag=_time_flag(row.stop_time_flag), remote_id=row.remote_id)


def _time_flag(value: str | None) -> TimeFlag | None:
    return None if value is None else TimeFlag(value)
