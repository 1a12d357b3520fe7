"""``chargeplan bench --profile DIR``: py-spy records a process while a scenario runs.

Each recording is a speedscope profile (``DIR/<scenario>-<server>.speedscope.json``, open
it at speedscope's site or in its app: a flame graph per thread) and a summary of where
the samples fell (``DIR/<scenario>-<server>.top.txt``): the functions with the most
samples of their own (self) and with the most samples under them (total). py-spy samples
100 times a second and leaves idle threads out, so a sample is time on a CPU or waiting
for the GIL; recording costs a few per cent of one core, which the figures of a profiled
run include.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import psutil

from app.bench.errors import BenchError
from app.bench.servers import stop_process

SAMPLE_RATE: Final = 100
STOP_TIMEOUT_S: Final = 30.0
TOP: Final = 25


def py_spy() -> str:
    """The py-spy executable of this environment (the dev and bench extras install it)."""
    beside = Path(sys.executable).parent / "py-spy"
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise BenchError("--profile needs py-spy: pip install 'chargeplan[bench]'")
    return found


@contextlib.contextmanager
def recording(directory: Path | None, name: str, pid: int) -> Iterator[None]:
    """Record process ``pid`` while the block runs (nothing when ``directory`` is None)."""
    if directory is None:
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    began = thread_cpu(pid)
    target = directory / f"{name}.speedscope.json"
    log = directory / f"{name}.py-spy.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [py_spy(), "record", "--pid", str(pid), "--rate", str(SAMPLE_RATE),
             "--format", "speedscope", "--output", str(target), "--nonblocking"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield
        finally:
            # SIGINT: py-spy stops sampling and writes what it has.
            stop_process(process, signal.SIGINT, STOP_TIMEOUT_S)
    spent = {tid: cpu - began.get(tid, 0.0) for tid, cpu in thread_cpu(pid).items()}
    if target.exists():
        profile = json.loads(target.read_text())
        (directory / f"{name}.top.txt").write_text(
            cpu_by_thread(spent, profile) + "\n" + summary(profile))


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user and system) of each thread of ``pid`` so far, by native id."""
    try:
        return {t.id: t.user_time + t.system_time for t in psutil.Process(pid).threads()}
    except psutil.Error:
        return {}


def cpu_by_thread(spent: dict[int, float], profile: dict[str, Any]) -> str:
    """CPU seconds each thread used while recorded, named as py-spy names them: what the
    samples cannot show (time in C, such as SQLite's, counted where it was spent)."""
    names = {}
    for thread in profile["profiles"]:
        words = str(thread.get("name", "")).split(" ", 2)
        if len(words) >= 2 and words[1].isdigit():
            names[int(words[1])] = words[2] if len(words) > 2 else ""
    total = sum(spent.values())
    lines = [f"CPU while recorded: {total:.2f} s (by thread, s, %)"]
    for tid, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        if seconds >= 0.005:
            share = 100.0 * seconds / total if total else 0.0
            lines.append(f"{seconds:8.2f}  {share:6.2f} %  {names.get(tid, f'thread {tid}')}")
    return "\n".join(lines) + "\n"


def summary(profile: dict[str, Any], top: int = TOP) -> str:
    """Self and total seconds sampled per function, over every thread of a speedscope
    profile (py-spy weighs each sample with the seconds it stands for)."""
    # By function, not by line: py-spy names a frame with the line it was at.
    functions: list[str] = []
    by_name: dict[str, int] = {}
    of_frame = []
    for frame in profile["shared"]["frames"]:
        name = f"{frame['name']} ({frame.get('file') or '?'})"
        of_frame.append(by_name.setdefault(name, len(by_name)))
        if len(functions) < len(by_name):
            functions.append(name)
    own: Counter[int] = Counter()
    under: Counter[int] = Counter()
    samples = 0.0
    for thread in profile["profiles"]:
        for stack, weight in zip(thread["samples"], thread["weights"], strict=True):
            if not stack:
                continue
            samples += weight
            own[of_frame[stack[-1]]] += weight
            for index in {of_frame[i] for i in stack}:
                under[index] += weight

    def table(title: str, counts: Counter[int]) -> list[str]:
        lines = [f"{title} (% of {samples:.2f} s sampled, s, function)"]
        for index, seconds in counts.most_common(top):
            share = 100.0 * seconds / samples if samples else 0.0
            lines.append(f"{share:6.2f} %  {seconds:8.2f}  {functions[index]}")
        return lines

    return "\n".join([*table("self", own), "", *table("total", under)]) + "\n"
