"""Real sandbox responses validated against Twilio's own OpenAPI description (tests/data/twilio-oai).

openapi-core checks each response against the operation's schema with every documented property
required; a second check refuses properties the schema does not document. The spec documents no
error responses, so error bodies are checked against the shape Twilio documents for them.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import requests
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_schema_validator import OAS30Validator

from book.sandbox import ManualClock, SandboxServer

from .conftest import RECIPIENT, SENDER

SPEC_PATH = Path(__file__).parents[1] / "data" / "twilio-oai" / "twilio_api_v2010.json"
TWILIO = "https://api.twilio.com"

TWILIO_ERROR = {
    "type": "object",
    "required": ["code", "message", "more_info", "status"],
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string", "minLength": 1},
        "more_info": {"type": "string", "pattern": r"^https://www\.twilio\.com/docs/errors/\d+$"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
    },
    "additionalProperties": False,
}


@cache
def spec_document() -> dict[str, Any]:
    # json, not openapi-core's YAML loader: the spec has escaped surrogate pairs YAML rejects.
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


@cache
def openapi() -> OpenAPI:
    config = Config(spec_validator_cls=None, response_properties_default_policy="required")
    return OpenAPI.from_dict(spec_document(), config=config)


def schema_properties(name: str) -> set[str]:
    return set(spec_document()["components"]["schemas"][name]["properties"])


class Caller:
    """Sends a request to the sandbox and validates the response as if it came from api.twilio.com."""

    def __init__(self, sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self.auth = (sandbox.account_sid, sandbox.auth_token)
        self.base = f"/2010-04-01/Accounts/{sandbox.account_sid}"

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, self.sandbox.url + path, auth=self.auth, timeout=10, **kwargs)

    def valid(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        as_twilio = requests.Request(method, TWILIO + path, auth=self.auth, **kwargs)
        openapi().validate_request(RequestsOpenAPIRequest(as_twilio))
        openapi().validate_response(RequestsOpenAPIRequest(as_twilio), RequestsOpenAPIResponse(response))
        return response.json()


@pytest.fixture
def caller(sandbox: SandboxServer) -> Caller:
    return Caller(sandbox)


def test_fetch_account_matches_the_spec(caller: Caller) -> None:
    account = caller.valid("GET", f"{caller.base}.json")
    assert set(account) == schema_properties("api.v2010.account")


def test_create_fetch_and_list_messages_match_the_spec(caller: Caller, clock: ManualClock) -> None:
    created = caller.valid("POST", f"{caller.base}/Messages.json", data={"To": RECIPIENT, "From": SENDER, "Body": "hi"})
    clock.advance(5)  # delivered: date_sent and price are filled in
    fetched = caller.valid("GET", f"{caller.base}/Messages/{created['sid']}.json")
    listed = caller.valid("GET", f"{caller.base}/Messages.json", params={"PageSize": "1", "DateSent>": "2022-03-01T00:00:00Z"})

    message_fields = schema_properties("api.v2010.account.message")
    assert set(created) == set(fetched) == message_fields
    assert fetched["status"] == "delivered" and fetched["price"] is not None
    assert listed["messages"][0]["sid"] == created["sid"]
    list_schema = spec_document()["paths"]["/2010-04-01/Accounts/{AccountSid}/Messages.json"]["get"]["responses"]["200"]
    assert set(listed) == set(list_schema["content"]["application/json"]["schema"]["properties"])


def test_a_page_with_a_next_page_matches_the_spec(caller: Caller, sandbox: SandboxServer) -> None:
    sandbox.store.insert_messages([{"to": RECIPIENT, "from_": SENDER, "status": "delivered"}] * 3)
    first = caller.valid("GET", f"{caller.base}/Messages.json", params={"PageSize": "2"})
    assert first["next_page_uri"] is not None
    path, _, query = first["next_page_uri"].partition("?")
    second = caller.valid("GET", path, params=dict(pair.split("=") for pair in query.split("&")))
    assert second["next_page_uri"] is None and len(second["messages"]) == 1


def test_the_validator_rejects_a_response_that_breaks_the_spec(caller: Caller) -> None:
    """Guard against a validator that passes everything: a bad SID and a missing field must fail."""
    path = f"{caller.base}/Messages.json"
    response = caller.call("POST", path, data={"To": RECIPIENT, "From": SENDER, "Body": "hi"})
    broken = response.json() | {"sid": "XX123"}
    del broken["num_segments"]
    response._content = json.dumps(broken).encode()
    with pytest.raises(Exception, match="not valid|Invalid|InvalidData"):
        openapi().validate_response(
            RequestsOpenAPIRequest(requests.Request("POST", TWILIO + path, data={"To": RECIPIENT})),
            RequestsOpenAPIResponse(response),
        )


@pytest.mark.parametrize(
    ("method", "suffix", "data", "status"),
    [
        ("GET", "/Messages/SM00000000000000000000000000000000.json", None, 404),
        ("POST", "/Messages.json", {"To": "+15005550009", "From": SENDER, "Body": "hi"}, 400),
        ("POST", "/Messages.json", {"From": SENDER, "Body": "hi"}, 400),
    ],
)
def test_error_bodies_have_twilios_shape(
    caller: Caller, method: str, suffix: str, data: dict[str, str] | None, status: int
) -> None:
    response = caller.call(method, caller.base + suffix, data=data)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    OAS30Validator(TWILIO_ERROR).validate(body)
    assert body["status"] == status
    assert body["more_info"].endswith(str(body["code"]))


def test_the_vendored_spec_ships_with_its_licence() -> None:
    folder = SPEC_PATH.parent
    assert (folder / "LICENSE").read_text().startswith("MIT License")
    assert json.loads((folder / "twilio_monitor_v1.json").read_text())["openapi"].startswith("3.0")
