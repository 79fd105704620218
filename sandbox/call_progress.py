"""A call the API created, followed as Twilio would: its status callbacks, and the conversation its TwiML connects.

A call is `queued`, `ringing` at its start time, answered (`in-progress`) after it rang, and `completed` when it
ends (`sandbox.call_store`: the clock moves it). A call created with a `StatusCallback` has that URL posted to,
signed, as each event it asked for (`StatusCallbackEvent`: initiated, ringing, answered, completed; without
it, completed only) comes (https://www.twilio.com/docs/voice/api/call-resource#statuscallbackevent), with
Twilio's parameters (`CallSid`, `CallStatus`, `CallDuration`, `Direction`, `Timestamp`, `SequenceNumber`...).

A call whose TwiML (`Twiml`) connects it to a WebSocket (`<Connect><ConversationRelay>` or `<Connect><Stream>`)
talks when it is answered: the person called says what the sandbox's script for their number says
(`CallScripts`; by default "Hello?"), through `sandbox.voice`; the call ends when the conversation does (the
automation hangs up, or the script runs out), and is `completed` then.

The sandbox that created the call follows it, in a thread of its own, while it runs (a call made by a process that
exits is not followed further: its status still moves with the clock).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Sequence

from sandbox.call_store import CallRecord, CallStore
from sandbox.callbacks import Post, deliver, post_form
from sandbox.clock import rfc2822
from sandbox.errors import SandboxError
from sandbox.resource import API_VERSION
from sandbox.store import Store, register_tables
from sandbox.voice import Said, Target, connect_target, relay, stream

log = logging.getLogger(__name__)

TICK = 0.02
"""Seconds between two looks at the clock while a call waits for its next moment."""
DEFAULT_SCRIPT = ("Hello?",)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS call_scripts (
    phone_number TEXT PRIMARY KEY,
    says TEXT NOT NULL
)
"""
register_tables(_SCHEMA, ("call_scripts",))


class CallScripts:
    """What the person at a number says when the sandbox calls it and the call talks (`#5`: they press 5)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def set(self, phone_number: str, says: Sequence[str]) -> None:
        with self.store.transaction() as db:
            db.execute("REPLACE INTO call_scripts (phone_number, says) VALUES (?, ?)", (phone_number, json.dumps(list(says))))

    def get(self, phone_number: str) -> list[str]:
        rows = self.store.query("SELECT says FROM call_scripts WHERE phone_number = ?", (phone_number,))
        return json.loads(rows[0][0]) if rows else list(DEFAULT_SCRIPT)


def call_status_params(record: CallRecord, status: str, at_us: int, sequence: int) -> list[tuple[str, str]]:
    """A call status callback's parameters, as Twilio posts them."""
    params = [
        ("AccountSid", record.account_sid), ("ApiVersion", API_VERSION), ("CallSid", record.sid),
        ("CallStatus", status), ("CallbackSource", "call-progress-events"), ("Called", record.to),
        ("Caller", record.from_), ("Direction", record.direction), ("From", record.from_),
        ("SequenceNumber", str(sequence)), ("Timestamp", rfc2822(at_us) or ""), ("To", record.to),
    ]
    if status == "completed":
        params.append(("CallDuration", str(record.duration_at(at_us) or 0)))
    return params


class CallProgress:
    """Follows the calls a sandbox creates (`follow`), each in a thread, until it closes."""

    def __init__(self, store: Store, *, post: Post = post_form) -> None:
        self.store = store
        self._post = post
        self._closed = threading.Event()
        self._threads: list[threading.Thread] = []

    def follow(self, record: CallRecord) -> None:
        """Follow a new call, if it has a status callback or TwiML that talks."""
        params = record.params
        twiml = params.get("Twiml")
        target = connect_target(twiml) if isinstance(twiml, str) else None
        if not params.get("StatusCallback") and target is None:
            return
        thread = threading.Thread(target=self._run, args=(record, target), name=f"sandbox-call-{record.sid}",
                                  daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def close(self) -> None:
        self._closed.set()
        for thread in self._threads:
            thread.join(timeout=1.0)

    def _run(self, record: CallRecord, target: Target | None) -> None:
        try:
            self._follow(record, target)
        except sqlite3.ProgrammingError:  # the store closed under it: the sandbox is gone
            pass
        except Exception as err:  # the sandbox must not die of one call
            log.warning("call %s: %s: %s", record.sid, type(err).__name__, err)

    def _follow(self, record: CallRecord, target: Target | None) -> None:
        calls = CallStore(self.store)
        url = record.params.get("StatusCallback")
        events = set(" ".join(record.params.get("StatusCallbackEvent") or ["completed"]).split()) | {"completed"}
        sequence = 0

        def report(status: str) -> None:
            nonlocal sequence
            current = calls.get_call(record.sid)
            if url and current is not None:
                try:
                    deliver(url, call_status_params(current, status, self.store.now_us(), sequence), self.store.auth_token,
                            post=self._post)
                except SandboxError as err:
                    log.warning("status callback of the call %s (%s) not delivered: %s", record.sid, status, err)
                sequence += 1

        if "initiated" in events:
            report("initiated")
        for moment, event, status in ((record.start_us, "ringing", "ringing"), (record.answer_us, "answered", "in-progress")):
            if not self._until(moment, record.sid):
                return
            if event in events:
                report(status)
        if target is not None:
            self._talk(record, target)
            calls.finish(record.sid, "completed", self.store.now_us())
        elif not self._until(record.end_us, record.sid):
            return
        current = calls.get_call(record.sid)
        if current is not None and current.status_at(self.store.now_us()) in ("completed", "busy", "failed", "no-answer",
                                                                              "canceled"):
            report(current.status_at(self.store.now_us()))

    def _until(self, moment: int | None, sid: str) -> bool:
        """Wait for the store's clock to reach `moment`; False if the sandbox closed or the call is gone."""
        while moment is not None and self.store.now_us() < moment:
            if self._closed.wait(TICK):
                return False
        return not self._closed.is_set() and CallStore(self.store).get_call(sid) is not None

    def _talk(self, record: CallRecord, target: Target) -> None:
        says = [Said.of(line) for line in CallScripts(self.store).get(record.to)]
        try:
            if target.kind == "relay":
                setup = {"accountSid": record.account_sid, "callSid": record.sid, "parentCallSid": "",
                         "from": record.from_, "to": record.to, "direction": record.direction, "callType": "PSTN",
                         "callStatus": "IN-PROGRESS", "callerName": "", "forwardedFrom": ""}
                relay(target, self.store.auth_token, setup, says)
            else:
                stream(target, self.store.auth_token, account_sid=record.account_sid, call_sid=record.sid,
                       digits=[s.digit for s in says if s.digit])
        except SandboxError as err:  # as at Twilio: the call goes on to its end without the socket
            log.warning("call %s: %s", record.sid, err)
