"""The webhook loop over real HTTP: the sandbox plays Twilio, posting signed webhooks to a running listener."""

from __future__ import annotations

import io
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ElementTree
from datetime import datetime, timezone

import pytest
import requests

from book.errors import BookError
from book.runtime import Automation
from concepts.events import GatheredInput, InboundCall, InboundSmsMessage, InboundWhatsappMessage, MessageStatusEvent
from procedures import BOOK
from procedures.webhooks.idempotency import DEFAULT_MAX_AGE, DEFAULT_WINDOW, Queued, SeenTokens
from procedures.webhooks.listen import Handoff, ListenerServer, compile_for_kinds, create_listener_app, reach_hint
from procedures.webhooks.signature import SignatureCheck
from procedures.webhooks.twiml import answers_from
from sandbox.callbacks import deliver, receive_call, receive_message, sign
from tests import ROOT
from tests.conftest import CALLER, NUMBER
from tests.procedures.webhooks.conftest import Received


def test_a_message_with_a_status_callback_reports_each_status_once(sandbox, clock, client, start_listener):
    received = Received()
    listener = start_listener(received)
    message = client.messages.create(to=CALLER, from_=NUMBER, body="Hello",
                                     status_callback=listener.endpoints["message-status"])
    clock.advance(0.3)  # the sandbox sends a message 0.2 s after it is queued (as at Twilio, no callback
    received.wait_for(1)  # for the initial status, queued) ...
    clock.advance(1.0)  # ... and it is delivered 0.8 s later
    events = received.wait_for(2)
    assert [(name, e.status) for name, e in events] == [("message-status", "sent"), ("message-status", "delivered")]
    assert all(isinstance(e, MessageStatusEvent) and e.sid == message.sid for _, e in events)
    assert events[0][1].account_sid == sandbox.account_sid
    assert (events[0][1].sender_number, events[0][1].recipient_number) == (NUMBER, CALLER)
    assert events[0][1].api_version == "2010-04-01"
    assert received.wait_for(3, timeout=0.3) == events  # nothing more


def test_a_replayed_delivery_is_handed_on_once(sandbox, start_listener):
    received = Received()
    url = start_listener(received).endpoints["message-status"]
    params = [("AccountSid", sandbox.account_sid), ("MessageSid", "SM" + "1" * 32), ("MessageStatus", "sent")]
    first = deliver(url, params, sandbox.auth_token, token="delivery-1")
    again = deliver(url, params, sandbox.auth_token, token="delivery-1")
    other = deliver(url, params, sandbox.auth_token, token="delivery-2")
    assert (first.status, again.status, other.status) == (204, 204, 204)
    assert len(received.events) == 2


def test_a_delivery_that_failed_is_handed_on_when_twilio_retries_it(sandbox, start_listener):
    handed_on = []

    def fail_once(endpoint, event):
        handed_on.append(event)
        if len(handed_on) == 1:
            raise OSError("stdout went away")

    url = start_listener(fail_once).endpoints["message-status"]
    params = [("AccountSid", sandbox.account_sid), ("MessageSid", "SM" + "2" * 32), ("MessageStatus", "sent")]
    retrying = url + "#rc=2&rp=5xx"  # Twilio's connection overrides: retry an answer of 5xx (not by default)
    answer = deliver(retrying, params, sandbox.auth_token, token="retried", sleep=lambda s: None)
    assert answer.status == 204
    assert len(handed_on) == 2  # the 500 was retried with the same token, then recorded
    assert deliver(url, params, sandbox.auth_token, token="retried").status == 204
    assert len(handed_on) == 2


def test_a_missing_or_wrong_signature_gets_403_and_is_never_handed_on(sandbox, start_listener):
    received = Received()
    url = start_listener(received).endpoints["sms"]
    form = {"AccountSid": sandbox.account_sid, "MessageSid": "SM" + "3" * 32, "From": CALLER, "To": NUMBER, "Body": "hi"}
    grouped = {k: [v] for k, v in form.items()}
    missing = requests.post(url, data=form, timeout=5)
    wrong_token = requests.post(url, data=form, headers={"X-Twilio-Signature": sign("0" * 32, url, grouped)}, timeout=5)
    tampered = requests.post(url, data={**form, "Body": "changed"},
                             headers={"X-Twilio-Signature": sign(sandbox.auth_token, url, grouped)}, timeout=5)
    assert [r.status_code for r in (missing, wrong_token, tampered)] == [403, 403, 403]
    assert received.events == []
    good = requests.post(url, data=form, headers={"X-Twilio-Signature": sign(sandbox.auth_token, url, grouped)}, timeout=5)
    assert good.status_code == 200 and len(received.events) == 1


def test_signatures_are_checked_against_the_public_url(sandbox, start_listener):
    received = Received()
    public = "https://hooks.example.com/book"
    listener = start_listener(received, public_url=public)
    assert listener.endpoints["voice"] == "https://hooks.example.com/book/twilio/voice"
    local = listener.url + "/twilio/voice?from=proxy"
    form = {"AccountSid": sandbox.account_sid, "CallSid": "CA" + "4" * 32, "From": CALLER, "To": NUMBER}
    grouped = {k: [v] for k, v in form.items()}
    for_local = requests.post(local, data=form, headers={"X-Twilio-Signature": sign(sandbox.auth_token, local, grouped)},
                              timeout=5)
    assert for_local.status_code == 403
    called = public + "/twilio/voice?from=proxy"  # what Twilio called; the proxy forwarded it to `local`
    for_public = requests.post(local, data=form,
                               headers={"X-Twilio-Signature": sign(sandbox.auth_token, called, grouped)}, timeout=5)
    assert for_public.status_code == 200
    assert [e.sid for _, e in received.events] == ["CA" + "4" * 32]


