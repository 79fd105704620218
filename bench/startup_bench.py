"""Start-up benchmark: the CPU time of `twilio-book --help`, `check` and `run` beside `import twilio.rest`.

Each command runs in a fresh process, as a user starts it, with a private home (no connection, so `run`
uses the local sandbox). The CPU time of each (user + system, `getrusage(RUSAGE_CHILDREN)` around the
process) is taken over interleaved rounds; the figure is the median, and each is rated against the
median of the baseline, `python -c 'import twilio.rest'` (the SDK a user of Twilio imports anyway):

    baseline   python -c 'import twilio.rest'
    --help     twilio-book --help
    check      twilio-book check small.auto        (the one-statement send of examples/send.auto)
    run        twilio-book run small.auto          (the same, run on the sandbox: one message sent)

`check` and `run` are timed twice: cold (`TWILIO_BOOK_WARM=0`, every start imports all it needs) and `, warm`,
handed to the home's warm runtime (`book.warm`): started as a user's first command starts it, then taught by one
command (it imports what that one imported), before the rounds. A warm command's figure is its own process's CPU
and what the runtime spent on it (the runtime's CPU with its children's, from `warm status`, before and after);
the runtime's start, once in the background, and its first command are printed beside the table.

One warm-up round goes first (not counted): it fills the parser cache (see `grammar._loading`) and writes
the modules' bytecode, as any first start after an install or a change does (PYTHONDONTWRITEBYTECODE is
taken out of the children's environment: an installed package has its bytecode, as the SDK has); that
first start's figures are printed too.

`--parts` then breaks a start down: in a fresh process (as many as rounds), the CPU of each stage that `check`
(from its registry snapshot, `book.snapshot`) and `run` go through, imported in the order they load them (what two
stages share is counted in the first), each as a share of the baseline's median, with their sum; the figures
that say what a change of design could take out. A third breakdown loads only the modules a `run` of small.auto
could not do without, whatever its design (the compiler's modules as `check` loads them, the messages' concepts,
the SDK with what a send loads; no registering, compiling, sandbox or request): the floor of `run`'s figure.

`--against REV` runs REV's commands too (this repository at another revision, checked out in a temporary git
worktree, run from it with the same interpreter and packages), interleaved in the same rounds, and prints
them beside this one's, each rated against the same baseline.

`--automation FILE` checks and runs another automation as small.auto (`examples/quickstart.auto`: a send and a
read, whose filter's texts are checked against their fields' types at compile time).

    python bench/startup_bench.py [--rounds 9] [--against REV] [--parts] [--automation FILE]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._serving import checkout

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "examples" / "send.auto"


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_of(argv: list[str], env: dict[str, str], cwd: Path = ROOT) -> float:
    """CPU seconds (user + system) of one run of `argv` (in `cwd`: its modules come first) to its end; it must succeed."""
    before = _cpu_children()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    spent = _cpu_children() - before
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return spent


def commands(small: Path) -> dict[str, list[str]]:
    book = [sys.executable, "-m", "procedures"]
    return {
        "import twilio.rest": [sys.executable, "-c", "import twilio.rest"],
        "--help": [*book, "--help"],
        "check small.auto": [*book, "check", str(small)],
        "run small.auto": [*book, "run", str(small)],
    }


WARM = ("check small.auto", "run small.auto")
"""The commands handed to a warm runtime (`book.warm`), timed again with it: `<name>, warm`."""


def runtime_status(home: Path) -> dict:
    """The home's warm runtime's status: its `cpu` is the CPU seconds it has spent, its commands' included (it counts
    them as they end)."""
    from book import warm

    found = warm.status(home)
    if found is None:
        raise SystemExit(f"no warm runtime serves {home}; its log:\n{_log(home)}")
    return found


def runtime_cpu(home: Path) -> float:
    return runtime_status(home)["cpu"]


def _log(home: Path) -> str:
    try:
        return (home / "warm.log").read_text()
    except OSError:
        return "(none)"


def warm_cpu_of(argv: list[str], env: dict[str, str], home: Path) -> float:
    """The CPU of one command handed to the warm runtime: its own process's, and what the runtime spent on it."""
    before = runtime_status(home)
    spent = cpu_of(argv, env)
    after = runtime_status(home)
    if (after["pid"], after["served"]) != (before["pid"], before["served"] + 1):  # declined, or run cold
        raise SystemExit(f"the warm runtime did not run {' '.join(argv)} ({before} then {after}); its log:\n"
                         f"{_log(home)}")
    return spent + after["cpu"] - before["cpu"]


