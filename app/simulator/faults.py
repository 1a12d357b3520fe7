"""Reproducible fault injection: the misbehaviours of real chargers seen in the field."""

from __future__ import annotations

import random

from app.simulator.config import SimulatorConfig


class FaultInjector:
    """Draws, per station, whether to misbehave on the next server CALL.

    A rate of 0 never draws from the generator, so enabling one fault does not shift
    the random sequence of another between runs with the same seed.
    """

    def __init__(self, config: SimulatorConfig, station_index: int) -> None:
        seed = None if config.seed is None else config.seed * 1_000_003 + station_index
        self._random = random.Random(seed)
        self._config = config

    def _draw(self, rate: float) -> bool:
        if rate <= 0.0:
            return False
        return rate >= 1.0 or self._random.random() < rate

    def drop_call(self) -> bool:
        """Leave a server CALL without any answer."""
        return self._draw(self._config.drop_rate)

    def reject_profile(self) -> bool:
        """Turn an acceptable SetChargingProfile into Rejected."""
        return self._draw(self._config.reject_rate)

    def ignore_profile(self) -> bool:
        """Answer SetChargingProfile with Accepted but install nothing (a field-reported fault)."""
        return self._draw(self._config.ignore_profile_rate)

    @property
    def on_calls(self) -> bool:
        """Whether server CALLs may be dropped or delayed at all."""
        return self._config.drop_rate > 0 or self._config.delay_ms > 0

    @property
    def answer_delay(self) -> float:
        """Seconds to wait before handling each server CALL."""
        return self._config.delay_ms / 1000.0
