"""Typed settings: one object built at start-up and passed in, never read at import.

Values come from ``config/default.toml`` (or the file named by ``CHARGEPLAN_CONFIG``),
then from environment variables ``CHARGEPLAN_<NAME>`` which win. A bad value stops
start-up with one line naming the setting (:class:`SettingsError`).
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

ENV_PREFIX = "CHARGEPLAN_"
DEFAULT_CONFIG = Path("config/default.toml")
ID_TAG_STATUSES = ("Accepted", "Blocked", "Expired", "Invalid")
# What SignCertificate does with a CSR whose subject is not the one the station needs.
CSR_SUBJECTS = ("strict", "rewrite")


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the setting."""


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite+aiosqlite:///./var/chargeplan.db"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    ocpp_host: str = "0.0.0.0"
    ocpp_port: int = 9000
    log_level: str = "INFO"
    # Apply pending migrations at start instead of refusing to start (make run sets it).
    auto_migrate: bool = False
    # OCPP 1.6 §4.2 BootNotification.conf interval, in seconds.
    heartbeat_interval_s: int = 300
    # The interval of a BootNotification answered Pending (a held station): the least wait
    # before its next boot (OCPP 1.6 §4.2; OCPP 2.0.1 B02).
    pending_boot_interval_s: int = 30
    admit_unknown_stations: bool = False
    # What Authorize/StartTransaction answer for an idTag that is not in the id-tag table.
    unknown_id_tag_status: str = "Invalid"
    # StartTransaction for an idTag with an open transaction elsewhere: "allow" starts it
    # (an earlier session may simply never have been stopped), "reject" answers ConcurrentTx.
    concurrent_tx: str = "allow"
    # How long the gateway waits for a CALLRESULT before the call ends as a timeout.
    call_timeout_s: float = 30.0
    # Largest websocket frame accepted from a station; a bigger one closes it with 1009.
    # Generous: StopTransaction.transactionData of a long session runs to tens of KiB.
    max_frame_bytes: int = 262144
    # permessage-deflate costs about 40 KiB per idle connection; off unless asked for.
    ws_compression: bool = False
    ws_ping_interval_s: float = 60.0
    # Per-station limit on CALLs it sends; beyond it they get a CALLERROR, others unaffected.
    inbound_rate_per_s: float = 100.0
    inbound_burst: float = 200.0
    # Frames a station may send per minute that are not OCPP-J at all (not JSON, wrong
    # shape, binary); one more closes its connection with 1008 and records a security event.
    malformed_frames_per_minute: int = 60
    # An unusable frame is audited as its first this many bytes, its length and SHA-256.
    audit_raw_max_bytes: int = 4096
    # A page of GET /audit stops before its rows pass this many bytes (at least one row).
    audit_page_max_bytes: int = 1048576
    # A station timestamp further ahead of the receive time than this is not believed: it
    # never orders state (the receive time does) and stored data is flagged "future".
    station_clock_skew_s: float = 300.0
    # Older than this before receipt, a station timestamp is stored flagged "too_old".
    station_time_max_age_days: float = 90.0
    # Websocket handshakes one address may have in progress (accepted, not yet
    # authenticated); beyond it the upgrade is answered 503 with Retry-After.
    handshakes_per_address: int = 128
    # How often last_seen of connected stations is written to the database.
    presence_flush_s: float = 5.0
    # How often this process says it is alive (table nodes); a process silent for three
    # beats holds no station any more.
    node_heartbeat_s: float = 10.0
    # Audit writer: flushed every interval or every batch, bounded queue for backpressure.
    audit_flush_interval_s: float = 0.25
    audit_batch_size: int = 500
    audit_queue_max: int = 50000
    # Read smart-charging configuration keys with GetConfiguration after each boot.
    read_configuration_on_boot: bool = True
    # Supply used to convert between A and W when a station does not say otherwise.
    supply_voltage_v: float = 230.0
    supply_phases: int = 3
    # Load management: the least current a session is offered (IEC 61851-1: below 6 A a
    # car pauses) and the most a connector is taken to give when its station does not say.
    session_min_current_a: float = 6.0
    session_max_current_a: float = 32.0
    # Circuit-owned TxProfiles: their stack level, lease (validTo = now + lease, renewed
    # by re-planning), horizon, how often every tree is re-planned, and how long the
    # transaction events of a tree are collected before one re-plan.
    circuit_stack_level: int = 7
    circuit_lease_s: int = 900
    circuit_horizon_s: int = 86400
    circuit_replan_interval_s: float = 60.0
    circuit_debounce_s: float = 2.0
    # A charging session's MeterValues (a car that draws less than its share, or more)
    # re-plan its tree, at most once in this many seconds.
    circuit_meter_replan_s: float = 10.0
    # Planning ahead (docs/planning.md, "Live"): on or off, the slot length (slots are
    # aligned to the clock) and the solver's budget per re-plan.
    circuit_planning: bool = True
    circuit_plan_step_s: int = 900
    circuit_plan_time_limit_s: float = 2.0
    # Jobs: reconcile desired against actual, verify by composite schedule, retry.
    scheduler_enabled: bool = True
    reconcile_interval_s: float = 60.0
    verify_interval_s: float = 900.0
    # GetCompositeSchedule window of a verification (OCPP 1.6 §5.7); at least a day.
    verify_window_s: int = 86400
    # Repairs of a drifting station before it is marked drift_unresolved.
    drift_max_repairs: int = 3
    retry_base_s: float = 10.0
    retry_cap_s: float = 600.0
    retry_max_attempts: int = 6
    # Stations a job has calls in flight to at once (each call keeps its own timeout). The
    # database work of a job is batched, so this bounds sockets and memory, not queries.
    job_concurrency: int = 256
    # Start one in-process simulated station (PY-SIM-0001) for the demo.
    demo_station: bool = False
    # OCPP security profiles 2 and 3: a TLS listener runs when a certificate is given.
    ocpp_plain: bool = True
    ocpp_tls_port: int = 9443
    ocpp_tls_cert: str = ""
    ocpp_tls_key: str = ""
    # Intermediate certificates sent after the server's own (PEM), if not in the cert file.
    ocpp_tls_chain: str = ""
    # A second server certificate with an RSA key, for the TLS_RSA suites when the first
    # is ECDSA (OCPP 2.0.1 A00.FR.318: a CSMS supports both kinds).
    ocpp_tls_rsa_cert: str = ""
    ocpp_tls_rsa_key: str = ""
    # CA(s) whose client certificates identify stations (profile 3); empty = no client certs.
    ocpp_tls_client_ca: str = ""
    # The operator: O of every station certificate (the stations' CpoName).
    cpo_name: str = "chargeplan"
    # SignCertificate with a wrong or missing subject (CN, O): "strict" rejects it;
    # "rewrite" signs it for the authenticated station with CN = its id, O = cpo_name.
    csr_subject: str = "strict"
    # Where `chargeplan ca init` keeps the built-in CA that signs station certificates.
    ca_dir: str = "./var/ca"
    # Failed station authentications per address (and per station and address) before a
    # lockout; lockouts double up to the cap.
    ocpp_auth_failures_allowed: int = 5
    ocpp_auth_lock_s: float = 60.0
    ocpp_auth_max_lock_s: float = 3600.0
    # REST API keys: every endpoint but /health, /metrics and the docs needs a bearer key.
    # "off" is allowed only with the HTTP listener on a loopback address.
    api_auth: bool = True
    # /metrics needs a reader key when true (Prometheus scrapers often carry none).
    metrics_auth: bool = False
    # Failed API keys per address before a lockout; lockouts double up to the cap.
    api_auth_failures_allowed: int = 10
    api_auth_lock_s: float = 60.0
    api_auth_max_lock_s: float = 3600.0
    # Requests per minute per API key, by role, and per client address (429 beyond).
    api_rate_reader_per_min: float = 1200.0
    api_rate_operator_per_min: float = 600.0
    api_rate_admin_per_min: float = 300.0
    api_rate_address_per_min: float = 2400.0
    # Largest REST request body; larger ones get 413.
    max_body_bytes: int = 1048576
    # Origins allowed to call the REST API from a browser (comma separated); none by default.
    cors_origins: str = ""
    # Live events (SSE, WebSocket, webhooks).
    events_history: int = 1000
    events_queue_size: int = 1000
    events_resume_s: float = 300.0
    events_heartbeat_s: float = 15.0
    meter_event_interval_s: float = 10.0
    webhook_retry_base_s: float = 2.0
    webhook_retry_cap_s: float = 300.0
    webhook_max_attempts: int = 8
    webhook_timeout_s: float = 10.0
    # Identifies this server process in the stations table (which process holds a socket)
    # and the nodes table; `chargeplan serve --node-id` sets it. Unique per live process.
    node_id: str = field(default_factory=lambda: f"{os.uname().nodename}:{os.getpid()}")

    def __post_init__(self) -> None:
        _check(self.http_port, "http_port", 1 <= self.http_port <= 65535, "a port 1..65535")
        _check(self.ocpp_port, "ocpp_port", 0 <= self.ocpp_port <= 65535, "a port 0..65535")
        _check(self.heartbeat_interval_s, "heartbeat_interval_s", self.heartbeat_interval_s > 0,
               "a number of seconds > 0")
        _check(self.pending_boot_interval_s, "pending_boot_interval_s",
               self.pending_boot_interval_s > 0, "a number of seconds > 0")
        _check(self.call_timeout_s, "call_timeout_s", self.call_timeout_s > 0, "seconds > 0")
        _check(self.node_heartbeat_s, "node_heartbeat_s", self.node_heartbeat_s > 0, "seconds > 0")
        _check(self.node_id, "node_id", 1 <= len(self.node_id) <= 100
               and self.node_id.isprintable() and not any(c.isspace() for c in self.node_id),
               "1 to 100 printable characters without spaces")
        _check(self.max_frame_bytes, "max_frame_bytes", self.max_frame_bytes >= 1024, ">= 1024")
        _check(self.audit_batch_size, "audit_batch_size", self.audit_batch_size > 0, "> 0")
        _check(self.station_clock_skew_s, "station_clock_skew_s",
               self.station_clock_skew_s >= 0, "seconds >= 0")
        _check(self.station_time_max_age_days, "station_time_max_age_days",
               self.station_time_max_age_days > 0, "days > 0")
        _check(self.handshakes_per_address, "handshakes_per_address",
               self.handshakes_per_address >= 1, ">= 1")
        _check(self.malformed_frames_per_minute, "malformed_frames_per_minute",
               self.malformed_frames_per_minute >= 1, ">= 1")
        _check(self.audit_raw_max_bytes, "audit_raw_max_bytes",
               256 <= self.audit_raw_max_bytes <= self.max_frame_bytes,
               "256 .. max_frame_bytes")
        _check(self.audit_page_max_bytes, "audit_page_max_bytes",
               self.audit_page_max_bytes >= 65536, ">= 65536")
        _check(self.audit_queue_max, "audit_queue_max",
               self.audit_queue_max >= self.audit_batch_size, ">= audit_batch_size")
        _check(self.unknown_id_tag_status, "unknown_id_tag_status",
               self.unknown_id_tag_status in ID_TAG_STATUSES,
               "one of " + ", ".join(ID_TAG_STATUSES))
        _check(self.csr_subject, "csr_subject", self.csr_subject in CSR_SUBJECTS,
               " or ".join(CSR_SUBJECTS))
        _check(self.concurrent_tx, "concurrent_tx", self.concurrent_tx in ("allow", "reject"),
               "allow or reject")
        _check(self.log_level, "log_level",
               self.log_level.upper() in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
               "DEBUG, INFO, WARNING, ERROR or CRITICAL")
        _check(self.reconcile_interval_s, "reconcile_interval_s", self.reconcile_interval_s > 0,
               "seconds > 0")
        _check(self.verify_interval_s, "verify_interval_s", self.verify_interval_s > 0,
               "seconds > 0")
        _check(self.verify_window_s, "verify_window_s", self.verify_window_s >= 86400,
               ">= 86400 (a day)")
        _check(self.retry_base_s, "retry_base_s", self.retry_base_s > 0, "seconds > 0")
        _check(self.retry_cap_s, "retry_cap_s", self.retry_cap_s >= self.retry_base_s,
               ">= retry_base_s")
        _check(self.retry_max_attempts, "retry_max_attempts", self.retry_max_attempts >= 1,
               ">= 1")
        for name in ("events_history", "events_queue_size", "webhook_max_attempts"):
            _check(getattr(self, name), name, getattr(self, name) >= 1, ">= 1")
        for name in ("events_heartbeat_s", "webhook_retry_base_s", "webhook_timeout_s"):
            _check(getattr(self, name), name, getattr(self, name) > 0, "seconds > 0")
        _check(self.webhook_retry_cap_s, "webhook_retry_cap_s",
               self.webhook_retry_cap_s >= self.webhook_retry_base_s, ">= webhook_retry_base_s")
        _check(self.job_concurrency, "job_concurrency", self.job_concurrency >= 1, ">= 1")
        _check(self.drift_max_repairs, "drift_max_repairs", self.drift_max_repairs >= 0, ">= 0")
        _check(self.supply_phases, "supply_phases", self.supply_phases in (1, 2, 3), "1, 2 or 3")
        _check(self.supply_voltage_v, "supply_voltage_v", self.supply_voltage_v > 0, "> 0")
        _check(self.ocpp_tls_port, "ocpp_tls_port", 0 <= self.ocpp_tls_port <= 65535,
               "a port 0..65535")
        if bool(self.ocpp_tls_cert) != bool(self.ocpp_tls_key):
            raise SettingsError(f"invalid setting {ENV_PREFIX}OCPP_TLS_CERT / _OCPP_TLS_KEY: "
                                "give both (PEM files) or neither")
        if bool(self.ocpp_tls_rsa_cert) != bool(self.ocpp_tls_rsa_key):
            raise SettingsError(f"invalid setting {ENV_PREFIX}OCPP_TLS_RSA_CERT / "
                                "_OCPP_TLS_RSA_KEY: give both (PEM files) or neither")
        if self.ocpp_tls_rsa_cert and not self.ocpp_tls_cert:
            raise SettingsError(f"invalid setting {ENV_PREFIX}OCPP_TLS_RSA_CERT: a second "
                                f"certificate needs the first, {ENV_PREFIX}OCPP_TLS_CERT")
        if not self.ocpp_plain and not self.ocpp_tls_cert:
            raise SettingsError(f"invalid setting {ENV_PREFIX}OCPP_PLAIN=false: without "
                                f"{ENV_PREFIX}OCPP_TLS_CERT no OCPP listener would run")
        _check(self.ocpp_auth_failures_allowed, "ocpp_auth_failures_allowed",
               self.ocpp_auth_failures_allowed >= 1, ">= 1")
        _check(self.ocpp_auth_lock_s, "ocpp_auth_lock_s", self.ocpp_auth_lock_s > 0,
               "seconds > 0")
        _check(self.ocpp_auth_max_lock_s, "ocpp_auth_max_lock_s",
               self.ocpp_auth_max_lock_s >= self.ocpp_auth_lock_s, ">= ocpp_auth_lock_s")
        _check(self.api_auth_failures_allowed, "api_auth_failures_allowed",
               self.api_auth_failures_allowed >= 1, ">= 1")
        _check(self.api_auth_lock_s, "api_auth_lock_s", self.api_auth_lock_s > 0, "seconds > 0")
        _check(self.api_auth_max_lock_s, "api_auth_max_lock_s",
               self.api_auth_max_lock_s >= self.api_auth_lock_s, ">= api_auth_lock_s")
        for name in ("api_rate_reader_per_min", "api_rate_operator_per_min",
                     "api_rate_admin_per_min", "api_rate_address_per_min"):
            _check(getattr(self, name), name, getattr(self, name) > 0, "requests per minute > 0")
        _check(self.max_body_bytes, "max_body_bytes", self.max_body_bytes >= 1024, ">= 1024")
        if not self.api_auth and not is_loopback(self.http_host):
            raise SettingsError(
                f"refusing {ENV_PREFIX}API_AUTH=off with {ENV_PREFIX}HTTP_HOST="
                f"{self.http_host!r}: the REST API may run without keys only on a loopback "
                "address (127.0.0.1, ::1, localhost)")
        _check(self.circuit_stack_level, "circuit_stack_level", self.circuit_stack_level >= 0,
               ">= 0")
        _check(self.circuit_lease_s, "circuit_lease_s", self.circuit_lease_s >= 60, ">= 60")
        _check(self.circuit_horizon_s, "circuit_horizon_s", self.circuit_horizon_s >= 60,
               ">= 60")
        _check(self.circuit_replan_interval_s, "circuit_replan_interval_s",
               0 < self.circuit_replan_interval_s < self.circuit_lease_s / 2,
               "seconds > 0 and below half of circuit_lease_s")
        _check(self.circuit_debounce_s, "circuit_debounce_s", self.circuit_debounce_s >= 0,
               "seconds >= 0")
        _check(self.circuit_meter_replan_s, "circuit_meter_replan_s",
               self.circuit_meter_replan_s >= 0, "seconds >= 0")
        _check(self.circuit_plan_step_s, "circuit_plan_step_s",
               60 <= self.circuit_plan_step_s <= self.circuit_horizon_s,
               "seconds >= 60 and at most circuit_horizon_s")
        _check(self.circuit_plan_time_limit_s, "circuit_plan_time_limit_s",
               self.circuit_plan_time_limit_s > 0, "seconds > 0")
        _check(self.session_min_current_a, "session_min_current_a",
               self.session_min_current_a > 0, "> 0")
        _check(self.session_max_current_a, "session_max_current_a",
               self.session_max_current_a >= self.session_min_current_a,
               ">= session_min_current_a")
        if not self.database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise SettingsError(
                f"invalid setting {ENV_PREFIX}DATABASE_URL={self.database_url!r}: "
                "expected sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB"
            )

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    def with_overrides(self, **values: Any) -> Settings:
        return dataclasses.replace(self, **values)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check(value: object, name: str, ok: bool, expected: str) -> None:
    if not ok:
        raise SettingsError(
            f"invalid setting {ENV_PREFIX}{name.upper()}={value!r}: expected {expected}"
        )