def test_an_inbound_call_is_answered_with_the_numbers_twiml(sandbox, start_listener):
    answers = answers_from({
        "default": {"call": {"say": "Nobody is here."}},
        "numbers": {NUMBER: {"call": {
            "say": "Hello from the book.", "voice": "alice",
            "gather": {"prompt": "Press 1 for sales.", "num_digits": 1, "action": "https://example.com/menu"},
            "stream": "wss://example.com/media",
        }}},
    })
    received = Received()
    listener = start_listener(received, answers=answers)
    call = receive_call(sandbox.store, sender=CALLER, recipient=NUMBER, webhook=listener.endpoints["voice"])
    assert call.answer.status == 200
    root = ElementTree.fromstring(call.answer.body)
    assert root.tag == "Response"
    assert [child.tag for child in root] == ["Say", "Gather", "Connect"]
    assert root.find("Say").text == "Hello from the book." and root.find("Say").get("voice") == "alice"
    gather = root.find("Gather")
    assert (gather.get("numDigits"), gather.get("action")) == ("1", "https://example.com/menu")
    assert gather.find("Say").text == "Press 1 for sales."
    assert root.find("Connect/Stream").get("url") == "wss://example.com/media"
    (name, event), = received.events
    assert name == "voice" and isinstance(event, InboundCall)
    assert (event.sid, event.sender_number, event.recipient_number, event.status) == (call.sid, CALLER, NUMBER, "ringing")

    other = receive_call(sandbox.store, sender=CALLER, recipient="+15005550009", webhook=listener.endpoints["voice"])
    assert [(c.tag, c.text) for c in ElementTree.fromstring(other.answer.body)] == [("Say", "Nobody is here.")]


REPLY = """\
send an SMS message where
  the sender number is the message's recipient number
  the recipient number is the message's sender number
  the message body is "Thanks, we got it."
"""


def test_an_inbound_sms_runs_the_automation_with_the_message_bound(sandbox, session, client, start_listener):
    automations, problems = compile_for_kinds(REPLY, BOOK.registry)
    assert set(automations) == {InboundSmsMessage, InboundWhatsappMessage, MessageStatusEvent}
    assert set(problems) == {"call", "gather"}  # a call (and what a caller keyed in) has no 'message'
    out = io.StringIO()
    handoff = Handoff(out, automations=automations, session=session, report=print, name="/a/reply.auto")
    listener = start_listener(handoff)
    received = receive_message(sandbox.store, sender=CALLER, recipient=NUMBER, body="Is this thing on?",
                               webhook=listener.endpoints["sms"])
    assert received.answer.status == 200
    assert handoff.wait(timeout=10)  # the automation runs after the answer, on the handoff's worker
    line = json.loads(out.getvalue())
    assert line["trigger"] == "sms" and line["type"] == "twilio inbound sms message"
    assert line["event"]["sid"] == received.sid and line["event"]["body"] == "Is this thing on?"
    replies = client.messages.list(from_=NUMBER, to=CALLER)
    assert [m.body for m in replies] == ["Thanks, we got it."]
    inbound = client.messages(received.sid).fetch()
    assert (inbound.direction, inbound.status, inbound.body) == ("inbound", "received", "Is this thing on?")


def test_a_twiml_reply_is_sent_back_as_twilio_would(sandbox, client, start_listener):
    answers = answers_from({"numbers": {NUMBER: {"message": {"reply": "Auto-reply: thanks!"}}}})
    listener = start_listener(Received(), answers=answers)
    received = receive_message(sandbox.store, sender=CALLER, recipient=NUMBER, body="hi",
                               webhook=listener.endpoints["sms"])
    (reply_sid,) = received.replies
    reply = client.messages(reply_sid).fetch()
    assert (reply.from_, reply.to, reply.body, reply.direction) == (NUMBER, CALLER, "Auto-reply: thanks!", "outbound-reply")


def test_a_whatsapp_message_becomes_a_whatsapp_event(sandbox, start_listener):
    received = Received()
    listener = start_listener(received)
    receive_message(sandbox.store, sender=f"whatsapp:{CALLER}", recipient=f"whatsapp:{NUMBER}", body="hola",
                    media_urls=["https://example.com/cat.jpg"], webhook=listener.endpoints["whatsapp"])
    (name, event), = received.events
    assert name == "whatsapp" and isinstance(event, InboundWhatsappMessage)
    assert (event.body, event.whatsapp_id, event.media_urls) == ("hola", CALLER.lstrip("+"), ["https://example.com/cat.jpg"])


def test_a_signed_request_that_is_no_such_event_gets_400(sandbox, start_listener):
    received = Received()
    url = start_listener(received).endpoints["message-status"]
    answer = deliver(url, [("AccountSid", sandbox.account_sid)], sandbox.auth_token)
    assert answer.status == 400 and "sid" in answer.body
    assert received.events == []


def test_a_get_webhook_is_signed_by_its_url(sandbox, start_listener):
    received = Received()
    base = start_listener(received).endpoints["sms"]
    url = f"{base}?AccountSid={sandbox.account_sid}&MessageSid=SM{'5' * 32}&From=%2B15558675310&To=%2B15005550006&Body=hi"
    response = requests.get(url, headers={"X-Twilio-Signature": sign(sandbox.auth_token, url, {})}, timeout=5)
    assert response.status_code == 200
    assert received.events[0][1].body == "hi"


