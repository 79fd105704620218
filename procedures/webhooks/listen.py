"""The webhook listener: a Starlette app Twilio posts to, and a uvicorn server running it.

    POST /twilio/message-status   a message's status callback       -> twilio message status event
    POST /twilio/sms              an inbound SMS (or MMS) message   -> twilio inbound sms message
    POST /twilio/whatsapp         an inbound WhatsApp message       -> twilio inbound whatsapp message
    POST /twilio/voice            an inbound call                   -> twilio inbound call, answered with TwiML
    POST /twilio/gather           what a caller keyed in or said    -> twilio gathered input, answered with TwiML

(GET works too, for a webhook configured with the GET method, and each path with a trailing slash.)
Every request must carry a valid `X-Twilio-Signature` for the URL Twilio called (see
`procedures.webhooks.signature`); a missing or wrong one gets 403 and is never handed on. A delivery is
handed on at most once per `I-Twilio-Idempotency-Token` (see `procedures.webhooks.idempotency`); hand-offs
run one at a time, in the order they arrive, before the answer; the automation run a delivery calls
for is queued on disk with its token, in one transaction, before the answer too. Deliveries that arrive
together are written in one transaction (group commit): each is answered once the transaction holding it is
on disk, so the disk's flush is paid once for them all. Answers come first: the automations run in the
pauses between deliveries (see `Handoff`).

A call's `<Gather>` posts what the caller keyed in or said to its `action` URL, by default the URL
whose TwiML held it. So the listener gives every `<Gather>` without an action its own gather
endpoint; a request to the voice endpoint carrying `Digits` or `SpeechResult` is gathered input too,
never a new call.

Handing on is injected (`hand_on(endpoint_name, event)`, returning the automation run to queue, if
any); `Handoff` prints the event as a JSON line and asks for the automation, if any, to be queued
with `the event` (and `the message`, `the call` or `the input`) bound: one worker runs the queued
automations one at a time, in the order the events came, while the listener has already answered
(Twilio waits about 15 s for a call's TwiML). The queue is a table next to the tokens, so a listener
that stops (or dies) loses nothing: the next one on the same home with the same automation runs what
was never started, and reports, without running it again, a run that was cut short. A run that waited
longer than the store's `max_age` (a day by default) is reported, never run: too late to act on by itself.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import json
import socket
import sqlite3
import sys
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from book.errors import BookError, LanguageError
from book.interpreter import Session
from book.registry import Registry
from book.runtime import Automation, compile_with_facts, run_automation
from book.startup import settle
from concepts.events import (
    GatheredInput,
    InboundCall,
    InboundSmsMessage,
    InboundWhatsappMessage,
    MessageStatusEvent,
    WebhookEvent,
    call_event_from_webhook,
    inbound_message_from_webhook,
)
from procedures.webhooks.idempotency import EXPIRED, QUEUED, TOKEN_HEADER, Entry, Queued, SeenTokens
from procedures.webhooks.signature import SIGNATURE_HEADER, Params, SignatureCheck
from procedures.webhooks.twiml import Answers

HandOn = Callable[[str, WebhookEvent], Queued | None]
"""Hands an event on; returns the automation run to queue with the delivery's token, or None."""
Report = Callable[[str], None]
_START_TIMEOUT = 10.0
IDLE = 1.0
"""Seconds a worker waits at most before it looks again for runs that listeners which stopped left."""
PAUSE = 0.005
"""Seconds without a delivery after which the worker starts its next queued run: answers come first."""
MOST_HELD = 0.05
"""Seconds at most the worker holds back its next run waiting for such a pause, while deliveries keep coming."""


@dataclass(frozen=True)
class Kind:
    """A kind of event: its short name (for `--on`), its concept, and the fact it is also bound as."""

    name: str
    concept: type[WebhookEvent]
    fact: str


