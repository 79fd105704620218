"""Calls you wait for, and calls that talk: place a call and wait until it ends (reference 003's "Make Outbound
Call"), with a conversation block run turn by turn while it lasts.

The call is placed once. Its wait reads: by the status callbacks a running listener takes
(`procedures.webhooks.call_status`), else by polling the call (every quarter of a second at first, every 5 s at
most). A call with a conversation block is connected to ConversationRelay (`<Connect><ConversationRelay>`) on a
WebSocket this process serves for as long as the call lasts: on the sandbox, on loopback; with a Twilio account,
at the public URL `TWILIO_BOOK_PUBLIC_URL` (a tunnel to `TWILIO_BOOK_RELAY_PORT` on this machine), since Twilio
must reach it. On Temporal the whole call is one activity: a retry after its worker died finds the call the first
attempt placed (`find_sent`) and waits for it (`resume`), never placing it again.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from book.conversation import Converse, Conversing
from book.errors import InputError
from concepts.calls import CallRecipient, CallSender, RingTimeout, TwilioCall, Twiml, Url
from concepts.conversations import CallerTurn, LiveCall, MaxDuration, TwilioCallOutcome
from procedures._book import procedure
from procedures._twilio import twilio_errors
from procedures.calls import find_sent_call

if TYPE_CHECKING:
    from twilio.rest import Client

CALL_CONVERSATION = Conversing(facts={"call": LiveCall}, turn={"caller": CallerTurn},
                               description="a call the book placed, while it lasts")
DEFAULT_MAX_MINUTES = 60
POLL_FIRST, POLL_MOST = 0.25, 5.0
BOARD_EVERY, BOARD_CHECK = 0.1, 15.0
"""With a listener: how often the wait reads what it took (s), and how often it asks Twilio all the same."""
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@procedure("to place a *phone* call", find_sent=find_sent_call,
           resume=lambda client, found, inputs: wait_for_end(client, found.sid, _max_seconds(inputs)),
           converses=CALL_CONVERSATION,
           prepositions={"to": "recipient_number", "from": "sender_number", "saying": "message"})
def place_phone_call(
    client: Client,
    conversation: Converse | None,
    sender_number: CallSender,
    recipient_number: CallRecipient,
    message: str | None = None,
    url: Url | None = None,
    twiml: Twiml | None = None,
    timeout: RingTimeout | None = None,
    max_duration: MaxDuration | None = None,
) -> TwilioCallOutcome:
    """Place a phone call and wait until it ends.

    Calls the recipient and blocks until the call is over, or until the max duration has passed: the answer is
    the call's SID, its final status (completed, failed, busy, no-answer or canceled; timeout when it was still
    going on at the max duration), its duration and its direction. What the call does comes from the message to
    say, a URL of TwiML, or TwiML written here; or from a conversation block (`as follows`), run once for each
    thing the person says (`the caller's words`) or each key they press (`the caller's digits`), whose `say`
    lines are spoken to them and whose `hang up` ends the call (with a message too, it is said first). The call is
    placed once: when the outcome of placing it is unknown, it is reported, never placed again.

    Input Concepts:
        the sender number: The Twilio phone number to call from
        the recipient number: The phone number (E.164), SIP address or Client identifier to call
        the message: What to say when the call is answered (with a conversation block: the greeting said first)
        the url: The absolute URL that returns the TwiML instructions for the call
        the twiml: TwiML instructions for the call, written here (at most 4,000 characters)
        the timeout: How many seconds to let the phone ring before giving up (no-answer): 1 to 600 (default 60)
        the max duration: The longest to wait for the call to end, in minutes: 1 to 240 (default 60)

    Output Concepts:
        twilio call outcome: How the call ended: its SID, final status, duration and direction, and what was said

    Example 1:
        Call someone with a message, and wait for the call to end

        >>> place a phone call to "+18004446666" from "+15005550006" saying "Your order has shipped."

    Example 2:
        A conversation: answer what the person says until they say goodbye

        >>> place a phone call to "+18004446666" from "+15005550006" saying "Hello from the book." as follows
        ...   if the caller's words contains "bye" then
        ...     say "Goodbye!"
        ...     hang up
        ...   otherwise
        ...     say "You said {the caller's words}."
    """
    sources = [name for name, value in (("message", message), ("url", url), ("twiml", twiml)) if value]
    if conversation is None and len(sources) != 1:
        raise InputError("say what the call should do: give one of the message, the url and the twiml (or a "
                         "conversation block, 'as follows'); nothing was sent")
    if conversation is not None and (url or twiml):
        raise InputError("a call with a conversation block talks through it: give no url or twiml (a message is its "
                         "greeting); nothing was sent")
    relay = _Relay.start(client) if conversation is not None else None
    board = _board()
    try:
        arguments: dict[str, Any] = {"to": recipient_number, "from_": sender_number}
        if relay is not None:
            done, outcome = relay.conversations.expect(relay.token, conversation)
            arguments["twiml"] = relay.twiml(message)
        elif message:
            arguments["twiml"] = _say(message)
        else:
            arguments.update({"url": url} if url else {"twiml": twiml})
        if timeout is not None:
            arguments["timeout"] = timeout
        listener = board.listener_url() if board is not None else None
        if listener is not None:
            arguments["status_callback"] = listener.rstrip("/") + "/twilio/call-status"
            arguments["status_callback_event"] = ["initiated", "ringing", "answered", "completed"]
        with twilio_errors("place the phone call", write=True):
            call = client.calls.create(**arguments)
        result = wait_for_end(client, call.sid, _max_seconds({"max_duration": max_duration, "timeout": timeout}),
                              board if listener is not None else None, call)
        if relay is not None:
            done.wait(timeout=5.0)  # the conversation ended with the call; its last lines are in
            result.transcript = list(outcome.get("transcript", []))
        return result
    finally:
        if relay is not None:
            relay.close()
        if board is not None:
            board.close()


def _max_seconds(inputs: dict[str, Any]) -> float:
    minutes = inputs.get("max_duration") or DEFAULT_MAX_MINUTES
    return minutes * 60 + (inputs.get("timeout") or 60)


def _say(message: str) -> str:
    from twilio.twiml.voice_response import VoiceResponse

    response = VoiceResponse()
    response.say(message)
    return str(response.to_xml())


def _board() -> Any:
    from procedures._app import APP
    from procedures.webhooks.call_status import CallBoard, board_path

    try:
        return CallBoard(board_path(APP.home()))
    except Exception:  # no home to look in (read-only, ...): the wait polls the call
        return None


def wait_for_end(client: Client, sid: str, most: float, board: Any = None, call: Any = None) -> TwilioCallOutcome:
    """Wait until the call `sid` ends (at most `most` seconds): its outcome. With a `board`, by the statuses the
    listener took (and a look at the call every 15 s), else by polling the call."""
    from procedures.webhooks.call_status import FINAL

    deadline = time.monotonic() + most
    delay, asked = POLL_FIRST, time.monotonic()
    while True:
        taken = board.final(sid) if board is not None else None
        if taken is not None or board is None or time.monotonic() - asked >= BOARD_CHECK:
            with twilio_errors("read the phone call it placed"):
                call = client.calls(sid).fetch()
            asked = time.monotonic()
            if call.status in FINAL:
                return _outcome(call, call.status)
        if time.monotonic() >= deadline:
            return _outcome(call, "timeout")
        time.sleep(min(BOARD_EVERY if board is not None else delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, POLL_MOST)


def _outcome(call: Any, status: str) -> TwilioCallOutcome:
    found = call if isinstance(call, TwilioCall) else None
    duration = (found.duration if found else call.duration) if call is not None else None
    return TwilioCallOutcome(
        sid=(found.sid if found else call.sid) or "", status=status,  # type: ignore[arg-type]
        duration=int(duration) if duration not in (None, "") else None,
        direction=(found.direction if found else call.direction) or "outbound-api",
        sender_number=found.sender_number if found else getattr(call, "_from", None),
        recipient_number=found.recipient_number if found else call.to)


class _Relay:
    """The WebSocket a call's ConversationRelay opens, served by this process while the call lasts."""

    def __init__(self, server: Any, base: str, conversations: Any) -> None:
        self.server, self.base, self.conversations = server, base, conversations
        self.token = uuid.uuid4().hex

    @classmethod
    def start(cls, client: Client) -> _Relay:
        from procedures.webhooks.listen import ListenerServer
        from procedures.webhooks.relay import RELAY_PATH, Conversations, relay_route, socket_url
        from procedures.webhooks.signature import SignatureCheck

        api = getattr(client.http_client, "base_url", None) or ""
        local = (urlsplit(api).hostname or "") in _LOOPBACK
        public = None if local else os.environ.get("TWILIO_BOOK_PUBLIC_URL")
        if not local and not public:
            raise InputError("a call with a conversation block needs a WebSocket Twilio can reach: set "
                             "TWILIO_BOOK_PUBLIC_URL to the https:// URL of a tunnel to this machine, and "
                             "TWILIO_BOOK_RELAY_PORT to the port it reaches; nothing was sent")
        token = client.password if (client.username or "").startswith("AC") else None
        if not token:
            raise InputError("a call with a conversation block checks Twilio's signature with the Auth Token, and "
                             "this connection uses an API key: connect with the Account SID and Auth Token; "
                             "nothing was sent")
        from starlette.applications import Starlette

        conversations = Conversations()
        check = SignatureCheck(token, public.rstrip("/") if public else None)
        app = Starlette(routes=[relay_route(check, conversations, report=_report)])
        port = 0 if local else int(os.environ.get("TWILIO_BOOK_RELAY_PORT") or 0)
        server = ListenerServer(app, port=port, public_url=public).start()
        return cls(server, socket_url((public or server.url).rstrip("/") + RELAY_PATH), conversations)

    def twiml(self, greeting: str | None) -> str:
        from twilio.twiml.voice_response import VoiceResponse

        from procedures.webhooks.relay import TOKEN

        response = VoiceResponse()
        relay = response.connect().conversation_relay(url=self.base, dtmf_detection=True,
                                                      welcome_greeting=greeting or None)
        relay.parameter(name=TOKEN, value=self.token)
        return str(response.to_xml())

    def close(self) -> None:
        self.conversations.forget(self.token)
        self.server.close()


def _report(message: str) -> None:
    import sys

    print(f"twilio-book: {message}", file=sys.stderr, flush=True)
