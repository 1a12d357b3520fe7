"""Everything wrong with a request body at once, in the client's own field names.

msgspec stops at the first problem and says "Input data was truncated" or "'data'" for a
body that is not JSON or not there. When a request fails, its raw body is checked again
here: not there, not JSON (with line and column), or, against the JSON Schema of the
handler's body type, every field at fault (``key`` is the path the client wrote:
``connector_id``, ``profile.chargingSchedule``, ``profiles[0].connector_id``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from typing import Any

import msgspec
from jsonschema import Draft4Validator, Draft202012Validator
from jsonschema.exceptions import ValidationError

from app.json_types import JsonObject

Problem = JsonObject

_KINDS = {dict: "an object", list: "an array", str: "a string", bool: "true or false",
          int: "an integer", float: "a number", type(None): "null"}
_EXPECTED = {"object": "an object", "array": "an array", "string": "a string",
             "integer": "an integer", "number": "a number", "boolean": "true or false",
             "null": "null"}


def body_problems(raw: bytes, body_type: Any | None) -> list[Problem]:
    """What is wrong with ``raw`` as a JSON body of ``body_type`` (empty when nothing the
    schema can see is: the caller then keeps the decoder's own message)."""
    if not raw.strip():
        return [_problem("body", "is empty: send a JSON object (Content-Type: "
                                 "application/json)")]
    try:
        value = json.loads(raw)
    except UnicodeDecodeError:
        return [_problem("body", "is not UTF-8 text")]
    except json.JSONDecodeError as exc:
        return [_problem("body", f"is not valid JSON ({exc.msg.lower()}, line {exc.lineno} "
                                 f"column {exc.colno})")]
    if body_type is None:
        return []
    try:
        validator = _validator(body_type)
    except (TypeError, ValueError):  # a body type JSON Schema cannot describe
        return []
    found = sorted(validator.iter_errors(value), key=lambda e: [str(p) for p in e.path])
    return _once(problem for error in found for problem in _explain(error))


def _once(problems: Iterable[Problem]) -> list[Problem]:
    """Each problem once: jsonschema reports a missing property in an error of its own,
    each of which carries the whole ``required`` list."""
    seen: dict[tuple[str, str], Problem] = {}
    for problem in problems:
        seen.setdefault((problem["key"], problem["message"]), problem)
    return list(seen.values())


@functools.cache
def _validator(body_type: Any) -> Draft202012Validator:
    return Draft202012Validator(msgspec.json.schema(body_type))


def schema_problems(schema: JsonObject, value: Any) -> list[tuple[str, str]]:
    """Every (field, rule) by which ``value`` breaks a JSON Schema (draft 4, as the
    official OCPP 1.6 schemas): for an OCPP payload sent by an operator, whose fields are
    camelCase as the client wrote them."""
    found = sorted(Draft4Validator(schema).iter_errors(value),
                   key=lambda e: [str(p) for p in e.path])
    return [(p["key"], p["message"])
            for p in _once(p for error in found for p in _explain(error))]


def _problem(key: str, message: str) -> Problem:
    return {"key": key, "message": message, "source": "body"}


def _path(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def _explain(error: ValidationError) -> list[Problem]:
    where = _path(error.absolute_path)
    rule, value, instance = error.validator, error.validator_value, error.instance

    def at(name: str) -> str:
        return f"{where}.{name}" if where else name

    if rule == "required" and isinstance(instance, dict):
        return [_problem(at(name), "is required") for name in value if name not in instance]
    if rule == "additionalProperties" and isinstance(instance, dict):
        known = set(error.schema.get("properties", {}))
        return [_problem(at(name), "is not a known field; known: " + ", ".join(sorted(known)))
                for name in instance if name not in known]
    key = where or "body"
    if rule == "type":
        wanted = value if isinstance(value, list) else [value]
        expected = " or ".join(_EXPECTED.get(str(w), str(w)) for w in wanted)
        return [_problem(key, f"expected {expected}, got {_KINDS.get(type(instance), 'a value')}")]
    if rule in ("anyOf", "oneOf") and isinstance(value, list):
        kinds = [_EXPECTED.get(str(s.get("type")), "an object") for s in value
                 if isinstance(s, dict)]
        return [_problem(key, "expected " + " or ".join(dict.fromkeys(kinds))
                         + f", got {_KINDS.get(type(instance), 'a value')}")]
    messages = {
        "minimum": f"must be >= {value}", "maximum": f"must be <= {value}",
        "exclusiveMinimum": f"must be > {value}", "exclusiveMaximum": f"must be < {value}",
        "minLength": f"must have at least {value} character(s)",
        "maxLength": f"must have at most {value} characters",
        "minItems": f"must have at least {value} item(s)",
        "maxItems": f"must have at most {value} items",
        "pattern": f"must match {value}",
        "enum": "must be one of " + ", ".join(json.dumps(v) for v in value)
        if isinstance(value, list) else "",
        "const": f"must be {json.dumps(value)}",
    }
    return [_problem(key, messages.get(str(rule)) or error.message)]
