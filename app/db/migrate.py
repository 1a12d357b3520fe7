"""Alembic commands and the schema-version check, callable from the CLI and the lifespan."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from app.db.engine import ensure_sqlite_dir

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"



def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # '%' is Alembic's interpolation character; a password may contain it.
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    ensure_sqlite_dir(database_url)
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "-1") -> None:
    command.downgrade(alembic_config(database_url), revision)


@functools.cache
def head_revision() -> str | None:
    """The latest revision, read once per process: Alembic compiles every migration script
    to find it, which each server start (of many in one test process) paid again."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return script.get_current_head()


async def current_revision(engine_url: str) -> str | None:
    """The revision the database is at (None = empty database), read over the async engine."""
    from app.db.engine import create_engine

    engine = create_engine(engine_url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync_conn: MigrationContext.configure(sync_conn).get_current_revision()
            )
    finally:
        await engine.dispose()


class SchemaBehind(RuntimeError):
    pass


async def prepare_database(database_url: str, *, auto_migrate: bool) -> None:
    """Refuse to serve a database behind the latest migration, or migrate it when asked."""
    current, head = await current_revision(database_url), head_revision()
    if current == head:
        return
    if auto_migrate:
        import asyncio

        # Alembic's env runs its own event loop: keep it off ours.
        await asyncio.to_thread(upgrade, database_url)
        return
    raise SchemaBehind(
        f"database is at revision {current or '(empty)'}, the latest is {head}: "
        "run `chargeplan db upgrade` (or set CHARGEPLAN_AUTO_MIGRATE=true)"
    )
