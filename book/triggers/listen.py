"""The webhook listener: a Starlette app Twilio posts to, and a uvicorn server running it.

    POST /twilio/message-status   a message's status callback       -> twilio message status event
    POST /twilio/sms              an inbound SMS (or MMS) message   -> twilio inbound sms message
    POST /twilio/whatsapp         an inbound WhatsApp message       -> twilio inbound whatsapp message
    POST /twilio/voice            an inbound call                   -> twilio inbound call, answered with TwiML

(GET works too, for a webhook configured with the GET method.) Every request must carry a valid
`X-Twilio-Signature` for the URL Twilio called (see `book.triggers.signature`); a missing or wrong one
gets 403 and is never handed on. A delivery is handed on at most once per
`I-Twilio-Idempotency-Token` (see `book.triggers.idempotency`); hand-offs run one at a time, in the
order they arrive. Handing on is injected (`hand_on(endpoint_name, event)`); `Handoff` prints the
event as a JSON line and runs the automation, if any, with `the event` (and `the message` or
`the call`) bound.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import parse_qsl

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from book.errors import BookError, LanguageError
from book.interpreter import Session
from book.output import jsonable
from book.registry import Registry
from book.runtime import Automation
from book.triggers.automation import compile_with_facts, run_automation
from book.triggers.idempotency import TOKEN_HEADER, SeenTokens
from book.triggers.signature import SIGNATURE_HEADER, Params, SignatureCheck
from book.triggers.twiml import Answers
from concepts.events import (
    InboundCall,
    InboundSmsMessage,
    InboundWhatsappMessage,
    MessageStatusEvent,
    WebhookEvent,
    inbound_message_from_webhook,
)

HandOn = Callable[[str, WebhookEvent], None]
Report = Callable[[str], None]
_START_TIMEOUT = 10.0


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
)
_KIND_OF = {kind.concept: kind for kind in KINDS}


def facts_for(event: WebhookEvent) -> dict[str, Any]:
    """The facts an automation sees: `the event`, and `the message` or `the call`."""
    return {"event": event, _KIND_OF[type(event)].fact: event}


def _no_content(answers: Answers, event: WebhookEvent) -> Response:
    return Response(status_code=204)


def _message_twiml(answers: Answers, event: WebhookEvent) -> Response:
    return Response(answers.message(getattr(event, "recipient_number", "")).twiml(), media_type="text/xml")


def _call_twiml(answers: Answers, event: WebhookEvent) -> Response:
    return Response(answers.call(getattr(event, "recipient_number", "")).twiml(), media_type="text/xml")


@dataclass(frozen=True)
class Endpoint:
    """One webhook URL: where it is, what it is for, how its parameters become an event, how it answers."""

    name: str
    path: str
    title: str
    parse: Callable[[Params], WebhookEvent]
    answer: Callable[[Answers, WebhookEvent], Response]


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("message-status", "/twilio/message-status", "message status callbacks (a message's StatusCallback)",
             MessageStatusEvent.from_webhook, _no_content),
    Endpoint("sms", "/twilio/sms", "inbound SMS (a number's 'A message comes in' webhook)",
             inbound_message_from_webhook, _message_twiml),
    Endpoint("whatsapp", "/twilio/whatsapp", "inbound WhatsApp (a WhatsApp sender's webhook)",
             InboundWhatsappMessage.from_webhook, _message_twiml),
    Endpoint("voice", "/twilio/voice", "inbound calls (a number's 'A call comes in' webhook)",
             InboundCall.from_webhook, _call_twiml),
)


def endpoint_urls(base_url: str) -> dict[str, str]:
    """Each endpoint's full URL on `base_url` (the public URL when there is one)."""
    return {e.name: base_url.rstrip("/") + e.path for e in ENDPOINTS}


def stderr_report(message: str) -> None:
    print(f"twilio-book: {message}", file=sys.stderr, flush=True)


