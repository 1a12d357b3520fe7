"""Settings of a simulated fleet of OCPP 1.6J or OCPP 2.0.1 charge points."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from app.domain.composite import Convention

COMPOSITE_ANSWERS = ("schedule", "no-schedule", "rejected")
OCPP_VERSIONS = ("1.6", "2.0.1")


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """What the simulated charge points are, where they connect and which faults they inject.

    Rates are probabilities in [0, 1]; intervals are seconds.
    """

    url: str = "ws://127.0.0.1:9000"
    stations: int = 1
    id_prefix: str = "PY-SIM-"
    first_index: int = 1
    connectors: int = 2
    password: str | None = None
    # wss:// only: the CA file that verifies the server (default: the system's), and the
    # client certificate and key the stations present (security profile 3).
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # The local address the stations connect from (default: the system's choice).
    source_address: str | None = None
    max_power_w: float = 22080.0
    voltage: float = 230.0
    phases: int = 3
    # None: the stations use real time; otherwise their clock starts at this instant.
    start_time: datetime | None = None
    auto_charge: bool = False
    ev_max_power_w: float = 11000.0
    id_tag: str = "SIM-TAG"
    meter_interval: float = 10.0
    heartbeat_interval: float | None = None
    profile_store: Path | None = None
    reject_rate: float = 0.0
    drop_rate: float = 0.0
    delay_ms: float = 0.0
    disconnect_every: float | None = None
    ignore_profile_rate: float = 0.0
    seed: int | None = None
    reconnect_delay: float = 1.0
    # Retry interval after a failed BootNotification when the server gives none.
    boot_retry_interval: float = 10.0
    response_timeout: float = 30.0
    # How many stations open their websocket and boot at the same time.
    connect_concurrency: int = 100
    max_stack_level: int = 8
    max_periods: int = 24
    max_profiles: int = 16
    allowed_units: str = "Current,Power"
    # Pause between the status notifications of a firmware update or diagnostics upload.
    operation_step_s: float = 0.1
    # How GetCompositeSchedule is answered: a convention of app.domain.composite, the
    # value reported where no profile bounds a connector (W; default: max_power_w for
    # strict, 48 A for libocpp), and whether a schedule is shown at all (schedule,
    # no-schedule: Accepted without one, rejected: always Rejected).
    composite_convention: str = "strict"
    unconstrained_w: float | None = None
    composite_answer: str = "schedule"
    # The OCPP version the stations speak: "1.6" (OCPP 1.6J) or "2.0.1".
    ocpp_version: str = "1.6"
    # 2.0.1: how many variables one NotifyReport carries (DeviceDataCtrlr.ItemsPerMessage).
    report_items_per_message: int = 20
    # 2.0.1: the O of the certificate signing requests it sends
    # (SecurityCtrlr.OrganizationName; the central system's CHARGEPLAN_CPO_NAME).
    cpo_name: str = "chargeplan"
    # 2.0.1: how long a car that --auto-charge plugs in means to stay (its departureTime in
    # NotifyEVChargingNeeds), seconds.
    ev_dwell_s: float = 8 * 3600.0
    # 2.0.1 fault: the grid operator limits the whole station to this many amperes per
    # phase, grid_limit_after_s seconds after boot (a ChargingStationExternalConstraints
    # profile, announced with NotifyChargingLimit, source SO).
    grid_limit_a: float | None = None
    grid_limit_after_s: float = 0.0
    # 2.0.1, ISO 15118: after each TxProfile it is sent, the car answers with the schedule
    # it chose (NotifyEVChargingSchedule): what its EVSE offers, up to its maximum. None:
    # a car without high-level communication sends none. Above 0, for testing: the first
    # schedule of each transaction asks this many amperes above the offer; after a
    # renegotiation the car keeps within.
    ev_schedule_excess_a: float | None = None
    # 2.0.1: a profile sent beside one it holds on the same stackLevel, purpose and EVSE
    # with overlapping validity (or, for a TxProfile, the same stackLevel and
    # transaction), which a central system SHALL NOT send (K01.FR.06, K01.FR.39), is
    # Rejected; with this set, it replaces the other instead, as a 1.6 charger does.
    same_stack_replaces: bool = False

    def __post_init__(self) -> None:
        if self.stations < 1:
            raise ValueError("stations must be at least 1")
        if self.connectors < 1:
            raise ValueError("connectors must be at least 1")
        if self.start_time is not None and self.start_time.utcoffset() is None:
            raise ValueError("start_time must be timezone-aware")
        for name in ("reject_rate", "drop_rate", "ignore_profile_rate"):
            rate = getattr(self, name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {rate}")
        if self.composite_convention not in {c.value for c in Convention}:
            raise ValueError(f"composite_convention must be one of "
                             f"{', '.join(c.value for c in Convention)}")
        if self.composite_answer not in COMPOSITE_ANSWERS:
            raise ValueError(f"composite_answer must be one of {', '.join(COMPOSITE_ANSWERS)}")
        if self.ocpp_version not in OCPP_VERSIONS:
            raise ValueError(f"ocpp_version must be one of {', '.join(OCPP_VERSIONS)}")
        if self.report_items_per_message < 1:
            raise ValueError("report_items_per_message must be at least 1")
        if self.grid_limit_a is not None and self.grid_limit_a < 0:
            raise ValueError("grid_limit_a must not be negative")
        if self.grid_limit_a is not None and self.ocpp_version != "2.0.1":
            raise ValueError("grid_limit_a needs ocpp_version 2.0.1 (NotifyChargingLimit)")
        if self.ev_schedule_excess_a is not None and self.ocpp_version != "2.0.1":
            raise ValueError("ev_schedule_excess_a needs ocpp_version 2.0.1 "
                             "(NotifyEVChargingSchedule)")
        if self.same_stack_replaces and self.ocpp_version != "2.0.1":
            raise ValueError("same_stack_replaces needs ocpp_version 2.0.1")
        if self.ev_schedule_excess_a is not None and self.ev_schedule_excess_a < 0:
            raise ValueError("ev_schedule_excess_a must not be negative")
        if self.meter_interval <= 0:
            raise ValueError("meter_interval must be positive")
        if self.disconnect_every is not None and self.disconnect_every <= 0:
            raise ValueError("disconnect_every must be positive")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together (a certificate and its key)")
        tls_files = self.tls_ca or self.tls_cert
        if tls_files and not self.url.startswith("wss://"):
            raise ValueError(f"tls_ca, tls_cert and tls_key need a wss:// url, not {self.url}")

    def station_ids(self) -> list[str]:
        """Identities of the stations, e.g. ``PY-SIM-0001``."""
        last = self.first_index + self.stations
        return [f"{self.id_prefix}{index:04d}" for index in range(self.first_index, last)]
