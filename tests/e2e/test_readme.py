"""The examples of the README and of docs/, run as a reader runs them: against a server
started the way `make run` starts it, one shell, the ```sh blocks in order.

The README runs alone, against a server of its own, as a reader who has just cloned the
repository runs it. The pages of docs/ run one after the other in the order of
`DOCS_PAGES`, in one shell against another server: an example may rely on what an earlier
example of the same page, or of an earlier page, made (the plan of smart-charging.md
targets the station tagged in security.md; its transactions follow its remote start).

Ports are the only thing changed (the examples say 8000 and 9000; the test takes free
ones). Every `curl` runs with `--fail-with-body`, so an answer of 400 or more fails the
block; every command runs under `set -eu -o pipefail`. Blocks fenced ```text are shown,
not run.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
# The order the pages of docs/ run in (that of the manual before it was split up).
DOCS_PAGES = ("settings.md", "security.md", "smart-charging.md", "load-management.md",
              "planning.md", "operations.md", "deployment.md", "performance.md",
              "architecture.md")
VENV = Path(sys.prefix)
DEMO_STATION = "PY-SIM-0001"
# A slow, shared machine still starts the server and runs the README well within these.
START_TIMEOUT_S = 90.0
RUN_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Block:
    line: int  # 1-based line of the opening fence in its file
    text: str
    source: str = "README.md"  # the file, relative to the repository


def sh_blocks(markdown: str, source: str = "README.md") -> list[Block]:
    """The ```sh blocks of a Markdown text, in order."""
    blocks: list[Block] = []
    lines = markdown.splitlines()
    index = 0
    while index < len(lines):
        fence = re.match(r"^(`{3,})\s*(\S*)\s*$", lines[index])
        if not fence:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].strip() != fence.group(1):
            end += 1
        if fence.group(2) == "sh":
            blocks.append(Block(index + 1, "\n".join(lines[index + 1:end]), source))
        index = end + 1
    return blocks


def make_run_environment() -> dict[str, str]:
    """The CHARGEPLAN_* variables the Makefile's `run` target sets, read from the Makefile
    itself so the test cannot drift from it (DEMO at its default, true)."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^run:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe, "the Makefile has no run target"
    found = dict(re.findall(r"(CHARGEPLAN_\w+)=(\S+)", recipe.group(1)))
    return {name: value.replace("$(DEMO)", "true") for name, value in found.items()}


def with_ports(text: str, http_port: int, ocpp_port: int) -> str:
    text = re.sub(r"\b(localhost|127\.0\.0\.1|0\.0\.0\.0):8000\b", rf"\1:{http_port}", text)
    return re.sub(r"\b(localhost|127\.0\.0\.1|0\.0\.0\.0):9000\b", rf"\1:{ocpp_port}", text)


def docs_blocks() -> list[Block]:
    """The ```sh blocks of the pages of docs/, page by page in the order of DOCS_PAGES."""
    return [block for page in DOCS_PAGES
            for block in sh_blocks((DOCS / page).read_text(), f"docs/{page}")]


def script(blocks: list[Block], http_port: int, ocpp_port: int) -> str:
    """One bash script: each block announced on stderr, so a failure names its block."""
    parts = [
        "set -eu -o pipefail",
        "curl() { command curl --fail-with-body -sS \"$@\"; }",
    ]
    for block in blocks:
        parts.append(f"echo {shlex.quote(f'{block.source} block at line {block.line}')} >&2")
        parts.append(with_ports(block.text, http_port, ocpp_port))
    parts.append("echo 'every block ran' >&2")
    return "\n".join(parts) + "\n"


@dataclass(frozen=True)
class MakeRun:
    env: dict[str, str]
    http_url: str
    http_port: int
    ocpp_port: int


def _wait_for_demo_station(http_url: str, server: subprocess.Popen[str]) -> None:
    """Until the demo station is connected and its configuration read (the README's first
    command shows it online)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    with httpx.Client(timeout=5) as client:  # one for every poll (tests/serve_process.py)
        while time.monotonic() < deadline:
            assert server.poll() is None, f"the server stopped: {server.communicate()[1]}"
            try:
                answer = client.get(f"{http_url}/stations/{DEMO_STATION}")
                body = answer.json() if answer.status_code == 200 else {}
                if body.get("online") and body.get("configuration_read_at"):
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)  # polling a condition, not waiting a fixed time
    raise AssertionError(f"{DEMO_STATION} not online within {START_TIMEOUT_S} s")


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[MakeRun]:
    http_port, ocpp_port = free_port(), free_port()
    env = {
        **os.environ,
        **make_run_environment(),
        "CHARGEPLAN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'chargeplan.db'}",
        "CHARGEPLAN_HTTP_PORT": str(http_port),
        "CHARGEPLAN_OCPP_PORT": str(ocpp_port),
        "PATH": f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    server = subprocess.Popen([str(VENV / "bin" / "chargeplan"), "serve"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        http_url = f"http://127.0.0.1:{http_port}"
        _wait_for_demo_station(http_url, server)
        yield MakeRun(env, http_url, http_port, ocpp_port)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()


def test_the_readme_has_examples_to_run() -> None:
    blocks = sh_blocks(README.read_text())
    assert len(blocks) >= 5
    assert not any(re.search(r"^\s*make run\b", block.text, re.MULTILINE) for block in blocks), \
        "`make run` does not return: fence it ```text"


