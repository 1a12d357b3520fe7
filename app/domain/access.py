"""Who may call what on the REST API: roles, ordered, each including the ones below.

- reader: reads everything that is not a secret;
- operator: also changes desired state (charging profiles, plans, tariffs, circuits,
  id tags), runs jobs and sends commands to stations;
- admin: also manages stations, their passwords and security profiles, API keys, and
  reads the security records (REST audit, security events).
"""

from __future__ import annotations

from enum import StrEnum
from typing import cast


class Role(StrEnum):
    READER = "reader"
    OPERATOR = "operator"
    ADMIN = "admin"


_RANK = {Role.READER: 1, Role.OPERATOR: 2, Role.ADMIN: 3}


def permits(held: Role, required: Role) -> bool:
    """Whether a key with role ``held`` may call a route that needs ``required``."""
    return _RANK[held] >= _RANK[required]


# Body fields whose values are secrets wherever they appear (any nesting, any case): also
# OCPP 2.0.1 NetworkConnectionProfileType's APN password and SIM PIN (SetNetworkProfile).
SECRET_FIELDS = frozenset({"password", "new_password", "old_password", "authorizationkey",
                           "api_key", "token", "private_key", "apnpassword", "simpin"})
# OCPP 2.0.1 variables whose value is a secret (Part 2 Appendix, SecurityCtrlr
# BasicAuthPassword: WriteOnly), as (component, variable) names.
SECRET_VARIABLES = frozenset({("SecurityCtrlr", "BasicAuthPassword")})
# The fields that carry a configuration key's or a variable's value: a 1.6 KeyValue or
# ChangeConfiguration, a 2.0.1 SetVariableData, GetVariableResult or VariableAttribute.
_VALUE_FIELDS = frozenset({"value", "attributevalue"})
MASK = "***"


def names_secret(item: dict[object, object]) -> bool:
    """Whether a 1.6 configuration key or a 2.0.1 component-variable pair names a secret:
    AuthorizationKey (security profile 1's password) or a :data:`SECRET_VARIABLES`
    one."""
    if str(item.get("key", "")).lower() == "authorizationkey":
        return True
    component, variable = item.get("component"), item.get("variable")
    return (isinstance(component, dict) and isinstance(variable, dict)
            and (component.get("name"), variable.get("name")) in SECRET_VARIABLES)


def mask_secrets(value: object, *, values_secret: bool = False) -> object:
    """A copy of a JSON value with every secret field's value replaced by ``MASK``; also
    every value of a key or variable that :func:`names_secret` (``{"key":
    "AuthorizationKey", "value": ...}``, a SetVariableData of BasicAuthPassword, a
    NotifyReport item of it with its attributes' values), and a VPN's ``key`` (its
    shared secret, OCPP 2.0.1 VPNType)."""
    if isinstance(value, list):
        return [mask_secrets(v, values_secret=values_secret) for v in value]
    if not isinstance(value, dict):
        return value
    masked: dict[object, object] = {}
    secret = values_secret or names_secret(value)
    for k, v in value.items():
        lowered = str(k).lower()
        if lowered in SECRET_FIELDS or (secret and lowered in _VALUE_FIELDS):
            masked[k] = MASK
        elif lowered == "vpn" and isinstance(v, dict):
            inner = cast("dict[object, object]", mask_secrets(v))
            if "key" in inner:
                inner["key"] = MASK
            masked[k] = inner
        else:
            masked[k] = mask_secrets(v, values_secret=secret)
    return masked
