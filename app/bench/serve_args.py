"""Command line shared by the bench's own reference servers."""

from __future__ import annotations

import argparse


def parse_port(description: str, argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1")
    port: int = parser.parse_args(argv).port
    return port
