"""Every REST operation, fed requests generated from the OpenAPI document, answers without
a server error and as the document says.

The server runs on its own event loop in a background thread (``shared_server_url``): the
generated requests are sent synchronously, and a server sharing the test's loop would
never get to answer them.
No charger is connected, so operations that talk to one take the offline path.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.main import create_app
from tests.conftest import HTTP_TLS, make_settings

STATION_ID = "PY-SIM-0001"
# Kept apart from the conformance checks: Hypothesis stops an operation at its first
# failure, and an undocumented answer must not hide a server error behind it.
SERVER_ERRORS = [not_a_server_error]
CONFORMANCE = [status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ_SETTINGS = settings(
    deadline=None, phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                           # The station is registered once per operation, on purpose.
                           HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def base_url(shared_server_url: str) -> str:
    return shared_server_url


@pytest.fixture
def registered_station(base_url: str) -> str:
    """PY-SIM-0001 is registered before every operation, so a generated DELETE of it
    does not hide it from the operations that follow."""
    # The suite's TLS context: httpx.post would load the CA bundle into a new one each
    # time, 20 ms of CPU for each of the 240 tests.
    response = httpx.post(f"{base_url}/stations", json={"station_id": STATION_ID},
                          verify=HTTP_TLS)
    assert response.status_code in (201, 409), response.text
    return STATION_ID


def _load_schema() -> schemathesis.BaseSchema:
    """The document the server serves at /docs/openapi.json, built from the same app
    factory; loading it needs no running server, so pytest can collect one test per
    operation."""
    app = create_app(make_settings("sqlite+aiosqlite:///:memory:"))
    config = schemathesis.Config.from_dict({
        "generation": {"max-examples": 15},
        "phases": {"coverage": {"enabled": False}},
    })
    # GET /events streams until the client leaves: tests/e2e/test_events.py reads it.
    return schemathesis.openapi.from_dict(app.openapi_schema.to_schema(), config=config
                                          ).exclude(path="/events")


schema = _load_schema()


@schema.hook
def flatmap_path_parameters(
    context: schemathesis.HookContext, path_parameters: dict[str, Any] | None
) -> st.SearchStrategy[dict[str, Any] | None]:
    # Random identities only ever reach the 404 branch; half the cases use a real one.
    if not path_parameters or "station_id" not in path_parameters:
        return st.just(path_parameters)
    return st.sampled_from([path_parameters, {**path_parameters, "station_id": STATION_ID}])


@schema.parametrize()
@FUZZ_SETTINGS
def test_no_generated_request_gets_a_server_error(
    case: schemathesis.Case, base_url: str, registered_station: str
) -> None:
    case.call_and_validate(base_url=base_url, checks=SERVER_ERRORS)


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_answer_is_documented(
    case: schemathesis.Case, base_url: str, registered_station: str
) -> None:
    case.call_and_validate(base_url=base_url, checks=CONFORMANCE)