KINDS: tuple[Kind, ...] = (
    Kind("message-status", MessageStatusEvent, "message"),
    Kind("sms", InboundSmsMessage, "message"),
    Kind("whatsapp", InboundWhatsappMessage, "message"),
    Kind("call", InboundCall, "call"),
    Kind("gather", GatheredInput, "input"),
)
_KIND_OF = {kind.concept: kind for kind in KINDS}
_KIND_NAMED = {kind.name: kind for kind in KINDS}


def facts_for(event: WebhookEvent) -> dict[str, Any]:
    """The facts an automation sees: `the event`, and `the message`, `the call` or `the input`."""
    return {"event": event, _KIND_OF[type(event)].fact: event}


Answer = Callable[[Answers, Any, str], str | None]
"""How an endpoint answers: its TwiML (None: no content), from the answers, the number called and the gather
endpoint's URL as Twilio calls it."""


def _no_content(answers: Answers, number: Any, gather_url: str) -> None:
    return None


def _message_twiml(answers: Answers, number: Any, gather_url: str) -> str:
    return answers.message(number).twiml()


def _call_twiml(answers: Answers, number: Any, gather_url: str) -> str:
    return answers.call(number).twiml(gather_action=gather_url)


def _gathered_twiml(answers: Answers, number: Any, gather_url: str) -> str:
    return answers.gathered(number).twiml(gather_action=gather_url)


_SIGNATURE_KEY, _TOKEN_KEY = SIGNATURE_HEADER.lower().encode(), TOKEN_HEADER.lower().encode()
"""The headers as the server gives them (ASGI: lower case)."""
_ANSWERS_KEPT = 1024
"""How many answers a listener keeps made (per endpoint, number and gather URL; the answers are fixed)."""


@dataclass(frozen=True)
class Endpoint:
    """One webhook URL: where it is, what it is for, how its parameters become an event, how it answers."""

    name: str
    path: str
    title: str
    parse: Callable[[Params], WebhookEvent]
    answer: Answer


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("message-status", "/twilio/message-status", "message status callbacks (a message's StatusCallback)",
             MessageStatusEvent.from_webhook, _no_content),
    Endpoint("sms", "/twilio/sms", "inbound SMS (a number's 'A message comes in' webhook)",
             inbound_message_from_webhook, _message_twiml),
    Endpoint("whatsapp", "/twilio/whatsapp", "inbound WhatsApp (a WhatsApp sender's webhook)",
             InboundWhatsappMessage.from_webhook, _message_twiml),
    Endpoint("voice", "/twilio/voice", "inbound calls (a number's 'A call comes in' webhook)",
             call_event_from_webhook, _call_twiml),
    Endpoint("gather", "/twilio/gather", "gathered keys or speech (where a call's <Gather> posts; set for you)",
             GatheredInput.from_webhook, _gathered_twiml),
)
_BY_NAME = {e.name: e for e in ENDPOINTS}
_ENDPOINT_OF: dict[type[WebhookEvent], Endpoint] = {GatheredInput: _BY_NAME["gather"]}
"""Events handled as another endpoint's, wherever they arrive: gathered input posted to the voice URL."""


def endpoint_urls(base_url: str) -> dict[str, str]:
    """Each endpoint's full URL on `base_url` (the public URL when there is one)."""
    return {e.name: base_url.rstrip("/") + e.path for e in ENDPOINTS}


def _gather_url(called: str, path: str) -> str:
    """The gather endpoint's URL next to `path` in the URL Twilio `called` (same scheme, host and prefix)."""
    parts = urlsplit(called)
    prefix = parts.path.rstrip("/")
    prefix = prefix[: -len(path)] if prefix.endswith(path) else prefix
    return urlunsplit((parts.scheme, parts.netloc, prefix + _BY_NAME["gather"].path, "", ""))


def stderr_report(message: str) -> None:
    print(f"twilio-book: {message}", file=sys.stderr, flush=True)


