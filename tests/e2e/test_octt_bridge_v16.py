"""The tzi-OCTT 1.6J trigger API (``chargeplan octt-bridge``) against the real server: a
trigger reaches the simulated 1.6 station as its command, the suite's token and password
calls change what the REST API shows, and chargeplan's refusals come back as they are."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http.server import ThreadingHTTPServer

import httpx

from app.cli.octt_bridge import RestApi, handler_for
from tests.conftest import RunningServer
from tests.e2e.harness import simulated

SID = "PY-SIM-0001"


@asynccontextmanager
async def bridge(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    """The bridge on a free loopback port, and a client for it."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(RestApi(server.http_url, None,
                                                                      30.0)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{httpd.server_address[1]}",
                                     timeout=30) as client:
            yield client
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


async def test_a_16_trigger_is_sent_to_the_station_and_its_answer_comes_back(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with simulated(server, http), bridge(server) as octt:
        answer = await octt.post(f"/api/octt/1.6/{SID}/get-configuration",
                                 json={"key": ["HeartbeatInterval"]})
        assert answer.status_code == 200, answer.text
        assert [k["key"] for k in answer.json()["response"]["configurationKey"]] == [
            "HeartbeatInterval"]
        refused = await octt.post(f"/api/octt/1.6/{SID}/reset", json={"type": "Warm"})
        assert refused.status_code == 400
        assert [e["key"] for e in refused.json()["extra"]] == ["type"]


async def test_create_token_adds_the_tag_or_changes_only_its_status(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    for tag in ({"id_tag": "GROUP001"}, {"id_tag": "MASTERC47", "parent_id_tag": "GROUP001"}):
        assert (await http.post("/id_tags", json=tag)).status_code == 201
    async with bridge(server) as octt:
        added = await octt.post("/api/octt/create-token",
                                json={"token_id": "100000C07", "status": "Expired"})
        assert added.status_code == 201, added.text
        assert (await http.get("/id_tags/100000C07")).json()["status"] == "Expired"
        changed = await octt.post("/api/octt/create-token",
                                  json={"token_id": "MASTERC47", "status": "Blocked"})
        assert changed.status_code == 200, changed.text
    member = (await http.get("/id_tags/MASTERC47")).json()
    assert (member["status"], member["parent_id_tag"]) == ("Blocked", "GROUP001")


async def test_set_basic_auth_password_registers_it_within_the_whitepapers_length(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    assert (await http.post("/stations", json={"station_id": "CP16_SP1"})).status_code == 201
    async with bridge(server) as octt:
        short = await octt.post("/api/octt/set-basic-auth-password",
                                json={"station_id": "CP16_SP1", "password": "test1234"})
        assert short.status_code == 400
        assert "must be 16 to 20 bytes" in short.json()["detail"]
        assert (await http.get("/stations/CP16_SP1")).json()["has_password"] is False
        answer = await octt.post("/api/octt/set-basic-auth-password",
                                 json={"station_id": "CP16_SP1", "password": "test1234test1234"})
        assert answer.status_code == 200, answer.text
    station = (await http.get("/stations/CP16_SP1")).json()
    assert (station["has_password"], station["security_profile"]) == (True, 1)