def test_an_automation_that_fails_is_reported_and_the_delivery_still_counts(sandbox, session, start_listener):
    text = 'send an SMS message where\n  the sender number is "+15005550001"\n' \
           '  the recipient number is the message\'s sender number\n  the message body is "x"\n'
    automation: Automation = compile_for_kinds(text, BOOK.registry)[0][InboundSmsMessage]
    reports: list[str] = []
    out = io.StringIO()
    handoff = Handoff(out, automations={InboundSmsMessage: automation}, session=session, report=reports.append,
                      name="/a/fails.auto")
    listener = start_listener(handoff)
    received = receive_message(sandbox.store, sender=CALLER, recipient=NUMBER, body="hi", webhook=listener.endpoints["sms"])
    assert received.answer.status == 200
    assert handoff.close(timeout=10)
    assert len(out.getvalue().splitlines()) == 1
    assert len(reports) == 1 and "21212" in reports[0] and received.sid in reports[0]


# -- a call's <Gather> ----------------------------------------------------------------------------------

MENU = {"default": {"call": {"say": "Welcome.", "gather": {"prompt": "Press 1 for sales.", "num_digits": 1}},
                    "gathered": {"say": "Thanks, goodbye."}}}

TEXT_THE_CALLER = """\
send an SMS message where
  the sender number is the call's recipient number
  the recipient number is the call's sender number
  the message body is "Thanks for calling."
"""


def gathered_params(sandbox, call_sid: str, digits: str) -> list[tuple[str, str]]:
    """What Twilio posts to a <Gather>'s action once the caller pressed `digits`."""
    return [("AccountSid", sandbox.account_sid), ("ApiVersion", "2010-04-01"), ("CallSid", call_sid),
            ("CallStatus", "in-progress"), ("Digits", digits), ("Direction", "inbound"), ("FinishedOnKey", ""),
            ("From", CALLER), ("To", NUMBER)]


def test_a_gather_posts_the_callers_keys_to_the_gather_endpoint_and_the_call_automation_runs_once(
        sandbox, session, client, start_listener):
    automations, _ = compile_for_kinds(TEXT_THE_CALLER, BOOK.registry)
    assert set(automations) == {InboundCall}  # gathered input has no 'call': it is 'the input'
    out = io.StringIO()
    handoff = Handoff(out, automations=automations, session=session, report=print, name="/a/text.auto")
    listener = start_listener(handoff, answers=answers_from(MENU))
    call = receive_call(sandbox.store, sender=CALLER, recipient=NUMBER, webhook=listener.endpoints["voice"])
    gather = ElementTree.fromstring(call.answer.body).find("Gather")
    assert gather.get("action") == listener.endpoints["gather"]  # not Twilio's default: the voice URL again
    assert gather.find("Say").text == "Press 1 for sales."

    pressed = deliver(gather.get("action"), gathered_params(sandbox, call.sid, "1"), sandbox.auth_token)
    assert pressed.status == 200
    assert [(c.tag, c.text) for c in ElementTree.fromstring(pressed.body)] == [("Say", "Thanks, goodbye.")]
    assert handoff.wait(timeout=10)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(line["trigger"], line["type"]) for line in lines] == [
        ("voice", "twilio inbound call"), ("gather", "twilio gathered input")]
    assert (lines[1]["event"]["sid"], lines[1]["event"]["digits"]) == (call.sid, "1")
    assert [m.body for m in client.messages.list(from_=NUMBER, to=CALLER)] == ["Thanks for calling."]


def test_digits_posted_to_the_voice_url_are_the_callers_input_not_a_new_call(sandbox, start_listener):
    received = Received()
    listener = start_listener(received, answers=answers_from(MENU))
    url = listener.endpoints["voice"]
    call = receive_call(sandbox.store, sender=CALLER, recipient=NUMBER, webhook=url)
    # What Twilio does with a <Gather> that has no action: it posts the keys to the URL that answered.
    again = deliver(url, gathered_params(sandbox, call.sid, "1"), sandbox.auth_token)
    assert again.status == 200
    assert [(c.tag, c.text) for c in ElementTree.fromstring(again.body)] == [("Say", "Thanks, goodbye.")]  # no menu
    (first, event), (second, gathered) = received.events
    assert (first, type(event), second, type(gathered)) == ("voice", InboundCall, "gather", GatheredInput)
    assert (gathered.sid, gathered.digits, gathered.sender_number, gathered.recipient_number) == (
        call.sid, "1", CALLER, NUMBER)


def test_a_gathers_action_is_on_the_url_twilio_called(sandbox, start_listener):
    public = "https://hooks.example.com/book"
    answers = answers_from({"default": {"call": {"gather": {"prompt": "Say something.", "input": "speech"}},
                                        "gathered": {"gather": {"prompt": "Anything else?"}}}})
    received = Received()
    listener = start_listener(received, public_url=public, answers=answers)
    form = [("AccountSid", sandbox.account_sid), ("CallSid", "CA" + "6" * 32), ("From", CALLER), ("To", NUMBER)]
    grouped = {name: [value] for name, value in form}
    answer = requests.post(listener.url + "/twilio/voice", data=form, timeout=5,
                           headers={"X-Twilio-Signature": sign(sandbox.auth_token, public + "/twilio/voice", grouped)})
    assert ElementTree.fromstring(answer.text).find("Gather").get("action") == public + "/twilio/gather"
    speech = form + [("SpeechResult", "Sales please."), ("Confidence", "0.92")]
    grouped = {name: [value] for name, value in speech}
    answer = requests.post(listener.url + "/twilio/gather", data=speech, timeout=5,
                           headers={"X-Twilio-Signature": sign(sandbox.auth_token, public + "/twilio/gather", grouped)})
    assert answer.status_code == 200
    assert ElementTree.fromstring(answer.text).find("Gather").get("action") == public + "/twilio/gather"
    (_, gathered), = [(n, e) for n, e in received.events if n == "gather"]
    assert (gathered.speech_result, gathered.confidence, gathered.digits) == ("Sales please.", 0.92, None)