def start_runtime(argv: list[str], env: dict[str, str], home: Path) -> tuple[float, float]:
    """The warm runtime started as a user's first command starts it, then taught by a first command handed to it
    (it imports what that one imported): the CPU of its start, and of that lesson (the command's own included)."""
    import time

    from book import warm

    cpu_of(argv, env)  # cold: starts the runtime beside it
    deadline = time.monotonic() + 60
    while warm.status(home) is None:
        if time.monotonic() > deadline:
            raise SystemExit(f"the warm runtime did not start; its log:\n{_log(home)}")
        time.sleep(0.05)
    started = runtime_cpu(home)
    cpu_of(argv, env)
    return started, runtime_cpu(home) - started


PARTS = [  # (stage, its code), run in this order in one process
    ("the command line", "import procedures.cli, book.cli, book.commands.run"),
    ("grammar.ast (its dataclasses)", "import grammar.ast"),
    ("the parsers (lark's runtime and tables)", "import grammar.parser, grammar.signature"),
    ("book.plan and what it imports", "import book.plan"),
    ("pydantic", "import pydantic"),
    ("book.concept (the first model)", "import book.concept"),
    ("the compiler's modules", "import book.values, book.compiler, book.runtime, book.interpreter"),
    ("the concept models", "import concepts"),
    ("the procedures, registered", "from procedures import BOOK"),
    ("compiling small.auto", "from book.runtime import check; check(open(SMALL).read(), BOOK.registry)"),
    ("the SDK (twilio.rest, requests)", "import twilio.rest"),
    ("the sandbox's app (starlette)", "import sandbox.app"),
]
CHECK_PARTS = [  # the stages of a `check` whose registry snapshot is kept (book.snapshot), in this order
    ("the command line", "import procedures.cli, book.cli, book.commands.run"),
    ("grammar.ast (its dataclasses)", "import grammar.ast"),
    ("the parsers (lark's runtime and tables)", "import grammar.parser, grammar.signature"),
    ("book.plan and what it imports", "import book.plan"),
    ("the compiler's modules", "import book.values, book.compiler, book.runtime, book.snapshot"),
    ("the snapshot's key (its sources' digest)",
     "from procedures._app import APP; from book.snapshot import source_digest; source_digest(APP.sources)"),
    ("the snapshot, read (with the digest again)", "from book.snapshot import load_registry; R = load_registry(APP)"),
    ("compiling small.auto", "from book.runtime import check; check(open(SMALL).read(), R)"),
]
FLOOR_PARTS = [  # what a `run` of small.auto could not do without, whatever its design: the modules alone (no registering,
    # compiling, sandbox or request), the compiler's as `check` loads them, of the concepts only the messages'
    ("the command line", "import procedures.cli, book.cli, book.commands.run"),
    ("the grammar and its parsers", "import grammar.ast, grammar.parser, grammar.signature"),
    ("book.plan and the compiler's modules", "import book.plan, book.values, book.compiler, book.runtime, book.snapshot"),
    ("pydantic and the first model", "import pydantic, book.concept"),
    ("the interpreter, the output, the session", "import book.interpreter, book.output, book.session"),
    ("the messages' concepts", "import concepts.messages"),
    ("the SDK, with what a send loads", "import twilio.rest, twilio.rest.api.v2010.account.message, procedures.http"),
]
_PARTS_CHILD = """
import gc, json, sys, time
gc.disable()  # as a start runs (book.startup): the stages' own CPU, not the collector's passes over them
SMALL = sys.argv[1]
laps = [time.process_time()]
for _, code in json.loads(sys.argv[2]):
    exec(code)
    laps.append(time.process_time())
print(json.dumps(laps))
"""


def parts(small: Path, env: dict[str, str], rounds: int, stages: list[tuple[str, str]] = PARTS) -> tuple[float, list[float]]:
    """The CPU of the interpreter's start (to the first stage), and the median of each of `stages`, in seconds."""
    import json

    runs = []
    for _ in range(rounds):
        done = subprocess.run([sys.executable, "-c", _PARTS_CHILD, str(small), json.dumps(stages)], env=env, cwd=ROOT,
                              capture_output=True, text=True, check=True)
        laps = json.loads(done.stdout)
        runs.append([laps[0], *(b - a for a, b in zip(laps, laps[1:], strict=False))])
    medians = [statistics.median(run[i] for run in runs) for i in range(len(stages) + 1)]
    return medians[0], medians[1:]


