"""The Twilio book's own commands: `listen` (Twilio's webhooks) and `sandbox receive` (an inbound message).

Only the standard library is imported at load time, so registering these commands keeps
`twilio-book --help` fast; each handler imports what it needs and returns an exit code.

    add_listen_command(subparsers, app)                  # listen
    receive = sandbox_subparsers.add_parser("receive", help=RECEIVE_HELP)
    add_sandbox_receive_arguments(receive)               # sets func=cmd_sandbox_receive
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from typing import TYPE_CHECKING, Any

from book import startup
from book.commands.arguments import add_connection_arguments, read_source
from book.commands.temporal import add_temporal_arguments

if TYPE_CHECKING:
    from book.app import App

EXIT_OK, EXIT_FAILURE = 0, 1

KIND_NAMES = ("message-status", "sms", "whatsapp", "call", "gather")
RECEIVE_HELP = "simulate an inbound SMS (or call) to a sandbox number: post it, signed, to the number's webhook"


def add_listen_command(subparsers: Any, app: App) -> None:
    """Register `listen`; its `func(args)` returns an exit code."""
    listen = subparsers.add_parser(
        "listen",
        help="receive Twilio's webhooks: status callbacks, inbound SMS, WhatsApp and calls",
        description="Run a webhook server for Twilio. It prints the URL of each endpoint to paste into Twilio's "
        "console; every request must carry a valid X-Twilio-Signature for the URL Twilio called (403 otherwise), "
        "a retried delivery is handed on once, and calls are answered with TwiML (a <Gather> posts what the "
        "caller keyed in or said to the gather endpoint). Each event is printed as a JSON line and, with --run, "
        "given to an automation as 'the event' (and 'the message', 'the call' or, for gathered input, "
        "'the input'), which runs after the listener has answered, one event at a time, in order. The runs are "
        "queued in the book's home folder before Twilio is answered: those a stopped listener had not started run "
        "when a listener with the same --run FILE starts again within 24 hours of their arrival (older ones are "
        "reported, not run); one cut short mid-run is reported, not repeated.",
    )
    listen.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; 0.0.0.0 or :: for every address)")
    listen.add_argument("--port", type=_port, default=0, help="port to listen on, 0 to 65535 (default 0: any free one)")
    listen.add_argument("--public-url", metavar="URL",
                        help="the base URL Twilio calls when it is not the local one (a tunnel or a proxy to this "
                        "listener's root, like https://abc.ngrok.app): signatures are checked against it")
    listen.add_argument("--run", metavar="FILE", help="run this automation for each event")
    listen.add_argument("--on", action="append", choices=KIND_NAMES, metavar="KIND",
                        help=f"with --run: run the automation only on these events ({', '.join(KIND_NAMES)}); "
                        "repeatable (default: every kind it compiles for)")
    listen.add_argument("--answers", metavar="FILE",
                        help="a TOML or JSON file saying how calls and messages are answered, per number")
    listen.add_argument("--say", metavar="TEXT", help="answer calls by saying this (the default answer)")
    listen.add_argument("--play", metavar="URL", help="answer calls by playing this audio")
    listen.add_argument("--stream", metavar="WSS_URL", help="connect calls to this media stream; 'listener' for the "
                        "listener's own, which records each call's audio to a WAV file in the downloads folder")
    listen.add_argument("--redirect", metavar="URL", help="hand calls on to this URL of yours")
    listen.add_argument("--reply", metavar="TEXT", help="answer inbound messages with this reply")
    listen.add_argument("--number", action="append", metavar="NUMBER", default=[],
                        help="with the sandbox: point this sandbox number's webhooks at the listener (repeatable)")
    add_connection_arguments(listen, app)
    add_temporal_arguments(listen, required=False)
    listen.set_defaults(func=cmd_listen)



def add_sandbox_receive_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of `sandbox receive`; sets `func=cmd_sandbox_receive`."""
    parser.add_argument("--from", dest="sender", required=True, metavar="NUMBER",
                        help="who sends it (E.164, or whatsapp:+1... for WhatsApp)")
    parser.add_argument("--to", dest="recipient", required=True, metavar="NUMBER", help="the sandbox number it goes to")
    parser.add_argument("--body", default="", help="the message's text")
    parser.add_argument("--media", action="append", default=[], metavar="URL", help="a media URL (repeatable)")
    parser.add_argument("--call", action="store_true", help="simulate an inbound call instead of a message")
    parser.add_argument("--webhook", metavar="URL",
                        help="post to this URL this once (default: the number's webhook, set by 'listen --sandbox --number')")
    parser.set_defaults(func=cmd_sandbox_receive)


