"""Who owns a desired profile: a kind of owner and, for owners that are rows, its id.

A new kind of owner (a circuit, say) is a new member here, not a new column: the
desired row stores ``owner_kind`` and ``owner_id``. Owners with an id own at most one
desired profile per station (a plan's profile on a station is replaced in place when
the plan changes); owners without one (a single request) own each row they made.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OwnerKind(StrEnum):
    MANUAL = "manual"  # POST /stations/{id}/profiles
    SCENARIO = "scenario"  # a generated scenario applied to a station
    COMMAND = "command"  # SetChargingProfile through the command endpoint
    REMOTE_START = "remote_start"  # the TxProfile of a RemoteStartTransaction
    PLAN = "plan"
    TARIFF = "tariff"
    CIRCUIT = "circuit"


@dataclass(frozen=True)
class Owner:
    """``id`` is the owning row's id (plan, tariff, circuit, pending remote start), or
    None for an owner that is a single request."""

    kind: OwnerKind
    id: int | None = None

    def __str__(self) -> str:
        return str(self.kind) if self.id is None else f"{self.kind}:{self.id}"

    @property
    def managed(self) -> bool:
        """Whether the owner keeps one profile per station, replaced when it changes."""
        return self.id is not None and self.kind in _MANAGED


_MANAGED = frozenset({OwnerKind.PLAN, OwnerKind.TARIFF, OwnerKind.CIRCUIT})

MANUAL = Owner(OwnerKind.MANUAL)
