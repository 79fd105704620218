"""Calls benchmark: a filtered read of 10,000 calls, its requests against the lower bound, and its memory.

For N matching calls (2,000, then 10,000) the sandbox holds the N calls that match plus N/4 that do
not (busy calls on the same days, completed calls from the days before), and the book reads

    read some phone calls whose status is "completed" and whose start time is after "2022-03-01T12:00:00Z"

1. Requests: through the interpreter (English compiled once), requests sent vs ceil(matching / 1,000).
2. Memory: the same read streamed to JSON lines, peak traced memory (tracemalloc) of the client side.
   The interpreter collects a plural read into a list, so the stream iterates the pieces it uses:
   the filter expression, the procedure's generator, `book.output.jsonable`. The sandbox serves
   from another process, so its own pages are not counted. The peak must not grow with N.

    python bench/calls_bench.py [--counts 2000 10000]
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from book import filters as f
from book import plan as p
from book.interpreter import Session
from book.output import jsonable
from book.runtime import Automation
from procedures import BOOK
from procedures._sandbox import account_connection
from sandbox import SandboxServer, Store
from sandbox.call_store import CallStore

READ = 'read some phone calls whose status is "completed" and whose start time is after "2022-03-01T12:00:00Z"'
SINCE = datetime(2022, 3, 1, 12, tzinfo=timezone.utc)


def seed(store: Store, matching: int) -> None:
    """`matching` completed calls after SINCE, and a quarter as many that the filter refuses."""
    store.reset()
    calls = CallStore(store)
    span = timedelta(days=10).total_seconds()
    calls.insert_calls(
        {"to": f"+1555{i:07d}", "status": "completed", "duration": 5 + i % 300,
         "start_time": SINCE + timedelta(seconds=1 + i * span / matching)}
        for i in range(matching)
    )
    others = matching // 4
    calls.insert_calls(
        {"to": f"+1556{i:07d}", "status": "busy" if i % 2 else "completed", "duration": 30,
         # busy ones among the matches' days; completed ones before SINCE, a few on its own day
         "start_time": SINCE + timedelta(hours=i % 240) if i % 2 else SINCE - timedelta(minutes=7 * i)}
        for i in range(others)
    )


def _serve(db: str, ready: Any, stop: Any) -> None:
    with SandboxServer(db_path=db) as server:
        ready.send((server.url, server.account_sid, server.auth_token))
        stop.wait()


def _session(url: str, sid: str, token: str) -> Session:
    credentials = account_connection(sid, token, url)
    return Session(clients={BOOK.name: lambda: BOOK.client_factory(credentials)})


def _expression(template: p.FilterT) -> f.FilterExpression:
    """The compiled filter of the read (its values are literals) as the runtime hands it to a procedure."""

    def node(t: p.FilterT) -> f.Node:
        if isinstance(t, p.BoolT):
            items = tuple(node(n) for n in t.items)
            return f.Not(items[0]) if t.kind == "not" else {"all": f.AllOf, "any": f.AnyOf}[t.kind](items)
        assert isinstance(t.value, p.Const), "the benchmark's filter uses literal values only"
        return f.Condition(t.field, t.op, t.value.value)

    return f.FilterExpression(node(template))


def requests_for(session: Session, automation: Automation) -> tuple[int, int]:
    found = automation.run(session).value
    return len(found), session.client(BOOK.name).http_client.request_count


def stream_to_jsonl(session: Session, step: p.CallStep, out_path: Path) -> dict[str, float]:
    """Stream the read to a JSON-lines file; peak traced memory and counts."""
    expression = _expression(step.filter)
    client = session.client(BOOK.name)
    client.http_client.request_count = 0
    written = seen = 0
    began = time.perf_counter()
    tracemalloc.start()
    with out_path.open("w", encoding="utf-8") as out:
        for call in step.procedure.read(client, expression):  # the pushed part split from it, as the runtime does
            seen += 1
            if expression.matches(call):
                out.write(json.dumps(jsonable(call), ensure_ascii=False) + "\n")
                written += 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"written": written, "transferred": seen, "requests": client.http_client.request_count,
            "peak_kib": peak / 1024, "seconds": time.perf_counter() - began}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", type=int, nargs="+", default=[2000, 10_000], help="matching calls per run")
    args = parser.parse_args()
    automation = Automation.compile(READ, BOOK.registry)
    (step,) = automation.plan.steps
    assert isinstance(step, p.CallStep) and step.filter is not None
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "bench.sqlite3")
        store = Store(db)
        ready, child_end = context.Pipe()
        stop = context.Event()
        server = context.Process(target=_serve, args=(db, child_end, stop), daemon=True)
        server.start()
        try:
            url, sid, token = ready.recv()
            print(f"{READ}\n")
            print(f"{'matching':>9} {'requests':>9} {'lower bound':>12} {'transferred':>12} "
                  f"{'peak KiB':>9} {'stream s':>9}")
            peaks = {}
            for matching in args.counts:
                seed(store, matching)
                found, requests = requests_for(_session(url, sid, token), automation)
                assert found == matching, (found, matching)
                streamed = stream_to_jsonl(_session(url, sid, token), step, Path(tmp) / "calls.jsonl")
                assert streamed["written"] == matching and streamed["requests"] == requests
                peaks[matching] = streamed["peak_kib"]
                print(f"{matching:>9,} {requests:>9} {math.ceil(matching / 1000):>12} "
                      f"{int(streamed['transferred']):>12,} {streamed['peak_kib']:>9.0f} {streamed['seconds']:>9.2f}")
            if len(peaks) > 1:
                low, high = min(peaks), max(peaks)
                print(f"\npeak memory, {high:,} vs {low:,} matching: x{peaks[high] / peaks[low]:.2f} "
                      f"(JSON lines written: {os.path.getsize(Path(tmp) / 'calls.jsonl') / 1024:,.0f} KiB for {high:,})")
        finally:
            stop.set()
            server.join(timeout=10)
            store.close()


if __name__ == "__main__":
    main()
