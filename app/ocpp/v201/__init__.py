"""OCPP 2.0.1: what the ``ocpp2.0.1`` subprotocol means (schemas, handlers, and the
translation of the services' 1.6-shaped calls).

Only this package reads the 2.0.1 schemas of the ``ocpp`` package; the neutral core
imports it at one place, its registration in ``app/ocpp/versions.py``. It imports
nothing of ``app.ocpp.v16``.
"""

from app.ocpp.v201.adapter import OCPP201, Ocpp201

__all__ = ["OCPP201", "Ocpp201"]
