"""Solve a :class:`~app.domain.lp.LinearProgram` with HiGHS, one stage after another.

The one module of ``app.domain`` that imports outside the standard library: ``highspy``
(and the numpy it brings), imported when :func:`solve` first runs, so that the rest of
the domain stays importable with the standard library alone.

Stages reuse one model: each changes the objective, re-solves from the previous basis and,
when it keeps its value, adds one row holding it (relative tolerance 1e-6). When an
``optional`` stage fails (time limit), what the stages before reached stands: a plan that
meets every limit with the most energy, only less refined. The matrix
goes to HiGHS in one copy of the LP's flat row-wise lists (``passModel``).
:class:`HighsSolver` also starts a problem from the basis the last one of its shape ended
on (warm start across re-plans).
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from app.domain.lp import LARGE, LinearProgram, SolveFailed, Stage

__all__ = ["LARGE", "HighsSolver", "solve"]

_TOLERANCE = 1e-6
# A large LP's stages (``LARGE`` columns or more) are solved by the interior point method
# without crossover: on a depot's plan (1,000 sessions x 96 slots) the simplex method needs
# tens of thousands of iterations per stage, the interior point method a few dozen, and a
# crossover to a basis can take as long as the simplex method. Without a basis the last
# stage (fairness, started from the basis before it on smaller LPs) is left out: on its
# own the interior point method does not converge on it (its optimal face is huge). A
# first stage with ``priced`` columns is the exception: held to its own columns it is
# small, and the dual simplex method solves it (see ``_run_priced``).
_first = threading.Lock()
_greeted = False


def _new_highs(highspy: Any) -> Any:
    """A Highs object. HiGHS writes its banner to standard output when the first one of a
    process is made, whatever its options; standard output may be an answer stream
    (``allocate --lines``), so that one is made with it pointed at standard error."""
    global _greeted
    with _first:
        if _greeted:
            return highspy.Highs()
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            os.dup2(2, 1)
            h = highspy.Highs()
            # the banner sits in the C library's buffer: out with it while fd 1 is stderr
            ctypes.CDLL(None).fflush(None)
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _greeted = True
        return h


def solve(lp: LinearProgram, stages: Sequence[Stage], time_limit_s: float) -> list[float]:
    """The columns' values after the last stage; raises :class:`SolveFailed`."""
    return HighsSolver(warm=False)(lp, stages, time_limit_s)


class HighsSolver:
    """A :class:`~app.domain.lp.Solver` that remembers, per problem shape (columns, rows,
    non-zeros), the basis its first stage ended on, and starts the next problem of that
    shape from it: a re-plan a few minutes later is mostly the same LP. A basis that does
    not fit is HiGHS's to repair or drop (it then starts cold, as without one); the answer
    is the optimum either way, only the time differs. One per long-running process
    (``allocate --lines``, a simulation); not shared between threads."""

    def __init__(self, warm: bool = True, shapes: int = 8,
                 on_stage: Callable[[str], None] | None = None) -> None:
        self.warm = warm
        self.shapes = shapes
        # Called with a stage's name when it is solved (a bench times the stages by it).
        self.on_stage = on_stage
        self._bases: dict[tuple[int, int, int], Any] = {}

    def __call__(
        self, lp: LinearProgram, stages: Sequence[Stage], time_limit_s: float
    ) -> list[float]:
        try:
            import highspy
            import numpy as np
        except ImportError as error:  # pragma: no cover - highspy is a dependency
            raise SolveFailed(f"HiGHS is not installed ({error.name})") from error
        h = _new_highs(highspy)
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        _pass_model(h, highspy, np, lp)
        shape = (lp.num_col, lp.num_row, len(lp.a_index))
        basis = self._bases.get(shape) if self.warm else None
        if basis is not None and h.setBasis(basis) == highspy.HighsStatus.kError:
            del self._bases[shape]
        n = lp.num_col
        everything = np.arange(n, dtype=np.int32)
        values: list[float] = [0.0] * n
        first = True
        large = lp.num_col >= LARGE
        for stage in stages:
            if stage.needless is not None and not first and stage.needless(values):
                continue
            if large and stage.keep is None and not first:
                continue  # no basis to start the primal method from (see LARGE)
            remaining = time_limit_s - h.getRunTime()
            if remaining <= 0:
                if first or not stage.optional:
                    raise SolveFailed(
                        f"time limit of {time_limit_s:g} s reached before {stage.name}")
                break  # what the stages before reached stands
            h.setOptionValue("time_limit", float(remaining))
            _choose_method(h, large, stage, first)
            cost = np.zeros(n)
            index, coef = stage.objective
            np.add.at(cost, np.asarray(index, dtype=np.int64), np.asarray(coef))
            h.changeColsCost(n, everything, cost)
            sense = highspy.ObjSense.kMaximize if stage.maximize else highspy.ObjSense.kMinimize
            h.changeObjectiveSense(sense)
            if first and large and stage.priced:
                status, solved = _run_priced(h, highspy, np, lp, stage)
            else:
                h.run()
                status, solved = h.getModelStatus(), None
            if status != highspy.HighsModelStatus.kOptimal:
                if first or not stage.optional:
                    raise SolveFailed(f"{stage.name}: {h.modelStatusToString(status)}")
                break  # a refinement: what the stages before reached stands
            values = h.getSolution().col_value if solved is None else solved
            if self.on_stage is not None:
                self.on_stage(stage.name)
            if first and self.warm and not large:
                self._remember(shape, h.getBasis())
            first = False
            if stage.keep is not None:
                _keep(h, highspy, np, stage, values)
        return list(values)

    def _remember(self, shape: tuple[int, int, int], basis: Any) -> None:
        self._bases.pop(shape, None)
        self._bases[shape] = basis
        while len(self._bases) > self.shapes:
            del self._bases[next(iter(self._bases))]


