"""Query parameters every cursor-paged list shares: the time window, page size, cursor."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar.params import Parameter

from app.services.fleet.audit_log import MAX_LIMIT

SinceQuery = Annotated[datetime | None, Parameter(
    description="ISO 8601, inclusive; without offset it is read as UTC")]
UntilQuery = Annotated[datetime | None, Parameter(
    description="ISO 8601, exclusive; without offset it is read as UTC")]
LimitQuery = Annotated[int, Parameter(ge=1, le=MAX_LIMIT, description="Page size, 1 to 1000")]
CursorQuery = Annotated[str | None, Parameter(description="next_cursor of the previous page")]
