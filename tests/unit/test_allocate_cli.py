"""The ``chargeplan allocate`` command: the contract other tools read."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.cli.allocate import add_parser, run

# The issue's example, verbatim.
EXAMPLE = """
{"at": "2026-06-01T16:00:00Z", "supply_voltage_v": 230,
 "nodes": [{"id": "main", "parent": null, "max_current_a": 63, "max_power_w": null, "max_imbalance_a": null,
            "margin_a": 0, "other_load_a": [20, 10, 10], "connector_count": 6,
            "limits": [{"from": "2026-06-01T17:00:00Z", "to": "2026-06-01T20:00:00Z", "max_current_a": 30}]},
           {"id": "garage", "parent": "main", "max_current_a": [25, 32, 32]}],
 "sessions": [{"id": "EV1", "node": "garage", "phases": ["L1", "L2", "L3"], "min_current_a": 6, "max_current_a": 32,
               "demand_cap_a": null, "weight": 1, "priority": 0, "plugged_in_at": "2026-06-01T15:00:00Z"}]}
"""  # noqa: E501

EXPECTED_WITH_HORIZON = """
{"at": "2026-06-01T16:00:00Z",
 "sessions": {"EV1": {"limit_a": 25.0, "binding": "garage L1", "safe_share_a": 10.5,
                      "periods": [{"start_s": 0, "limit_a": 25.0}, {"start_s": 3600, "limit_a": 10.0},
                                  {"start_s": 14400, "limit_a": 25.0}]}},
 "nodes": {"main": {"load_a": [45.0, 35.0, 35.0], "headroom_a": [18.0, 28.0, 28.0]},
           "garage": {"load_a": [25.0, 25.0, 25.0], "headroom_a": [0.0, 7.0, 7.0]}}}
