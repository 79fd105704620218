"""The sandbox playing Twilio's part in a call that talks: ConversationRelay and Media Streams over real WebSockets.

A call whose TwiML connects it (`<Connect><ConversationRelay url=...>` or `<Connect><Stream url=...>`) opens the
WebSocket as Twilio does, its upgrade request signed (`X-Twilio-Signature` over the URL, no parameters):

- ConversationRelay: `setup` (the call's SIDs, from, to, direction), then for each thing the caller says a
  `prompt` (`voicePrompt`, `lang`, `last`) and for each key a `dtmf`; what the automation says back (`text`
  tokens) is recorded, turn by turn, until it sends `end` (it hung up) or the caller has nothing more to say (the
  caller hangs up). A turn's replies are those that come until the automation is quiet for `QUIET` seconds.
- Media Streams: `connected`, `start` (mu-law, 8000 Hz, one channel), `media` every 20 ms with real mu-law audio
  (the sandbox's tone), a `dtmf` per key, and `stop`.

`simulate_call` is an inbound call (`twilio-book sandbox call --from A --to N --say "..."`): posted to the number's
voice webhook, its TwiML followed. A call the API creates is followed by `sandbox.call_progress`.
"""

from __future__ import annotations

import array
import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox.audio import SAMPLE_RATE, _pcm
from sandbox.callbacks import SIGNATURE_HEADER, Answer, Post, post_form, receive_call, sign
from sandbox.errors import SandboxError
from sandbox.ids import new_sid
from sandbox.store import Store

QUIET = 0.3
"""Seconds without a reply after which a turn's replies are taken as complete."""
FIRST_REPLY = 5.0
"""Seconds a turn waits at most for its first reply."""
FRAME = SAMPLE_RATE // 50
"""Samples in one `media` message: 20 ms."""


@dataclass(frozen=True)
class Said:
    """One thing the caller says (`words`) or one key they press (`digit`)."""

    words: str | None = None
    digit: str | None = None

    @classmethod
    def of(cls, text: str) -> Said:
        """`"#5"` is the key 5; anything else is words."""
        return cls(digit=text[1:]) if text.startswith("#") and len(text) == 2 else cls(words=text)


@dataclass
class Conversation:
    """What happened in a simulated conversation: each line, in order, and who ended it."""

    transcript: list[tuple[str, str]] = field(default_factory=list)
    """(`caller` or `book`, the text) in order."""
    hung_up_by: str = "caller"
    """`book` when the automation ended the call (`end`), else `caller`."""
    streamed_seconds: float = 0.0
    """Seconds of audio sent, for a media stream."""

    def said_by(self, speaker: str) -> list[str]:
        return [text for who, text in self.transcript if who == speaker]


@dataclass(frozen=True)
class Target:
    """The WebSocket a call's TwiML connects it to: `relay` or `stream`, its URL, its `<Parameter>`s, and (for a
    ConversationRelay) the welcome greeting said before the caller's first turn."""

    kind: str
    url: str
    parameters: dict[str, str]
    greeting: str | None = None


def connect_target(twiml: str) -> Target | None:
    """The WebSocket a call's TwiML connects it to, or None."""
    import xml.etree.ElementTree as ElementTree  # only when there is TwiML to read (3 ms at import)

    try:
        root = ElementTree.fromstring(twiml) if twiml.strip() else None
    except ElementTree.ParseError:
        return None
    if root is None or root.tag != "Response":
        return None
    for connect in root.iter("Connect"):
        for child in connect:
            if child.tag in ("ConversationRelay", "Stream") and child.get("url"):
                parameters = {p.get("name", ""): p.get("value", "") for p in child.iter("Parameter")}
                return Target("relay" if child.tag == "ConversationRelay" else "stream", str(child.get("url")),
                              parameters, child.get("welcomeGreeting") or None)
    return None


def _open(url: str, auth_token: str) -> Any:
    from websockets.exceptions import InvalidStatus, WebSocketException
    from websockets.sync.client import connect

    try:
        return connect(url, additional_headers={SIGNATURE_HEADER: sign(auth_token, url, {})}, open_timeout=10,
                       proxy=None)
    except InvalidStatus as err:
        raise SandboxError(f"the WebSocket {url} refused the call (HTTP {err.response.status_code})") from None
    except (OSError, WebSocketException) as err:
        raise SandboxError(f"the WebSocket {url} could not be opened ({type(err).__name__}: {err}); is the listener "
                           "running?") from None


def relay(target: Target, auth_token: str, setup: dict[str, Any], says: Sequence[Said]) -> Conversation:
    """A ConversationRelay session on the target: its greeting said, `setup`, then each of `says` in turn, the
    replies recorded."""
    from websockets.exceptions import ConnectionClosed

    done = Conversation()
    if target.greeting:
        done.transcript.append(("book", target.greeting))
    with _open(target.url, auth_token) as socket:
        socket.send(json.dumps({"type": "setup", "sessionId": new_sid("VX"), "customParameters": target.parameters,
                                **setup}))
        try:
            for said in says:
                if said.digit is not None:
                    socket.send(json.dumps({"type": "dtmf", "digit": said.digit}))
                    done.transcript.append(("caller", said.digit))
                else:
                    socket.send(json.dumps({"type": "prompt", "voicePrompt": said.words, "lang": "en-US", "last": True}))
                    done.transcript.append(("caller", said.words or ""))
                if _replies(socket, done):
                    done.hung_up_by = "book"
                    return done
        except ConnectionClosed:
            done.hung_up_by = "book"
    return done


