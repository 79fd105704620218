"""Bulk sends on the sandbox through the real SDK: a loop of sends run side by side (`8 at a time`) sends each
message once, says each in input order, and through injected faults neither duplicates nor silently loses a
send (each one whose outcome is unknown is named with its inputs, never resent); sends from one sender are
paced at the connection's rate (`TWILIO_BOOK_RATE`); a Ctrl-C starts no new send and says what ran."""

from __future__ import annotations

import random
import re
import signal
import threading
import time
from collections import Counter
from typing import Any

import pytest

from book.compile_values import ListOf
from book.errors import DeliveryUnknownError
from book.interpreter import Session
from book.runtime import Automation
from procedures import BOOK
from procedures._twilio import client_for
from procedures.http import BookHttpClient
from tests.conftest import NUMBER
from tests.faults import FaultProxy
from tests.processes import Process, book_command

LOOP = f'''process each recipient in the recipients, 8 at a time, as follows
  send an SMS message where
    the sender number is "{NUMBER}"
    the recipient number is the recipient
    the message body is "Hello " + the recipient
  say "sent to " + the recipient
'''
GIVEN = {"recipients": ListOf(str)}


def held(sandbox: Any) -> Counter:
    from sandbox.paging import PageRequest
    from sandbox.store import MessageFilter

    records, more = sandbox.store.list_messages(MessageFilter(from_=NUMBER), PageRequest(page_size=1000))
    assert not more
    return Counter(record.to for record in records if record.direction.startswith("outbound"))


def test_a_loop_8_at_a_time_sends_each_once_and_says_each_in_input_order(twilio, sandbox):
    said: list = []
    recipients = [f"+1555{n:07d}" for n in range(40)]
    automation = Automation.compile(LOOP, BOOK.registry, facts=GIVEN)
    result = automation.run(twilio.session(say=said.append), facts={"recipients": recipients})
    assert said == [f"sent to {r}" for r in recipients]
    assert held(sandbox) == Counter(recipients)
    assert result.value == [f"sent to {r}" for r in recipients]  # each item's last result, in input order
    assert not [t for t in threading.enumerate() if t.name.startswith("book-each")]  # no thread left behind


UNKNOWN = re.compile(r'the recipient number "(\+\d+)"')


@pytest.mark.parametrize("transport", ["auto", "requests"])  # auto: urllib3 directly, as items run side by side
def test_200_sends_8_at_a_time_through_faults_neither_duplicate_nor_lose_one(twilio, sandbox, record_property, transport):
    """Faults (429, 5xx, delays past the timeout, resets, before and after forwarding) stop a loop at its first
    failure; like a user, run it again for what was not sent, setting aside each send whose outcome is unknown."""
    automation = Automation.compile(LOOP, BOOK.registry, facts=GIVEN)
    recipients = [f"+1555{n:07d}" for n in range(200)]
    jitter = random.Random(7)
    sent: list[str] = []
    unknown: set[str] = set()
    rounds = 0
    with FaultProxy(sandbox.url, seed=7, rate=0.25, delay=0.35) as proxy:
        connection = twilio.connection
        http = BookHttpClient(proxy.url, timeout=0.25, sleep=lambda s: None, random=jitter.random, transport=transport)
        remaining = list(recipients)
        while remaining and rounds < 100:
            rounds += 1
            said: list[str] = []
            progress: list[str] = []
            session = Session(clients={BOOK.name: lambda: client_for(connection, http)}, say=said.append,
                              progress=progress.append, home=twilio.home)
            try:
                automation.run(session, facts={"recipients": remaining})
                failures: list[str] = []
            except DeliveryUnknownError as err:
                failures = [err.where]  # type: ignore[attr-defined]
            except Exception as err:  # refused outright: nothing was sent, so it is sent again
                failures = []
                assert "nothing was sent" in str(err) or "was not sent" in str(err) or "refused" in str(err).lower(), err
            failures += [line for line in progress if line.startswith("  the recipient") and "not resent" in line]
            done = [line.removeprefix("sent to ") for line in said]
            sent += done
            for where in failures:
                found = UNKNOWN.search(where)
                assert found, where
                unknown.add(found[1])  # named with its input, so the user can check it
            remaining = [r for r in remaining if r not in done and r not in unknown]
        faults = dict(proxy.tally)
        time.sleep(0.5)  # a request the proxy held past the client's timeout reaches the sandbox now, or never
    holds = held(sandbox)
    duplicates = sum(n - 1 for n in holds.values() if n > 1)
    lost = [r for r in recipients if holds[r] == 0 and r not in unknown]
    figures = (f"200 sends 8 at a time ({transport}) through faults (seed 7, 25% of {proxy.requests} requests faulted, "
               f"{sum(faults.values())} faults) in {rounds} runs: said sent {len(sent)}, unknown {len(unknown)} "
               f"(of which the sandbox holds {sum(1 for r in unknown if holds[r])}); the sandbox holds "
               f"{sum(holds.values())}, {duplicates} duplicates, {len(lost)} lost")
    record_property("figures", figures)
    print(figures)
    assert not remaining and duplicates == 0 and not lost
    assert all(holds[r] == 1 for r in sent) and len(sent) == len(set(sent))
    assert len(sent) + len(unknown) == 200 and unknown and rounds > 1