def _choose_method(h: Any, large: bool, stage: Stage, first: bool) -> None:
    """The interior point method, without crossover, for a large LP (see ``LARGE``); else
    the dual simplex method, and the primal one for a stage that holds nothing after it
    (the last, fairness): the basis the stage before ended on is feasible for it (the rows
    added since hold at its values), so the primal method starts where it stands (one
    iteration on a depot's plan where the dual method took thousands)."""
    if large:
        h.setOptionValue("solver", "ipm")
        h.setOptionValue("run_crossover", "off")
    else:
        h.setOptionValue("solver", "simplex")
        h.setOptionValue("simplex_strategy", 4 if stage.keep is None and not first else 1)


def _run_priced(h: Any, highspy: Any, np: Any, lp: LinearProgram,
                stage: Stage) -> tuple[Any, Any]:
    """Solve ``stage`` with its ``priced`` columns held at 0, then price them in: a column
    whose reduced cost would improve the objective (beyond HiGHS's dual feasibility
    tolerance) gets its bounds back and the stage is solved again, from the basis it ended
    on (the primal simplex method: the basis stays feasible), until none would. Then every
    held column is at 0 with a reduced cost that cannot improve: the restricted optimum
    is the whole LP's. The status and the columns' values (None: read them from ``h``);
    the held columns get their bounds back either way.

    On a depot's plan the high tier's 100 sessions of 1,000 take the dual simplex method
    2,857 iterations (0.5 s of CPU) with the other sessions held, then two joins (733
    columns, then 5) of a few dozen iterations: where the interior point method took 4 s
    on the whole LP."""
    held = np.asarray(stage.priced, dtype=np.int32)
    upper = np.asarray(lp.col_upper, dtype=np.float64)[held]
    zeros = np.zeros(held.size)
    h.changeColsBounds(held.size, held, zeros, zeros)
    h.setOptionValue("solver", "simplex")
    h.setOptionValue("simplex_strategy", 1)
    _status, tolerance = h.getOptionValue("dual_feasibility_tolerance")
    # HiGHS reports c - A'y whatever the sense: a column at its lower bound improves a
    # maximum when its dual is positive, a minimum when it is negative
    sign = 1.0 if stage.maximize else -1.0
    values = None
    while True:
        h.run()
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            break
        solution = h.getSolution()
        values = list(solution.col_value)
        joins = np.asarray(solution.col_dual)[held] * sign > tolerance
        if not joins.any():
            break
        h.changeColsBounds(int(joins.sum()), held[joins], zeros[joins], upper[joins])
        held, upper, zeros = held[~joins], upper[~joins], zeros[~joins]
        h.setOptionValue("simplex_strategy", 4)
    h.changeColsBounds(held.size, held, zeros, upper)
    if status in (highspy.HighsModelStatus.kInfeasible,
                  highspy.HighsModelStatus.kUnboundedOrInfeasible):
        # Only the first solve can be infeasible (a join only widens the LP): a row that
        # needs a held column (an imbalance that the other load alone breaks). Then the
        # stage is solved on the whole LP, as any stage of a large LP.
        _choose_method(h, True, stage, True)
        h.run()
        return h.getModelStatus(), None
    return status, values


def _keep(h: Any, highspy: Any, np: Any, stage: Stage, values: Any) -> None:
    """Hold what ``stage`` reached (relative 1e-6) while the stages after it run."""
    assert stage.keep is not None
    k_index, k_coef = stage.keep
    index = np.asarray(k_index, dtype=np.int32)
    coef = np.asarray(k_coef, dtype=np.float64)
    reached = float(np.dot(np.asarray(values)[index], coef))
    slack = _TOLERANCE * (1.0 + abs(reached))
    lower, upper = (
        (reached - slack, highspy.kHighsInf) if stage.maximize
        else (-highspy.kHighsInf, reached + slack)
    )
    h.addRow(lower, upper, len(index), index, coef)


def _pass_model(h: Any, highspy: Any, np: Any, lp: LinearProgram) -> None:
    model = highspy.HighsLp()
    model.num_col_ = lp.num_col
    model.num_row_ = lp.num_row
    model.col_cost_ = np.zeros(model.num_col_)
    model.col_lower_ = np.asarray(lp.col_lower, dtype=np.float64)
    model.col_upper_ = np.asarray(lp.col_upper, dtype=np.float64)
    inf = highspy.kHighsInf
    model.row_lower_ = np.clip(np.asarray(lp.row_lower, dtype=np.float64), -inf, inf)
    model.row_upper_ = np.clip(np.asarray(lp.row_upper, dtype=np.float64), -inf, inf)
    model.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    model.a_matrix_.start_ = np.asarray(lp.row_start, dtype=np.int32)
    model.a_matrix_.index_ = np.asarray(lp.a_index, dtype=np.int32)
    model.a_matrix_.value_ = np.asarray(lp.a_value, dtype=np.float64)
    model.a_matrix_.num_row_ = model.num_row_
    model.a_matrix_.num_col_ = model.num_col_
    status = h.passModel(model)
    if status == highspy.HighsStatus.kError:
        raise SolveFailed("HiGHS refused the model")
