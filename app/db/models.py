"""SQLAlchemy models: the station registry, id tags, transactions, meter values, audit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from app.db.types import BigIntPK, JSONType, StrEnumType, UTCDateTime
from app.domain.composite import Convention
from app.domain.ownership import Owner, OwnerKind
from app.domain.protocol_rules import ID_TOKEN_LENGTH, OcppVersion
from app.domain.states import DeliveryState, VerificationState
from app.json_types import JsonObject

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Station(Base):
    __tablename__ = "stations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # A rotated password not yet used by the station: both are accepted until it connects
    # with the new one, which then replaces the old.
    pending_password_hash: Mapped[str | None] = mapped_column(String(200))
    # OCPP security profile (1.6 security whitepaper): 0 none, 1 Basic, 2 TLS + Basic,
    # 3 TLS with a client certificate. A connection below it is refused; it only goes up.
    security_profile: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # Rated power: what the station reports where no profile applies; None = unknown.
    max_power_w: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # OCPP 1.6 §4.2 BootNotification.req
    vendor: Mapped[str | None] = mapped_column(String(20))
    model: Mapped[str | None] = mapped_column(String(20))
    serial_number: Mapped[str | None] = mapped_column(String(25))
    charge_box_serial_number: Mapped[str | None] = mapped_column(String(25))
    firmware_version: Mapped[str | None] = mapped_column(String(50))
    iccid: Mapped[str | None] = mapped_column(String(20))
    imsi: Mapped[str | None] = mapped_column(String(20))
    meter_type: Mapped[str | None] = mapped_column(String(25))
    meter_serial_number: Mapped[str | None] = mapped_column(String(25))
    last_boot_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An operator's hold: while set, BootNotification is answered Pending (OCPP 2.0.1 B02,
    # OCPP 1.6 §4.2) and the station is not accepted; None = not held.
    held_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hold_reason: Mapped[str | None] = mapped_column(String(200))
    # Connection state: which process holds the websocket, and since when.
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    node_id: Mapped[str | None] = mapped_column(String(100))
    remote_address: Mapped[str | None] = mapped_column(String(100))
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The station's clock minus ours, in seconds, estimated from the timestamps it sends
    # (app/domain/station_time.py), and when that estimate was last written.
    clock_offset_s: Mapped[float | None] = mapped_column(Float)
    clock_offset_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # OCPP 1.6 §4.4 / §4.5
    firmware_status: Mapped[str | None] = mapped_column(String(30))
    diagnostics_status: Mapped[str | None] = mapped_column(String(30))
    # Configuration read with GetConfiguration (OCPP 1.6 §9); None = never reported.
    configuration: Mapped[JsonObject | None] = mapped_column(JSONType)
    configuration_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    supported_feature_profiles: Mapped[str | None] = mapped_column(String(200))
    charge_profile_max_stack_level: Mapped[int | None] = mapped_column(Integer)
    charging_schedule_allowed_charging_rate_unit: Mapped[str | None] = mapped_column(String(50))
    charging_schedule_max_periods: Mapped[int | None] = mapped_column(Integer)
    max_charging_profiles_installed: Mapped[int | None] = mapped_column(Integer)
    number_of_connectors: Mapped[int | None] = mapped_column(Integer)
    verification_state: Mapped[VerificationState | None] = mapped_column(
        StrEnumType(VerificationState, 20))
    last_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Repairs tried since the station last verified clean.
    drift_repairs: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Repairs of read-back drift since a read-back last found the station clean (OCPP
    # 2.0.1): a verification after each repair would find it clean every time.
    read_back_repairs: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Load management: the circuit it hangs from, how its L1-L3 are wired to the grid's
    # (RST = straight), and the most current its connectors can give; None = unassigned.
    # No foreign key: adding one would make SQLite copy this table, and dropping the old
    # copy cascades to every row that references a station. The circuit service checks
    # the id on assignment and unassigns the stations of a circuit it deletes.
    circuit_id: Mapped[str | None] = mapped_column(String(64), index=True)
    phase_rotation: Mapped[str] = mapped_column(String(3), default="RST", server_default="RST")
    max_current_a: Mapped[float | None] = mapped_column(Float)
    # How the station answers GetCompositeSchedule where OCPP 1.6 is silent (the
    # convention that last explained its answer, tried first next time), and what it
    # reports where no profile bounds it (its unconstrained value and that value's unit).
    composite_convention: Mapped[Convention | None] = mapped_column(
        StrEnumType(Convention, 20))
    unconstrained_limit: Mapped[float | None] = mapped_column(Float)
    unconstrained_unit: Mapped[str | None] = mapped_column(String(1))
    # False: chargeplan sends the station nothing on its own (no after-boot jobs, no
    # repairs, no plan, tariff or circuit deliveries); REST-driven calls still go.
    managed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The OCPP version the station last connected with: that of the version adapter its
    # websocket's subprotocol picked (app/ocpp/protocol.py ProtocolAdapter.version).
    ocpp_version: Mapped[OcppVersion] = mapped_column(
        StrEnumType(OcppVersion, 8), default=OcppVersion.V16, server_default="1.6")

    connectors: Mapped[list[Connector]] = relationship(
        back_populates="station", cascade="all, delete-orphan", lazy="selectin",
        order_by="Connector.connector_id",
    )


class Connector(Base):
    """Last StatusNotification per connector (OCPP 1.6 §4.9); connector 0 is the station."""

    __tablename__ = "connectors"

    station_id: Mapped[str] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True
    )
    connector_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[str] = mapped_column(String(30))
    info: Mapped[str | None] = mapped_column(String(50))
    vendor_id: Mapped[str | None] = mapped_column(String(255))
    vendor_error_code: Mapped[str | None] = mapped_column(String(50))
    status_timestamp: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    station: Mapped[Station] = relationship(back_populates="connectors")


class IdTag(Base):
    """The central id-tag list checked by Authorize and StartTransaction (OCPP 1.6 §7.15)."""

    __tablename__ = "id_tags"

    id_tag: Mapped[str] = mapped_column(String(ID_TOKEN_LENGTH), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    expiry_date: Mapped[datetime | None] = mapped_column(UTCDateTime)
    parent_id_tag: Mapped[str | None] = mapped_column(String(ID_TOKEN_LENGTH))
    # What its sessions need unless asked otherwise (app/domain/needs.py DailyDefault):
    # {"energy_kwh", "departure_local": "HH:MM", "timezone": IANA zone}; None: no default.
    default_needs: Mapped[JsonObject | None] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Transaction(Base):
    """A charging session; ``id`` is allocated by the database and is the OCPP 1.6
    transactionId; an OCPP 2.0.1 session keeps the station's own transactionId in
    ``remote_id`` and has an ``id`` like any other, so meter values, needs and profiles
    key on the integer for both versions. ``connector_id`` is the 1.6 connector or the
    2.0.1 EVSE (what a profile addresses)."""

    __tablename__ = "transactions"
    __table_args__ = (
        # OCPP 1.6 §3.7: a charger replays a StartTransaction whose answer it lost;
        # the same charger, connector, idTag, timestamp and meterStart is the same session.
        UniqueConstraint(
            "station_id", "connector_id", "id_tag", "started_at", "meter_start",
            name="uq_transactions_start_identity",
        ),
        Index("ix_transactions_station_started", "station_id", "started_at"),
        # OCPP 2.0.1 TransactionEvent: the station names its transactions (a string of up
        # to 36 characters, unique per station); 1.6 transactions leave it NULL. A unique
        # index, not a constraint: adding one to SQLite would copy the table.
        Index("ix_transactions_station_remote", "station_id", "remote_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    connector_id: Mapped[int] = mapped_column(Integer)
    id_tag: Mapped[str] = mapped_column(String(ID_TOKEN_LENGTH))
    id_tag_status: Mapped[str] = mapped_column(String(20))
    meter_start: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reservation_id: Mapped[int | None] = mapped_column(Integer)
    meter_stop: Mapped[int | None] = mapped_column(Integer)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stop_reason: Mapped[str | None] = mapped_column(String(30))
    stop_id_tag: Mapped[str | None] = mapped_column(String(ID_TOKEN_LENGTH))
    # A timestamp not to take at its word (app.domain.station_time.TimeFlag): future,
    # too_old, or a stop before_start.
    start_time_flag: Mapped[str | None] = mapped_column(String(12))
    stop_time_flag: Mapped[str | None] = mapped_column(String(12))
    remote_id: Mapped[str | None] = mapped_column(String(36))
    # OCPP 2.0.1: when its station first told of it (a TransactionEvent) since the
    # station's latest boot, by this server's clock; before that, after a boot, the
    # transaction is not known to run on (app.services.delivery.delivery_rules).
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TransactionNeed(Base):
    """What a driver app or fleet system asked one transaction to get: energy by a
    departure (app/domain/needs.py, source ``request``). A row of its own rather than
    columns of ``transactions``: the OCPP hot path never writes it, DELETE is a row
    delete, and the state of charge the energy was worked out from is kept as sent."""

    __tablename__ = "transaction_needs"

    transaction_id: Mapped[int] = mapped_column(
        ForeignKey("transactions.id", ondelete="CASCADE"), primary_key=True,
        autoincrement=False)
    energy_kwh: Mapped[float] = mapped_column(Float)
    departure: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when the energy came from states of charge (percent) and the battery size.
    target_soc: Mapped[float | None] = mapped_column(Float)
    soc: Mapped[float | None] = mapped_column(Float)
    battery_kwh: Mapped[float | None] = mapped_column(Float)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TransactionEvNeed(Base):
    """What the car itself said it needs (OCPP 2.0.1 NotifyEVChargingNeeds, ISO 15118):
    the first source of a session's need (app/domain/needs.py, source ``ev``), and the
    currents the car takes, which bound the session's share. The latest message wins."""

    __tablename__ = "transaction_ev_needs"

    transaction_id: Mapped[int] = mapped_column(
        ForeignKey("transactions.id", ondelete="CASCADE"), primary_key=True,
        autoincrement=False)
    # AC_single_phase, AC_three_phase, DC, ... as the car asked.
    energy_transfer: Mapped[str | None] = mapped_column(String(30))
    departure: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The session's whole energy: what the car asked for plus what it had been given
    # when it asked (energyAmount counts from then).
    energy_kwh: Mapped[float | None] = mapped_column(Float)
    energy_amount_wh: Mapped[float | None] = mapped_column(Float)
    ev_min_current_a: Mapped[float | None] = mapped_column(Float)
    ev_max_current_a: Mapped[float | None] = mapped_column(Float)
    ev_max_voltage_v: Mapped[float | None] = mapped_column(Float)
    ev_max_power_w: Mapped[float | None] = mapped_column(Float)
    soc: Mapped[float | None] = mapped_column(Float)
    battery_kwh: Mapped[float | None] = mapped_column(Float)
    max_schedule_tuples: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TransactionEvSchedule(Base):
    """A schedule the car chose (OCPP 2.0.1 NotifyEVChargingSchedule) and chargeplan's
    answer: ``accepted`` when it fits what was sent for its EVSE, else ``rejected`` with
    the first period and instant that exceed it (app/domain/ev_schedule.py), and what
    was done to renegotiate. One row per notification, oldest first."""

    __tablename__ = "transaction_ev_schedules"
    __table_args__ = (Index("ix_transaction_ev_schedules_transaction", "transaction_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    transaction_id: Mapped[int] = mapped_column(
        ForeignKey("transactions.id", ondelete="CASCADE"))
    evse_id: Mapped[int] = mapped_column(Integer)
    time_base: Mapped[datetime] = mapped_column(UTCDateTime)
    # The ChargingScheduleType as the car chose it.
    schedule: Mapped[JsonObject] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(10))  # accepted, rejected
    # Of a rejection: the car's period, the instant, and how much above what is allowed.
    period: Mapped[int | None] = mapped_column(Integer)
    exceeds_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exceeds_by: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str | None] = mapped_column(String(512))
    # What a rejection led to: the TxProfile sent again and the station's answer.
    renegotiation: Mapped[str | None] = mapped_column(String(512))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MeterValue(Base):
    """One sampled value of MeterValues / StopTransaction.transactionData (OCPP 1.6 §7.43)."""

    __tablename__ = "meter_values"
    __table_args__ = (
        Index("ix_meter_values_station_ts", "station_id", "ts"),
        Index("ix_meter_values_transaction", "transaction_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    connector_id: Mapped[int] = mapped_column(Integer)
    transaction_id: Mapped[int | None] = mapped_column(Integer)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when ts is not to be taken at its word (future or too_old): stored as sent.
    ts_flag: Mapped[str | None] = mapped_column(String(12))
    measurand: Mapped[str] = mapped_column(String(50))
    phase: Mapped[str | None] = mapped_column(String(10))
    unit: Mapped[str | None] = mapped_column(String(20))
    context: Mapped[str | None] = mapped_column(String(30))
    location: Mapped[str | None] = mapped_column(String(20))
    value: Mapped[float | None] = mapped_column(Float)
    raw_value: Mapped[str] = mapped_column(Text)


class AuditFrame(Base):
    """Every OCPP-J frame in both directions, and every frame that could not be used."""

    __tablename__ = "audit_log"
    # What GET /audit filters and sorts by, and nothing else: every index is paid for by
    # every frame written.
    __table_args__ = (
        Index("ix_audit_log_station_ts", "station_id", "ts"),
        Index("ix_audit_log_action_ts", "action", "ts"),
        Index("ix_audit_log_ts", "ts"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    station_id: Mapped[str] = mapped_column(String(64))
    # "in": from the station; "out": to the station.
    direction: Mapped[str] = mapped_column(String(3))
    # CALL, CALLRESULT, CALLERROR, or INVALID for a frame that is not OCPP-J at all.
    message_type: Mapped[str] = mapped_column(String(10))
    unique_id: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str | None] = mapped_column(String(50))
    payload: Mapped[Any] = mapped_column(JSONType, nullable=True)
    # The frame as received when it could not be parsed (not JSON, wrong shape): its first
    # audit_raw_max_bytes, with the length in bytes and SHA-256 (hex) of the whole frame.
    raw: Mapped[str | None] = mapped_column(Text)
    raw_length: Mapped[int | None] = mapped_column(Integer)
    raw_sha256: Mapped[str | None] = mapped_column(String(64))
    error_code: Mapped[str | None] = mapped_column(String(50))
    error_description: Mapped[str | None] = mapped_column(Text)
    rtt_ms: Mapped[float | None] = mapped_column(Float)
    # Why the server sent it: the desired profile this exchange served, if any, and the
    # job run that made the call.
    desired_profile_id: Mapped[int | None] = mapped_column(Integer)
    job_run_id: Mapped[int | None] = mapped_column(Integer)


class DesiredProfile(Base):
    """A charging profile a user wants installed on a station, and how its delivery went.

    Rows follow the charger's own replacement rule (OCPP 1.6 §5.16.3, §5.16.4): a new profile
    with the same chargingProfileId, or the same connector + stackLevel + purpose,
    replaces the old row, so this table never disagrees with what the station was told.
    """

    __tablename__ = "desired_profiles"
    __table_args__ = (
        UniqueConstraint("station_id", "charging_profile_id",
                         name="uq_desired_profiles_station_profile"),
        Index("ix_desired_profiles_state", "state"),
        Index("ix_desired_profiles_owner", "owner_kind", "owner_id"),
        # Ids are never reused (audit rows point at them): SQLite otherwise hands the
        # largest id out again once its row is deleted.
        {"sqlite_autoincrement": True},
    )

    @property
    def owner(self) -> Owner:
        return Owner(self.owner_kind, self.owner_id)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    connector_id: Mapped[int] = mapped_column(Integer)
    charging_profile_id: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(30))
    stack_level: Mapped[int] = mapped_column(Integer)
    transaction_id: Mapped[int | None] = mapped_column(Integer)
    # The OCPP 1.6 ChargingProfile exactly as sent (camelCase, csChargingProfiles).
    profile: Mapped[JsonObject] = mapped_column(JSONType)
    # Who made it: a kind of owner, and the owning row's id as text for owners that are
    # rows ("12" for plan 12, "garage" for circuit garage, the pending remote start's id);
    # see app/domain/ownership.py. A circuit's TxProfile names the session it limits by
    # its own connector_id and transaction_id.
    owner_kind: Mapped[OwnerKind] = mapped_column(StrEnumType(OwnerKind, 20))
    owner_id: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[DeliveryState] = mapped_column(StrEnumType(DeliveryState, 12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_answer: Mapped[Any] = mapped_column(JSONType, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Retry with backoff after a failed delivery; None = due now.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InstalledProfileRecord(Base):
    """The server's mirror of what a station holds: built only from acknowledged
    SetChargingProfile/ClearChargingProfile calls (and the TxProfile a RemoteStartTransaction
    carried), with the charger's replace and clear rules (OCPP 1.6 §5.16.3, §5.16.4, §5.5);
    written only by the delivery engine (app/services/delivery/reconciler.py)."""

    __tablename__ = "installed_profiles"

    station_id: Mapped[str] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True)
    charging_profile_id: Mapped[int] = mapped_column(Integer, primary_key=True,
                                                     autoincrement=False)
    connector_id: Mapped[int] = mapped_column(Integer)
    profile: Mapped[JsonObject] = mapped_column(JSONType)
    installed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The desired row whose delivery installed it (ids are never reused): the intent a
    # later ClearChargingProfile of this profile carries in the audit.
    desired_profile_id: Mapped[int | None] = mapped_column(Integer)


class ProfileIdCounter(Base):
    """Next chargingProfileId per station, allocated in the database."""

    __tablename__ = "profile_id_counters"

    station_id: Mapped[str] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True)
    next_id: Mapped[int] = mapped_column(Integer)


class Reservation(Base):
    """A ReserveNow sent to a station and what it answered (OCPP 1.6 §5.13, §5.1).

    ``status`` is the station's ReserveNow.conf status, or ``Cancelled`` after an accepted
    CancelReservation; a reservation ends by itself at ``expiry_date``.
    """

    __tablename__ = "reservations"

    station_id: Mapped[str] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True)
    reservation_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    connector_id: Mapped[int] = mapped_column(Integer)
    id_tag: Mapped[str] = mapped_column(String(ID_TOKEN_LENGTH))
    parent_id_tag: Mapped[str | None] = mapped_column(String(ID_TOKEN_LENGTH))
    expiry_date: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LocalListVersion(Base):
    """The local authorization list version a station last reported or accepted
    (OCPP 1.6 §5.10 GetLocalListVersion, §5.15 SendLocalList)."""

    __tablename__ = "local_list_versions"

    station_id: Mapped[str] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True)
    list_version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PendingRemoteStart(Base):
    """A RemoteStartTransaction that carried a TxProfile, waiting for its StartTransaction.

    OCPP 1.6 errata §3.41: the profile is sent without transactionId; when the
    transaction starts it becomes that transaction's desired TxProfile. The row keeps
    the link: ``transaction_id`` and ``desired_profile_id`` are filled in then.
    """

    __tablename__ = "pending_remote_starts"
    __table_args__ = (
        Index("ix_pending_remote_starts_lookup", "station_id", "id_tag"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    # None: the request named no connector, the station chooses one.
    connector_id: Mapped[int | None] = mapped_column(Integer)
    id_tag: Mapped[str] = mapped_column(String(ID_TOKEN_LENGTH))
    profile: Mapped[JsonObject] = mapped_column(JSONType)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # RemoteStartTransaction.conf status once answered.
    answer_status: Mapped[str | None] = mapped_column(String(20))
    transaction_id: Mapped[int | None] = mapped_column(Integer)
    desired_profile_id: Mapped[int | None] = mapped_column(Integer)
