"""A broken rule found in a charging profile, reported with the OCPP field it concerns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Violation:
    """One broken rule.

    ``path`` names the field with the OCPP camelCase names, relative to the charging
    profile (``chargingSchedule.chargingSchedulePeriod[1].startPeriod``); a caller that
    embeds the profile in a message adds its own prefix with :meth:`prefixed`.
    ``reference`` is the part of the specification that states the rule.
    """

    path: str
    rule: str
    reference: str = ""

    def __str__(self) -> str:
        text = f"{self.path}: {self.rule}" if self.path else self.rule
        return f"{text} ({self.reference})" if self.reference else text

    def prefixed(self, prefix: str) -> Violation:
        """The same violation with ``prefix`` (e.g. ``"csChargingProfiles"``) before its path."""
        path = f"{prefix}.{self.path}" if self.path else prefix
        return Violation(path, self.rule, self.reference)
