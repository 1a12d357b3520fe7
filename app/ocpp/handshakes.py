"""The listener's handshakes, before any HTTP: counted per address, and on the TLS
listener run by the server itself.

Every connection counts against its address from the TCP accept until authentication is
decided (:class:`HandshakeGate`), so one address cannot hold thousands of half-open
handshakes. On the wss:// listener the connection runs its TLS handshake itself
(``loop.start_tls`` on the accepted socket, :class:`TlsAcceptor`): a refused one (expired
or unknown client certificate, TLS 1.1, no common suite) never reaches HTTP, and this is
the only place that learns why and from which address.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Coroutine
from typing import Any, cast

from websockets.asyncio.server import ServerConnection

from app.ocpp.connection import remote_host
from app.ocpp.tls import HandshakeRefusal, handshake_refusal
from app.tasks import TaskOwner

log = logging.getLogger(__name__)

# Bytes a client may send before its TLS handshake runs (a ClientHello is a few hundred).
RAW_TLS_MAX_BYTES = 65536


class HandshakeGate:
    """Handshakes in progress per address: from the TCP accept until authentication is
    decided. Half-open connections (a request that never ends) count until websockets'
    open timeout (10 s) closes them. Over the limit a request is answered 503; over twice
    the limit a new socket is closed at once, so one address cannot hold thousands."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._in_progress: dict[str, int] = {}

    def enter(self, host: str) -> None:
        self._in_progress[host] = self._in_progress.get(host, 0) + 1

    def over_limit(self, host: str) -> bool:
        return self._in_progress.get(host, 0) > self.limit

    def far_over_limit(self, host: str) -> bool:
        return self._in_progress.get(host, 0) > 2 * self.limit

    def leave(self, host: str) -> None:
        count = self._in_progress.get(host, 0) - 1
        if count > 0:
            self._in_progress[host] = count
        else:
            self._in_progress.pop(host, None)

    def in_progress(self) -> int:
        return sum(self._in_progress.values())


