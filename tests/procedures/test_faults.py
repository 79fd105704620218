"""Fault injection: the book and the sandbox with a loopback proxy between them that answers 429 (with and
without Retry-After), 500 and 503, delays past the client's timeout and resets connections, before and after
forwarding, at random with a fixed seed (tests/faults.py).

Over a 200-send automation (a watch answering 200 inbound messages) and over reads of 5,000 messages, what the
sandbox holds is counted against what the book reported: 0 duplicates, 0 silent losses, every unknown outcome
named with its input, reads complete and exact. The figures are printed with the test summary."""

from __future__ import annotations

import random
import re
from collections import Counter
from typing import Any

import pytest

from book.interpreter import Session
from book.runtime import Automation
from procedures import BOOK
from procedures._twilio import client_for
from procedures.http import BookHttpClient
from tests.conftest import NUMBER
from tests.faults import FaultProxy

SEED = 15
RATE = 0.25
TIMEOUT = 0.25  # the client's, in seconds; a delayed answer comes after DELAY
DELAY = 0.35
SENDS = 200
READS = 5000

ANSWER = f'''watch for new SMS messages whose recipient number is "{NUMBER}" as follows
  send an SMS message where
    the sender number is "{NUMBER}"
    the recipient number is the message's sender number
    the message body is the message's sid
'''
HANDED = re.compile(r"^handed on the new message (SM\w+)$")
FAILED = re.compile(r"^the steps for the new message (SM\w+) failed at (line \d+: .*?): (.*); going on with the next one$")


class Sleeps(list[float]):
    """The client's `sleep`: records how long it was asked to wait, and does not (the test stays short)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(params=["requests", "urllib3"])
def transport(request: pytest.FixtureRequest) -> str:
    """The faults are run on both of the client's transports."""
    return request.param


def faulty_session(twilio: Any, proxy: FaultProxy, sleeps: Sleeps, said: list[str], transport: str) -> Session:
    jitter = random.Random(SEED)
    connection = twilio.connection

    def client() -> Any:
        return client_for(connection, BookHttpClient(proxy.url, timeout=TIMEOUT, sleep=sleeps, random=jitter.random,
                                                     transport=transport))

    return Session(clients={BOOK.name: client}, accounts={BOOK.name: connection.identity}, home=twilio.home,
                   progress=said.append, watch_polls=1)


def test_a_200_send_automation_neither_duplicates_nor_loses_a_send(twilio, sandbox, record_property, transport) -> None:
    automation = Automation.compile(ANSWER, BOOK.registry, "answer.auto")
    sleeps, said = Sleeps(), []
    with FaultProxy(sandbox.url, seed=SEED, rate=RATE, delay=DELAY) as proxy:
        session = faulty_session(twilio, proxy, sleeps, said, transport)
        automation.run(session)  # places the watch's cursor: nothing is there yet
        senders = [f"+1555{n:07d}" for n in range(SENDS)]
        inbound = dict(zip(sandbox.store.insert_messages(
            [{"to": NUMBER, "from": sender, "body": f"hi {n}", "direction": "inbound"} for n, sender in enumerate(senders)]
        ), senders, strict=True))
        report = automation.run(session).value
        faults = dict(proxy.tally)

    sent, failed, unknown = set(), {}, {}
    for line in said:
        if match := HANDED.match(line):
            sent.add(match[1])
        elif match := FAILED.match(line):
            (unknown if "was not resent" in match[3] else failed)[match[1]] = (match[2], match[3])
    replies = Counter(record.body for record in _outbound(sandbox))
    duplicates = sum(count - 1 for count in replies.values() if count > 1)
    unreported = set(inbound) - sent - set(failed) - set(unknown)
    sent_but_missing = {sid for sid in sent if replies[sid] != 1}
    failed_but_held = {sid for sid in failed if replies[sid]}
    unknown_held = sum(1 for sid in unknown if replies[sid])

    figures = (f"{SENDS}-send automation ({transport}) through faults (seed {SEED}, {RATE:.0%} of {proxy.requests} requests faulted: "
               f"{_listed(faults)}): reported sent {len(sent)}, failed {len(failed)}, unknown {len(unknown)} "
               f"(of which the sandbox holds {unknown_held}); the sandbox holds {sum(replies.values())} replies, "
               f"{duplicates} duplicates, {len(unreported)} silent losses; waits asked {len(sleeps)}, "
               f"{sleeps.count(1.0)} of them the 1 s Retry-After")
    record_property("figures", figures)
    print(figures, *[f"e.g. {line}" for line in said if "was not resent" in line][:2], sep="\n")
    assert (report.handed_on, report.failed) == (SENDS, len(failed) + len(unknown))
    assert duplicates == 0 and not unreported and not sent_but_missing and not failed_but_held
    assert len(sent) + len(failed) + len(unknown) == SENDS
    for sid, (where, error) in unknown.items():  # named with its input, so the user can check it
        assert f'the recipient number "{inbound[sid]}"' in where and "line 2: send an SMS message" in where
        assert "Check" in error
    assert len(faults) >= 8  # most kinds of fault happened, before and after forwarding
    assert sleeps.count(1.0) >= faults.get("429 Retry-After before", 0) > 0
    assert len(unknown) > unknown_held > 0  # both kinds of unknown happened: done, and not done


def test_reads_of_5000_messages_are_complete_and_exact(twilio, sandbox, record_property, transport) -> None:
    sids = set(sandbox.store.insert_messages([{"to": "+18004446666", "from": NUMBER, "body": f"m{n}"} for n in range(READS)]))
    sleeps, said = Sleeps(), []
    with FaultProxy(sandbox.url, seed=SEED + 1, rate=RATE, delay=DELAY) as proxy:
        session = faulty_session(twilio, proxy, sleeps, said, transport)
        read = Automation.compile('read some SMS messages whose recipient number is "+18004446666"', BOOK.registry)
        english = [message.sid for message in read.run(session).value]
        client = session.client(BOOK.name)
        paged = [message.sid for message in client.messages.stream(page_size=50)]
        faults, requests = dict(proxy.tally), proxy.requests
    figures = (f"reads of {READS} messages ({transport}) through faults (seed {SEED + 1}, {RATE:.0%} of {requests} requests "
               f"faulted: {_listed(faults)}): pages of 1000 read {len(english)} ({len(set(english))} distinct), "
               f"pages of 50 read {len(paged)} ({len(set(paged))} distinct), {len(sleeps)} retries")
    record_property("figures", figures)
    print(figures)
    assert sorted(english) == sorted(sids) and len(english) == READS
    assert sorted(paged) == sorted(sids) and len(paged) == READS
    assert sum(faults.values()) > 20


def test_the_clients_timeout_is_configurable(monkeypatch: pytest.MonkeyPatch, twilio) -> None:
    from book.errors import ConnectionError_
    from procedures._twilio import make_client

    monkeypatch.setenv("TWILIO_BOOK_TIMEOUT", "0.25")
    assert make_client(twilio.connection).http_client.timeout == 0.25
    for bad in ("0", "-1", "soon", "nan"):
        monkeypatch.setenv("TWILIO_BOOK_TIMEOUT", bad)
        with pytest.raises(ConnectionError_, match="TWILIO_BOOK_TIMEOUT is"):
            make_client(twilio.connection)


def _outbound(sandbox: Any) -> list[Any]:
    from sandbox.paging import PageRequest
    from sandbox.store import MessageFilter

    records, more = sandbox.store.list_messages(MessageFilter(from_=NUMBER), PageRequest(page_size=1000))
    assert not more
    return [record for record in records if record.direction.startswith("outbound")]


def _listed(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counts.items())) or "none"
