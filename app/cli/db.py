"""`chargeplan db upgrade|downgrade|current`: Alembic migrations of the configured database."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from app.cli.common import settings_or_exit
from app.db import migrate


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "db", help="migrate the database (Alembic)",
        description="Manage the schema of CHARGEPLAN_DATABASE_URL with Alembic migrations.",
    )
    actions = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = actions.add_parser("upgrade", help="apply migrations up to REVISION (default head)")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(handler=_upgrade)
    down = actions.add_parser("downgrade",
                              help="revert migrations down to REVISION (default: one step, -1; "
                              "'base' empties the database)")
    down.add_argument("revision", nargs="?", default="-1")
    down.set_defaults(handler=_downgrade)
    current = actions.add_parser("current", help="print the database's revision and the latest")
    current.set_defaults(handler=_current)


def _upgrade(args: argparse.Namespace) -> int:
    migrate.upgrade(settings_or_exit().database_url, args.revision)
    return _current(args)


def _downgrade(args: argparse.Namespace) -> int:
    migrate.downgrade(settings_or_exit().database_url, args.revision)
    return _current(args)


def _current(args: argparse.Namespace) -> int:
    url = settings_or_exit().database_url
    current = asyncio.run(migrate.current_revision(url))
    head = migrate.head_revision()
    state = "up to date" if current == head else "behind: run `chargeplan db upgrade`"
    print(f"database revision: {current or '(empty)'}; latest: {head} ({state})")
    return 0
