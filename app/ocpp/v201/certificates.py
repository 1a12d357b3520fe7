"""The security extension's certificate calls (OCPP 1.6 security whitepaper) as OCPP
2.0.1 CALLs, and their answers back.

The meaning is the same in both versions; the names of the certificate types are not:

========================================  ===============================================
1.6 (the services' payloads)              2.0.1
========================================  ===============================================
CertificateSigned ``certificateChain``    the same, with the ``certificateType`` the
                                          station's SignCertificate named (A02.FR.14:
                                          echoed; absent: the combined certificate)
InstallCertificate ``certificateType``    CentralSystemRootCertificate is
                                          CSMSRootCertificate (M05); the 2.0.1 types
                                          (V2GRootCertificate, MORootCertificate) as they are
GetInstalledCertificateIds                a list of GetCertificateIdUseEnumType (M03); the
``certificateType``                       1.6 one as a list of one, a 2.0.1 list as it is,
                                          none: every type
its answer ``certificateHashData``        each ``certificateHashDataChain`` entry's
                                          ``certificateHashData``; the chain (with each
                                          certificate's type and children) kept beside it
DeleteCertificate ``certificateHashData`` the same (M04)
ExtendedTriggerMessage                    TriggerMessage (F06): SignChargePointCertificate
                                          is SignChargingStationCertificate
========================================  ===============================================

A body for a 2.0.1 station may name the 2.0.1 types directly
(``app/services/fleet/v201_meanings.py``). Pure: no I/O.
"""

from __future__ import annotations

from app.json_types import JsonObject

# 1.6 CertificateUseEnumType as 2.0.1 InstallCertificateUseEnumType / the
# GetCertificateIdUseEnumType of the same certificates; the 2.0.1 values as they are.
_TYPE = {"CentralSystemRootCertificate": "CSMSRootCertificate"}
# 1.6 security extension MessageTriggerEnumType values 2.0.1 spells otherwise.
_TRIGGER = {"SignChargePointCertificate": "SignChargingStationCertificate"}


def certificate_type(value: str) -> str:
    return _TYPE.get(value, value)


def extended_trigger(requested: str) -> str:
    return _TRIGGER.get(requested, requested)


def signed(payload: JsonObject) -> JsonObject:
    """A02/A03: the chain, and the type the station asked for when it named one."""
    out: JsonObject = {"certificateChain": payload["certificateChain"]}
    if payload.get("certificateType") is not None:
        out["certificateType"] = payload["certificateType"]
    return out


def install(payload: JsonObject) -> JsonObject:
    """M05: a root certificate of the named type."""
    return {"certificateType": certificate_type(payload["certificateType"]),
            "certificate": payload["certificate"]}


def installed_ids(payload: JsonObject) -> JsonObject:
    """M03: the types asked for, as a list; none asked for is every type."""
    asked = payload.get("certificateType")
    if asked is None:
        return {}
    if isinstance(asked, str):
        asked = [asked]
    return {"certificateType": [certificate_type(value) for value in asked]}


def installed_ids_answer(answer: JsonObject) -> JsonObject:
    """The 1.6 answer (``status``, ``certificateHashData``) with the 2.0.1 chain beside it:
    which type each certificate is, and the sub-CA certificates under it."""
    out: JsonObject = {"status": answer["status"]}
    chain = answer.get("certificateHashDataChain")
    if chain:
        out["certificateHashData"] = [entry["certificateHashData"] for entry in chain]
        out["certificateHashDataChain"] = chain
    if "statusInfo" in answer:
        out["statusInfo"] = answer["statusInfo"]
    return out


def delete(payload: JsonObject) -> JsonObject:
    """M04: the certificate by its hash data, the same fields in both versions."""
    return {"certificateHashData": payload["certificateHashData"]}
