"""The second, RSA server certificate comes with its key and after a first one."""

from __future__ import annotations

import pytest

from app.settings import Settings, SettingsError


def test_an_rsa_certificate_needs_its_key_and_a_first_certificate() -> None:
    with pytest.raises(SettingsError, match="OCPP_TLS_RSA_CERT / _OCPP_TLS_RSA_KEY"):
        Settings(ocpp_tls_cert="ec.pem", ocpp_tls_key="ec.key", ocpp_tls_rsa_cert="rsa.pem")
    with pytest.raises(SettingsError, match="needs the first"):
        Settings(ocpp_tls_rsa_cert="rsa.pem", ocpp_tls_rsa_key="rsa.key")
    both = Settings(ocpp_tls_cert="ec.pem", ocpp_tls_key="ec.key",
                    ocpp_tls_rsa_cert="rsa.pem", ocpp_tls_rsa_key="rsa.key")
    assert (both.ocpp_tls_rsa_cert, both.ocpp_tls_rsa_key) == ("rsa.pem", "rsa.key")
