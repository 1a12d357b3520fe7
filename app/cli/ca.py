"""`chargeplan ca init`: the built-in CA that signs station certificates (profile 3).

Creates ``CHARGEPLAN_CA_DIR`` (``./var/ca``) with ``ca.pem``/``ca.key`` and, for the
demo's TLS listener, ``server.pem``/``server.key`` for localhost. An existing CA is kept.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.cli.common import settings_or_exit
from app.clock import utcnow
from app.services.security.certificates import SERVER_CERT, SERVER_KEY, init_ca


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "ca", help="the built-in CA for station certificates",
        description="Station certificates (OCPP security profile 3) signed by a CA of "
        "chargeplan's own, kept in CHARGEPLAN_CA_DIR. Production points "
        "CHARGEPLAN_OCPP_TLS_CLIENT_CA at the operator's CA instead.")
    actions = parser.add_subparsers(dest="ca_command", metavar="ACTION", required=True)
    init = actions.add_parser("init", help="create the CA (kept if it exists)")
    init.set_defaults(handler=_init)


def _init(_args: argparse.Namespace) -> int:
    settings = settings_or_exit()
    folder = Path(settings.ca_dir)
    existed = (folder / "ca.pem").exists()
    paths = init_ca(folder, settings.cpo_name, utcnow())
    print(f"{'kept the existing' if existed else 'created a'} CA in {folder}/ "
          f"(O={settings.cpo_name})", file=sys.stderr)
    print(f"CHARGEPLAN_OCPP_TLS_CERT={folder / SERVER_CERT}")
    print(f"CHARGEPLAN_OCPP_TLS_KEY={folder / SERVER_KEY}")
    print(f"# stations' client certificates are verified against {paths.cert}")
    return 0
