"""SMS benchmarks against one sandbox, in one run (figures are ratios and counts, not absolute times).

1. Overhead: 500 sends through the book (English compiled once, run 500 times) vs 500 through the raw
   SDK, same sandbox, same process; the ratio of the two.
2. Requests per read: reading 20 of 5,000 messages, and all 2,500 messages of one sender among 5,000.
3. Bulk sends (issue 13): 1,000 sends to 1,000 numbers, the sandbox served alone in a child process
   (`bench/_serving.py`), in interleaved rounds (best of each): the raw SDK one at a time (its own
   `TwilioHttpClient`) beside the book's `process each recipient in the recipients, 1 at a time`; the raw SDK's
   `AsyncTwilioHttpClient` (aiohttp) with 8 sends in flight beside the book's `..., 8 at a time` (threads, each
   sending by urllib3 directly: `BookHttpClient(transport="auto")`).
   And the raw SDK's sync client in 8 threads, the way the book runs items side by side. The raw clients only
   point Twilio's URLs at the sandbox; the book's client pins hosts and retries safely.

    python bench/sms_bench.py [--sends 500] [--bulk 1000] [--at-a-time 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from book.interpreter import Session
from book.runtime import Automation
from procedures import BOOK
from procedures._sandbox import sandbox_connection
from procedures.http import BookHttpClient
from sandbox import SandboxServer

SEND = '''send an SMS message where
  the sender number is "+15005550006"
  the recipient number is "+18004446666"
  the message body is "Hello from the benchmark"
'''


def _session(server: SandboxServer) -> Session:
    credentials = sandbox_connection(server)
    return Session(clients={BOOK.name: lambda: BOOK.client_factory(credentials)})


def bench_overhead(server: SandboxServer, sends: int) -> dict[str, float]:
    from twilio.rest import Client

    raw = Client(server.account_sid, server.auth_token, http_client=BookHttpClient(server.url))
    session = _session(server)
    automation = Automation.compile(SEND, BOOK.registry)
    for _ in range(20):  # warm both paths (connections, imports)
        raw.messages.create(from_="+15005550006", to="+18004446666", body="warm")
        automation.run(session)
    best_raw = best_book = float("inf")
    for _ in range(3):  # interleaved rounds, best of each
        t0 = time.perf_counter()
        for _ in range(sends):
            raw.messages.create(from_="+15005550006", to="+18004446666", body="Hello from the benchmark")
        best_raw = min(best_raw, time.perf_counter() - t0)
        t0 = time.perf_counter()
        for _ in range(sends):
            automation.run(session)
        best_book = min(best_book, time.perf_counter() - t0)
    return {"raw_s": best_raw, "book_s": best_book, "ratio": best_book / best_raw}


def bench_requests(server: SandboxServer) -> dict[str, int]:
    server.reset()
    server.store.insert_messages(
        {"to": "+18004446666", "from_": "+15005550006" if i % 2 else "+15005550099", "body": f"m{i}"}
        for i in range(5000)
    )
    out = {}
    for name, text, expected_items in (
        ("first 20 of 5,000", "read the first 20 SMS messages", 20),
        ("2,500 of one sender among 5,000", 'read some SMS messages whose sender number is "+15005550006"', 2500),
    ):
        session = _session(server)
        items = Automation.compile(text, BOOK.registry).run(session).value
        assert len(items) == expected_items, (name, len(items))
        out[name] = session.client(BOOK.name).http_client.request_count
    return out


def _to_sandbox(url: str, base: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts, to = urlsplit(url), urlsplit(base)
    return urlunsplit((to.scheme, to.netloc, parts.path, parts.query, ""))


def bench_bulk(sends: int, at_a_time: int, rounds: int) -> dict[str, float]:
    """Seconds (best of `rounds`) for `sends` sends: raw one at a time, the book 1 at a time, raw async with
    `at_a_time` in flight, the book `at_a_time` at a time; and the sandbox holds each exactly once a round."""
    import asyncio

    from twilio.http.async_http_client import AsyncTwilioHttpClient
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    from bench._serving import Served
    from procedures._sandbox import account_connection

    class Raw(TwilioHttpClient):
        def request(self, method, url, *args, **kwargs):  # type: ignore[override]
            return super().request(method, _to_sandbox(url, served.url), *args, **kwargs)

    class RawAsync(AsyncTwilioHttpClient):
        async def request(self, method, url, *args, **kwargs):  # type: ignore[override]
            return await super().request(method, _to_sandbox(url, served.url), *args, **kwargs)

    numbers = [f"+1555{n:07d}" for n in range(sends)]
    text = ("process each recipient in the recipients, {n} at a time\n  send an SMS message where\n"
            '    the sender number is "+15005550006"\n    the recipient number is the recipient\n'
            '    the message body is "Hello from the benchmark"\n')
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bulk.sqlite3"
        from sandbox.store import Store

        store = Store(str(db))
        sid, token = store.account_sid, store.auth_token
        store.close()
        with Served("bench.sandbox_bench:sandbox_app", str(db)) as served:
            connection = account_connection(sid, token, served.url)
            session = Session(clients={BOOK.name: lambda: BOOK.client_factory(connection)})
            from book.compile_values import ListOf

            given = {"recipients": ListOf(str)}
            one_by_one = Automation.compile(text.format(n=1), BOOK.registry, facts=given)
            side_by_side = Automation.compile(text.format(n=at_a_time), BOOK.registry, facts=given)
            facts = {"recipients": numbers}
            raw = Client(sid, token, http_client=Raw())

            def raw_sequential() -> None:
                for number in numbers:
                    raw.messages.create(from_="+15005550006", to=number, body="Hello from the benchmark")

            async def raw_async_run() -> None:
                client = Client(sid, token, http_client=RawAsync())
                gate = asyncio.Semaphore(at_a_time)

                async def one(number: str) -> None:
                    async with gate:
                        await client.messages.create_async(from_="+15005550006", to=number,
                                                           body="Hello from the benchmark")

                try:
                    await asyncio.gather(*(one(number) for number in numbers))
                finally:
                    await client.http_client.close()

            def raw_threads() -> None:  # the raw SDK's sync client in threads, as the book runs items side by side
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(at_a_time) as pool:
                    list(pool.map(lambda number: raw.messages.create(from_="+15005550006", to=number,
                                                                     body="Hello from the benchmark"), numbers))

            measures = {
                "raw SDK, one at a time": raw_sequential,
                "book, 1 at a time": lambda: one_by_one.run(session, facts=facts),
                f"raw SDK async, {at_a_time} in flight": lambda: asyncio.run(raw_async_run()),
                f"book, {at_a_time} at a time": lambda: side_by_side.run(session, facts=facts),
                f"raw SDK, {at_a_time} threads": raw_threads,
            }
            raw.messages.create(from_="+15005550006", to="+18004446666", body="warm")  # connections, imports
            best = dict.fromkeys(measures, float("inf"))
            for _ in range(rounds):
                for name, measure in measures.items():
                    t0 = time.perf_counter()
                    measure()
                    best[name] = min(best[name], time.perf_counter() - t0)
        import sqlite3

        with sqlite3.connect(db) as check:  # every round sent to each number once: rounds x 4 each, no more
            counts = check.execute("SELECT SUM(n), COUNT(*), MAX(n) FROM (SELECT to_number, COUNT(*) AS n "
                                   "FROM messages WHERE to_number LIKE '+1555%' GROUP BY to_number)").fetchone()
    best["held"] = counts  # type: ignore[assignment]
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sends", type=int, default=500)
    parser.add_argument("--bulk", type=int, default=1000, help="sends of the bulk measure")
    parser.add_argument("--at-a-time", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, SandboxServer(db_path=Path(tmp) / "bench.sqlite3") as server:
        overhead = bench_overhead(server, args.sends)
        print(f"{args.sends} sends: raw SDK {overhead['raw_s']:.2f} s, book {overhead['book_s']:.2f} s, "
              f"book/raw = {overhead['ratio']:.3f}")
        for name, count in bench_requests(server).items():
            print(f"requests for {name}: {count}")
    bulk = bench_bulk(args.bulk, args.at_a_time, args.rounds)
    held = bulk.pop("held")
    print(f"{args.bulk:,} sends to {args.bulk:,} numbers (best of {args.rounds} interleaved rounds; the sandbox "
          f"in a child process):")
    for name, seconds in bulk.items():
        print(f"  {name:<28} {seconds:6.2f} s  {args.bulk / seconds:7.0f} sends/s")
    names = list(bulk)
    print(f"  book 1 at a time / raw one at a time: {bulk[names[1]] / bulk[names[0]]:.2f}x; "
          f"book {args.at_a_time} at a time / raw async {args.at_a_time} in flight: "
          f"{bulk[names[3]] / bulk[names[2]]:.2f}x (the goal: at most 1.20x); "
          f"/ raw SDK in {args.at_a_time} threads: {bulk[names[3]] / bulk[names[4]]:.2f}x")
    print(f"  the sandbox holds messages to {held[1]:,} numbers, at most {held[2]} to one "
          f"({len(bulk)} measures x {args.rounds} rounds: each number exactly that many times)")
    assert held[1] == args.bulk and held[2] == len(bulk) * args.rounds, held


if __name__ == "__main__":
    main()
