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
# As typed on the command line: each module's name with dashes.
COMMANDS = frozenset(name.replace("_", "-") for name in SUBCOMMANDS)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand, or of ``command`` alone when it names one: each
    subcommand's module is imported to add its parser, and those of the others (the bench,
    the simulator, the OCTT bridge) would cost every `serve` start-up a few tenths of a
    second of CPU for nothing."""
    parser = argparse.ArgumentParser(
        prog="chargeplan",
        description="OCPP 1.6J smart-charging controller. Settings come from "
        "config/default.toml and CHARGEPLAN_<NAME> environment variables.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in (command.replace("-", "_"),) if command in COMMANDS else SUBCOMMANDS:
        module = importlib.import_module(f"app.cli.{name}")
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    # The first argument is the subcommand, or an option of the whole (--help) or a
    # mistake, for which every subcommand's parser is built.
    parser = build_parser(arguments[0] if arguments else None)
    args = parser.parse_args(arguments)
    code: int = args.handler(args)
    return code


def entry() -> None:
    sys.exit(main())
