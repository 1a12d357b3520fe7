"""Exponential lockout taken back after a restart (app.domain.lockout)."""

from __future__ import annotations

from app.domain.lockout import Lockout, LockoutPolicy

POLICY = LockoutPolicy(failures_allowed=3, window_s=60.0, base_lock_s=60.0, max_lock_s=3600.0)


def lock_out(lockout: Lockout, key: str, now: float) -> float:
    durations = [lockout.fail(key, now) for _ in range(POLICY.failures_allowed)]
    return durations[-1]


def test_which_lockout_lasted_how_long() -> None:
    assert [POLICY.lockouts_for(s) for s in (60, 120, 240, 3600, 7200)] == [1, 2, 3, 7, 7]
    assert all(POLICY.lockouts_for(POLICY.lock_duration(n)) == n for n in range(1, 7))


def test_a_restored_lockout_runs_for_what_remained() -> None:
    lockout = Lockout(POLICY)
    lockout.restore("addr:10.0.0.1", 120.0, 45.0, now=1000.0)
    assert lockout.retry_after("addr:10.0.0.1", 1000.0) == 45.0
    assert lockout.retry_after("addr:10.0.0.1", 1045.0) == 0.0
    assert lockout.retry_after("addr:10.0.0.2", 1000.0) == 0.0


def test_after_a_restored_lockout_the_next_one_doubles() -> None:
    lockout = Lockout(POLICY)
    lockout.restore("addr:10.0.0.1", 120.0, 10.0, now=1000.0)
    assert lock_out(lockout, "addr:10.0.0.1", 1010.0) == 240.0


def test_a_lockout_that_has_run_out_is_not_restored() -> None:
    lockout = Lockout(POLICY)
    lockout.restore("addr:10.0.0.1", 60.0, 0.0, now=1000.0)
    assert len(lockout) == 0
    assert lock_out(lockout, "addr:10.0.0.1", 1000.0) == 60.0
