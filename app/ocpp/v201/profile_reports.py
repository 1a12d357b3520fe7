"""K09: what a 2.0.1 station holds, read back with GetChargingProfiles.

The CALLRESULT says only whether anything matches (Accepted, or NoProfiles: nothing
to report); the profiles follow as ReportChargingProfiles CALLs of the station, one per
EVSE and limit source, each naming the request's requestId (K09.FR.01) and all but the
last with ``tbc`` true (K09.FR.02). A read-back waits for that last page; pages of a
requestId nobody waits for (a read-back that timed out, a report nobody asked for) are
answered and audited only. An operator's GetChargingProfiles (any criteria, its own
requestId) is collected the same way and handed back raw (:meth:`ProfileReports.report`).

Only the profiles a central system sets are asked for (criteria chargingLimitSource
CSO), and of those only the ones with a purpose a central system sets are handed to the
services: a ChargingStationExternalConstraints profile is never the central system's
(K01.FR.22), whatever source a station names for it.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.clock import Clock
from app.domain.profiles import ChargingProfile, ProfileFormatError
from app.domain.profiles_v201 import (
    ChargingLimitSource,
    ChargingProfile201,
    ChargingProfilePurpose201,
    ConversionError,
    to_v16_resolved,
)
from app.json_types import JsonObject
from app.ocpp.errors import ErrorCode, OcppError
from app.ocpp.protocol import Send, Validators
from app.ocpp.v201.remote_ids import RemoteIds
from app.services.ports import CallTimeout, ProfileReport, StationProfile

log = logging.getLogger("chargeplan.ocpp")

ACTION = "GetChargingProfiles"
# The profiles a CSMS set: the only ones chargeplan may hold or clear.
CRITERIA: JsonObject = {"chargingLimitSource": [ChargingLimitSource.CSO.value]}


@dataclass(frozen=True)
class Page:
    """One ReportChargingProfiles, its profiles read."""

    evse_id: int
    source: ChargingLimitSource
    profiles: tuple[ChargingProfile201, ...]
    tbc: bool


def read_page(payload: Mapping[str, Any]) -> Page:
    """A ReportChargingProfilesRequest that fits its schema, its profiles read; OcppError
    (PropertyConstraintViolation) naming every field the profile model cannot read."""
    profiles: list[ChargingProfile201] = []
    problems: list[str] = []
    for index, raw in enumerate(payload["chargingProfile"]):
        try:
            profiles.append(ChargingProfile201.from_ocpp(raw))
        except ProfileFormatError as exc:
            problems.extend(str(v.prefixed(f"chargingProfile[{index}]"))
                            for v in exc.violations)
    if problems:
        raise OcppError(ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, "; ".join(problems))
    return Page(payload["evseId"], ChargingLimitSource(payload["chargingLimitSource"]),
                tuple(profiles), bool(payload.get("tbc", False)))


@dataclass
class _Reading:
    """The pages of one requestId so far; ``done`` once the last one came."""

    done: asyncio.Future[None]
    pages: list[JsonObject] = field(default_factory=list)


class ProfileReports:
    """The one collector of ReportChargingProfiles pages: the GetChargingProfiles in
    flight, by station and requestId, and the pages they get. The read-back
    (:meth:`read`) and an operator's GetChargingProfiles (:meth:`report`, through the
    gateway) both wait here."""

    def __init__(self, ids: RemoteIds, clock: Clock) -> None:
        self._ids = ids
        # Started from the clock's seconds (as remoteStartId): a page of a request made
        # before a restart rarely matches one made after it.
        self._request_ids = itertools.count(int(clock().timestamp()) % 1_000_000_000)
        self._readings: dict[tuple[str, int], _Reading] = {}

    def received(self, station_id: str, payload: Mapping[str, Any]) -> bool:
        """A page the station sent (checked with :func:`read_page`); False when no
        request waits for its requestId."""
        reading = self._readings.get((station_id, payload["requestId"]))
        if reading is None or reading.done.done():
            return False
        reading.pages.append(dict(payload))
        if not payload.get("tbc", False):
            reading.done.set_result(None)
        return True

    async def report(self, station_id: str, request: JsonObject, send: Send,
                     schemas: Validators, timeout: float) -> ProfileReport:
        """Send GetChargingProfiles ``request`` and collect the pages of its requestId
        until the last one, at most ``timeout`` after the answer. A second request with
        the same requestId takes the pages over from the first."""
        key = (station_id, request["requestId"])
        # Waiting before the CALL leaves: a page may come before its CALLRESULT is read.
        reading = _Reading(asyncio.get_running_loop().create_future())
        self._readings[key] = reading
        try:
            schemas.validate_request(ACTION, request)
            answer = await send(ACTION, request)
            schemas.validate_response(ACTION, answer)
            if answer["status"] != "Accepted":  # NoProfiles: nothing will be reported
                return ProfileReport(answer)
            try:
                await asyncio.wait_for(asyncio.shield(reading.done), timeout)
            except TimeoutError:
                return ProfileReport(answer, tuple(reading.pages), complete=False)
            return ProfileReport(answer, tuple(reading.pages))
        finally:
            if self._readings.get(key) is reading:
                del self._readings[key]

    async def read(self, station_id: str, send: Send, schemas: Validators,
                   timeout: float) -> list[StationProfile]:
        """Ask the station what it holds of the CSMS's profiles and wait for the report;
        CallTimeout when its last page does not come within ``timeout`` after the
        answer."""
        request: JsonObject = {"requestId": next(self._request_ids),
                               "chargingProfile": dict(CRITERIA)}
        report = await self.report(station_id, request, send, schemas, timeout)
        if not report.complete:
            raise CallTimeout(station_id, "ReportChargingProfiles", timeout)
        return self._held(station_id, [read_page(page) for page in report.pages])

    def _held(self, station_id: str, pages: list[Page]) -> list[StationProfile]:
        held = []
        for page in pages:
            if page.source is not ChargingLimitSource.CSO:
                continue  # not asked for: another source's limit is not ours to judge
            for profile in page.profiles:
                if profile.purpose is (
                        ChargingProfilePurpose201.CHARGING_STATION_EXTERNAL_CONSTRAINTS):
                    continue
                held.append(StationProfile(page.evse_id, profile.charging_profile_id,
                                           self._as_v16(station_id, profile)))
        return held

    def _as_v16(self, station_id: str, profile: ChargingProfile201
                ) -> ChargingProfile | None:
        try:
            return to_v16_resolved(profile,
                                   functools.partial(self._ids.transaction_of, station_id))
        except ConversionError as exc:
            log.info("%s holds profile %s in a form chargeplan never sends: %s", station_id,
                     profile.charging_profile_id, exc)
            return None
