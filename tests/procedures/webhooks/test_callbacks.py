"""The sandbox plays Twilio: signed status callbacks kept in the store, connection overrides, numbers' webhooks."""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
import requests
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from procedures.http import BookHttpClient
from procedures.webhooks.listen import ListenerServer
from sandbox import ManualClock, SandboxServer
from sandbox.callbacks import Answer, IncomingNumbers, deliver, receive_message
from sandbox.errors import SandboxError
from sandbox.overrides import ConnectionOverrides, split_overrides
from sandbox.status_queue import StatusDispatcher, follow, pending
from tests.conftest import CALLER, NUMBER, START, Twilio
from tests.procedures.webhooks.conftest import Received

SERVICE = "MG" + "a" * 32


class Recorder:
    """A webhook that records what it is sent and answers with the statuses it is given (then 204)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], list[tuple[str, str]]]] = []
        self.statuses: list[int] = []
        self.release = threading.Event()
        self.release.set()
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        await run_in_threadpool(self.release.wait, 5)
        form = parse_qsl((await request.body()).decode(), keep_blank_values=True)
        self.requests.append((str(request.url), dict(request.headers), form))
        return Response(status_code=self.statuses.pop(0) if self.statuses else 204)

    def wait_for(self, count: int, timeout: float = 5.0) -> list:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.requests)

    def statuses_posted(self) -> list[str]:
        return [dict(form)["MessageStatus"] for _, _, form in self.requests]


@pytest.fixture
def recorder() -> Iterator[tuple[Recorder, str]]:
    recorder = Recorder()
    with ListenerServer(recorder.app) as server:
        yield recorder, server.url + "/hook"
        recorder.release.set()


def settled(sandbox: SandboxServer, timeout: float = 5.0) -> list:
    """The rows left once the sandbox has recorded what it posted (a webhook sees a post before the sandbox
    hears the answer)."""
    deadline = time.monotonic() + timeout
    while (rows := pending(sandbox.store)) and any(row.holder for row in rows) and time.monotonic() < deadline:
        time.sleep(0.01)
    return rows


def client_of(sandbox: SandboxServer) -> Client:
    return Client(sandbox.account_sid, sandbox.auth_token, http_client=BookHttpClient(sandbox.url))


# -- status callbacks: what Twilio posts --------------------------------------------------------------------


def test_status_callbacks_are_form_encoded_and_signed_as_twilio_signs(sandbox, clock, client, recorder):
    hook, url = recorder
    message = client.messages.create(to=CALLER, from_=NUMBER, body="Hi", status_callback=url)
    assert sandbox.status_callbacks.post_due() == 0  # no callback for the initial status (queued)
    assert [(p.message_sid, p.next_status) for p in pending(sandbox.store)] == [(message.sid, "sent")]
    clock.advance(2)
    requests_ = hook.wait_for(2)
    assert hook.statuses_posted() == ["sent", "delivered"]
    validator = RequestValidator(sandbox.auth_token)
    for called, headers, form in requests_:
        params = dict(form)
        assert called == url
        assert validator.validate(url, params, headers["x-twilio-signature"])
        assert headers["content-type"].startswith("application/x-www-form-urlencoded")
        assert headers["user-agent"].startswith("TwilioProxy/")
        assert params["MessageSid"] == params["SmsSid"] == message.sid
        assert params["MessageStatus"] == params["SmsStatus"]
        assert (params["AccountSid"], params["From"], params["To"], params["ApiVersion"]) == \
               (sandbox.account_sid, NUMBER, CALLER, "2010-04-01")
    assert len({headers["i-twilio-idempotency-token"] for _, headers, _ in requests_}) == 2
    assert "RawDlrDoneDate" in dict(requests_[1][2]) and "RawDlrDoneDate" not in dict(requests_[0][2])
    assert settled(sandbox) == []  # delivered: nothing more to post


def test_creating_a_message_does_not_wait_for_its_callbacks(sandbox, clock, client, recorder):
    hook, url = recorder
    hook.release.clear()  # the webhook hangs until released
    began = time.monotonic()
    client.messages.create(to=CALLER, from_=NUMBER, body="Hi", status_callback=url)
    clock.advance(2)
    client.messages.create(to=CALLER, from_=NUMBER, body="Hi again")
    assert time.monotonic() - began < 1.0
    hook.release.set()
    assert len(hook.wait_for(2)) == 2


def test_a_canceled_message_reports_canceled_and_nothing_after(sandbox, clock, client, recorder):
    hook, url = recorder
    message = client.messages.create(to=CALLER, messaging_service_sid=SERVICE, body="Later",
                                     schedule_type="fixed", send_at=START + timedelta(hours=1), status_callback=url)
    client.messages(message.sid).update(status="canceled")
    hook.wait_for(1)
    assert settled(sandbox) == []
    clock.advance(7200)
    sandbox.status_callbacks.post_due()
    assert hook.statuses_posted() == ["canceled"]


def test_a_scheduled_message_is_queued_at_its_send_time_then_sent_and_delivered(sandbox, clock, client, recorder):
    hook, url = recorder
    message = client.messages.create(to=CALLER, messaging_service_sid=SERVICE, body="Later",
                                     schedule_type="fixed", send_at=START + timedelta(days=2), status_callback=url)
    assert message.status == "scheduled"
    clock.advance(2 * 86400 - 1)
    assert sandbox.status_callbacks.post_due() == 0 and client.messages(message.sid).fetch().status == "scheduled"
    clock.advance(1)
    hook.wait_for(1)
    assert client.messages(message.sid).fetch().status == "queued"
    clock.advance(2)
    hook.wait_for(3)
    assert hook.statuses_posted() == ["queued", "sent", "delivered"]
    assert all(dict(form)["MessagingServiceSid"] == SERVICE for _, _, form in hook.requests)


def test_a_message_accepted_by_a_messaging_service_reports_queued_sent_delivered(sandbox, clock, client, recorder):
    hook, url = recorder
    message = client.messages.create(to=CALLER, messaging_service_sid=SERVICE, body="Hi", status_callback=url)
    assert message.status == "accepted"
    clock.advance(2)
    hook.wait_for(3)
    assert hook.statuses_posted() == ["queued", "sent", "delivered"]


# -- connection overrides ----------------------------------------------------------------------------------


def test_a_callback_url_with_connection_overrides_is_posted_and_signed_without_them(sandbox, clock, client,
                                                                                      start_listener):
    received = Received()
    listener = start_listener(received)  # checks the signature against the URL it is called at
    url = listener.endpoints["message-status"]
    message = client.messages.create(to=CALLER, from_=NUMBER, body="Hi", status_callback=url + "#rc=2&rp=5xx&ct=1000")
    clock.advance(2)
    events = received.wait_for(2)
    assert [(name, e.status, e.sid) for name, e in events] == [
        ("message-status", "sent", message.sid), ("message-status", "delivered", message.sid)]


def test_the_overrides_honoured_are_read_from_the_fragment():
    assert split_overrides("https://example.com/s?a=1") == ("https://example.com/s?a=1", ConnectionOverrides())
    url, overrides = split_overrides("https://example.com/s?a=1#ct=1000&rt=2000&tt=3000&rc=3&rp=5xx,ct&e=ashburn&sni=y")
    assert url == "https://example.com/s?a=1"
    assert overrides == ConnectionOverrides(1.0, 2.0, 3.0, 3, frozenset({"5xx", "ct"}))
    assert split_overrides("https://example.com/s#rp=all")[1].retry_policy == {"ct", "rt", "4xx", "5xx"}
    assert split_overrides("https://example.com/s#rc=0")[1].tries == 1


def test_an_override_out_of_range_is_ignored_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="sandbox.overrides"):
        assert split_overrides("https://example.com/s#rc=9&rp=sometimes&ct=50")[1] == ConnectionOverrides()
    assert len(caplog.records) == 3 and "11243" in caplog.text


class Tries:
    """A stand-in for the HTTP post: answers or raises what it is given, in turn, and counts the tries."""

    def __init__(self, *outcomes: int | Exception) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[str, dict[str, str], tuple[float, float]]] = []

    def __call__(self, url: str, body: bytes, headers, timeout) -> Answer:
        self.calls.append((url, dict(headers), timeout))
        outcome = self.outcomes.pop(0) if self.outcomes else 204
        if isinstance(outcome, Exception):
            raise outcome
        return Answer(outcome)


def post_with(tries: Tries, url: str) -> Answer:
    return deliver(url, [("MessageSid", "SM1")], "token", post=tries, sleep=lambda s: None)


def test_by_default_a_webhook_is_retried_once_when_it_cannot_be_connected_to_and_an_answer_is_never_retried():
    # Twilio's defaults: rc=1 (one retry), rp=ct (only when the connection fails); a 5xx is an answer.
    refused = Tries(requests.ConnectionError("refused"), 204)
    assert post_with(refused, "http://127.0.0.1:9/hook").status == 204 and len(refused.calls) == 2
    assert len({call[1]["I-Twilio-Idempotency-Token"] for call in refused.calls}) == 1
    assert refused.calls[0][2] == pytest.approx((5.0, 15.0), abs=0.1)  # ct and rt (within tt), in seconds
    for answer in (500, 503, 429, 404):
        tries = Tries(answer)
        assert post_with(tries, "http://127.0.0.1:9/hook").status == answer and len(tries.calls) == 1
    down = Tries(requests.ConnectionError("refused"), requests.ConnectTimeout("slow"))
    with pytest.raises(SandboxError, match="could not be reached.*2 tries"):
        post_with(down, "http://127.0.0.1:9/hook")
    silent = Tries(requests.ReadTimeout("no answer"))
    with pytest.raises(SandboxError, match="did not answer in time.*1 try of 2"):
        post_with(silent, "http://127.0.0.1:9/hook")


def test_the_url_fragment_decides_what_is_retried_and_how_often():
    tries = Tries(500, 503, 204)
    assert post_with(tries, "http://127.0.0.1:9/hook#rc=2&rp=5xx").status == 204 and len(tries.calls) == 3
    assert {call[0] for call in tries.calls} == {"http://127.0.0.1:9/hook"}  # the fragment is never posted
    tries = Tries(500, 500, 500, 500)
    assert post_with(tries, "http://127.0.0.1:9/hook#rc=2&rp=5xx").status == 500 and len(tries.calls) == 3
    tries = Tries(404, 204)
    assert post_with(tries, "http://127.0.0.1:9/hook#rp=4xx").status == 204 and len(tries.calls) == 2
    tries = Tries(requests.ConnectionError("refused"))
    with pytest.raises(SandboxError):
        post_with(tries, "http://127.0.0.1:9/hook#rc=0")
    assert len(tries.calls) == 1
    tries = Tries(requests.ReadTimeout("no answer"), 204)
    assert post_with(tries, "http://127.0.0.1:9/hook#rp=rt&ct=1000&rt=2000").status == 204
    assert [call[2] for call in tries.calls] == [(1.0, 2.0), (1.0, 2.0)]


def test_the_total_time_bounds_every_try():
    tries = Tries(500, 500, 500)
    answer = deliver("http://127.0.0.1:9/hook#rc=5&rp=5xx&tt=100", [("MessageSid", "SM1")], "token", post=tries,
                     sleep=lambda s: time.sleep(0.06))
    assert answer.status == 500 and len(tries.calls) == 2  # the third try would start after 100 ms
    assert all(max(call[2]) <= 0.1 for call in tries.calls)


def test_the_signature_is_over_the_url_without_its_fragment(sandbox, recorder):
    hook, url = recorder
    deliver(url + "#rc=1", [("MessageSid", "SM1")], sandbox.auth_token)
    called, headers, form = hook.requests[0]
    assert called == url
    assert RequestValidator(sandbox.auth_token).validate(url, dict(form), headers["x-twilio-signature"])


def test_an_unreachable_webhook_is_a_sandbox_error(sandbox):
    with ListenerServer(Recorder().app) as server:
        url = server.url + "/hook"
    with pytest.raises(SandboxError, match="could not be reached"):
        deliver(url, [("MessageSid", "SM1")], sandbox.auth_token, sleep=lambda s: None)


# -- status callbacks outlive the sandbox that sent the message --------------------------------------------


def test_callbacks_are_posted_after_the_sending_sandbox_closed_and_never_twice(tmp_path: Path, clock, recorder):
    hook, url = recorder
    db = tmp_path / "shared.sqlite3"
    with SandboxServer(db_path=db, clock=clock) as listening:  # e.g. `listen --sandbox`, running all along
        sending = SandboxServer(db_path=db, clock=clock).start()  # e.g. `twilio-book run send.auto --sandbox`
        client = client_of(sending)
        first = client.messages.create(to=CALLER, from_=NUMBER, body="Hi", status_callback=url).sid
        sending.close()  # it exits at once: nothing was due, nothing posted
        assert hook.requests == [] and [p.next_status for p in pending(listening.store)] == ["sent"]
        clock.advance(2)
        hook.wait_for(2)
        assert [(dict(f)["MessageSid"], dict(f)["MessageStatus"]) for _, _, f in hook.requests] == \
               [(first, "sent"), (first, "delivered")]

        # Both sandboxes open and awake when the statuses fall due: each one is posted once.
        hook.requests.clear()
        sending = SandboxServer(db_path=db, clock=clock).start()
        client = client_of(sending)
        sids = [client.messages.create(to=CALLER, from_=NUMBER, body=f"Hi {n}", status_callback=url).sid
                for n in range(8)]
        clock.advance(0.5)  # `sent` is due: both dispatchers race for the rows
        hook.wait_for(8)
        sending.close()
        clock.advance(1.0)  # `delivered` is due: only the listening sandbox is left
        hook.wait_for(16)
    posted = [(dict(f)["MessageSid"], dict(f)["MessageStatus"]) for _, _, f in hook.requests]
    assert sorted(posted) == sorted((sid, status) for sid in sids for status in ("sent", "delivered"))
    for sid in sids:
        assert [status for s, status in posted if s == sid] == ["sent", "delivered"]


def test_a_closing_sandbox_posts_what_is_due_and_leaves_the_rest(tmp_path: Path, recorder):
    hook, url = recorder
    offset = [0.0]

    def clock() -> float:  # a clock that wakes no one when it moves
        return START.timestamp() + offset[0]

    with SandboxServer(db_path=tmp_path / "sandbox.sqlite3", clock=clock) as sandbox:
        sandbox.status_callbacks.idle = 60.0  # it will not look again before it is closed
        sid = client_of(sandbox).messages.create(to=CALLER, messaging_service_sid=SERVICE, body="Later", status_callback=url,
                                                 schedule_type="fixed", send_at=START + timedelta(hours=1)).sid
        offset[0] = 3600.5  # `queued` and `sent` are due, `delivered` is not
    assert hook.statuses_posted() == ["queued", "sent"]
    with SandboxServer(db_path=tmp_path / "sandbox.sqlite3", clock=clock) as reopened:
        reopened.status_callbacks.close()  # nothing is due yet; the rest of the test posts by hand
        assert [(p.message_sid, p.next_status) for p in pending(reopened.store)] == [(sid, "delivered")]
        offset[0] = 3602.0
        reopened.status_callbacks.post_due()
        assert hook.statuses_posted() == ["queued", "sent", "delivered"] and pending(reopened.store) == []


def test_a_delivery_cut_short_by_closing_is_left_for_the_next_sandbox(sandboxes, clock, home):
    sandbox = sandboxes(clock=clock)
    client = Twilio(sandbox, home).client()
    sandbox.status_callbacks.close()  # this test drives the dispatchers by hand
    client.messages.create(to=CALLER, from_=NUMBER, body="Hi", status_callback="http://127.0.0.1:9/hook")
    clock.advance(0.5)

    def unanswered(url, body, headers, timeout):
        time.sleep(timeout[0])
        raise requests.ConnectTimeout("no answer")

    StatusDispatcher(sandbox.store, post=unanswered).post_due(deadline=time.monotonic() + 0.05)
    assert [(p.next_status, p.posted, p.holder) for p in pending(sandbox.store)] == [("sent", (), None)]
    later = Tries(204)
    assert StatusDispatcher(sandbox.store, post=later).post_due() == 1 and len(later.calls) == 1
    assert [p.posted for p in pending(sandbox.store)] == [("sent",)]


def test_a_row_held_by_a_dispatcher_that_died_is_taken_over_when_its_lease_ends(tmp_path: Path, recorder):
    hook, url = recorder
    clock = ManualClock(START)
    db = tmp_path / "sandbox.sqlite3"
    with SandboxServer(db_path=db, clock=clock) as sandbox:
        sandbox.status_callbacks.close()  # this test drives the dispatchers by hand
        sid = client_of(sandbox).messages.create(to=CALLER, from_=NUMBER, body="Hi", status_callback=url).sid
        clock.advance(0.5)
        dead, alive = StatusDispatcher(sandbox.store), StatusDispatcher(sandbox.store)
        assert dead._claim() == [sid]  # it claimed the row, then died before posting
        assert alive.post_due() == 0 and hook.requests == []
        with sqlite3.connect(db) as other:  # the lease runs out
            other.execute("UPDATE status_callbacks SET held_until_us = 0")
        assert alive.post_due() == 1 and hook.statuses_posted() == ["sent"]
        assert dead._post_for(sid, None) == 0  # too late: the row is no longer its own
        assert hook.statuses_posted() == ["sent"]


def test_a_message_deleted_or_a_sandbox_reset_drops_its_callbacks(sandbox, clock, client, recorder):
    hook, url = recorder
    sid = client.messages.create(to=CALLER, from_=NUMBER, body="Hi", status_callback=url).sid
    client.messages(sid).delete()
    clock.advance(2)
    sandbox.status_callbacks.post_due()
    client.messages.create(to=CALLER, from_=NUMBER, body="Hi", status_callback=url)
    sandbox.reset()
    clock.advance(2)
    sandbox.status_callbacks.post_due()
    assert hook.requests == [] and pending(sandbox.store) == []


def test_a_message_without_a_status_callback_is_not_followed(sandbox, client):
    sid = client.messages.create(to=CALLER, from_=NUMBER, body="Hi").sid
    assert pending(sandbox.store) == []
    assert follow(sandbox.store, sandbox.store.get_message(sid)) is False


# -- numbers' webhooks -------------------------------------------------------------------------------------


def test_a_numbers_webhooks_are_kept_in_the_sandbox(sandbox, recorder):
    hook, url = recorder
    numbers = IncomingNumbers(sandbox.store)
    assert numbers.get(NUMBER) is None
    with pytest.raises(SandboxError, match=re.escape(f"listen --sandbox --number {NUMBER}")):
        numbers.url(NUMBER, "sms")
    unposted = receive_message(sandbox.store, sender=CALLER, recipient=NUMBER, body="hi")  # stored, posted nowhere
    assert (unposted.webhook, unposted.answer) == (None, None) and hook.requests == []
    assert sandbox.store.get_message(unposted.sid).direction == "inbound"
    numbers.configure(NUMBER, sms_url=url)
    numbers.configure(NUMBER, voice_url="https://example.com/voice")
    assert (numbers.get(NUMBER).sms_url, numbers.get(NUMBER).voice_url) == (url, "https://example.com/voice")
    received = receive_message(sandbox.store, sender=CALLER, recipient=NUMBER, body="hi")
    assert received.webhook == url and dict(hook.requests[0][2])["Body"] == "hi"
    assert numbers.url(f"whatsapp:{NUMBER}", "sms") == url  # a WhatsApp address falls back to its number's
    sandbox.reset()
    assert numbers.get(NUMBER) is None
