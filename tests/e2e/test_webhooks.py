"""Webhooks against a real local HTTP receiver: signed, retried with backoff, each event
delivered once, every attempt visible."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest

from app.settings import Settings
from tests.conftest import RunningServer, free_port, make_settings, start_server, stop_server
from tests.e2e.harness import eventually, simulated
from tests.profiles import TX_DEFAULT_7KW

SID = "PY-SIM-0001"
SECRET = "a-shared-secret-of-32-characters"


@dataclass
class Receiver:
    """An HTTP server that answers 500 to its first ``fail_first`` requests, then 204."""

    fail_first: int
    requests: list[tuple[dict[str, str], bytes, int]] = field(default_factory=list)
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        status = 500 if len(self.requests) < self.fail_first else 204
        self.requests.append((headers, body, status))
        reason = "Internal Server Error" if status == 500 else "No Content"
        writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\n"
                     "Connection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    def accepted(self) -> list[dict[str, object]]:
        return [json.loads(body) for _, body, status in self.requests if status == 204]


@asynccontextmanager
async def receiver(fail_first: int) -> AsyncIterator[Receiver]:
    found = Receiver(fail_first)
    server = await asyncio.start_server(found.handle, "127.0.0.1", 0)
    found.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook"
    async with server:
        yield found


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    # Short backoff so the retries happen within the test.
    return make_settings(sqlite_url, scheduler_enabled=False, webhook_retry_base_s=0.05,
                         webhook_retry_cap_s=0.2)


async def test_a_receiver_failing_twice_gets_each_event_once_signed_after_retries(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with receiver(fail_first=2) as hooked:
        created = await http.post("/webhooks", json={
            "url": hooked.url, "secret": SECRET,
            "types": ["station.booted", "profile.stored", "profile.accepted"]})
        assert created.status_code == 201, created.text
        hook = created.json()
        assert "secret" not in hook and hook["types"] == [
            "station.booted", "profile.stored", "profile.accepted"]
        async with simulated(server, http):
            sent = await http.post(f"/stations/{SID}/charging_profile",
                                   json={"connector_id": 1, "profile": TX_DEFAULT_7KW})
            assert sent.json()["status"] == "success"
            await eventually(lambda: len(hooked.accepted()) == 3)
        events = hooked.accepted()
        assert [e["type"] for e in events] == ["station.booted", "profile.stored",
                                               "profile.accepted"]
        ids = [e["id"] for e in events]
        assert ids == sorted(set(ids))  # each once, in order
        # The first event was tried three times with the same body; every request signed.
        assert [status for _, _, status in hooked.requests] == [500, 500, 204, 204, 204]
        assert hooked.requests[0][1] == hooked.requests[2][1]
        for headers, body, _ in hooked.requests:
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            assert headers["x-chargeplan-signature"] == expected
            assert headers["x-chargeplan-event-id"] == str(json.loads(body)["id"])

        listed = (await http.get(f"/webhooks/{hook['id']}/deliveries")).json()
        first = listed[-1]  # newest first
        assert first["event_type"] == "station.booted" and first["state"] == "delivered"
        assert first["attempts"] == 3
        assert [a["status"] for a in first["attempt_log"]] == [500, 500, 204]
        assert [d["attempts"] for d in listed[:-1]] == [1, 1]


async def test_bad_webhooks_are_refused_naming_the_field(http: httpx.AsyncClient) -> None:
    cases = [({"url": "ftp://example.com/x", "secret": SECRET}, "url"),
             ({"url": "http://127.0.0.1:1/x", "secret": "short"}, "secret"),
             ({"url": "http://127.0.0.1:1/x", "secret": SECRET, "types": ["nope"]}, "types"),
             ({"url": "http://127.0.0.1:1/x"}, "secret")]
    for body, key in cases:
        answer = await http.post("/webhooks", json=body)
        assert answer.status_code == 400, body
        assert key in {e["key"] for e in answer.json()["extra"]}, answer.text
    assert (await http.get("/webhooks/999/deliveries")).status_code == 404
    assert (await http.get("/webhooks")).json() == []


async def test_a_receiver_that_never_answers_well_ends_failed(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    async with receiver(fail_first=100) as hooked:
        hook = (await http.post("/webhooks", json={
            "url": hooked.url, "secret": SECRET, "types": ["station.booted"]})).json()
        async with simulated(server, http):
            async def failed() -> bool:
                rows = (await http.get(f"/webhooks/{hook['id']}/deliveries")).json()
                return bool(rows) and rows[0]["state"] == "failed"
            await eventually(failed)
        (row,) = (await http.get(f"/webhooks/{hook['id']}/deliveries")).json()
        assert row["attempts"] == server.settings.webhook_max_attempts
        assert row["last_status"] == 500 and row["delivered_at"] is None
        assert (await http.delete(f"/webhooks/{hook['id']}")).status_code == 204
        assert (await http.get(f"/webhooks/{hook['id']}")).status_code == 404


async def test_a_delivery_pending_when_the_server_stops_is_finished_after_a_restart(
    settings: Settings,
) -> None:
    settings = settings.with_overrides(webhook_max_attempts=1000)
    server = await start_server(settings)
    async with receiver(fail_first=10**6) as hooked:
        try:
            async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
                hook = (await http.post("/webhooks", json={
                    "url": hooked.url, "secret": SECRET, "types": ["station.booted"]})).json()
                async with simulated(server, http):
                    await eventually(lambda: len(hooked.requests) >= 2)
        finally:
            await stop_server(server)
        tried = len(hooked.requests)
        hooked.fail_first = 0  # the receiver is fixed while chargeplan is down
        again = await start_server(settings.with_overrides(http_port=free_port()))
        try:
            async with httpx.AsyncClient(base_url=again.http_url, timeout=10) as http:
                await eventually(lambda: len(hooked.accepted()) == 1)
                (row,) = (await http.get(f"/webhooks/{hook['id']}/deliveries")).json()
        finally:
            await stop_server(again)
    assert [e["type"] for e in hooked.accepted()] == ["station.booted"]
    # The attempts go on from where they stopped (an attempt cut short by the stop may
    # have reached the receiver without being recorded).
    assert row["state"] == "delivered" and row["attempts"] in (tried, tried + 1)
    statuses = [a["status"] for a in row["attempt_log"]]
    assert statuses == [500] * (row["attempts"] - 1) + [204]
