"""What the bench reads off a running server: memory, CPU time, the metrics endpoint."""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from types import TracebackType
from typing import Final

import psutil

SAMPLE_INTERVAL_S: Final = 0.1
# Loopback only: never route the bench's own requests through a proxy from the environment.
_DIRECT: Final = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(url: str, timeout_s: float = 2.0) -> tuple[int, bytes] | None:
    """Status and body of a GET, or None when nothing answered."""
    try:
        with _DIRECT.open(url, timeout=timeout_s) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, b""
    except OSError:
        return None


def _tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def rss_bytes(pid: int) -> int:
    """Resident memory of the server process and any processes it started."""
    total = 0
    for process in _tree(pid):
        with contextlib.suppress(psutil.Error):
            total += process.memory_info().rss
    return total


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of the server process and its children so far."""
    total = 0.0
    for process in _tree(pid):
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


class PeakRssSampler:
    """Samples a process tree's RSS every 100 ms in a thread; a context manager."""

    def __init__(self, pid: int, interval_s: float = SAMPLE_INTERVAL_S) -> None:
        self._pid = pid
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self.peak_bytes = 0

    def __enter__(self) -> PeakRssSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(5.0)
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self._sample()

    def _sample(self) -> None:
        with contextlib.suppress(psutil.Error):
            self.peak_bytes = max(self.peak_bytes, rss_bytes(self._pid))


def read_gauge(metrics_url: str, name: str, timeout_s: float = 2.0) -> float | None:
    """The value of one unlabelled gauge in a Prometheus text exposition, or None."""
    answer = http_get(metrics_url, timeout_s)
    if answer is None or answer[0] != 200:
        return None
    text = answer[1].decode("utf-8", "replace")
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == name:
            try:
                return float(parts[1])
            except ValueError:
                return None
    return None


def audit_queue_depth(http_url: str) -> float | None:
    """Frames waiting in the server's audit queue.

    From the ``chargeplan_audit_queue_depth`` gauge of ``/metrics`` when the server exposes
    one, else from the ``audit_queue_depth`` field of its ``/health`` answer.
    """
    value = read_gauge(f"{http_url}/metrics", "chargeplan_audit_queue_depth")
    if value is not None:
        return value
    answer = http_get(f"{http_url}/health")
    if answer is None or not answer[1]:
        return None
    try:
        depth = json.loads(answer[1]).get("audit_queue_depth")
    except (ValueError, AttributeError):
        return None
    return float(depth) if isinstance(depth, int | float) else None


class PeakPoller:
    """Polls a reading once a second in a thread and keeps the highest value seen."""

    def __init__(self, read: Callable[[], float | None], interval_s: float = 1.0) -> None:
        self._read = read
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-poller", daemon=True)
        self.peak: float | None = None

    def __enter__(self) -> PeakPoller:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(5.0)
        self._poll()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self._poll()

    def _poll(self) -> None:
        value = self._read()
        if value is not None:
            self.peak = value if self.peak is None else max(self.peak, value)
