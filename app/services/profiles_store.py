"""Reading and writing desired profiles and the installed-profile mirror.

Converts between rows and the pure core's ``InstalledProfile`` so every rule (replace,
clear, composite) is the core's, applied the same way to both tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import DesiredProfile, InstalledProfileRecord, ProfileIdCounter
from app.domain.installation import InstalledProfile
from app.domain.profiles import ChargingProfile


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


async def mirror_install(session: AsyncSession, station_id: str, item: InstalledProfile,
                         replaced: Sequence[InstalledProfile], at: datetime) -> None:
    """Record an acknowledged SetChargingProfile: the new profile and what it replaced."""
    gone = {p.profile.charging_profile_id for p in replaced} | {
        item.profile.charging_profile_id}
    await session.execute(delete(InstalledProfileRecord).where(
        InstalledProfileRecord.station_id == station_id,
        InstalledProfileRecord.charging_profile_id.in_(gone)))
    session.add(InstalledProfileRecord(
        station_id=station_id, charging_profile_id=item.profile.charging_profile_id,
        connector_id=item.connector_id, profile=item.profile.to_ocpp(), installed_at=at))


async def mirror_remove(session: AsyncSession, station_id: str, profile_ids: set[int]) -> None:
    if profile_ids:
        await session.execute(delete(InstalledProfileRecord).where(
            InstalledProfileRecord.station_id == station_id,
            InstalledProfileRecord.charging_profile_id.in_(profile_ids)))


async def allocate_profile_id(session: AsyncSession, station_id: str,
                              taken: set[int]) -> int:
    """The next chargingProfileId for the station, from a counter row in the database,
    skipping ids that are in use."""
    while True:
        allocated = await session.scalar(
            update(ProfileIdCounter).where(ProfileIdCounter.station_id == station_id)
            .values(next_id=ProfileIdCounter.next_id + 1)
            .returning(ProfileIdCounter.next_id - 1))
        if allocated is None:
            session.add(ProfileIdCounter(station_id=station_id, next_id=2))
            await session.flush()
            allocated = 1
        if allocated not in taken:
            return int(allocated)
