"""Reconcile job: make every station this process holds match its desired profiles, then
verify the ones where something changed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from app.services.container import Services
from app.services.fleet.nodes import MISSED_BEATS

log = logging.getLogger("chargeplan.jobs")

# The runs that ask stations able to tell (OCPP 2.0.1) what they hold, instead of going
# by what they acknowledged: the periodic one and one a user asks for. One that follows
# a change or a boot pushes what changed, as it would without asking.
READ_BACK_TRIGGERS = frozenset({"interval", "api"})


def connected_among(services: Services, station_ids: Iterable[str] | None) -> set[str]:
    """The stations (all, or those listed) whose websocket this process holds."""
    if station_ids is None:
        return set(services.gateway.connected_station_ids())
    # Per id, not a scan of every connection: this runs after each boot of a storm.
    return {s for s in station_ids if services.gateway.is_connected(s)}


async def managed_among(services: Services, station_ids: set[str], trigger: str, *,
                        named: bool) -> set[str]:
    """Leave out the stations chargeplan must not call on its own; a run asked for over
    REST (trigger ``api``) that names them still reaches them, one over every station
    does not."""
    if (trigger == "api" and named) or not station_ids:
        return station_ids
    return station_ids - await services.stations.unmanaged_among(station_ids)


async def for_each(services: Services, station_ids: Iterable[str],
                   work: Callable[[str], Awaitable[None]]) -> None:
    """Run ``work`` for every station, several at once: a charger's round trip is mostly
    waiting, and one slow station must not hold up a fleet. Each station's own calls stay
    in order (its lock in the smart-charging service)."""
    limit = asyncio.Semaphore(services.settings.job_concurrency)

    async def bounded(station_id: str) -> None:
        async with limit:
            await work(station_id)

    async with asyncio.TaskGroup() as group:
        for station_id in sorted(station_ids):
            group.create_task(bounded(station_id))


async def reconcile_stations(services: Services, station_ids: Iterable[str] | None,
                             trigger: str, *, force: bool = False,
                             verify_changed: bool = True) -> set[str]:
    """One job run over the given stations (None: every station this process holds).

    The stations are reconciled together (their rows read at once, their outcomes
    written in batches), ``job_concurrency`` of them with calls in flight; each station's
    own calls stay in order under its lock and lease. ``verify_changed``: stations that
    were sent something are verified afterwards (off when the caller verifies them
    itself).
    Returns the stations left alone because another node holds their lease."""
    if not services.status.acting():
        log.warning("reconcile (%s) skipped: this node is not acting on stations", trigger)
        return set()
    targets = connected_among(services, station_ids)
    targets &= await services.smart_charging.stations_with_profiles(
        None if station_ids is None else targets)
    targets = await managed_among(services, targets, trigger, named=station_ids is not None)
    if not targets and trigger != "api":
        return set()  # nothing to do; only a run a user asked for is recorded when empty
    changed: list[str] = []
    elsewhere: set[str] = set()
    async with services.job_runs.run("reconcile", trigger) as run:
        async with services.leases.held_many(targets) as mine:
            elsewhere = targets - mine
            if elsewhere:
                run.detail["leased_elsewhere"] = sorted(elsewhere)
            reports = await services.smart_charging.reconcile_many(
                sorted(mine), force=force, read_back=trigger in READ_BACK_TRIGGERS,
                concurrency=services.settings.job_concurrency)
        # Asking what a station holds changes nothing on it.
        changed = sorted(sid for sid, report in reports.items()
                         if report.calls > report.read_backs)
        run.stations = len(reports)
        run.calls = sum(r.calls for r in reports.values())
        run.failures = sum(r.failures for r in reports.values())
        run.detail["changed"] = changed
        drift = {sid: r.drift for sid, r in sorted(reports.items()) if r.drift}
        if drift:
            run.detail["drift"] = drift
    if changed and verify_changed:
        # Verify what changed: an Accepted is not proof that the limit applies.
        await verify_stations(services, changed, "after-reconcile")
    return elsewhere


async def verify_stations(services: Services, station_ids: Iterable[str] | None,
                          trigger: str) -> None:
    if not services.status.acting():
        log.warning("verify (%s) skipped: this node is not acting on stations", trigger)
        return
    targets = connected_among(services, station_ids)
    targets &= await services.smart_charging.stations_with_desired(targets)
    targets = await managed_among(services, targets, trigger, named=station_ids is not None)
    if not targets and trigger != "api":
        return
    async with services.job_runs.run("verify", trigger) as run:
        states: dict[str, str] = {}

        async def one(station_id: str) -> None:
            report = await services.verification.verify(station_id, run.run_id)
            run.stations += 1
            run.calls += report.calls
            run.failures += report.failures
            states[station_id] = report.state

        async with services.leases.held_many(targets) as mine:
            if targets - mine:
                run.detail["leased_elsewhere"] = sorted(targets - mine)
            await for_each(services, mine, one)
        run.detail["states"] = dict(sorted(states.items()))


async def boot_reconcile(services: Services, station_ids: set[str]) -> set[str]:
    """Re-send the desired profiles of stations that booted, then verify them once. A
    BootNotification means the station started up (OCPP 1.6 §4.2: sent each time it boots
    or reboots), and nothing in OCPP 1.6 says its charging profiles survive that: it may
    hold none of what it acknowledged before. So the mirror counts as held only what a
    station acknowledged since its last boot (``app/services/delivery/reconciler.py``), and this
    reconcile sends the rest; a verification alone could not tell, since
    GetCompositeSchedule (§5.7) shows only the window asked for (a limit that starts
    later, or a station that answers Rejected, would stay lost). Re-sending is
    idempotent (a profile with the same chargingProfileId replaces the one held:
    ``app/domain/installation.py``) and costs one SetChargingProfile per due desired
    profile acknowledged before the boot; what is extra is cleared afterwards as in any
    reconcile, and the one verification that follows is what a boot cost before.
    Returns the stations another node holds the lease of."""
    elsewhere = await reconcile_stations(services, station_ids, "boot", force=True,
                                         verify_changed=False)
    await verify_stations(services, station_ids - elsewhere, "boot")
    return elsewhere


async def after_boot(services: Services, station_ids: Iterable[str]) -> None:
    """Stations that booted may have lost their profiles: re-send what they should hold
    and verify at once (``boot_reconcile``). One query finds the few booted stations
    that hold profiles; a reconnect storm of stations without any costs nothing more."""
    with_profiles = await services.smart_charging.stations_with_profiles(
        connected_among(services, station_ids))
    if not with_profiles:
        return
    elsewhere = await boot_reconcile(services, with_profiles)
    if elsewhere:
        # A station that moved here from a node that died: that node's lease stays until
        # it misses its heartbeats, then the station is ours to repair and verify.
        await asyncio.sleep(services.settings.node_heartbeat_s * (MISSED_BEATS + 1))
        elsewhere = await boot_reconcile(services, elsewhere)
        if elsewhere:
            log.warning("stations still leased by another node after boot: %s",
                        sorted(elsewhere))


# The jobs a user or another node may ask for by name.
JOBS: dict[str, Callable[[Services, Iterable[str] | None, str], Awaitable[object]]] = {
    "reconcile": reconcile_stations, "verify": verify_stations}