class TlsAcceptor:
    """The TLS side of the wss:// listener: the context, what a refusal triggers, and the
    handshakes in progress (owned here, cancelled at stop)."""

    def __init__(self, context: ssl.SSLContext,
                 on_refused: Callable[[str | None, HandshakeRefusal], None],
                 timeout_s: float) -> None:
        self.context = context
        self.on_refused = on_refused
        self.timeout_s = timeout_s
        self._handshakes = TaskOwner(log)

    def start(self, handshake: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        return self._handshakes.spawn(handshake, "tls-handshake")

    async def close(self) -> None:
        """Cancel the handshakes still in progress and wait for them to end."""
        await self._handshakes.close()


class _EarlyData(asyncio.Protocol):
    """Holds what arrives between the end of the TLS handshake and the websocket
    connection taking the transport over."""

    def __init__(self) -> None:
        self.data: list[bytes] = []
        self.closed = False

    def data_received(self, data: bytes) -> None:
        self.data.append(data)

    def eof_received(self) -> bool | None:
        self.closed = True
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True


class GatedConnection(ServerConnection):
    """A websockets connection that counts its handshake against its address and leaves
    no reference cycle behind when the handshake fails.

    websockets keeps why a handshake failed (``protocol.handshake_exc``: the client closed
    mid-request, sent no HTTP, ...) with its traceback, whose frames hold the protocol:
    a cycle per failed handshake that only a full collection frees, and serve makes those
    rare. Once the socket is gone the reason has served its purpose."""

    gate: HandshakeGate
    tls: TlsAcceptor | None = None
    _gated: str | None = None
    # True from the TCP accept until TLS is up: the websocket side has no transport yet.
    _raw_tls = False
    _raw_data: list[bytes]
    _raw_transport: asyncio.BaseTransport | None = None
    _tls_up = False
    _tls_task: asyncio.Task[None] | None = None
    # The peer as accepted (host, port): see remote_address.
    _peer: Any = None

    @property
    def remote_address(self) -> Any:
        """The client's address, kept from the TCP accept: a closed TLS (or uvloop)
        transport no longer knows it, and a station that left right after its handshake
        was "connected from None"."""
        return self._peer if self._peer is not None else super().remote_address

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.tls is not None and not self._tls_up:
            self._raw_data = []
            self._raw_transport = transport
            self._accept_tls(cast(asyncio.Transport, transport))
            return
        super().connection_made(transport)
        if self._peer is None:
            self._peer = transport.get_extra_info("peername")
        host = remote_host(self)
        if host is None:
            return
        self.gate.enter(host)
        self._gated = host
        if self.gate.far_over_limit(host):
            # Twice the limit of sockets that have not even sent their request: no
            # HTTP answer is possible yet, and holding them is what is refused.
            self.transport.abort()

    def _accept_tls(self, raw: asyncio.Transport) -> None:
        assert self.tls is not None
        self._raw_tls = True
        peer: Any = raw.get_extra_info("peername")
        self._peer = peer
        host = str(peer[0]) if isinstance(peer, tuple) and peer else None
        if host is not None:
            self.gate.enter(host)
            self._gated = host
            if self.gate.far_over_limit(host):
                raw.abort()
                return
        # asyncio reads nothing until TLS runs over the socket; uvloop starts reading
        # after this method whatever it asked, so what it reads first is kept for TLS.
        raw.pause_reading()
        self._tls_task = self.tls.start(self._handshake(raw, host))

    def data_received(self, data: bytes) -> None:
        if not self._raw_tls:
            super().data_received(data)
            return
        self._raw_data.append(data)
        if sum(map(len, self._raw_data)) > RAW_TLS_MAX_BYTES:  # no ClientHello is this long
            self._raw_data.clear()
            cast(asyncio.Transport, self._raw_transport).abort()

    def eof_received(self) -> None:
        if self._raw_tls:  # the client gave up before TLS: the socket closes
            return
        super().eof_received()

    async def _handshake(self, raw: asyncio.Transport, host: str | None) -> None:
        assert self.tls is not None
        loop = asyncio.get_running_loop()
        early = _EarlyData()
        self._raw_transport = raw
        upgrade = loop.create_task(loop.start_tls(
            raw, early, self.tls.context, server_side=True,
            ssl_handshake_timeout=self.tls.timeout_s))
        try:
            # One step of start_tls puts its TLS protocol on the socket (and stops reading
            # until that protocol starts): bytes read before that go to it first.
            await asyncio.sleep(0)
            tls_protocol = raw.get_protocol()
            if tls_protocol is not self:
                _feed(tls_protocol, self._raw_data)
            self._raw_data = []
            transport = await upgrade
        except ssl.SSLError as exc:
            self.handshake_decided()
            self.tls.on_refused(host, handshake_refusal(exc))
            _forget(exc)
            return
        except (OSError, TimeoutError) as exc:  # the client left, or took too long
            self.handshake_decided()
            _forget(exc)
            return
        except asyncio.CancelledError:
            upgrade.cancel()
            self.handshake_decided()
            raise
        finally:
            self._tls_task = None
            self._raw_transport = None
            del upgrade  # see _forget
        if transport is None or early.closed:
            self.handshake_decided()
            if transport is not None:
                transport.abort()
            return
        transport.set_protocol(self)
        self._raw_tls, self._tls_up = False, True
        # The gate counted this handshake from the TCP accept; the websocket side counts
        # it again until authentication is decided.
        self.handshake_decided()
        self.connection_made(transport)
        for chunk in early.data:
            self.data_received(chunk)

    def over_limit(self) -> bool:
        return self._gated is not None and self.gate.over_limit(self._gated)

    def handshake_decided(self) -> None:
        if self._gated is not None:
            self.gate.leave(self._gated)
            self._gated = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._raw_tls:  # the TCP socket went before TLS was up: no websocket to close
            if self._tls_task is not None:
                self._tls_task.cancel()
            self.handshake_decided()
            return
        super().connection_lost(exc)
        self.handshake_decided()
        self.protocol.handshake_exc = None


def _forget(exc: BaseException) -> None:
    """Let a failed TLS upgrade go without the cycle collector. Its exception's traceback
    holds the frames it went through: start_tls's, which holds the future that holds the
    exception, and the handshake's, which holds the upgrade task that holds it too. Each
    refused handshake left such a cycle, with its TLS protocol and connection, that only a
    full collection frees (and serve makes those rare): 10,000 refused handshakes grew the
    server by 200 MiB."""
    exc.__traceback__ = None
    exc.__context__ = None


def _feed(protocol: Any, chunks: list[bytes]) -> None:
    """Hand bytes to a protocol as its transport would (TLS protocols are buffered)."""
    for chunk in chunks:
        view = memoryview(chunk)
        while view:
            if not hasattr(protocol, "get_buffer"):
                protocol.data_received(bytes(view))
                break
            buffer = protocol.get_buffer(len(view))
            size = min(len(buffer), len(view))
            buffer[:size] = view[:size]
            protocol.buffer_updated(size)
            view = view[size:]


def connection_class(gate: HandshakeGate, tls: TlsAcceptor | None) -> type[GatedConnection]:
    """The connection class of one server, bound to its gate and its TLS side."""
    return cast(type[GatedConnection],
                type("OcppConnection", (GatedConnection,), {"gate": gate, "tls": tls}))
