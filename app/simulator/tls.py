"""The simulated stations' side of TLS (security profiles 2 and 3): which server they
trust and which client certificate they present."""

from __future__ import annotations

import ssl

from app.simulator.config import SimulatorConfig


def client_context(config: SimulatorConfig) -> ssl.SSLContext | None:
    """The TLS context of a ``wss://`` url, None for ``ws://``. An unreadable file raises
    ValueError naming it."""
    if not config.url.startswith("wss://"):
        return None
    try:
        context = ssl.create_default_context(
            cafile=str(config.tls_ca) if config.tls_ca is not None else None)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"CA file {config.tls_ca}: cannot load: {exc}") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if config.tls_cert is not None and config.tls_key is not None:
        try:
            context.load_cert_chain(str(config.tls_cert), str(config.tls_key))
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"client certificate {config.tls_cert} with key {config.tls_key}: "
                             f"cannot load: {exc}") from None
    return context