def _coerce(name: str, raw: object, kind: Any) -> Any:
    env_name = f"{ENV_PREFIX}{name.upper()}"
    try:
        if kind is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind is int:
            if isinstance(raw, bool):
                raise ValueError
            return int(str(raw).strip())
        if kind is float:
            return float(str(raw).strip())
        return str(raw)
    except ValueError:
        expected = {bool: "true or false", int: "an integer", float: "a number"}.get(kind, "text")
        raise SettingsError(f"invalid setting {env_name}={raw!r}: expected {expected}") from None


# CHARGEPLAN_ variables that are not settings: the settings file, and the test suite's own
# (CHARGEPLAN_TEST_POSTGRES_URL, ...), which the server never reads.
NOT_SETTINGS = frozenset({f"{ENV_PREFIX}CONFIG"})
TEST_PREFIX = f"{ENV_PREFIX}TEST_"


def _closest(name: str, candidates: Iterable[str]) -> str:
    found = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f": did you mean {found[0]}?" if found else ""


def _refuse_unknown_variables(env: Mapping[str, str], known: set[str]) -> None:
    """A misspelt variable is an error, not a setting silently left at its default."""
    names = {f"{ENV_PREFIX}{name.upper()}" for name in known}
    for variable in sorted(env):
        if (variable.startswith(ENV_PREFIX) and variable not in names
                and variable not in NOT_SETTINGS and not variable.startswith(TEST_PREFIX)):
            # Compared without the prefix all of them share, which would make anything close.
            found = difflib.get_close_matches(variable[len(ENV_PREFIX):].lower(), sorted(known),
                                              n=1, cutoff=0.6)
            hint = (f": did you mean {ENV_PREFIX}{found[0].upper()}?" if found
                    else ": see the settings table in docs/settings.md")
            raise SettingsError(f"unknown setting {variable}{hint}")


def load_settings(
    environ: Mapping[str, str] | None = None, config_file: Path | None = None
) -> Settings:
    """Build settings from the config file, then the environment (which wins)."""
    env = os.environ if environ is None else environ
    path = config_file or Path(env.get(f"{ENV_PREFIX}CONFIG", str(DEFAULT_CONFIG)))
    raw: dict[str, object] = {}
    if path.is_file():
        try:
            raw.update(tomllib.loads(path.read_text()).get("chargeplan", {}))
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"invalid settings file {path}: {exc}") from None
    hints = get_type_hints(Settings)
    known = {f.name for f in dataclasses.fields(Settings)}
    for key in list(raw):
        if key not in known:
            raise SettingsError(f"unknown setting {key!r} in {path}{_closest(key, known)}")
    _refuse_unknown_variables(env, known)
    for name in known:
        env_value = env.get(f"{ENV_PREFIX}{name.upper()}")
        if env_value is not None:
            raw[name] = env_value
    values = {name: _coerce(name, value, hints[name]) for name, value in raw.items()}
    return Settings(**values)
