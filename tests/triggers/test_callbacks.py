"""The sandbox plays Twilio: signed status callbacks from a background thread, retries, numbers' webhooks."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qsl

import pytest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from book.errors import SandboxError
from book.sandbox.callbacks import ATTEMPTS, IncomingNumbers, deliver, receive_message
from book.triggers.listen import ListenerServer
from tests.triggers.conftest import CALLER, NUMBER, START


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


@pytest.fixture
def recorder() -> Iterator[tuple[Recorder, str]]:
    recorder = Recorder()
    with ListenerServer(recorder.app) as server:
        yield recorder, server.url + "/hook"
        recorder.release.set()


def test_status_callbacks_are_form_encoded_and_signed_as_twilio_signs(sandbox, clock, client, recorder):
    hook, url = recorder
    message = client.messages.create(to=CALLER, from_=NUMBER, body="Hi", status_callback=url)
    hook.wait_for(1)
    clock.advance(2)
    requests = hook.wait_for(3)
    assert [dict(form)["MessageStatus"] for _, _, form in requests] == ["queued", "sent", "delivered"]
    validator = RequestValidator(sandbox.auth_token)
    for called, headers, form in requests:
        params = dict(form)
        assert called == url
        assert validator.validate(url, params, headers["x-twilio-signature"])
        assert headers["content-type"].startswith("application/x-www-form-urlencoded")
        assert headers["user-agent"].startswith("TwilioProxy/")
        assert params["MessageSid"] == params["SmsSid"] == message.sid
        assert params["MessageStatus"] == params["SmsStatus"]
        assert (params["AccountSid"], params["From"], params["To"], params["ApiVersion"]) == \
               (sandbox.account_sid, NUMBER, CALLER, "2010-04-01")
    assert len({headers["i-twilio-idempotency-token"] for _, headers, _ in requests}) == 3
    assert "RawDlrDoneDate" in dict(requests[2][2])


def test_creating_a_message_does_not_wait_for_its_callbacks(sandbox, client, recorder):
    hook, url = recorder
    hook.release.clear()  # the webhook hangs until released
    began = time.monotonic()
    client.messages.create(to=CALLER, from_=NUMBER, body="Hi", status_callback=url)
    assert time.monotonic() - began < 1.0
    hook.release.set()
    assert len(hook.wait_for(1)) == 1


def test_a_canceled_message_reports_canceled_and_nothing_after(sandbox, clock, client, recorder):
    hook, url = recorder
    message = client.messages.create(to=CALLER, messaging_service_sid="MG" + "a" * 32, body="Later",
                                     schedule_type="fixed", send_at=START + timedelta(hours=1), status_callback=url)
    hook.wait_for(1)
    client.messages(message.sid).update(status="canceled")
    hook.wait_for(2)
    clock.advance(7200)
    time.sleep(0.1)
    assert [dict(form)["MessageStatus"] for _, _, form in hook.requests] == ["scheduled", "canceled"]


def test_a_failed_delivery_is_retried_with_the_same_token_a_bounded_number_of_times(sandbox, recorder):
    hook, url = recorder
    hook.statuses = [500, 503]
    answer = deliver(url, [("MessageSid", "SM1")], sandbox.auth_token, sleep=lambda s: None)
    assert answer.status == 204
    assert len({headers["i-twilio-idempotency-token"] for _, headers, _ in hook.requests}) == 1
    assert len(hook.requests) == 3

    hook.requests.clear()
    hook.statuses = [500] * (ATTEMPTS + 1)
    assert deliver(url, [("MessageSid", "SM1")], sandbox.auth_token, sleep=lambda s: None).status == 500
    assert len(hook.requests) == ATTEMPTS

    hook.requests.clear()
    hook.statuses = [404]
    assert deliver(url, [("MessageSid", "SM1")], sandbox.auth_token, sleep=lambda s: None).status == 404
    assert len(hook.requests) == 1  # a 4xx is an answer, not a failure to retry


def test_an_unreachable_webhook_is_a_sandbox_error(sandbox):
    with ListenerServer(Recorder().app) as server:
        url = server.url + "/hook"
    with pytest.raises(SandboxError, match="could not be reached"):
        deliver(url, [("MessageSid", "SM1")], sandbox.auth_token, sleep=lambda s: None)


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