def create_listener_app(
    check: SignatureCheck,
    hand_on: HandOn,
    *,
    answers: Answers | None = None,
    seen: SeenTokens | None = None,
    report: Report = stderr_report,
    routes: Sequence[Any] = (),
) -> Listener:
    """The listener as an ASGI app: signed requests only, each delivery handed on once, answered with TwiML.

    The tokens are recorded in `seen`, by default the store a `Handoff` queues its runs in (each run is
    queued with its delivery's token, in one transaction), else one in memory.
    """
    answers = answers or Answers()
    own = getattr(hand_on, "seen", None)
    if seen is not None and own is not None and own is not seen:
        raise ValueError("the handoff queues its runs in another store than the listener's tokens: give both one")
    seen = seen if seen is not None else own if own is not None else SeenTokens()
    made: dict[tuple[str, Any, str], Response] = {}  # each answer, made once
    called: dict[tuple[Any, ...], tuple[str, str]] = {}  # each URL as the request has it, with its gather URL
    takes_token = getattr(hand_on, "takes_token", False)  # a handoff keyed by the delivery (listen --temporal)

    def url_of(scope: Scope, host: bytes | None, endpoint: Endpoint) -> tuple[str, str]:
        """The request's URL, as Starlette's `request.url` has it, and the gather URL beside the one called."""
        key = (scope.get("scheme"), host, scope.get("server"), scope["path"], scope.get("query_string"))
        found = called.get(key)
        if found is None:
            url = str(URL(scope=scope))
            found = (url, _gather_url(check.url_called(url), endpoint.path))
            if len(called) >= _ANSWERS_KEPT:
                called.clear()
            called[key] = found
        return found

    def route(endpoint: Endpoint) -> Callable[[Scope, Receive, Send], Any]:
        async def receive(scope: Scope, receive_message: Receive, send: Send) -> None:
            body = b""
            while True:
                message = await receive_message()
                if message["type"] == "http.disconnect":  # gone before it was all sent: nothing handed on
                    return
                body += message.get("body", b"")
                if not message.get("more_body", False):
                    break
            signature = token = host = None
            for name, value in scope["headers"]:  # the first of each, as Starlette's `request.headers.get`
                if name == _SIGNATURE_KEY and signature is None:
                    signature = value.decode("latin-1")
                elif name == _TOKEN_KEY and token is None:
                    token = value.decode("latin-1")
                elif name == b"host" and host is None:
                    host = value
            url, gather_url = url_of(scope, host, endpoint)
            post = scope["method"] == "POST"
            signed = Params.of(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True) if post else [])
            if not check.valid(url, signed, signature):  # a GET is signed by its URL alone
                report(f"refused a request to {endpoint.path} from {_client(scope)}: the {SIGNATURE_HEADER} is "
                       "missing or wrong (403); check the auth token and, behind a proxy, --public-url")
                return await PlainTextResponse(f"Forbidden: the {SIGNATURE_HEADER} is missing or wrong.\n",
                                               status_code=403)(scope, receive_message, send)
            fields = signed if post else Params.of(parse_qsl(urlsplit(url).query, keep_blank_values=True))
            try:
                event = endpoint.parse(fields)
            except ValidationError as err:
                problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
                report(f"refused a signed request to {endpoint.path} that Twilio would not send: {problems} (400)")
                return await PlainTextResponse(f"Bad Request: {problems}\n", status_code=400)(scope, receive_message, send)
            handler = _ENDPOINT_OF.get(type(event), endpoint)

            def hand_on_now() -> Queued | None:
                try:
                    if takes_token:
                        return hand_on(handler.name, event, token)  # type: ignore[call-arg]
                    return hand_on(handler.name, event)
                except Exception as err:
                    raise _NotHandedOn from err

            try:  # on the store's committer thread, off the event loop (the store may wait for another process's write
                # lock): the check, the hand-on and the token with the run it calls for are in one transaction, with
                # the deliveries that came with it (one commit for them all): once, even across processes
                await _committed(seen, token, hand_on_now)
            except _NotHandedOn as failed:  # not handed on: not recorded, so Twilio's retry brings it again
                err = failed.__cause__
                report(f"could not hand on a request to {endpoint.path}: {type(err).__name__}: {err} (500)")
                return await PlainTextResponse("Internal Server Error: the event was not handed on.\n",
                                               status_code=500)(scope, receive_message, send)
            except Exception as err:
                report(f"could not record a request to {endpoint.path} in {seen.path or 'memory'}: "
                       f"{type(err).__name__}: {err} (500); Twilio retries it (its JSON line is printed "
                       "again); if this goes on, check that the disk has room and the file can be written")
                return await PlainTextResponse("Internal Server Error: the event was not recorded.\n",
                                               status_code=500)(scope, receive_message, send)
            number = getattr(event, "recipient_number", "")
            key = (handler.name, number, gather_url)
            answer = made.get(key)
            if answer is None:
                if len(made) >= _ANSWERS_KEPT:
                    made.clear()
                twiml = handler.answer(answers, number, gather_url)
                answer = made[key] = Response(status_code=204) if twiml is None else Response(twiml, media_type="text/xml")
            await answer(scope, receive_message, send)

        return receive

    async def index(request: Request) -> Response:
        lines = [f"{e.path}  {e.title}" for e in ENDPOINTS]
        return PlainTextResponse("twilio-book listener\n" + "\n".join(lines) + "\n")

    webhooks: dict[str, Callable[[Scope, Receive, Send], Any]] = {}
    for endpoint in ENDPOINTS:  # with and without a trailing slash: a redirect would change the URL signed
        webhooks[endpoint.path] = webhooks[endpoint.path + "/"] = route(endpoint)
    return Listener(Starlette(routes=[Route("/", index, methods=["GET"]), *routes]), webhooks)


