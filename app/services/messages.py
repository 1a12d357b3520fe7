"""What happens inside chargeplan, as typed messages.

OCPP handlers, REST controllers, jobs and services *publish* these (``Publisher``); the
one table of what follows each of them is ``app/reactions.py``. A message says what
happened, in the past tense, with the ids it happened to; it decides nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.protocol_rules import OcppVersion
from app.events import Event


@dataclass(frozen=True, slots=True)
class Message:
    """Something that happened (or, for the few commands, is asked for)."""


# --- stations --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StationBooted(Message):
    """The answer to the station's BootNotification is out; the OCPP version it speaks."""

    station_id: str
    ocpp_version: OcppVersion


@dataclass(frozen=True, slots=True)
class StationsBooted(Message):
    """The stations that booted within a short window, together (a reconnect storm costs
    one query per batch)."""

    station_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StationRegistered(Message):
    """An operator registered the station (POST /stations)."""

    station_id: str


@dataclass(frozen=True, slots=True)
class StationAdmitted(Message):
    """An unknown station was registered by its first connection and is now connected."""

    station_id: str


@dataclass(frozen=True, slots=True)
class StationsAdmitted(Message):
    """The stations admitted within a short window, together."""

    station_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StationChanged(Message):
    """An operator changed the station's registration (PATCH /stations/{id}): ``fields``
    are the names changed; ``managed_again`` when it is managed again."""

    station_id: str
    fields: frozenset[str]
    managed_again: bool = False


@dataclass(frozen=True, slots=True)
class StationReleased(Message):
    """An operator released the station's hold: it is asked to boot again at once."""

    station_id: str


# --- charging sessions ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TransactionStarted(Message):
    """A StartTransaction was recorded (a replay of one is not). ``superseded``: the
    transactions it closed, which never stopped on the same connector;
    ``reservation_id``: the reservation it ends, as the station named it."""

    station_id: str
    connector_id: int
    transaction_id: int
    id_tag: str
    status: str
    meter_start: int
    superseded: tuple[int, ...] = ()
    reservation_id: int | None = None


@dataclass(frozen=True, slots=True)
class TransactionStopped(Message):
    """The first StopTransaction of a transaction was recorded."""

    station_id: str
    connector_id: int
    transaction_id: int
    meter_stop: int
    reason: str


@dataclass(frozen=True, slots=True)
class TransactionReported(Message):
    """An OCPP 2.0.1 station told of a transaction it started before its latest boot,
    for the first time since that boot: the transaction still runs on it."""

    station_id: str
    transaction_id: int


@dataclass(frozen=True, slots=True)
class TransactionEventsMissing(Message):
    """An OCPP 2.0.1 station ended a transaction and events of it were not heard: the
    seqNos between the first one heard and the Ended one that never came (``missing``;
    ``remote_id``: the station's own id of the transaction)."""

    station_id: str
    transaction_id: int
    remote_id: str
    missing: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ChargingStateChanged(Message):
    """A connector with a transaction reported Charging, SuspendedEV or SuspendedEVSE: a
    car paused or charges again."""

    station_id: str


@dataclass(frozen=True, slots=True)
class SessionMetered(Message):
    """A charging session sent meter samples."""

    station_id: str


@dataclass(frozen=True, slots=True)
class NeedsChanged(Message):
    """What a running session needs (energy by a departure) was asked for or withdrawn;
    ``by_car``: the car said so itself (OCPP 2.0.1 NotifyEVChargingNeeds)."""

    station_id: str
    transaction_id: int
    by_car: bool = False


@dataclass(frozen=True, slots=True)
class EvScheduleRejected(Message):
    """The schedule a car chose was above what chargeplan allows for its session (OCPP
    2.0.1 NotifyEVChargingSchedule answered Rejected): a renegotiation is due."""

    station_id: str
    transaction_id: int
    schedule_id: int


@dataclass(frozen=True, slots=True)
class ExternalLimitChanged(Message):
    """A limit set outside chargeplan (a grid operator's, an energy manager's) on the
    station was reported or cleared (OCPP 2.0.1 NotifyChargingLimit, ClearedChargingLimit)."""

    station_id: str


# --- desired state ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DesiredChanged(Message):
    """Desired profiles of these stations were stored or withdrawn by an owner other than
    a circuit (a user, a plan, a tariff, a remote start)."""

    station_ids: tuple[str, ...]


# --- circuits --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CircuitChanged(Message):
    """A circuit's limits, windows, place in the tree or measurement changed (over REST,
    or its meter connector sent samples)."""

    circuit_id: str


@dataclass(frozen=True, slots=True)
class StationsLeftCircuit(Message):
    """The stations no longer hang from the circuit they did (it was deleted, or they
    were moved or taken off)."""

    station_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CircuitsDue(Message):
    """The circuit trees of these stations are due a re-plan (what a short window of
    sessions' happenings collected); ``trigger`` says why."""

    station_ids: tuple[str, ...]
    trigger: str


@dataclass(frozen=True, slots=True)
class AllCircuitsDue(Message):
    """Every circuit tree is due a re-plan (the interval: windows follow the clock,
    leases are renewed)."""

    trigger: str


# --- jobs ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class JobRequested(Message):
    """A run of ``job`` (reconcile or verify) is asked for, for these stations (None:
    all). ``elsewhere``: the nodes holding the others run it for theirs too."""

    job: str
    station_ids: tuple[str, ...] | None
    trigger: str
    elsewhere: bool = True


# --- live events for users ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LiveEvent(Message):
    """An event for users (``/events``, webhooks, other nodes' listeners) was emitted."""

    event: Event
