"""Calls you wait for and calls that talk, through the real SDK on the sandbox, over real HTTP and WebSockets:
`place a phone call` (reference 003's "Make Outbound Call"), its conversation block over ConversationRelay, and
the listener's call endpoints (status callbacks, `answer each inbound call as follows`, Media Streams)."""

from __future__ import annotations

import io
import json
import threading
import time
import wave
from typing import Any

import pytest

from book.errors import InputError
from book.runtime import Automation
from procedures import BOOK
from procedures.calls_live import wait_for_end
from procedures.webhooks.call_status import CallBoard, board_path
from procedures.webhooks.calls import CallEndpoints
from procedures.webhooks.listen import ListenerServer, create_listener_app
from procedures.webhooks.signature import SignatureCheck
from procedures.webhooks.twiml import answers_from
from sandbox.call_progress import CallScripts
from sandbox.voice import Said, simulate_call
from tests.conftest import CALLER, NUMBER, requests_sent

TALK = f'''place a phone call to "{CALLER}" from "{NUMBER}" saying "Hello from the book." as follows
  if the caller's words contains "bye" then
    say "Goodbye!"
    hang up
  otherwise if the caller's digits is "1" then
    say "Sales, then."
  otherwise
    say "You said {{the caller's words}}."
'''


def run_while_the_clock_moves(clock: Any, work: Any, step: float = 1.0, limit: float = 30.0) -> Any:
    """Run `work` in a thread while the sandbox's clock moves on `step` seconds every 20 ms; its result."""
    done: dict[str, Any] = {}

    def target() -> None:
        try:
            done["value"] = work()
        except BaseException as err:  # handed back to the test
            done["error"] = err

    thread = threading.Thread(target=target)
    thread.start()
    deadline = time.monotonic() + limit
    while thread.is_alive() and time.monotonic() < deadline:
        clock.advance(step)
        time.sleep(0.02)
    thread.join(timeout=5)
    if "error" in done:
        raise done["error"]
    return done["value"]


def place(session: Any, text: str) -> Any:
    return Automation.compile(text, BOOK.registry).run(session)


def test_a_placed_call_is_waited_for_until_it_ends(clock, twilio, client, sandbox):
    session = twilio.session()
    result = run_while_the_clock_moves(clock, lambda: place(session, f'place a phone call to "{CALLER}" from '
                                                                     f'"{NUMBER}" saying "Your order has shipped."'))
    outcome = result.value
    assert outcome.concept_name == "twilio call outcome"
    assert (outcome.status, outcome.direction, outcome.recipient_number) == ("completed", "outbound-api", CALLER)
    assert outcome.duration == 34  # rang 4 s, talked 30 s (the sandbox's lifecycle), from its start
    (call,) = client.calls.list(to=CALLER)  # placed once
    assert call.sid == outcome.sid
    from sandbox.call_store import CallStore

    assert CallStore(sandbox.store).get_call(call.sid).params["Twiml"].endswith(
        "<Response><Say>Your order has shipped.</Say></Response>")


@pytest.mark.parametrize("number", [1, 2])
def test_every_example_of_placing_a_call_runs_against_the_sandbox(clock, twilio, number):
    (procedure,) = [p for p in BOOK.registry if p.english == "place a phone call"]
    outcome = run_while_the_clock_moves(clock, lambda: place(twilio.session(), procedure.examples[number - 1].text),
                                        step=0.5).value
    assert outcome.status == "completed"


def test_a_call_that_has_not_ended_by_its_max_duration_is_a_timeout(clock, twilio, client):
    call = client.calls.create(to=CALLER, from_=NUMBER, twiml="<Response><Say>Hi</Say></Response>")
    began = time.monotonic()
    outcome = wait_for_end(client, call.sid, 0.6)  # the clock stands still: the call stays queued
    assert outcome.status == "timeout" and outcome.sid == call.sid
    assert 0.5 <= time.monotonic() - began < 5


