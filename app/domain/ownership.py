"""Who owns a desired profile: a kind of owner and, for owners that are rows, its id.

A new kind of owner is a new member here, not a new column: the desired row stores
``owner_kind`` and ``owner_id``, the owning row's id as text (plan 12 is "12", circuit
garage is "garage"), shown in its natural type by :func:`natural_id`. Plans and tariffs
own at most one desired profile per station (replaced in place when they change); a
circuit owns one per connector of a station (a TxProfile per running transaction, a
ChargePointMaxProfile on connector 0); owners without an id (a single request) own each
row they made.
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
    EV = "ev"  # a TxProfile offered to a car's ISO 15118 negotiation (OCPP 2.0.1 K15-K17)


@dataclass(frozen=True, init=False)
class Owner:
    """``id`` is the owning row's id as text (plan, tariff, circuit, pending remote
    start), or None for an owner that is a single request."""

    kind: OwnerKind
    id: str | None

    def __init__(self, kind: OwnerKind, id: int | str | None = None) -> None:  # noqa: A002
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "id", None if id is None else str(id))

    def __str__(self) -> str:
        return str(self.kind) if self.id is None else f"{self.kind}:{self.id}"

    @property
    def label(self) -> str:
        """For people: ``"plan 12"``, ``"circuit garage"``, ``"manual"``."""
        return str(self.kind) if self.id is None else f"{self.kind} {self.id}"

    @property
    def managed(self) -> bool:
        """Whether the owner keeps its profiles (one per station, or per connector for a
        circuit), replaced in place when it changes."""
        return self.id is not None and self.kind in _MANAGED

    @property
    def per_connector(self) -> bool:
        """Whether the owner keeps one profile per connector of a station (a circuit)
        rather than one per station."""
        return self.kind in _PER_CONNECTOR


def natural_id(kind: OwnerKind, stored: str | None) -> int | str | None:
    """The owner id of a desired row in its owner's own type: a circuit's name, the
    integer id of a plan, tariff or pending remote start."""
    if stored is None or kind in _NAMED:
        return stored
    return int(stored)


_MANAGED = frozenset({OwnerKind.PLAN, OwnerKind.TARIFF, OwnerKind.CIRCUIT})
# Owners whose profiles are chargeplan's own answer for a session, made from every other
# owner's limits and the car's: the circuit's plan, or, on a station no circuit plans, the
# TxProfile offered to the car. Neither is a limit on the other's answer.
SESSION_ANSWERS = frozenset({OwnerKind.CIRCUIT, OwnerKind.EV})
_PER_CONNECTOR = frozenset({OwnerKind.CIRCUIT})
_NAMED = frozenset({OwnerKind.CIRCUIT})  # owners whose ids are names, not integers

MANUAL = Owner(OwnerKind.MANUAL)