CALL_HELP = "simulate an inbound call that talks: post it to the number's voice webhook, then say --say lines to it"


def add_sandbox_call_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of `sandbox call`; sets `func=cmd_sandbox_call`."""
    parser.add_argument("--from", dest="sender", required=True, metavar="NUMBER", help="who calls (E.164)")
    parser.add_argument("--to", dest="recipient", required=True, metavar="NUMBER", help="the sandbox number called")
    parser.add_argument("--say", action="append", default=[], metavar="TEXT",
                        help="what the caller says, one turn each, in order (repeatable); '#5' presses the key 5")
    parser.add_argument("--seconds", type=int, default=1, help="for a media stream: seconds of audio to send")
    parser.add_argument("--webhook", metavar="URL",
                        help="post to this URL this once (default: the number's webhook, set by 'listen --sandbox --number')")
    parser.set_defaults(func=cmd_sandbox_call)


def cmd_sandbox_call(args: argparse.Namespace) -> int:
    from book.errors import BookError
    from procedures._sandbox import open_sandbox, sandbox_errors
    from sandbox.voice import Said, simulate_call

    app: App = args.app
    _check_numbers(args)
    if not 1 <= args.seconds <= 60:
        raise BookError(f"--seconds {args.seconds}: give 1 to 60 seconds of audio")
    sandbox = open_sandbox(app.home())
    try:
        with sandbox_errors():
            call = simulate_call(sandbox.store, sender=args.sender, recipient=args.recipient,
                                 says=[Said.of(text) for text in args.say], seconds=args.seconds, webhook=args.webhook)
    finally:
        sandbox.close()
    for speaker, text in call.conversation.transcript:
        print(f"{'caller' if speaker == 'caller' else 'book  '}: {text}")
    print(json.dumps({"sid": call.sid, "webhook": call.webhook, "status": call.answer.status, "connected": call.connected,
                      "transcript": call.conversation.transcript, "hung_up_by": call.conversation.hung_up_by
                      if call.connected == "relay" else None,
                      "streamed_seconds": call.conversation.streamed_seconds or None}, ensure_ascii=False))
    if call.answer.status >= 300:
        app.say(f"the webhook answered HTTP {call.answer.status}")
        return EXIT_FAILURE
    if call.connected is None:
        app.say("the call's TwiML connects it to no conversation or stream; to talk, start 'twilio-book listen --sandbox "
                f"--number {args.recipient} --run FILE' with an 'answer each inbound call as follows' automation")
    return EXIT_OK


def _check_numbers(args: argparse.Namespace) -> None:
    """--from and --to are phone numbers (or WhatsApp addresses); `BookError` naming the flag that is not."""
    from book.errors import BookError
    from concepts.types import check_phone_number

    for flag, value in (("--from", args.sender), ("--to", args.recipient)):
        try:
            check_phone_number(value)
        except ValueError as err:
            raise BookError(f"{flag}: {err}") from None


def _until_stopped(running: Any) -> None:
    """Wait until Ctrl-C or SIGTERM (or `running()` turns false)."""

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        while running():
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- listen -----------------------------------------------------------------------------------------


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number; give one from 1 to 65535, or 0 for any free one") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port number; give one from 1 to 65535, or 0 for any free one")
    return value


def cmd_listen(args: argparse.Namespace) -> int:
    from book.errors import BookError
    from book.session import open_session
    from procedures.webhooks.calls import TITLES as CALL_TITLES
    from procedures.webhooks.calls import CallEndpoints
    from procedures.webhooks.idempotency import SeenTokens
    from procedures.webhooks.listen import (
        ENDPOINTS,
        KINDS,
        Handoff,
        ListenerServer,
        compile_for_kinds,
        create_listener_app,
        reach_hint,
        stderr_report,
    )
    from procedures.webhooks.relay import socket_url
    from procedures.webhooks.signature import SignatureCheck, check_public_url
    from procedures.webhooks.twiml import check_listened_number

    app: App = args.app
    book = app.load_book()
    if args.temporal and not args.run:
        raise BookError(f"--temporal {args.temporal} runs the automation of each event on Temporal's workers, and "
                        "there is no automation: give it with --run FILE")
    if args.on and not args.run:
        raise BookError(f"--on {' --on '.join(args.on)} chooses the events an automation runs on, and there is no "
                        "automation: give it with --run FILE, or leave out --on")
    for number in args.number:
        try:
            check_listened_number(number)
        except ValueError as err:
            raise BookError(f"--number: {err}") from None
    answers = _answers(args)
    public_url = check_public_url(args.public_url) if args.public_url else None
    automations: dict[Any, Any] = {}
    name = text = filename = None
    conversation = _conversation(args, book) if args.run else None
    if conversation is not None:  # `answer each inbound call as follows`: calls are answered by it, turn by turn
        answers = _conversing(answers, args.say)
        app.say(f"calls are answered by the conversation on line {conversation.answers.line} of {args.run}, turn by turn")
    elif args.run:
        kinds = [k for k in KINDS if k.name in args.on] if args.on else list(KINDS)
        text, filename = read_source(args.run)
        name = _automation_name(args.run, text)  # runs queued by a listener that stopped are run by one with it
        automations, problems = compile_for_kinds(text, book.registry, kinds, filename)
        if not automations or (args.on and problems):
            raise next(iter(problems.values()))
        if problems:
            ran = ", ".join(k.name for k in kinds if k.concept in automations)
            why = next(iter(problems.values())).problems[0].message
            app.say(f"the automation runs on {ran} events only; not on {', '.join(problems)} ({why})")

    account_sid, auth_token, sandbox = _webhook_credentials(args, app)
    if args.number and sandbox is None:
        raise BookError("--number points sandbox numbers at the listener; for a Twilio number, paste the URLs "
                        "below into its configuration in Twilio's console")
    seen = SeenTokens(app.home() / "triggers" / "webhooks.sqlite3")
    try:
        with open_session(book, connection=args.connection, sandbox=sandbox is not None, notice=app.say,
                          downloads=args.downloads) as session:
            if args.temporal:
                handoff = _temporal_handoff(args, book, automations, name, text, filename)
            else:
                handoff = Handoff(sys.stdout, automations=automations, session=session, seen=seen, name=name)
            check = SignatureCheck(auth_token, public_url)
            calls = CallEndpoints(check, session, app.home(), sys.stdout, conversation, stderr_report)
            listener = create_listener_app(check, handoff, answers=answers, seen=seen, routes=calls.routes())
            with ListenerServer(listener, host=args.host, port=args.port, public_url=public_url) as server:
                if sandbox is not None or public_url:  # Twilio reaches it: calls that wait take their status here
                    calls.advertise(public_url or server.url)
                where = f" (Twilio calls {public_url})" if public_url else ""
                app.say(f"listening on {server.url}{where}; signatures are checked with the auth token of {account_sid}")
                urls = server.endpoints
                width = max(len(e.title) for e in ENDPOINTS)
                for endpoint in ENDPOINTS:
                    print(f"  {endpoint.title:<{width}}  {urls[endpoint.name]}", file=sys.stderr)
                base = public_url or server.url
                for path, title in CALL_TITLES:
                    url = socket_url(base + path) if path != "/twilio/call-status" else base + path
                    print(f"  {title}  {url}", file=sys.stderr)
                if sandbox is not None:
                    _point_numbers(sandbox.store, args.number, urls)
                hint = None if public_url else reach_hint(server.address)
                if hint:
                    print(f"  ({hint})", file=sys.stderr)
                app.say("press Ctrl-C to stop")
                startup.settle()  # what it loaded to start, off the collector's passes under load (book.startup)
                try:
                    _until_stopped(lambda: server.running)
                finally:
                    calls.close()
            if handoff.pending:
                app.say(f"waiting for {handoff.pending} automation run(s) still queued; press Ctrl-C again to stop now "
                       "(those not started run when a listener with this automation next starts on this home "
                       f"within {_hours(seen.max_age)} of their arrival; older ones are reported, not run)")
            try:
                handoff.close()
            except KeyboardInterrupt:
                pending = handoff.pending
                handoff.close(timeout=0)
                app.say(f"stopped without waiting for {pending} automation run(s): those not started stay queued and "
                       f"run when 'twilio-book listen --run {args.run}' next starts on this home within "
                       f"{_hours(seen.max_age)} of their arrival (older ones are reported, not run); one cut short "
                       "mid-run is reported then, for you to check what it did")
                raise
    finally:
        seen.close()
        if sandbox is not None:
            sandbox.close()
    app.say("stopped listening")
    return EXIT_OK


def _temporal_handoff(args: argparse.Namespace, book: Any, automations: dict[Any, Any], name: Any, text: str,
                      filename: str) -> Any:
    from book.temporal import require

    require(args.app.program)
    from procedures.webhooks.temporal import TemporalHandoff

    handoff = TemporalHandoff(book, automations, text, filename, target=args.temporal, task_queue=args.task_queue,
                              name=name)
    args.app.say(f"each event's automation runs on Temporal at {args.temporal} (task queue {args.task_queue}), "
                 "started once per delivery before Twilio is answered; run 'twilio-book worker' to run them")
    return handoff


def _conversation(args: argparse.Namespace, book: Any) -> Any:
    """The --run automation's plan when it answers each inbound call (a conversation), else None."""
    from book.errors import BookError, LanguageError
    from book.runtime import Automation
    from procedures.webhooks.calls import answering

    text, filename = read_source(args.run)
    try:
        plan = Automation.compile(text, book.registry, filename).plan
    except LanguageError:
        return None  # compiled again for the events, which report its problems
    if answering(plan) is None:
        return None
    if args.on:
        raise BookError(f"--on chooses the events an automation runs on, and {args.run} answers each inbound call's "
                        "conversation: leave out --on")
    if args.temporal:
        raise BookError(f"{args.run} answers each inbound call's conversation, turn by turn, on the WebSocket this "
                        "listener holds for the call: it runs here, not on Temporal's workers; leave out --temporal "
                        "(a 'place a phone call ... as follows' line runs on a worker)")
    return plan


