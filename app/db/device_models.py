"""What a station tells about itself beyond OCPP 1.6: its device model (OCPP 2.0.1 B06-B08)
and the charging limits set outside chargeplan (OCPP 2.0.1 K11-K14)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models import Base
from app.db.types import BigIntPK, JSONType, UTCDateTime


class DeviceVariable(Base):
    """One attribute of one variable of one component, as the station last reported it
    (NotifyReport or GetVariables). ``staged`` rows belong to a base report whose last
    page has not come yet: nobody reads them until it does, and then they replace the
    station's other rows in one transaction (app/services/device_model.py)."""

    __tablename__ = "device_variables"
    __table_args__ = (
        Index("ix_device_variables_station_component", "station_id", "component", "variable"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    component: Mapped[str] = mapped_column(String(50))
    component_instance: Mapped[str | None] = mapped_column(String(50))
    # The EVSE (and connector of it) the component belongs to; None: the station's.
    evse_id: Mapped[int | None] = mapped_column(Integer)
    connector_id: Mapped[int | None] = mapped_column(Integer)
    variable: Mapped[str] = mapped_column(String(50))
    variable_instance: Mapped[str | None] = mapped_column(String(50))
    # Actual, Target, MinSet or MaxSet (OCPP 2.0.1 AttributeEnumType).
    attribute_type: Mapped[str] = mapped_column(String(10))
    value: Mapped[str | None] = mapped_column(Text)
    # ReadOnly, WriteOnly or ReadWrite; None when the station did not say.
    mutability: Mapped[str | None] = mapped_column(String(10))
    persistent: Mapped[bool | None] = mapped_column(Boolean)
    constant: Mapped[bool | None] = mapped_column(Boolean)
    # VariableCharacteristics, when reported.
    unit: Mapped[str | None] = mapped_column(String(16))
    data_type: Mapped[str | None] = mapped_column(String(20))
    min_limit: Mapped[float | None] = mapped_column(Float)
    max_limit: Mapped[float | None] = mapped_column(Float)
    values_list: Mapped[str | None] = mapped_column(Text)
    # The report it came with (GetBaseReport requestId); None for a GetVariables answer.
    request_id: Mapped[int | None] = mapped_column(Integer)
    staged: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeviceReport(Base):
    """Per station, the base report in force and the one being received, if any."""

    __tablename__ = "device_reports"

    station_id: Mapped[str] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True)
    # The requestId of the complete report the variables come from (None: none yet).
    request_id: Mapped[int | None] = mapped_column(Integer)
    generated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The report whose pages are arriving: its requestId, whether it replaces the
    # station's variables when complete, the last seqNo taken and how many pages so far.
    pending_request_id: Mapped[int | None] = mapped_column(Integer)
    pending_full: Mapped[bool | None] = mapped_column(Boolean)
    pending_seq_no: Mapped[int | None] = mapped_column(Integer)
    pending_pages: Mapped[int | None] = mapped_column(Integer)
    pending_generated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ExternalLimit(Base):
    """A charging limit set outside chargeplan (OCPP 2.0.1 K12 NotifyChargingLimit): by a
    local energy manager (EMS), the grid operator (SO), another central system (CSO) or
    other. One row per station, EVSE (0: the whole station) and source: a new message of
    the same source replaces it, ClearedChargingLimit (K13) deletes it."""

    __tablename__ = "external_limits"

    station_id: Mapped[str] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True)
    evse_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(10), primary_key=True)
    is_grid_critical: Mapped[bool | None] = mapped_column(Boolean)
    # The schedules as the station sent them (2.0.1 ChargingScheduleType, camelCase);
    # None: the station said a limit is set but not what it is.
    schedules: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
