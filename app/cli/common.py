"""What every subcommand shares: settings loading with a one-line failure, logging."""

from __future__ import annotations

import logging
import sys

from app.settings import Settings, SettingsError, load_settings


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        print(f"chargeplan: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # websockets logs each refused handshake with a traceback at INFO/ERROR; our own
    # admission log line says what happened.
    logging.getLogger("websockets").setLevel(logging.WARNING)
