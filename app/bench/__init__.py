"""Load benchmark of the OCPP 1.6J server against a bare floor and a stock ``ocpp`` server.

Everything runs on the loopback interface: the bench starts each server itself, drives it
from separate worker processes and stops it again.
"""

from app.bench.config import BenchConfig, Scenario, ServerKind
from app.bench.runner import run_bench

__all__ = ["BenchConfig", "Scenario", "ServerKind", "run_bench"]