def _conversing(answers: Any, greeting: str | None) -> Any:
    """The answers with every call connected to the listener's conversation (`--say`: its greeting)."""
    from procedures.webhooks.twiml import answers_from

    data = answers.model_dump(exclude_none=True)
    call = {"converse": True, **({"greeting": greeting} if greeting else {})}
    data.setdefault("default", {})["call"] = call
    for number in data.get("numbers", {}).values():
        number.pop("call", None)
    return answers_from(data, "the conversation")


def _hours(seconds: float) -> str:
    """How long queued runs wait to run, for a person: 24 hours (the store's max_age, a day by default)."""
    hours = seconds / 3600
    return f"{hours:g} hour{'' if hours == 1 else 's'}"


def _automation_name(path: str, text: str) -> str:
    """The automation a listener runs, as its queued runs record it: its file's full path (so an edited file
    still runs what was queued for it), or standard input and a digest of its text."""
    import hashlib
    import os

    if path == "-":
        return f"from standard input ({hashlib.sha256(text.encode('utf-8')).hexdigest()[:12]})"
    return os.path.realpath(path)


def _answers(args: argparse.Namespace) -> Any:
    from procedures.webhooks.twiml import Answers, answers_from, load_answers

    answers = load_answers(args.answers) if args.answers else Answers()
    call = {k: getattr(args, k) for k in ("say", "play", "stream", "redirect") if getattr(args, k) is not None}
    if not call and args.reply is None:
        return answers
    data = answers.model_dump(exclude_none=True)
    default = data.setdefault("default", {})
    if call:
        default["call"] = call
    if args.reply is not None:
        default["message"] = {"reply": args.reply}
    return answers_from(data, "the flags")


