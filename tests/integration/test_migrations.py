"""The schema is made by migrations: up, down, up again, and it equals the models,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from app.db.engine import create_engine
from app.db.migrate import current_revision, downgrade, head_revision, upgrade
from app.db.schema import compare_type, metadata


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def schema_diff(url: str) -> list[Any]:
    async def run() -> list[Any]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(
                    lambda sync: compare_metadata(MigrationContext.configure(
                        sync, opts={"compare_type": compare_type}), metadata)
                )
        finally:
            await engine.dispose()

    return asyncio.run(run())


def tables(url: str) -> set[str]:
    async def run() -> set[str]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:

                def names(sync: Connection) -> set[str]:
                    return set(inspect(sync).get_table_names())

                return await conn.run_sync(names)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_upgrade_downgrade_upgrade_and_models_agree(empty_database_url: str) -> None:
    url = empty_database_url
    upgrade(url)
    assert asyncio.run(current_revision(url)) == head_revision()
    assert {
        "stations",
        "connectors",
        "id_tags",
        "transactions",
        "meter_values",
        "audit_log",
    } <= tables(url)
    assert schema_diff(url) == []
    downgrade(url, "base")
    assert asyncio.run(current_revision(url)) is None
    assert tables(url) <= {"alembic_version"}
    upgrade(url)
    assert schema_diff(url) == []


def run_sql(url: str, *statements: str) -> list[Any]:
    """Execute statements in one transaction; the rows of the last one."""
    async def run() -> list[Any]:
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                result = None
                for statement in statements:
                    result = await conn.execute(text(statement))
                return list(result.all()) if result is not None and result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(run())


_ROW = ("INSERT INTO desired_profiles (id, station_id, connector_id, charging_profile_id, "
        "purpose, stack_level, profile, source, state, attempts, plan_id, tariff_id, "
        "created_at, updated_at) VALUES ({id}, 'CP-1', 1, {id}, 'TxDefaultProfile', {id}, "
        "'{{}}', '{source}', 'accepted', 1, {plan}, {tariff}, '2026-11-28 01:00:00', "
        "'2026-11-28 01:00:00')")


def test_owner_columns_carry_the_old_source_over_and_back(empty_database_url: str) -> None:
    url = empty_database_url
    upgrade(url, "0005")
    run_sql(url,
            "INSERT INTO stations (id, tags, created_at, online, drift_repairs) VALUES "
            "('CP-1', '[]', '2026-11-28 01:00:00', false, 0)",
            _ROW.format(id=1, source="api", plan="NULL", tariff="NULL"),
            _ROW.format(id=2, source="plan", plan=7, tariff="NULL"),
            _ROW.format(id=3, source="tariff", plan="NULL", tariff=9),
            _ROW.format(id=4, source="command", plan="NULL", tariff="NULL"),
            _ROW.format(id=5, source="command", plan="NULL", tariff="NULL"),
            _ROW.format(id=6, source="scenario", plan="NULL", tariff="NULL"),
            # Row 5 is the TxProfile a remote start installed.
            "INSERT INTO pending_remote_starts (id, station_id, connector_id, id_tag, profile, "
            "requested_at, expires_at, transaction_id, desired_profile_id) VALUES (12, 'CP-1', "
            "1, 'TAG', '{}', '2026-11-28 01:00:00', '2026-11-28 01:05:00', 3, 5)")
    upgrade(url)  # and every later revision: the rows survive them
    owners = run_sql(url, "SELECT id, owner_kind, owner_id FROM desired_profiles ORDER BY id")
    assert [tuple(r) for r in owners] == [
        (1, "manual", None), (2, "plan", "7"), (3, "tariff", "9"), (4, "command", None),
        (5, "remote_start", "12"), (6, "scenario", None)]
    downgrade(url, "0005")
    sources = run_sql(url, "SELECT id, source, plan_id, tariff_id FROM desired_profiles "
                           "ORDER BY id")
    assert [tuple(r) for r in sources] == [
        (1, "api", None, None), (2, "plan", 7, None), (3, "tariff", None, 9),
        (4, "command", None, None), (5, "command", None, None), (6, "scenario", None, None)]


def test_a_deleted_desired_profile_id_is_never_handed_out_again(empty_database_url: str
                                                                ) -> None:
    url = empty_database_url
    upgrade(url)
    insert = ("INSERT INTO desired_profiles (station_id, connector_id, charging_profile_id, "
              "purpose, stack_level, profile, owner_kind, state, attempts, created_at, "
              "updated_at) VALUES ('CP-1', 1, {n}, 'TxDefaultProfile', 0, '{{}}', 'manual', "
              "'pending', 0, '2026-11-28 01:00:00', '2026-11-28 01:00:00')")
    run_sql(url, "INSERT INTO stations (id, tags, created_at, online, drift_repairs) VALUES "
                 "('CP-1', '[]', '2026-11-28 01:00:00', false, 0)",
            insert.format(n=1), insert.format(n=2))
    newest = run_sql(url, "SELECT MAX(id) FROM desired_profiles")[0][0]
    run_sql(url, f"DELETE FROM desired_profiles WHERE id = {newest}")
    run_sql(url, insert.format(n=3))
    ids = [r[0] for r in run_sql(url, "SELECT id FROM desired_profiles ORDER BY id")]
    assert len(ids) == 2 and ids[-1] > newest


def test_circuit_columns_keep_every_row_that_references_a_station(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    upgrade(url, "0007")
    run_sql(url,
            "INSERT INTO stations (id, tags, created_at, online, drift_repairs) VALUES "
            "('CP-1', '[]', '2026-11-28 01:00:00', false, 0)",
            "INSERT INTO transactions (id, station_id, connector_id, id_tag, id_tag_status, "
            "meter_start, started_at) VALUES (1, 'CP-1', 1, 'TAG', 'Accepted', 0, "
            "'2026-11-28 01:00:00')")
    upgrade(url)
    assert [tuple(r) for r in run_sql(
        url, "SELECT id, circuit_id, phase_rotation FROM stations")] == [("CP-1", None, "RST")]
    downgrade(url, "0006")
    assert [tuple(r) for r in run_sql(url, "SELECT id, station_id FROM transactions")] == [
        (1, "CP-1")]


_CIRCUIT_ROW = (
    "INSERT INTO desired_profiles (id, station_id, connector_id, charging_profile_id, purpose, "
    "stack_level, transaction_id, profile, owner_kind, owner_id, state, attempts, created_at, "
    "updated_at) VALUES ({id}, 'CP-1', {connector}, {id}, '{purpose}', 9, {tx}, '{{}}', "
    "'{kind}', {owner}, 'accepted', 1, '2026-11-28 01:00:00', '2026-11-28 01:00:00')")


def test_circuit_rows_name_their_circuit_and_back(empty_database_url: str) -> None:
    url = empty_database_url
    upgrade(url, "0018")
    run_sql(url,
            "INSERT INTO circuits (id, max_current_a, margin_a, limits, "
            "worst_case_other_load_a, stale_after_s, created_at, updated_at) VALUES "
            "('garage', '[32]', 0, '[]', '[0]', 300, '2026-11-28 01:00:00', "
            "'2026-11-28 01:00:00')",
            "INSERT INTO stations (id, tags, created_at, online, drift_repairs, circuit_id) "
            "VALUES ('CP-1', '[]', '2026-11-28 01:00:00', false, 0, 'garage')",
            # Before: a circuit's TxProfile carried its transaction as owner id, its cap none.
            _CIRCUIT_ROW.format(id=1, connector=1, purpose="TxProfile", tx=41,
                                kind="circuit", owner=41),
            _CIRCUIT_ROW.format(id=2, connector=0, purpose="ChargePointMaxProfile",
                                tx="NULL", kind="circuit", owner="NULL"),
            _CIRCUIT_ROW.format(id=3, connector=2, purpose="TxDefaultProfile", tx="NULL",
                                kind="plan", owner=7))
    upgrade(url)
    assert [tuple(r) for r in run_sql(
        url, "SELECT id, owner_kind, owner_id, transaction_id FROM desired_profiles "
             "ORDER BY id")] == [(1, "circuit", "garage", 41), (2, "circuit", "garage", None),
                                 (3, "plan", "7", None)]
    downgrade(url, "0018")
    assert [tuple(r) for r in run_sql(
        url, "SELECT id, owner_kind, owner_id FROM desired_profiles ORDER BY id")] == [
        (1, "circuit", 41), (2, "circuit", None), (3, "plan", 7)]
