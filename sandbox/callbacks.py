"""The sandbox playing Twilio's part in webhooks: posting them, status callbacks, inbound messages and calls.

Posting a webhook (`deliver`). As Twilio does: form-encoded, signed with the sandbox's auth token
(`X-Twilio-Signature`) over the URL without its fragment, with an `I-Twilio-Idempotency-Token` that
stays the same when the delivery is retried, and with the connection overrides of the URL's fragment
honoured (`#rc=2&rp=5xx`; see `sandbox.overrides`): by default a webhook is retried once when it
cannot be connected to, and an answer (a 5xx too) is not retried.

Status callbacks. A message created with `StatusCallback` has its status changes (`sent`,
`delivered`; `queued` after `accepted` or `scheduled`; `canceled`), not its initial status, posted to
that URL with Twilio's parameters (`MessageSid`, `MessageStatus`, `AccountSid`, `From`, `To`,
`ApiVersion`...; `status_params`). `sandbox.status_queue` keeps them in the store, so that
whichever sandbox is open posts them.

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
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from sandbox.clock import us_to_datetime
from sandbox.errors import SandboxError
from sandbox.ids import new_sid
from sandbox.overrides import ConnectionOverrides, split_overrides
from sandbox.records import MessageRecord
from sandbox.resource import API_VERSION
from sandbox.store import Store, register_tables

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
"""Twilio's signature of a webhook request (HMAC-SHA1 of the URL and the sorted parameters, base64)."""
TOKEN_HEADER = "I-Twilio-Idempotency-Token"
"""The same for every retry of one delivery."""


class _Grouped(dict[str, list[str]]):
    """Form parameters with all their values, as the SDK's `RequestValidator` reads them (`getall`)."""

    def getall(self, name: str) -> list[str]:
        return self[name]


def sign(auth_token: str, url: str, params: Mapping[str, list[str]]) -> str:
    """The `X-Twilio-Signature` Twilio sends for a POST of `params` to `url`, computed by the twilio SDK."""
    from twilio.request_validator import RequestValidator

    return str(RequestValidator(auth_token).compute_signature(url, _Grouped(params)))

RETRY_PAUSE = 0.1
"""Seconds between two tries of one webhook."""
USER_AGENT = "TwilioProxy/1.1"
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

Post = Callable[[str, bytes, Mapping[str, str], tuple[float, float]], "Answer"]
"""Posts a body: `(url, body, headers, (connect timeout, read timeout))`; raises `requests.RequestException`."""


@dataclass(frozen=True)
class Answer:
    """What a webhook answered."""

    status: int
    body: str = ""


# -- delivering one webhook ------------------------------------------------------------------------


def post_form(url: str, body: bytes, headers: Mapping[str, str], timeout: tuple[float, float]) -> Answer:
    """POST with `requests` (no proxy for a loopback URL); raises `requests.RequestException`."""
    import requests

    with requests.Session() as session:
        session.trust_env = (urlsplit(url).hostname or "") not in _LOOPBACK
        response = session.post(url, data=body, headers=dict(headers), timeout=timeout, allow_redirects=False)
        return Answer(response.status_code, response.text)


def deliver(
    url: str,
    params: Sequence[tuple[str, str]],
    auth_token: str,
    *,
    token: str | None = None,
    post: Post = post_form,
    sleep: Callable[[float], None] = time.sleep,
    budget: float | None = None,
) -> Answer:
    """Post `params` to `url` as Twilio does: form-encoded, signed, one idempotency token for every retry.

    The URL's fragment holds Twilio's connection overrides (`split_overrides`): it is not posted nor
    signed; its retry count (`rc`, default 1) and policy (`rp`, default `ct`: retry only when the
    webhook cannot be connected to) decide the retries, its timeouts (`ct`, `rt`, `tt`) the waits.
    `budget` (seconds) caps the total time further. Returns the last answer, whatever its status;
    raises `SandboxError` when no answer came.
    """
    import requests

    target, overrides = split_overrides(url)
    grouped: dict[str, list[str]] = {}
    for name, value in params:
        grouped.setdefault(name, []).append(value)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: sign(auth_token, target, grouped),
        TOKEN_HEADER: token or uuid.uuid4().hex,
    }
    body = urlencode(list(params)).encode("utf-8")
    total = overrides.total_time if budget is None else max(0.0, min(overrides.total_time, budget))
    began = time.monotonic()
    answer: Answer | None = None
    problem, tries = "no time was left to try it", 0
    for attempt in range(overrides.tries):
        if attempt:
            sleep(RETRY_PAUSE)
        left = total - (time.monotonic() - began)
        if left <= 0:
            break
        tries += 1
        try:
            timeout = (min(overrides.connect_timeout, left), min(overrides.read_timeout, left))
            answer = post(target, body, headers, timeout)
        except requests.ConnectTimeout:
            failure, problem = "ct", "the connection timed out"
        except requests.Timeout:
            failure, problem = "rt", "it did not answer in time"
        except requests.ConnectionError as err:
            failure, problem = "ct", f"it could not be connected to ({type(err).__name__})"
        except requests.RequestException as err:
            raise SandboxError(f"the webhook {target} could not be posted to ({type(err).__name__}: {err})") from err
        else:
            failure = "5xx" if answer.status >= 500 else "4xx" if answer.status >= 400 else None
            if failure is None or not overrides.retries(failure):
                return answer
            continue
        answer = None
        if not overrides.retries(failure):
            break
    if answer is not None:  # an answer to retry, and no try left
        return answer
    raise SandboxError(f"the webhook {target} could not be reached: {problem} ({_tried(tries, overrides)}); "
                       "is the listener running?")


def _tried(tries: int, overrides: ConnectionOverrides) -> str:
    retries = "" if tries == overrides.tries else f" of {overrides.tries}"
    return f"{tries} {'try' if tries == 1 else 'tries'}{retries}"


# -- status callbacks --------------------------------------------------------------------------------


def status_params(record: MessageRecord, status: str, at_us: int) -> list[tuple[str, str]]:
    """The parameters of a message status callback, as Twilio posts them, for a change to `status` at `at_us`.

    (https://www.twilio.com/docs/usage/webhooks/messaging-webhooks): `MessageSid`, `MessageStatus`
    (and the older `SmsSid`, `SmsStatus`), `AccountSid`, `From`, `To`, `ApiVersion`;
    `MessagingServiceSid` for a message sent through one, `ErrorCode` for a failed or undelivered
    one, `RawDlrDoneDate` (the carrier's delivery receipt time, YYMMDDhhmm) once delivered.
    """
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
        params.append(("RawDlrDoneDate", us_to_datetime(at_us).strftime("%y%m%d%H%M")))
    return params


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
    import xml.etree.ElementTree as ElementTree  # only when there is TwiML to read (3 ms at import)

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
