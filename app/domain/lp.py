"""A linear program as plain data, and the lexicographic order of objectives to solve it in.

Built by :mod:`app.domain.planner` with the standard library only; solved by
:mod:`app.domain.lp_highs` (HiGHS) or any function of the :class:`Solver` shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["LinearProgram", "SolveFailed", "Solver", "Stage", "Sparse"]

Sparse = tuple[list[int], list[float]]


@dataclass
class LinearProgram:
    """``row_lower <= A x <= row_upper``, ``col_lower <= x <= col_upper``; A row-wise."""

    col_lower: list[float] = field(default_factory=list)
    col_upper: list[float] = field(default_factory=list)
    row_index: list[list[int]] = field(default_factory=list)
    row_value: list[list[float]] = field(default_factory=list)
    row_lower: list[float] = field(default_factory=list)
    row_upper: list[float] = field(default_factory=list)

    def add_col(self, lower: float, upper: float) -> int:
        self.col_lower.append(lower)
        self.col_upper.append(upper)
        return len(self.col_lower) - 1

    def add_row(self, index: list[int], value: list[float], lower: float, upper: float) -> None:
        self.row_index.append(index)
        self.row_value.append(value)
        self.row_lower.append(lower)
        self.row_upper.append(upper)


@dataclass(frozen=True)
class Stage:
    """One objective of the order: optimise ``objective``; then, when ``keep`` is given,
    hold ``keep`` at its value (within a relative 1e-6) for the stages after it."""

    name: str
    objective: Sparse
    maximize: bool
    keep: Sparse | None = None


class SolveFailed(Exception):
    """The solver gave no plan; the message says why (infeasible, time limit, missing)."""


class Solver(Protocol):
    def __call__(
        self, lp: LinearProgram, stages: Sequence[Stage], time_limit_s: float
    ) -> list[float]: ...
