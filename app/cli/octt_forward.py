"""What a trigger of the tzi-OCTT suite becomes: one request of chargeplan's REST API.

Shared by the suite's two trigger APIs, OCPP 2.0.1 (``octt_bridge``) and OCPP 1.6J
(``octt_bridge_v16``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class Forward:
    """The REST request a trigger becomes: ``method`` ``path`` with ``body``."""

    path: str
    body: JsonObject | None
    method: str = "POST"


class Unsupported(Exception):
    """A trigger chargeplan has no REST request for."""
