"""The command line as a user meets it: settings errors, migrations, refusing a stale DB."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.settings import Settings, SettingsError, load_settings
from tests.conftest import free_port


def chargeplan(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_environment_overrides_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[chargeplan]\nhttp_port = 8100\nocpp_port = 9100\n")
    settings = load_settings({"CHARGEPLAN_OCPP_PORT": "9200"}, config_file=config)
    assert (settings.http_port, settings.ocpp_port) == (8100, 9200)
    assert load_settings({}, config_file=tmp_path / "none.toml") == Settings(
        node_id=settings.node_id
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CHARGEPLAN_HTTP_PORT": "eighty"}, "CHARGEPLAN_HTTP_PORT='eighty': expected an integer"),
        ({"CHARGEPLAN_HTTP_PORT": "70000"}, "CHARGEPLAN_HTTP_PORT=70000: expected a port"),
        ({"CHARGEPLAN_ADMIT_UNKNOWN_STATIONS": "maybe"}, "expected true or false"),
        ({"CHARGEPLAN_DATABASE_URL": "mysql://x"}, "CHARGEPLAN_DATABASE_URL"),
        ({"CHARGEPLAN_UNKNOWN_ID_TAG_STATUS": "Sure"}, "one of Accepted, Blocked"),
        ({"CHARGEPLAN_CSR_SUBJECT": "lenient"},
         "CHARGEPLAN_CSR_SUBJECT='lenient': expected strict or rewrite"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(
    env: dict[str, str], message: str, tmp_path: Path
) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace("+", r"\+")):
        load_settings(env, config_file=tmp_path / "none.toml")
    result = chargeplan("serve", env=env, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message.split(":")[0] in lines[0]


def test_serve_refuses_a_database_behind_the_migrations(tmp_path: Path) -> None:
    # Free ports: serve checks its ports before the database, and the default ones may be
    # another server's on a shared machine.
    env = {"CHARGEPLAN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'stale.db'}",
           "CHARGEPLAN_HTTP_PORT": str(free_port()), "CHARGEPLAN_OCPP_PORT": "0"}
    result = chargeplan("serve", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "chargeplan db upgrade" in result.stderr


def test_db_upgrade_current_and_downgrade(tmp_path: Path) -> None:
    env = {"CHARGEPLAN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'var' / 'cp.db'}"}
    up = chargeplan("db", "upgrade", env=env, cwd=tmp_path)
    assert up.returncode == 0, up.stderr
    assert "up to date" in chargeplan("db", "current", env=env, cwd=tmp_path).stdout
    down = chargeplan("db", "downgrade", "base", env=env, cwd=tmp_path)
    assert down.returncode == 0 and "(empty)" in down.stdout


def test_help_explains_each_command(tmp_path: Path) -> None:
    result = chargeplan("--help", env={}, cwd=tmp_path)
    assert result.returncode == 0
    for command in ("serve", "db", "simulate", "composite", "allocate", "bench"):
        assert command in result.stdout
    db_help = chargeplan("db", "--help", env={}, cwd=tmp_path).stdout
    assert "upgrade" in db_help and "downgrade" in db_help and "current" in db_help


@pytest.mark.parametrize(("variable", "named"), [
    ("CHARGEPLAN_HTTP_PORTT", "did you mean CHARGEPLAN_HTTP_PORT?"),
    ("CHARGEPLAN_ADMIT_UNKNOWN_STATION", "did you mean CHARGEPLAN_ADMIT_UNKNOWN_STATIONS?"),
    ("CHARGEPLAN_COLOUR", "see the settings table in docs/settings.md"),
])
def test_a_misspelt_variable_refuses_to_start_naming_the_closest_setting(
        variable: str, named: str, tmp_path: Path) -> None:
    result = chargeplan("serve", env={variable: "1"}, cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"chargeplan: unknown setting {variable}: {named}"]
    # The settings file and the test suite's own variables are not settings, and not refused.
    load_settings({"CHARGEPLAN_CONFIG": "none.toml", "CHARGEPLAN_TEST_POSTGRES_URL": "x"},
                  config_file=tmp_path / "none.toml")


def test_a_port_in_use_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"CHARGEPLAN_OCPP_HOST": "127.0.0.1", "CHARGEPLAN_OCPP_PORT": str(port),
               "CHARGEPLAN_HTTP_PORT": str(free_port()),
               "CHARGEPLAN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cp.db'}"}
        result = chargeplan("serve", env=env, cwd=tmp_path)

    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert f"127.0.0.1:{port}" in line and "set CHARGEPLAN_OCPP_PORT to a free port" in line


def test_serve_logs_every_line_in_one_format(tmp_path: Path) -> None:
    http_port = free_port()
    env = {**os.environ, "CHARGEPLAN_HTTP_PORT": str(http_port), "CHARGEPLAN_OCPP_PORT": "0",
           "CHARGEPLAN_AUTO_MIGRATE": "true",
           "CHARGEPLAN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cp.db'}"}
    server = subprocess.Popen([sys.executable, "-m", "app.cli", "serve"], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(timeout=2) as client:  # one for every poll (tests/serve_process.py)
            while time.monotonic() < deadline and server.poll() is None:
                try:
                    if client.get(f"http://127.0.0.1:{http_port}/health").status_code:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)  # polling until it listens
    finally:
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=30)

    lines = stderr.splitlines()
    assert any("Uvicorn running on" in line for line in lines), stderr
    assert any("Running upgrade" in line for line in lines)  # migrations, uvicorn, ours
    one_format = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ [\w.]+: ")
    assert one_format.match(lines[0])
    # uvicorn's own ("INFO:     Started") and Litestar's ("INFO - 2026-...") start with the
    # level; a line that matches neither is the next line of a longer message.
    other_format = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL)\b")
    assert [line for line in lines if other_format.match(line)] == []


def test_simulate_does_not_shadow_the_demo_station_by_default() -> None:
    # make run's in-process demo station is PY-SIM-0001; a second connection with its id
    # would replace it every few seconds.
    from app.cli import build_parser
    from app.cli.simulate import config_from_args

    args = build_parser().parse_args(["simulate", "--stations", "10"])
    ids = config_from_args(args).station_ids()
    assert ids[0] == "SIM-0001" and "PY-SIM-0001" not in ids
