"""The nesting bound of the frame parser against the OCPP 1.6 schemas."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from app.ocpp import frames
from app.ocpp.errors import ErrorCode
from app.ocpp.v16.schemas import (
    CENTRAL_SYSTEM_ACTIONS,
    CHARGE_POINT_ACTIONS,
    SchemaRegistry,
)


def schema_depth(schema: dict[str, Any]) -> int:
    """Arrays and objects a message of this schema can nest, itself included."""
    kind = schema.get("type")
    if kind == "object":
        children = schema.get("properties", {}).values()
    elif kind == "array":
        children = [schema.get("items", {})]
    else:
        return 0
    return 1 + max((schema_depth(child) for child in children), default=0)


def test_every_ocpp_16_message_fits_with_room_to_spare() -> None:
    registry = SchemaRegistry()
    deepest = 0
    for action in {*CHARGE_POINT_ACTIONS, *CENTRAL_SYSTEM_ACTIONS}:
        for name in (action, f"{action}Response"):
            try:
                schema = registry.request_schema(name)
            except KeyError:
                continue
            deepest = max(deepest, schema_depth(schema))
    # +1 for the frame's own array; the bound leaves margin for vendor detail.
    assert deepest + 1 == 6
    assert deepest + 1 + 2 <= frames.MAX_DEPTH


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_the_deepest_real_message_parses() -> None:
    sample = {"timestamp": "2026-01-01T00:00:00Z",
              "sampledValue": [{"value": "1", "measurand": "Power.Active.Import"}] * 30}
    text = orjson.dumps([2, "m1", "MeterValues",
                         {"connectorId": 1, "meterValue": [sample] * 10}]).decode()
    assert isinstance(frames.parse(text), frames.Call)


@pytest.mark.parametrize(("text", "reply"), [
    ('[2, "d1", "DataTransfer", {"x": ' + nested(frames.MAX_DEPTH - 1) + "}]", True),
    ('[3, "d2", {"x": ' + nested(253) + "}]", False),
    ('[4, "d3", "GenericError", "", {"x": ' + nested(30) + "}]", False),
])
def test_frames_nested_too_deep_are_refused(text: str, reply: bool) -> None:
    with pytest.raises(frames.FrameError) as refused:
        frames.parse(text)
    assert refused.value.code == ErrorCode.FORMATION_VIOLATION
    assert refused.value.reply is reply
    assert refused.value.unique_id == orjson.loads(text)[1]


def test_a_frame_at_the_bound_parses() -> None:
    text = '[2, "d1", "DataTransfer", {"x": ' + nested(frames.MAX_DEPTH - 2) + "}]"
    assert isinstance(frames.parse(text), frames.Call)
