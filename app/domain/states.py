"""The state machines of chargeplan, one ``StrEnum`` each: services write them, the
database stores their values, the API documents exactly these members.

A ``StrEnum`` member equals its value (``DeliveryState.ACCEPTED == "accepted"``), so rows
written before the enums existed read back unchanged.
"""

from __future__ import annotations

from enum import StrEnum


class DeliveryState(StrEnum):
    """A desired profile's delivery (``desired_profiles.state``)."""

    PENDING = "pending"  # not yet acknowledged (never sent, or the station was offline)
    ACCEPTED = "accepted"  # the station answered Accepted
    REJECTED = "rejected"  # any other status: final until the profile changes
    ERROR = "error"  # CALLERROR or timeout, retried with backoff
    FAILED = "failed"  # still failing after the last attempt; retried on reconnect


class DeliveryStatus(StrEnum):
    """What one request to deliver (or clear) a profile did, as a user sees it."""

    SUCCESS = "success"
    REJECTED = "rejected"
    ERROR = "error"
    PENDING = "pending"  # the station is offline: stored, carried out on reconnect


class VerificationState(StrEnum):
    """A station's composite-schedule verification (``stations.verification_state``)."""

    VERIFIED = "verified"
    DRIFT = "drift"  # a limit the station accepted is not applied; a repair follows
    DRIFT_UNRESOLVED = "drift_unresolved"  # still drifting after the last repair
    UNVERIFIABLE = "unverifiable"  # the station cannot report what it applies
    ERROR = "error"  # no answer (offline, timeout, CALLERROR): nothing learned


class VerificationOutcome(StrEnum):
    """One connector's comparison (``verifications.outcome``)."""

    MATCH = "match"
    DRIFT = "drift"
    UNVERIFIABLE = "unverifiable"
    ERROR = "error"


class CommandStatus(StrEnum):
    """A REST command: the station answered with a CALLRESULT, or it did not."""

    SUCCESS = "success"
    ERROR = "error"

