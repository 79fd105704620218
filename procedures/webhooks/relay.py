"""Calls that talk: the WebSocket endpoints Twilio opens during a call, and the check of their signature.

    WS /twilio/relay    ConversationRelay (`<Connect><ConversationRelay url=...>`): the caller's words as text,
                        the book's replies spoken                       -> a conversation, turn by turn
    WS /twilio/stream   Media Streams (`<Connect><Stream url=...>`): the call's raw audio (8 kHz mu-law)
                        -> a WAV file under the downloads folder, and its events as JSON lines

Twilio signs the WebSocket's upgrade request as it signs a webhook: the `X-Twilio-Signature` header is the
HMAC-SHA1 of the URL it opened (`wss://...`, with its query) and no parameters. A request with a missing or
wrong signature is refused before the WebSocket is accepted (the upgrade is answered 403).

ConversationRelay (https://www.twilio.com/docs/voice/conversationrelay/websocket-messages) sends `setup` once,
then `prompt` (`voicePrompt`, `lang`, `last`) for what the caller says, `dtmf` (`digit`) for a key, `interrupt`
and `error`; the book answers with `text` (`token`, `last`) to be spoken and `end` to hang up. A `RelaySession`
is a `book.conversation.Conversation` of those messages: its facts are `the call` (`LiveCall`), each turn binds
`the caller` (`CallerTurn`). The conversation runs in a thread of its own (the interpreter blocks), while the
event loop keeps reading the socket.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from starlette.concurrency import run_in_threadpool
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from book.expressions import text_of
from concepts.conversations import CallerTurn, LiveCall, TranscriptLine
from procedures.webhooks.signature import SIGNATURE_HEADER, SignatureCheck

RELAY_PATH = "/twilio/relay"
STREAM_PATH = "/twilio/stream"
POLICY_VIOLATION = 1008
Report = Callable[[str], None]


def socket_url(url: str) -> str:
    """An http(s) URL as the WebSocket URL at the same place (`https://` -> `wss://`)."""
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, parts.fragment))


def next_to(called: str, path: str, endpoint: str) -> str:
    """The WebSocket URL of `endpoint` beside `path` in the URL Twilio `called` (same host and prefix)."""
    parts = urlsplit(called)
    prefix = parts.path.rstrip("/")
    prefix = prefix[: -len(path)] if prefix.endswith(path) else prefix
    return socket_url(urlunsplit((parts.scheme, parts.netloc, prefix + endpoint, "", "")))


def signed(websocket: WebSocket, check: SignatureCheck) -> bool:
    """Whether the upgrade request carries Twilio's signature of the URL it opened."""
    called = socket_url(check.url_called(str(websocket.url)))  # the wss:// URL Twilio opened
    return SignatureCheck(check.auth_token).valid(called, {}, websocket.headers.get(SIGNATURE_HEADER))


class RelaySession:
    """One ConversationRelay session as a `book.conversation.Conversation`: turns from the socket, replies to it."""

    def __init__(self, setup: Mapping[str, Any], send: Callable[[dict[str, Any]], None]) -> None:
        self.call = LiveCall.from_setup(dict(setup))
        self.transcript: list[TranscriptLine] = []
        self.ended = False
        self._send = send
        self._inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()

    @property
    def facts(self) -> dict[str, Any]:
        return {"call": self.call}

    def received(self, message: dict[str, Any] | None) -> None:
        """A message from Twilio (None: the socket closed)."""
        self._inbox.put(message)

    def turns(self) -> Iterator[dict[str, Any]]:
        heard: list[str] = []
        number = 0
        while not self.ended:
            message = self._inbox.get()
            if message is None:
                return
            kind = message.get("type")
            if kind == "prompt":
                heard.append(str(message.get("voicePrompt") or ""))
                if message.get("last", True) is False:  # a partial prompt: the rest comes
                    continue
                words, heard = " ".join(w for w in heard if w), []
                self.transcript.append(TranscriptLine(speaker="caller", text=words))
                number += 1
                yield {"caller": CallerTurn(words=words, language=message.get("lang") or None, turn=number)}
            elif kind == "dtmf":
                digit = str(message.get("digit") or "")
                self.transcript.append(TranscriptLine(speaker="caller", text=digit))
                number += 1
                yield {"caller": CallerTurn(digits=digit, turn=number)}

    def reply(self, value: Any) -> None:
        text = text_of(value)
        self.transcript.append(TranscriptLine(speaker="book", text=text))
        self._send({"type": "text", "token": text, "last": True})

    def end(self) -> None:
        if not self.ended:
            self.ended = True
            self._send({"type": "end"})