def test_an_own_gather_action_is_kept(sandbox, start_listener):
    answers = answers_from({"default": {"call": {"gather": {"action": "https://example.com/menu"}}}})
    listener = start_listener(Received(), answers=answers)
    call = receive_call(sandbox.store, sender=CALLER, recipient=NUMBER, webhook=listener.endpoints["voice"])
    assert ElementTree.fromstring(call.answer.body).find("Gather").get("action") == "https://example.com/menu"


# -- URLs as pasted --------------------------------------------------------------------------------------


def test_a_url_pasted_with_a_trailing_slash_works_and_is_signed_as_called(sandbox, start_listener):
    received = Received()
    url = start_listener(received).endpoints["sms"] + "/"
    params = [("AccountSid", sandbox.account_sid), ("MessageSid", "SM" + "7" * 32), ("From", CALLER),
              ("To", NUMBER), ("Body", "slash")]
    assert deliver(url, params, sandbox.auth_token).status == 200  # no redirect (a redirect is not followed)
    assert [e.body for _, e in received.events] == ["slash"]
    without = {name: [value] for name, value in params}
    signed_for_other = requests.post(url, data=dict(params), timeout=5, allow_redirects=False,
                                     headers={"X-Twilio-Signature": sign(sandbox.auth_token, url.rstrip("/"), without)})
    assert signed_for_other.status_code == 403 and len(received.events) == 1


# -- answering before the automation ---------------------------------------------------------------------


class SlowAutomation:
    """An automation that waits until released, recording the events it ran on, in order."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.ran: list[str] = []

    def run(self, session, facts):
        assert self.release.wait(timeout=10)
        self.ran.append(facts["event"].sid)


def test_a_slow_automation_does_not_hold_up_the_answers_and_runs_once_per_event_in_order(sandbox, start_listener):
    slow = SlowAutomation()
    out = io.StringIO()
    handoff = Handoff(out, automations={InboundCall: slow}, session=None, report=print, name="/a/slow.auto")
    listener = start_listener(handoff, answers=answers_from({"default": {"call": {"say": "Hi."}}}))
    url = listener.endpoints["voice"]
    started = time.monotonic()
    calls = [receive_call(sandbox.store, sender=CALLER, recipient=NUMBER, webhook=url) for _ in range(3)]
    assert time.monotonic() - started < 5  # answered while every automation still waits
    assert [c.answer.status for c in calls] == [200, 200, 200]
    assert all("<Say>Hi.</Say>" in c.answer.body for c in calls)
    assert len(out.getvalue().splitlines()) == 3 and slow.ran == [] and handoff.pending == 3
    again = deliver(url, [("AccountSid", sandbox.account_sid), ("CallSid", calls[0].sid), ("From", CALLER),
                          ("To", NUMBER)], sandbox.auth_token, token="once")
    retried = deliver(url, [("AccountSid", sandbox.account_sid), ("CallSid", calls[0].sid), ("From", CALLER),
                            ("To", NUMBER)], sandbox.auth_token, token="once")
    assert (again.status, retried.status) == (200, 200)
    slow.release.set()
    assert handoff.close(timeout=10)
    assert slow.ran == [c.sid for c in calls] + [calls[0].sid]  # in order; the retried delivery once


# -- a durable queue: what a listener that stopped left ----------------------------------------------------


class Recording:
    """An automation that records the events it ran on, in order; it waits while `gate` is closed."""

    def __init__(self, *, open_: bool = True) -> None:
        self.gate = threading.Event()
        if open_:
            self.gate.set()
        self.ran: list[str] = []

    def run(self, session, facts):
        assert self.gate.wait(timeout=10)
        self.ran.append(facts["event"].sid)


def call_params(sandbox, sid: str) -> list[tuple[str, str]]:
    return [("AccountSid", sandbox.account_sid), ("CallSid", sid), ("From", CALLER), ("To", NUMBER)]


def wait_until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_an_event_whose_automation_had_not_started_when_the_listener_stopped_is_run_by_the_next_once(
        sandbox, home, start_listener):
    db = home / "triggers" / "webhooks.sqlite3"
    first, reports = Recording(open_=False), []
    handoff = Handoff(io.StringIO(), automations={InboundCall: first}, seen=SeenTokens(db), report=reports.append,
                      name="/a/calls.auto")
    url = start_listener(handoff).endpoints["voice"]
    running = receive_call(sandbox.store, sender=CALLER, recipient=NUMBER, webhook=url)
    waiting = deliver(url, call_params(sandbox, "CA" + "a" * 32), sandbox.auth_token, token="waiting")
    assert (running.answer.status, waiting.status) == (200, 200)  # answered: Twilio counts both handed on
    assert handoff.pending == 2
    assert not handoff.close(timeout=0.1)  # the listener stops with the first run going, the second not started
    first.gate.set()
    assert handoff.wait(timeout=5) and first.ran == [running.sid]  # the first ends here; the second stays queued

    second, later = Recording(), []
    out = io.StringIO()
    restarted = Handoff(out, automations={InboundCall: second}, seen=SeenTokens(db), report=later.append,
                        name="/a/calls.auto")
    url = start_listener(restarted).endpoints["voice"]
    assert restarted.wait(timeout=5)
    assert second.ran == ["CA" + "a" * 32] and first.ran == [running.sid]
    retried = deliver(url, call_params(sandbox, "CA" + "a" * 32), sandbox.auth_token, token="waiting")
    assert retried.status == 200 and out.getvalue() == ""  # Twilio's retry: recorded already, not handed on
    assert restarted.close(timeout=5)
    assert [r for r in reports + later if "cut short" in r] == []
    assert any("running the automation on 1 event(s) that a listener which stopped had queued" in r for r in later)

    third = Recording()
    again = Handoff(io.StringIO(), automations={InboundCall: third}, seen=SeenTokens(db), report=later.append,
                    name="/a/calls.auto")
    assert again.close(timeout=5) and third.ran == [] and second.ran == ["CA" + "a" * 32]
    assert again.seen.entries() == []  # done entries are deleted: the queue holds only what is left to do


STUCK_LISTENER = """
import io, sys, threading
from pathlib import Path
from procedures.webhooks.idempotency import SeenTokens
from procedures.webhooks.listen import Handoff, ListenerServer, create_listener_app
from procedures.webhooks.signature import SignatureCheck
from concepts.events import InboundCall

