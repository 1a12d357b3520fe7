"""Which profiles a charge point holds after SetChargingProfile and ClearChargingProfile.

The same rules serve the server (what it believes a charger holds) and the simulator (what
the simulated charger holds), for OCPP 1.6 (:class:`InstalledProfile`, the default) and
OCPP 2.0.1 (``EvseProfile`` with ``rules=V201``). Order is kept: profiles stay in
installation order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from app.domain.profiles import ChargingProfile
from app.domain.protocol_rules import V16, Holding, OcppVersion, ProfileRole, ProtocolRules


@dataclass(frozen=True)
class InstalledProfile:
    """A profile as installed on one connector (0 = the whole charge point)."""

    connector_id: int
    profile: ChargingProfile


H = TypeVar("H", bound=Holding)


@dataclass(frozen=True)
class InstallOutcome(Generic[H]):
    """The result of installing one profile; on refusal ``installed`` is unchanged."""

    accepted: bool
    installed: tuple[H, ...]
    replaced: tuple[H, ...]
    reason: str | None = None


@dataclass(frozen=True)
class ClearOutcome(Generic[H]):
    """The profiles left and the profiles removed by a clear."""

    installed: tuple[H, ...]
    removed: tuple[H, ...]


def replaces(new: Holding, old: Holding, rules: ProtocolRules = V16) -> bool:
    """True when installing ``new`` removes ``old``.

    OCPP 1.6 §5.16 and §3.13.2: a profile with the same chargingProfileId, or with the same
    stackLevel and purpose, is replaced; the latter compares profiles on the same connector,
    since a TxDefaultProfile on connector 1 and one on connector 0 coexist by design (§3.13.1).

    OCPP 2.0.1: the same id replaces (K01.FR.05), except a ChargingStationExternalConstraints
    profile, which the central system cannot replace (``rules.protected``). A central system
    SHALL NOT send another profile with the same stackLevel, purpose and evseId (K01.FR.06)
    or, for a TxProfile, the same stackLevel and transactionId (K01.FR.39); a station that
    gets one anyway holds the newer one, as a 1.6 charger does.
    """
    if old.profile.role in rules.protected:
        return False
    if new.profile.charging_profile_id == old.profile.charging_profile_id:
        return True
    same_stack = (new.profile.stack_level == old.profile.stack_level
                  and new.profile.purpose == old.profile.purpose)
    if (rules.version is OcppVersion.V201 and new.profile.role is ProfileRole.TX
            and old.profile.role is ProfileRole.TX):
        return same_stack and new.profile.transaction_id == old.profile.transaction_id
    return same_stack and new.connector_id == old.connector_id


def install(
    installed: Sequence[H],
    new: H,
    *,
    max_profiles: int | None = None,
    rules: ProtocolRules = V16,
) -> InstallOutcome[H]:
    """Install ``new``, replacing what it replaces; refused if the station would hold more
    than ``max_profiles`` (OCPP 1.6 §9.4 MaxChargingProfilesInstalled; in 2.0.1
    SmartChargingCtrlr.Entries)."""
    replaced = tuple(old for old in installed if replaces(new, old, rules))
    kept = tuple(old for old in installed if not replaces(new, old, rules))
    if max_profiles is not None and len(kept) + 1 > max_profiles:
        return InstallOutcome(
            accepted=False,
            installed=tuple(installed),
            replaced=(),
            reason=(
                f"the station already holds {len(kept)} charging profiles "
                f"({rules.names.get('max_profiles', 'MaxChargingProfilesInstalled')} = "
                f"{max_profiles})"
            ),
        )
    return InstallOutcome(accepted=True, installed=(*kept, new), replaced=replaced)


def clear(
    installed: Sequence[H],
    *,
    profile_id: int | None = None,
    connector_id: int | None = None,
    purpose: StrEnum | None = None,
    stack_level: int | None = None,
    rules: ProtocolRules = V16,
) -> ClearOutcome[H]:
    """Remove the profiles a ClearChargingProfile.req selects (OCPP 1.6 §5.5, §6.13).

    OCPP 1.6 errata §3.26 settles the text: with ``id`` every other field is ignored;
    otherwise the given fields are combined with a logical AND; with no field at all every
    profile is cleared. A charger answers Accepted when ``removed`` is non-empty, Unknown
    otherwise. OCPP 2.0.1 ClearChargingProfileRequest has the same fields
    (chargingProfileId, chargingProfileCriteria: evseId, purpose, stackLevel), read the same
    way; a protected profile (ChargingStationExternalConstraints) is never cleared by the
    central system, as it cannot replace one either.
    """

    def selected(item: H) -> bool:
        if item.profile.role in rules.protected:
            return False
        if profile_id is not None:
            return item.profile.charging_profile_id == profile_id
        return (
            (connector_id is None or item.connector_id == connector_id)
            and (purpose is None or item.profile.purpose == purpose)
            and (stack_level is None or item.profile.stack_level == stack_level)
        )

    removed = tuple(item for item in installed if selected(item))
    kept = tuple(item for item in installed if not selected(item))
    return ClearOutcome(installed=kept, removed=removed)