def test_a_conversation_block_runs_turn_by_turn_over_conversation_relay(clock, twilio, client, sandbox):
    CallScripts(sandbox.store).set(CALLER, ["Hi there", "#1", "bye now", "never said"])
    result = run_while_the_clock_moves(clock, lambda: place(twilio.session(), TALK), step=0.5)
    outcome = result.value
    assert outcome.status == "completed"
    assert [(line.speaker, line.text) for line in outcome.transcript] == [
        ("caller", "Hi there"), ("book", "You said Hi there."), ("caller", "1"), ("book", "Sales, then."),
        ("caller", "bye now"), ("book", "Goodbye!")]  # `hang up`: the fourth line was never heard
    (call,) = client.calls.list(to=CALLER)
    assert call.status == "completed" and call.sid == outcome.sid


def test_a_call_with_nothing_to_do_or_two_things_is_refused_before_anything_is_sent(twilio, client):
    session = twilio.session()
    with pytest.raises(InputError, match="give one of the message, the url and the twiml"):
        place(session, f'place a phone call to "{CALLER}" from "{NUMBER}"')
    with pytest.raises(InputError, match="give no url or twiml"):
        place(session, f'the url is "https://example.com/x.xml"\nplace a phone call to "{CALLER}" from "{NUMBER}" '
                       'as follows\n  say "Hi"\n')
    assert client.calls.list() == [] and requests_sent(session) == 0  # nothing was sent


@pytest.fixture
def listening(sandbox, home):
    """`listening(plan=None, answers=None)`: a listener with the call endpoints, checking the sandbox's signatures,
    said to take call status callbacks on the test's home; its JSON lines in `.out`."""
    made: list[Any] = []

    def start(plan: Any = None, answers: Any = None, session: Any = None, public_url: str | None = None) -> Any:
        from book.interpreter import Session

        out = io.StringIO()
        check = SignatureCheck(sandbox.auth_token, public_url)
        calls = CallEndpoints(check, session or Session(home=home), home, out, plan, lambda message: None)
        app = create_listener_app(check, lambda endpoint, event: None, answers=answers, report=lambda m: None,
                                  routes=calls.routes())
        server = ListenerServer(app).start()
        calls.advertise(server.url)
        made.append((server, calls))
        server.out, server.calls = out, calls
        return server

    yield start
    for server, calls in made:
        calls.close()
        server.close()


def test_with_a_listener_the_wait_is_driven_by_its_status_callbacks(clock, twilio, listening, home):
    listener = listening()
    session = twilio.session()
    outcome = run_while_the_clock_moves(clock, lambda: place(session, f'place a phone call to "{CALLER}" from '
                                                                      f'"{NUMBER}" saying "Hi"')).value
    assert outcome.status == "completed" and outcome.duration == 34
    lines = [json.loads(line) for line in listener.out.getvalue().splitlines()]
    assert [line["status"] for line in lines if line["trigger"] == "call-status"] == [
        "initiated", "ringing", "in-progress", "completed"]
    assert requests_sent(session) == 2  # the call placed, and one look once the listener took its end
    board = CallBoard(board_path(home))
    assert board.final(outcome.sid) == ("completed", 34)
    board.close()


def test_answer_each_inbound_call_holds_the_conversation(sandbox, listening, twilio):
    plan = Automation.compile('the greeting is "Thanks for calling"\nanswer each inbound call as follows\n'
                              '  if the caller\'s words contains "bye" then\n    hang up\n'
                              '  say "{the greeting}, {the call\'s sender number}: you said {the caller\'s words}."\n',
                              BOOK.registry).plan
    listener = listening(plan, answers_from({"default": {"call": {"converse": True, "greeting": "Hello"}}}),
                         twilio.session())
    call = simulate_call(sandbox.store, sender=CALLER, recipient=NUMBER, says=[Said.of("I need help"), Said.of("bye")],
                         webhook=listener.url + "/twilio/voice")
    assert 'welcomeGreeting="Hello"' in call.answer.body and call.connected == "relay"
    assert call.conversation.transcript == [("book", "Hello"), ("caller", "I need help"),
                                            ("book", f"Thanks for calling, {CALLER}: you said I need help."),
                                            ("caller", "bye")]
    assert call.conversation.hung_up_by == "book"
    deadline = time.monotonic() + 5  # the line is written once the block has returned, just after its `end`
    while '"relay"' not in listener.out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    (line,) = [json.loads(x) for x in listener.out.getvalue().splitlines() if '"relay"' in x]
    assert (line["call_sid"], line["turns"], line["hung_up"]) == (call.sid, 2, True)


