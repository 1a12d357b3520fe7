"""A linear program as plain data, and the lexicographic order of objectives to solve it in.

Built by :mod:`app.domain.plan_model`; solved by
:mod:`app.domain.lp_highs` (HiGHS) or any function of the :class:`Solver` shape.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["LARGE", "LinearProgram", "SolveFailed", "Solver", "Stage", "Sparse"]

Sparse = tuple[list[int], list[float]]

# From this many columns on, an LP is "large": a depot's plan (1,000 sessions x 96 slots,
# 78,000 columns), the offline optimum. :mod:`app.domain.lp_highs` solves it by the
# interior point method, and the stages are made for it (see ``Stage.priced`` and
# :func:`app.domain.plan_model.stages`).
LARGE = 20_000


@dataclass
class LinearProgram:
    """``row_lower <= A x <= row_upper``, ``col_lower <= x <= col_upper``.

    A is kept row-wise in three flat lists (compressed sparse rows: row r's entries are
    ``a_index[row_start[r]:row_start[r + 1]]``), so a solver takes it in one copy."""

    col_lower: list[float] = field(default_factory=list)
    col_upper: list[float] = field(default_factory=list)
    row_start: list[int] = field(default_factory=lambda: [0])
    a_index: list[int] = field(default_factory=list)
    a_value: list[float] = field(default_factory=list)
    row_lower: list[float] = field(default_factory=list)
    row_upper: list[float] = field(default_factory=list)

    @property
    def num_col(self) -> int:
        return len(self.col_lower)

    @property
    def num_row(self) -> int:
        return len(self.row_lower)

    def add_col(self, lower: float, upper: float) -> int:
        self.col_lower.append(lower)
        self.col_upper.append(upper)
        return len(self.col_lower) - 1

    def add_row(self, index: list[int], value: list[float], lower: float, upper: float) -> None:
        self.a_index.extend(index)
        self.a_value.extend(value)
        self.row_start.append(len(self.a_index))
        self.row_lower.append(lower)
        self.row_upper.append(upper)

    def row(self, r: int) -> Sparse:
        start, end = self.row_start[r], self.row_start[r + 1]
        return self.a_index[start:end], self.a_value[start:end]


@dataclass(frozen=True)
class Stage:
    """One objective of the order: optimise ``objective``; then, when ``keep`` is given,
    hold ``keep`` at its value (within a relative 1e-6) for the stages after it. A stage
    whose ``needless`` says so of the values so far is left out."""

    name: str
    objective: Sparse
    maximize: bool
    keep: Sparse | None = None
    # Given the values after the stages before, whether this one would change nothing
    # that matters (the solver then leaves it out).
    needless: Callable[[Sequence[float]], bool] | None = None
    # A refinement: when it fails (time limit), what the stages before reached stands.
    optional: bool = False
    # Columns at their lower bound 0 that reach the objective only through shared rows
    # (a lower tier's sessions in a higher tier's energy stage). A solver may solve the
    # stage with them held at 0 first and then price them in: a column whose reduced cost
    # says it would improve the objective joins, and the stage is solved again, until
    # none would; the optimum is then the whole LP's. Only a first stage uses it.
    priced: Sequence[int] = ()


class SolveFailed(Exception):
    """The solver gave no plan; the message says why (infeasible, time limit, missing)."""


class Solver(Protocol):
    def __call__(
        self, lp: LinearProgram, stages: Sequence[Stage], time_limit_s: float
    ) -> list[float]: ...
