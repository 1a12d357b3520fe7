"""The bench side of the load workers: start them, give them commands, collect reports."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Final

from app.bench.commands import Command, Connect, Disconnect, PhaseReport, WorkerFailed, WorkerSpec
from app.bench.errors import BenchError
from app.bench.worker import worker_main

JOIN_TIMEOUT_S: Final = 10.0
# Workers are spawned, not forked: the bench process runs sampler threads, and a fork would
# copy their locks mid-flight.
_CONTEXT: Final = multiprocessing.get_context("spawn")


def station_ids(count: int, prefix: str = "BENCH") -> list[str]:
    return [f"{prefix}{index:05d}" for index in range(count)]


def split(items: Sequence[str], parts: int) -> list[tuple[str, ...]]:
    """Split into at most `parts` contiguous, near-equal, non-empty shares."""
    parts = max(1, min(parts, len(items)))
    size, extra = divmod(len(items), parts)
    shares: list[tuple[str, ...]] = []
    start = 0
    for index in range(parts):
        end = start + size + (1 if index < extra else 0)
        shares.append(tuple(items[start:end]))
        start = end
    return [share for share in shares if share]


class WorkerPool:
    """Worker processes that share the stations; used as a context manager."""

    def __init__(
        self,
        ocpp_url: str | Sequence[str],
        stations: int,
        workers: int,
        call_timeout_s: float,
        connect_concurrency: int,
    ) -> None:
        """One URL, or several servers' URLs: then station n connects to URL n modulo
        their number, so the stations spread evenly over the servers."""
        urls = (ocpp_url,) if isinstance(ocpp_url, str) else tuple(ocpp_url)
        self.station_ids: tuple[str, ...] = tuple(station_ids(stations))
        url_of = {s: urls[n % len(urls)] for n, s in enumerate(self.station_ids)}
        shares = split(self.station_ids, workers)
        per_worker = max(1, connect_concurrency // max(1, len(shares)))
        self._specs = [
            WorkerSpec(
                ocpp_url=urls[0],
                station_ids=share,
                call_timeout_s=call_timeout_s,
                connect_concurrency=per_worker,
                open_timeout_s=max(call_timeout_s, 10.0),
                station_urls=tuple(url_of[s] for s in share) if len(urls) > 1 else (),
            )
            for share in shares
        ]
        self._pipes: list[Connection] = []
        self._processes: list[BaseProcess] = []

    @property
    def size(self) -> int:
        return len(self._specs)

    def __enter__(self) -> WorkerPool:
        try:
            for index, spec in enumerate(self._specs):
                ours, theirs = _CONTEXT.Pipe()
                process = _CONTEXT.Process(
                    target=worker_main,
                    args=(theirs, spec),
                    name=f"bench-worker-{index}",
                    daemon=True,
                )
                process.start()
                theirs.close()
                self._pipes.append(ours)
                self._processes.append(process)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def connect(self, with_status: bool, within_s: float) -> list[PhaseReport]:
        """Bring every station up; those not up within `within_s` are reported as errors."""
        return self.run(Connect(with_status, within_s), within_s + JOIN_TIMEOUT_S + 30.0)

    def run(self, command: Command, timeout_s: float) -> list[PhaseReport]:
        """Send `command` to every worker and wait, at most `timeout_s`, for every report."""
        for pipe in self._pipes:
            pipe.send(command)
        deadline = time.monotonic() + timeout_s
        reports: dict[int, PhaseReport] = {}
        waiting = dict(enumerate(self._pipes))
        while waiting:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BenchError(
                    f"{len(waiting)} load worker(s) gave no report on "
                    f"{type(command).__name__} within {timeout_s:.0f} s"
                )
            ready = wait(list(waiting.values()), timeout=remaining)
            for index, pipe in list(waiting.items()):
                if pipe in ready:
                    del waiting[index]
                    reports[index] = self._receive(pipe, command)
        return [reports[index] for index in sorted(reports)]

    @staticmethod
    def _receive(pipe: Connection, command: Command) -> PhaseReport:
        try:
            answer = pipe.recv()
        except (EOFError, OSError):
            raise BenchError(f"a load worker died during {type(command).__name__}") from None
        if isinstance(answer, WorkerFailed):
            raise BenchError(f"load worker: {answer.reason}")
        if not isinstance(answer, PhaseReport):
            raise BenchError(f"load worker sent {answer!r}")
        return answer

    def close(self) -> None:
        """Ask the workers to disconnect, then make sure every one of them is gone."""
        for pipe in self._pipes:
            try:
                pipe.send(Disconnect())
            except (OSError, ValueError):
                continue
        deadline = time.monotonic() + JOIN_TIMEOUT_S
        for process in self._processes:
            process.join(max(0.0, deadline - time.monotonic()))
        for process in self._processes:
            if process.is_alive():
                process.terminate()
                process.join(2.0)
            if process.is_alive():
                process.kill()
                process.join(2.0)
        for pipe in self._pipes:
            pipe.close()
        self._pipes.clear()
        self._processes.clear()
