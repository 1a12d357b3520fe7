"""The OCPP-J websocket listener: admission before the upgrade, then one connection.

Stations connect at ``ws://HOST:PORT/<station_id>`` or ``/ocpp/<station_id>``. Before
the websocket opens (so a refused client never gets a socket):
- the subprotocol of a registered OCPP version must be offered (``ocpp1.6``: OCPP-J 1.6
  §3.1.2), else 400; the first of the station's offered subprotocols that is
  registered picks the version adapter of its connection (``versions.py``);
- the station must be known (or admitted by setting), else 404;
- when it has a password, HTTP Basic with user = station id (OCPP security profile 1),
  else 401; repeated failures per station and per address are throttled with 429.
Only then does a new connection replace an existing one for the same station: an
unauthenticated newcomer never displaces the real charger.

On the TLS listener the connection runs its TLS handshake itself (``handshakes.py``), so
that a refused one (expired or unknown client certificate, TLS 1.1, no common suite) is
recorded with the client's address: coalesced per address, so a flood of handshakes adds
a row a minute.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import math
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy.exc import SQLAlchemyError
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from app.db.batch_writer import BatchWriter
from app.db.security_models import SecurityEventKind
from app.domain.lockout import LockoutPolicy
from app.domain.security_profiles import Transport
from app.domain.station_ids import RULE as STATION_ID_RULE
from app.domain.station_ids import is_valid_station_id
from app.ocpp.auth_throttle import AuthThrottle
from app.ocpp.connection import ConnectionLimits, StationConnection, remote_host
from app.ocpp.handshakes import GatedConnection, HandshakeGate, TlsAcceptor, connection_class
from app.ocpp.protocol import ProtocolRegistry
from app.ocpp.ratelimit import WindowCounter
from app.ocpp.registry import ConnectionRegistry
from app.ocpp.router import Router
from app.ocpp.tls import HandshakeRefusal, built_in_ca, peer_identity, server_context
from app.services.container import Services
from app.services.fleet.stations import Admission, Credentials
from app.services.messages import StationAdmitted
from app.services.security.security_events import last_addresses, running_lockouts

log = logging.getLogger("chargeplan.ocpp")
# Seconds a stop waits for connections to close; with the writers' budget it keeps a
# SIGTERM under ten seconds.
STOP_BUDGET_S = 2.0
# Seconds a client has for its TLS handshake (websockets then gives it as long again for
# the HTTP upgrade).
TLS_HANDSHAKE_TIMEOUT_S = 10.0
# Seconds between two reads of the lockouts other nodes recorded.
LOCKOUT_FOLLOW_S = 5.0


def path_segment(path: str) -> str | None:
    """The one segment after ``/`` or ``/ocpp/``, percent-decoded; None for another shape."""
    parts = [unquote(p) for p in urlsplit(path).path.split("/") if p]
    if len(parts) == 2 and parts[0] == "ocpp":
        parts = parts[1:]
    return parts[0] if len(parts) == 1 else None


def station_id_from_path(path: str) -> str | None:
    segment = path_segment(path)
    return segment if segment is not None and is_valid_station_id(segment) else None


def offered_subprotocols(headers: Headers) -> list[str]:
    return [p.strip() for value in headers.get_all("Sec-WebSocket-Protocol")
            for p in value.split(",") if p.strip()]


class OcppServer:
    def __init__(self, services: Services, protocols: ProtocolRegistry,
                 registry: ConnectionRegistry, audit: BatchWriter) -> None:
        self._services = services
        self._settings = services.settings
        self._protocols = protocols
        # One router per version, by subprotocol.
        self._routers = {p.subprotocol: Router(services, p) for p in protocols}
        self._registry = registry
        self._audit = audit
        settings = services.settings
        self._throttle = AuthThrottle(LockoutPolicy(
            failures_allowed=settings.ocpp_auth_failures_allowed, window_s=60.0,
            base_lock_s=settings.ocpp_auth_lock_s, max_lock_s=settings.ocpp_auth_max_lock_s))
        self._handshakes = HandshakeGate(self._settings.handshakes_per_address)
        self._limits = ConnectionLimits(
            rate_per_s=self._settings.inbound_rate_per_s, burst=self._settings.inbound_burst,
            raw_max_bytes=self._settings.audit_raw_max_bytes)
        # Malformed frames per station over the last minute, kept across its reconnections.
        self._malformed: dict[str, WindowCounter] = {}
        # Stations registered by their first connection: plans and tariffs that target
        # them (by id) are materialised once they are connected.
        self._new_stations: set[str] = set()
        self._servers: list[Server] = []
        self._tls: list[TlsAcceptor] = []
        # The last auth_lockout event taken in, and the task that follows the others'.
        self._lockouts_seen = 0
        self._follow_lockouts: asyncio.Task[None] | None = None
        # The plain ws:// listener's port, and the TLS (wss://) listener's.
        self.port: int | None = None
        self.tls_port: int | None = None

    async def start(self) -> None:
        """The plain listener (profiles 0 and 1) unless switched off, and the TLS one
        (profiles 2 and 3) when a certificate is configured."""
        settings = self._settings
        await self._restore_lockouts()
        if settings.ocpp_plain:
            self.port = await self._listen(settings.ocpp_port, None)
            log.info("OCPP (%s) listening on ws://%s:%s/<station_id>", self._versions(),
                     settings.ocpp_host, self.port)
        if settings.ocpp_tls_cert:
            client_ca = settings.ocpp_tls_client_ca or built_in_ca(settings.ca_dir)
            context = server_context(settings.ocpp_tls_cert, settings.ocpp_tls_key,
                                     settings.ocpp_tls_chain, client_ca,
                                     rsa_cert=settings.ocpp_tls_rsa_cert,
                                     rsa_key=settings.ocpp_tls_rsa_key)
            acceptor = TlsAcceptor(context, self._tls_refused, TLS_HANDSHAKE_TIMEOUT_S)
            self._tls.append(acceptor)
            self.tls_port = await self._listen(settings.ocpp_tls_port, acceptor)
            log.info("OCPP (%s) listening on wss://%s:%s/<station_id> (client certificates "
                     "%s)", self._versions(), settings.ocpp_host, self.tls_port,
                     f"verified against {client_ca}" if client_ca else "not asked for")
        self._follow_lockouts = asyncio.create_task(self._follow_recorded_lockouts())

    async def _listen(self, port: int, tls: TlsAcceptor | None) -> int | None:
        settings = self._settings
        server = await serve(
            self._handle,
            settings.ocpp_host,
            port,
            process_request=self._process_request,
            # The stock selection (the server's list): a select_subprotocol callback would
            # make websockets close a reference cycle over every connection.
            subprotocols=[Subprotocol(name) for name in self._protocols.names],
            max_size=settings.max_frame_bytes,
            compression="deflate" if settings.ws_compression else None,
            ping_interval=settings.ws_ping_interval_s,
            ping_timeout=settings.ws_ping_interval_s,
            server_header="chargeplan",
            create_connection=connection_class(self._handshakes, tls),
        )
        self._servers.append(server)
        sockets = list(server.sockets)
        return int(sockets[0].getsockname()[1]) if sockets else None

    def _versions(self) -> str:
        return ", ".join(self._protocols.names)

    def handshakes_in_progress(self) -> int:
        return self._handshakes.in_progress()

    def _tls_refused(self, host: str | None, refusal: HandshakeRefusal) -> None:
        # The station is not known yet: a refused handshake never gets to its URL.
        kind = (SecurityEventKind.CERTIFICATE_REFUSED if refusal.certificate
                else SecurityEventKind.TLS_REFUSED)
        self._services.security_events.record(kind, remote_address=host,
                                              detail=refusal.detail(), coalesce=True)

    async def stop(self) -> None:
        if self._follow_lockouts is not None:
            self._follow_lockouts.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follow_lockouts
            self._follow_lockouts = None
        for acceptor in self._tls:
            await acceptor.close()
        for server in self._servers:
            server.close(close_connections=True)
        try:
            # A handler may wait on a writer that cannot write (its answer is sent after
            # commit): shutdown goes on without it, the writer's own stop reports the rows.
            await asyncio.wait_for(
                asyncio.gather(*(server.wait_closed() for server in self._servers)),
                STOP_BUDGET_S)
        except TimeoutError:
            log.warning("connections still closing after %.0f s: stopping without them",
                        STOP_BUDGET_S)

    async def _process_request(self, connection: ServerConnection,
                               request: Request) -> Response | None:
        try:
            return await self._admit(connection, request)
        finally:
            # Authentication is decided: the handshake no longer counts as in progress.
            if isinstance(connection, GatedConnection):
                connection.handshake_decided()

    async def _admit(self, connection: ServerConnection, request: Request) -> Response | None:
        if isinstance(connection, GatedConnection) and connection.over_limit():
            self._services.security_events.record(
                SecurityEventKind.HANDSHAKE_LIMIT, remote_address=remote_host(connection),
                detail={"handshakes_per_address": self._handshakes.limit}, coalesce=True)
            response = connection.respond(
                HTTPStatus.SERVICE_UNAVAILABLE,
                "too many handshakes in progress from this address; retry later\n")
            response.headers["Retry-After"] = "1"
            return response
        station_id = path_segment(request.path)
        if station_id is None:
            return connection.respond(
                HTTPStatus.NOT_FOUND,
                "connect at /<station_id> or /ocpp/<station_id> (one URL-safe path segment)\n")
        if not is_valid_station_id(station_id):
            self._services.security_events.record(
                SecurityEventKind.INVALID_STATION_ID, remote_address=remote_host(connection),
                detail={"station_id": station_id[:100]}, coalesce=True)
            return connection.respond(HTTPStatus.BAD_REQUEST,
                                      f"invalid station id: {STATION_ID_RULE}\n")
        chosen = self._protocols.select(offered_subprotocols(request.headers))
        if chosen is None:
            names = self._protocols.names
            return connection.respond(
                HTTPStatus.BAD_REQUEST,
                f"subprotocol {' or '.join(names)} required: send Sec-WebSocket-Protocol: "
                f"{names[0]}\n")
        # The station's preference, not the server's list: the stock selection picks the
        # first of the server's subprotocols the station offers, so this connection's
        # list is the one chosen (no select_subprotocol callback, see serve()).
        connection.protocol.available_subprotocols = [Subprotocol(chosen.subprotocol)]
        host = remote_host(connection) or "unknown"
        now = self._services.clock().timestamp()
        # A pair or station lockout refuses before any credential is checked; an address
        # lockout lets a correct credential through (auth_throttle.py says why).
        verdict = self._throttle.verdict(station_id, host, now)
        if verdict.refused_for > 0:
            return _too_many(connection, verdict.refused_for)
        tls, certificate = peer_identity(connection.transport)
        admission = await self._services.stations.admit(
            station_id, basic_credentials(request.headers.get("Authorization")),
            Transport(tls=tls, certificate=certificate), self._settings.cpo_name,
            register_unknown=verdict.throttled_for == 0)
        events = self._services.security_events
        if admission in _ADMITTED:
            self._throttle.succeed(station_id, host, self._services.clock().timestamp())
            if admission is Admission.ADMITTED_NEW:
                self._new_stations.add(station_id)
            if admission is Admission.ACCEPTED_NEW_PASSWORD:
                events.record(SecurityEventKind.PASSWORD_ROTATED, station_id=station_id,
                              remote_address=host,
                              detail={"detail": "connected with its new password; the old "
                                      "one no longer works"})
            return None
        if verdict.throttled_for > 0:
            if admission in _FAILED:
                self._fail(station_id, host, admission, now)
            return _too_many(connection, self._throttle.retry_after(station_id, host, now))
        if admission is Admission.UNKNOWN_STATION:
            log.warning("refused unknown station %s from %s", station_id, host)
            return connection.respond(HTTPStatus.NOT_FOUND,
                                      f"unknown station {station_id}: register it first\n")
        if admission in (Admission.NEEDS_TLS, Admission.NEEDS_CERTIFICATE):
            events.record(SecurityEventKind.PROFILE_REFUSED, station_id=station_id,
                          remote_address=host, detail={"reason": admission.value},
                          coalesce=True)
            log.warning("refused %s from %s: %s", station_id, host, admission.value)
            return connection.respond(HTTPStatus.FORBIDDEN, _REFUSALS[admission])
        self._fail(station_id, host, admission, now)
        if admission is Admission.CERTIFICATE_MISMATCH:
            return connection.respond(HTTPStatus.FORBIDDEN, _REFUSALS[admission])
        response = connection.respond(HTTPStatus.UNAUTHORIZED,
                                      "HTTP Basic credentials required or wrong "
                                      "(user = station id)\n")
        response.headers["WWW-Authenticate"] = 'Basic realm="chargeplan", charset="UTF-8"'
        return response

    async def _restore_lockouts(self) -> None:
        """Lockouts are kept in memory, and recorded as ``auth_lockout`` events: the ones
        still running are taken back at start, so a restart does not lift them, and then
        every few seconds the ones other nodes record. A station locked for every unknown
        address keeps the address it last connected from."""
        at = self._services.clock()
        lockouts = await running_lockouts(self._services.db, at,
                                          self._settings.ocpp_auth_max_lock_s,
                                          after_id=self._lockouts_seen)
        if lockouts:
            self._lockouts_seen = lockouts[-1].id
        now = at.timestamp()
        restored = [lock for lock in lockouts if self._throttle.restore(
            lock.kind, lock.station_id, lock.remote_address, lock.seconds, lock.remaining, now)]
        locked_stations = {lock.station_id for lock in restored
                           if lock.kind == "station" and lock.station_id}
        for station_id, host in (await last_addresses(self._services.db,
                                                      locked_stations)).items():
            self._throttle.known_address(station_id, host)
        if restored:
            log.info("%d authentication lockout(s) recorded and still running: taken in",
                     len(restored))

    async def _follow_recorded_lockouts(self) -> None:
        while True:
            await asyncio.sleep(LOCKOUT_FOLLOW_S)
            try:
                await self._restore_lockouts()
            except (SQLAlchemyError, OSError) as exc:  # the next round tries again
                log.warning("reading recorded lockouts failed: %s", exc)

    def _fail(self, station_id: str, host: str, admission: Admission, now: float) -> None:
        events = self._services.security_events
        kind = (SecurityEventKind.CERTIFICATE_REFUSED
                if admission is Admission.CERTIFICATE_MISMATCH else SecurityEventKind.AUTH_FAILED)
        events.record(kind, station_id=station_id, remote_address=host,
                      detail={"reason": admission.value}, coalesce=True)
        log.warning("refused %s from %s: %s", station_id, host, admission.value)
        for key, seconds in self._throttle.fail(station_id, host, now).started:
            events.record(SecurityEventKind.AUTH_LOCKOUT, station_id=station_id,
                          remote_address=host, detail={"key": key.partition(":")[0],
                                                       "seconds": seconds})

    async def _handle(self, ws: ServerConnection) -> None:
        station_id = station_id_from_path(ws.request.path if ws.request else "")
        router = self._routers.get(ws.subprotocol or "")
        # The handshake's headers (a dict and a list per header, both ways) are not
        # needed any more; kept, they are a fifth of the objects a connection makes the
        # garbage collector walk. The request itself stays: websockets reads it.
        if ws.request is not None:
            ws.request.headers.clear()
        ws.response = None
        if station_id is None or router is None:  # process_request refused it already
            return
        services = self._services
        malformed = self._malformed.get(station_id)
        if malformed is None:
            malformed = WindowCounter(self._settings.malformed_frames_per_minute)
            self._malformed[station_id] = malformed
        connection = StationConnection(
            station_id, ws, router=router, audit=self._audit,
            clock=services.clock, call_timeout=self._settings.call_timeout_s,
            limits=self._limits, malformed=malformed, security_events=services.security_events,
        )
        old = self._registry.replace(connection)
        if old is not None:
            log.info("%s reconnected: closing its previous connection", station_id)
            services.security_events.record(
                SecurityEventKind.CONNECTION_REPLACED, station_id=station_id,
                remote_address=remote_host(ws), detail={"detail": "an authenticated connection "
                                                  "replaced the previous one"}, coalesce=True)
            await old.close(1000, "replaced by a new connection of the same station")
        address = _address(ws)
        await services.stations.connected(station_id, self._settings.node_id, address,
                                          router.protocol.version)
        log.info("%s connected from %s", station_id, address or "an unknown address")
        if station_id in self._new_stations:
            self._new_stations.discard(station_id)
            services.bus.publish(StationAdmitted(station_id))
        try:
            await connection.serve()
        finally:
            if malformed.idle() and self._malformed.get(station_id) is malformed:
                del self._malformed[station_id]
            if self._registry.remove(connection):
                await asyncio.shield(services.stations.disconnected(
                    station_id, self._settings.node_id, services.clock()))
            log.info("%s disconnected (%s)", station_id, ws.close_code)


_ADMITTED = (Admission.ACCEPTED, Admission.ACCEPTED_NEW_PASSWORD, Admission.ADMITTED_NEW)
# Attempts that count as failed authentication (and towards lockouts).
_FAILED = (Admission.CREDENTIALS_REQUIRED, Admission.BAD_CREDENTIALS,
           Admission.CERTIFICATE_MISMATCH)


def _too_many(connection: ServerConnection, wait: float) -> Response:
    response = connection.respond(HTTPStatus.TOO_MANY_REQUESTS,
                                  "too many failed authentications; try again later\n")
    response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


_REFUSALS = {
    Admission.NEEDS_TLS: "this station's security profile requires TLS: connect with wss://\n",
    Admission.NEEDS_CERTIFICATE: "this station's security profile (3) requires a client "
    "certificate\n",
    Admission.CERTIFICATE_MISMATCH: "the client certificate does not name this station "
    "(CN) and operator (O)\n",
}


def basic_credentials(header: str | None) -> Credentials | None:
    """HTTP Basic with the password kept as bytes (an AuthorizationKey is 16-20 bytes, not
    necessarily text); a malformed header gives credentials that match nothing."""
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return Credentials("", b"")
    try:
        user, sep, password = base64.b64decode(token.strip(), validate=True).partition(b":")
        return Credentials(user.decode("utf-8"), password) if sep else Credentials("", b"")
    except (binascii.Error, UnicodeDecodeError):
        return Credentials("", b"")


def _address(connection: ServerConnection) -> str | None:
    """host:port as the station row keeps it; None when the peer is not known."""
    remote: Any = connection.remote_address
    if isinstance(remote, tuple) and len(remote) >= 2:
        return f"{remote[0]}:{remote[1]}"
    return None
