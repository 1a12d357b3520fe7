"""GET /metrics shows what the garbage collector costs; the object count only on request."""

from __future__ import annotations

import httpx


def gauge(text: str, name: str) -> float | None:
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == name:
            return float(parts[1])
    return None


async def test_full_collections_are_always_shown_and_objects_counted_only_on_request(
    http: httpx.AsyncClient,
) -> None:
    plain = await http.get("/metrics")
    assert plain.status_code == 200
    assert gauge(plain.text, "chargeplan_gc_full_collections_total") is not None
    assert gauge(plain.text, "chargeplan_gc_full_pause_seconds_max") is not None
    assert gauge(plain.text, "chargeplan_gc_tracked_objects") is None
    counted = await http.get("/metrics", params={"count_objects": "true"})
    # The server's app, routes and every module's functions are tracked objects.
    assert (gauge(counted.text, "chargeplan_gc_tracked_objects") or 0) > 10_000


async def test_a_bad_count_objects_is_400_naming_it(http: httpx.AsyncClient) -> None:
    answer = await http.get("/metrics", params={"count_objects": "maybe"})
    assert answer.status_code == 400
    assert "count_objects" in answer.text