def relay_route(check: SignatureCheck, start: Callable[[RelaySession], None], *, report: Report,
                path: str = RELAY_PATH) -> WebSocketRoute:
    """The ConversationRelay endpoint: signed upgrades only; `start(session)` runs the conversation (in a thread)
    once the `setup` came; the socket closes when it returns."""

    async def relay(websocket: WebSocket) -> None:
        if not signed(websocket, check):
            report(f"refused a WebSocket to {path}: the {SIGNATURE_HEADER} is missing or wrong (403); check the auth "
                   "token and, behind a proxy, --public-url")
            await websocket.close(code=POLICY_VIOLATION)
            return
        await websocket.accept()
        loop = asyncio.get_running_loop()
        try:
            setup = json.loads(await websocket.receive_text())
        except (WebSocketDisconnect, ValueError):
            return
        if setup.get("type") != "setup":
            report(f"a ConversationRelay session began with {setup.get('type')!r}, not 'setup'; closed")
            await websocket.close(code=POLICY_VIOLATION)
            return

        closed = threading.Event()

        def send(message: dict[str, Any]) -> None:
            if closed.is_set():
                return  # the call is over: nothing more can be said on it
            try:
                asyncio.run_coroutine_threadsafe(websocket.send_text(json.dumps(message)), loop).result(timeout=10)
            except Exception:  # the other side went away mid-reply
                closed.set()

        session = RelaySession(setup, send)
        running = asyncio.ensure_future(run_in_threadpool(_run, start, session, report))
        reading = asyncio.ensure_future(_read(websocket, session, report))
        await asyncio.wait({running, reading}, return_when=asyncio.FIRST_COMPLETED)
        session.received(None)
        await running
        closed.set()
        reading.cancel()
        try:
            await websocket.close()
        except (RuntimeError, WebSocketDisconnect):  # already closed by the other side
            pass

    return WebSocketRoute(path, relay)


def _run(start: Callable[[RelaySession], None], session: RelaySession, report: Report) -> None:
    try:
        start(session)
    except Exception as err:  # a bug in the book: the call must not hang on it
        report(f"the conversation on the call {session.call.sid} failed with an internal error: "
               f"{type(err).__name__}: {err}")
    finally:
        session.end()


async def _read(websocket: WebSocket, session: RelaySession, report: Report) -> None:
    while True:
        try:
            text = await websocket.receive_text()
        except (WebSocketDisconnect, RuntimeError):
            return
        try:
            message = json.loads(text)
        except ValueError:
            report(f"ConversationRelay sent a message that is not JSON on the call {session.call.sid}; ignored")
            continue
        if message.get("type") == "error":
            report(f"ConversationRelay reported an error on the call {session.call.sid}: {message.get('description')}")
        session.received(message)


TOKEN = "book-conversation"
"""The `<Parameter>` of a call's `<ConversationRelay>` that names the conversation waiting for it."""


class Conversations:
    """Runs the conversations of calls the book placed: each call's `Converse`, found by the token its TwiML gave
    its ConversationRelay (`TOKEN`) when the session opens (a session with another token is ended at once)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, tuple[Any, threading.Event, dict[str, Any]]] = {}

    def expect(self, token: str, converse: Any) -> tuple[threading.Event, dict[str, Any]]:
        """Run `converse` when the session with `token` opens; an event set once it has ended, and what it left
        (`report`, `transcript`)."""
        done: threading.Event = threading.Event()
        outcome: dict[str, Any] = {}
        with self._lock:
            self._waiting[token] = (converse, done, outcome)
        return done, outcome

    def forget(self, token: str) -> None:
        with self._lock:
            self._waiting.pop(token, None)

    def __call__(self, session: RelaySession) -> None:
        with self._lock:
            found = self._waiting.pop(session.call.parameters.get(TOKEN, ""), None)
        if found is None:
            return  # not a call of ours: `_run` ends it
        converse, done, outcome = found
        try:
            outcome["report"] = converse(session)
        finally:
            outcome["transcript"] = session.transcript
            done.set()
