"""`chargeplan apikey create|list|revoke`: REST API keys in the configured database.

``create`` prints the key alone on stdout (``KEY=$(chargeplan apikey create ...)``); it is
stored only as a hash and cannot be shown again.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from app.cli.common import settings_or_exit
from app.db.engine import Database
from app.db.migrate import SchemaBehind, prepare_database
from app.domain.access import Role
from app.services.errors import Conflict, Invalid, NotFound
from app.services.security.api_keys import ApiKeyService

T = TypeVar("T")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "apikey", help="create, list or revoke REST API keys",
        description="REST API keys: every endpoint but /health, /metrics and the docs needs "
        "'Authorization: Bearer <key>'. Roles: reader (reads), operator (also changes "
        "desired state and sends commands), admin (also stations, passwords, keys, security).",
    )
    actions = parser.add_subparsers(dest="apikey_command", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a key and print it once, alone on stdout")
    create.add_argument("--name", required=True, help="who holds it (recorded with each change)")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.set_defaults(handler=_create)
    listing = actions.add_parser("list", help="list keys (name, role, prefix, dates)")
    listing.set_defaults(handler=_list)
    revoke = actions.add_parser("revoke", help="revoke a key by name")
    revoke.add_argument("name")
    revoke.set_defaults(handler=_revoke)


def _run(work: Callable[[ApiKeyService], Awaitable[T]]) -> T:
    settings = settings_or_exit()

    async def go() -> T:
        await prepare_database(settings.database_url, auto_migrate=settings.auto_migrate)
        db = Database(settings.database_url)
        try:
            return await work(ApiKeyService(db))
        finally:
            await db.dispose()

    return asyncio.run(go())


def _create(args: argparse.Namespace) -> int:
    try:
        created = _run(lambda keys: keys.create(args.name, args.role))
    except (Conflict, Invalid, SchemaBehind) as exc:
        print(f"chargeplan: {exc}", file=sys.stderr)
        return 1
    print(f"created API key {args.name!r} ({args.role}); it is shown only now",
          file=sys.stderr)
    print(created.secret)
    return 0


def _list(_args: argparse.Namespace) -> int:
    try:
        keys = _run(lambda service: service.list())
    except SchemaBehind as exc:
        print(f"chargeplan: {exc}", file=sys.stderr)
        return 1
    print(f"{'NAME':<24} {'ROLE':<9} {'PREFIX':<10} {'CREATED':<25} {'LAST USED':<25} REVOKED")
    for key in keys:
        print(f"{key.name:<24} {key.role:<9} {key.prefix:<10} {_when(key.created_at):<25} "
              f"{_when(key.last_used_at):<25} {_when(key.revoked_at)}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    try:
        _run(lambda keys: keys.revoke(args.name))
    except (NotFound, SchemaBehind) as exc:
        print(f"chargeplan: {exc}", file=sys.stderr)
        return 1
    print(f"revoked API key {args.name!r}", file=sys.stderr)
    return 0


def _when(value: Any) -> str:
    return "-" if value is None else value.isoformat(timespec="seconds")
