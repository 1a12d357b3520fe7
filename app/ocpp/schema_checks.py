"""What every version's schema module shares: the dateTime format check, loading a schema
of the ``ocpp`` package from the folder its version module gives, and the CALLERROR a
schema failure becomes (each version passes its own table of error codes by rule).

The neutral core does not import the ``ocpp`` package (the import contracts say so): a
version's module hands over the folder of its schemas.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from importlib.resources.abc import Traversable
from typing import Any

import fastjsonschema

from app.ocpp.errors import ErrorCode, OcppError
from app.timefmt import parse_timestamp


def iso_datetime(value: str) -> bool:
    """dateTime, ISO 8601 (OCPP 1.6 §7; 2.0.1 likewise). UTC with an offset is
    RECOMMENDED in 1.6, not required: chargers that send local time without an offset are
    read as UTC (the ``ocpp`` package does not check the format at all; RFC 3339's strict
    form would refuse them). Read as the handlers read it, so whatever passes here parses
    there."""
    if len(value) < 16 or value[10] not in "Tt ":
        return False
    try:
        parse_timestamp(value)
    except ValueError:
        return False
    return True


FORMATS: dict[str, Callable[[str], bool]] = {"date-time": iso_datetime}


Validator = Callable[[Any], Any]


class CompiledOnFirstUse(dict[str, Validator]):
    """Validators by action, each compiled the first time a frame of its action is
    checked: compiling every schema of a version takes about a second of CPU, which each
    process paid at start-up for actions most never see. A known action's validator is
    then a plain dictionary lookup; an unknown one is a KeyError, as in a full table."""

    def __init__(self, actions: Iterable[str], compile: Callable[[str], Validator]) -> None:
        super().__init__()
        self._actions = frozenset(actions)
        self._compile = compile

    def __missing__(self, action: str) -> Validator:
        if action not in self._actions:
            raise KeyError(action)
        validator = self[action] = self._compile(action)
        return validator


def load_schema(folder: Traversable, name: str) -> dict[str, Any] | None:
    """The schema ``name`` of ``folder`` without its identifiers (fastjsonschema would try
    to resolve them), or None when there is none."""
    path = folder.joinpath(f"{name}.json")
    if not path.is_file():
        return None
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8-sig"))
    for key in ("$schema", "$id", "id"):
        schema.pop(key, None)
    return schema


def missing_schemas(folder: Traversable, names: Iterable[str]) -> list[str]:
    """The schemas of ``names`` that ``folder`` lacks: looked for at start-up, so that a
    missing one stops the server rather than the first frame of its action."""
    return sorted(name for name in names if not folder.joinpath(f"{name}.json").is_file())


def field_path(exc: fastjsonschema.JsonSchemaValueException) -> str:
    """The failing field as the client spells it (``chargingProfile.chargingSchedule``)."""
    name = exc.name or "data"
    return name[5:] if name.startswith("data.") else ("payload" if name == "data" else name)


def schema_error(exc: fastjsonschema.JsonSchemaValueException, what: str,
                 codes: Mapping[str, ErrorCode], default: ErrorCode) -> OcppError:
    """The CALLERROR for a payload ``what`` that broke its schema: the code of the rule
    it broke (``codes``, else ``default``), naming the field and the rule."""
    code = codes.get(exc.rule or "", default)
    path = field_path(exc)
    message = exc.message.replace(exc.name or "data", path, 1) if exc.message else "invalid"
    return OcppError(code, f"{what}: {message}", {"field": path, "rule": exc.rule})
