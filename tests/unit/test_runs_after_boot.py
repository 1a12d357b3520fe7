"""Whether an open transaction counts as running for its TxProfile after its station
booted (``delivery_rules.runs_after_boot``): one rule per test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.domain.protocol_rules import V16, V201
from app.services.delivery.delivery_rules import runs_after_boot

BOOT = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)


def test_a_transaction_reported_since_the_boot_runs() -> None:
    assert runs_after_boot(BOOT + timedelta(seconds=1), BOOT, must_report=True)


def test_a_transaction_last_reported_before_the_boot_does_not_run() -> None:
    assert not runs_after_boot(BOOT - timedelta(seconds=1), BOOT, must_report=True)


def test_a_transaction_never_reported_does_not_run_after_a_boot() -> None:
    assert not runs_after_boot(None, BOOT, must_report=True)


def test_a_station_that_never_booted_is_taken_at_its_transactions_word() -> None:
    assert runs_after_boot(None, None, must_report=True)


def test_only_a_2_0_1_station_must_report_its_transactions_after_a_boot() -> None:
    assert (V16.tx_reported_after_boot, V201.tx_reported_after_boot) == (False, True)
    assert runs_after_boot(None, BOOT, must_report=V16.tx_reported_after_boot)
