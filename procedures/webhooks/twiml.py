"""How the listener answers Twilio: TwiML built with the SDK's `VoiceResponse` and `MessagingResponse`.

What to answer is configured per number, in a TOML or JSON file (or flags for the default):

    [default.call]
    say = "Thanks for calling."

    [numbers."+15005550006".call]
    say = "Hello from the book."            # <Say>, with optional voice and language
    play = "https://example.com/hold.mp3"   # <Play>
    gather = { prompt = "Press 1 for sales.", num_digits = 1 }   # <Gather>: the keys go to /twilio/gather
    stream = "wss://example.com/media"      # <Connect><Stream url=...>
    redirect = "https://example.com/next"   # <Redirect>: Twilio fetches the rest of the call there

    [numbers."+15005550006".gathered]
    say = "Thanks, goodbye."                # how the call goes on once the caller's keys (or words) came in

    [numbers."+15005550006".message]
    reply = "Thanks, we got your message."  # <Message>, sent back to the sender

A call's verbs run in that order: say, play, gather, stream, redirect. A `<Gather>` without an
`action` posts what the caller keyed in or said to the listener's own gather endpoint (Twilio's
default, the URL that answered the call, would take it for a new call and ask again forever); the
`gathered` section answers that post, as a `call` section answers a call. A number without its own
`call`, `gathered` or `message` section uses the default's; with nothing configured a call hears
nothing and is hung up (an empty `<Response/>`), and a message gets no reply. Numbers are E.164
(+15005550006), or whatsapp:+1... for a WhatsApp sender.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from book.errors import BookError

_WEB = ("http", "https")
_STRICT = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


def _url(value: str | None, schemes: tuple[str, ...]) -> str | None:
    if value is not None and not value.lower().startswith(tuple(f"{s}://" for s in schemes)):
        raise ValueError(f"{value!r} is not a URL starting with {' or '.join(f'{s}://' for s in schemes)}")
    return value


class GatherAnswer(BaseModel):
    """A `<Gather>`: ask the caller for digits or speech and post them to `action`."""

    model_config = _STRICT

    prompt: str | None = None
    """What to say while gathering."""
    action: str | None = None
    """Where Twilio posts what was gathered (default: the listener's /twilio/gather endpoint)."""
    num_digits: int | None = Field(default=None, ge=1)
    """How many digits to gather."""
    input: Literal["dtmf", "speech", "dtmf speech"] = "dtmf"
    """Gather key presses, speech, or both."""
    timeout: int | None = Field(default=None, ge=1)
    """Seconds to wait for the caller."""

    @field_validator("action")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        return _url(value, _WEB)


class CallAnswer(BaseModel):
    """The TwiML an inbound call is answered with."""

    model_config = _STRICT

    say: str | None = None
    """Text to speak."""
    voice: str | None = None
    """The voice that says it (e.g. alice, Polly.Joanna)."""
    language: str | None = None
    """The language it is said in (e.g. en-US)."""
    play: str | None = None
    """The URL of an audio file to play."""
    gather: GatherAnswer | None = None
    """Digits or speech to gather."""
    stream: str | None = None
    """A wss:// URL to stream the call's audio to (`<Connect><Stream>`); `listener` for this listener's own
    stream endpoint, which records each call's audio to a WAV file in the downloads folder."""
    converse: bool = False
    """Connect the call to this listener's conversation (`<Connect><ConversationRelay>`): the `answer each inbound
    call as follows` automation of `listen --run` answers it, turn by turn."""
    greeting: str | None = None
    """With `converse`: what the caller hears first (ConversationRelay's welcome greeting)."""
    redirect: str | None = None
    """A URL of yours that answers the rest of the call."""

    @field_validator("play", "redirect")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        return _url(value, _WEB)

    @field_validator("stream")
    @classmethod
    def _socket_url(cls, value: str | None) -> str | None:
        return value if value == "listener" else _url(value, ("ws", "wss"))

    def twiml(self, gather_action: str | None = None) -> str:
        """This answer as TwiML, built with the SDK's `VoiceResponse`.

        `gather_action` is where a `<Gather>` without its own `action` posts what it gathered; the listener's own
        WebSocket endpoints (`converse`, `stream = "listener"`) are beside it.
        """
        from twilio.twiml.voice_response import VoiceResponse

        from procedures.webhooks.relay import RELAY_PATH, STREAM_PATH, next_to

        response = VoiceResponse()
        if self.say:
            response.say(self.say, voice=self.voice, language=self.language)
        if self.play:
            response.play(self.play)
        if self.gather is not None:
            g = self.gather
            gather = response.gather(action=g.action or gather_action, num_digits=g.num_digits, input=g.input, timeout=g.timeout)
            if g.prompt:
                gather.say(g.prompt, voice=self.voice, language=self.language)
        if self.converse and gather_action:
            response.connect().conversation_relay(url=next_to(gather_action, "/twilio/gather", RELAY_PATH),
                                                  dtmf_detection=True, welcome_greeting=self.greeting or None)
        if self.stream:
            url = next_to(gather_action, "/twilio/gather", STREAM_PATH) if self.stream == "listener" else self.stream
            if url:
                response.connect().stream(url=url)
        if self.redirect:
            response.redirect(self.redirect)
        return str(response.to_xml())


class MessageAnswer(BaseModel):
    """The TwiML an inbound message is answered with."""

    model_config = _STRICT

    reply: str | None = None
    """Text to send back to the sender."""

    def twiml(self) -> str:
        """This answer as TwiML, built with the SDK's `MessagingResponse`."""
        from twilio.twiml.messaging_response import MessagingResponse

        response = MessagingResponse()
        if self.reply:
            response.message(self.reply)
        return str(response.to_xml())


class NumberAnswers(BaseModel):
    """How one number answers calls and messages; a missing section falls back to the default's."""

    model_config = _STRICT

    call: CallAnswer | None = None
    """How calls to the number are answered."""
    gathered: CallAnswer | None = None
    """How a call goes on once what its `<Gather>` asked for came in (default: it ends)."""
    message: MessageAnswer | None = None
    """How messages to the number are answered."""


class Answers(BaseModel):
    """The listener's answers: a default, and per number (E.164, or whatsapp:+1...)."""

    model_config = _STRICT

    default: NumberAnswers = NumberAnswers()
    """For numbers with no section of their own."""
    numbers: dict[str, NumberAnswers] = {}
    """Per number."""

    @field_validator("numbers")
    @classmethod
    def _phone_numbers(cls, numbers: dict[str, NumberAnswers]) -> dict[str, NumberAnswers]:
        for number in numbers:
            check_listened_number(number)
        return numbers

    def _for(self, number: str) -> list[NumberAnswers]:
        bare = number.split(":", 1)[1] if number.lower().startswith("whatsapp:") else number
        return [a for a in (self.numbers.get(number), self.numbers.get(bare)) if a is not None] + [self.default]

    def call(self, number: str) -> CallAnswer:
        """How a call to `number` is answered."""
        return next((a.call for a in self._for(number) if a.call is not None), CallAnswer())

    def gathered(self, number: str) -> CallAnswer:
        """How a call to `number` goes on once its gathered input came in."""
        return next((a.gathered for a in self._for(number) if a.gathered is not None), CallAnswer())

    def message(self, number: str) -> MessageAnswer:
        """How a message to `number` is answered."""
        return next((a.message for a in self._for(number) if a.message is not None), MessageAnswer())


def check_listened_number(number: str) -> str:
    """A number the listener answers for: E.164 or whatsapp:+...; `ValueError` naming the bad value."""
    from concepts.types import check_phone_number

    checked = check_phone_number(number)
    if ":" in checked and not checked.lower().startswith("whatsapp:"):
        raise ValueError(f"{number!r} is not a phone number or a WhatsApp address; write it like +18004445555 "
                         "or whatsapp:+18004445555")
    if checked != number:
        raise ValueError(f"{number!r} has spaces around it; write it like {checked!r}")
    return checked


def load_answers(path: str | Path) -> Answers:
    """The answers in a `.toml` or `.json` file; `BookError` saying what is wrong and where."""
    import tomllib

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise BookError(f"can't read the answers file {str(path)!r}: {err.strerror}; check the path") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as err:
        raise BookError(f"{path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'TOML'}: {err}") from None
    return answers_from(data, str(path))


def answers_from(data: object, where: str = "the answers") -> Answers:
    """`Answers` from parsed data; `BookError` naming each bad key with its place."""
    try:
        return Answers.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg'].removeprefix('Value error, ')}"
            for e in err.errors()
        )
        raise BookError(f"{where}: {problems}") from None