def _replies(socket: Any, done: Conversation) -> bool:
    """The replies to one turn, into `done`; whether the automation ended the call."""
    from websockets.exceptions import ConnectionClosed

    wait = FIRST_REPLY
    while True:
        try:
            message = json.loads(socket.recv(timeout=wait))
        except TimeoutError:
            return False
        except ConnectionClosed:
            return True
        if message.get("type") == "end":
            return True
        if message.get("type") == "text":
            done.transcript.append(("book", str(message.get("token", ""))))
        wait = QUIET


def mulaw(samples: bytes) -> bytes:
    """16-bit native-order PCM samples as G.711 mu-law bytes."""
    values = array.array("h", samples)
    out = bytearray(len(values))
    for index, sample in enumerate(values):
        sign_bit = 0x80 if sample < 0 else 0
        magnitude = min(abs(int(sample)), 32635) + 0x84
        exponent = max(magnitude.bit_length() - 8, 0)
        mantissa = (magnitude >> (exponent + 3)) & 0x0F
        out[index] = ~(sign_bit | (exponent << 4) | mantissa) & 0xFF
    return bytes(out)


def stream(target: Target, auth_token: str, *, account_sid: str, call_sid: str, seconds: int = 1,
           digits: Sequence[str] = ()) -> Conversation:
    """A Media Streams session on `url`: `connected`, `start`, `seconds` of the tone as 8 kHz mu-law `media`,
    a `dtmf` per key, `stop`."""
    stream_sid = new_sid("MZ")
    audio = mulaw(_pcm(max(1, seconds)))
    sequence = 0

    def message(event: str, **body: Any) -> str:
        nonlocal sequence
        sequence += 1
        return json.dumps({"event": event, "sequenceNumber": str(sequence), "streamSid": stream_sid, **body})

    with _open(target.url, auth_token) as socket:
        socket.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        socket.send(message("start", start={
            "accountSid": account_sid, "streamSid": stream_sid, "callSid": call_sid, "tracks": ["inbound"],
            "customParameters": target.parameters,
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": SAMPLE_RATE, "channels": 1}}))
        for chunk, at in enumerate(range(0, len(audio), FRAME), 1):
            payload = base64.b64encode(audio[at: at + FRAME]).decode()
            socket.send(message("media", media={"track": "inbound", "chunk": str(chunk),
                                                "timestamp": str(at * 1000 // SAMPLE_RATE), "payload": payload}))
        for digit in digits:
            socket.send(message("dtmf", dtmf={"track": "inbound_track", "digit": digit}))
        socket.send(message("stop", stop={"accountSid": account_sid, "callSid": call_sid}))
        try:
            socket.recv(timeout=5)  # the listener closes once it has the stop
        except Exception:  # closed, or nothing more to read: either way the stream is over
            pass
    return Conversation(streamed_seconds=len(audio) / SAMPLE_RATE)


@dataclass(frozen=True)
class SimulatedCall:
    """What a simulated inbound call did: its SID, where it was posted, the TwiML answer, and its conversation."""

    sid: str
    webhook: str
    answer: Answer
    connected: str | None
    """`relay` or `stream` when the TwiML connected the call to a WebSocket, else None."""
    conversation: Conversation


def simulate_call(store: Store, *, sender: str, recipient: str, says: Sequence[Said] = (), seconds: int = 1,
                  webhook: str | None = None, post: Post = post_form) -> SimulatedCall:
    """An inbound call: posted to the recipient's voice webhook, then, as its TwiML says, a ConversationRelay session
    (the caller saying `says`) or a media stream (`seconds` of audio, the digits of `says`)."""
    received = receive_call(store, sender=sender, recipient=recipient, webhook=webhook, post=post)
    answer = received.answer
    assert answer is not None and received.webhook is not None
    target = connect_target(answer.body) if answer.status < 300 else None
    if target is None:
        return SimulatedCall(received.sid, received.webhook, answer, None, Conversation())
    if target.kind == "relay":
        setup = {"accountSid": store.account_sid, "callSid": received.sid, "parentCallSid": "", "from": sender,
                 "to": recipient, "direction": "inbound", "callType": "PSTN", "callStatus": "RINGING",
                 "callerName": "", "forwardedFrom": ""}
        done = relay(target, store.auth_token, setup, says)
    else:
        done = stream(target, store.auth_token, account_sid=store.account_sid, call_sid=received.sid, seconds=seconds,
                      digits=[s.digit for s in says if s.digit])
    return SimulatedCall(received.sid, received.webhook, answer, target.kind, done)
