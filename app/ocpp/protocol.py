"""What one OCPP version means, as the neutral core asks for it: the version adapter.

Everything a version shares with the others lives beside this module: the listener and
its admission (``server.py``), TLS and handshakes, OCPP-J framing, rate limits, the
authentication throttle, the audit trail, the registry of live connections, one
connection per socket, the router and the services' gateway. What a version means is an
adapter (``app/ocpp/v16/`` for OCPP 1.6): its websocket subprotocol, its schemas, the
handlers of what a station sends, and how a call of the services becomes a CALL on the
wire and its CALLRESULT an answer again. The subprotocol a station offers at the
handshake picks the adapter of its connection (``versions.py`` lists them).

Services speak one language to the gateway, the actions and payloads of the first
adapter registered (OCPP 1.6 today); another version's adapter translates from it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from app.domain.protocol_rules import OcppVersion
from app.json_types import JsonObject
from app.ocpp.errors import ErrorCode
from app.services.ports import ProfileReport, StationProfile

if TYPE_CHECKING:
    from app.ocpp.router import Handler


class Validators(Protocol):
    """A version's schemas: raise :class:`~app.ocpp.errors.OcppError` for a payload that
    breaks the action's request (``.req``) or response (``.conf``) schema."""

    def validate_request(self, action: str, payload: dict[str, Any]) -> None: ...

    def validate_response(self, action: str, payload: dict[str, Any]) -> None: ...


# One CALL on a station's connection: action and payload out, CALLRESULT payload back.
Send = Callable[[str, JsonObject], Awaitable[JsonObject]]


@dataclass(frozen=True, slots=True)
class OutgoingCall:
    """The CALL a version sends for one call of the services: its action and payload."""

    action: str
    payload: JsonObject


class ProtocolAdapter(Protocol):
    """One OCPP version behind its websocket subprotocol."""

    @property
    def subprotocol(self) -> str:
        """The ``Sec-WebSocket-Protocol`` name a station offers for it (``ocpp1.6``)."""
        ...

    @property
    def version(self) -> OcppVersion:
        """The OCPP version a station on it speaks, as stations record it."""
        ...

    @property
    def schemas(self) -> Validators:
        """Checks what a station sends and what the server answers it."""
        ...

    @property
    def handlers(self) -> Mapping[str, Handler]:
        """The handler of each action a station sends, by action."""
        ...

    @property
    def station_actions(self) -> frozenset[str]:
        """Every action a station may send (a handler for one outside it is a mistake)."""
        ...

    @property
    def server_actions(self) -> frozenset[str]:
        """Every action the server may send (a station sending one is NotSupported, an
        action in neither set NotImplemented)."""
        ...

    @property
    def while_pending(self) -> frozenset[str]:
        """What a station may send while its boot is Pending, beside what chargeplan's
        TriggerMessage asked for; anything else is answered SecurityError."""
        ...

    def error_code(self, code: ErrorCode) -> str:
        """``code`` as this version spells it in a CALLERROR (the core names the OCPP-J 1.6
        codes; 2.0.1 spells two of them differently)."""
        ...

    def outgoing(self, action: str, payload: JsonObject) -> OutgoingCall:
        """The CALL for a call of the services; raise OcppError when it cannot be sent
        (an action this version has no CALL for, a payload that breaks its schema)."""
        ...

    def answer(self, action: str, payload: JsonObject) -> JsonObject:
        """The services' answer to ``action`` from the station's CALLRESULT payload;
        raise OcppError when the payload breaks the version's schema."""
        ...

    async def held_profiles(self, station_id: str, send: Send, timeout: float
                            ) -> list[StationProfile] | None:
        """What the station says it holds of the profiles a central system sets, asked
        with ``send`` (CALLs on its connection; what the station sends back arrives
        through the version's handlers) and waited for up to ``timeout``; None when the
        version has no way to ask. Raise OcppError for an answer that breaks the
        version's schema, StationCallError when the station does not tell in time."""
        ...

    async def profile_report(self, station_id: str, request: JsonObject, send: Send,
                             timeout: float) -> ProfileReport | None:
        """The station's answer to a GetChargingProfiles ``request`` (in the version's
        own terms, already checked by :meth:`outgoing`) and the pages it brings, waited
        for up to ``timeout``; None when the version has no such request."""
        ...


class ProtocolRegistry:
    """The version adapters a server offers. When a station offers several of their
    subprotocols, the station's first is chosen (:meth:`select`)."""

    def __init__(self, adapters: Iterable[ProtocolAdapter]) -> None:
        self._adapters: dict[str, ProtocolAdapter] = {}
        for adapter in adapters:
            if adapter.subprotocol in self._adapters:
                raise ValueError(f"two adapters for subprotocol {adapter.subprotocol!r}")
            self._adapters[adapter.subprotocol] = adapter
        if not self._adapters:
            raise ValueError("no OCPP version adapter")

    def __iter__(self) -> Iterator[ProtocolAdapter]:
        return iter(self._adapters.values())

    @property
    def names(self) -> list[str]:
        return list(self._adapters)

    @property
    def primary(self) -> ProtocolAdapter:
        """The first adapter: its actions and payloads are the language of the services'
        calls, and it checks a call for a station that is not connected here."""
        return next(iter(self._adapters.values()))

    def get(self, subprotocol: str | None) -> ProtocolAdapter | None:
        return None if subprotocol is None else self._adapters.get(subprotocol)

    def select(self, offered: Iterable[str]) -> ProtocolAdapter | None:
        """The adapter a station offering ``offered`` gets: the first subprotocol it
        offers that is ours (a client lists them "ordered by preference", RFC 6455 §4.1);
        None when it offers none of ours."""
        return next((self._adapters[name] for name in offered if name in self._adapters),
                    None)
