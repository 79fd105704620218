"""The sandbox playing Twilio's part in webhooks: status callbacks, inbound messages and inbound calls.

Status callbacks. A message created with `StatusCallback` has its status changes (queued, sent,
delivered; or canceled) posted to that URL, form-encoded with Twilio's parameters (`MessageSid`,
`MessageStatus`, `AccountSid`, `From`, `To`, `ApiVersion`...), signed with the sandbox's auth token as
Twilio signs (`X-Twilio-Signature`) and with an `I-Twilio-Idempotency-Token` that stays the same when
a delivery is retried. `StatusCallbacks` posts from a background thread that follows the store's clock
(a `ManualClock` moves the statuses in a test), so creating a message never waits for its callbacks. A
delivery is retried a few times on a connection failure, a 5xx or a 429, then given up (and logged).

Inbound messages and calls. The sandbox keeps, per number, the URL Twilio would call when the number
receives a message (`sms_url`) or a call (`voice_url`): the `incoming_numbers` table, set with
`IncomingNumbers.configure` (`twilio-book listen --sandbox --number N` points a number at the
listener). `receive_message` stores an inbound message and posts it, signed, to the number's
`sms_url`, then sends the `<Message>` replies of the TwiML it gets back, as Twilio does;
`receive_call` posts an inbound call to the `voice_url` and returns the TwiML answer. `sandbox
reset` empties the table with the rest of the data.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request

from book.errors import SandboxError
from book.sandbox.clock import us_to_datetime
from book.sandbox.ids import new_sid
from book.sandbox.records import MessageRecord
from book.sandbox.resource import API_VERSION
from book.sandbox.store import Store, register_tables
from book.triggers.idempotency import TOKEN_HEADER
from book.triggers.signature import SIGNATURE_HEADER, sign

log = logging.getLogger(__name__)

ATTEMPTS = 3
"""How many times one delivery is tried before it is given up."""
TIMEOUT = 5.0
"""Seconds to wait for a webhook to answer."""
FOLLOW_FOR = 600.0
"""Seconds (real time) a message's status is followed at most."""
USER_AGENT = "TwilioProxy/1.1"
_TERMINAL = frozenset({"delivered", "undelivered", "failed", "canceled", "read", "received"})
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS incoming_numbers (
    phone_number TEXT PRIMARY KEY,
    sms_url TEXT,
    voice_url TEXT,
    updated_us INTEGER NOT NULL
)
"""
register_tables(_SCHEMA, ("incoming_numbers",))

Post = Callable[[str, bytes, Mapping[str, str]], "Answer"]


@dataclass(frozen=True)
class Answer:
    """What a webhook answered."""

    status: int
    body: str = ""


# -- delivering one webhook ------------------------------------------------------------------------


def post_form(url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
    """POST with `requests` (no proxy for a loopback URL); raises `requests.RequestException`."""
    import requests

    with requests.Session() as session:
        session.trust_env = (urlsplit(url).hostname or "") not in _LOOPBACK
        response = session.post(url, data=body, headers=dict(headers), timeout=TIMEOUT, allow_redirects=False)
        return Answer(response.status_code, response.text)


def deliver(
    url: str,
    params: Sequence[tuple[str, str]],
    auth_token: str,
    *,
    token: str | None = None,
    attempts: int = ATTEMPTS,
    post: Post = post_form,
    sleep: Callable[[float], None] = time.sleep,
) -> Answer:
    """Post `params` to `url` as Twilio does: form-encoded, signed, with one idempotency token for every retry.

    Retries (up to `attempts`, backing off) on a connection failure, a 5xx or a 429; returns the last
    answer, or raises `SandboxError` when the URL could never be reached.
    """
    import requests

    grouped: dict[str, list[str]] = {}
    for name, value in params:
        grouped.setdefault(name, []).append(value)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: sign(auth_token, url, grouped),
        TOKEN_HEADER: token or uuid.uuid4().hex,
    }
    body = urlencode(list(params)).encode("utf-8")
    problem = "it was not tried"
    for attempt in range(attempts):
        if attempt:
            sleep(0.1 * 2**attempt)
        try:
            answer = post(url, body, headers)
        except requests.RequestException as err:
            problem = f"{type(err).__name__}"
            continue
        if answer.status < 500 and answer.status != 429:
            return answer
        problem = f"HTTP {answer.status}"
        if attempt == attempts - 1:
            return answer
    raise SandboxError(f"the webhook {url} could not be reached ({problem}, {attempts} attempts); is the listener running?")


# -- status callbacks --------------------------------------------------------------------------------


def status_params(record: MessageRecord, status: str, now_us: int) -> list[tuple[str, str]]:
    """A message status callback's parameters, as Twilio posts them."""
    params = [
        ("AccountSid", record.account_sid),
        ("ApiVersion", API_VERSION),
        ("MessageSid", record.sid),
        ("MessageStatus", status),
        ("SmsSid", record.sid),
        ("SmsStatus", status),
        ("To", record.to),
    ]
    if record.from_:
        params.append(("From", record.from_))
    if record.messaging_service_sid:
        params.append(("MessagingServiceSid", record.messaging_service_sid))
    if status in ("failed", "undelivered") and record.error_code is not None:
        params.append(("ErrorCode", str(record.error_code)))
    if status == "delivered":
        params.append(("RawDlrDoneDate", us_to_datetime(now_us).strftime("%y%m%d%H%M")))
    return params