GOALS = {"--help": 0.5, "check small.auto": 1.5, "run small.auto": 2.5}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--against", metavar="REV", help="also run this revision's commands, for comparison")
    parser.add_argument("--automation", type=Path, default=SMALL, help="the automation to check and run (default: %(default)s)")
    parser.add_argument("--parts", action="store_true", help="then the CPU of each stage of a start, in one process")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        home = Path(tmp) / "home"
        small = Path(tmp) / "small.auto"
        small.write_text(args.automation.read_text())
        env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_") and k != "PYTHONDONTWRITEBYTECODE"}
        env.update({"TWILIO_BOOK_HOME": str(home), "TWILIO_BOOK_KEYRING": "0", "TWILIO_BOOK_WARM": "0"})
        warm_home = Path(tmp) / "warm-home"
        warm_env = {**env, "TWILIO_BOOK_HOME": str(warm_home), "TWILIO_BOOK_WARM": "1"}
        stack.callback(lambda: subprocess.run([sys.executable, "-m", "procedures", "warm", "stop"], env=warm_env,
                                              cwd=ROOT, capture_output=True))
        runs = {name: (argv, ROOT) for name, argv in commands(small).items()}
        if args.against:
            old = stack.enter_context(checkout(args.against))
            runs.update({f"{name} ({args.against})": (argv, old) for name, argv in commands(small).items()
                         if name != "import twilio.rest"})
        first = {name: cpu_of(argv, env, cwd) for name, (argv, cwd) in runs.items()}  # warm-up: caches filled
        warm_runs = {f"{name}, warm": commands(small)[name] for name in WARM}
        runtime_start, runtime_lesson = start_runtime(warm_runs["run small.auto, warm"], warm_env, warm_home)
        first.update({name: warm_cpu_of(argv, warm_env, warm_home) for name, argv in warm_runs.items()})
        times: dict[str, list[float]] = {name: [] for name in (*runs, *warm_runs)}
        for _ in range(args.rounds):
            for name, (argv, cwd) in runs.items():
                times[name].append(cpu_of(argv, env, cwd))
            for name, argv in warm_runs.items():
                times[name].append(warm_cpu_of(argv, warm_env, warm_home))
        if args.parts:
            start, stages = parts(small, env, args.rounds)
            check_start, check_stages = parts(small, env, args.rounds, CHECK_PARTS)
            floor_start, floor_stages = parts(small, env, args.rounds, FLOOR_PARTS)
    base = statistics.median(times["import twilio.rest"])
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"CPU time (user + system), median of {args.rounds} interleaved runs; ratio to `import twilio.rest`; "
          f"load average after: {load}")
    print(f"{'command':<32} {'median ms':>10} {'min ms':>8} {'ratio':>7} {'goal':>6} {'first run ms':>13}")
    def command_of(name: str) -> str:
        return name.split(" (")[0].removesuffix(", warm")

    for name, spent in sorted(times.items(), key=lambda item: list(commands(SMALL)).index(command_of(item[0]))):
        median = statistics.median(spent)
        goal = GOALS.get(command_of(name))
        print(f"{name:<32} {median * 1000:>10.0f} {min(spent) * 1000:>8.0f} {median / base:>6.2f}x "
              f"{f'<={goal:g}x' if goal else '':>6} {first[name] * 1000:>13.0f}")
    print(f"(', warm': handed to the home's warm runtime, its CPU for the command counted with the command's own; "
          f"the runtime's start, once, in the background: {runtime_start * 1000:.0f} ms, {runtime_start / base:.2f}x; "
          f"the first command it ran, with what it learned from it: {runtime_lesson * 1000:.0f} ms)")
    if args.parts:
        for title, first_lap, laps, names in (
                ("a check, from the registry snapshot", check_start, check_stages, CHECK_PARTS),
                ("a run (and a check from the live registry, to its compile)", start, stages, PARTS),
                ("what a run needs at the least (the modules alone)", floor_start, floor_stages, FLOOR_PARTS)):
            print(f"\nthe stages of {title}, in one process (medians of {args.rounds}), ms and share of the baseline:")
            for name, spent in [("the interpreter, site (to the first stage)", first_lap),
                                *zip((n for n, _ in names), laps, strict=True)]:
                print(f"  {name:<44} {spent * 1000:>6.1f} {spent / base:>6.2f}x")
            total = first_lap + sum(laps)
            print(f"  {'in all':<44} {total * 1000:>6.1f} {total / base:>6.2f}x")


if __name__ == "__main__":
    main()
