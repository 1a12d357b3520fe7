"""The plain-text table of a bench run."""

from __future__ import annotations

from typing import Any, Final

from app.bench.config import ALL_SERVERS, Scenario, ServerKind, applies
from app.bench.runner import BenchResult
from app.bench.scenarios import FIGURES

COLUMNS: Final = (
    *(kind.value for kind in ALL_SERVERS),
    "chargeplan/floor",
    "chargeplan/stock",
)
MISSING: Final = "-"
SKIPPED: Final = "skipped"


def format_table(result: BenchResult) -> str:
    header = ("scenario", "figure", *COLUMNS)
    rows: list[tuple[str, ...]] = []
    for scenario_name, by_server in result.scenarios.items():
        skipped = scenario_name in result.skipped
        for figure in FIGURES[Scenario(scenario_name)]:
            values = {kind: _value(by_server, kind, figure) for kind in ALL_SERVERS}
            rows.append(
                (
                    scenario_name,
                    figure,
                    *(SKIPPED if skipped and kind.value in by_server
                      and applies(Scenario(scenario_name), kind)
                      else _cell(values[kind]) for kind in ALL_SERVERS),
                    _ratio(values[ServerKind.CHARGEPLAN], values[ServerKind.FLOOR]),
                    _ratio(values[ServerKind.CHARGEPLAN], values[ServerKind.STOCK]),
                )
            )
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = [_line(header, widths), _line(tuple("-" * w for w in widths), widths)]
    lines.extend(_line(row, widths) for row in rows)
    return "\n".join(lines)


def format_notes(result: BenchResult) -> str:
    notes = [f"skipped: {scenario} {reason}" for scenario, reason in result.skipped.items()]
    notes.extend(f"failed: {failure}" for failure in result.failures)
    notes.extend(
        f"errors in {where}: {'; '.join(samples)}"
        for where, samples in result.error_samples.items()
    )
    return "\n".join(notes)


def _value(by_server: dict[str, dict[str, Any] | None], kind: ServerKind, figure: str) -> Any:
    figures = by_server.get(kind.value)
    return None if figures is None else figures.get(figure)


def _cell(value: Any) -> str:
    if value is None:
        return MISSING
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return f"{value:,}"


def _ratio(ours: Any, theirs: Any) -> str:
    if not isinstance(ours, int | float) or not isinstance(theirs, int | float) or theirs == 0:
        return MISSING
    return f"{ours / theirs:.2f}x"


def _line(cells: tuple[str, ...], widths: list[int]) -> str:
    left = [cells[0].ljust(widths[0]), cells[1].ljust(widths[1])]
    right = [cell.rjust(width) for cell, width in zip(cells[2:], widths[2:], strict=True)]
    return "  ".join(left + right).rstrip()
