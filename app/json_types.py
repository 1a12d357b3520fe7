"""Names for JSON values as they cross the boundaries (OCPP payloads, REST bodies)."""

from typing import Any

# A JSON object as json.loads returns it: an OCPP CALL or CALLRESULT payload, a stored
# request or result. Its fields are checked by a schema, not by the type checker.
JsonObject = dict[str, Any]
