"""Reading and writing desired profiles and the installed-profile mirror.

Converts between rows and the pure core's ``InstalledProfile`` so every rule (replace,
clear, composite) is the core's, applied the same way to both tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.batching import chunks
from app.db.models import DesiredProfile, InstalledProfileRecord, ProfileIdCounter
from app.domain.installation import InstalledProfile
from app.domain.profiles import ChargingProfile

_COUNTERS = cast(Table, ProfileIdCounter.__table__)


def as_installed(connector_id: int, profile: dict[str, object]) -> InstalledProfile:
    return InstalledProfile(connector_id, ChargingProfile.from_ocpp(profile))


async def desired(session: AsyncSession, station_id: str) -> list[DesiredProfile]:
    rows = await session.scalars(
        select(DesiredProfile).where(DesiredProfile.station_id == station_id)
        .order_by(DesiredProfile.id))
    return list(rows.all())


async def mirror(session: AsyncSession, station_id: str) -> list[InstalledProfileRecord]:
    rows = await session.scalars(
        select(InstalledProfileRecord).where(InstalledProfileRecord.station_id == station_id)
        .order_by(InstalledProfileRecord.installed_at, InstalledProfileRecord.charging_profile_id))
    return list(rows.all())


def mirror_as_installed(rows: Sequence[InstalledProfileRecord]) -> list[InstalledProfile]:
    return [as_installed(r.connector_id, r.profile) for r in rows]


def desired_as_installed(rows: Sequence[DesiredProfile]) -> list[InstalledProfile]:
    return [as_installed(r.connector_id, r.profile) for r in rows]


def intent_of(rows: Sequence[InstalledProfileRecord], profile_ids: set[int]) -> int | None:
    """The desired row that installed one of these profiles: why clearing them is sent."""
    return next((r.desired_profile_id for r in rows
                 if r.charging_profile_id in profile_ids and r.desired_profile_id is not None),
                None)


def next_free_id(counter: int | None, taken: set[int]) -> tuple[int, int]:
    """The id a station's counter hands out next, skipping ids in use, and the counter's
    new value (a station without a counter starts at 1)."""
    allocated = 1 if counter is None else counter
    while allocated in taken:
        allocated += 1
    return allocated, allocated + 1


async def allocate_profile_ids(session: AsyncSession, taken: Mapping[str, set[int]]
                               ) -> dict[str, int]:
    """The next chargingProfileId of each station, from its counter row in the database
    (read for update: two processes never hand out the same id), skipping ids in use."""
    counters: dict[str, int] = {}
    for batch in chunks(sorted(taken)):
        counters.update((await session.execute(
            select(ProfileIdCounter.station_id, ProfileIdCounter.next_id)
            .where(ProfileIdCounter.station_id.in_(batch)).with_for_update())).all())
    allocated: dict[str, int] = {}
    advanced: list[dict[str, object]] = []
    created: list[dict[str, object]] = []
    for station_id, in_use in taken.items():
        allocated[station_id], next_id = next_free_id(counters.get(station_id), in_use)
        row = {"station_id": station_id, "next_id": next_id}
        (advanced if station_id in counters else created).append(row)
    if advanced:
        await session.execute(
            update(_COUNTERS).where(_COUNTERS.c.station_id == bindparam("sid"))
            .values(next_id=bindparam("new_next")),
            [{"sid": r["station_id"], "new_next": r["next_id"]} for r in advanced])
    if created:
        await session.execute(insert(_COUNTERS), created)
    return allocated


async def allocate_profile_id(session: AsyncSession, station_id: str,
                              taken: set[int]) -> int:
    """The next chargingProfileId for one station (see :func:`allocate_profile_ids`)."""
    return (await allocate_profile_ids(session, {station_id: taken}))[station_id]
