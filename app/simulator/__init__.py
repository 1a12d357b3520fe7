"""A simulated OCPP 1.6J charge point fleet for demos, tests and benchmarks.

Each station speaks OCPP-J over a websocket like a real charger and enforces the charging
profiles it receives with the shared smart-charging core in :mod:`app.domain`.
"""

from app.simulator.config import SimulatorConfig
from app.simulator.fleet import Simulator, run_simulator
from app.simulator.station import SimulatedStation

__all__ = ["SimulatedStation", "Simulator", "SimulatorConfig", "run_simulator"]
