"""The rule for charge point identities.

A station id is the last segment of the websocket URL (``ws://host/<id>``), the HTTP Basic
user name, a REST path segment, a log field and a file name in exports. So it is 1 to 48
characters of RFC 3986's unreserved set (``A-Z a-z 0-9 - . _ ~``): nothing to
percent-encode, no separator, no quote, no control character to split a log line. ``.``
and ``..`` are path navigation, and ``ocpp`` is the URL prefix (``/ocpp/<id>``), so none
of the three can name a station.
"""

from __future__ import annotations

import re

MAX_LENGTH = 48
RULE = (f"must be 1 to {MAX_LENGTH} characters from A-Z a-z 0-9 - . _ ~ "
        "(URL-unreserved), and not '.', '..' or 'ocpp'")
_ALLOWED = re.compile(rf"[A-Za-z0-9._~-]{{1,{MAX_LENGTH}}}")
_RESERVED = frozenset({".", "..", "ocpp"})


def is_valid_station_id(station_id: str) -> bool:
    return _ALLOWED.fullmatch(station_id) is not None and station_id not in _RESERVED
