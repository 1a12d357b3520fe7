"""Station passwords (OCPP security profile 1 AuthorizationKey): stored hashed, never logged.

The OCA security whitepaper requires a random key of 16 to 20 bytes. For a secret with
that much entropy a salted PBKDF2 with a modest work factor is enough, and it keeps the
check cheap when 10,000 chargers reconnect at once after an outage.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

MIN_LENGTH = 16
MAX_LENGTH = 20
_ITERATIONS = 2000


def check_password_rules(password: str) -> str | None:
    """The broken rule as a sentence, or None when the password is acceptable."""
    size = len(password.encode("utf-8"))
    if not MIN_LENGTH <= size <= MAX_LENGTH:
        return (
            f"must be {MIN_LENGTH} to {MAX_LENGTH} bytes (OCPP 1.6 security whitepaper, "
            f"security profile 1), got {size}"
        )
    return None


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, _ITERATIONS)
    salt_b64, digest_b64 = base64.b64encode(salt).decode(), base64.b64encode(digest).decode()
    return f"pbkdf2_sha256${_ITERATIONS}${salt_b64}${digest_b64}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, iterations, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    if scheme != "pbkdf2_sha256":
        return False
    digest = hashlib.pbkdf2_hmac(
        "sha256", password.encode("utf-8"), base64.b64decode(salt_b64), int(iterations)
    )
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))
