"""A station's device model (OCPP 2.0.1 B06-B08) in the database, and the capabilities it
gives (app/domain/device_model.py) in the same station columns OCPP 1.6 fills from its
configuration keys.

Paging (OCPP 2.0.1 B07/B08 NotifyReport): the pages of one ``requestId`` come in
``seqNo`` order, every page but the last with ``tbc`` true. Pages are stored as
*staged* rows that nobody reads; when the last one comes, a base report (``full``)
replaces every variable of the station in one transaction, a partial one (GetReport)
replaces only the attributes it names. A page of another ``requestId`` abandons the
report that was arriving; a page whose ``seqNo`` was taken already is a repeat and is
ignored. GetVariables results (B06) and the values a SetVariables set (B05) update the
attributes they name at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock, utcnow
from app.db.device_models import DeviceReport, DeviceVariable
from app.db.engine import Database
from app.db.models import Station
from app.domain import device_model as rule
from app.services.errors import Invalid, NotFound


@dataclass(frozen=True)
class ReportProgress:
    """Where a report stands after a page: ``complete`` once its last page is in."""

    request_id: int
    pages: int
    complete: bool
    duplicate: bool = False


@dataclass(frozen=True)
class DeviceModel:
    """What GET /stations/{id}/variables shows."""

    report: DeviceReport | None
    variables: list[DeviceVariable]
    capabilities: rule.DeviceCapabilities


def attribute_of_row(row: DeviceVariable) -> rule.ReportedAttribute:
    return rule.ReportedAttribute(
        component=row.component, variable=row.variable, attribute_type=row.attribute_type,
        value=row.value, component_instance=row.component_instance, evse_id=row.evse_id,
        connector_id=row.connector_id, variable_instance=row.variable_instance,
        mutability=row.mutability, persistent=row.persistent, constant=row.constant,
        unit=row.unit, data_type=row.data_type, min_limit=row.min_limit,
        max_limit=row.max_limit, values_list=row.values_list)


def _row(station_id: str, attribute: rule.ReportedAttribute, request_id: int | None,
         staged: bool, now: datetime) -> DeviceVariable:
    return DeviceVariable(
        station_id=station_id, component=attribute.component,
        component_instance=attribute.component_instance, evse_id=attribute.evse_id,
        connector_id=attribute.connector_id, variable=attribute.variable,
        variable_instance=attribute.variable_instance,
        attribute_type=attribute.attribute_type, value=attribute.value,
        mutability=attribute.mutability, persistent=attribute.persistent,
        constant=attribute.constant, unit=attribute.unit, data_type=attribute.data_type,
        min_limit=attribute.min_limit, max_limit=attribute.max_limit,
        values_list=attribute.values_list, request_id=request_id, staged=staged,
        updated_at=now)


class DeviceModelService:
    def __init__(self, db: Database, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._clock = clock

    async def notify_report(self, station_id: str, request_id: int, seq_no: int, tbc: bool,
                            report_data: Sequence[Mapping[str, Any]],
                            generated_at: datetime | None = None, *, full: bool = True
                            ) -> ReportProgress:
        """One NotifyReport page. ``full``: the report answers GetBaseReport and replaces
        the station's variables when complete; False: it answers GetReport and updates
        only what it names."""
        try:
            attributes = rule.attributes_of_report(report_data)
        except (KeyError, TypeError, ValueError) as exc:
            raise Invalid("reportData", f"not a list of ReportDataType: {exc}") from None
        now = self._clock()
        async with self._db.uow() as session:
            report = await self._report(session, station_id)
            if report.pending_request_id != request_id:
                await self._begin(session, report, request_id, full, generated_at)
            elif report.pending_seq_no is not None and seq_no <= report.pending_seq_no:
                return ReportProgress(request_id, report.pending_pages or 0, False, True)
            session.add_all(_row(station_id, a, request_id, True, now) for a in attributes)
            report.pending_seq_no = seq_no
            report.pending_pages = (report.pending_pages or 0) + 1
            pages = report.pending_pages
            if tbc:
                return ReportProgress(request_id, pages, False)
            await session.flush()
            await self._complete(session, report, now)
            await self._derive(session, station_id)
        return ReportProgress(request_id, pages, True)

    @staticmethod
    async def _begin(session: AsyncSession, report: DeviceReport, request_id: int, full: bool,
                     generated_at: datetime | None) -> None:
        """A new report begins: one still arriving is abandoned."""
        await session.execute(delete(DeviceVariable).where(
            DeviceVariable.station_id == report.station_id, DeviceVariable.staged.is_(True)))
        report.pending_request_id = request_id
        report.pending_full = full
        report.pending_seq_no = None
        report.pending_pages = 0
        report.pending_generated_at = generated_at

    async def _report(self, session: AsyncSession, station_id: str) -> DeviceReport:
        report = await session.get(DeviceReport, station_id)
        if report is None:
            if await session.get(Station, station_id) is None:
                raise NotFound("station", station_id)
            report = DeviceReport(station_id=station_id)
            session.add(report)
        return report

    async def _complete(self, session: AsyncSession, report: DeviceReport, now: datetime
                        ) -> None:
        """The last page is in: the staged rows become the station's variables."""
        station_id = report.station_id
        visible = DeviceVariable.station_id == station_id, DeviceVariable.staged.is_(False)
        if report.pending_full:
            await session.execute(delete(DeviceVariable).where(*visible))
            report.request_id = report.pending_request_id
            report.generated_at = report.pending_generated_at
            report.completed_at = now
        else:
            staged = (await session.scalars(select(DeviceVariable).where(
                DeviceVariable.station_id == station_id, DeviceVariable.staged.is_(True)))).all()
            named = {attribute_of_row(r).key for r in staged}
            for old in (await session.scalars(select(DeviceVariable).where(*visible))).all():
                if attribute_of_row(old).key in named:
                    await session.delete(old)
            await session.flush()
        await session.execute(update(DeviceVariable).where(
            DeviceVariable.station_id == station_id, DeviceVariable.staged.is_(True))
            .values(staged=False))
        report.pending_request_id = None
        report.pending_full = None
        report.pending_seq_no = None
        report.pending_pages = None
        report.pending_generated_at = None

    async def variables_result(self, station_id: str, results: Sequence[Mapping[str, Any]]
                               ) -> int:
        """GetVariables results (B06): each Accepted one replaces the attribute it names;
        how many were taken."""
        try:
            found = [a for r in results if (a := rule.attribute_of_result(r)) is not None]
        except (KeyError, TypeError, ValueError) as exc:
            raise Invalid("getVariableResult", f"not a GetVariableResultType: {exc}") from None
        return await self._store(station_id, found)

    async def _store(self, station_id: str, found: Sequence[rule.ReportedAttribute]) -> int:
        now = self._clock()
        async with self._db.uow() as session:
            await self._report(session, station_id)
            names = {a.component for a in found}
            rows = {attribute_of_row(r).key: r for r in (await session.scalars(
                select(DeviceVariable).where(DeviceVariable.station_id == station_id,
                                             DeviceVariable.staged.is_(False),
                                             DeviceVariable.component.in_(names)))).all()}
            for attribute in found:
                row = rows.get(attribute.key)
                if row is None:
                    rows[attribute.key] = row = _row(station_id, attribute, None, False, now)
                    session.add(row)
                row.value = attribute.value
                row.updated_at = now
            await session.flush()
            await self._derive(session, station_id)
        return len(found)

    async def variables_set(self, station_id: str, data: Sequence[Mapping[str, Any]],
                            results: Sequence[Mapping[str, Any]]) -> int:
        """SetVariables (B05): each value the station Accepted replaces the attribute it
        names, as a GetVariables result would; how many were taken."""
        try:
            found = rule.accepted_settings(data, results)
        except (KeyError, TypeError, ValueError) as exc:
            raise Invalid("setVariableResult", f"not a SetVariableResultType: {exc}") from None
        return await self._store(station_id, found)

    async def expect_partial_report(self, station_id: str, request_id: int) -> None:
        """A GetReport (B08) is about to ask for ``request_id``: its pages update only the
        attributes they name. A report still arriving is abandoned, as a page of another
        requestId would abandon it."""
        async with self._db.uow() as session:
            report = await self._report(session, station_id)
            await self._begin(session, report, request_id, False, None)

    async def report_not_coming(self, station_id: str, request_id: int) -> None:
        """The station will send no pages for ``request_id`` (it did not accept it)."""
        async with self._db.uow() as session:
            report = await self._report(session, station_id)
            if report.pending_request_id == request_id and not report.pending_pages:
                report.pending_request_id = None
                report.pending_full = None
                report.pending_pages = None

    async def items_per_message(self, station_id: str, message: str) -> int | None:
        """ItemsPerMessage[message] (of DeviceDataCtrlr or MonitoringCtrlr, the component
        whose messages it counts) as last known; None when unknown or not a positive
        number."""
        found = await self.model(station_id, rule.DEVICE_DATA, "ItemsPerMessage")
        limit = (found.capabilities.items_per_message or {}).get(message)
        return limit if limit is not None and limit > 0 else None

    async def base_report_due(self, station_id: str) -> int | None:
        """The requestId for a base report when the station has none complete and none
        arriving; None when it has."""
        async with self._db.uow() as session:
            report = await self._report(session, station_id)
            if report.completed_at is not None or report.pending_request_id is not None:
                return None
            return (report.request_id or 0) + 1

    async def _derive(self, session: AsyncSession, station_id: str) -> None:
        """Write the capabilities the station's variables give into its station row."""
        caps = rule.capabilities(attribute_of_row(r) for r in await self._visible(
            session, station_id, (rule.SMART, rule.DEVICE_DATA, "EVSE")))
        station = await session.get(Station, station_id)
        if station is None:
            raise NotFound("station", station_id)
        for column, value in caps.station_columns().items():
            setattr(station, column, value)

    @staticmethod
    async def _visible(session: AsyncSession, station_id: str,
                       components: Sequence[str] | None = None,
                       variable: str | None = None) -> list[DeviceVariable]:
        query = select(DeviceVariable).where(DeviceVariable.station_id == station_id,
                                             DeviceVariable.staged.is_(False))
        if components is not None:
            query = query.where(DeviceVariable.component.in_(components))
        if variable is not None:
            query = query.where(DeviceVariable.variable == variable)
        return list((await session.scalars(query.order_by(
            DeviceVariable.component, DeviceVariable.component_instance,
            DeviceVariable.evse_id, DeviceVariable.connector_id, DeviceVariable.variable,
            DeviceVariable.variable_instance, DeviceVariable.attribute_type))).all())

    async def model(self, station_id: str, component: str | None = None,
                    variable: str | None = None) -> DeviceModel:
        """The station's variables (of one component and/or variable name), its report
        and the capabilities they give; 404 for an unknown station."""
        async with self._db.uow() as session:
            if await session.get(Station, station_id) is None:
                raise NotFound("station", station_id)
            report = await session.get(DeviceReport, station_id)
            rows = await self._visible(session, station_id,
                                       None if component is None else (component,), variable)
            caps = rule.capabilities(attribute_of_row(r) for r in await self._visible(
                session, station_id, (rule.SMART, rule.DEVICE_DATA, rule.MONITORING, "EVSE")))
        return DeviceModel(report, rows, caps)
