"""Kill tests for the triggers: SIGKILL a running `watch --run` and `listen --run` at random moments (a fixed
seed), 20 times each, while inbound messages keep arriving on a loopback sandbox; then a last run catches up.

Each automation answers a message with a reply whose body is the message's SID, so the sandbox holds the
truth: per message created, how many replies. Required: no message answered twice, and none missed without a
word: each one created is answered, or was reported by a later run as cut short by the kill (its steps may
or may not have run, so it is not run again). The figures are printed with the test summary.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.callbacks import post_form, receive_message
from sandbox.errors import SandboxError
from tests.conftest import NUMBER
from tests.processes import Process, book_command

pytestmark = pytest.mark.long

SEED = 15
KILLS = 20
REPLY = f'''send an SMS message where
  the sender number is "{NUMBER}"
  the recipient number is the message's sender number
  the message body is the message's sid
'''
CUT_SHORT = {
    "watch": re.compile(r"the new message (SM\w{32}) was being handed on when this watch last stopped"),
    "listen": re.compile(r"was cut short on the .*?(SM\w{32})"),
}


class Feeder:
    """Inbound messages to NUMBER at random short intervals, until stopped: `arrive(n)` makes message number n
    and returns its SID (None if it could not be delivered). Each arrives on a thread of its own, as Twilio
    posts webhooks side by side, so messages keep coming while a listener is down (their posts retried)."""

    def __init__(self, arrive: Callable[[int], str | None], rng: random.Random) -> None:
        self.arrive, self.rng = arrive, rng
        self.created: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._arrivals: list[threading.Thread] = []

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            arrival = threading.Thread(target=self._one, args=(n,), daemon=True)
            self._arrivals.append(arrival)
            arrival.start()
            n += 1
            self._stop.wait(self.rng.uniform(0.1, 0.4))

    def _one(self, n: int) -> None:
        sid = self.arrive(n)
        if sid is not None:
            self.created.append(sid)

    def settled(self) -> bool:
        """Whether every message that arrived has been delivered (or given up on)."""
        return not any(arrival.is_alive() for arrival in self._arrivals)

    def __enter__(self) -> Feeder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def killed_at_random(args: tuple[str, ...], home: Path, env: dict[str, str], ready: str, rng: random.Random,
                     feeder: Feeder) -> tuple[list[str], list[str]]:
    """Start `twilio-book ARGS` KILLS times, SIGKILLing each a random moment after it says `ready`; every line
    they wrote (stdout, stderr)."""
    out: list[str] = []
    err: list[str] = []
    for kill in range(KILLS):
        process = Process(*args, home=home, env=env)
        process.err_until(ready, timeout=30)
        time.sleep(rng.uniform(0.0, 0.4))
        process.kill()
        lines = process.output()
        out += lines[0]
        err += lines[1]
        deadline = time.monotonic() + 5  # messages keep arriving through the kills, however fast it starts again
        while len(feeder.created) < 2 * (kill + 1) and time.monotonic() < deadline:
            time.sleep(0.05)
    return out, err


def caught_up(args: tuple[str, ...], home: Path, env: dict[str, str], ready: str, done: Callable[[list[str]], bool]
              ) -> tuple[list[str], list[str]]:
    """Run it once more, undisturbed, until `done(stderr so far)`; then stop it gently."""
    process = Process(*args, home=home, env=env)
    process.err_until(ready, timeout=30)
    deadline = time.monotonic() + 60
    while not done(process.stderr + list(process.err.queue)) and time.monotonic() < deadline:
        time.sleep(0.1)
    process.stop()
    return process.output()


def settled(feeder: Feeder, server: Any, err: list[str], name: str) -> Callable[[list[str]], bool]:
    """Whether the last run has caught up: every message delivered, and each answered or reported cut short."""

    def done(said: list[str]) -> bool:
        if not feeder.settled():
            return False
        cut = {m[1] for line in err + said if (m := CUT_SHORT[name].search(line))}
        answered = replies(server)
        return all(answered[sid] or sid in cut for sid in feeder.created)

    return done


def replies(server: Any) -> Counter[str]:
    from sandbox.paging import PageRequest
    from sandbox.store import MessageFilter

    records, more = server.store.list_messages(MessageFilter(from_=NUMBER), PageRequest(page_size=1000))
    assert not more
    return Counter(r.body for r in records if r.direction == "outbound-api")


def tally(name: str, created: list[str], answered: Counter[str], err: list[str]) -> tuple[str, dict[str, Any]]:
    cut_short = [m[1] for line in err if (m := CUT_SHORT[name].search(line))]
    duplicates = sum(n - 1 for n in answered.values() if n > 1)
    missed = [sid for sid in created if not answered[sid] and sid not in cut_short]
    figures = {
        "created": len(created), "answered": sum(1 for sid in created if answered[sid]), "duplicates": duplicates,
        "cut short": len(cut_short), "cut short, answered all the same": sum(1 for sid in cut_short if answered[sid]),
        # said again when a kill fell between the report and the cursor's save (a report is never lost instead)
        "reported twice": len(cut_short) - len(set(cut_short)), "silent misses": len(missed),
        "replies to no message": sum(1 for body in answered if body not in set(created)),
    }
    text = f"{name} --run SIGKILLed {KILLS} times (seed {SEED}): " + ", ".join(f"{k} {v}" for k, v in figures.items())
    return text, figures


def check(figures: dict[str, Any]) -> None:
    assert figures["duplicates"] == 0 and figures["silent misses"] == 0
    assert figures["replies to no message"] == 0
    assert figures["created"] >= 2 * KILLS  # messages kept arriving through the kills


def connection_env(server: Any) -> dict[str, str]:
    return {"TWILIO_BOOK_API_URL": server.url, "TWILIO_ACCOUNT_SID": server.account_sid,
            "TWILIO_AUTH_TOKEN": server.auth_token}


def test_a_watch_killed_20_times_answers_each_message_at_most_once_and_misses_none_silently(
        sandboxes, tmp_path, record_property) -> None:
    server = sandboxes()
    home, env, rng = tmp_path / "home", connection_env(server), random.Random(SEED)
    (tmp_path / "reply.auto").write_text(REPLY)
    args = ("watch", "messages", "--to", NUMBER, "--every", "0.1", "--run", str(tmp_path / "reply.auto"))
    placed = book_command(*args[:-2], "--once", home=home, env=env)  # the cursor starts from now
    assert placed.returncode == 0, placed.stderr

    def arrive(n: int) -> str:
        sender = f"+1555{n:07d}"
        return server.store.insert_messages([{"to": NUMBER, "from": sender, "body": f"hi {n}", "direction": "inbound"}])[0]

    with Feeder(arrive, rng) as feeder:
        out, err = killed_at_random(args, home, env, "watching messages", rng, feeder)
    done = settled(feeder, server, err, "watch")

    last_out, last_err = caught_up(args, home, env, "watching messages", done)
    text, figures = tally("watch", feeder.created, replies(server), err + last_err)
    printed = Counter(re.search(r'"sid": ?"(SM\w+)"', line)[1] for line in out + last_out if '"sid"' in line)
    text += f", JSON lines printed twice {sum(n - 1 for n in printed.values() if n > 1)}"
    record_property("figures", text)
    print(text)
    check(figures)
    assert all(n == 1 for n in printed.values())  # each handed on once, on stdout too


def test_a_listener_killed_20_times_runs_each_message_at_most_once_and_misses_none_silently(
        sandboxes, tmp_path, record_property) -> None:
    server = sandboxes()
    home, env, rng = tmp_path / "home", connection_env(server), random.Random(SEED + 1)
    (tmp_path / "reply.auto").write_text(REPLY)
    port = _free_port()
    args = ("listen", "--port", str(port), "--run", str(tmp_path / "reply.auto"))
    webhook = f"http://127.0.0.1:{port}/twilio/sms"
    refused = Counter[str]()

    def until_answered(url: str, body: bytes, headers: Any, timeout: tuple[float, float]) -> Any:
        """Twilio's retry, with the delivery's one idempotency token: until the listener answers (up to 2 minutes;
        Twilio waits 15 s for an answer)."""
        deadline = time.monotonic() + 120
        while True:
            try:
                answer = post_form(url, body, headers, (0.5, 15.0))
            except requests.RequestException:
                answer = None
            if answer is not None and answer.status < 300:
                return answer
            refused["retried"] += 1
            if time.monotonic() > deadline:
                refused["given up"] += 1
                raise requests.ConnectionError("the listener never answered")
            time.sleep(1.0)  # a listener takes a second or two to start again

    def arrive(n: int) -> str | None:
        try:
            return receive_message(server.store, sender=f"+1555{n:07d}", recipient=NUMBER, body=f"hi {n}",
                                   webhook=webhook, post=until_answered).sid
        except SandboxError:  # given up on (counted)
            return None

    with Feeder(arrive, rng) as feeder:
        out, err = killed_at_random(args, home, env, "press Ctrl-C to stop", rng, feeder)
    done = settled(feeder, server, err, "listen")

    last_out, last_err = caught_up(args, home, env, "press Ctrl-C to stop", done)
    assert feeder.settled()
    text, figures = tally("listen", feeder.created, replies(server), err + last_err)
    events = Counter(re.search(r'"sid": ?"(SM\w+)"', line)[1] for line in out + last_out if '"sid"' in line)
    text += (f", deliveries retried while it was down {refused['retried']} (given up {refused['given up']}), event "
             f"lines printed again after a kill {sum(n - 1 for n in events.values() if n > 1)}")
    record_property("figures", text)
    print(text)
    check(figures)
    assert refused["given up"] == 0


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
