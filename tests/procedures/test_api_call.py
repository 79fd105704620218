"""Make a Twilio API call, in English against the sandbox: any method and path, and only Twilio's host."""

from __future__ import annotations

import pytest

from book.errors import CompileError, InputError, RemoteError
from concepts import TwilioApiResponse
from procedures import BOOK
from tests.conftest import requests_sent

MESSAGES = "/2010-04-01/Accounts/{AccountSid}/Messages.json"




def call(method: str, path: str, *lines: str) -> str:
    head = f'make a Twilio API call where\n  the method is "{method}"\n  the path is "{path}"\n'
    return head + "".join(f"  {line}\n" for line in lines)


def test_a_get_lists_the_accounts_messages_with_a_query(english, session, sandbox):
    sandbox.store.insert_messages({"to": "+18004446666", "from_": "+15005550006", "body": f"m{n}"} for n in range(3))
    response = english(call("get", MESSAGES, 'the query is "{\\"PageSize\\": 2, \\"To\\": \\"+18004446666\\"}"')).value
    assert isinstance(response, TwilioApiResponse)
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/json")
    assert len(response.body["messages"]) == 2 and response.body["page_size"] == 2
    assert f"/Accounts/{sandbox.account_sid}/Messages.json" in response.body["uri"]
    assert requests_sent(session) == 1


def test_a_post_sends_a_form_with_repeated_names(english, sandbox):
    body = ('the body is "{\\"To\\": \\"+18004446666\\", \\"From\\": \\"+15005550006\\", \\"Body\\": \\"Hi\\", '
            '\\"MediaUrl\\": [\\"https://example.com/a.png\\", \\"https://example.com/b.png\\"], '
            '\\"SmartEncoded\\": true, \\"StatusCallback\\": null}"')
    response = english(call("POST", MESSAGES.removeprefix("/"), body)).value
    assert response.status == 201
    sid = response.body["sid"]
    assert response.body["num_media"] == "2"
    params = dict(sandbox.store.get_message(sid).params)
    assert params["MediaUrl"] == ["https://example.com/a.png", "https://example.com/b.png"]
    assert params["SmartEncoded"] == "true" and "StatusCallback" not in params


def test_a_delete_answers_204_with_no_body(english, sandbox):
    sid = sandbox.store.insert_messages([{"to": "+18004446666", "status": "delivered"}])[0]
    response = english(call("DELETE", f"/2010-04-01/Accounts/{{AccountSid}}/Messages/{sid}.json")).value
    assert (response.status, response.body) == (204, None)
    assert sandbox.store.get_message(sid) is None


def test_the_placeholder_may_be_written_as_the_reference_does(english, sandbox):
    response = english(call("GET", "2010-04-01/Accounts/{{accountSid}}.json")).value
    assert response.body["sid"] == sandbox.account_sid


def test_an_error_status_stops_with_twilios_error(english):
    with pytest.raises(RemoteError, match="Twilio refused to make the API call GET") as caught:
        english(call("GET", f"/2010-04-01/Accounts/{{AccountSid}}/Messages/SM{'0' * 32}.json"))
    assert (caught.value.status, caught.value.code) == (404, 20404)
    with pytest.raises(RemoteError) as caught:
        english(call("POST", MESSAGES, 'the body is "{\\"From\\": \\"+15005550006\\", \\"Body\\": \\"Hi\\"}"'))
    assert (caught.value.status, caught.value.code) == (400, 21604)


@pytest.mark.parametrize("path", [
    "https://evil.example/steal",
    "http://api.twilio.com/2010-04-01/Accounts.json",
    "//evil.example/steal",
    "\\\\evil.example/steal",
    "/2010-04-01/../../evil",
    "/2010-04-01/%2e%2e/Accounts.json",
    "/2010-04-01/%252e%252e/Accounts.json",
    "/2010-04-01%2F..%2Fevil",
    "/2010-04-01//Accounts.json",
    "/2010-04-01/Accounts.json?PageSize=2",
    "/2010-04-01/Accounts/{Secret}.json",
    "/2010-04-01/Acc ounts.json",
    "",
])
def test_a_path_that_could_leave_the_api_host_is_refused_before_anything_is_sent(english, session, path):
    with pytest.raises(CompileError, match="the path|not a valid path"):
        english(call("GET", path))
    with pytest.raises(InputError, match="the path"):
        english(f'the path is "{path}"\n' + 'make a Twilio API call where\n  the method is "GET"\n')
    assert requests_sent(session) == 0


@pytest.mark.parametrize("lines,reason", [
    (['the headers are "{\\"Authorization\\": \\"Basic abc\\"}"'], "set by the book"),
    (['the headers are "[1]"'], "JSON object"),
    (['the query is "{\\"To\\": {\\"a\\": 1}}"'], "nested"),
    (['the body is "not json"'], "not JSON"),
])
def test_bad_headers_query_or_body_fail_when_the_automation_compiles(english, session, lines, reason):
    with pytest.raises(CompileError, match=reason):
        english(call("POST", MESSAGES, *lines))
    assert requests_sent(session) == 0


def test_a_method_is_one_of_five_and_a_get_has_no_body(english, session):
    with pytest.raises(CompileError, match="GET.*POST.*PUT.*PATCH.*DELETE"):
        english(call("FETCH", MESSAGES))
    with pytest.raises(InputError, match="a GET request has no body"):
        english(call("GET", MESSAGES, 'the body is "{\\"To\\": \\"+18004446666\\"}"'))
    assert requests_sent(session) == 0


@pytest.mark.parametrize("text", [
    pytest.param(example.text, id=f"#{n}")
    for procedure in BOOK.registry if procedure.english == "make a Twilio API call"
    for n, example in enumerate(procedure.examples, 1)
])
def test_every_example_runs_against_the_sandbox(english, text):
    assert english(text).value.status in (200, 201)
