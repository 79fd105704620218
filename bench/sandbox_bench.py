"""Sandbox benchmark: listing messages, beside a trivial Starlette endpoint serving the very same bytes.

The sandbox holds 100,000 messages (a file of its own). Each app runs alone in a child process (the sandbox
served as it serves itself, `sandbox.loopback`; the trivial endpoint under uvicorn; see `bench/_serving.py`),
loaded by wrk on the other core:

1. Lists of 50 and of 1,000: `GET .../Messages.json?PageSize=N` (the first page, with the account's
   Basic auth) from the sandbox, and from a Starlette app whose one route answers the bytes the sandbox
   answered for that page (fetched first, and checked equal after). Requests per second of each, and
   the sandbox's share of the trivial endpoint's rate (goal: 0.5x or more).
2. All 100,000, paged through by an SDK-like client (1,000 a page, following `next_page_uri`): the
   sandbox's CPU time (its process, user + system), median of `--repeats`.

`--against REV` also serves REV's sandbox (this repository at another revision, checked out in a
temporary git worktree) on the same file, in the same run, and prints its figures beside this one's:
`--against ca7870a` is the sandbox before this work.

    python bench/sandbox_bench.py [--seconds 3] [--repeats 3] [--against REV]
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._serving import Served, checkout, wrk

TOTAL = 100_000


def sandbox_app(db_path: str):
    from sandbox.app import create_app
    from sandbox.store import Store

    return create_app(Store(db_path))


def seed(db_path: Path) -> tuple[str, str]:
    """TOTAL messages over the last 30 days, to and from a few hundred numbers; the account's SID and token."""
    from sandbox.store import Store

    store = Store(str(db_path))
    now = datetime.now(timezone.utc) - timedelta(hours=1)
    step = timedelta(days=30) / TOTAL
    statuses = ("delivered", "received", "sent", "undelivered")
    rows = [{"to": f"+1555{i % 389:07d}", "from": f"+1444{i % 211:07d}", "body": f"Message {i}: see you at {i % 24}:00",
             "direction": "inbound" if i % 4 == 1 else "outbound-api", "status": statuses[i % 4],
             "date_created": now - step * (TOTAL - i), "price": "-0.00790" if i % 4 != 1 else None}
            for i in range(TOTAL)]
    for start in range(0, TOTAL, 10_000):
        store.insert_messages(rows[start:start + 10_000])
    sid, token = store.account_sid, store.auth_token
    store.close()
    return sid, token


def page_through(url: str, first: str, auth: dict[str, str]) -> int:
    """Every message, 1,000 a page, following `next_page_uri`; how many were listed."""
    count, path = 0, first
    with requests.Session() as session:
        while path:
            page = session.get(url + path, headers=auth, timeout=60)
            page.raise_for_status()
            body = page.json()
            count += len(body["messages"])
            path = body["next_page_uri"]
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--against", metavar="REV", help="also serve this revision's sandbox, for comparison")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        db = Path(tmp) / "sandbox.sqlite3"
        sid, token = seed(db)
        auth = {"Authorization": "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode()}
        path = f"/2010-04-01/Accounts/{sid}/Messages.json"
        sandboxes = {"this": stack.enter_context(Served("bench.sandbox_bench:sandbox_app", str(db),
                                                           server="sandbox"))}
        if args.against:
            old = stack.enter_context(checkout(args.against))
            sandboxes[args.against] = stack.enter_context(
                Served("bench.sandbox_bench:sandbox_app", str(db), root=old, server="sandbox"))
        print(f"listing messages of {TOTAL:,}: requests/s (wrk, {args.seconds:g} s, 4 connections; median of "
              f"{args.repeats}) beside a trivial endpoint serving the same bytes")
        for size in (50, 1000):
            query = f"{path}?PageSize={size}"
            answer = requests.get(sandboxes["this"].url + query, headers=auth, timeout=60)
            answer.raise_for_status()
            trivial = stack.enter_context(Served("bench._serving_apps:constant", path, answer.content,
                                                 answer.headers["content-type"]))
            rates: dict[str, list[float]] = {"trivial": [], **{name: [] for name in sandboxes}}
            for _ in range(args.repeats):  # interleaved
                rates["trivial"].append(wrk(trivial.url + query, seconds=args.seconds).requests_per_s)
                for name, served in sandboxes.items():
                    result = wrk(served.url + query, seconds=args.seconds, headers=auth)
                    if result.errors:
                        raise SystemExit(f"{name}: {result.errors} failed requests")
                    rates[name].append(result.requests_per_s)
            for name, served in sandboxes.items():
                again = requests.get(served.url + query, headers=auth, timeout=60).content
                same = "same bytes" if again == answer.content else "DIFFERENT bytes"
                if name == "this" and again != answer.content:
                    raise SystemExit("the sandbox answered other bytes than before")
                base = statistics.median(rates["trivial"])
                rate = statistics.median(rates[name])
                print(f"  PageSize={size:<5} sandbox ({name}) {rate:>8,.0f}/s   trivial {base:>8,.0f}/s   "
                      f"ratio {rate / base:.2f}x (goal >= 0.5x)   [{same}]")
        print(f"paging through all {TOTAL:,} (1,000 a page): the sandbox's CPU time, median of {args.repeats}")
        cpu: dict[str, list[float]] = {name: [] for name in sandboxes}
        walls: dict[str, list[float]] = {name: [] for name in sandboxes}
        for _ in range(args.repeats):
            for name, served in sandboxes.items():
                before, t0 = served.cpu(), time.perf_counter()
                listed = page_through(served.url, f"{path}?PageSize=1000", auth)
                walls[name].append(time.perf_counter() - t0)
                cpu[name].append(served.cpu() - before)
                assert listed == TOTAL, listed
        for name in sandboxes:
            line = (f"  sandbox ({name}): {statistics.median(cpu[name]):.2f} s CPU, "
                    f"{statistics.median(walls[name]):.2f} s wall")
            if name != "this":
                line += f"; this/{name} = {statistics.median(cpu['this']) / statistics.median(cpu[name]):.2f}x " \
                        "(goal < 0.33x)"
            print(line)


if __name__ == "__main__":
    main()
