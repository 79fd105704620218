"""Listener benchmark: signed inbound SMS webhooks, beside a bare Starlette endpoint doing the same check.

Each app runs alone in a child process under uvicorn (see `bench/_serving.py`); wrk posts one inbound SMS
webhook (Twilio's parameters, its `X-Twilio-Signature` for the URL) with a new `I-Twilio-Idempotency-Token`
each time, as Twilio delivers distinct messages:

- bare: a Starlette route that parses the form, checks the signature with the SDK's `RequestValidator`
  (403 if wrong) and answers the listener's empty TwiML;
- listen: the listener's app (`create_listener_app`) with a `Handoff` printing each event's JSON line
  (to /dev/null) and the tokens kept in SQLite under a home folder, as `twilio-book listen` runs;
- listen --run: the same with an automation that replies to each message (an SMS sent through the SDK to
  a sandbox in a process of its own): queued on disk before the answer, run by the listener's worker.

Printed: requests per second and p50/p99 latency of each (medians of `--repeats`), the listener's rate
as a share of the bare endpoint's (goals: 0.7x, and 0.5x with --run) and its p99 beside the bare one's
(goal: under 2x). With --run, after the load the benchmark waits for the queue to drain and checks that
every delivery recorded ran once: the replies the sandbox got equal the tokens the listener recorded.

`--against REV` also serves REV's listener, and with --run (this repository at another revision, checked
out in a temporary git worktree), in the same interleaved runs, each beside the same bare endpoint.

    python bench/listener_bench.py [--seconds 4] [--repeats 3] [--connections 8] [--against REV]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._serving import ROOT, Served, checkout, wrk

AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
ACCOUNT_SID = "AC" + "0" * 32
PATH = "/twilio/sms"
NUMBER, CALLER = "+15005550006", "+15558675310"
REPLY = """\
send an SMS message where
  the sender number is the message's recipient number
  the recipient number is the message's sender number
  the message body is "Thanks, we got it."
"""
PARAMS = [("AccountSid", ACCOUNT_SID), ("ApiVersion", "2010-04-01"), ("Body", "Is this thing on?"),
          ("From", CALLER), ("MessageSid", "SM" + "1" * 32), ("NumMedia", "0"), ("NumSegments", "1"),
          ("SmsMessageSid", "SM" + "1" * 32), ("SmsSid", "SM" + "1" * 32), ("SmsStatus", "received"), ("To", NUMBER)]
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'


def bare_app(auth_token: str):
    from urllib.parse import parse_qsl

    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(auth_token)

    async def receive(request):
        pairs = parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
        params = dict(pairs)
        if not validator.validate(str(request.url), params, request.headers.get("X-Twilio-Signature", "")):
            return PlainTextResponse("Forbidden\n", status_code=403)
        return Response(EMPTY_TWIML, media_type="text/xml")

    return Starlette(routes=[Route(PATH, receive, methods=["POST"])])


def listener_app(home: str, auth_token: str, sandbox: tuple[str, str, str] | None):
    import os

    from pydantic import SecretStr

    from book import startup
    from book.connections import Connection
    from book.interpreter import Session
    from procedures import BOOK
    from procedures.webhooks.idempotency import SeenTokens
    from procedures.webhooks.listen import Handoff, compile_for_kinds, create_listener_app
    from procedures.webhooks.signature import SignatureCheck

    seen = SeenTokens(Path(home) / "triggers" / "webhooks.sqlite3")
    automations, session = {}, None
    if sandbox is not None:
        sid, token, url = sandbox
        connection = Connection(name="sandbox", method="auth_token", api_url=url,
                                values={"account_sid": sid, "auth_token": SecretStr(token)})
        session = Session(clients={BOOK.name: lambda: BOOK.client_factory(connection)},
                          accounts={BOOK.name: connection.identity}, home=Path(home))
        automations, _ = compile_for_kinds(REPLY, BOOK.registry)
    out = open(os.devnull, "w")  # noqa: SIM115 (the app's life)
    handoff = Handoff(out, automations=automations, session=session, seen=seen, name="/bench/reply.auto",
                      report=lambda message: None)
    app = create_listener_app(SignatureCheck(auth_token), handoff, seen=seen, report=lambda message: None)
    startup.whole_process()  # as `twilio-book listen` runs: in a process of its own, settled once started
    startup.settle()
    return app


def sandbox_app(db_path: str):
    from sandbox.app import create_app
    from sandbox.store import Store

    return create_app(Store(db_path))


def lua(url: str) -> str:
    """wrk's script: the signed POST, with a new idempotency token each time."""
    from twilio.request_validator import RequestValidator

    grouped: dict[str, str] = dict(PARAMS)
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, grouped)
    body = urlencode(PARAMS)
    return f"""
wrk.method = "POST"
wrk.body = "{body}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["X-Twilio-Signature"] = "{signature}"
local n = 0
request = function()
  n = n + 1
  wrk.headers["I-Twilio-Idempotency-Token"] = string.format("bench-%d-%d", os.time(), n) .. tostring(math.random(1e9))
  return wrk.format(nil, "{PATH}")
end
"""


