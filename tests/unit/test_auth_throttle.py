"""Who a lockout refuses (app.ocpp.auth_throttle): a pair or station lockout refuses
whatever the attempt presents; an address lockout only throttles, so a correct credential
from a shared address still gets in."""

from __future__ import annotations

from app.domain.lockout import LockoutPolicy
from app.ocpp.auth_throttle import AuthThrottle, Verdict

POLICY = LockoutPolicy(failures_allowed=3, window_s=60.0, base_lock_s=60.0, max_lock_s=3600.0)
DEPOT = "203.0.113.7"


def fail_times(throttle: AuthThrottle, station_id: str, n: int, now: float) -> None:
    for _ in range(n):
        throttle.fail(station_id, DEPOT, now)


def test_failures_for_one_station_lock_its_pair_and_only_throttle_the_address() -> None:
    throttle = AuthThrottle(POLICY)
    fail_times(throttle, "CP-A", 3, now=0.0)
    assert throttle.verdict("CP-A", DEPOT, 1.0) == Verdict(refused_for=59.0, throttled_for=59.0)
    # Another station behind the same address is not refused before its credentials
    # are checked.
    assert throttle.verdict("CP-B", DEPOT, 1.0) == Verdict(refused_for=0.0, throttled_for=59.0)
    assert throttle.verdict("CP-A", DEPOT, 60.0) == Verdict(0.0, 0.0)


def test_a_locked_address_gets_one_credential_check_per_station() -> None:
    throttle = AuthThrottle(POLICY)
    fail_times(throttle, "CP-A", 3, now=0.0)
    started = throttle.fail("CP-C", DEPOT, 10.0).started
    assert started == (("pair:CP-C|" + DEPOT, 60.0),)
    assert throttle.verdict("CP-C", DEPOT, 11.0).refused_for == 59.0


def test_failures_spread_over_stations_lock_the_address_and_no_pair() -> None:
    throttle = AuthThrottle(POLICY)
    for n in range(3):
        throttle.fail(f"CP-{n}", DEPOT, 0.0)
    assert [throttle.verdict(f"CP-{n}", DEPOT, 1.0) for n in range(3)] == \
        [Verdict(refused_for=0.0, throttled_for=59.0)] * 3


def test_a_lockout_taken_in_while_a_success_was_checked_stands() -> None:
    throttle = AuthThrottle(POLICY)
    assert throttle.verdict("CP-A", DEPOT, 0.0) == Verdict(0.0, 0.0)
    # Another node's lockout arrives while this attempt's password is being checked.
    throttle.restore("pair", "CP-A", DEPOT, 60.0, 60.0, now=0.5)
    throttle.succeed("CP-A", DEPOT, now=1.0)
    assert throttle.verdict("CP-A", DEPOT, 1.0).refused_for == 59.5
