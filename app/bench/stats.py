"""Summaries of the worker reports."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from app.bench.commands import PhaseReport


def percentile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile of already sorted values; None for no values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def merged_latencies(reports: Iterable[PhaseReport]) -> list[float]:
    values: list[float] = []
    for report in reports:
        values.extend(report.latencies_ms)
    values.sort()
    return values


def completed(reports: Iterable[PhaseReport]) -> int:
    return sum(report.completed for report in reports)


def errors(reports: Iterable[PhaseReport]) -> int:
    return sum(report.errors for report in reports)


def error_samples(reports: Iterable[PhaseReport], keep: int = 5) -> list[str]:
    samples: list[str] = []
    for report in reports:
        samples.extend(s for s in report.error_samples if s not in samples)
    return samples[:keep]


def wall_seconds(reports: Sequence[PhaseReport]) -> float:
    """From the first worker's start to the last worker's finish (one monotonic clock)."""
    return max(r.finished for r in reports) - min(r.started for r in reports)


def rate_per_s(reports: Iterable[PhaseReport]) -> float:
    """Answered CALLs per second, each worker over its own run time, summed."""
    return sum(r.completed / (r.finished - r.started) for r in reports if r.finished > r.started)


def rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)