def create_listener_app(
    check: SignatureCheck,
    hand_on: HandOn,
    *,
    answers: Answers | None = None,
    seen: SeenTokens | None = None,
    report: Report = stderr_report,
) -> Starlette:
    """The listener as an ASGI app: signed requests only, each delivery handed on once, answered with TwiML."""
    answers = answers or Answers()
    seen = seen if seen is not None else SeenTokens()
    one_at_a_time = asyncio.Lock()

    def route(endpoint: Endpoint) -> Route:
        async def receive(request: Request) -> Response:
            pairs = parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
            signed = Params.of(pairs if request.method == "POST" else [])  # a GET is signed by its URL alone
            if not check.valid(str(request.url), signed, request.headers.get(SIGNATURE_HEADER)):
                report(f"refused a request to {endpoint.path} from {_client(request)}: the {SIGNATURE_HEADER} is "
                       "missing or wrong (403); check the auth token and, behind a proxy, --public-url")
                return PlainTextResponse(f"Forbidden: the {SIGNATURE_HEADER} is missing or wrong.\n", status_code=403)
            fields = signed if request.method == "POST" else Params.of(parse_qsl(request.url.query, keep_blank_values=True))
            try:
                event = endpoint.parse(fields)
            except ValidationError as err:
                problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
                report(f"refused a signed request to {endpoint.path} that Twilio would not send: {problems} (400)")
                return PlainTextResponse(f"Bad Request: {problems}\n", status_code=400)
            token = request.headers.get(TOKEN_HEADER)
            async with one_at_a_time:
                if token is None or token not in seen:
                    try:
                        await run_in_threadpool(hand_on, endpoint.name, event)
                    except Exception as err:  # not handed on: not recorded, so Twilio's retry brings it again
                        report(f"could not hand on a request to {endpoint.path}: {type(err).__name__}: {err} (500)")
                        return PlainTextResponse("Internal Server Error: the event was not handed on.\n", status_code=500)
                    if token is not None:
                        seen.add(token)
            return endpoint.answer(answers, event)

        return Route(endpoint.path, receive, methods=["GET", "POST"], name=endpoint.name)

    async def index(request: Request) -> Response:
        lines = [f"{e.path}  {e.title}" for e in ENDPOINTS]
        return PlainTextResponse("twilio-book listener\n" + "\n".join(lines) + "\n")

    return Starlette(routes=[Route("/", index, methods=["GET"]), *(route(e) for e in ENDPOINTS)])


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else "an unknown address"


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
    """Hands an event on: a JSON line on `out`, then the automation for its kind, if any.

    A failure to write the line propagates (the delivery is not recorded, so Twilio's retry brings it
    again); a failure inside the automation is reported, and the delivery counts as handed on.
    """

    def __init__(
        self,
        out: TextIO = sys.stdout,
        *,
        automations: Mapping[type[WebhookEvent], Automation] | None = None,
        session: Session | None = None,
        report: Report = stderr_report,
    ) -> None:
        self.out = out
        self.automations = dict(automations or {})
        self.session = session
        self.report = report

    def __call__(self, endpoint: str, event: WebhookEvent) -> None:
        line = {"trigger": endpoint, "type": event.concept_name, "event": jsonable(event)}
        self.out.write(json.dumps(line, ensure_ascii=False) + "\n")
        self.out.flush()
        automation = self.automations.get(type(event))
        if automation is not None:
            what = f"{event.concept_name} {getattr(event, 'sid', '')}".strip()
            run_automation(automation, self.session, facts_for(event), what, self.report)


# -- the server -------------------------------------------------------------------------------------


class ListenerServer:
    """Runs an ASGI app with uvicorn in a background thread (`port=0`: any free port); a context manager."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, public_url: str | None = None) -> None:
        self.app = app
        self.host = host
        self.public_url = public_url
        self._requested_port = port
        self._port: int | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The local base URL, e.g. `http://127.0.0.1:8080`; only while running."""
        if self._port is None:
            raise BookError("the listener is not running")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    @property
    def endpoints(self) -> dict[str, str]:
        """Each endpoint's full URL as Twilio should call it (on the public URL when there is one)."""
        return endpoint_urls(self.public_url or self.url)

    def start(self) -> ListenerServer:
        import uvicorn

        try:
            sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self._requested_port))
        except OSError as err:
            raise BookError(f"the listener could not listen on {self.host}:{self._requested_port} ({err.strerror}); "
                            "choose another --port, or 0 for any free one") from None
        self._port = sock.getsockname()[1]
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
        self._port = None

    def __enter__(self) -> ListenerServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