class Stuck:
    def run(self, session, facts):
        print("running", facts["event"].sid, flush=True)
        threading.Event().wait()

handoff = Handoff(io.StringIO(), automations={InboundCall: Stuck()}, seen=SeenTokens(Path(sys.argv[1])),
                  name="/a/calls.auto")
with ListenerServer(create_listener_app(SignatureCheck(sys.argv[2]), handoff)) as server:
    print(server.endpoints["voice"], flush=True)
    threading.Event().wait()
"""


def test_a_run_cut_short_by_a_listener_that_died_is_reported_once_and_not_run_again(sandbox, home, start_listener):
    db = home / "triggers" / "webhooks.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")} | {"TWILIO_BOOK_HOME": str(home)}
    dying = subprocess.Popen([sys.executable, "-c", STUCK_LISTENER, str(db), sandbox.auth_token], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, text=True)
    try:
        url = dying.stdout.readline().strip()
        assert url.endswith("/twilio/voice"), url
        cut_short = deliver(url, call_params(sandbox, "CA" + "c" * 32), sandbox.auth_token, token="cut-short")
        queued = deliver(url, call_params(sandbox, "CA" + "d" * 32), sandbox.auth_token, token="queued")
        assert (cut_short.status, queued.status) == (200, 200)
        assert dying.stdout.readline().split() == ["running", "CA" + "c" * 32]  # marked started, then stuck

        other, reports = Recording(), []  # another listener on the same home, while the first is alive
        handoff = Handoff(io.StringIO(), automations={InboundCall: other}, seen=SeenTokens(db),
                          report=reports.append, idle=0.05, name="/a/calls.auto")
        url = start_listener(handoff).endpoints["voice"]
        time.sleep(0.2)
        assert reports == [] and other.ran == []  # the first listener's runs are its own while it lives
        dying.kill()  # dies mid-run
        dying.wait(timeout=10)
    finally:
        if dying.poll() is None:
            dying.kill()
            dying.wait(timeout=10)
        dying.stdout.close()

    assert wait_until(lambda: other.ran == ["CA" + "d" * 32])  # the one never started runs, once
    cut = [r for r in reports if "cut short" in r]
    assert len(cut) == 1 and "CA" + "c" * 32 in cut[0] and "cut-short" in cut[0] and "check what it did" in cut[0]
    assert deliver(url, call_params(sandbox, "CA" + "c" * 32), sandbox.auth_token, token="cut-short").status == 200
    assert handoff.close(timeout=5)
    assert other.ran == ["CA" + "d" * 32]  # neither rerun nor handed on again when Twilio retried it

    later: list[str] = []
    again = Handoff(io.StringIO(), automations={InboundCall: Recording()}, seen=SeenTokens(db), report=later.append,
                    name="/a/calls.auto")
    assert again.close(timeout=5) and later == []  # reported once, not at every start
    assert [e.state for e in again.seen.entries()] == ["interrupted"]
    assert list((home / "triggers" / "webhooks.owners").iterdir()) == []  # the dead listener's lock file is gone


def test_runs_left_for_another_automation_wait_for_it_and_the_queue_stays_bounded(sandbox, home, start_listener):
    db = home / "triggers" / "webhooks.sqlite3"
    clock = [time.time()]
    seen = SeenTokens(db, clock=lambda: clock[0])
    stuck, reports = Recording(open_=False), []
    handoff = Handoff(io.StringIO(), automations={InboundCall: stuck}, seen=seen, name="/a/calls.auto")
    url = start_listener(handoff).endpoints["voice"]
    for sid in ("CA" + "e" * 32, "CA" + "f" * 32):
        assert deliver(url, call_params(sandbox, sid), sandbox.auth_token).status == 200
    assert wait_until(lambda: [e.state for e in seen.entries()] == ["started", "queued"])
    assert not handoff.close(timeout=0)  # gives up: the run going counts as cut short

    other = Recording()
    elsewhere = Handoff(io.StringIO(), automations={InboundCall: other}, seen=seen, name="/b/other.auto",
                        report=reports.append)
    assert elsewhere.close(timeout=5) and other.ran == []  # not its automation: not run, and said
    assert len(reports) == 2 and "CA" + "e" * 32 in reports[0] and "cut short" in reports[0]
    assert "1 call event(s) for the automation /a/calls.auto" in reports[1] and "--run FILE" in reports[1]
    stuck.gate.set()
    assert wait_until(lambda: stuck.ran == ["CA" + "e" * 32])

    clock[0] += 2 * seen.window  # days on: the reported run is forgotten, the one never started is kept ...
    seen.add("later")
    assert [(e.state, e.automation) for e in seen.entries()] == [("queued", "/a/calls.auto")]
    mine, late = Recording(), []
    assert Handoff(io.StringIO(), automations={InboundCall: mine}, seen=seen, name="/a/calls.auto",
                   report=late.append).close(timeout=5)
    assert mine.ran == []  # ... but too old to run when its automation comes back: reported instead
    assert len(late) == 1 and "CA" + "f" * 32 in late[0] and "too old" in late[0]
    clock[0] += seen.window
    seen.add("even later")
    assert seen.entries() == []


def sms_params(sandbox, sid: str) -> list[tuple[str, str]]:
    return [("AccountSid", sandbox.account_sid), ("MessageSid", sid), ("From", CALLER), ("To", NUMBER), ("Body", "hi")]


def test_an_event_left_waiting_longer_than_the_max_age_is_reported_once_and_never_run(sandbox, home, start_listener):
    assert DEFAULT_MAX_AGE == DEFAULT_WINDOW == 24 * 3600  # a day, like the tokens
    clock = [time.time()]
    seen = SeenTokens(home / "triggers" / "webhooks.sqlite3", clock=lambda: clock[0])
    arrived = datetime.fromtimestamp(clock[0], timezone.utc).isoformat(timespec="seconds")
    stuck, reports = Recording(open_=False), []
    handoff = Handoff(io.StringIO(), automations={InboundSmsMessage: stuck}, seen=seen, name="/a/replies.auto",
                      report=reports.append, idle=60)  # idle: it never looks for what others left (nor expires)
    url = start_listener(handoff).endpoints["sms"]
    running, old, fresh, new = ("SM" + c * 32 for c in "abcd")
    assert deliver(url, sms_params(sandbox, running), sandbox.auth_token, token="running").status == 200
    assert deliver(url, sms_params(sandbox, old), sandbox.auth_token, token="old").status == 200
    clock[0] += 20 * 3600
    assert deliver(url, sms_params(sandbox, fresh), sandbox.auth_token, token="fresh").status == 200
    assert wait_until(lambda: [e.state for e in seen.entries()] == ["started", "queued", "queued"])
    assert not handoff.close(timeout=0.1)  # stops with the first run going, the two others not started
    stuck.gate.set()
    assert handoff.wait(timeout=5) and stuck.ran == [running]

    clock[0] += 5 * 3600  # restarted 25 h after the second message arrived, 5 h after the third
    mine, later = Recording(), []
    restarted = Handoff(io.StringIO(), automations={InboundSmsMessage: mine}, seen=seen, name="/a/replies.auto",
                        report=later.append)
    url = start_listener(restarted).endpoints["sms"]
    assert deliver(url, sms_params(sandbox, new), sandbox.auth_token, token="new").status == 200
    assert restarted.close(timeout=5)
    assert mine.ran == [fresh, new] and stuck.ran == [running]  # the old one never runs; the others in order
    too_old = [r for r in reports + later if "too old" in r]
    assert len(too_old) == 1 and too_old[0] in later
    for part in (old, f"from {CALLER}", f"to {NUMBER}", f"received {arrived}", "delivery token old", "a sms event",
                 "the automation /a/replies.auto", "more than 24 h", "act on it by hand"):
        assert part in too_old[0], part
    assert any("running the automation on 1 event(s)" in r for r in later)
    assert [(e.state, e.token) for e in seen.entries()] == [("expired", "old")]

    again: list[str] = []
    assert Handoff(io.StringIO(), automations={InboundSmsMessage: Recording()}, seen=seen, name="/a/replies.auto",
                   report=again.append).close(timeout=5)
    assert again == []  # reported once, not at every start
    clock[0] += seen.window  # forgotten a day after it was reported, like a run cut short
    seen.add("later")
    assert seen.entries() == []


def test_an_event_held_up_behind_a_slow_run_past_the_max_age_is_not_run(sandbox, home, start_listener):
    clock = [time.time()]
    seen = SeenTokens(home / "triggers" / "webhooks.sqlite3", max_age=3600, clock=lambda: clock[0])
    slow, reports = Recording(open_=False), []
    handoff = Handoff(io.StringIO(), automations={InboundSmsMessage: slow}, seen=seen, report=reports.append,
                      name="/a/replies.auto")
    url = start_listener(handoff).endpoints["sms"]
    first, held = "SM" + "e" * 32, "SM" + "f" * 32
    for sid, token in ((first, "first"), (held, "held")):
        assert deliver(url, sms_params(sandbox, sid), sandbox.auth_token, token=token).status == 200
    assert wait_until(lambda: [e.state for e in seen.entries()] == ["started", "queued"])
    clock[0] += 3601  # the first run takes more than the max age
    slow.gate.set()
    assert handoff.close(timeout=5) and slow.ran == [first]
    (report,) = reports
    assert held in report and "delivery token held" in report and "more than 1 h" in report and "too old" in report
    assert [(e.state, e.token) for e in seen.entries()] == [("expired", "held")]


# -- where it listens ------------------------------------------------------------------------------------


def _has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.parametrize("host", ["0.0.0.0", pytest.param("::", marks=pytest.mark.skipif(
    not _has_ipv6(), reason="no IPv6 here"))])
def test_listening_on_every_address_gives_urls_that_reach_it_and_says_what_twilio_needs(sandbox, host):
    received = Received()
    app = create_listener_app(SignatureCheck(sandbox.auth_token), received, report=lambda message: None)
    with ListenerServer(app, host=host) as server:
        assert server.address == host
        assert server.url.startswith("http://127.0.0.1:" if host == "0.0.0.0" else "http://[::1]:")
        params = [("AccountSid", sandbox.account_sid), ("MessageSid", "SM" + "8" * 32), ("MessageStatus", "sent")]
        assert deliver(server.endpoints["message-status"], params, sandbox.auth_token).status == 204
        hint = reach_hint(server.address)
    assert len(received.events) == 1
    assert hint is not None and "--public-url" in hint and "every address" in hint
    assert "loopback" in reach_hint("127.0.0.1") and "private" in reach_hint("192.168.1.20")
    assert reach_hint("8.8.8.8") is None and reach_hint("localhost") is None  # a name: not an address bound


def test_a_bad_host_or_port_says_which_is_wrong():
    with pytest.raises(BookError) as bad_host:
        ListenerServer(None, host="no-such-host.invalid").start()
    assert "'no-such-host.invalid'" in str(bad_host.value) and "--port" not in str(bad_host.value)
    with pytest.raises(BookError) as not_here:
        ListenerServer(None, host="192.0.2.1").start()  # TEST-NET-1: an address of no machine here
    assert "not an address of this machine" in str(not_here.value) and "--port" not in str(not_here.value)
    with pytest.raises(BookError, match="99999 is not a port number"):
        ListenerServer(None, port=99999).start()
    with ListenerServer(None) as taken, pytest.raises(BookError) as in_use:
        ListenerServer(None, port=int(taken.url.rsplit(":", 1)[1])).start()
    assert "is in use" in str(in_use.value) and "--port" in str(in_use.value)


def test_each_kind_of_event_is_printed_as_one_json_line_with_its_data_as_the_book_writes_it_and_queued_so():
    from book.output import jsonable

    params = {"AccountSid": "AC" + "1" * 32, "MessageSid": "SM" + "2" * 32, "CallSid": "CA" + "3" * 32, "From": CALLER,
              "To": NUMBER, "Body": 'Caf\u00e9 "quoted" \\ back\nslash \U0001f600', "MessageStatus": "delivered",
              "CallStatus": "ringing", "Digits": "42", "NumMedia": "0", "ErrorCode": "30003"}
    events = [MessageStatusEvent.from_webhook(params), InboundSmsMessage.from_webhook(params),
              InboundWhatsappMessage.from_webhook({**params, "From": "whatsapp:" + CALLER, "To": "whatsapp:" + NUMBER}),
              InboundCall.from_webhook(params), GatheredInput.from_webhook(params)]
    out = io.StringIO()
    handoff = Handoff(out, automations={type(event): Recording() for event in events}, name="/a/any.auto", idle=60)
    queued = [handoff("endpoint", event) for event in events]
    handoff.close(timeout=5)
    lines = out.getvalue().splitlines()
    assert len(lines) == len(events)
    for line, event, entry in zip(lines, events, queued, strict=True):
        assert json.loads(line) == {"trigger": "endpoint", "type": event.concept_name, "event": jsonable(event)}
        assert type(event).model_validate_json(entry.event) == event  # the queue rebuilds it as it came


def test_the_command_line_knows_every_kind_of_event():
    from procedures.webhooks.cli import KIND_NAMES  # the command line imports only the standard library: its own list
    from procedures.webhooks.listen import KINDS

    assert tuple(kind.name for kind in KINDS) == KIND_NAMES


# -- concurrency: the store, its lock files and the worker ---------------------------------------------


class Watched:
    """A lock that says when someone waits for it (`waiting`), to stand in for a store's own."""

    def __init__(self, lock: threading.Lock) -> None:
        self.lock = lock
        self.waiting = threading.Event()

    def __enter__(self) -> Watched:
        self.waiting.set()
        self.lock.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def test_a_delivery_waiting_for_the_store_does_not_hold_up_the_listener(sandbox, start_listener):
    seen, held = SeenTokens(), threading.Lock()
    seen._lock = watched = Watched(held)
    received = Received()
    listener = start_listener(received, seen=seen)
    params = [("AccountSid", sandbox.account_sid), ("MessageSid", "SM" + "9" * 32), ("MessageStatus", "sent")]
    answers = []
    with held:  # as the worker holds it while another process's write lock keeps it waiting
        delivery = threading.Thread(target=lambda: answers.append(
            deliver(listener.endpoints["message-status"], params, sandbox.auth_token, token="waits")))
        delivery.start()
        assert watched.waiting.wait(timeout=5)  # the delivery waits for the store ...
        assert requests.get(listener.url + "/", timeout=2).status_code == 200  # ... off the event loop
        assert received.events == []
    delivery.join(timeout=10)
    assert [a.status for a in answers] == [204] and len(received.events) == 1
    seen.close()


