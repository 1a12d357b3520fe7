"""The 2.0.1 meanings a 1.6-shaped command body may carry (v201_meanings.py)."""

from __future__ import annotations

from app.services.fleet.v201_meanings import limits_201, meanings


def test_a_16_body_uses_no_201_meaning_and_is_checked_as_it_is() -> None:
    for action, body in (("Reset", {"type": "Hard"}),
                         ("TriggerMessage", {"requestedMessage": "MeterValues",
                                             "connectorId": 1}),
                         ("ChangeAvailability", {"connectorId": 0, "type": "Operative"}),
                         ("RemoteStartTransaction", {"idTag": "T"})):
        found = meanings(action, body)
        assert (found.checked, found.used, found.problems) == (body, [], [])


def test_201_values_stand_in_as_16_ones_for_the_16_check() -> None:
    reset = meanings("Reset", {"type": "OnIdle", "evseId": 2})
    assert reset.checked == {"type": "Hard"}
    assert [f for f, _ in reset.used] == ["type", "evseId"] and reset.problems == []
    trigger = meanings("TriggerMessage", {"requestedMessage": "TransactionEvent",
                                          "evseId": 1, "connectorId": 2})
    assert trigger.checked == {"requestedMessage": "Heartbeat", "connectorId": 2}
    assert [f for f, _ in trigger.used] == ["evseId", "requestedMessage"]
    start = meanings("RemoteStartTransaction", {"idTag": "T", "idTokenType": "eMAID"})
    assert (start.checked, [f for f, _ in start.used]) == ({"idTag": "T"}, ["idTokenType"])
    # A 2.0.1 idToken has up to 36 characters, a 1.6 idTag 20.
    uuid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    long = meanings("RemoteStartTransaction", {"idTag": uuid, "connectorId": 1})
    assert long.checked == {"idTag": uuid[:20], "connectorId": 1}
    assert [f for f, _ in long.used] == ["idTag"] and long.problems == []
    reserve = meanings("ReserveNow", {"idTag": "T", "parentIdTag": uuid})
    assert [f for f, _ in reserve.used] == ["parentIdTag"]


def test_201_meanings_given_wrongly_are_problems_naming_the_field() -> None:
    assert [f for f, _ in meanings("RemoteStartTransaction",
                                   {"idTag": "T", "idTokenType": "Badge"}).problems] == [
        "idTokenType"]
    assert [f for f, _ in meanings("Reset", {"type": "OnIdle", "evseId": 0}).problems] == [
        "evseId"]
    assert [f for f, _ in meanings("ChangeAvailability", {
        "evseId": True, "connectorId": -1, "type": "Operative"}).problems] == [
        "evseId", "connectorId"]
    assert [f for f, _ in meanings("RemoteStartTransaction",
                                   {"idTag": "T" * 37}).problems] == ["idTag"]
    # A field of another action is not this action's meaning: the 1.6 schema judges it.
    assert meanings("ClearCache", {"evseId": 1}).checked == {"evseId": 1}


def test_certificate_commands_take_the_201_types_and_a_16_station_is_told_so() -> None:
    # The 1.6 shape is the 1.6 shape for both versions.
    for action, body in (
            ("InstallCertificate", {"certificateType": "CentralSystemRootCertificate",
                                    "certificate": "PEM"}),
            ("GetInstalledCertificateIds", {"certificateType": "ManufacturerRootCertificate"}),
            ("CertificateSigned", {"certificateChain": "PEM"})):
        found = meanings(action, body)
        assert (found.checked, found.used, found.problems) == (body, [], [])
    install = meanings("InstallCertificate", {"certificateType": "V2GRootCertificate",
                                              "certificate": "PEM"})
    assert install.checked == {"certificateType": "CentralSystemRootCertificate",
                               "certificate": "PEM"}
    assert [f for f, _ in install.used] == ["certificateType"]
    for asked in (["CSMSRootCertificate", "V2GCertificateChain"], "MORootCertificate", None):
        body = {} if asked is None else {"certificateType": asked}
        ids = meanings("GetInstalledCertificateIds", body)
        assert ids.checked == {"certificateType": "CentralSystemRootCertificate"}
        assert [f for f, _ in ids.used] == ["certificateType"] and ids.problems == []
    signed = meanings("CertificateSigned", {"certificateChain": "PEM",
                                            "certificateType": "V2GCertificate"})
    assert (signed.checked, [f for f, _ in signed.used]) == (
        {"certificateChain": "PEM"}, ["certificateType"])


