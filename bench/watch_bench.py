"""Watch benchmark: what an idle poll of a watch on a number's messages costs as its history grows, and how
long a new inbound message waits to be handed on.

The watch is the one `watch for new SMS messages whose recipient number is NUMBER and whose message body
contains "STOP"` makes: the recipient is pushed to the API, the body is matched as the messages stream in.

For each history size (3,000 then 30,000 inbound messages to the watched number, spread evenly over the
30 days before now, plus as many to other numbers; none says STOP), a `Watcher` on the Twilio book's
`messages` watchable
places its cursor (the first poll: from now), then polls idle (nothing new) `--polls` times. Printed per
idle poll (medians): the requests sent, beside the lower bound of 1; the messages the sandbox served; the
client's CPU (this thread) and the sandbox's (the rest of the process: it serves from a thread); and the
wall time, beside one raw SDK request for the newest message to the number (`limit=1`).

Then latency: `Watcher.follow` polls every `--interval` seconds in a thread; an inbound message is added at
a random moment, and the time until it is handed on is measured, `--arrivals` times. The goal is the
interval plus one request at most.

    python bench/watch_bench.py [--sizes 3000 30000] [--polls 9] [--interval 0.5] [--arrivals 8]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from book.filters import Condition, FilterExpression
from book.watching.watch import Watcher, available, cursor_file
from procedures import BOOK
from procedures.http import BookHttpClient
from sandbox import SandboxServer

NUMBER = "+15005550006"  # the watched number: messages come in to it
DAYS = 30


def seed(server: SandboxServer, size: int) -> None:
    """`size` inbound messages to NUMBER over the last DAYS days, and `size` to other numbers, interleaved."""
    server.reset()
    now = datetime.now(timezone.utc) - timedelta(minutes=10)  # all older than the cursor's look-back window
    step = timedelta(days=DAYS) / (2 * size)
    rows = []
    for i in range(2 * size):
        when = now - step * (2 * size - i)
        to = NUMBER if i % 2 == 0 else f"+1555{i % 997:07d}"
        rows.append({"to": to, "from": f"+1444{i % 313:07d}", "body": f"history {i}", "direction": "inbound",
                     "status": "received", "date_created": when, "date_sent": when})
    for start in range(0, len(rows), 10_000):
        server.store.insert_messages(rows[start:start + 10_000])


def make_watcher(server: SandboxServer, home: Path) -> tuple[Watcher, BookHttpClient]:
    from twilio.rest import Client

    http = BookHttpClient(server.url)
    client = Client(server.account_sid, server.auth_token, http_client=http)
    watchable, procedure = available(BOOK.registry)["messages"]
    filters = {"to": NUMBER}
    cursor = cursor_file(home, watchable, client.account_sid, filters)
    stop_words = FilterExpression(Condition("body", "contains", "STOP"))
    return Watcher(watchable, procedure, client, cursor, filters=filters, expression=stop_words), http


class Served:
    """Counts the messages the sandbox puts in its list pages (wrapping its `list_messages`)."""

    def __init__(self, server: SandboxServer) -> None:
        self.count = 0
        store = server.store
        original = store.list_messages

        def counting(where, page):
            rows, more = original(where, page)
            self.count += len(rows)
            return rows, more

        store.list_messages = counting  # type: ignore[method-assign]


def bench_idle(server: SandboxServer, home: Path, size: int, polls: int) -> dict[str, float]:
    seed(server, size)
    served = Served(server)
    watcher, http = make_watcher(server, home / f"idle-{size}")
    assert watcher.poll(lambda item: None) == 0  # places the cursor: from now
    requests, messages, client_cpu, total_cpu, wall = [], [], [], [], []
    for _ in range(polls):
        sent, count = http.request_count, served.count
        t0, c0, p0 = time.perf_counter(), time.thread_time(), time.process_time()
        handed = watcher.poll(lambda item: None)
        wall.append(time.perf_counter() - t0)
        client_cpu.append(time.thread_time() - c0)
        total_cpu.append(time.process_time() - p0)
        assert handed == 0, handed
        requests.append(http.request_count - sent)
        messages.append(served.count - count)
    raw = watcher.client
    raw_wall = []
    for _ in range(polls):
        t0 = time.perf_counter()
        raw.messages.list(to=NUMBER, limit=1)
        raw_wall.append(time.perf_counter() - t0)
    med = statistics.median
    return {"requests": med(requests), "served": med(messages), "client_ms": med(client_cpu) * 1000,
            "sandbox_ms": (med(total_cpu) - med(client_cpu)) * 1000, "wall_ms": med(wall) * 1000,
            "raw_ms": med(raw_wall) * 1000}


def bench_latency(server: SandboxServer, home: Path, interval: float, arrivals: int) -> dict[str, float]:
    watcher, _ = make_watcher(server, home / "latency")
    handed: dict[str, float] = {}
    got = threading.Condition()

    def hand_on(item) -> None:
        with got:
            handed[item.body] = time.perf_counter()
            got.notify_all()

    stop = threading.Event()
    thread = threading.Thread(target=watcher.follow, args=(hand_on,),
                              kwargs={"every": interval, "stop": stop, "say": lambda s: None, "what": "messages"})
    thread.start()
    time.sleep(interval * 2)  # the cursor is placed
    rng = random.Random(13)
    waits = []
    for n in range(arrivals):
        time.sleep(rng.uniform(0, interval))
        body = f"STOP {n}"
        added = time.perf_counter()
        server.store.insert_messages([{"to": NUMBER, "from": "+14440000001", "body": body, "direction": "inbound",
                                       "status": "received"}])
        with got:
            if not got.wait_for(lambda b=body: b in handed, timeout=interval * 10 + 30):
                raise SystemExit(f"the message {body!r} was never handed on")
        waits.append(handed[body] - added)
    stop.set()
    thread.join()
    return {"median_ms": statistics.median(waits) * 1000, "max_ms": max(waits) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[3000, 30000])
    parser.add_argument("--polls", type=int, default=9)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--arrivals", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, SandboxServer(db_path=Path(tmp) / "bench.sqlite3") as server:
        home = Path(tmp) / "home"
        print(f"idle polls of a watch on new messages to {NUMBER} whose body contains STOP (medians of {args.polls})")
        print(f"{'history':>8} {'requests':>9} {'goal':>5} {'messages served':>16} {'client CPU ms':>14} "
              f"{'sandbox CPU ms':>15} {'wall ms':>8} {'raw 1-message list ms':>22} {'ratio':>6}")
        last = {}
        for size in args.sizes:
            r = bench_idle(server, home, size, args.polls)
            print(f"{size:>8,} {r['requests']:>9.0f} {1:>5} {r['served']:>16,.0f} {r['client_ms']:>14.1f} "
                  f"{r['sandbox_ms']:>15.1f} {r['wall_ms']:>8.1f} {r['raw_ms']:>22.1f} "
                  f"{r['wall_ms'] / r['raw_ms']:>5.2f}x")
            last = r
        lat = bench_latency(server, home, args.interval, args.arrivals)
        one = last["wall_ms"] / max(1, last["requests"])  # one request of a poll, at the largest history
        bound = args.interval * 1000 + one
        print(f"inbound to handed on at {args.sizes[-1]:,} messages, polling every {args.interval:g} s "
              f"({args.arrivals} arrivals): median {lat['median_ms']:.0f} ms, max {lat['max_ms']:.0f} ms; goal: at "
              f"most the interval plus one request = {args.interval * 1000:.0f} + {one:.0f} = {bound:.0f} ms "
              f"(max/goal {lat['max_ms'] / bound:.2f}x)")


if __name__ == "__main__":
    main()
