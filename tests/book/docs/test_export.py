"""The JSON export: procedures with a JSON Schema per input and output, concepts as JSON Schema."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from jsonschema import Draft202012Validator

from book.docs import export_json
from concepts import TwilioSmsMessage
from procedures import BOOK


@pytest.fixture(scope="module")
def data() -> dict:
    return export_json(BOOK)


def schemas(data: dict):
    for procedure in data["procedures"]:
        for item in procedure["inputs"]:
            yield item["schema"]
        yield procedure["output"]["schema"]
    yield from data["concepts"].values()


def test_it_is_plain_json(data):
    assert json.loads(json.dumps(data)) == data


def test_every_schema_is_a_valid_json_schema(data):
    for schema in schemas(data):
        Draft202012Validator.check_schema(schema)


def test_the_procedures(data):
    by_english = {p["english"]: p for p in data["procedures"]}
    read, send = by_english["read some SMS messages"], by_english["send an SMS message"]
    assert read["phrase"] == "to read some (*SMS* messages)"
    assert (read["filter_capable"], read["page_capable"], read["mutating"]) == (True, True, False)
    assert read["output"]["type"] == "list[twilio sms message]" and read["output"]["concept"] == "twilio sms message"
    assert len(read["examples"]) == 3
    assert send["mutating"] and not send["filter_capable"]
    assert [(i["name"], i["type"], i["required"]) for i in send["inputs"]] == [
        ("sender number", "text", True),
        ("recipient number", "text", True),
        ("message body", "text", True),
    ]
    assert send["inputs"][0]["schema"] == {"type": "string", "description": "The Twilio phone number to send the message from"}
    assert send["output"]["name"] == "answer" and send["output"]["schema"]["type"] == "string"


def test_connection_methods_describe_fields_and_never_values(data):
    (auth_token, api_key) = data["connection_methods"][:2]
    assert auth_token["title"] == "Connect using Account SID and Auth Token"
    assert [(f["label"], f["type"]) for f in auth_token["fields"]] == [("Account SID", "text"), ("Auth Token", "sensitive")]
    assert {key for f in auth_token["fields"] + api_key["fields"] for key in f} == {"name", "label", "description", "type", "required"}


def test_a_concept_schema_describes_and_validates_a_message(data):
    schema = data["concepts"]["twilio sms message"]
    assert schema == TwilioSmsMessage.model_json_schema()
    assert len(schema["properties"]) == 16
    assert schema["properties"]["body"]["description"] == "The text content of the message"
    message = TwilioSmsMessage(account_sid="AC" + "0" * 32, body="Hi", date_sent=datetime(2022, 3, 1, tzinfo=timezone.utc))
    Draft202012Validator(schema).validate(message.model_dump(mode="json"))
    read = next(p for p in data["procedures"] if p["filter_capable"])
    Draft202012Validator(read["output"]["schema"]).validate([message.model_dump(mode="json")])
