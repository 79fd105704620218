"""A send's later attempt on Temporal asks the sandbox what the first attempt made before it sends.

Each test runs the real `book.call` activity in Temporal's own `ActivityEnvironment` as the attempt that
follows a worker's death (attempt 2), against the sandbox over HTTP, and counts what the sandbox holds.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from book.temporal import activities, plans
from procedures import BOOK
from tests.conftest import RECIPIENT, SENDER

BODY = "Your table is ready"
SEND = f'''send an SMS message where
  the sender number is "{SENDER}"
  the recipient number is "{RECIPIENT}"
  the message body is "{BODY}"
'''
INPUTS = {"sender_number": SENDER, "recipient_number": RECIPIENT, "message_body": BODY}


@pytest.fixture
def attempt(session: Any) -> Any:
    """`attempt(n, text=SEND, inputs=INPUTS, earlier=())`: the activity's outcome for the first line of `text`."""
    plans.serve(BOOK)
    activities.serve_session(session, threads=2)
    scheduled = datetime.now(timezone.utc) - timedelta(seconds=1)  # the first attempt was scheduled a moment ago

    def run(number: int, text: str = SEND, inputs: dict[str, Any] = INPUTS, earlier: tuple[Any, ...] = ()) -> Any:
        environment = ActivityEnvironment()
        environment.info = dataclasses.replace(environment.info, attempt=number, scheduled_time=scheduled)
        codec = plans.codec()
        request = {"plan": plans.plan_ref(text, "send.auto"), "path": [0], "inputs": codec.encode(inputs),
                   "filter": None, "key": "test/0/1", "earlier": [codec.encode(e) for e in earlier]}
        return asyncio.run(environment.run(activities.call, request))

    return run


def sent(client: Any) -> list[str]:
    return [m.sid for m in client.messages.list() if m.body == BODY]


def test_a_retried_send_whose_first_attempt_got_through_takes_its_message_and_sends_nothing(attempt, client):
    first = client.messages.create(from_=SENDER, to=RECIPIENT, body=BODY)  # the attempt whose worker then died

    outcome = attempt(2)

    assert outcome == {"value": first.sid, "adopted": True}
    assert sent(client) == [first.sid]


def test_a_retried_send_whose_first_attempt_never_got_there_sends_once(attempt, client):
    outcome = attempt(2)

    assert "adopted" not in outcome
    assert sent(client) == [outcome["value"]]


def test_a_retried_send_does_not_take_the_message_of_an_earlier_identical_send_of_its_run(attempt, client):
    earlier = client.messages.create(from_=SENDER, to=RECIPIENT, body=BODY)  # line 1 of the run, done

    outcome = attempt(2, earlier=(earlier.sid,))

    assert outcome["value"] != earlier.sid
    assert sorted(sent(client)) == sorted([earlier.sid, outcome["value"]])


def test_a_retried_send_that_matches_two_messages_is_delivery_unknown_and_not_sent(attempt, client):
    client.messages.create(from_=SENDER, to=RECIPIENT, body=BODY)
    client.messages.create(from_=SENDER, to=RECIPIENT, body=BODY)

    with pytest.raises(ApplicationError) as raised:
        attempt(2)

    assert raised.value.type == "DeliveryUnknownError"
    assert raised.value.non_retryable
    assert "line 1" in str(raised.value) and "2 items the service holds match it" in str(raised.value)
    assert len(sent(client)) == 2


def test_a_first_attempt_sends_without_asking(attempt, client):
    client.messages.create(from_=SENDER, to=RECIPIENT, body=BODY)  # an identical message from before

    outcome = attempt(1)

    assert len(sent(client)) == 2
    assert outcome["value"] in sent(client)


def test_a_retried_call_of_a_procedure_that_cant_ask_is_delivery_unknown(attempt, client):
    message = client.messages.create(from_=SENDER, to=RECIPIENT, body=BODY)
    text = f'delete an SMS message where\n  the message sid is "{message.sid}"\n'

    with pytest.raises(ApplicationError) as raised:
        attempt(2, text=text, inputs={"message_sid": message.sid})

    assert raised.value.type == "DeliveryUnknownError" and raised.value.non_retryable
    assert "'delete an SMS message' has no way to find what it sent" in str(raised.value)
    assert sent(client) == [message.sid]  # not deleted a second time (nor at all: it can't tell)


def test_a_send_the_service_refuses_is_final(attempt, client):
    with pytest.raises(ApplicationError) as raised:
        attempt(1, inputs={**INPUTS, "sender_number": "+15005550001"})  # the sandbox refuses this number
    assert raised.value.non_retryable
    assert raised.value.details[0]["bases"][:2] == ["RemoteError", "BookError"]
    assert sent(client) == []


CALL = f'''make a phone call where
  the sender number is "{SENDER}"
  the recipient number is "{RECIPIENT}"
  the twiml is "<Response><Say>Your table is ready</Say></Response>"
'''
CALL_INPUTS = {"sender_number": SENDER, "recipient_number": RECIPIENT,
               "twiml": "<Response><Say>Your table is ready</Say></Response>"}


def test_a_retried_call_whose_first_attempt_got_through_takes_that_call_and_places_no_other(attempt, client):
    first = client.calls.create(from_=SENDER, to=RECIPIENT, twiml=CALL_INPUTS["twiml"])

    outcome = attempt(2, text=CALL, inputs=CALL_INPUTS)

    assert outcome["adopted"] and outcome["value"]["v"]["sid"] == first.sid
    assert [c.sid for c in client.calls.list(to=RECIPIENT)] == [first.sid]


def test_a_retried_call_whose_first_attempt_never_got_there_is_placed_once(attempt, client):
    outcome = attempt(2, text=CALL, inputs=CALL_INPUTS)

    assert "adopted" not in outcome
    assert [c.sid for c in client.calls.list(to=RECIPIENT)] == [outcome["value"]["v"]["sid"]]


PLACE = f'place a phone call to "{RECIPIENT}" from "{SENDER}" saying "Your table is ready"\n'
PLACED = {"sender_number": SENDER, "recipient_number": RECIPIENT, "message": "Your table is ready"}


def test_a_retried_call_that_waits_waits_for_the_call_its_first_attempt_placed(attempt, client, clock):
    from tests.procedures.test_calls_live import run_while_the_clock_moves

    clock.set(datetime.now(timezone.utc))  # the sandbox's clock stands still, from now: the call was placed after
    first = client.calls.create(from_=SENDER, to=RECIPIENT, twiml="<Response><Say>Hi</Say></Response>")  # the send's

    outcome = run_while_the_clock_moves(clock, lambda: attempt(2, PLACE, PLACED))

    assert outcome["adopted"] is True
    value = plans.codec().decode(outcome["value"])
    assert (value.sid, value.status, value.duration) == (first.sid, "completed", 34)  # waited for, to its end
    assert [c.sid for c in client.calls.list(to=RECIPIENT)] == [first.sid]  # never placed again


def test_a_retried_call_whose_first_attempt_never_got_there_is_placed_once_and_waited_for(attempt, client, clock):
    from tests.procedures.test_calls_live import run_while_the_clock_moves

    outcome = run_while_the_clock_moves(clock, lambda: attempt(2, PLACE, PLACED))

    value = plans.codec().decode(outcome["value"])
    assert "adopted" not in outcome and value.status == "completed"
    assert [c.sid for c in client.calls.list(to=RECIPIENT)] == [value.sid]
