"""The station registry: admission, connection state, boot data, status, configuration."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, cast

from sqlalchemy import Table, bindparam, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql import Executable

from app.clock import Clock, utcnow
from app.db.batching import BatchLoader, GroupCommit
from app.db.circuit_models import Circuit
from app.db.engine import Database
from app.db.models import Connector, Station
from app.domain.protocol_rules import OcppVersion
from app.domain.security_profiles import (
    Transport,
    authenticated_by_certificate,
    is_hex_key,
    password_candidates,
    profile_change_refusal,
    transport_refusal,
)
from app.domain.station_ids import RULE as STATION_ID_RULE
from app.domain.station_ids import is_valid_station_id
from app.domain.station_time import ClockOffset, TimeRules, offset_sample
from app.events import EventBus, EventType
from app.services.errors import Conflict, Invalid, NotFound
from app.services.security.passwords import check_password_rules, hash_password, verify_password

# Configuration keys smart charging depends on (OCPP 1.6 §9.1, §9.4).
SMART_CHARGING_KEYS = (
    "SupportedFeatureProfiles", "ChargeProfileMaxStackLevel",
    "ChargingScheduleAllowedChargingRateUnit", "ChargingScheduleMaxPeriods",
    "MaxChargingProfilesInstalled", "NumberOfConnectors",
)


# Hot paths use the tables through Core: no ORM bookkeeping per frame.
_STATIONS = cast(Table, Station.__table__)
# Stations per transaction when last_seen of the fleet is written.
TOUCH_CHUNK = 250
_CONNECTORS = cast(Table, Connector.__table__)
_STATUS_COLUMNS = ("status", "error_code", "info", "vendor_id", "vendor_error_code",
                   "status_timestamp", "updated_at")
# Read for every connection (in batches): built once, not per batch, so admission leaves
# no statement behind for the cycle collector (bound parameters hold reference cycles).
_SECRETS = (select(_STATIONS.c.id, _STATIONS.c.password_hash,
                   _STATIONS.c.pending_password_hash, _STATIONS.c.security_profile,
                   _STATIONS.c.managed)
            .where(_STATIONS.c.id.in_(bindparam("ids", expanding=True))))
_MANAGED = (select(_STATIONS.c.id, _STATIONS.c.managed)
            .where(_STATIONS.c.id.in_(bindparam("ids", expanding=True))))
_DISCONNECTED = (update(_STATIONS)
                 .where(_STATIONS.c.id == bindparam("b_station"),
                        _STATIONS.c.node_id == bindparam("b_node"))
                 .values(online=bindparam("online"), last_seen=bindparam("last_seen")))


class Admission(Enum):
    ACCEPTED = "accepted"
    # Authenticated with a rotated password for the first time: the old one is gone.
    ACCEPTED_NEW_PASSWORD = "accepted_new_password"
    # An unknown station registered by its first connection (admit_unknown_stations).
    ADMITTED_NEW = "admitted_new"
    UNKNOWN_STATION = "unknown_station"
    CREDENTIALS_REQUIRED = "credentials_required"
    BAD_CREDENTIALS = "bad_credentials"
    # Below the station's security profile (the values of domain Refusal).
    NEEDS_TLS = "needs_tls"
    NEEDS_CERTIFICATE = "needs_certificate"
    CERTIFICATE_MISMATCH = "certificate_mismatch"


PLAIN = Transport(tls=False)


@dataclass(frozen=True)
class Credentials:
    """HTTP Basic as sent: the password as raw bytes (an AuthorizationKey may be any
    16-20 bytes, not text)."""

    user: str
    password: bytes


@dataclass(frozen=True)
class _Secrets:
    password_hash: str | None
    pending_password_hash: str | None
    security_profile: int
    managed: bool


@dataclass(frozen=True)
class Capabilities:
    supported_feature_profiles: tuple[str, ...] | None
    max_stack_level: int | None
    allowed_units: tuple[str, ...] | None
    max_periods: int | None
    max_profiles: int | None
    number_of_connectors: int | None


def check_station_id(station_id: str) -> None:
    if not is_valid_station_id(station_id):
        raise Invalid("station_id", STATION_ID_RULE)


def capabilities(station: Station) -> Capabilities:
    def csl(value: str | None) -> tuple[str, ...] | None:
        return None if value is None else tuple(v.strip() for v in value.split(",") if v.strip())

    return Capabilities(
        supported_feature_profiles=csl(station.supported_feature_profiles),
        max_stack_level=station.charge_profile_max_stack_level,
        allowed_units=csl(station.charging_schedule_allowed_charging_rate_unit),
        max_periods=station.charging_schedule_max_periods,
        max_profiles=station.max_charging_profiles_installed,
        number_of_connectors=station.number_of_connectors,
    )


def _matches(candidates: Sequence[str], stored: str) -> bool:
    return any(verify_password(c, stored) for c in candidates)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


class StationService:
    def __init__(self, db: Database, *, admit_unknown: bool, clock: Clock = utcnow,
                 writes: GroupCommit | None = None, time_rules: TimeRules | None = None,
                 events: EventBus | None = None) -> None:
        self._db = db
        self.time_rules = time_rules or TimeRules()
        # Clock offset estimates of stations that sent a timestamp since their last boot,
        # and the value last written for each.
        self._offsets: dict[str, tuple[ClockOffset, float | None]] = {}
        self._admit_unknown = admit_unknown
        self.events = events or EventBus(clock=clock)
        self._clock = clock
        # What stations report is written with group commit: a reconnect storm costs a
        # few transactions per batch of stations, not several per station.
        self._writes = writes or GroupCommit(db)
        self._secrets: BatchLoader[str, _Secrets] = BatchLoader(self._load_secrets)
        self._managed: BatchLoader[str, bool] = BatchLoader(self._load_managed)
        # Whether each station admitted here is managed, read with its password hash, so
        # the calls after its boot wait for no query; PATCH here updates it.
        self._managed_at_admission: dict[str, bool] = {}
        self._updates: dict[tuple[str, ...], Executable] = {}
        upsert = pg_insert if db.dialect == "postgresql" else sqlite_insert
        self._register: Executable = upsert(_STATIONS).on_conflict_do_nothing(
            index_elements=[_STATIONS.c.id])
        status = upsert(_CONNECTORS)
        newer = status.excluded.status_timestamp
        # A replayed older notification (OCPP 1.6 §3.7 offline queue) must not overwrite
        # a newer status. A status without a station time to believe (none sent, or one
        # in the future) is ordered by receipt: it replaces what is stored, and the next
        # status received replaces it, whatever its time. Comparing our receive time with
        # the station's own clock would hide a status sent after it in the same second
        # (12:00:25Z, stamped in whole seconds, against 12:00:25.894).
        self._status_upsert: Executable = status.on_conflict_do_update(
            index_elements=[_CONNECTORS.c.station_id, _CONNECTORS.c.connector_id],
            set_={c: status.excluded[c] for c in _STATUS_COLUMNS},
            where=or_(newer.is_(None), _CONNECTORS.c.status_timestamp.is_(None),
                      newer >= _CONNECTORS.c.status_timestamp),
        )

    async def close(self) -> None:
        """Wait for the writes in flight (before the engine is disposed)."""
        await self._writes.close()

    # --- admission and connection state ---------------------------------------------
    async def admit(self, station_id: str, credentials: Credentials | None,
                    transport: Transport = PLAIN, operator: str = "", *,
                    register_unknown: bool = True) -> Admission:
        """Decide before the websocket opens: the connection must meet the station's
        security profile (TLS, client certificate), then HTTP Basic when it has a
        password (a rotated password and the one before it both work until the station
        has used the new one). With ``register_unknown`` false (its address is
        throttled) an unknown station is not registered, whatever the setting."""
        # Only what admission needs, read for many connecting stations at once: this runs
        # for every connection of a reconnect storm.
        known = await self._secrets.get(station_id)
        self._managed_at_admission[station_id] = known is None or known.managed
        if known is None:
            if not (self._admit_unknown and register_unknown):
                return Admission.UNKNOWN_STATION
            await self._writes.execute(self._register, {
                "id": station_id, "tags": [], "created_at": self._clock(), "online": False,
                "drift_repairs": 0, "security_profile": 0}, order_key=station_id)
            return Admission.ADMITTED_NEW
        refusal = transport_refusal(known.security_profile, transport, station_id, operator)
        if refusal is not None:
            return Admission(refusal.value)
        if authenticated_by_certificate(transport):
            return Admission.ACCEPTED
        if known.password_hash is None and known.pending_password_hash is None:
            return (Admission.ACCEPTED if known.security_profile == 0
                    else Admission.CREDENTIALS_REQUIRED)
        if credentials is None:
            return Admission.CREDENTIALS_REQUIRED
        if credentials.user != station_id:
            return Admission.BAD_CREDENTIALS
        candidates = password_candidates(credentials.password)
        if known.pending_password_hash is not None and _matches(
                candidates, known.pending_password_hash):
            await self._promote_pending_password(station_id)
            return Admission.ACCEPTED_NEW_PASSWORD
        if known.password_hash is not None and _matches(candidates, known.password_hash):
            return Admission.ACCEPTED
        return Admission.BAD_CREDENTIALS

    async def _promote_pending_password(self, station_id: str) -> None:
        """The station used its new password: the old one stops working."""
        async with self._db.uow() as session:
            await session.execute(
                update(Station).where(Station.id == station_id,
                                      Station.pending_password_hash.is_not(None))
                .values(password_hash=Station.pending_password_hash,
                        pending_password_hash=None))

    async def _load_secrets(self, station_ids: list[str]) -> dict[str, _Secrets]:
        async with self._db.core() as conn:
            rows = await conn.execute(_SECRETS, {"ids": station_ids})
            return {sid: _Secrets(password_hash, pending, profile or 0, managed is not False)
                    for sid, password_hash, pending, profile, managed in rows}

    async def is_managed(self, station_id: str) -> bool:
        """Whether chargeplan may send the station calls of its own: as read when it
        connected here, else from the database; an unknown station is managed."""
        known = self._managed_at_admission.get(station_id)
        if known is not None:
            return known
        return await self._managed.get(station_id) is not False

    async def _load_managed(self, station_ids: list[str]) -> dict[str, bool]:
        async with self._db.core() as conn:
            rows = await conn.execute(_MANAGED, {"ids": station_ids})
            return {sid: bool(managed) for sid, managed in rows}

    async def unmanaged_among(self, station_ids: Iterable[str]) -> set[str]:
        """The listed stations chargeplan must leave alone (``managed`` false)."""
        found: set[str] = set()
        ids = sorted(set(station_ids))
        async with self._db.core() as conn:
            for start in range(0, len(ids), 500):  # bound parameters per IN list
                batch = ids[start:start + 500]
                found.update((await conn.scalars(select(_STATIONS.c.id).where(
                    _STATIONS.c.id.in_(batch), _STATIONS.c.managed.is_(False)))).all())
        return found

    async def connected(self, station_id: str, node_id: str, remote: str | None,
                        version: OcppVersion = OcppVersion.V16) -> None:
        """The station is connected here, from ``remote`` (host:port), speaking the OCPP
        ``version`` of the subprotocol its connection negotiated; an unknown address
        leaves the last known one (the lockout exemption reads it) in place."""
        now = self._clock()
        values: dict[str, Any] = {"online": True, "node_id": node_id, "connected_at": now,
                                  "last_seen": now,
                                  "ocpp_version": version}
        if remote is not None:
            values["remote_address"] = remote
        await self._update(station_id, **values)
        self.events.emit(EventType.STATION_CONNECTED, station_id=station_id, remote=remote)

    async def disconnected(self, station_id: str, node_id: str, at: datetime) -> None:
        # Only the process that holds the socket may mark it offline: a reconnect that
        # landed on another process must not be undone by the old one's close.
        await self._writes.execute(_DISCONNECTED, {
            "b_station": station_id, "b_node": node_id, "online": False, "last_seen": at},
            order_key=station_id)
        self.events.emit(EventType.STATION_DISCONNECTED, station_id=station_id)

    async def touch(self, seen: Mapping[str, datetime]) -> None:
        """Write ``seen`` (last_seen by station), TOUCH_CHUNK stations per transaction.
        Each transaction holds the database briefly, so the audit writer, whose commits
        the answers to stations wait for, gets its turn between them: a fleet of 10,000
        in one statement held it (and the event loop, rendering parameters) for 100 to
        200 ms every flush."""
        if not seen:
            return
        statement = (update(_STATIONS)
                     .where(_STATIONS.c.id == bindparam("station"))
                     .values(last_seen=bindparam("seen")))
        items = list(seen.items())
        for start in range(0, len(items), TOUCH_CHUNK):
            async with self._db.core() as conn:
                await conn.execute(statement, [{"station": sid, "seen": at}
                                               for sid, at in items[start:start + TOUCH_CHUNK]])

    # --- what stations report ---------------------------------------------------------
    async def boot(self, station_id: str, payload: Mapping[str, Any]) -> bool:
        """Record the boot; True when the station is accepted, False while an operator
        holds it (the boot is answered Pending: OCPP 1.6 §4.2, OCPP 2.0.1 B02)."""
        # It may set its clock from BootNotification.conf: estimate its offset anew.
        self._offsets.pop(station_id, None)
        await self._update(
            station_id,
            vendor=payload["chargePointVendor"],
            model=payload["chargePointModel"],
            serial_number=payload.get("chargePointSerialNumber"),
            charge_box_serial_number=payload.get("chargeBoxSerialNumber"),
            firmware_version=payload.get("firmwareVersion"),
            iccid=payload.get("iccid"),
            imsi=payload.get("imsi"),
            meter_type=payload.get("meterType"),
            meter_serial_number=payload.get("meterSerialNumber"),
            last_boot_at=self._clock(),
        )
        self.events.emit(EventType.STATION_BOOTED, station_id=station_id,
                         vendor=payload["chargePointVendor"], model=payload["chargePointModel"])
        async with self._db.uow() as session:
            held = await session.scalar(
                select(Station.held_since).where(Station.id == station_id))
        return held is None

    async def hold(self, station_id: str, reason: str | None) -> Station:
        """An operator's hold: the station's boots are answered Pending until released."""
        return await self._set_hold(station_id, True, reason)

    async def release(self, station_id: str) -> Station:
        """End the hold: the station's next boot is answered Accepted."""
        return await self._set_hold(station_id, False, None)

    async def _set_hold(self, station_id: str, held: bool, reason: str | None) -> Station:
        async with self._db.uow() as session:
            station = await session.get(Station, station_id)
            if station is None:
                raise NotFound("station", station_id)
            if not held:
                station.held_since = None
            elif station.held_since is None:
                station.held_since = self._clock()
            station.hold_reason = reason
            await session.commit()
        return await self.get(station_id)

    async def observe_time(self, station_id: str, stamped: datetime) -> None:
        """A timestamp the station sent: refine its clock offset, written when it moves
        by a second or more."""
        now = self._clock()
        sample = offset_sample(stamped, now)
        known = self._offsets.get(station_id)
        estimate = (ClockOffset.first(sample, now) if known is None
                    else known[0].observe(sample, now))
        written = None if known is None else known[1]
        if written is not None and abs(estimate.seconds - written) < 1.0:
            self._offsets[station_id] = (estimate, written)
            return
        self._offsets[station_id] = (estimate, estimate.seconds)
        await self._update(station_id, clock_offset_s=round(estimate.seconds, 3),
                           clock_offset_at=now)

    async def status(self, station_id: str, payload: Mapping[str, Any],
                     timestamp: datetime | None) -> None:
        if timestamp is not None:
            # A status dated in the future must not outrank every later one.
            timestamp = self.time_rules.ordering_time(timestamp, self._clock())
        await self._writes.execute(self._status_upsert, {
            "station_id": station_id,
            "connector_id": payload["connectorId"],
            "status": payload["status"],
            "error_code": payload["errorCode"],
            "info": payload.get("info"),
            "vendor_id": payload.get("vendorId"),
            "vendor_error_code": payload.get("vendorErrorCode"),
            "status_timestamp": timestamp,
            "updated_at": self._clock(),
        }, order_key=station_id)
        self.events.emit(EventType.CONNECTOR_STATUS, station_id=station_id,
                         connector_id=payload["connectorId"], status=payload["status"],
                         error_code=payload["errorCode"])

    async def firmware_status(self, station_id: str, status: str) -> None:
        await self._update(station_id, firmware_status=status)

    async def diagnostics_status(self, station_id: str, status: str) -> None:
        await self._update(station_id, diagnostics_status=status)

    async def store_configuration(
        self, station_id: str, keys: Sequence[Mapping[str, Any]], unknown: Sequence[str]
    ) -> None:
        """Keep what GetConfiguration returned; keys it did not return stay unknown."""
        # AuthorizationKey is a secret: never kept in clear, whoever reports it.
        config = {k["key"]: {"value": "***" if k["key"] == "AuthorizationKey"
                             and k.get("value") is not None else k.get("value"),
                             "readonly": k.get("readonly")}
                  for k in keys}
        values: dict[str, Any] = {
            "configuration": config,
            "configuration_read_at": self._clock(),
        }

        def value(key: str) -> str | None:
            entry = config.get(key)
            raw = entry.get("value") if entry else None
            return None if raw is None else str(raw)

        values["supported_feature_profiles"] = value("SupportedFeatureProfiles")
        values["charging_schedule_allowed_charging_rate_unit"] = value(
            "ChargingScheduleAllowedChargingRateUnit")
        values["charge_profile_max_stack_level"] = _int_or_none(
            value("ChargeProfileMaxStackLevel"))
        values["charging_schedule_max_periods"] = _int_or_none(
            value("ChargingScheduleMaxPeriods"))
        values["max_charging_profiles_installed"] = _int_or_none(
            value("MaxChargingProfilesInstalled"))
        values["number_of_connectors"] = _int_or_none(value("NumberOfConnectors"))
        await self._update(station_id, **values)

    async def _update(self, station_id: str, **values: Any) -> None:
        """One UPDATE of the station's row, committed with concurrent ones (one
        executemany per set of columns)."""
        columns = tuple(sorted(values))
        statement = self._updates.get(columns)
        if statement is None:
            statement = self._updates[columns] = (
                update(_STATIONS).where(_STATIONS.c.id == bindparam("b_station"))
                .values({c: bindparam(c) for c in columns}))
        await self._writes.execute(statement, {"b_station": station_id, **values},
                                   order_key=station_id)

    # --- the registry over REST ------------------------------------------------------
    async def list_all(self) -> list[Station]:
        async with self._db.uow() as session:
            return list((await session.scalars(select(Station).order_by(Station.id))).all())

    async def get(self, station_id: str) -> Station:
        async with self._db.uow() as session:
            station = await session.get(Station, station_id)
            if station is None:
                raise NotFound("station", station_id)
            return station

    async def create(self, station_id: str, password: str | None,
                     tags: Sequence[str] = (), max_power_w: float | None = None) -> Station:
        check_station_id(station_id)
        password_hash = self._password_hash(password)
        async with self._db.uow() as session:
            if await session.get(Station, station_id) is not None:
                raise Conflict(f"station {station_id!r} already exists")
            station = Station(id=station_id, password_hash=password_hash, tags=list(tags),
                              max_power_w=max_power_w, created_at=self._clock(), online=False,
                              security_profile=0 if password_hash is None else 1)
            session.add(station)
        return await self.get(station_id)

    async def update(self, station_id: str, changes: Mapping[str, Any]) -> Station:
        values: dict[str, Any] = {}
        if "password" in changes:
            values["password_hash"] = self._password_hash(changes["password"])
            values["pending_password_hash"] = None
        if "tags" in changes:
            values["tags"] = sorted(set(changes["tags"] or []))
        for key in ("max_power_w", "circuit_id", "phase_rotation", "max_current_a"):
            if key in changes:
                values[key] = changes[key]
        if "managed" in changes:
            values["managed"] = bool(changes["managed"])
            self._managed_at_admission[station_id] = values["managed"]
        async with self._db.uow() as session:
            if await session.get(Station, station_id) is None:
                raise NotFound("station", station_id)
            circuit_id = values.get("circuit_id")
            if circuit_id is not None and await session.get(Circuit, circuit_id) is None:
                raise Invalid("circuit_id", f"no circuit has id {circuit_id!r}")
            if values:
                await session.execute(
                    update(Station).where(Station.id == station_id).values(**values))
                if values.get("password_hash") is not None:
                    # A password means at least profile 1 (HTTP Basic).
                    await session.execute(
                        update(Station).where(Station.id == station_id,
                                              Station.security_profile == 0)
                        .values(security_profile=1))
        return await self.get(station_id)

    async def delete(self, station_id: str) -> None:
        async with self._db.uow() as session:
            station = await session.get(Station, station_id)
            if station is None:
                raise NotFound("station", station_id)
            await session.delete(station)

    # --- security profile and password rotation -------------------------------------
    async def raise_security_profile(self, station_id: str, profile: int) -> tuple[int, int]:
        """Set the station's profile, never lower (A00.FR.005); (before, after)."""
        async with self._db.uow() as session:
            station = await session.get(Station, station_id, with_for_update=True)
            if station is None:
                raise NotFound("station", station_id)
            before = station.security_profile
            broken = profile_change_refusal(before, profile)
            if broken:
                raise Invalid("security_profile", broken)
            if profile in (1, 2) and station.password_hash is None and (
                    station.pending_password_hash is None):
                raise Invalid("security_profile",
                              f"profile {profile} authenticates with HTTP Basic: give the "
                              "station a password first")
            station.security_profile = profile
        return before, profile

    async def set_pending_password(self, station_id: str, password: str | None, *,
                                   field: str = "AuthorizationKey") -> None:
        """Accept ``password`` beside the current one until the station uses it (None
        withdraws it). A 32-40 hex digit key is stored in lower case (see
        ``password_candidates``). ``field``: where the request carried it, named when
        it breaks the rules."""
        if password is not None:
            if not is_hex_key(password):
                broken = check_password_rules(password)
                if broken:
                    raise Invalid(field, broken + " or 32 to 40 hex digits")
            else:
                password = password.lower()
        async with self._db.uow() as session:
            result = await session.execute(
                update(Station).where(Station.id == station_id).values(
                    pending_password_hash=None if password is None else hash_password(password)))
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound("station", station_id)

    @staticmethod
    def _password_hash(password: str | None) -> str | None:
        if password is None:
            return None
        broken = check_password_rules(password)
        if broken:
            raise Invalid("password", broken)
        return hash_password(password)
