"""The closed loop over real websockets: transactions re-plan their circuit, each session's
share goes out as a circuit-owned TxProfile, decreases are Accepted before increases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.db.models import DesiredProfile
from app.domain.ownership import OwnerKind
from app.domain.states import DeliveryState
from app.settings import Settings
from tests.conftest import RunningServer, make_settings, settled_audit_rows
from tests.e2e.harness import eventually
from tests.ocpp_client import RawStation, raw_station

ACCEPTING = {"SetChargingProfile": {"status": "Accepted"},
             "ClearChargingProfile": {"status": "Accepted"}}


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    # Jobs by interval stay out of the way; transaction events re-plan after 50 ms.
    return make_settings(sqlite_url, unknown_id_tag_status="Accepted",
                         circuit_debounce_s=0.05, reconcile_interval_s=3600,
                         verify_interval_s=3600, circuit_replan_interval_s=1700,
                         circuit_lease_s=3600)


async def circuit_rows(server: RunningServer) -> list[tuple[str, str | None, int | None]]:
    """The circuits' TxProfiles in the database: station, owning circuit, transaction."""
    async with server.services.db.uow() as session:
        rows = (await session.execute(
            select(DesiredProfile.station_id, DesiredProfile.owner_id,
                   DesiredProfile.transaction_id)
            .where(DesiredProfile.owner_kind == OwnerKind.CIRCUIT,
                   DesiredProfile.purpose == "TxProfile")
            .order_by(DesiredProfile.station_id))).all()
    return [(station, owner, tx) for station, owner, tx in rows]


async def limits_acknowledged(server: RunningServer) -> bool:
    """Every circuit TxProfile is Accepted: samples from now on answer those limits."""
    async with server.services.db.uow() as session:
        states = (await session.scalars(
            select(DesiredProfile.state)
            .where(DesiredProfile.owner_kind == OwnerKind.CIRCUIT,
                   DesiredProfile.purpose == "TxProfile"))).all()
    return bool(states) and all(state == DeliveryState.ACCEPTED for state in states)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
async def depot(server: RunningServer, http: httpx.AsyncClient
                ) -> AsyncIterator[dict[str, RawStation]]:
    await http.post("/circuits", json={"id": "site", "max_current_a": 32, "connector_count": 2})
    async with AsyncExitStack() as stack:
        stations: dict[str, RawStation] = {}
        for name in ("CP-A", "CP-B"):
            cp = await stack.enter_async_context(
                raw_station(server.station_url(name), answers=dict(ACCEPTING)))
            await cp.boot()
            await http.patch(f"/stations/{name}", json={"circuit_id": "site"})
            stations[name] = cp
        yield stations


def sent_profiles(cp: RawStation, purpose: str) -> list[dict[str, Any]]:
    return [frame[3]["csChargingProfiles"] for frame in cp.server_calls
            if frame[2] == "SetChargingProfile"
            and frame[3]["csChargingProfiles"]["chargingProfilePurpose"] == purpose]


def tx_profiles(cp: RawStation) -> list[dict[str, Any]]:
    return sent_profiles(cp, "TxProfile")


def first_limit(profile: dict[str, Any]) -> float:
    return float(profile["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"])


async def start(cp: RawStation) -> int:
    answer = await cp.ok("StartTransaction", {"connectorId": 1, "idTag": "T", "meterStart": 0,
                                              "timestamp": now()})
    return int(answer["transactionId"])