def test_certificate_types_given_wrongly_are_problems() -> None:
    assert [f for f, _ in meanings("GetInstalledCertificateIds", {
        "certificateType": ["CSMSRootCertificate", "Nope"]}).problems] == ["certificateType"]
    assert [f for f, _ in meanings("GetInstalledCertificateIds", {
        "certificateType": []}).problems] == ["certificateType"]
    assert [f for f, _ in meanings("CertificateSigned", {
        "certificateChain": "PEM", "certificateType": "Both"}).problems] == ["certificateType"]
    # Not a 2.0.1 value either: the 1.6 schema names what is wrong.
    assert meanings("InstallCertificate", {"certificateType": "Nope", "certificate": "x"}
                    ).checked["certificateType"] == "Nope"


def test_a_local_lists_entries_carry_their_201_meanings_by_index() -> None:
    uuid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    found = meanings("SendLocalList", {"listVersion": 1, "updateType": "Full",
                                       "localAuthorizationList": [
                                           {"idTag": "A", "idTagInfo": {"status": "Accepted"}},
                                           {"idTag": uuid, "idTokenType": "eMAID",
                                            "idTagInfo": {"status": "NoCredit"}},
                                           {"idTag": uuid + "X", "idTokenType": "Badge"}]})
    assert [f for f, _ in found.used] == [
        "localAuthorizationList[1].idTokenType", "localAuthorizationList[1].idTagInfo.status",
        "localAuthorizationList[1].idTag", "localAuthorizationList[2].idTokenType",
        "localAuthorizationList[2].idTag"]
    assert [f for f, _ in found.problems] == [
        "localAuthorizationList[2].idTokenType", "localAuthorizationList[2].idTag"]
    # What the 1.6 schema checks: 1.6 values in their place, the first entry as it was.
    assert found.checked["localAuthorizationList"] == [
        {"idTag": "A", "idTagInfo": {"status": "Accepted"}},
        {"idTag": uuid[:20], "idTagInfo": {"status": "Invalid"}},
        {"idTag": (uuid + "X")[:20]}]


def test_a_reservation_may_name_a_connector_type_and_token_types() -> None:
    found = meanings("ReserveNow", {"idTag": "T", "parentIdTag": "G", "idTokenType": "Local",
                                    "groupIdTokenType": "Central", "connectorType": "cCCS2"})
    assert found.checked == {"idTag": "T", "parentIdTag": "G"}
    assert sorted(f for f, _ in found.used) == ["connectorType", "groupIdTokenType",
                                                "idTokenType"]
    wrong = meanings("ReserveNow", {"idTag": "T", "connectorType": "Type2"})
    assert [f for f, _ in wrong.problems] == ["connectorType"]


def test_a_location_a_201_station_cannot_hold_is_a_problem_naming_it() -> None:
    long = "https://fw.example.com/" + "a" * 490  # 513 characters
    assert [f for f, _ in limits_201("UpdateFirmware", {"location": long})] == ["location"]
    assert [f for f, _ in limits_201("GetDiagnostics", {"location": long})] == ["location"]
    assert limits_201("UpdateFirmware", {"location": long[:512]}) == []
    # The security extension's forms hold 512 characters already (their 1.6 schema).
    assert limits_201("GetLog", {"location": long}) == []
