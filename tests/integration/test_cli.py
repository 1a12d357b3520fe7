"""The command line as a user meets it: settings errors, migrations, refusing a stale DB."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.settings import Settings, SettingsError, load_settings


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
    env = {"CHARGEPLAN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'stale.db'}"}
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
