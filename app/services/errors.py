"""Errors services raise for the adapters to map (REST: 404/400/409)."""

from __future__ import annotations


class NotFound(LookupError):
    def __init__(self, what: str, key: object) -> None:
        super().__init__(f"{what} {key!r} not found")
        self.what = what
        self.key = key


class Invalid(ValueError):
    """Bad input: ``field`` names the field, ``rule`` says what it must be."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class Conflict(ValueError):
    pass
