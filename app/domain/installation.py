"""Which profiles a charge point holds after SetChargingProfile and ClearChargingProfile.

The same rules serve the server (what it believes a charger holds) and the simulator (what
the simulated charger holds). Order is kept: profiles stay in installation order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.domain.profiles import ChargingProfile, ChargingProfilePurpose


@dataclass(frozen=True)
class InstalledProfile:
    """A profile as installed on one connector (0 = the whole charge point)."""

    connector_id: int
    profile: ChargingProfile


@dataclass(frozen=True)
class InstallOutcome:
    """The result of installing one profile; on refusal ``installed`` is unchanged."""

    accepted: bool
    installed: tuple[InstalledProfile, ...]
    replaced: tuple[InstalledProfile, ...]
    reason: str | None = None


@dataclass(frozen=True)
class ClearOutcome:
    """The profiles left and the profiles removed by a clear."""

    installed: tuple[InstalledProfile, ...]
    removed: tuple[InstalledProfile, ...]


def replaces(new: InstalledProfile, old: InstalledProfile) -> bool:
    """True when installing ``new`` removes ``old``.

    OCPP 1.6 §5.16 and §3.13.2: a profile with the same chargingProfileId, or with the same
    stackLevel and purpose, is replaced; the latter compares profiles on the same connector,
    since a TxDefaultProfile on connector 1 and one on connector 0 coexist by design (§3.13.1).
    """
    if new.profile.charging_profile_id == old.profile.charging_profile_id:
        return True
    return (
        new.connector_id == old.connector_id
        and new.profile.stack_level == old.profile.stack_level
        and new.profile.purpose == old.profile.purpose
    )


def install(
    installed: Sequence[InstalledProfile],
    new: InstalledProfile,
    *,
    max_profiles: int | None = None,
) -> InstallOutcome:
    """Install ``new``, replacing what it replaces; refused if the station would hold more
    than ``max_profiles`` (configuration key MaxChargingProfilesInstalled, OCPP 1.6 §9.4)."""
    replaced = tuple(old for old in installed if replaces(new, old))
    kept = tuple(old for old in installed if not replaces(new, old))
    if max_profiles is not None and len(kept) + 1 > max_profiles:
        return InstallOutcome(
            accepted=False,
            installed=tuple(installed),
            replaced=(),
            reason=(
                f"the station already holds {len(kept)} charging profiles "
                f"(MaxChargingProfilesInstalled = {max_profiles})"
            ),
        )
    return InstallOutcome(accepted=True, installed=(*kept, new), replaced=replaced)


def clear(
    installed: Sequence[InstalledProfile],
    *,
    profile_id: int | None = None,
    connector_id: int | None = None,
    purpose: ChargingProfilePurpose | None = None,
    stack_level: int | None = None,
) -> ClearOutcome:
    """Remove the profiles a ClearChargingProfile.req selects (OCPP 1.6 §5.5, §6.13).

    OCPP 1.6 errata §3.26 settles the text: with ``id`` every other field is ignored;
    otherwise the given fields are combined with a logical AND; with no field at all every
    profile is cleared. A charger answers Accepted when ``removed`` is non-empty, Unknown
    otherwise.
    """

    def selected(item: InstalledProfile) -> bool:
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
