"""Solve a :class:`~app.domain.lp.LinearProgram` with HiGHS, one stage after another.

The one module of ``app.domain`` that imports outside the standard library: ``highspy``
(and the numpy it brings), imported when :func:`solve` first runs, so that the rest of
the domain stays importable with the standard library alone.

Stages reuse one model: each changes the objective, re-solves from the previous basis and,
when it keeps its value, adds one row holding it (relative tolerance 1e-6).
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from collections.abc import Sequence
from typing import Any

from app.domain.lp import LinearProgram, SolveFailed, Stage

_TOLERANCE = 1e-6
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
    try:
        import highspy
        import numpy as np
    except ImportError as error:  # pragma: no cover - highspy is a dependency
        raise SolveFailed(f"HiGHS is not installed ({error.name})") from error
    h = _new_highs(highspy)
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    _pass_model(h, highspy, np, lp)
    n = len(lp.col_lower)
    everything = np.arange(n, dtype=np.int32)
    values: list[float] = [0.0] * n
    for stage in stages:
        remaining = time_limit_s - h.getRunTime()
        if remaining <= 0:
            raise SolveFailed(f"time limit of {time_limit_s:g} s reached before {stage.name}")
        h.setOptionValue("time_limit", float(remaining))
        cost = np.zeros(n)
        index, coef = stage.objective
        np.add.at(cost, np.asarray(index, dtype=np.int64), np.asarray(coef))
        h.changeColsCost(n, everything, cost)
        sense = highspy.ObjSense.kMaximize if stage.maximize else highspy.ObjSense.kMinimize
        h.changeObjectiveSense(sense)
        h.run()
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise SolveFailed(f"{stage.name}: {h.modelStatusToString(status)}")
        values = list(h.getSolution().col_value)
        if stage.keep is not None:
            k_index, k_coef = stage.keep
            reached = sum(values[i] * c for i, c in zip(k_index, k_coef, strict=True))
            slack = _TOLERANCE * (1.0 + abs(reached))
            lower, upper = (
                (reached - slack, highspy.kHighsInf) if stage.maximize
                else (-highspy.kHighsInf, reached + slack)
            )
            h.addRow(lower, upper, len(k_index), np.asarray(k_index, dtype=np.int32),
                     np.asarray(k_coef, dtype=np.float64))
    return values


def _pass_model(h: Any, highspy: Any, np: Any, lp: LinearProgram) -> None:
    model = highspy.HighsLp()
    model.num_col_ = len(lp.col_lower)
    model.num_row_ = len(lp.row_lower)
    model.col_cost_ = np.zeros(model.num_col_)
    model.col_lower_ = np.asarray(lp.col_lower, dtype=np.float64)
    model.col_upper_ = np.asarray(lp.col_upper, dtype=np.float64)
    inf = highspy.kHighsInf
    model.row_lower_ = np.asarray([max(v, -inf) for v in lp.row_lower], dtype=np.float64)
    model.row_upper_ = np.asarray([min(v, inf) for v in lp.row_upper], dtype=np.float64)
    starts = [0]
    for index in lp.row_index:
        starts.append(starts[-1] + len(index))
    model.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    model.a_matrix_.start_ = np.asarray(starts, dtype=np.int32)
    model.a_matrix_.index_ = np.asarray(
        [i for row in lp.row_index for i in row], dtype=np.int32)
    model.a_matrix_.value_ = np.asarray(
        [v for row in lp.row_value for v in row], dtype=np.float64)
    model.a_matrix_.num_row_ = model.num_row_
    model.a_matrix_.num_col_ = model.num_col_
    status = h.passModel(model)
    if status == highspy.HighsStatus.kError:
        raise SolveFailed("HiGHS refused the model")
