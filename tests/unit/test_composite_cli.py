"""The ``chargeplan composite`` preview subcommand."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.cli.composite import add_parser, run

PROFILES: list[dict[str, Any]] = [
    {
        "connectorId": 1,
        "csChargingProfiles": {
            "chargingProfileId": 1,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {
                "startSchedule": "2026-03-02T08:00:00Z",
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 11000}],
            },
        },
    },
    {
        "connectorId": 1,
        "csChargingProfiles": {
            "chargingProfileId": 2,
            "stackLevel": 1,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {
                "duration": 1800,
                "startSchedule": "2026-03-02T08:00:00Z",
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10, "numberPhases": 3}],
            },
        },
    },
]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="chargeplan")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["composite", *argv])


def write(tmp_path: Path, data: object) -> str:
    path = tmp_path / "profiles.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_prints_the_stacked_composite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = parse(
        ["--profiles", write(tmp_path, PROFILES), "--connector", "1"]
        + ["--at", "2026-03-02T08:00:00Z", "--duration", "3600"]
    )
    assert run(args) == 0
    assert json.loads(capsys.readouterr().out) == {
        "status": "Accepted",
        "connectorId": 1,
        "scheduleStart": "2026-03-02T08:00:00Z",
        "chargingSchedule": {
            "duration": 3600,
            "startSchedule": "2026-03-02T08:00:00Z",
            "chargingRateUnit": "W",
            "chargingSchedulePeriod": [
                {"startPeriod": 0, "limit": 6900.0, "numberPhases": 3},
                {"startPeriod": 1800, "limit": 11000.0},
            ],
        },
    }


def test_invalid_profiles_exit_2_with_one_message_per_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = json.loads(json.dumps(PROFILES))
    broken[1]["csChargingProfiles"]["stackLevel"] = -1
    broken[1]["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] = -2
    broken.append({"connectorId": 1, "csChargingProfiles": {"stackLevel": 0}})
    args = parse(
        ["--profiles", write(tmp_path, broken), "--connector", "1"]
        + ["--at", "2026-03-02T08:00:00Z", "--duration", "3600"]
    )
    assert run(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "[1] csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit: "
        "must not be negative (chargeplan policy)",
        "[1] csChargingProfiles.stackLevel: must be 0 or greater (OCPP 1.6 §7.8)",
        "[2] csChargingProfiles.chargingProfileId: is required (OCPP 1.6 §7.8)",
        "[2] csChargingProfiles.chargingProfilePurpose: is required (OCPP 1.6 §7.8)",
        "[2] csChargingProfiles.chargingProfileKind: is required (OCPP 1.6 §7.8)",
        "[2] csChargingProfiles.chargingSchedule: is required (OCPP 1.6 §7.8)",
    ]


def test_profile_on_a_missing_connector_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    moved = [{**PROFILES[0], "connectorId": 3}]
    args = parse(
        ["--profiles", write(tmp_path, moved), "--connector", "1", "--connectors", "2"]
        + ["--at", "2026-03-02T08:00:00Z", "--duration", "60"]
    )
    assert run(args) == 2
    assert capsys.readouterr().err.splitlines() == [
        "[0] connectorId: must not exceed the station's NumberOfConnectors (2) (OCPP 1.6 §3.8)"
    ]


def test_reads_stdin_and_applies_the_transaction() -> None:
    tx_profile = {
        "connectorId": 1,
        "csChargingProfiles": {
            "chargingProfileId": 3,
            "transactionId": 77,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": {
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [
                    {"startPeriod": 0, "limit": 6},
                    {"startPeriod": 600, "limit": 16},
                ],
            },
        },
    }
    code = (
        "import argparse, sys\n"
        "from app.cli.composite import add_parser, run\n"
        "p = argparse.ArgumentParser(prog='chargeplan')\n"
        "add_parser(p.add_subparsers(dest='command', required=True))\n"
        "sys.exit(run(p.parse_args(sys.argv[1:])))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "composite", "--profiles", "-", "--connector", "1"]
        + ["--at", "2026-03-02T08:00:00Z", "--duration", "3600", "--unit", "A"]
        + ["--transaction-id", "77", "--transaction-start", "2026-03-02T07:55:00Z"],
        input=json.dumps([PROFILES[0], tx_profile]),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    periods = json.loads(result.stdout)["chargingSchedule"]["chargingSchedulePeriod"]
    assert periods == [{"startPeriod": 0, "limit": 6.0}, {"startPeriod": 300, "limit": 16.0}]


def test_input_that_is_not_a_list_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, {"connectorId": 1})
    args = parse(
        ["--profiles", path, "--connector", "1", "--at", "2026-03-02T08:00:00Z"]
        + ["--duration", "60"]
    )
    assert run(args) == 2
    assert "must hold a JSON list" in capsys.readouterr().err


REMOTE_START_TX = {
    "connectorId": 1,
    "csChargingProfiles": {
        "chargingProfileId": 9, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
        "chargingProfileKind": "Relative",
        "chargingSchedule": {"chargingRateUnit": "A",
                             "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10}]},
    },
}


def test_a_tx_profile_from_a_remote_start_serves_the_running_transaction(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # What a charger may hold: a TxProfile without transactionId (RemoteStartTransaction).
    args = parse(["--profiles", write(tmp_path, [REMOTE_START_TX]), "--connector", "1",
                  "--at", "2026-03-02T08:00:00Z", "--duration", "600", "--unit", "A",
                  "--transaction-id", "5", "--transaction-start", "2026-03-02T08:00:00Z"])
    assert run(args) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 10


@pytest.mark.parametrize(("convention", "limits"), [
    ("strict", [(0, 6900.0), (1800, 22080.0)]),
    ("libocpp", [(0, 6900.0), (1800, 33120.0)]),
    # MicroOcpp counts a TxDefaultProfile only in a transaction: no limit (-1) all along.
    ("microocpp", [(0, -1.0)]),
])
def test_the_convention_decides_what_is_reported_where_no_profile_applies(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], convention: str,
        limits: list[tuple[int, float]]) -> None:
    args = parse(["--profiles", write(tmp_path, PROFILES[1:]), "--connector", "1",
                  "--at", "2026-03-02T08:00:00Z", "--duration", "3600",
                  "--station-max-w", "22080", "--convention", convention])
    assert run(args) == 0
    periods = json.loads(capsys.readouterr().out)["chargingSchedule"]["chargingSchedulePeriod"]
    assert [(p["startPeriod"], p["limit"]) for p in periods] == limits
