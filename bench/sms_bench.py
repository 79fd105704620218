"""SMS benchmarks against one sandbox, in one run (figures are ratios and counts, not absolute times).

1. Overhead: 500 sends through the book (English compiled once, run 500 times) vs 500 through the raw
   SDK, same sandbox, same process; the ratio of the two.
2. Requests per read: reading 20 of 5,000 messages, and all 2,500 messages of one sender among 5,000.

    python bench/sms_bench.py [--sends 500]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sends", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, SandboxServer(db_path=Path(tmp) / "bench.sqlite3") as server:
        overhead = bench_overhead(server, args.sends)
        print(f"{args.sends} sends: raw SDK {overhead['raw_s']:.2f} s, book {overhead['book_s']:.2f} s, "
              f"book/raw = {overhead['ratio']:.3f}")
        for name, count in bench_requests(server).items():
            print(f"requests for {name}: {count}")


if __name__ == "__main__":
    main()
