"""Who may call what on the REST API: roles, ordered, each including the ones below.

- reader: reads everything that is not a secret;
- operator: also changes desired state (charging profiles, plans, tariffs, circuits,
  id tags), runs jobs and sends commands to stations;
- admin: also manages stations, their passwords and security profiles, API keys, and
  reads the security records (REST audit, security events).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    READER = "reader"
    OPERATOR = "operator"
    ADMIN = "admin"


_RANK = {Role.READER: 1, Role.OPERATOR: 2, Role.ADMIN: 3}


def permits(held: Role, required: Role) -> bool:
    """Whether a key with role ``held`` may call a route that needs ``required``."""
    return _RANK[held] >= _RANK[required]


# Body fields whose values are secrets wherever they appear (any nesting, any case).
SECRET_FIELDS = frozenset({"password", "new_password", "old_password", "authorizationkey",
                           "api_key", "token", "private_key"})
MASK = "***"


def mask_secrets(value: object) -> object:
    """A copy of a JSON value with every secret field's value replaced by ``MASK``; also
    the value of a ChangeConfiguration of AuthorizationKey (``{"key": "AuthorizationKey",
    "value": ...}``)."""
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    if not isinstance(value, dict):
        return value
    masked: dict[object, object] = {}
    names_secret = str(value.get("key", "")).lower() == "authorizationkey"
    for k, v in value.items():
        lowered = str(k).lower()
        if lowered in SECRET_FIELDS or (names_secret and lowered == "value"):
            masked[k] = MASK
        else:
            masked[k] = mask_secrets(v)
    return masked
