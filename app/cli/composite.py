"""``chargeplan composite``: preview the composite schedule a set of profiles gives.

Reads a JSON list of ``{"connectorId": N, "csChargingProfiles": {...}}`` (the body of
SetChargingProfile.req) in installation order, validates and installs each one as a charge
point would, and prints the GetCompositeSchedule.conf the charge point should answer
under ``--convention`` (strict, libocpp, open-ocpp, microocpp: how chargers answer where
OCPP 1.6 is silent). Profiles are read as a charger may hold them: a TxProfile without
transactionId (received in RemoteStartTransaction) applies to the transaction on its
connector. Exit status 0 on success, 2 on invalid input (one message per line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from app.domain.composite import ActiveTransaction, Convention, SupplyConfig, composite_answer
from app.domain.installation import InstalledProfile, install
from app.domain.profiles import (
    ChargingProfile,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ProfileFormatError,
    parse_datetime,
)
from app.domain.validation import StationLimits, validate_profile

EXIT_INVALID = 2


class InvalidInput(Exception):
    """The input cannot be previewed; ``messages`` says why, one line each."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "composite",
        help="preview the composite schedule of a set of charging profiles",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--profiles", required=True, help="JSON file of profiles to install, '-' for stdin"
    )
    parser.add_argument("--connector", required=True, type=int, help="connector (0 = station)")
    parser.add_argument("--at", required=True, type=_instant, help="schedule start, ISO 8601")
    parser.add_argument("--duration", required=True, type=int, help="window length, seconds")
    parser.add_argument("--unit", choices=["A", "W"], default="W", help="unit of the result")
    parser.add_argument(
        "--connectors", type=int, help="connectors of the station (default: highest one used)"
    )
    parser.add_argument("--transaction-id", type=int, help="transaction running on --connector")
    parser.add_argument("--transaction-start", type=_instant, help="its start, ISO 8601")
    parser.add_argument("--voltage", type=float, default=230.0, help="supply voltage")
    parser.add_argument("--phases", type=int, default=3, help="supply phases")
    parser.add_argument("--station-max-w", type=float, help="limit where no profile applies")
    parser.add_argument(
        "--convention", choices=[c.value for c in Convention], default=Convention.STRICT.value,
        help="how the charger answers where OCPP 1.6 is silent (%(default)s)",
    )
    parser.add_argument(
        "--unconstrained", type=float,
        help="what the charger reports where no profile bounds it, in --unit (default: "
        "--station-max-w for strict, 48 A for libocpp)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        entries = _load(args.profiles)
        installed = _install(entries, args.connectors)
        schedule = composite_answer(
            installed,
            args.connector,
            args.at,
            args.duration,
            ChargingRateUnit(args.unit),
            convention=Convention(args.convention),
            transactions=_transactions(args),
            number_of_connectors=_connectors(args, installed),
            supply=SupplyConfig(voltage=args.voltage, phases=args.phases),
            station_max_w=args.station_max_w,
            unconstrained=args.unconstrained,
        )
    except InvalidInput as error:
        for message in error.messages:
            print(message, file=sys.stderr)
        return EXIT_INVALID
    except ValueError as error:
        print(str(error), file=sys.stderr)
        return EXIT_INVALID
    print(json.dumps(schedule.to_ocpp(), indent=2))
    return 0


def _instant(text: str) -> datetime:
    try:
        return parse_datetime(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date-time: {text!r}") from error


def _load(source: str) -> list[Any]:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidInput([f"cannot read {source}: {error.strerror}"]) from error
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput([f"{source}: not JSON: {error}"]) from error
    if not isinstance(data, list):
        raise InvalidInput([f"{source}: must hold a JSON list of SetChargingProfile bodies"])
    return data


def _install(entries: Sequence[Any], connectors: int | None) -> tuple[InstalledProfile, ...]:
    limits = StationLimits(number_of_connectors=connectors)
    messages: list[str] = []
    installed: tuple[InstalledProfile, ...] = ()
    for index, entry in enumerate(entries):
        found = _read_entry(entry, limits)
        if isinstance(found, list):
            messages.extend(f"[{index}] {message}" for message in found)
            continue
        outcome = install(installed, found)
        installed = outcome.installed
    if messages:
        raise InvalidInput(messages)
    return installed


def _read_entry(entry: Any, limits: StationLimits) -> InstalledProfile | list[str]:
    if not isinstance(entry, Mapping):
        return ["must be an object with connectorId and csChargingProfiles"]
    connector_id = entry.get("connectorId")
    if isinstance(connector_id, bool) or not isinstance(connector_id, int):
        return ["connectorId: is required and must be an integer"]
    try:
        profile = ChargingProfile.from_ocpp(entry.get("csChargingProfiles") or {})
    except ProfileFormatError as error:
        return [str(v.prefixed("csChargingProfiles")) for v in error.violations]
    # What a charger may hold: a TxProfile without transactionId came with
    # RemoteStartTransaction (errata §3.41) and serves the transaction it started.
    remote_start = (profile.purpose is ChargingProfilePurpose.TX_PROFILE
                    and profile.transaction_id is None)
    violations = validate_profile(profile, connector_id, limits, in_remote_start=remote_start)
    if violations:
        return [
            str(v if v.path == "connectorId" else v.prefixed("csChargingProfiles"))
            for v in violations
        ]
    return InstalledProfile(connector_id, profile)


def _transactions(args: argparse.Namespace) -> tuple[ActiveTransaction, ...]:
    if args.transaction_id is None and args.transaction_start is None:
        return ()
    if args.transaction_id is None or args.transaction_start is None:
        raise InvalidInput(["--transaction-id and --transaction-start go together"])
    if args.connector <= 0:
        raise InvalidInput(["a transaction runs on a connector: --connector must be 1 or more"])
    return (ActiveTransaction(args.transaction_id, args.connector, args.transaction_start),)


def _connectors(args: argparse.Namespace, installed: Sequence[InstalledProfile]) -> int:
    if args.connectors is not None:
        if not 0 <= args.connector <= args.connectors:
            raise InvalidInput([f"--connector must be between 0 and {args.connectors}"])
        return int(args.connectors)
    used: list[int] = [1, args.connector, *(item.connector_id for item in installed)]
    return max(used)
