"""`listen --temporal`: each signed webhook becomes one workflow (signal-with-start keyed by the delivery),
so a redelivery, to this listener or another one, is one run of the automation."""

from __future__ import annotations

import io
import json
import time
import uuid
from typing import Any

import requests

from book.runtime import compile_with_facts
from concepts.events import InboundSmsMessage
from procedures import BOOK
from procedures.webhooks.listen import KINDS
from procedures.webhooks.temporal import TemporalHandoff
from sandbox.callbacks import deliver, sign
from tests.conftest import CALLER, NUMBER

REPLY = '''send an SMS message where
  the sender number is the message's recipient number
  the recipient number is the message's sender number
  the message body is "Thanks, we got it."
'''


def inbound_params(sandbox: Any, sid: str, body: str) -> list[tuple[str, str]]:
    return [("AccountSid", sandbox.account_sid), ("MessageSid", sid), ("SmsSid", sid), ("From", CALLER),
            ("To", NUMBER), ("Body", body), ("NumMedia", "0"), ("SmsStatus", "received"), ("ApiVersion", "2010-04-01")]


def post_without_token(url: str, params: list[tuple[str, str]], auth_token: str) -> int:
    """A signed POST with no idempotency token (as an older or a proxied delivery may come)."""
    grouped: dict[str, list[str]] = {}
    for name, value in params:
        grouped.setdefault(name, []).append(value)
    signature = sign(auth_token, url, grouped)
    return requests.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=10).status_code


def replies(client: Any) -> list[str]:
    return [m.body for m in client.messages.list(from_=NUMBER, to=CALLER)]


def test_each_delivery_is_one_run_across_listeners_and_redeliveries(temporal, sandbox, shared_queue,
                                                                      start_listener, client, on_temporal):
    task_queue = shared_queue
    kind = next(k for k in KINDS if k.concept is InboundSmsMessage)
    automations = {InboundSmsMessage: compile_with_facts(REPLY, BOOK.registry, {"event": kind.concept,
                                                                                  kind.fact: kind.concept})}
    outs = [io.StringIO(), io.StringIO()]
    name = f"/a/{uuid.uuid4()}/reply.auto"  # this test's runs, among the other tests' on the shared queue
    handoffs = [TemporalHandoff(BOOK, automations, REPLY, "reply.auto", target=temporal.target,
                                task_queue=task_queue, name=name, out=out, heartbeat=2)
                for out in outs]
    try:
        # two listeners (behind one public URL, each with its own record of tokens): Twilio may reach either
        urls = [start_listener(handoff).endpoints["sms"] for handoff in handoffs]
        first = inbound_params(sandbox, "SM" + "a" * 32, "first")
        assert deliver(urls[0], first, sandbox.auth_token, token="delivery-a").status == 200
        assert deliver(urls[1], first, sandbox.auth_token, token="delivery-a").status == 200  # redelivered elsewhere
        second = inbound_params(sandbox, "SM" + "b" * 32, "second")
        assert post_without_token(urls[0], second, sandbox.auth_token) == 200  # keyed by the event itself
        assert post_without_token(urls[1], second, sandbox.auth_token) == 200
        deadline = time.monotonic() + 20
        while len(replies(client)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # a second run, if any, would have sent by now
        assert post_without_token(urls[1], second, sandbox.auth_token) == 200  # after its run ended: nothing starts
    finally:
        for handoff in handoffs:
            handoff.close()

    assert replies(client) == ["Thanks, we got it."] * 2
    assert (handoffs[0].handed, handoffs[0].already_ran) == (2, 0)
    assert handoffs[1].handed + handoffs[1].already_ran == 3 and handoffs[1].already_ran >= 1
    lines = [json.loads(line) for out in outs for line in out.getvalue().splitlines()]
    assert sorted(line["event"]["body"] for line in lines) == ["first", "first", "second", "second", "second"]

    async def runs(temporal_client: Any) -> list[tuple[str, Any]]:
        query = f'TaskQueue = "{task_queue}"'
        return [(wf.id, wf.status.name) async for wf in temporal_client.list_workflows(query)
                if wf.id.startswith(handoffs[0].prefix)]

    deadline = time.monotonic() + 10  # the list of workflows is eventually consistent
    while len(found := on_temporal(runs)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sorted(status for _, status in found) == ["COMPLETED", "COMPLETED"]
    assert any(workflow_id.endswith("-delivery-a") for workflow_id, _ in found)
