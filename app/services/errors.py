"""Errors services raise for the adapters to map (REST: 404/400/409)."""

from __future__ import annotations

from collections.abc import Sequence


class NotFound(LookupError):
    def __init__(self, what: str, key: object) -> None:
        super().__init__(f"{what} {key!r} not found")
        self.what = what
        self.key = key


class Invalid(ValueError):
    """Bad input: ``field`` names the field, ``rule`` says what it must be; ``problems``
    lists every (field, rule) at fault, the first one included."""

    def __init__(self, field: str, rule: str,
                 more: Sequence[tuple[str, str]] = ()) -> None:
        self.problems = [(field, rule), *more]
        super().__init__("; ".join(f"{f}: {r}" for f, r in self.problems))
        self.field = field
        self.rule = rule

    @classmethod
    def all(cls, problems: Sequence[tuple[str, str]]) -> Invalid:
        """One error for several fields at fault (at least one)."""
        (field, rule), *more = problems
        return cls(field, rule, more)


class Conflict(ValueError):
    pass
