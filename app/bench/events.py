"""What live-event listeners cost the OCPP path: the same steady load on the same
connected fleet, with nobody listening and with SSE clients reading ``GET /events``.

The figure that matters is ``p99_ratio``: OCPP answer p99 with listeners over p99
without (the issue's target: within 10 %, at most 1.10). The phases run in the order
quiet, listened, listened, quiet (half the time each, the listeners staying connected
through the middle), so that what drifts during a run (a database growing by 2,000 audit
rows a second, say) weighs on both sides alike: run one after the other, a second quiet
phase was itself 1.2 times the first's p99.
"""

from __future__ import annotations

import threading
from types import TracebackType

import httpx

from app.bench import stats
from app.bench.commands import OpenLoop
from app.bench.config import BenchConfig
from app.bench.scenarios import PHASE_SLACK_S, Outcome, connect_within_s, open_pool
from app.bench.scenarios import _latency as latency
from app.bench.scenarios import _outcome as outcome
from app.bench.servers import RunningServer


class SseListeners:
    """``count`` clients reading every event, each in a thread of this process."""

    def __init__(self, http_url: str, count: int) -> None:
        self._url = http_url + "/events"
        self._stop = threading.Event()
        self._open = threading.Barrier(count + 1)
        self._lock = threading.Lock()
        self.received = 0
        self._threads = [threading.Thread(target=self._listen, daemon=True, name=f"sse-{n}")
                         for n in range(count)]

    def __enter__(self) -> SseListeners:
        for thread in self._threads:
            thread.start()
        self._open.wait(timeout=30)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _listen(self) -> None:
        opened = False
        with httpx.Client(timeout=httpx.Timeout(10, read=2)) as client:
            try:
                with client.stream("GET", self._url) as response:
                    for line in response.iter_lines():
                        if not opened:
                            opened = True
                            self._open.wait(timeout=30)
                        if line.startswith("data:"):
                            with self._lock:
                                self.received += 1
                        if self._stop.is_set():
                            return
            except httpx.ReadTimeout:
                # A quiet stream between heartbeats: the run is over or the server idle.
                return
            finally:
                if not opened:
                    self._open.abort()


def events_overhead(server: RunningServer, config: BenchConfig) -> Outcome:
    stations = config.events_stations
    http_url = server.http_url
    assert http_url is not None
    timeout = config.events_seconds + config.call_timeout_s + PHASE_SLACK_S
    with open_pool(server, stations, config) as pool:
        command = OpenLoop(rate_per_s=config.steady_rate_per_s / pool.size,
                           seconds=config.events_seconds / 2,
                           heartbeat_every=config.steady_heartbeat_every)
        connected = pool.connect(with_status=True, within_s=connect_within_s(stations))
        quiet = pool.run(command, timeout)
        with SseListeners(http_url, config.events_listeners) as listeners:
            listened = pool.run(command, timeout) + pool.run(command, timeout)
        quiet += pool.run(command, timeout)
        received = listeners.received
    without = latency(quiet)["p99_ms"]
    with_listeners = latency(listened)["p99_ms"]
    ratio = (with_listeners / without if isinstance(without, float | int) and without
             and isinstance(with_listeners, float | int) else None)
    return outcome(
        [*connected, *quiet, *listened],
        stations=stations,
        listeners=config.events_listeners,
        p99_ms_without=without,
        p99_ms_with=with_listeners,
        p99_ratio=stats.rounded(ratio, 3),
        events_received=received,
        errors=stats.errors(connected) + stats.errors(quiet) + stats.errors(listened),
    )