def recorded_tokens(home: Path) -> int:
    with sqlite3.connect(home / "triggers" / "webhooks.sqlite3") as db:
        return db.execute("SELECT COUNT(*) FROM delivered").fetchone()[0]


def pending_runs(home: Path) -> int:
    with sqlite3.connect(home / "triggers" / "webhooks.sqlite3") as db:
        return db.execute("SELECT COUNT(*) FROM queued_runs").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--against", metavar="REV", help="also serve this revision's listener, for comparison")
    args = parser.parse_args()
    from sandbox.store import MESSAGES, Store

    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        db = Path(tmp) / "sandbox.sqlite3"
        store = stack.enter_context(Store(str(db)))
        sandbox = stack.enter_context(Served("bench.listener_bench:sandbox_app", str(db)))
        replying = (store.account_sid, store.auth_token, sandbox.url)
        apps = {"bare": stack.enter_context(Served("bench.listener_bench:bare_app", AUTH_TOKEN))}
        homes: dict[str, Path] = {}
        trees = [("", ROOT)] + ([(f" ({args.against})", stack.enter_context(checkout(args.against)))]
                                if args.against else [])
        for suffix, root in trees:
            for name, reply in (("listen", None), ("listen --run", replying)):
                homes[name + suffix] = Path(tmp) / f"{name}{suffix}".replace(" ", "_")
                apps[name + suffix] = stack.enter_context(Served(
                    "bench.listener_bench:listener_app", str(homes[name + suffix]), AUTH_TOKEN, reply, root=root))
        results: dict[str, list] = {name: [] for name in apps}
        for _ in range(args.repeats):  # interleaved
            for name, served in apps.items():
                result = wrk(served.url + PATH, seconds=args.seconds, connections=args.connections,
                             script=lua(served.url + PATH))
                if result.errors:
                    raise SystemExit(f"{name}: {result.errors} failed requests of {result.requests}")
                results[name].append(result)
        run_homes = [home for name, home in homes.items() if "--run" in name]
        during = store.count(MESSAGES)  # the replies sent while the load went on
        drained_from = time.monotonic()
        deadline = time.monotonic() + 600
        while any(pending_runs(home) for home in run_homes) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = sum(pending_runs(home) for home in run_homes)
        drain = time.monotonic() - drained_from
        replies, tokens = store.count(MESSAGES), sum(recorded_tokens(home) for home in run_homes)

    def med(name: str, attribute: str) -> float:
        return statistics.median(getattr(r, attribute) for r in results[name])

    print(f"signed inbound SMS webhooks (wrk, {args.seconds:g} s, {args.connections} connections; medians of "
          f"{args.repeats} interleaved runs; load average {Path('/proc/loadavg').read_text().split()[0]} at the end)")
    bare_rate, bare_p99 = med("bare", "requests_per_s"), med("bare", "p99_ms")
    for name in apps:
        goal = None if name == "bare" else 0.5 if "--run" in name else 0.7
        rate, p50, p99 = med(name, "requests_per_s"), med(name, "p50_ms"), med(name, "p99_ms")
        line = f"  {name:<23} {rate:>7,.0f}/s   p50 {p50:>6.1f} ms   p99 {p99:>6.1f} ms"
        if goal is not None:
            line += (f"   rate {rate / bare_rate:.2f}x (goal >= {goal}x)   p99 {p99 / bare_p99:.2f}x of bare "
                     "(goal < 2x)")
        print(line)
    print(f"  --run: {tokens:,} deliveries recorded, {replies:,} replies sent, {left} runs left unfinished"
          f" -> {'every delivery ran once' if tokens == replies and not left else 'MISMATCH'}")
    print(f"         {during:,} of the replies were sent while the load went on, the rest in the {drain:.1f} s after it")


if __name__ == "__main__":
    main()
