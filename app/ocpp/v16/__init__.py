"""OCPP 1.6J: what the ``ocpp1.6`` subprotocol means (schemas, handlers, CALL building).

Only this package reads the 1.6 schemas of the ``ocpp`` package; the neutral core
imports it at one place, its registration in ``app/ocpp/versions.py``.
"""

from app.ocpp.v16.adapter import OCPP16, Ocpp16

__all__ = ["OCPP16", "Ocpp16"]
