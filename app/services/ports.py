"""What services need from the outside world, as interfaces the adapters implement.

Services reach chargers only through :class:`ChargerGateway`; ``app.bootstrap`` wires in
the OCPP adapter's implementation, so no service imports the adapter.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from app.domain.profiles import ChargingProfile
from app.json_types import JsonObject

T = TypeVar("T")


class StationCallError(Exception):
    """A server-initiated CALL did not produce a CALLRESULT. Always keeps its reason."""

    kind = "error"

    def __init__(self, station_id: str, action: str, reason: str) -> None:
        super().__init__(f"{action} to {station_id}: {reason}")
        self.station_id = station_id
        self.action = action
        self.reason = reason


class StationOffline(StationCallError):
    kind = "offline"

    def __init__(self, station_id: str, action: str) -> None:
        super().__init__(station_id, action, "station offline")


class CallTimeout(StationCallError):
    kind = "timeout"

    def __init__(self, station_id: str, action: str, timeout: float) -> None:
        super().__init__(station_id, action, f"no answer within {timeout:g} s")
        self.timeout = timeout


class CallErrorReceived(StationCallError):
    """The station answered with a CALLERROR (OCPP-J 1.6 §4.2.3)."""

    kind = "callerror"

    def __init__(
        self, station_id: str, action: str, code: str, description: str, details: Any = None
    ) -> None:
        super().__init__(station_id, action, f"CALLERROR {code}: {description}")
        self.code = code
        self.description = description
        self.details = details


class InvalidResponse(StationCallError):
    """The station's CALLRESULT broke the OCPP 1.6 schema of the action's .conf."""

    kind = "invalid_response"


class InvalidRequest(StationCallError):
    """The server's own CALL broke the OCPP 1.6 schema of the action's .req (or is not an
    action the central system sends): refused before it leaves."""

    kind = "invalid_request"


def call_error_to_json(exc: StationCallError) -> JsonObject:
    """A typed call error as JSON, for another node to raise again."""
    out: JsonObject = {"kind": exc.kind, "reason": exc.reason}
    if isinstance(exc, CallErrorReceived):
        out.update(code=exc.code, description=exc.description, details=exc.details)
    if isinstance(exc, CallTimeout):
        out["timeout"] = exc.timeout
    return out


def call_error_from_json(station_id: str, action: str, error: JsonObject
                         ) -> StationCallError:
    """The typed call error :func:`call_error_to_json` wrote."""
    kind, reason = error.get("kind"), str(error.get("reason", ""))
    if kind == StationOffline.kind:
        return StationOffline(station_id, action)
    if kind == CallTimeout.kind:
        return CallTimeout(station_id, action, float(error.get("timeout", 0.0)))
    if kind == CallErrorReceived.kind:
        return CallErrorReceived(station_id, action, str(error.get("code")),
                                 str(error.get("description", "")), error.get("details"))
    if kind == InvalidResponse.kind:
        return InvalidResponse(station_id, action, reason)
    return StationCallError(station_id, action, reason)


@dataclass(frozen=True)
class StationProfile:
    """A profile a station says it holds, of those a central system sets (read back from
    the station, not from what it acknowledged), on its connector (0 = the whole
    station). ``profile`` is None when it has no form of the services' profiles (several
    schedules, a phase to use): never what chargeplan sent, so never a desired one."""

    connector_id: int
    charging_profile_id: int
    profile: ChargingProfile | None


@dataclass(frozen=True)
class ProfileReport:
    """A station's answer to GetChargingProfiles (OCPP 2.0.1 K09) and the
    ReportChargingProfiles pages of its requestId that came, in order, as the station sent
    them. ``complete``: the last page (``tbc`` false) came, or the answer promised none."""

    answer: JsonObject
    pages: tuple[JsonObject, ...] = ()
    complete: bool = True

    @property
    def status(self) -> str:
        return str(self.answer.get("status"))

    def profiles(self) -> list[JsonObject]:
        """Every profile of every page, with the EVSE and the source of its page."""
        return [{"evseId": page["evseId"], "chargingLimitSource": page["chargingLimitSource"],
                 "chargingProfile": profile}
                for page in self.pages for profile in page["chargingProfile"]]

    def to_json(self) -> JsonObject:
        """As JSON, for the node that asked (several nodes on one PostgreSQL)."""
        return {"answer": self.answer, "pages": list(self.pages), "complete": self.complete}

    @classmethod
    def from_json(cls, data: JsonObject) -> ProfileReport:
        return cls(data["answer"], tuple(data["pages"]), bool(data["complete"]))


class ChargerGateway(Protocol):
    def is_connected(self, station_id: str) -> bool: ...

    def connected_station_ids(self) -> list[str]:
        """Stations whose websocket this process holds (only it may talk to them)."""
        ...

    async def reachable(self, station_id: str) -> bool:
        """A call can reach the station now: this process holds its websocket, or (several
        nodes on one PostgreSQL) a live node does and carries the call out."""
        ...

    async def call(
        self,
        station_id: str,
        action: str,
        payload: JsonObject,
        *,
        timeout: float | None = None,
        desired_profile_id: int | None = None,
    ) -> JsonObject:
        """Send one CALL and return the CALLRESULT payload, or raise StationCallError."""
        ...

    async def held_profiles(self, station_id: str) -> list[StationProfile] | None:
        """The profiles set by a central system that the station says it holds, read back
        from the station itself; None when its protocol cannot tell (OCPP 1.6 has no such
        message). Raises StationCallError: a station that does not tell in time is
        unknown, never taken as holding nothing."""
        ...

    async def profile_report(self, station_id: str, request: JsonObject, *,
                             timeout: float) -> ProfileReport:
        """Send GetChargingProfiles ``request`` (OCPP 2.0.1, K09) and collect the
        ReportChargingProfiles pages of its requestId, waiting for the last one at most
        ``timeout`` seconds after the answer (``complete`` says whether it came). Raises
        StationCallError: InvalidRequest for a request the station's protocol does not
        have or that breaks its schema."""
        ...


class CheckedGateway(ChargerGateway, Protocol):
    """The gateway of this process's own websockets, which can also check a CALL before
    it is handed to another node (the cluster's routed gateway wraps it)."""

    # (action, outcome) -> count, for /metrics; outcome: ok or the error kind.
    calls: Counter[tuple[str, str]]

    def check_request(self, station_id: str, action: str, payload: JsonObject) -> None:
        """Raise InvalidRequest unless ``payload`` is a valid ``action`` the central system
        may send."""
        ...

    def holds(self, station_id: str) -> bool:
        """The station's socket is open here, its boot accepted or not (``is_connected``
        is False for one whose boot was answered Pending)."""
        ...


class Peers(Protocol):
    """The other nodes on the same database (none on SQLite)."""

    async def run_elsewhere(self, job: str, station_ids: list[str] | None,
                            trigger: str) -> None:
        """Ask the nodes holding these stations (None: every other live node, for all of its
        stations) to run ``job`` (reconcile or verify) for them now."""
        ...

    async def once(self, key: str, work: Callable[[], Awaitable[object]]) -> bool:
        """Run a fleet job unless another node is running the one named ``key``; False
        when it was left to that node."""
        ...

    async def exclusive(self, key: str, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work`` once no node runs other work named ``key``: the next in line
        waits."""
        ...


class NoPeers:
    """One node alone: nothing runs elsewhere."""

    async def run_elsewhere(self, job: str, station_ids: list[str] | None,
                            trigger: str) -> None:
        return None

    async def once(self, key: str, work: Callable[[], Awaitable[object]]) -> bool:
        await work()
        return True

    async def exclusive(self, key: str, work: Callable[[], Awaitable[T]]) -> T:
        return await work()