"""  # noqa: E501


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="chargeplan")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["allocate", *argv])


def write(tmp_path: Path, data: object) -> str:
    path = tmp_path / "site.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


def solve(tmp_path: Path, capsys: pytest.CaptureFixture[str], site: object) -> Any:
    assert run(parse(["--site", write(tmp_path, site)])) == 0
    return json.loads(capsys.readouterr().out)


def test_issue_example_with_horizon_from_stdin() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "allocate", "--site", "-", "--horizon", "86400"],
        input=EXAMPLE,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == json.loads(EXPECTED_WITH_HORIZON)


def test_periods_only_with_a_horizon(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = json.loads(EXPECTED_WITH_HORIZON)
    del expected["sessions"]["EV1"]["periods"]
    assert solve(tmp_path, capsys, EXAMPLE) == expected


def test_sessions_and_nodes_keep_the_input_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = {
        "at": "2026-06-01T16:00:00+02:00",
        "nodes": [
            {"id": "z", "parent": None, "max_current_a": 35},
            {"id": "a", "parent": "z", "max_current_a": 35},
        ],
        "sessions": [
            {"id": id_, "node": "a", "phases": ["L1", "L2", "L3"], "min_current_a": 6,
             "max_current_a": 32, "plugged_in_at": f"2026-06-01T1{n}:00:00Z"}
            for n, id_ in enumerate(["car-c", "car-a", "car-b"])
        ],
    }  # fmt: skip
    out = solve(tmp_path, capsys, site)
    assert out["at"] == "2026-06-01T14:00:00Z"
    assert list(out["sessions"]) == ["car-c", "car-a", "car-b"]
    assert [v["limit_a"] for v in out["sessions"].values()] == [11.7, 11.7, 11.6]
    assert list(out["nodes"]) == ["z", "a"]
    assert out["nodes"]["a"] == {"load_a": [35.0, 35.0, 35.0], "headroom_a": [0.0, 0.0, 0.0]}
    assert out["sessions"]["car-c"]["safe_share_a"] is None


def test_the_minimal_fields_suffice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = {
        "at": "2026-06-01T16:00:00Z",
        "nodes": [{"id": "main", "parent": None, "max_current_a": 16}],
        "sessions": [
            {"id": "A", "node": "main", "phases": ["L2"], "min_current_a": 6, "max_current_a": 32},
            {"id": "B", "node": "main", "phases": ["L2"], "min_current_a": 6, "max_current_a": 32},
            {"id": "C", "node": "main", "phases": ["L2"], "min_current_a": 6, "max_current_a": 32},
        ],
    }
    out = solve(tmp_path, capsys, site)
    assert {k: (v["limit_a"], v["binding"]) for k, v in out["sessions"].items()} == {
        "A": (8.0, "main L2"),
        "B": (8.0, "main L2"),
        "C": (0.0, "not admitted: main L2"),
    }
    assert out["nodes"]["main"] == {"load_a": [0.0, 16.0, 0.0], "headroom_a": [16.0, 0.0, 16.0]}


def test_invalid_site_exits_2_with_one_line_per_problem_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = {
        "at": "yesterday",
        "supply_voltage_v": 0,
        "nodes": [
            {"id": "main", "max_current_a": [63, 63]},
            {"id": "main", "parent": "nowhere", "max_current_a": 10, "connector_count": 0,
             "limits": [{"from": "2026-06-01T18:00:00Z", "to": "2026-06-01T17:00:00Z",
                         "max_current_a": 5}]},
        ],
        "sessions": [
            {"id": "EV1", "node": "attic", "phases": ["L1", "L1"], "min_current_a": 6,
             "max_current_a": 5, "weight": 0, "priority": "high"},
            {"node": "main", "phases": [], "max_current_a": "32"},
        ],
    }  # fmt: skip
    assert run(parse(["--site", write(tmp_path, site)])) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "at: must be an ISO 8601 date-time",
        "supply_voltage_v: must be greater than 0",
        "nodes[0].parent: is required (null for a grid connection)",
        "nodes[0].max_current_a: must be a number or a list of three numbers (L1, L2, L3)",
        "nodes[1].id: duplicate node id 'main'",
        "nodes[1].limits[0].to: must be later than from",
        "nodes[1].connector_count: must be a whole number of 1 or more",
        "sessions[0].node: no node has id 'attic'",
        'sessions[0].phases: must be a list of distinct "L1", "L2", "L3"',
        "sessions[0].max_current_a: must be at least min_current_a",
        "sessions[0].weight: must be greater than 0",
        "sessions[0].priority: must be a whole number",
        "sessions[1].id: is required",
        'sessions[1].phases: must be a list of distinct "L1", "L2", "L3"',
        "sessions[1].min_current_a: is required",
        "sessions[1].max_current_a: must be a number",
    ]


def test_a_cycle_and_an_unknown_parent_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = {
        "nodes": [
            {"id": "a", "parent": "b", "max_current_a": 10},
            {"id": "b", "parent": "a", "max_current_a": 10},
            {"id": "c", "parent": "x", "max_current_a": 10},
        ]
    }
    assert run(parse(["--site", write(tmp_path, site)])) == 2
    assert capsys.readouterr().err.splitlines() == [
        "nodes[0].parent: the parents form a cycle",
        "nodes[1].parent: the parents form a cycle",
        "nodes[2].parent: no node has id 'x'",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "--site: not JSON: "),
        ("[]", "site: must be a JSON object with nodes and sessions"),
        ('{"nodes": {}}', "nodes: must be a list"),
    ],
)
def test_unreadable_input_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    assert run(parse(["--site", write(tmp_path, text)])) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(message)


def test_a_missing_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(parse(["--site", str(tmp_path / "none.json")])) == 2
    assert capsys.readouterr().err.startswith("--site: cannot read ")


def test_horizon_must_be_positive_seconds(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse(["--site", "-", "--horizon", "0"])
    assert exited.value.code == 2
    assert "--horizon" in capsys.readouterr().err