async def test_sessions_share_the_circuit_and_a_stop_frees_current_for_the_other(
    depot: dict[str, RawStation], server: RunningServer, http: httpx.AsyncClient
) -> None:
    a, b = depot["CP-A"], depot["CP-B"]
    tx_a = await start(a)
    await eventually(lambda: tx_profiles(a))
    profile = tx_profiles(a)[-1]
    assert profile["chargingProfilePurpose"] == "TxProfile"
    assert profile["transactionId"] == tx_a
    assert profile["stackLevel"] == 7
    assert profile["chargingSchedule"]["chargingRateUnit"] == "A"
    assert first_limit(profile) == 32.0
    assert "validTo" in profile

    tx_b = await start(b)
    await eventually(lambda: tx_profiles(a) and tx_profiles(b)
                     and first_limit(tx_profiles(a)[-1]) == 16.0)
    assert first_limit(tx_profiles(b)[-1]) == 16.0

    solved = (await http.get("/circuits/site/allocation")).json()
    assert {s["transaction_id"]: (s["limit_a"], s["binding"], s["safe_share_a"])
            for s in solved["sessions"]} == {tx_a: (16.0, "site L1", 16.0),
                                             tx_b: (16.0, "site L1", 16.0)}

    await a.ok("StopTransaction", {"transactionId": tx_a, "meterStop": 10, "timestamp": now()})
    await eventually(lambda: first_limit(tx_profiles(b)[-1]) == 32.0)
    # The ended transaction's profile left the desired state.
    assert await circuit_rows(server) == [("CP-B", "site", tx_b)]


async def test_decreases_are_accepted_before_any_increase_is_sent(
    depot: dict[str, RawStation], server: RunningServer, http: httpx.AsyncClient
) -> None:
    a, b = depot["CP-A"], depot["CP-B"]
    await http.patch("/stations/CP-B", json={"max_current_a": 10})
    await start(a)
    await start(b)
    # B's 10 A lowers what it started under and goes first; A's 22 A follow.
    await eventually(lambda: tx_profiles(a) and tx_profiles(b)
                     and first_limit(tx_profiles(a)[-1]) == 22.0)
    assert first_limit(tx_profiles(b)[-1]) == 10.0

    # B may now take 16 A: A goes down to 16 first, and only then is B raised.
    await http.patch("/stations/CP-B", json={"max_current_a": 32})
    await eventually(lambda: first_limit(tx_profiles(b)[-1]) == 16.0)
    assert first_limit(tx_profiles(a)[-1]) == 16.0

    rows = await settled_audit_rows(server, "CP-A") + await settled_audit_rows(server, "CP-B")
    sets = sorted((r for r in rows if r.action == "SetChargingProfile"
                   and (r.direction == "in" or r.payload["csChargingProfiles"]
                        ["chargingProfilePurpose"] == "TxProfile")), key=lambda r: r.id)
    down = next(r for r in sets if r.station_id == "CP-A" and r.direction == "out"
                and first_limit(r.payload["csChargingProfiles"]) == 16.0)
    down_answer = next(r for r in sets if r.station_id == "CP-A" and r.direction == "in"
                       and r.id > down.id)
    up = next(r for r in sets if r.station_id == "CP-B" and r.direction == "out"
              and first_limit(r.payload["csChargingProfiles"]) == 16.0)
    assert down_answer.payload == {"status": "Accepted"}
    assert down_answer.id < up.id