class Listener:
    """The listener's ASGI app. A GET or POST to a webhook endpoint is answered here, without Starlette's
    request, middleware and routing (it is the path every delivery takes); anything else (the index, the
    routes given, a 404 or 405, a WebSocket) goes to `starlette`."""

    def __init__(self, starlette: Starlette, webhooks: Mapping[str, Callable[[Scope, Receive, Send], Any]]) -> None:
        self.starlette = starlette
        self._webhooks = dict(webhooks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "POST") and not scope.get("root_path"):
            webhook = self._webhooks.get(scope["path"])
            if webhook is not None:
                return await webhook(scope, receive, send)
        await self.starlette(scope, receive, send)


async def _committed(seen: SeenTokens, token: str | None, hand_on: Callable[[], Queued | None]) -> tuple[bool, int | None]:
    """`seen.hand_on_once`, awaited: its outcome once the transaction holding it is on disk (or its error).

    The deliveries that come in one turn of the event loop are written together at its end, on the loop itself
    when the store can be written at once (`seen.hand_on_now`: a commit that skips the disk's flush takes
    less than a hand-off to another thread), else on the store's committer thread (`seen.hand_on_soon`), which
    waits for it off the loop. Either way the flusher thread tells them once they are on disk.
    """
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[tuple[bool, int | None]] = loop.create_future()
    settler = _SETTLERS.get(loop)
    if settler is None:
        settler = _SETTLERS[loop] = _Settler(loop)
    settler.deliver(seen, token, hand_on, lambda error, outcome: settler.told(answer, error, outcome))
    return await answer


