"""The OCPP versions this server speaks, one adapter per websocket subprotocol.

The one place the neutral core names a version: a new version's adapter is added to
``_ADAPTERS`` here (in order of preference, the first one being the language of the
services' calls). ``register`` adds one while a process runs (a test's stand-in
version); a server offers what is registered when it is made.
"""

from __future__ import annotations

from app.ocpp.protocol import ProtocolAdapter, ProtocolRegistry

# The registration point: the only imports of a version.
from app.ocpp.v16 import OCPP16
from app.ocpp.v201 import OCPP201

# 1.6 first: its actions and payloads are the language of the services' calls. A
# station offering several gets the first it offers (ProtocolRegistry.select).
_ADAPTERS: dict[str, ProtocolAdapter] = {OCPP16.subprotocol: OCPP16,
                                         OCPP201.subprotocol: OCPP201}


def register(adapter: ProtocolAdapter) -> None:
    if adapter.subprotocol in _ADAPTERS:
        raise ValueError(f"subprotocol {adapter.subprotocol!r} is registered already")
    _ADAPTERS[adapter.subprotocol] = adapter


def unregister(subprotocol: str) -> None:
    if subprotocol == OCPP16.subprotocol:
        raise ValueError(f"{subprotocol} is the language of the services' calls")
    _ADAPTERS.pop(subprotocol, None)


def registered_protocols() -> ProtocolRegistry:
    """The adapters registered now, for one server and its gateway."""
    return ProtocolRegistry(_ADAPTERS.values())