def reached(record: MessageRecord, now_us: int) -> list[str]:
    """The statuses the message has had by `now_us`, in order."""
    statuses = [record.initial_status]
    if record.final_status is not None:
        statuses.append(record.final_status)
        return statuses
    if record.sent_us is not None and now_us >= record.sent_us:
        statuses.append("sent")
        if record.delivered_us is not None and now_us >= record.delivered_us:
            statuses.append("delivered")
    return statuses


@dataclass
class _Followed:
    url: str
    posted: set[str] = field(default_factory=set)
    since: float = field(default_factory=time.monotonic)


class StatusCallbacks:
    """Posts each followed message's status changes to its StatusCallback, from a background thread.

    The thread runs while some message is followed, checking the store's clock every `tick` seconds.
    """

    def __init__(self, store: Store, *, tick: float = 0.02, post: Post = post_form,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.store = store
        self.tick = tick
        self._post = post
        self._sleep = sleep
        self._followed: dict[str, _Followed] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def follow(self, record: MessageRecord) -> None:
        """Post this message's status changes to its StatusCallback (nothing if it has none)."""
        url = record.params.get("StatusCallback")
        if not url:
            return
        with self._lock:
            self._followed[record.sid] = _Followed(str(url))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="twilio-book-status-callbacks", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._followed:
                    self._thread = None
                    return
                followed = list(self._followed.items())
            for sid, state in followed:
                if not self._advance(sid, state):
                    with self._lock:
                        self._followed.pop(sid, None)
            time.sleep(self.tick)

    def _advance(self, sid: str, state: _Followed) -> bool:
        """Post what is new for one message; whether to keep following it."""
        try:
            record = self.store.get_message(sid)
            now = self.store.now_us()
        except Exception:  # the store was closed: the sandbox stopped
            return False
        if record is None or time.monotonic() - state.since > FOLLOW_FOR:
            return False
        for status in reached(record, now):
            if status in state.posted:
                continue
            state.posted.add(status)
            try:
                deliver(state.url, status_params(record, status, now), self.store.auth_token,
                        token=f"{sid}-{status}-{uuid.uuid4().hex[:8]}", post=self._post, sleep=self._sleep)
            except SandboxError as err:
                log.warning("status callback for %s (%s) not delivered: %s", sid, status, err)
        return not (record.final_status is not None or state.posted & _TERMINAL)


def follow_status(request: Request, record: MessageRecord) -> None:
    """Called when a message is created: post its status changes if it has a StatusCallback."""
    if not record.params.get("StatusCallback"):
        return
    state = request.app.state
    callbacks = getattr(state, "status_callbacks", None)
    if callbacks is None:
        callbacks = state.status_callbacks = StatusCallbacks(request.app.state.store)
    callbacks.follow(record)


# -- numbers' webhooks, inbound messages and calls -----------------------------------------------------------


@dataclass(frozen=True)
class IncomingNumber:
    """A number's webhooks: where Twilio posts the messages and the calls it receives."""

    phone_number: str
    sms_url: str | None
    voice_url: str | None


class IncomingNumbers:
    """The sandbox's numbers and their webhook URLs (the `incoming_numbers` table of the store)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def configure(self, phone_number: str, *, sms_url: str | None = None, voice_url: str | None = None) -> IncomingNumber:
        """Set a number's webhooks (a URL left out keeps its current value)."""
        current = self.get(phone_number)
        number = IncomingNumber(
            phone_number,
            sms_url if sms_url is not None else (current.sms_url if current else None),
            voice_url if voice_url is not None else (current.voice_url if current else None),
        )
        with self.store.transaction() as db:
            db.execute("REPLACE INTO incoming_numbers (phone_number, sms_url, voice_url, updated_us) VALUES (?, ?, ?, ?)",
                       (number.phone_number, number.sms_url, number.voice_url, self.store.now_us()))
        return number

    def get(self, phone_number: str) -> IncomingNumber | None:
        rows = self.store.query("SELECT phone_number, sms_url, voice_url FROM incoming_numbers WHERE phone_number = ?",
                                (phone_number,))
        return IncomingNumber(*rows[0]) if rows else None

    def find_url(self, phone_number: str, kind: str) -> str | None:
        """The number's `sms_url` or `voice_url` (a WhatsApp address falls back to its number's), or None."""
        bare = phone_number.split(":", 1)[1] if phone_number.lower().startswith("whatsapp:") else phone_number
        for candidate in dict.fromkeys((phone_number, bare)):
            number = self.get(candidate)
            url = getattr(number, f"{kind}_url", None) if number is not None else None
            if url:
                return url
        return None

    def url(self, phone_number: str, kind: str) -> str:
        """The number's `sms_url` or `voice_url`; `SandboxError` saying how to set it when there is none."""
        url = self.find_url(phone_number, kind)
        if url:
            return url
        what = "messages" if kind == "sms" else "calls"
        raise SandboxError(
            f"the sandbox number {phone_number} has no webhook for {what}; start a listener for it with "
            f"'twilio-book listen --sandbox --number {phone_number}', or give the URL with --webhook"
        )


@dataclass(frozen=True)
class Received:
    """What simulating an inbound message or call did."""

    sid: str
    webhook: str | None
    """Where it was posted; None for a message to a number with no webhook (stored, posted nowhere)."""
    answer: Answer | None
    replies: tuple[str, ...] = ()


def receive_message(
    store: Store,
    *,
    sender: str,
    recipient: str,
    body: str = "",
    media_urls: Sequence[str] = (),
    webhook: str | None = None,
    profile_name: str | None = None,
    post: Post = post_form,
) -> Received:
    """An inbound message: stored, posted signed to the recipient's webhook, its TwiML `<Message>` replies sent.

    As at Twilio, a message to a number with no webhook is still received: it is stored (reads and
    watches see it) and posted nowhere (`webhook` and `answer` are None).
    """
    url = webhook or IncomingNumbers(store).find_url(recipient, "sms")
    sid = store.insert_messages([{"to": recipient, "from": sender, "body": body, "direction": "inbound",
                                  "media_urls": list(media_urls)}])[0]
    record = store.get_message(sid)
    assert record is not None
    params = [
        ("AccountSid", store.account_sid),
        ("ApiVersion", API_VERSION),
        ("Body", body),
        ("From", sender),
        ("MessageSid", sid),
        ("NumMedia", str(len(media_urls))),
        ("NumSegments", str(record.num_segments)),
        ("SmsMessageSid", sid),
        ("SmsSid", sid),
        ("SmsStatus", "received"),
        ("To", recipient),
    ]
    for index, media_url in enumerate(media_urls):
        params.append((f"MediaUrl{index}", media_url))
    if sender.lower().startswith("whatsapp:"):
        params += [("ProfileName", profile_name or "Sandbox User"), ("WaId", sender.split(":", 1)[1].lstrip("+")),
                   ("MessageType", "image" if media_urls else "text")]
    if url is None:
        return Received(sid, None, None)
    answer = deliver(url, params, store.auth_token, post=post)
    replies = _send_replies(store, answer, sender=recipient, recipient=sender) if answer.status < 300 else ()
    return Received(sid, url, answer, replies)


def receive_call(store: Store, *, sender: str, recipient: str, webhook: str | None = None,
                 post: Post = post_form) -> Received:
    """An inbound call: posted signed to the recipient's voice webhook; the answer holds the TwiML."""
    url = webhook or IncomingNumbers(store).url(recipient, "voice")
    sid = new_sid("CA")
    params = [
        ("AccountSid", store.account_sid),
        ("ApiVersion", API_VERSION),
        ("CallSid", sid),
        ("CallStatus", "ringing"),
        ("Called", recipient),
        ("Caller", sender),
        ("Direction", "inbound"),
        ("From", sender),
        ("To", recipient),
    ]
    return Received(sid, url, deliver(url, params, store.auth_token, post=post))


def _send_replies(store: Store, answer: Answer, *, sender: str, recipient: str) -> tuple[str, ...]:
    """Send the `<Message>`s of a TwiML answer, as Twilio does; an answer that is not TwiML sends nothing."""
    try:
        root = ElementTree.fromstring(answer.body) if answer.body.strip() else None
    except ElementTree.ParseError:
        return ()
    if root is None or root.tag != "Response":
        return ()
    rows = []
    for message in root.iter("Message"):
        body = message.findtext("Body") if message.find("Body") is not None else message.text
        rows.append({"to": message.get("to") or recipient, "from": message.get("from") or sender,
                     "body": (body or "").strip(), "direction": "outbound-reply"})
    return tuple(store.insert_messages(rows)) if rows else ()