class _Settler:
    """An event loop's deliveries: those of one turn of the loop written together (`deliver`), and the store's
    outcomes handed back to the loop: one wake-up of the loop for all those told together (a transaction's
    deliveries), not one each."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._lock = threading.Lock()
        self._told: list[tuple[asyncio.Future[Any], BaseException | None, Any]] = []
        self._coming: dict[SeenTokens, list[tuple[str | None, Callable[[], Queued | None], Any]]] = {}

    def deliver(self, seen: SeenTokens, token: str | None, hand_on: Callable[[], Queued | None], done: Any) -> None:
        """On the loop: hand the delivery on with the others of this turn of the loop, at its end."""
        coming = self._coming.get(seen)
        if coming is None:
            coming = self._coming[seen] = []
            self.loop.call_soon(self._write, seen)
        coming.append((token, hand_on, done))

    def _write(self, seen: SeenTokens) -> None:
        coming = self._coming.pop(seen)
        if not seen.hand_on_now(coming):  # the store is busy (another thread or process): off the loop
            for token, hand_on, done in coming:
                seen.hand_on_soon(token, hand_on, done)

    def told(self, answer: asyncio.Future[Any], error: BaseException | None, outcome: Any) -> None:
        """On the committer thread."""
        with self._lock:
            self._told.append((answer, error, outcome))
            if len(self._told) > 1:  # a wake-up is on its way: it settles this one too
                return
        try:
            self.loop.call_soon_threadsafe(self._settle)
        except RuntimeError:  # the loop is closed: its requests are gone (the deliveries stand)
            with self._lock:
                self._told.clear()

    def _settle(self) -> None:
        with self._lock:
            told, self._told = self._told, []
        for answer, error, outcome in told:
            if answer.cancelled():  # the request went away (its answer would reach nobody); the delivery stands
                continue
            if error is not None:
                answer.set_exception(error)
            else:
                answer.set_result(outcome)


_SETTLERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Settler] = weakref.WeakKeyDictionary()


class _NotHandedOn(Exception):
    """`hand_on` failed (its error is the cause): nothing was recorded."""


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "an unknown address"


# -- handing on -------------------------------------------------------------------------------------


def compile_for_kinds(
    text: str, registry: Registry, kinds: Sequence[Kind] = KINDS, filename: str | None = None
) -> tuple[dict[type[WebhookEvent], Automation], dict[str, LanguageError]]:
    """The automation compiled for each kind it can run on (its facts typed as that kind's concept).

    Returns the automations by concept, and the problems for each kind it does not compile for.
    """
    automations: dict[type[WebhookEvent], Automation] = {}
    problems: dict[str, LanguageError] = {}
    for kind in kinds:
        try:
            automations[kind.concept] = compile_with_facts(
                text, registry, {"event": kind.concept, kind.fact: kind.concept}, filename
            )
        except LanguageError as err:
            problems[kind.name] = err
    return automations, problems


class Handoff:
    """Hands an event on: a JSON line on `out` at once, then the automation for its kind, if any, queued.

    A failure to write the line propagates (the delivery is not recorded, so Twilio's retry brings it
    again). Otherwise the call returns the run to queue (`Queued`), which the listener records in
    `seen` with the delivery's token, in one transaction, before it answers. The queued runs are
    taken by one worker thread, one at a time, in the order their events were handed on, so a slow
    automation never holds up the listener's answers; each is marked started before its automation
    runs and deleted when it ends, whatever the outcome: a failure inside one is reported, and the
    delivery counts as handed on.

    The queue outlives the process (with a `seen` on a file): on start, and every `idle` seconds,
    the runs that listeners which stopped (or died) left never started are taken over by this one if
    they are for the same automation (`name`, the --run file; required with `automations`) and a kind
    it runs, and run in arrival order; a run that was started and never finished is reported once and
    never run again (it may already have sent a message). A run that waited longer than `seen.max_age`
    since its event arrived (a day by default), left by a listener that stopped or held up behind a slow
    one, is never run: it is reported once, for a person to act on (an automatic reply a day late would
    confuse more than help).
    Answers come first: the listener answers Twilio in the same process, and an automation's work (the
    SDK's requests) would take its turns on the interpreter from the answers. So the worker starts a queued
    run once no delivery has been handed on for `pause` seconds (5 ms), or once it has held it back for
    `most_held` seconds (50 ms) while deliveries kept coming: under a flood the runs wait, on disk, and go
    on at least 20 a second, then at full speed once it eases.
    `wait()` waits for this handoff's runs to end; `close()` too, then stops the worker, leaving whatever
    has not started for the next listener.
    """

    def __init__(
        self,
        out: TextIO = sys.stdout,
        *,
        automations: Mapping[type[WebhookEvent], Automation] | None = None,
        session: Session | None = None,
        report: Report = stderr_report,
        seen: SeenTokens | None = None,
        name: str | None = None,
        idle: float = IDLE,
        pause: float = PAUSE,
        most_held: float = MOST_HELD,
    ) -> None:
        self.out = out
        self.automations = dict(automations or {})
        if self.automations and not name:
            raise ValueError("a Handoff with automations needs their name (name=..., e.g. the --run file's full "
                             "path): its queued runs are taken over only by a handoff with the same name")
        self.session = session
        self.report = report
        self._own_seen = seen is None  # created here: closed by `close`
        self.seen = seen if seen is not None else SeenTokens()
        self.name = name or ""
        self.idle = idle
        self.pause = pause
        self.most_held = most_held
        self._last_delivery = float("-inf")  # when the last event was handed on (time.monotonic())
        self._kinds = [_KIND_OF[concept].name for concept in self.automations if concept in _KIND_OF]
        self._gate = threading.Lock()
        self._stopped = False
        self._left = False
        self.owner = self.seen.join()
        self._recover(starting=True)
        self._worker: threading.Thread | None = None
        if self.automations:
            self._worker = threading.Thread(target=self._work, name="twilio-book-automations", daemon=True)
            self._worker.start()

    def __call__(self, endpoint: str, event: WebhookEvent) -> Queued | None:
        self._last_delivery = time.monotonic()
        data = event.model_dump_json()  # the event's JSON (as `jsonable` has it), written once for the line and the queue
        self.out.write(f'{{"trigger":{json.dumps(endpoint)},"type":{json.dumps(event.concept_name)},"event":{data}}}\n')
        self.out.flush()
        if type(event) not in self.automations:
            return None
        return Queued(kind=_KIND_OF[type(event)].name, event=data, label=_label(event), automation=self.name,
                      owner=self.owner)

    # -- the worker ---------------------------------------------------------------------------------

    def _work(self) -> None:
        look_again = time.monotonic() + self.idle
        finished: int | None = None  # the run that just ended: finished in the same transaction as the next claim
        while True:
            generation = self.seen.generation
            try:
                if time.monotonic() >= look_again:
                    look_again = time.monotonic() + self.idle
                    with self._gate:  # never for an owner that has left: it would take runs and never run them
                        if self._stopped:
                            return self._finish(finished)
                        self._recover()
                self._hold_back()
                with self._gate:
                    if self._stopped:
                        return self._finish(finished)
                    entry, finished = self.seen.claim(self.owner, finished), None
                if entry is not None and entry.state == EXPIRED:
                    self._report_too_old(entry)
                    continue
                if entry is not None:
                    try:
                        self._run(entry)
                    finally:
                        finished = entry.id
                    continue
            except sqlite3.ProgrammingError:  # the store was closed under it: the listener is gone
                return
            except Exception as err:  # e.g. the database stayed locked by another process: try again
                self.report(f"the queue of automation runs in {self.seen.path or 'memory'} could not be read "
                            f"({type(err).__name__}: {err}); trying again in {self.idle:g} s")
                look_again = time.monotonic() + self.idle
            self.seen.wait_for_change(generation, max(0.0, look_again - time.monotonic()))

    def _hold_back(self) -> None:
        """Wait while deliveries are coming (see the class's doc): until none for `pause` s, `most_held` s at most."""
        began = time.monotonic()
        while not self._stopped:
            now = time.monotonic()
            left = min(self.pause - (now - self._last_delivery), self.most_held - (now - began))
            if left <= 0:
                return
            time.sleep(left)

    def _finish(self, finished: int | None) -> None:
        if finished is not None:
            self.seen.finish(self.owner, finished)

    def _run(self, entry: Entry) -> None:
        kind = _KIND_NAMED.get(entry.kind)
        automation = self.automations.get(kind.concept) if kind is not None else None
        try:
            event = kind.concept.model_validate_json(entry.event) if kind is not None else None
        except ValidationError as err:
            event, why = None, f"{err.error_count()} field(s) no longer fit the event: {err.errors()[0]['msg']}"
        else:
            why = f"it is a {entry.kind!r} event, which this listener does not run"
        if event is None or automation is None:
            self.report(f"the {entry.label} ({_received(entry)}) was queued for the automation {entry.automation} "
                        f"and can't be run: {why}; it is dropped: check the event and act on it by hand")
            return
        what = f"{event.concept_name} {getattr(event, 'sid', '')}".strip()
        run_automation(automation, self.session, facts_for(event), what, self.report)
        settle()  # the first run imports the SDK: frozen with the rest, off the collector's passes (book.startup)

    def _recover(self, starting: bool = False) -> None:
        """Take over what listeners that stopped left; report the runs they cut short, and those left waiting."""
        found = self.seen.recover(self.owner, self.name, self._kinds)
        for entry in found.interrupted:
            self.report(f"the automation {entry.automation} was cut short on the {entry.label} ({_received(entry)}"
                        f"{_token(entry)}): the listener running it stopped before it finished. It is not run again, "
                        "as it may already have sent messages or made calls: check what it did for this event")
        for entry in found.expired:
            self._report_too_old(entry)
        if found.adopted:
            self.report(f"running the automation on {found.adopted} event(s) that a listener which stopped had queued "
                        "and not started, in the order they came")
        waiting = self.seen.entries(ownerless=True, state=QUEUED) if starting else found.waiting
        if waiting:
            counts: dict[tuple[str, str], int] = {}
            for entry in waiting:
                counts[entry.automation, entry.kind] = counts.get((entry.automation, entry.kind), 0) + 1
            which = "; ".join(f"{n} {kind} event(s) for the automation {automation}"
                              for (automation, kind), n in counts.items())
            self.report(f"{len(waiting)} event(s) queued by a listener that stopped wait for their automation ({which}); "
                        "they run, in the order they came, when a listener with that automation for their kind "
                        "starts on this home ('twilio-book listen --run FILE') within "
                        f"{_duration(self.seen.max_age)} of their arrival; later, they are reported, not run")

    def _report_too_old(self, entry: Entry) -> None:
        self.report(f"the {entry.label} ({_received(entry)}{_token(entry)}), a {entry.kind} event queued for the "
                    f"automation {entry.automation}, waited more than {_duration(self.seen.max_age)} for a listener "
                    "to run it: it is too old to run automatically (a reply now would come far too late), so it is "
                    "never run. Check the event and act on it by hand if it still needs it")

    # -- waiting and closing ------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """How many of this handoff's automation runs are queued or running."""
        return self.seen.pending(self.owner)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every run this handoff queued or took over has ended (at most `timeout` s); whether they all have."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            generation = self.seen.generation
            if self.pending == 0:
                return True
            left = self.idle if deadline is None else min(self.idle, deadline - time.monotonic())
            if left <= 0:
                return False
            self.seen.wait_for_change(generation, left)

    def close(self, timeout: float | None = None) -> bool:
        """Let the queued runs end (at most `timeout` s), then stop the worker; whether they all ended.

        What has not started is left in the queue for the next listener with this automation; a run
        still going when `close` gives up counts as cut short (the next listener reports it). A store
        the handoff created (no `seen` given) is closed.
        """
        done = self.wait(timeout)
        with self._gate:
            self._stopped = True
            if self._left:
                return done
            self._left = True
        self.seen.leave(self.owner)  # wakes the worker, which stops
        if done and self._worker is not None:
            self._worker.join(timeout=_START_TIMEOUT)
        if self._own_seen:
            self.seen.close()
        return done


def _label(event: WebhookEvent) -> str:
    """How a person finds the event: its kind, SID, and who it was from and to."""
    parts = [event.concept_name, getattr(event, "sid", "")]
    for word, field in (("from", "sender_number"), ("to", "recipient_number")):
        if getattr(event, field, None):
            parts.append(f"{word} {getattr(event, field)}")
    return " ".join(part for part in parts if part)


def _received(entry: Entry) -> str:
    return "received " + datetime.fromtimestamp(entry.queued_at, timezone.utc).isoformat(timespec="seconds")


def _token(entry: Entry) -> str:
    return f", delivery token {entry.token}" if entry.token else ""


def _duration(seconds: float) -> str:
    """`seconds` for a person: 24 h, 1.5 h, 5 min, 0.5 s."""
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{round(seconds / size, 1):g} {unit}"
    return f"{round(seconds, 3):g} s"


# -- the server -------------------------------------------------------------------------------------


def reach_hint(address: str) -> str | None:
    """Why Twilio can't call a listener bound to `address` as it stands, and what to do; None if it may."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    if ip.is_unspecified:
        return ("listening on every address of this machine; the URLs above use its loopback address, for the "
                "sandbox and this machine only: for Twilio, give the public URL that reaches this machine (a "
                "tunnel's, or its own public address and port) with --public-url, and paste those URLs")
    if ip.is_loopback:
        return "Twilio can't reach a loopback address: behind a tunnel, give its URL with --public-url"
    if ip.is_private or ip.is_link_local:
        return (f"Twilio can't reach the private address {ip}: behind a tunnel or a proxy, give its public URL "
                "with --public-url")
    return None


class ListenerServer:
    """Runs an ASGI app with uvicorn in a background thread (`port=0`: any free port); a context manager.

    `host` may be a name or an address; an unspecified one (0.0.0.0, ::) listens on every address,
    and the local URL then uses the loopback address, the one certain to reach it.
    """

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, public_url: str | None = None) -> None:
        self.app = app
        self.host = host
        self.public_url = public_url
        self._requested_port = port
        self._port: int | None = None
        self._address: str | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        """The address the listener is bound to (e.g. 127.0.0.1, or 0.0.0.0 for every one); only while running."""
        if self._address is None:
            raise BookError("the listener is not running")
        return self._address

    @property
    def url(self) -> str:
        """The local base URL, e.g. `http://127.0.0.1:8080`; only while running."""
        if self._port is None or self._address is None:
            raise BookError("the listener is not running")
        host = self.host
        try:
            ip = ipaddress.ip_address(self._address.split("%", 1)[0])
        except ValueError:
            ip = None
        if ip is not None and ip.is_unspecified:
            host = "::1" if ip.version == 6 else "127.0.0.1"
        elif not host:
            host = self._address
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self._port}"

    @property
    def endpoints(self) -> dict[str, str]:
        """Each endpoint's full URL as Twilio should call it (on the public URL when there is one)."""
        return endpoint_urls(self.public_url or self.url)

    def start(self) -> ListenerServer:
        import uvicorn

        sock = _bind(self.host, self._requested_port)
        self._address, self._port = sock.getsockname()[:2]
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="twilio-book-listener", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.close()
                raise BookError(f"the listener did not start within {_START_TIMEOUT:.0f} s")
            time.sleep(0.005)
        return self

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def close(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=_START_TIMEOUT)
        self._server = self._thread = None
        self._port = self._address = None

    def __enter__(self) -> ListenerServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host` and `port`; `BookError` saying which of them is wrong, and what to do."""
    if not 0 <= port <= 65535:
        raise BookError(f"the port {port} is not a port number; choose one from 1 to 65535, or 0 for any free one")
    try:
        found = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as err:
        why = err.strerror if isinstance(err, OSError) and err.strerror else str(err) or type(err).__name__
        raise BookError(f"the listener can't listen on the host {host!r}: it is not an address of this machine, "
                        f"nor a name it can resolve ({why}); give one like 127.0.0.1, or 0.0.0.0 for every "
                        "address") from None
    family, kind, proto, _, address = min(found, key=lambda info: info[0] != socket.AF_INET)  # IPv4 first
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as err:
        sock.close()
        where = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
        if err.errno == errno.EADDRINUSE:
            what = f"the port {port} is in use there; choose another --port, or 0 for any free one"
        elif err.errno == errno.EACCES:
            what = "not allowed to use that port (below 1024 it takes privileges); choose another --port, or 0"
        elif err.errno == errno.EADDRNOTAVAIL:
            what = (f"{host!r} is not an address of this machine; give one of its own, 127.0.0.1, "
                    "or 0.0.0.0 for every address")
        else:
            what = f"{err.strerror or err}; check --host and --port"
        raise BookError(f"the listener could not listen on {where}: {what}") from None
    return sock
