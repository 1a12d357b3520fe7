"""The station's configuration keys (OCPP 1.6 §9: Standard Configuration Key Names & Values)."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from app.simulator.config import SimulatorConfig

SUPPORTED_FEATURE_PROFILES = (
    "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,RemoteTrigger"
)
MEASURANDS = "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Current.Offered"


class ChangeResult(enum.StrEnum):
    """ChangeConfiguration.conf status values (OCPP 1.6 §6.9)."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    NOT_SUPPORTED = "NotSupported"


@dataclass(slots=True)
class _Key:
    value: str
    readonly: bool
    kind: type = str


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class StationConfiguration:
    """Key/value store answering GetConfiguration and ChangeConfiguration."""

    def __init__(self, config: SimulatorConfig, heartbeat_interval: float = 0.0) -> None:
        self._keys: dict[str, _Key] = {
            "SupportedFeatureProfiles": _Key(SUPPORTED_FEATURE_PROFILES, readonly=True),
            # OCPP 1.6 §9.4: smart-charging limits a central system reads before sending profiles.
            "ChargeProfileMaxStackLevel": _Key(str(config.max_stack_level), True, int),
            "ChargingScheduleAllowedChargingRateUnit": _Key(config.allowed_units, readonly=True),
            "ChargingScheduleMaxPeriods": _Key(str(config.max_periods), True, int),
            "MaxChargingProfilesInstalled": _Key(str(config.max_profiles), True, int),
            "ConnectorSwitch3to1PhaseSupported": _Key(_bool(False), True, bool),
            "NumberOfConnectors": _Key(str(config.connectors), True, int),
            "HeartbeatInterval": _Key(_number(heartbeat_interval), False, int),
            "MeterValueSampleInterval": _Key(_number(config.meter_interval), False, int),
            "AuthorizeRemoteTxRequests": _Key(_bool(False), True, bool),
            "ClockAlignedDataInterval": _Key("0", False, int),
            "ConnectionTimeOut": _Key("60", False, int),
            "GetConfigurationMaxKeys": _Key("50", True, int),
            "LocalAuthorizeOffline": _Key(_bool(True), False, bool),
            "LocalPreAuthorize": _Key(_bool(False), False, bool),
            "MeterValuesAlignedData": _Key("Energy.Active.Import.Register", False),
            "MeterValuesSampledData": _Key(MEASURANDS, False),
            "ResetRetries": _Key("3", False, int),
            "StopTransactionOnEVSideDisconnect": _Key(_bool(True), False, bool),
            "StopTransactionOnInvalidId": _Key(_bool(True), False, bool),
            "StopTxnSampledData": _Key("Energy.Active.Import.Register", False),
            "TransactionMessageAttempts": _Key("3", False, int),
            "TransactionMessageRetryInterval": _Key("60", False, int),
            "UnlockConnectorOnEVSideDisconnect": _Key(_bool(True), False, bool),
            "WebSocketPingInterval": _Key("20", False, int),
        }

    def get(self, keys: Iterable[str] | None) -> tuple[list[dict[str, object]], list[str]]:
        """GetConfiguration.conf content: the known keys and the unknown ones (OCPP 1.6 §5.8)."""
        names = list(self._keys) if keys is None else list(keys)
        known = [
            {"key": name, "readonly": self._keys[name].readonly, "value": self._keys[name].value}
            for name in names
            if name in self._keys
        ]
        unknown = [name for name in names if name not in self._keys]
        return known, unknown

    def change(self, key: str, value: str) -> ChangeResult:
        """Apply a ChangeConfiguration.req (OCPP 1.6 §5.3)."""
        entry = self._keys.get(key)
        if entry is None:
            return ChangeResult.NOT_SUPPORTED
        if entry.readonly or not _valid(entry.kind, value):
            return ChangeResult.REJECTED
        entry.value = value.lower() if entry.kind is bool else value
        return ChangeResult.ACCEPTED

    def value(self, key: str) -> str:
        return self._keys[key].value

    def set_value(self, key: str, value: float) -> None:
        """Record a value the station itself decided (e.g. the interval from BootNotification)."""
        self._keys[key].value = _number(value)


def _valid(kind: type, value: str) -> bool:
    if kind is int:
        try:
            return float(value) >= 0
        except ValueError:
            return False
    if kind is bool:
        return value.lower() in ("true", "false")
    return True
