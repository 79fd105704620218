"""Automations on Temporal with 1 and 2 worker processes, beside the in-process runtime, in one run.

Each automation sends SENDS messages (each body its own) to one sandbox over HTTP. The in-process runtime
runs them one after another, as `twilio-book run` does; on Temporal the benchmark starts them all as
workflows on a local dev server (`temporal server start-dev`) and waits for every result, with one worker
process, then two (`twilio-book worker`). It prints automations and sends per second and their ratios to
the in-process runtime, and checks that the sandbox holds every send once.

    .venv/bin/python bench/temporal_bench.py [--automations 60] [--sends 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from book.interpreter import Session  # noqa: E402
from book.runtime import Automation  # noqa: E402
from book.temporal.devserver import DevServer  # noqa: E402
from procedures import BOOK  # noqa: E402
from procedures._sandbox import sandbox_connection  # noqa: E402
from sandbox import SandboxServer  # noqa: E402

SENDER, RECIPIENT = "+15005550006", "+15558675310"


def automation(run: str, sends: int) -> str:
    return "".join(f'''send an SMS message where
  the sender number is "{SENDER}"
  the recipient number is "{RECIPIENT}"
  the message body is "{run} send {send}"
''' for send in range(sends))


def in_process(server: SandboxServer, count: int, sends: int) -> float:
    connection = sandbox_connection(server)
    session = Session(clients={BOOK.name: lambda: BOOK.client_factory(connection)})
    texts = [automation(f"local {n}", sends) for n in range(count)]
    started = time.perf_counter()
    for text in texts:
        Automation.compile(text, BOOK.registry).run(session)
    return time.perf_counter() - started


def start_workers(target: str, server: SandboxServer, queue: str, count: int, home: str) -> list[subprocess.Popen]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
    env.update({"TWILIO_ACCOUNT_SID": server.account_sid, "TWILIO_AUTH_TOKEN": server.auth_token,
                "TWILIO_BOOK_API_URL": server.url, "TWILIO_BOOK_HOME": home, "TWILIO_BOOK_KEYRING": "0"})
    workers = [subprocess.Popen([sys.executable, "-m", "procedures", "worker", "--temporal", target, "--task-queue",
                                 queue], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True) for _ in range(count)]
    for worker in workers:
        for line in worker.stderr:  # type: ignore[union-attr]
            if "worker polling" in line:
                break
    return workers


async def on_temporal(target: str, queue: str, count: int, sends: int, tag: str) -> float:
    from book.temporal.worker import connect, result_of, start_automation

    client = await connect(target)
    texts = [automation(f"{tag} {n}", sends) for n in range(count)]
    started = time.perf_counter()
    handles = await asyncio.gather(*(start_automation(client, BOOK, text, task_queue=queue) for text in texts))
    await asyncio.gather(*(result_of(handle, BOOK) for handle in handles))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--automations", type=int, default=60)
    parser.add_argument("--sends", type=int, default=3)
    args = parser.parse_args()
    count, sends = args.automations, args.sends
    rows = []
    with tempfile.TemporaryDirectory() as folder, DevServer() as temporal, \
            SandboxServer(db_path=Path(folder) / "sandbox.sqlite3") as server:
        Automation.compile(automation("warm", 1), BOOK.registry).run(
            Session(clients={BOOK.name: lambda: BOOK.client_factory(sandbox_connection(server))}))
        rows.append(("in-process runtime", in_process(server, count, sends)))
        for workers in (1, 2):
            queue = f"bench-{uuid.uuid4().hex[:8]}"
            processes = start_workers(temporal.target, server, queue, workers, folder)
            try:
                asyncio.run(on_temporal(temporal.target, queue, 4, 1, f"warm{workers}"))  # each worker's first plans
                rows.append((f"Temporal, {workers} worker{'s' if workers > 1 else ''}",
                             asyncio.run(on_temporal(temporal.target, queue, count, sends, f"temporal{workers}"))))
            finally:
                for process in processes:
                    process.terminate()
                    process.wait(timeout=15)
        client = BOOK.client_factory(sandbox_connection(server))
        bodies = Counter(m.body for m in client.messages.stream(page_size=1000)
                         if (m.body or "").startswith(("local ", "temporal1 ", "temporal2 ")))
    expected = count * sends * len(rows)
    duplicates = sum(n - 1 for n in bodies.values() if n > 1)
    print(f"{count} automations of {sends} sends each (Python {sys.version.split()[0]}, {os.cpu_count()} cores)")
    print(f"{'':24} {'automations/s':>14} {'sends/s':>9} {'vs in-process':>14}")
    base = rows[0][1]
    for name, seconds in rows:
        print(f"{name:24} {count / seconds:14.1f} {count * sends / seconds:9.1f} {base / seconds:13.2f}x")
    print(f"the sandbox holds {sum(bodies.values())} sends of {expected} ({len(bodies)} distinct), "
          f"{duplicates} sent twice")


if __name__ == "__main__":
    main()