def test_a_websocket_without_twilios_signature_is_refused(listening):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    listener = listening()
    url = listener.url.replace("http://", "ws://") + "/twilio/relay"
    for headers in ({}, {"X-Twilio-Signature": "bm90IGl0"}):
        with pytest.raises(InvalidStatus) as refused:
            connect(url, additional_headers=headers, proxy=None, open_timeout=5)
        assert refused.value.response.status_code == 403


def test_behind_a_proxy_a_websocket_is_signed_for_the_public_wss_url(listening, sandbox):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    from sandbox.callbacks import sign

    listener = listening(public_url="https://hooks.example.com/book")
    local = listener.url.replace("http://", "ws://") + "/twilio/stream"
    with pytest.raises(InvalidStatus):  # signed for the URL the proxy forwarded to: not the one Twilio opened
        connect(local, additional_headers={"X-Twilio-Signature": sign(sandbox.auth_token, local, {})}, proxy=None)
    public = "wss://hooks.example.com/book/twilio/stream"
    with connect(local, additional_headers={"X-Twilio-Signature": sign(sandbox.auth_token, public, {})},
                 proxy=None) as socket:
        socket.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
    deadline = time.monotonic() + 5
    while "connected" not in listener.out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert json.loads(listener.out.getvalue().splitlines()[0])["event"] == "connected"


def test_a_media_stream_is_recorded_to_a_wav_file_and_its_events_forwarded(sandbox, listening, home):
    from book.interpreter import Session

    listener = listening(answers=answers_from({"default": {"call": {"stream": "listener"}}}),
                         session=Session(home=home, downloads=home / "downloads"))
    call = simulate_call(sandbox.store, sender=CALLER, recipient=NUMBER, says=[Said.of("#7")], seconds=2,
                         webhook=listener.url + "/twilio/voice")
    assert call.connected == "stream" and call.conversation.streamed_seconds == 2
    events = [json.loads(x) for x in listener.out.getvalue().splitlines()]
    assert [e["event"] for e in events] == ["connected", "start", "dtmf", "stop"]
    start, stop = events[1], events[3]
    assert start["call_sid"] == call.sid and start["format"]["encoding"] == "audio/x-mulaw"
    assert events[2]["digit"] == "7" and stop["seconds"] == 2.0
    path = home / "downloads" / "calls" / f"{call.sid}-{start['stream_sid']}.wav"
    assert stop["file"] == str(path)
    with wave.open(str(path)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth(), wav.getnframes()) == (8000, 1, 2, 16000)
        import array

        samples = array.array("h", wav.readframes(16000))
    from sandbox.audio import _pcm

    tone = array.array("h", _pcm(2))
    # mu-law keeps each sample within a few per cent of the tone's
    assert max(abs(a - b) for a, b in zip(samples, tone, strict=True)) < 0.05 * 32767
    assert max(samples) > 8000


def test_a_call_whose_placing_has_an_unknown_outcome_is_reported_never_placed_again(twilio, sandbox, client):
    from book.errors import DeliveryUnknownError
    from book.interpreter import Session
    from procedures._twilio import client_for
    from procedures.http import BookHttpClient
    from tests.faults import FaultProxy

    # every request is answered with a reset after the sandbox did it (at most 3 times in a row for one request)
    with FaultProxy(sandbox.url, seed=3, rate=1.0, delay=0.1, faults=("reset after",)) as proxy:
        session = Session(clients={BOOK.name: lambda: client_for(twilio.connection, BookHttpClient(
            proxy.url, sleep=lambda seconds: None))}, home=twilio.home)
        with pytest.raises(DeliveryUnknownError) as unknown:
            place(session, f'place a phone call to "{CALLER}" from "{NUMBER}" saying "Hi"')
    assert "line 1: place a phone call" in unknown.value.where and f"the recipient number {CALLER!r}" in \
        unknown.value.where.replace('"', "'")
    assert len(client.calls.list(to=CALLER)) == 1  # the sandbox placed it once; the book did not place it again
