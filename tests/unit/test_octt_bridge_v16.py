"""The tzi-OCTT 1.6J trigger calls as chargeplan's REST requests (``chargeplan octt-bridge``)."""

from __future__ import annotations

from typing import Any

import pytest

from app.cli.octt_bridge_v16 import answer, translate
from app.cli.octt_forward import Forward, JsonObject, Unsupported

SID = "CP16_SP1"


def test_each_kebab_case_action_is_its_command_with_the_payload_as_it_is() -> None:
    body = {"idTag": "TAG-001", "connectorId": 1}
    assert translate(f"/api/octt/1.6/{SID}/remote-start-transaction", body) == Forward(
        f"/stations/{SID}/commands/RemoteStartTransaction", body)
    for trigger, action in (("get-installed-certificate-ids", "GetInstalledCertificateIds"),
                            ("extended-trigger-message", "ExtendedTriggerMessage"),
                            ("get-local-list-version", "GetLocalListVersion"),
                            ("clear-cache", "ClearCache")):
        assert translate(f"/api/octt/1.6/{SID}/{trigger}", {}) == Forward(
            f"/stations/{SID}/commands/{action}", {})


def test_an_action_the_central_system_does_not_send_is_unsupported() -> None:
    with pytest.raises(Unsupported, match="boot-notification"):
        translate(f"/api/octt/1.6/{SID}/boot-notification", {})
    with pytest.raises(Unsupported, match="no station and action"):
        translate(f"/api/octt/1.6/{SID}", {})


class Rest:
    """Answers each request with the next scripted status and body; records what it was
    sent."""

    def __init__(self, *answers: tuple[int, Any]) -> None:
        self.answers = list(answers)
        self.sent: list[tuple[str, str, JsonObject | None]] = []

    def __call__(self, method: str, path: str, body: JsonObject | None) -> tuple[int, Any]:
        self.sent.append((method, path, body))
        return self.answers.pop(0)


def test_create_token_adds_a_new_tag() -> None:
    rest = Rest((404, {}), (201, {"id_tag": "T"}))
    assert answer("/api/octt/create-token", {"token_id": "T", "status": "Blocked"},
                  rest) == (201, {"id_tag": "T"})
    assert rest.sent == [("GET", "/id_tags/T", None),
                         ("POST", "/id_tags", {"id_tag": "T", "status": "Blocked"})]


def test_create_token_changes_a_known_tags_status_and_keeps_its_expiry_and_group() -> None:
    known = {"id_tag": "MASTERC47", "status": "Accepted", "parent_id_tag": "GROUP001",
             "expiry_date": "2027-01-01T00:00:00Z"}
    rest = Rest((200, known), (200, {"status": "Blocked"}))
    assert answer("/api/octt/create-token", {"token_id": "MASTERC47", "status": "Blocked"},
                  rest) == (200, {"status": "Blocked"})
    assert rest.sent[1] == ("PUT", "/id_tags/MASTERC47", {
        "status": "Blocked", "expiry_date": "2027-01-01T00:00:00Z",
        "parent_id_tag": "GROUP001"})


def test_chargeplans_answer_is_passed_on_and_a_bad_call_is_answered_without_rest() -> None:
    rest = Rest((409, {"status": "error"}))
    assert answer(f"/api/octt/1.6/{SID}/reset", {"type": "Hard"}, rest) == (
        409, {"status": "error"})
    assert answer(f"/api/octt/1.6/{SID}/heartbeat", {}, rest) == (
        501, {"error": "trigger 'heartbeat' is not a central-system action of OCPP 1.6"})
    assert answer("/api/octt/create-token", {"status": "Blocked"}, rest) == (
        400, {"error": "missing field 'token_id'"})
    assert rest.sent == [("POST", f"/stations/{SID}/commands/Reset", {"type": "Hard"})]


def test_the_201_paths_are_not_the_16_bridges() -> None:
    assert answer(f"/api/octt/2.0.1/{SID}/call/Reset", {}, Rest()) is None
    assert answer("/api/octt/set-basic-auth-password", {}, Rest()) is None