def _webhook_credentials(args: argparse.Namespace, app: App) -> tuple[str, str, Any]:
    """The account whose auth token signs the webhooks, its token, and the sandbox (None with a connection)."""
    from pydantic import SecretStr

    from book.connections import resolve_connection
    from book.errors import ConnectionError_
    from procedures._sandbox import open_sandbox

    book = app.load_book()
    connection = None if args.sandbox else resolve_connection(args.connection, app=app, methods=book.connection_methods)
    if connection is None:
        if not args.sandbox:
            app.say("no connection is configured: listening for the local sandbox ('twilio-book connect' adds a real account)")
        sandbox = open_sandbox(app.home())
        return sandbox.account_sid, sandbox.auth_token, sandbox
    token = connection.values.get("auth_token")
    if not isinstance(token, SecretStr):
        raise ConnectionError_(
            f"{connection} has no Auth Token, and Twilio signs its webhooks with the account's Auth Token; "
            "use a connection made with the Account SID and Auth Token (or set TWILIO_AUTH_TOKEN)"
        )
    return connection.value("account_sid"), token.get_secret_value(), None


def _point_numbers(store: Any, numbers: list[str], urls: dict[str, str]) -> None:
    from sandbox.callbacks import IncomingNumbers

    for number in numbers:
        messages = urls["whatsapp"] if number.lower().startswith("whatsapp:") else urls["sms"]
        IncomingNumbers(store).configure(number, sms_url=messages, voice_url=urls["voice"])
        print(f"  the sandbox number {number} now sends its messages and calls here", file=sys.stderr)


