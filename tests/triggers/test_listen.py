"""The webhook loop over real HTTP: the sandbox plays Twilio, posting signed webhooks to a running listener."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ElementTree

import requests

from book.runtime import Automation
from book.sandbox.callbacks import deliver, receive_call, receive_message
from book.triggers.listen import Handoff, compile_for_kinds
from book.triggers.signature import sign
from book.triggers.twiml import answers_from
from concepts.events import InboundCall, InboundSmsMessage, InboundWhatsappMessage, MessageStatusEvent
from procedures import BOOK
from tests.triggers.conftest import CALLER, NUMBER, Received


def test_a_message_with_a_status_callback_reports_each_status_once(sandbox, clock, client, start_listener):
    received = Received()
    listener = start_listener(received)
    message = client.messages.create(to=CALLER, from_=NUMBER, body="Hello",
                                     status_callback=listener.endpoints["message-status"])
    received.wait_for(1)
    clock.advance(0.3)  # the sandbox sends a message 0.2 s after it is queued ...
    received.wait_for(2)
    clock.advance(1.0)  # ... and it is delivered 0.8 s later
    events = received.wait_for(3)
    assert [(name, e.status) for name, e in events] == [
        ("message-status", "queued"), ("message-status", "sent"), ("message-status", "delivered")]
    assert all(isinstance(e, MessageStatusEvent) and e.sid == message.sid for _, e in events)
    assert events[0][1].account_sid == sandbox.account_sid
    assert (events[0][1].sender_number, events[0][1].recipient_number) == (NUMBER, CALLER)
    assert events[0][1].api_version == "2010-04-01"
    assert received.wait_for(4, timeout=0.3) == events  # nothing more


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
    answer = deliver(url, params, sandbox.auth_token, token="retried", sleep=lambda s: None)
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
    assert set(problems) == {"call"}  # a call has no 'message'
    out = io.StringIO()
    listener = start_listener(Handoff(out, automations=automations, session=session, report=print))
    received = receive_message(sandbox.store, sender=CALLER, recipient=NUMBER, body="Is this thing on?",
                               webhook=listener.endpoints["sms"])
    assert received.answer.status == 200
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
    listener = start_listener(Handoff(out, automations={InboundSmsMessage: automation}, session=session,
                                      report=reports.append))
    received = receive_message(sandbox.store, sender=CALLER, recipient=NUMBER, body="hi", webhook=listener.endpoints["sms"])
    assert received.answer.status == 200
    assert len(out.getvalue().splitlines()) == 1
    assert len(reports) == 1 and "21212" in reports[0] and received.sid in reports[0]
