"""The schema is made by migrations: up, down, up again, and it equals the models,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from app.db.engine import create_engine
from app.db.migrate import current_revision, downgrade, head_revision, upgrade
from app.db.schema import metadata


@pytest.fixture(params=["sqlite", "postgresql"])
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
                    lambda sync: compare_metadata(
                        MigrationContext.configure(sync, opts={"compare_type": True}), metadata
                    )
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
