"""RemoteStartTransaction with a charging profile: remembered until its transaction starts.

OCPP 1.6 §5.11 and errata §3.41: the central system may put a TxProfile without
transactionId in RemoteStartTransaction.req; the charger installs it for the transaction
it starts. The server cannot store that profile as desired state until it knows the
transactionId, so the request is kept as a ``pending_remote_starts`` row (station,
connector, idTag, expiry). When the matching StartTransaction arrives, the profile
becomes the transaction's desired TxProfile (state accepted: the charger installed it
with the remote start) and enters the installed-profile mirror, so the reconcile job
leaves it alone and the expected composite schedule shows it. The row keeps the link:
its ``transaction_id`` and ``desired_profile_id``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock, utcnow
from app.db.engine import Database
from app.db.models import DesiredProfile, PendingRemoteStart
from app.domain.installation import InstalledProfile, install
from app.domain.ownership import Owner, OwnerKind
from app.domain.profiles import ChargingProfile
from app.domain.states import DeliveryState
from app.services.delivery import profiles_store as store
from app.services.delivery.reconciler import record_installed

log = logging.getLogger("chargeplan.remote_start")

# How long a StartTransaction may take to follow its RemoteStartTransaction: a driver
# has to plug in first (ConnectionTimeOut, OCPP 1.6 §9.1.6, is typically 60 to 180 s).
REMOTE_START_WINDOW = timedelta(minutes=5)


class RemoteStartService:
    def __init__(self, db: Database, *, clock: Clock = utcnow,
                 window: timedelta = REMOTE_START_WINDOW) -> None:
        self._db = db
        self._clock = clock
        self._window = window

    async def remember(self, station_id: str, connector_id: int | None, id_tag: str,
                       profile: Mapping[str, Any]) -> int:
        """Keep the profile before the call goes out: the StartTransaction may arrive
        before the RemoteStartTransaction.conf does."""
        now = self._clock()
        async with self._db.uow() as session:
            row = PendingRemoteStart(
                station_id=station_id, connector_id=connector_id, id_tag=id_tag,
                profile=dict(profile), requested_at=now, expires_at=now + self._window)
            session.add(row)
            await session.flush()
            return row.id

    async def answered(self, remote_start_id: int, status: str | None) -> None:
        """Record the station's answer; a refused or failed request can never match."""
        async with self._db.uow() as session:
            row = await session.get(PendingRemoteStart, remote_start_id)
            if row is None:
                return
            if status == "Accepted" or row.transaction_id is not None:
                row.answer_status = status
            else:
                await session.delete(row)

    async def get(self, remote_start_id: int) -> PendingRemoteStart | None:
        async with self._db.uow() as session:
            return await session.get(PendingRemoteStart, remote_start_id)

    async def transaction_started(self, station_id: str, connector_id: int, id_tag: str,
                                  transaction_id: int) -> int | None:
        """Turn the matching remembered profile into the transaction's desired TxProfile.

        Returns the desired profile id, or None when no remote start is waiting. A
        failure here is logged and never refuses the transaction the charger started.
        """
        try:
            return await self._adopt(station_id, connector_id, id_tag, transaction_id)
        except Exception:
            log.exception("%s: the TxProfile of the remote start for transaction %s could "
                          "not be stored", station_id, transaction_id)
            return None

    async def _adopt(self, station_id: str, connector_id: int, id_tag: str,
                     transaction_id: int) -> int | None:
        now = self._clock()
        async with self._db.uow() as session:
            await session.execute(delete(PendingRemoteStart).where(
                PendingRemoteStart.expires_at < now - self._window,
                PendingRemoteStart.transaction_id.is_(None)))
            pending = await session.scalar(
                select(PendingRemoteStart).where(
                    PendingRemoteStart.station_id == station_id,
                    PendingRemoteStart.id_tag == id_tag,
                    PendingRemoteStart.transaction_id.is_(None),
                    PendingRemoteStart.expires_at >= now,
                    or_(PendingRemoteStart.connector_id.is_(None),
                        PendingRemoteStart.connector_id == connector_id),
                ).order_by(PendingRemoteStart.requested_at.desc()).limit(1))
            if pending is None:
                return None
            profile = dataclasses.replace(ChargingProfile.from_ocpp(pending.profile),
                                          transaction_id=transaction_id)
            desired_id = await _store_installed(session, station_id, connector_id, profile,
                                                Owner(OwnerKind.REMOTE_START, pending.id), now)
            pending.transaction_id = transaction_id
            pending.desired_profile_id = desired_id
        log.info("%s: TxProfile %s of the remote start now serves transaction %s",
                 station_id, profile.charging_profile_id, transaction_id)
        return desired_id


async def _store_installed(session: AsyncSession, station_id: str, connector_id: int,
                           profile: ChargingProfile, owner: Owner, now: datetime) -> int:
    """Desired row (accepted) and mirror entry, with the charger's replacement rule
    (OCPP 1.6 §3.13.2, §5.16.4) applied to both."""
    item = InstalledProfile(connector_id, profile)
    rows = await store.desired(session, station_id)
    outcome = install(store.desired_as_installed(rows), item)
    gone = {p.profile.charging_profile_id for p in outcome.replaced} | {
        profile.charging_profile_id}
    for row in rows:
        if row.charging_profile_id in gone:
            await session.delete(row)
    await session.flush()
    row = DesiredProfile(
        station_id=station_id, connector_id=connector_id,
        charging_profile_id=profile.charging_profile_id, purpose=str(profile.purpose),
        stack_level=profile.stack_level, transaction_id=profile.transaction_id,
        profile=profile.to_ocpp(), owner_kind=owner.kind, owner_id=owner.id,
        state=DeliveryState.ACCEPTED, attempts=1,
        last_answer={"status": "Accepted"}, created_at=now, updated_at=now,
        last_attempt_at=now)
    session.add(row)
    await session.flush()
    await record_installed(session, station_id, item, now, row.id)
    desired_id: int = row.id
    return desired_id
