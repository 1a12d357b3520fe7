"""OCPP 1.6 dateTime values (§7: ISO 8601, UTC recommended) in and out."""

from __future__ import annotations

from datetime import UTC, datetime

# Times read lately, by their text: a frame's times are read by its schema check, its
# handler and its rows, and parsed once. Bounded: emptied when full.
_READ: dict[str, datetime] = {}
_READ_MAX = 4096


def parse_timestamp(value: str) -> datetime:
    """:func:`read_timestamp`, remembered for the next reader of the same text."""
    parsed = _READ.get(value)
    if parsed is None:
        parsed = read_timestamp(value)
        if len(_READ) >= _READ_MAX:
            _READ.clear()
        _READ[value] = parsed
    return parsed


def read_timestamp(value: str) -> datetime:
    """ISO 8601 to an aware UTC datetime; a value without offset is read as UTC.

    A time at the edge of the calendar whose offset moves it past year 1 or 9999
    (0001-01-01T00:00:00+01:00) is clamped to the edge, not an error: a station's
    absurd time is stored flagged (app/domain/station_time.py), not refused."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        edge = datetime.min if parsed.year == 1 else datetime.max
        return edge.replace(tzinfo=UTC)


def format_timestamp(value: datetime) -> str:
    """An aware datetime as OCPP JSON: UTC with 'Z', milliseconds only when non-zero
    (microseconds under a millisecond give ".000")."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    if value.year < 1000:  # strftime does not pad the year everywhere; isoformat would
        return _format_by_strftime(value)
    # isoformat: a third of strftime's time; "+00:00" becomes "Z".
    if value.microsecond:
        return value.isoformat(timespec="milliseconds")[:-6] + "Z"
    return value.isoformat(timespec="seconds")[:-6] + "Z"


def _format_by_strftime(value: datetime) -> str:
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond // 1000:03d}"
    return text + "Z"
