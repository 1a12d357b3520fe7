"""Response bodies of /stations/{id}/variables and /stations/{id}/external_limits."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from app.db.device_models import DeviceVariable, ExternalLimit
from app.domain.external_limits import LimitSource
from app.services.fleet.device_model import DeviceModel


class VariableView(msgspec.Struct, kw_only=True):
    """One attribute of one variable of one component (OCPP 2.0.1 ReportDataType)."""

    component: Annotated[str, Meta(description="Component name, e.g. SmartChargingCtrlr")]
    component_instance: Annotated[str | None, Meta(description="Component instance")]
    evse_id: Annotated[int | None, Meta(
        description="The EVSE the component belongs to; null: the station's")]
    connector_id: Annotated[int | None, Meta(description="The connector of that EVSE")]
    variable: Annotated[str, Meta(description="Variable name, e.g. PeriodsPerSchedule")]
    variable_instance: Annotated[str | None, Meta(description="Variable instance")]
    attribute_type: Annotated[str, Meta(description="Actual, Target, MinSet or MaxSet")]
    value: Annotated[str | None, Meta(description="The value as the station reported it")]
    mutability: Annotated[str | None, Meta(
        description="ReadOnly, WriteOnly or ReadWrite; null when not reported")]
    unit: Annotated[str | None, Meta(description="Unit, when reported")]
    data_type: Annotated[str | None, Meta(
        description="string, decimal, integer, dateTime, boolean, OptionList, ..., when "
        "reported")]
    min_limit: Annotated[float | None, Meta(description="Characteristic minLimit")]
    max_limit: Annotated[float | None, Meta(description="Characteristic maxLimit")]
    values_list: Annotated[str | None, Meta(description="Characteristic valuesList")]
    updated_at: Annotated[datetime, Meta(description="When it was last reported")]


class ReportView(msgspec.Struct, kw_only=True):
    request_id: Annotated[int | None, Meta(
        description="requestId of the complete base report in force; null: none yet")]
    generated_at: Annotated[datetime | None, Meta(description="Its generatedAt")]
    completed_at: Annotated[datetime | None, Meta(description="When its last page came")]
    receiving_request_id: Annotated[int | None, Meta(
        description="requestId of a report whose pages are still arriving")]
    receiving_pages: Annotated[int | None, Meta(description="Its pages so far")]


class DeviceModelView(msgspec.Struct, kw_only=True):
    station_id: Annotated[str, Meta(description="Charge point identity")]
    report: Annotated[ReportView | None, Meta(
        description="The station's reports; null before it sent any")]
    items_per_message: Annotated[dict[str, int] | None, Meta(
        description="DeviceDataCtrlr.ItemsPerMessage per message (GetVariables, "
        "SetVariables, ...); null when not reported")]
    variables: Annotated[list[VariableView], Meta(
        description="Its variables, by component, EVSE, variable and attribute")]


def _variable(row: DeviceVariable) -> VariableView:
    return VariableView(
        component=row.component, component_instance=row.component_instance,
        evse_id=row.evse_id, connector_id=row.connector_id, variable=row.variable,
        variable_instance=row.variable_instance, attribute_type=row.attribute_type,
        value=row.value, mutability=row.mutability, unit=row.unit, data_type=row.data_type,
        min_limit=row.min_limit, max_limit=row.max_limit, values_list=row.values_list,
        updated_at=row.updated_at)


def device_model_view(station_id: str, found: DeviceModel) -> DeviceModelView:
    report = found.report
    return DeviceModelView(
        station_id=station_id,
        report=None if report is None else ReportView(
            request_id=report.request_id, generated_at=report.generated_at,
            completed_at=report.completed_at,
            receiving_request_id=report.pending_request_id,
            receiving_pages=report.pending_pages),
        items_per_message=(None if found.capabilities.items_per_message is None
                           else dict(found.capabilities.items_per_message)),
        variables=[_variable(r) for r in found.variables])


class ExternalLimitView(msgspec.Struct, kw_only=True):
    """A charging limit set outside chargeplan (OCPP 2.0.1 NotifyChargingLimit)."""

    evse_id: Annotated[int, Meta(description="The EVSE it limits; 0: the whole station")]
    source: Annotated[LimitSource, Meta(
        description="Who set it: EMS (local energy manager), SO (grid operator), CSO "
        "(another central system) or Other")]
    is_grid_critical: Annotated[bool | None, Meta(description="isGridCritical as reported")]
    schedules: Annotated[list[dict[str, Any]] | None, Meta(
        description="Its schedules as the station sent them (startSchedule, duration, "
        "chargingRateUnit, chargingSchedulePeriod); null: a limit is set but the station "
        "did not say what it is, and it caps nothing")]
    received_at: Annotated[datetime, Meta(description="When it was reported")]


def external_limit_view(row: ExternalLimit) -> ExternalLimitView:
    return ExternalLimitView(evse_id=row.evse_id, source=LimitSource(row.source),
                             is_grid_critical=row.is_grid_critical, schedules=row.schedules,
                             received_at=row.received_at)
