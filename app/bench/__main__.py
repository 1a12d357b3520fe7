"""``python -m app.bench``: the same as ``chargeplan bench``."""

from __future__ import annotations

import argparse
import sys

from app.cli.bench import DESCRIPTION, configure_parser, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app.bench",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    configure_parser(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