def test_sends_from_one_sender_are_paced_at_the_rate_the_environment_gives(tmp_path, sandbox):
    recipients = ", ".join(f'"+1555{n:07d}"' for n in range(6))
    (tmp_path / "bulk.auto").write_text(f"the recipients are {recipients}\n" + LOOP)
    env = {"TWILIO_BOOK_API_URL": sandbox.url, "TWILIO_ACCOUNT_SID": sandbox.account_sid,
           "TWILIO_AUTH_TOKEN": sandbox.auth_token, "TWILIO_BOOK_RATE": "5"}
    began = time.monotonic()
    done = book_command("run", str(tmp_path / "bulk.auto"), home=tmp_path / "home", env=env)
    took = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:6] == [f"sent to +1555{n:07d}" for n in range(6)]
    assert took >= 1.0  # 6 sends from one number at 5 a second: a second at least from the first to the last
    bad = book_command("run", str(tmp_path / "bulk.auto"), home=tmp_path / "home", env={**env, "TWILIO_BOOK_RATE": "fast"})
    assert bad.returncode != 0 and "TWILIO_BOOK_RATE: 'fast' is not a rate" in bad.stderr
    assert sum(held(sandbox).values()) == 6  # nothing sent by the run with the bad rate


def test_ctrl_c_starts_no_new_send_and_says_how_many_ran(tmp_path, sandbox):
    recipients = ", ".join(f'"+1555{n:07d}"' for n in range(40))
    (tmp_path / "bulk.auto").write_text(f"the recipients are {recipients}\n" + LOOP.replace("8 at a time", "4 at a time"))
    env = {"TWILIO_BOOK_API_URL": sandbox.url, "TWILIO_ACCOUNT_SID": sandbox.account_sid,
           "TWILIO_AUTH_TOKEN": sandbox.auth_token, "TWILIO_BOOK_RATE": "4"}
    running = Process("run", str(tmp_path / "bulk.auto"), home=tmp_path / "home", env=env)
    try:
        first = running.out.get(timeout=30)
        assert first == "sent to +15550000000\n"
        time.sleep(0.5)
        running.process.send_signal(signal.SIGINT)
        code = running.process.wait(timeout=30)
        for reader in running._readers:  # every line it wrote is read before the queues are looked at
            reader.join(timeout=10)
    finally:
        if running.process.poll() is None:
            running.process.kill()
    err = "".join(running.stderr) + "".join(iter_queue(running.err))
    said = [line for line in [first, *iter_queue(running.out)] if line.startswith("sent to")]
    assert code == 130 and "interrupted" in err
    match = re.search(r"line 2: interrupted; (\d+) of the 40 recipients ran(, (\d+) stopped before sending)?, "
                      r"(\d+) not started", err)
    assert match, err
    ran, cut, not_started = int(match[1]), int(match[3] or 0), int(match[4])
    holds = held(sandbox)
    assert sum(holds.values()) == len(said) == ran and ran + cut + not_started == 40 and not_started > 0


def iter_queue(q: Any) -> list[str]:
    out = []
    while not q.empty():
        out.append(q.get_nowait())
    return out


def test_the_rate_a_session_paces_at(home, monkeypatch, sandbox):
    """On Twilio itself, 1 a second from each sender unless the connection says; another API (a sandbox) is not
    paced unless told; the environment's rate wins for one run."""
    from book.connections import ConnectionStore
    from book.session import open_session
    from procedures._sandbox import account_connection

    store = ConnectionStore(BOOK.app.home(), app=BOOK.app)
    store.save(account_connection("AC" + "1" * 32, "t" * 32), make_default=True)  # to Twilio: no API URL

    def rate() -> float | None:
        with open_session(BOOK) as session:
            session.client(BOOK.name)  # makes the client (no request is sent), and with it the rate
            return session.rates[BOOK.name]

    assert rate() == 1.0
    store.set_rate("account", 3.0)
    assert rate() == 3.0
    store.set_rate("account", 0.0)
    assert rate() == 0.0  # no pacing
    monkeypatch.setenv("TWILIO_BOOK_RATE", "20")
    assert rate() == 20.0
    monkeypatch.delenv("TWILIO_BOOK_RATE")
    store.save(account_connection(sandbox.account_sid, sandbox.auth_token, sandbox.url), make_default=True)
    assert rate() is None  # another API: not paced unless told
