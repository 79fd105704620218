"""Real sandbox responses validated against Twilio's own OpenAPI description (tests/data/twilio-oai).

openapi-core checks each response against the operation's schema with every documented property
required; a second check refuses properties the schema does not document. The spec documents no
error responses, so error bodies are checked against the shape Twilio documents for them.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
import requests
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_schema_validator import OAS30Validator

from sandbox import ManualClock, SandboxServer
from tests import ROOT
from tests.conftest import RECIPIENT, SENDER

SPEC_PATH = ROOT / "tests" / "data" / "twilio-oai" / "twilio_api_v2010.json"
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


# -- recordings, transcriptions (v2010) and alerts (Monitor v1) ------------------------------------

MONITOR_SPEC_PATH = SPEC_PATH.parent / "twilio_monitor_v1.json"
MONITOR = "https://monitor.twilio.com"


@cache
def monitor_spec_document() -> dict[str, Any]:
    return json.loads(MONITOR_SPEC_PATH.read_text(encoding="utf-8"))


@cache
def monitor_openapi() -> OpenAPI:
    config = Config(spec_validator_cls=None, response_properties_default_policy="required")
    return OpenAPI.from_dict(monitor_spec_document(), config=config)


def valid_monitor(sandbox: SandboxServer, path: str, **params: str) -> Any:
    auth = (sandbox.account_sid, sandbox.auth_token)
    response = requests.get(sandbox.url + path, params=params, auth=auth, timeout=10)
    as_twilio = requests.Request("GET", MONITOR + path, params=params, auth=auth)
    monitor_openapi().validate_request(RequestsOpenAPIRequest(as_twilio))
    monitor_openapi().validate_response(RequestsOpenAPIRequest(as_twilio), RequestsOpenAPIResponse(response))
    return response.json()


def test_recordings_and_transcriptions_match_the_spec(caller: Caller, sandbox: SandboxServer) -> None:
    from sandbox.recordings import insert_recordings, insert_transcriptions

    first, _ = insert_recordings(sandbox.store, [{"call_sid": "CA" + "1" * 32}, {"conference_sid": "CF" + "2" * 32}])
    insert_recordings(sandbox.store, [{"status": "absent", "error_code": 13617}])
    (transcription,) = insert_transcriptions(sandbox.store, [{"recording_sid": first, "transcription_text": "hi"}])
    page = caller.valid("GET", f"{caller.base}/Recordings.json", params={"PageSize": "2", "DateCreated>": "2022-03-01T00:00:00Z"})
    fetched = caller.valid("GET", f"{caller.base}/Recordings/{first}.json")
    of_recording = caller.valid("GET", f"{caller.base}/Recordings/{first}/Transcriptions.json")
    of_account = caller.valid("GET", f"{caller.base}/Transcriptions.json")
    one = caller.valid("GET", f"{caller.base}/Transcriptions/{transcription}.json")

    assert page["next_page_uri"] is not None and len(page["recordings"]) == 2
    assert set(fetched) == schema_properties("api.v2010.account.recording")
    assert set(of_recording["transcriptions"][0]) == schema_properties("api.v2010.account.recording.recording_transcription")
    assert set(one) == set(of_account["transcriptions"][0]) == schema_properties("api.v2010.account.transcription")


def test_alerts_match_the_monitor_spec(sandbox: SandboxServer) -> None:
    from sandbox.alerts import insert_alerts

    (sid, *_) = insert_alerts(sandbox.store, [
        {"log_level": "warning", "request_method": "POST", "resource_sid": "CA" + "1" * 32, "api_version": "2010-04-01",
         "request_url": "https://example.com/voice", "request_variables": "CallSid=CA" + "1" * 32},
        {"log_level": "warning"}, {"log_level": "error"},
    ])
    page = valid_monitor(sandbox, "/v1/Alerts", LogLevel="warning", StartDate="2022-03-01T00:00:00Z", PageSize="1")
    fetched = valid_monitor(sandbox, f"/v1/Alerts/{sid}")

    schemas = monitor_spec_document()["components"]["schemas"]
    list_schema = monitor_spec_document()["paths"]["/v1/Alerts"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert set(page) == set(list_schema["properties"]) and set(page["meta"]) == set(list_schema["properties"]["meta"]["properties"])
    assert page["meta"]["next_page_url"].startswith(MONITOR + "/v1/Alerts?")
    assert set(page["alerts"][0]) == set(schemas["monitor.v1.alert"]["properties"])
    assert set(fetched) == set(schemas["monitor.v1.alert-instance"]["properties"])


# -- calls --------------------------------------------------------------------------------------------


def test_create_fetch_and_list_calls_match_the_spec(caller: Caller, clock: ManualClock) -> None:
    created = caller.valid("POST", f"{caller.base}/Calls.json",
                           data={"To": RECIPIENT, "From": SENDER, "Url": "https://example.com/voice.xml",
                                 "StatusCallbackEvent": ["initiated", "answered"], "MachineDetection": "Enable"})
    clock.advance(60)  # completed: start and end times, duration, price and answered_by are filled in
    fetched = caller.valid("GET", f"{caller.base}/Calls/{created['sid']}.json")
    listed = caller.valid("GET", f"{caller.base}/Calls.json",
                          params={"PageSize": "1", "Status": "completed", "StartTime>": "2022-03-01T00:00:00Z"})

    call_fields = schema_properties("api.v2010.account.call")
    assert set(created) == set(fetched) == call_fields
    assert created["status"] == "queued" and created["start_time"] is None
    assert fetched["status"] == "completed" and fetched["duration"] == "34" and fetched["price"] == "-0.01300"
    assert fetched["answered_by"] == "human" and fetched["end_time"].endswith("+0000")
    assert listed["calls"][0]["sid"] == created["sid"] and listed["next_page_uri"] is None
    list_schema = spec_document()["paths"]["/2010-04-01/Accounts/{AccountSid}/Calls.json"]["get"]["responses"]["200"]
    assert set(listed) == set(list_schema["content"]["application/json"]["schema"]["properties"])


def test_a_page_of_calls_with_a_next_page_matches_the_spec(caller: Caller, sandbox: SandboxServer) -> None:
    from urllib.parse import parse_qsl

    from sandbox.call_store import CallStore

    parent, *_ = CallStore(sandbox.store).insert_calls([{"to": RECIPIENT, "status": "completed"}] * 3)
    CallStore(sandbox.store).insert_calls([{"to": "client:alice", "status": "busy", "parent_call_sid": parent}])
    first = caller.valid("GET", f"{caller.base}/Calls.json", params={"PageSize": "2", "EndTime<": "2030-01-01T00:00:00Z"})
    assert first["next_page_uri"] is not None and len(first["calls"]) == 2
    path, _, query = first["next_page_uri"].partition("?")
    second = caller.valid("GET", path, params=dict(parse_qsl(query)))  # the busy call has no end time
    assert second["next_page_uri"] is None and len(second["calls"]) == 1
    child = caller.valid("GET", f"{caller.base}/Calls.json", params={"ParentCallSid": parent})["calls"]
    assert [c["parent_call_sid"] for c in child] == [parent] and child[0]["duration"] is None


@pytest.mark.parametrize(
    ("method", "suffix", "data", "status"),
    [
        ("GET", "/Calls/CA00000000000000000000000000000000.json", None, 404),
        ("DELETE", "/Calls/CA00000000000000000000000000000000.json", None, 404),
        ("POST", "/Calls.json", {"To": "+15005550002", "From": SENDER, "Url": "https://example.com/v.xml"}, 400),
        ("POST", "/Calls.json", {"To": RECIPIENT, "From": SENDER}, 400),
        ("POST", "/Calls.json", {"To": RECIPIENT, "From": SENDER, "Twiml": "<Response/>", "Timeout": "601"}, 400),
    ],
)
def test_call_error_bodies_have_twilios_shape(
    caller: Caller, method: str, suffix: str, data: dict[str, str] | None, status: int
) -> None:
    response = caller.call(method, caller.base + suffix, data=data)
    assert response.status_code == status
    body = response.json()
    OAS30Validator(TWILIO_ERROR).validate(body)
    assert body["status"] == status and body["more_info"].endswith(str(body["code"]))


def test_media_of_a_message_match_the_spec(caller: Caller) -> None:
    data = {"To": RECIPIENT, "From": SENDER, "Body": "hi", "MediaUrl": ["https://example.com/a.png", "https://example.com/b.jpg"]}
    message = caller.valid("POST", f"{caller.base}/Messages.json", data=data)
    media_path = f"{caller.base}/Messages/{message['sid']}/Media"
    listed = caller.valid("GET", f"{media_path}.json", params={"PageSize": "1"})
    second = caller.valid("GET", listed["next_page_uri"].partition("?")[0],
                          params=dict(pair.split("=") for pair in listed["next_page_uri"].partition("?")[2].split("&")))
    fetched = caller.valid("GET", f"{media_path}/{listed['media_list'][0]['sid']}.json")
    assert set(fetched) == schema_properties("api.v2010.account.message.media")
    assert listed["media_list"][0]["sid"] == fetched["sid"] != second["media_list"][0]["sid"]
    assert second["next_page_uri"] is None
    list_schema = spec_document()["paths"]["/2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}/Media.json"]
    assert set(listed) == set(list_schema["get"]["responses"]["200"]["content"]["application/json"]["schema"]["properties"])
    assert caller.call("DELETE", f"{media_path}/{fetched['sid']}.json").status_code == 204
    assert caller.call("GET", f"{media_path}/{fetched['sid']}.json").status_code == 404
