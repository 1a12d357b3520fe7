"""REST API keys and roles, as a client meets them: every route of the app x {no key,
bad key, reader, operator, admin}, the REST audit, lockout of failed keys, rate limits,
body size, CORS, security headers, and the command line that makes keys."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.api.access import declared_access
from app.db.access_models import ApiKey
from app.domain.access import Role, permits
from app.main import create_app
from app.settings import SettingsError, load_settings
from tests.conftest import RunningServer, make_settings, start_server, stop_server

ROLES = (Role.READER, Role.OPERATOR, Role.ADMIN)
# Values for path parameters: nothing of these exists, so no call changes anything.
PLACEHOLDERS = {"int": "999999", "str": "NO-SUCH-THING"}


def route_table() -> list[tuple[str, str, Any]]:
    """(method, path, declared access) of every route the app serves, Litestar's
    generated OPTIONS handlers aside. Generated, so a route added later is in it."""
    app = create_app(make_settings("sqlite+aiosqlite:///:memory:"))
    table = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if getattr(handler, "handler_name", "") == "options_handler":
                continue
            for method in sorted(handler.http_methods):
                path = re.sub(r"\{[^:}]+:(int|str|path)\}",
                              lambda m: PLACEHOLDERS.get(m.group(1), "x"), route.path)
                table.append((method, path, declared_access(handler)))
    return table


ROUTES = route_table()


def test_every_route_declares_who_may_call_it() -> None:
    undeclared = [f"{method} {path}" for method, path, access in ROUTES if access is None]
    assert not undeclared, (
        "routes without opt=PUBLIC/READER/OPERATOR/ADMIN (app/api/access.py): "
        f"{undeclared}")
    assert len(ROUTES) > 60


def test_only_health_metrics_docs_and_dashboard_shells_are_open() -> None:
    """The dashboard's page shells, scripts and sign-in carry no data: what they show
    comes from routes that need a key (the /ui/session cookie)."""
    open_routes = {path for _, path, access in ROUTES if access in ("public", "metrics")}
    assert open_routes and all(
        path in ("/health", "/metrics", "/redoc", "/openapi.json") or path.startswith("/docs")
        or (path.startswith("/ui") and not path.startswith("/ui/api"))
        for path in open_routes), open_routes
    assert not any(path.startswith(("/ui/api", "/events")) for path in open_routes)


@pytest.fixture
async def secured(sqlite_url: str) -> AsyncIterator[RunningServer]:
    running = await start_server(make_settings(
        sqlite_url, api_auth=True, api_auth_failures_allowed=100000,
        api_rate_reader_per_min=1e6, api_rate_operator_per_min=1e6,
        api_rate_admin_per_min=1e6, api_rate_address_per_min=1e6))
    try:
        yield running
    finally:
        await stop_server(running)


async def make_keys(server: RunningServer) -> dict[Role, str]:
    keys = {}
    for role in ROLES:
        created = await server.services.api_keys.create(f"{role.value}-key", role.value)
        keys[role] = created.secret
    return keys


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def call(http: httpx.AsyncClient, method: str, path: str,
               headers: dict[str, str]) -> httpx.Response:
    body = {} if method in ("POST", "PUT", "PATCH") else None
    # GET /events answers with a stream that ends only when the client leaves: its
    # status and headers are the answer.
    response = await http.send(http.build_request(method, path, headers=headers, json=body),
                               stream=True)
    try:
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            await response.aread()
    finally:
        await response.aclose()
    return response


async def test_route_matrix_no_key_bad_key_and_each_role(secured: RunningServer) -> None:
    keys = await make_keys(secured)
    wrong: list[str] = []
    async with httpx.AsyncClient(base_url=secured.http_url, timeout=30) as http:
        for method, path, access in ROUTES:
            where = f"{method} {path}"
            if access in ("public", "metrics"):
                answer = await call(http, method, path, {})
                if answer.status_code in (401, 403) or answer.status_code >= 500:
                    wrong.append(f"{where} without a key: {answer.status_code}")
                continue
            required = Role(access)
            answer = await call(http, method, path, {})
            if answer.status_code != 401 or "missing API key" not in answer.json()["detail"]:
                wrong.append(f"{where} without a key: {answer.status_code} {answer.text}")
            elif answer.headers.get("WWW-Authenticate") != "Bearer":
                wrong.append(f"{where} without a key: no WWW-Authenticate: Bearer")
            answer = await call(http, method, path, bearer("cpk_not-a-key"))
            if answer.status_code != 401 or "invalid API key" not in answer.json()["detail"]:
                wrong.append(f"{where} with a bad key: {answer.status_code} {answer.text}")
            for role in ROLES:
                answer = await call(http, method, path, bearer(keys[role]))
                if permits(role, required):
                    if answer.status_code in (401, 403) or answer.status_code >= 500:
                        wrong.append(f"{where} as {role}: {answer.status_code} {answer.text}")
                elif (answer.status_code != 403
                      or f"needs the {required.value} role" not in answer.json()["detail"]):
                    wrong.append(f"{where} as {role}: {answer.status_code} {answer.text}")
    assert not wrong, "\n".join(wrong)


async def test_roles_follow_the_documented_split() -> None:
    rules = {(m, p): a for m, p, a in ROUTES}
    assert rules[("GET", "/stations")] is Role.READER
    assert rules[("POST", "/stations")] is Role.ADMIN
    assert rules[("PATCH", "/stations/NO-SUCH-THING")] is Role.ADMIN
    assert rules[("POST", "/plans")] is Role.OPERATOR
    assert rules[("POST", "/stations/NO-SUCH-THING/commands/Reset")] is Role.OPERATOR
    assert rules[("POST", "/api_keys")] is Role.ADMIN
    assert rules[("GET", "/audit/rest")] is Role.ADMIN


async def test_keys_are_stored_only_as_hashes_and_revocation_takes_effect(
        secured: RunningServer) -> None:
    created = await secured.services.api_keys.create("ops", "operator")
    async with secured.services.db.uow() as session:
        row = (await session.scalars(select(ApiKey).where(ApiKey.name == "ops"))).one()
    assert created.secret not in (row.key_hash, row.prefix)
    assert created.secret.startswith(row.prefix)
    async with httpx.AsyncClient(base_url=secured.http_url) as http:
        assert (await http.get("/stations", headers=bearer(created.secret))).status_code == 200
        await secured.services.api_keys.revoke("ops")
        answer = await http.get("/stations", headers=bearer(created.secret))
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]


async def test_admin_manages_keys_over_rest(secured: RunningServer) -> None:
    keys = await make_keys(secured)
    async with httpx.AsyncClient(base_url=secured.http_url) as http:
        answer = await http.post("/api_keys", headers=bearer(keys[Role.ADMIN]),
                                 json={"name": "dashboard", "role": "reader"})
        assert answer.status_code == 201, answer.text
        new_key = answer.json()["key"]
        assert (await http.get("/id_tags", headers=bearer(new_key))).status_code == 200
        listed = (await http.get("/api_keys", headers=bearer(keys[Role.ADMIN]))).json()
        assert "dashboard" in {k["name"] for k in listed}
        assert all("key" not in k for k in listed)
        bad = await http.post("/api_keys", headers=bearer(keys[Role.ADMIN]),
                              json={"name": "x", "role": "root"})
        assert bad.status_code == 400 and bad.json()["extra"][0]["key"] == "role"
        again = await http.post("/api_keys", headers=bearer(keys[Role.ADMIN]),
                                json={"name": "dashboard", "role": "admin"})
        assert again.status_code == 409
        revoked = await http.delete("/api_keys/dashboard", headers=bearer(keys[Role.ADMIN]))
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
        assert (await http.get("/id_tags", headers=bearer(new_key))).status_code == 401


async def test_changes_are_recorded_with_the_key_name_and_secrets_masked(
        secured: RunningServer) -> None:
    keys = await make_keys(secured)
    async with httpx.AsyncClient(base_url=secured.http_url) as http:
        made = await http.post("/id_tags", headers=bearer(keys[Role.OPERATOR]), json={
            "id_tag": "RFID-9", "status": "Accepted", "expiry_date": None,
            "parent_id_tag": None})
        assert made.status_code == 201, made.text
        station = await http.post("/stations", headers=bearer(keys[Role.ADMIN]),
                                  json={"station_id": "CP-9", "password": "0123456789abcdef"})
        assert station.status_code == 201, station.text
        refused = await http.delete("/id_tags/RFID-9", headers=bearer(keys[Role.READER]))
        assert refused.status_code == 403
        assert (await http.get("/id_tags", headers=bearer(keys[Role.OPERATOR]))).is_success
        page = (await http.get("/audit/rest", headers=bearer(keys[Role.ADMIN]))).json()
        by_operator = (await http.get("/audit/rest", params={"key_name": "operator-key"},
                                      headers=bearer(keys[Role.ADMIN]))).json()
    items = page["items"]
    # Newest first; reads are not recorded.
    assert [(i["method"], i["path"], i["key_name"], i["status_code"]) for i in items] == [
        ("DELETE", "/id_tags/RFID-9", "reader-key", 403),
        ("POST", "/stations", "admin-key", 201),
        ("POST", "/id_tags", "operator-key", 201),
    ]
    assert items[2]["body"]["id_tag"] == "RFID-9" and items[2]["role"] == "operator"
    assert items[1]["body"]["password"] == "***"
    assert "0123456789abcdef" not in str(page)
    assert items[2]["request_id"] == made.headers["X-Request-Id"]
    assert [i["path"] for i in by_operator["items"]] == ["/id_tags"]


async def test_failed_keys_lock_out_the_address_with_429(sqlite_url: str) -> None:
    server = await start_server(make_settings(sqlite_url, api_auth=True,
                                              api_auth_failures_allowed=3))
    try:
        good = (await server.services.api_keys.create("ok", "reader")).secret
        async with httpx.AsyncClient(base_url=server.http_url) as http:
            codes = [(await http.get("/stations", headers=bearer(f"cpk_guess{n}"))).status_code
                     for n in range(3)]
            assert codes == [401, 401, 401]
            locked = await http.get("/stations", headers=bearer(good))
            assert locked.status_code == 429
            assert int(locked.headers["Retry-After"]) > 0
            assert "failed API keys" in locked.json()["detail"]
            # Open routes stay open.
            assert (await http.get("/health")).status_code == 200
    finally:
        await stop_server(server)


async def test_request_rate_is_limited_per_key(sqlite_url: str) -> None:
    server = await start_server(make_settings(sqlite_url, api_auth=True,
                                              api_rate_reader_per_min=6))
    try:
        key = (await server.services.api_keys.create("slow", "reader")).secret
        async with httpx.AsyncClient(base_url=server.http_url) as http:
            for _ in range(100):
                answer = await http.get("/id_tags", headers=bearer(key))
                if answer.status_code != 200:
                    break
        assert answer.status_code == 429
        assert int(answer.headers["Retry-After"]) >= 1
    finally:
        await stop_server(server)


async def test_body_size_cors_and_security_headers(sqlite_url: str) -> None:
    server = await start_server(make_settings(sqlite_url, max_body_bytes=2048,
                                              cors_origins="https://ops.example"))
    try:
        async with httpx.AsyncClient(base_url=server.http_url) as http:
            big = await http.post("/id_tags", content=b'{"id_tag": "' + b"x" * 4096 + b'"}',
                                  headers={"Content-Type": "application/json"})
            assert big.status_code == 413
            preflight = await http.options("/stations", headers={
                "Origin": "https://ops.example", "Access-Control-Request-Method": "GET"})
            assert preflight.headers["access-control-allow-origin"] == "https://ops.example"
            other = await http.get("/stations", headers={"Origin": "https://evil.example"})
            assert "access-control-allow-origin" not in other.headers
            docs = await http.get("/docs")
            assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]
            assert docs.headers["x-frame-options"] == "DENY"
            assert (await http.get("/stations")).headers["x-content-type-options"] == "nosniff"
    finally:
        await stop_server(server)


async def test_cors_is_off_by_default(http: httpx.AsyncClient) -> None:
    answer = await http.get("/stations", headers={"Origin": "https://ops.example"})
    assert "access-control-allow-origin" not in answer.headers


async def test_metrics_can_require_a_key(sqlite_url: str) -> None:
    server = await start_server(make_settings(sqlite_url, api_auth=True, metrics_auth=True))
    try:
        key = (await server.services.api_keys.create("prometheus", "reader")).secret
        async with httpx.AsyncClient(base_url=server.http_url) as http:
            assert (await http.get("/metrics")).status_code == 401
            assert (await http.get("/metrics", headers=bearer(key))).status_code == 200
    finally:
        await stop_server(server)


def test_openapi_documents_the_bearer_scheme() -> None:
    document = create_app(make_settings("sqlite+aiosqlite:///:memory:")
                          ).openapi_schema.to_schema()
    assert document["components"]["securitySchemes"]["ApiKey"] == {
        "type": "http", "scheme": "bearer", "description": pytest.approx(
            document["components"]["securitySchemes"]["ApiKey"]["description"])}
    assert document["security"] == [{"ApiKey": []}]


def test_auth_off_is_refused_off_loopback(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="refusing CHARGEPLAN_API_AUTH=off"):
        load_settings({"CHARGEPLAN_API_AUTH": "off", "CHARGEPLAN_HTTP_HOST": "0.0.0.0"},
                      config_file=tmp_path / "none.toml")
    assert not load_settings({"CHARGEPLAN_API_AUTH": "off"},
                             config_file=tmp_path / "none.toml").api_auth
    result = chargeplan("serve", env={"CHARGEPLAN_API_AUTH": "off",
                                      "CHARGEPLAN_HTTP_HOST": "0.0.0.0"}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "loopback" in result.stderr


def chargeplan(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], env={**os.environ, **env},
                          cwd=cwd, capture_output=True, text=True, timeout=60)


async def test_cli_creates_lists_and_revokes_keys(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cp.db'}"
    env = {"CHARGEPLAN_DATABASE_URL": url, "CHARGEPLAN_AUTO_MIGRATE": "true"}
    created = chargeplan("apikey", "create", "--name", "ci", "--role", "operator",
                         env=env, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert created.stdout == key + "\n" and key.startswith("cpk_")
    bad_role = chargeplan("apikey", "create", "--name", "x", "--role", "root", env=env,
                          cwd=tmp_path)
    assert bad_role.returncode == 2 and "invalid choice" in bad_role.stderr
    twice = chargeplan("apikey", "create", "--name", "ci", "--role", "reader", env=env,
                       cwd=tmp_path)
    assert twice.returncode == 1 and "exists already" in twice.stderr
    listed = chargeplan("apikey", "list", env=env, cwd=tmp_path)
    assert "ci" in listed.stdout and "operator" in listed.stdout and key not in listed.stdout

    server = await start_server(make_settings(url, api_auth=True))
    try:
        async with httpx.AsyncClient(base_url=server.http_url) as http:
            assert (await http.get("/stations", headers=bearer(key))).status_code == 200
            revoked = chargeplan("apikey", "revoke", "ci", env=env, cwd=tmp_path)
            assert revoked.returncode == 0, revoked.stderr
            assert (await http.get("/stations", headers=bearer(key))).status_code == 401
    finally:
        await stop_server(server)
    missing = chargeplan("apikey", "revoke", "nobody", env=env, cwd=tmp_path)
    assert missing.returncode == 1 and "nobody" in missing.stderr