# -- sandbox receive -----------------------------------------------------------------------------------


def cmd_sandbox_receive(args: argparse.Namespace) -> int:
    from book.errors import BookError
    from procedures._sandbox import open_sandbox, sandbox_errors
    from sandbox.callbacks import receive_call, receive_message

    app: App = args.app
    _check_numbers(args)
    if not args.call and not args.body and not args.media:
        raise BookError("an inbound message needs --body, --media or both")
    sandbox = open_sandbox(app.home())
    try:
        with sandbox_errors():
            if args.call:
                received = receive_call(sandbox.store, sender=args.sender, recipient=args.recipient,
                                        webhook=args.webhook)
            else:
                received = receive_message(sandbox.store, sender=args.sender, recipient=args.recipient,
                                           body=args.body, media_urls=args.media, webhook=args.webhook)
    finally:
        sandbox.close()
    answer = received.answer
    print(json.dumps({"sid": received.sid, "webhook": received.webhook, "status": answer.status if answer else None,
                      "answer": answer.body if answer else None, "replies": list(received.replies)}, ensure_ascii=False))
    if answer is None:
        app.say(f"the message is stored (reads and watches see it), but {args.recipient} has no webhook to post it to; "
               f"for that, start 'twilio-book listen --sandbox --number {args.recipient}' or give --webhook")
    elif answer.status >= 300:
        app.say(f"the webhook answered HTTP {answer.status}")
        return EXIT_FAILURE
    return EXIT_OK
