"""What the bench process asks of its load workers, and what they report back.

Everything here crosses a process boundary through a pipe, so it is plain picklable data.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import Literal

LoadAction = Literal["Heartbeat", "MeterValues"]


@dataclass(frozen=True)
class WorkerSpec:
    """One worker's share of the stations and how to reach the server."""

    ocpp_url: str
    station_ids: tuple[str, ...]
    call_timeout_s: float
    connect_concurrency: int
    open_timeout_s: float
    # Several servers (nodes): the URL each station connects to, in `station_ids` order.
    station_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class Connect:
    """Connect every station and boot it; optionally report both connectors Available.

    Stations still not up after `within_s` seconds are abandoned and count as errors.
    """

    with_status: bool
    within_s: float


@dataclass(frozen=True)
class ClosedLoop:
    """Every station sends `action` as soon as its previous CALL is answered."""

    action: LoadAction
    seconds: float


@dataclass(frozen=True)
class OpenLoop:
    """The worker's stations together send CALLs at a fixed rate, whatever the answers do."""

    rate_per_s: float
    seconds: float
    heartbeat_every: int


@dataclass(frozen=True)
class Disconnect:
    """Close every connection."""


Command = Connect | ClosedLoop | OpenLoop | Disconnect


@dataclass
class PhaseReport:
    """The outcome of one command on one worker; times are `time.monotonic()` seconds."""

    started: float
    finished: float
    completed: int = 0
    errors: int = 0
    latencies_ms: array[float] = field(default_factory=lambda: array("d"))
    error_samples: list[str] = field(default_factory=list)

    def record_error(self, reason: str, keep: int = 5) -> None:
        self.errors += 1
        if len(self.error_samples) < keep and reason not in self.error_samples:
            self.error_samples.append(reason)


@dataclass(frozen=True)
class WorkerFailed:
    """A worker that could not carry out a command says why."""

    reason: str