def test_two_listeners_on_one_home_hand_a_token_on_once(tmp_path):
    db = tmp_path / "webhooks.sqlite3"
    first, second = SeenTokens(db), SeenTokens(db)
    handed_on, racing, raced = [], [], []

    def hand_on_first():
        handed_on.append("first")
        other = threading.Thread(target=lambda: raced.append(second.hand_on_once("t", lambda: handed_on.append("2"))))
        other.start()
        racing.append(other)
        other.join(timeout=0.2)
        assert other.is_alive()  # the other waits for this transaction to end, instead of checking before it
        return Queued(kind="call", event="{}", label="a call", automation="/a/calls.auto", owner="someone")

    handed, entry = first.hand_on_once("t", hand_on_first)
    racing[0].join(timeout=10)
    assert handed and entry is not None and raced == [(False, None)] and handed_on == ["first"]
    assert [(e.id, e.token) for e in second.entries()] == [(entry, "t")]

    def fail():
        raise OSError("stdout went away")

    with pytest.raises(OSError):
        first.hand_on_once("u", fail)
    assert "u" not in second and second.hand_on_once("u", lambda: None) == (True, None)  # nothing was recorded
    assert first.hand_on_once(None, lambda: None) == (True, None)  # no token: always handed on
    first.close()
    second.close()


