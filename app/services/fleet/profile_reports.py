"""The charging profiles a station reports it holds (OCPP 2.0.1 K09 ReportChargingProfiles),
collected for whoever asked with GetChargingProfiles.

A station answers GetChargingProfiles at once (Accepted or NoProfiles) and then sends the
profiles in ReportChargingProfiles pages that name the request's ``requestId``
(K09.FR.01), every page but the last with ``tbc`` true (K09.FR.02). The pages are CALLs
of their own, so they can arrive before the caller has even read the answer: a caller
registers what it waits for *before* it sends the request
(:meth:`ProfileReports.expecting`), and the handler of ReportChargingProfiles hands every
page in (:meth:`ProfileReports.page`).
Nothing is stored: pages nobody waits for are only audited, as every frame is.

The pages are collected in the process holding the station's connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from app.json_types import JsonObject


@dataclass
class ProfileReport:
    """The pages of one GetChargingProfiles request, in the order they came."""

    station_id: str
    request_id: int
    pages: list[JsonObject] = field(default_factory=list)
    complete: asyncio.Event = field(default_factory=asyncio.Event)

    def profiles(self) -> list[JsonObject]:
        """Every profile of every page, with the EVSE and the source of its page."""
        return [{"evseId": page["evseId"], "chargingLimitSource": page["chargingLimitSource"],
                 "chargingProfile": profile}
                for page in self.pages for profile in page["chargingProfile"]]

    async def wait(self, timeout: float) -> bool:
        """Wait for the last page (tbc false) at most ``timeout`` seconds; whether it came."""
        try:
            await asyncio.wait_for(self.complete.wait(), timeout)
        except TimeoutError:
            return False
        return True


class ProfileReports:
    def __init__(self) -> None:
        self._waiting: dict[tuple[str, int], ProfileReport] = {}

    @contextmanager
    def expecting(self, station_id: str, request_id: int) -> Iterator[ProfileReport]:
        """Collect the pages of ``request_id`` from ``station_id`` while the block runs. A
        second caller with the same request id takes the pages over from the first."""
        report = ProfileReport(station_id, request_id)
        key = (station_id, request_id)
        self._waiting[key] = report
        try:
            yield report
        finally:
            if self._waiting.get(key) is report:
                del self._waiting[key]

    def page(self, station_id: str, payload: Mapping[str, Any]) -> bool:
        """One ReportChargingProfiles page; whether someone was waiting for it."""
        report = self._waiting.get((station_id, payload["requestId"]))
        if report is None or report.complete.is_set():
            return False
        report.pages.append(dict(payload))
        if not payload.get("tbc", False):
            report.complete.set()
        return True