async def test_an_increase_is_held_while_a_decrease_is_rejected(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    await http.post("/circuits", json={"id": "site", "max_current_a": 32})
    async with raw_station(server.station_url("CP-A"),
                           answers={"SetChargingProfile": {"status": "Rejected"}}) as a, \
            raw_station(server.station_url("CP-B"), answers=dict(ACCEPTING)) as b:
        for cp, name in ((a, "CP-A"), (b, "CP-B")):
            await cp.boot()
            await http.patch(f"/stations/{name}", json={"circuit_id": "site"})
        await http.patch("/stations/CP-B", json={"max_current_a": 10})
        await start(a)
        await start(b)

        def held() -> bool:
            last = server.services.load.last.get("site")
            return last is not None and bool(last.held)

        # A accepts no limit, so its car may take the whole circuit: B starts at 10 A when
        # its share is a decrease from its arrival allowance, and is held at what that
        # allowance left it when the share would raise it (A's decrease is rejected).
        await eventually(lambda: tx_profiles(b) or held())
        await http.patch("/stations/CP-B", json={"max_current_a": 32})
        await eventually(held)
        assert all(first_limit(p) <= 10.0 for p in tx_profiles(b))


async def test_the_desired_rows_are_owned_by_the_circuit_per_transaction(
    depot: dict[str, RawStation], server: RunningServer
) -> None:
    tx = await start(depot["CP-A"])
    await eventually(lambda: tx_profiles(depot["CP-A"]))
    assert await circuit_rows(server) == [("CP-A", "site", tx)]


async def test_an_operator_reads_which_circuit_made_a_stations_profiles(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    """In a nested tree, a station's circuit rows name the circuit it hangs from (not the
    site's root), over REST; the session a TxProfile limits is its own transactionId."""
    await http.post("/circuits", json={"id": "main", "max_current_a": 63,
                                       "connector_count": 4})
    await http.post("/circuits", json={"id": "garage", "parent_id": "main",
                                       "max_current_a": 32})
    async with raw_station(server.station_url("CP-G"), answers=dict(ACCEPTING)) as cp:
        await cp.boot()
        assert (await http.patch("/stations/CP-G", json={"circuit_id": "garage"})
                ).status_code == 200
        tx = await start(cp)
        await eventually(lambda: tx_profiles(cp))

        async def circuit_profiles() -> list[dict[str, Any]]:
            listed = (await http.get("/stations/CP-G/charging_profiles")).json()
            return [p for p in listed if p["owner_kind"] == "circuit"]

        async def all_three() -> list[dict[str, Any]] | None:
            found = await circuit_profiles()
            return found if len(found) == 3 else None

        found = await eventually(all_three)
        # The share, the fail-safe cap and the arrival allowance.
        assert sorted((p["purpose"], p["connector_id"], p["owner_id"],
                       p["profile"].get("transactionId")) for p in found) == [
            ("ChargePointMaxProfile", 0, "garage", None),
            ("TxDefaultProfile", 0, "garage", None), ("TxProfile", 1, "garage", tx)]


async def test_every_station_gets_a_safe_share_cap_that_starts_when_the_lease_ends(
    depot: dict[str, RawStation], server: RunningServer
) -> None:
    a, b = depot["CP-A"], depot["CP-B"]
    await start(a)

    def caps_follow_the_lease() -> bool:
        caps = sent_profiles(a, "ChargePointMaxProfile")
        return bool(tx_profiles(a) and caps and sent_profiles(b, "ChargePointMaxProfile")
                    and caps[-1]["validFrom"] == tx_profiles(a)[-1]["validTo"])

    await eventually(caps_follow_the_lease)
    lease_end = tx_profiles(a)[-1]["validTo"]
    cap_a = sent_profiles(a, "ChargePointMaxProfile")[-1]
    cap_b = sent_profiles(b, "ChargePointMaxProfile")[-1]
    # 32 A over two connectors: 16 A each, from the end of A's lease (B has no session).
    assert first_limit(cap_a) == first_limit(cap_b) == 16.0
    assert cap_a["validFrom"] == lease_end
    # An idle station's cap starts a lease after the re-plan that sent it: not yet.
    assert cap_b["validFrom"] > now()
    assert "validTo" not in cap_a


async def test_a_connector_limit_is_explained_with_its_binding_constraint(
    depot: dict[str, RawStation], server: RunningServer, http: httpx.AsyncClient
) -> None:
    a, b = depot["CP-A"], depot["CP-B"]
    idle = (await http.get("/stations/CP-A/connectors/1/limit")).json()
    assert idle["circuit"] == {"circuit_id": "site", "transaction_id": None, "limit_a": None,
                               "binding": None, "admitted": None, "safe_share_a": 16.0}
    await http.patch("/stations/CP-B", json={"max_current_a": 10})
    tx_a = await start(a)
    await start(b)
    await eventually(lambda: tx_profiles(a) and tx_profiles(b)
                     and first_limit(tx_profiles(a)[-1]) == 22.0)

    async def explained(station: str) -> dict[str, Any]:
        found: dict[str, Any] = (await http.get(f"/stations/{station}/connectors/1/limit")).json()
        return found

    shared = await explained("CP-A")
    assert (shared["limit_a"], shared["binding"]) == (22.0, "site L1")
    assert shared["circuit"]["transaction_id"] == tx_a
    owners = {(p["purpose"], p["owner_kind"], p["owner_id"], p["limit"])
              for p in shared["profiles"]}
    # Both name the circuit that made them; the TxProfile is in force for transaction
    # tx_a, the fail-safe cap waits for the end of the lease.
    assert ("TxProfile", "circuit", "site", 22.0) in owners
    assert ("ChargePointMaxProfile", "circuit", "site", None) in owners
    assert [p["transaction_id"] for p in shared["profiles"]
            if p["purpose"] == "TxProfile"] == [tx_a]
    capped = await explained("CP-B")
    assert (capped["limit_a"], capped["binding"]) == (10.0, "cap")

    # A manual profile lower than the circuit's share is what binds the connector then.
    manual = await http.post("/stations/CP-A/charging_profile", json={
        "connector_id": 1, "profile": {
            "chargingProfileId": 900, "stackLevel": 1,
            "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Absolute",
            "chargingSchedule": {"startSchedule": now(), "chargingRateUnit": "A",
                                 "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 8}]}}})
    assert manual.status_code == 200, manual.text
    # A TxProfile overrides TxDefaultProfiles (OCPP 1.6 §3.13.1): the circuit's 22 A stand
    # until the re-plan the manual profile sets off, which caps A at what it allows.
    # The binding names the profile that caps the share, with its owner.
    tx_default = await eventually(
        lambda: _is(explained("CP-A"), limit_a=8.0, binding="profile 900 (manual)"))
    assert tx_default["circuit"]["transaction_id"] == tx_a

    station_cap = await http.post("/stations/CP-A/charging_profile", json={
        "connector_id": 0, "profile": {
            "chargingProfileId": 901, "stackLevel": 1,
            "chargingProfilePurpose": "ChargePointMaxProfile", "chargingProfileKind": "Absolute",
            "chargingSchedule": {"startSchedule": now(), "chargingRateUnit": "A",
                                 "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7}]}}})
    assert station_cap.status_code == 200, station_cap.text
    # A station cap lower still: the circuit follows it too.
    await eventually(lambda: _is(explained("CP-A"), limit_a=7.0,
                                 binding="profile 901 (manual)"))
    # Without a session the circuit decides nothing on the connector: the lowest profile
    # in force does, named with its owner.
    await a.ok("StopTransaction", {"transactionId": tx_a, "meterStop": 10, "timestamp": now()})
    idle_again = await eventually(lambda: _is(explained("CP-A"), limit_a=7.0,
                                              binding="profile 901 (manual)"))
    assert idle_again["circuit"]["transaction_id"] is None

    assert (await http.get("/stations/NOPE/connectors/1/limit")).status_code == 404
    zero = await http.get("/stations/CP-A/connectors/0/limit")
    assert zero.status_code == 400 and zero.json()["extra"][0]["key"] == "connector_id"


async def _is(answer: Awaitable[dict[str, Any]], **expected: Any) -> dict[str, Any] | None:
    """The answer when it has every expected value, else None (to poll with eventually)."""
    found = await answer
    return found if all(found.get(k) == v for k, v in expected.items()) else None


async def test_the_circuit_never_raises_a_connector_above_another_owners_profile(
    depot: dict[str, RawStation], server: RunningServer, http: httpx.AsyncClient
) -> None:
    a, b = depot["CP-A"], depot["CP-B"]
    manual = await http.post("/stations/CP-A/charging_profile", json={
        "connector_id": 1, "profile": {
            "chargingProfileId": 900, "stackLevel": 1,
            "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Absolute",
            "chargingSchedule": {"startSchedule": now(), "chargingRateUnit": "A",
                                 "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10}]}}})
    assert manual.status_code == 200, manual.text
    await start(a)
    await start(b)
    # A TxProfile overrides a TxDefaultProfile: the circuit's must not give A more than 10 A.
    await eventually(lambda: tx_profiles(b) and first_limit(tx_profiles(b)[-1]) == 22.0)
    assert first_limit(tx_profiles(a)[-1]) == 10.0
    explained = (await http.get("/stations/CP-A/connectors/1/limit")).json()
    assert (explained["limit_a"], explained["binding"]) == (10.0, "profile 900 (manual)")
    solved = (await http.get("/circuits/site/allocation")).json()
    assert [s["binding"] for s in solved["sessions"] if s["station_id"] == "CP-A"] == [
        "profile 900 (manual)"]

    # The manual profile withdrawn: the re-plan it sets off shares the circuit evenly again
    # (no periodic re-plan runs in these tests).
    cleared = await http.delete("/stations/CP-A/charging_profile", params={"profile_id": 900})
    assert cleared.status_code == 200, cleared.text
    await eventually(lambda: first_limit(tx_profiles(a)[-1]) == 16.0
                     and first_limit(tx_profiles(b)[-1]) == 16.0)


async def test_metrics_show_replans_headroom_and_paused_sessions(
    depot: dict[str, RawStation], server: RunningServer, http: httpx.AsyncClient
) -> None:
    await http.patch("/circuits/site", json={"max_current_a": 10})  # room for one minimum
    await start(depot["CP-A"])
    await start(depot["CP-B"])
    await eventually(lambda: tx_profiles(depot["CP-B"])
                     and server.services.load.last["site"].paused == 1)
    text = (await http.get("/metrics")).text
    assert 'chargeplan_circuit_headroom_amperes{circuit="site",phase="L1"} 0' in text
    assert 'chargeplan_circuit_sessions_paused{root="site"} 1' in text
    replans = next(line for line in text.splitlines()
                   if line.startswith("chargeplan_circuit_replans_total "))
    assert int(replans.split()[1]) >= 2
    # The second car is paused: its TxProfile says 0 A.
    assert first_limit(tx_profiles(depot["CP-B"])[-1]) == 0.0


async def test_a_suspended_car_holds_its_minimum_until_it_charges_again(
    depot: dict[str, RawStation], server: RunningServer
) -> None:
    a, b = depot["CP-A"], depot["CP-B"]
    await start(a)
    await start(b)
    await eventually(lambda: tx_profiles(a) and tx_profiles(b)
                     and first_limit(tx_profiles(a)[-1]) == 16.0)

    async def report(status: str) -> None:
        await a.ok("StatusNotification", {"connectorId": 1, "status": status,
                                          "errorCode": "NoError", "timestamp": now()})

    await report("SuspendedEV")
    await eventually(lambda: first_limit(tx_profiles(b)[-1]) == 26.0)
    assert first_limit(tx_profiles(a)[-1]) == 6.0
    await report("Charging")
    await eventually(lambda: first_limit(tx_profiles(a)[-1]) == 16.0)
    assert first_limit(tx_profiles(b)[-1]) == 16.0


async def owned_rows(server: RunningServer, station_id: str) -> list[tuple[str, str | None]]:
    """Every circuit-owned desired row of the station: purpose, owning circuit."""
    async with server.services.db.uow() as session:
        rows = (await session.execute(
            select(DesiredProfile.purpose, DesiredProfile.owner_id)
            .where(DesiredProfile.owner_kind == OwnerKind.CIRCUIT,
                   DesiredProfile.station_id == station_id)
            .order_by(DesiredProfile.purpose))).all()
    return [(purpose, owner) for purpose, owner in rows]


def cleared_ids(cp: RawStation) -> list[int]:
    return [frame[3].get("id") for frame in cp.server_calls
            if frame[2] == "ClearChargingProfile"]


async def test_deleting_a_circuit_clears_the_limits_it_set_from_its_chargers(
    depot: dict[str, RawStation], server: RunningServer, http: httpx.AsyncClient
) -> None:
    a, b = depot["CP-A"], depot["CP-B"]
    await start(a)
    await eventually(lambda: tx_profiles(a) and sent_profiles(a, "ChargePointMaxProfile")
                     and sent_profiles(b, "ChargePointMaxProfile"))
    limits_a = {tx_profiles(a)[-1]["chargingProfileId"],
                sent_profiles(a, "ChargePointMaxProfile")[-1]["chargingProfileId"]}
    cap_b = sent_profiles(b, "ChargePointMaxProfile")[-1]["chargingProfileId"]

    assert (await http.delete("/circuits/site")).status_code == 204

    # Nothing stands behind the shares and fail-safe caps any more: left in place, the
    # caps would start when the lease ran out and hold the chargers down for good.
    await eventually(lambda: limits_a <= set(cleared_ids(a)) and cap_b in cleared_ids(b))
    assert await owned_rows(server, "CP-A") == []
    assert await owned_rows(server, "CP-B") == []
    assert (await http.get("/stations/CP-A")).json()["circuit_id"] is None


async def test_a_station_moved_to_another_circuit_is_limited_by_the_new_one_first(
    depot: dict[str, RawStation], server: RunningServer, http: httpx.AsyncClient
) -> None:
    a = depot["CP-A"]
    await http.post("/circuits", json={"id": "garage", "max_current_a": 10,
                                       "connector_count": 1})
    tx = await start(a)
    await eventually(lambda: tx_profiles(a) and first_limit(tx_profiles(a)[-1]) == 32.0)
    before = len(a.server_calls)

    assert (await http.patch("/stations/CP-A", json={"circuit_id": "garage"})
            ).status_code == 200

    async def only_garage() -> bool:
        return await owned_rows(server, "CP-A") == [("ChargePointMaxProfile", "garage"),
                                                    ("TxDefaultProfile", "garage"),
                                                    ("TxProfile", "garage")]

    await eventually(only_garage)
    await eventually(lambda: first_limit(tx_profiles(a)[-1]) == 10.0)
    after = [frame for frame in a.server_calls[before:]
             if frame[2] in ("SetChargingProfile", "ClearChargingProfile")]
    # The 10 A share of the new circuit went out before anything was cleared: the
    # session was never without a circuit limit in between.
    first_set = next(i for i, f in enumerate(after) if f[2] == "SetChargingProfile"
                     and f[3]["csChargingProfiles"]["chargingProfilePurpose"] == "TxProfile")
    assert after[first_set][3]["csChargingProfiles"]["transactionId"] == tx
    assert first_limit(after[first_set][3]["csChargingProfiles"]) == 10.0
    assert all(f[2] != "ClearChargingProfile" for f in after[:first_set])


async def test_a_station_taken_off_its_circuit_loses_the_circuits_limits(
    depot: dict[str, RawStation], server: RunningServer, http: httpx.AsyncClient
) -> None:
    a = depot["CP-A"]
    await start(a)
    await eventually(lambda: tx_profiles(a) and sent_profiles(a, "ChargePointMaxProfile"))
    share = tx_profiles(a)[-1]["chargingProfileId"]
    assert (await http.patch("/stations/CP-A", json={"circuit_id": None})).status_code == 200
    await eventually(lambda: share in cleared_ids(a))
    assert await owned_rows(server, "CP-A") == []
    assert await owned_rows(server, "CP-B") == [("ChargePointMaxProfile", "site"),
                                                ("TxDefaultProfile", "site")]


async def test_an_arrival_allowance_keeps_to_another_owners_lower_default(
    depot: dict[str, RawStation], server: RunningServer, http: httpx.AsyncClient
) -> None:
    """The circuit's TxDefaultProfile sits above another owner's (stack level 7): within a
    purpose the highest stack level prevails (OCPP 1.6 §3.13.1), so the allowance itself
    must keep to the lower default, or a new car would get more than that owner allows
    until its own share arrives."""
    a = depot["CP-A"]
    manual = {"chargingProfileId": 900, "stackLevel": 1,
              "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Absolute",
              "chargingSchedule": {"chargingRateUnit": "A", "startSchedule": now(),
                                   "chargingSchedulePeriod": [{"startPeriod": 0,
                                                               "limit": 10.0}]}}
    sent = await http.post("/stations/CP-A/charging_profile",
                           json={"connector_id": 0, "profile": manual})
    assert sent.status_code in (200, 201, 202), sent.text

    def allowances(cp: RawStation) -> list[float]:
        return [first_limit(p) for p in sent_profiles(cp, "TxDefaultProfile")
                if p["stackLevel"] == 7]

    # Idle, the 32 A circuit would let each of its two connectors start at 16 A.
    await eventually(lambda: allowances(depot["CP-B"]) and allowances(a)
                     and allowances(a)[-1] <= 10.0)
    assert allowances(depot["CP-B"])[-1] == 16.0
    assert allowances(a)[-1] == 10.0