def test_every_page_of_docs_is_run_and_has_its_examples() -> None:
    assert sorted(DOCS_PAGES) == sorted(path.name for path in DOCS.glob("*.md")), \
        "list every page of docs/ in DOCS_PAGES, where its examples may run"
    blocks = docs_blocks()
    assert len(blocks) >= 15
    assert not any(re.search(r"^\s*make run\b", block.text, re.MULTILINE) for block in blocks), \
        "`make run` does not return: fence it ```text"


def test_a_failing_block_fails_the_script(tmp_path: Path) -> None:
    blocks = [Block(1, "true", "docs/a.md"), Block(5, "false", "docs/b.md"),
              Block(9, "echo never", "docs/c.md")]
    run = subprocess.run(["bash", "-c", script(blocks, 1, 2)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=30)
    assert run.returncode != 0
    assert run.stderr.splitlines()[-1] == "docs/b.md block at line 5"


def run_blocks(blocks: list[Block], make_run: MakeRun, tmp_path: Path) -> None:
    """Run the blocks in one shell, in a directory like a clone, and fail naming the block
    that failed."""
    workdir = tmp_path / "reader"
    workdir.mkdir()
    # The reader's shell sits in a clone with its .venv (`.venv/bin/chargeplan` works);
    # files the examples write land here, not in the repository.
    (workdir / ".venv").symlink_to(VENV)
    (workdir / "config").symlink_to(ROOT / "config")
    # Its own process group: whatever an example leaves running is stopped with it.
    shell = subprocess.Popen(["bash", "-c", script(blocks, make_run.http_port,
                                                   make_run.ocpp_port)],
                             cwd=workdir, env=make_run.env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = shell.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(shell.pid, signal.SIGKILL)
        out, err = shell.communicate()
        pytest.fail(f"the examples did not finish in {RUN_TIMEOUT_S} s:\n{err}")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGTERM)
    assert shell.returncode == 0, f"exit {shell.returncode}\n--- stderr\n{err}\n--- stdout\n" \
        f"{out[-4000:]}"
    assert err.rstrip().endswith("every block ran")


def test_every_sh_block_of_the_readme_runs_against_make_run(
        make_run: MakeRun, tmp_path: Path) -> None:
    run_blocks(sh_blocks(README.read_text()), make_run, tmp_path)


def test_every_sh_block_of_the_docs_runs_against_make_run(
        make_run: MakeRun, tmp_path: Path) -> None:
    run_blocks(docs_blocks(), make_run, tmp_path)
