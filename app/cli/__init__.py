"""`chargeplan` command line: serve, db, apikey, ca, simulate, composite, allocate, bench,
octt-bridge."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Each subcommand lives in its own module with add_parser(subparsers) and run(args).
SUBCOMMANDS = ("serve", "db", "apikey", "ca", "simulate", "composite", "allocate", "bench",
               "octt_bridge")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chargeplan",
        description="OCPP 1.6J smart-charging controller. Settings come from "
        "config/default.toml and CHARGEPLAN_<NAME> environment variables.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"app.cli.{name}")
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


def entry() -> None:
    sys.exit(main())