def test_an_owners_lock_file_is_kept_while_held_and_a_free_one_only_once_it_is_stale(tmp_path):
    from procedures.webhooks import idempotency

    seen = SeenTokens(tmp_path / "webhooks.sqlite3")
    folder = tmp_path / "webhooks.owners"
    folder.mkdir()
    starting, died = folder / "starting.lock", folder / "died.lock"
    starting.touch()  # an owner starting up made it, and has not locked it yet
    died.touch()
    old = time.time() - idempotency.STALE_LOCK - 1
    os.utime(died, (old, old))  # a listener that died a while ago left it
    other = subprocess.Popen([sys.executable, "-c", (  # a live owner in another process holds its lock file
        "import sys, time; from book.locks import hold; lock = hold(__import__('pathlib').Path(sys.argv[1])); "
        "print('held' if lock else 'busy', flush=True); time.sleep(30)"), str(folder / "other.lock")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "held"
        assert seen._alive("other") and (folder / "other.lock").exists()  # held: alive, and kept
        assert not seen._alive("starting") and starting.exists()  # free but young: not alive, and kept
        assert not seen._alive("died") and not died.exists()  # free and stale: deleted
        owner = seen.join()
        assert seen._alive(owner) and (folder / f"{owner}.lock").exists()
        seen.leave(owner)
        assert not (folder / f"{owner}.lock").exists()
    finally:
        other.kill()
        other.wait(timeout=10)
        seen.close()
    assert not SeenTokens(tmp_path / "webhooks.sqlite3")._alive("other")  # its process ended: the lock is free


class FailingCommit:
    """A connection whose next COMMIT fails as when another process holds the database."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.fail = True

    def execute(self, sql: str, *args):
        if sql == "COMMIT" and self.fail:
            self.fail = False
            raise sqlite3.OperationalError("database is locked")
        return self.db.execute(sql, *args)

    def __getattr__(self, name: str):
        return getattr(self.db, name)


def test_a_commit_that_fails_is_rolled_back_and_the_store_goes_on(tmp_path):
    seen = SeenTokens(tmp_path / "webhooks.sqlite3")
    seen._db = FailingCommit(seen._db)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        seen.add("lost")
    assert "lost" not in seen  # rolled back, not left open on the shared connection ...
    seen.add("kept")  # ... so the next transaction starts
    assert "kept" in seen and "lost" not in seen
    seen.close()


SETTLING_LISTENER = """
import gc, io, sys
from pathlib import Path
from book import startup
from concepts.events import InboundCall
from procedures.webhooks.idempotency import Queued, SeenTokens
from procedures.webhooks.listen import ENDPOINTS, Handoff
from procedures.webhooks.signature import Params

class ImportsAModule:
    def run(self, session, facts):
        import colorsys  # as a listener's first run imports the SDK
        print("ran", facts["event"].sid, flush=True)

startup.whole_process()  # as `twilio-book listen` runs
voice = next(endpoint for endpoint in ENDPOINTS if endpoint.name == "voice")
event = voice.parse(Params.of([("AccountSid", "AC" + "0" * 32), ("CallSid", "CA" + "e" * 32), ("From", sys.argv[2]),
                               ("To", sys.argv[3])]))
seen = SeenTokens(Path(sys.argv[1]))
handoff = Handoff(io.StringIO(), automations={InboundCall: ImportsAModule()}, seen=seen, name="/a/calls.auto")
startup.settle()
before = gc.get_freeze_count()
seen.add("t", Queued(kind="call", event=event.model_dump_json(), label="a call", automation="/a/calls.auto",
                     owner=handoff.owner))
assert handoff.close(timeout=10)
print("frozen since", gc.get_freeze_count() > before)
"""


def test_a_listeners_run_that_imported_modules_is_followed_by_a_settle(tmp_path):
    done = subprocess.run([sys.executable, "-c", SETTLING_LISTENER, str(tmp_path / "webhooks.sqlite3"), CALLER, NUMBER],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["ran CA" + "e" * 32, "frozen since True"]


def test_a_worker_whose_handoff_closed_takes_over_nothing(tmp_path):
    seen = SeenTokens(tmp_path / "webhooks.sqlite3")
    handoff = Handoff(io.StringIO(), automations={InboundCall: Recording()}, seen=seen, name="/a/calls.auto", idle=60)
    assert handoff.close(timeout=5)
    seen.add(None, Queued(kind="call", event="{}", label="a call", automation="/a/calls.auto", owner="gone"))
    handoff.idle = 0  # the worker's look for what stopped listeners left is due when it wakes after close ...
    handoff._work()  # ... (as it may, racing close): it stops before taking over anything
    assert [(e.owner, e.state) for e in seen.entries()] == [("gone", "queued")]
    seen.close()


def test_a_handoff_with_automations_needs_their_name():
    with pytest.raises(ValueError, match="name"):
        Handoff(io.StringIO(), automations={InboundCall: Recording()})
    assert Handoff(io.StringIO()).close(timeout=5)  # nothing to run: no name needed


def test_a_handoff_closes_the_store_it_made_and_only_that():
    own = Handoff(io.StringIO())
    made = own.seen
    assert own.close(timeout=5)
    with pytest.raises(sqlite3.ProgrammingError):
        made.entries()
    given = SeenTokens()
    assert Handoff(io.StringIO(), seen=given).close(timeout=5)
    assert given.entries() == []
    given.close()


def test_the_command_line_says_queued_runs_wait_a_day():
    import argparse

    from procedures import APP
    from procedures.webhooks.cli import _hours, add_listen_command

    parser = argparse.ArgumentParser()
    add_listen_command(parser.add_subparsers(), APP)
    listen = parser._subparsers._group_actions[0].choices["listen"]
    assert "within 24 hours of their arrival (older ones are reported, not run)" in listen.description
    assert _hours(DEFAULT_MAX_AGE) == "24 hours" and _hours(3600) == "1 hour"
