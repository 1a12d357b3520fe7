"""Owners of desired rows: one text id for every kind, read back in the owner's own type;
a plan keeps one row per station, a circuit one per connector of a station."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.domain.ownership import Owner, OwnerKind, natural_id
from app.services.delivery.managed_profiles import managed_previous


@dataclass
class Row:
    connector_id: int
    owner_kind: OwnerKind
    owner_id: str | None
    charging_profile_id: int = 1
    profile: Any = None


def test_an_owner_id_is_stored_as_text_and_read_back_in_its_owners_type() -> None:
    assert Owner(OwnerKind.PLAN, 12) == Owner(OwnerKind.PLAN, "12")
    assert Owner(OwnerKind.PLAN, 12).id == "12"
    assert str(Owner(OwnerKind.CIRCUIT, "garage")) == "circuit:garage"
    assert natural_id(OwnerKind.PLAN, "12") == 12
    assert natural_id(OwnerKind.REMOTE_START, "3") == 3
    assert natural_id(OwnerKind.CIRCUIT, "12") == "12"  # a circuit named "12" stays a name
    assert natural_id(OwnerKind.MANUAL, None) is None


def test_a_circuit_replaces_its_row_per_connector_a_plan_per_station() -> None:
    rows = [Row(0, OwnerKind.CIRCUIT, "garage"), Row(1, OwnerKind.CIRCUIT, "garage"),
            Row(2, OwnerKind.PLAN, "7"), Row(1, OwnerKind.CIRCUIT, "main")]
    garage = Owner(OwnerKind.CIRCUIT, "garage")
    assert managed_previous(rows, garage, 1) is rows[1]
    assert managed_previous(rows, garage, 0) is rows[0]
    assert managed_previous(rows, garage, 2) is None
    assert managed_previous(rows, Owner(OwnerKind.PLAN, 7), 1) is rows[2]
    assert managed_previous(rows, Owner(OwnerKind.MANUAL), 1) is None
