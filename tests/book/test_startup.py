"""The collector around a command: spared at the start and the end of the program's own process, and nothing in
a cycle the command left goes unfinalized; a `main` called by another program (these tests) leaves it alone."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap

from book import startup
from book.cli import main
from procedures._app import APP
from tests import ROOT

_PROGRAM = textwrap.dedent("""
    import gc, sys
    from book import startup

    class Cycle:
        def __init__(self, note):
            self.me, self.note = self, note

        def __del__(self):
            print("finalized", self.note)

    startup.whole_process()
    with startup.loading():
        assert not gc.isenabled()
        kept = [Cycle("at exit") for _ in range(3)]
    assert gc.isenabled() and gc.get_freeze_count() > 0
    Cycle("left by the command")  # garbage in a cycle: only the collector frees it
    startup.ending()
    print("ended")
""")


def test_the_programs_start_is_frozen_and_its_end_finalizes_what_the_command_left():
    done = subprocess.run([sys.executable, "-c", _PROGRAM], capture_output=True, text=True, cwd=ROOT, check=True)
    lines = done.stdout.splitlines()
    assert lines[:2] == ["finalized left by the command", "ended"]


def test_a_main_called_by_another_program_leaves_the_collector_as_it_is(tmp_path):
    frozen = gc.get_freeze_count()
    source = tmp_path / "send.auto"
    source.write_text((ROOT / "examples" / "send.auto").read_text())
    assert main(APP, ["check", str(source)]) == 0
    assert gc.isenabled() and gc.get_freeze_count() == frozen
    with startup.loading():
        assert gc.isenabled()


_SETTLING = textwrap.dedent("""
    import gc
    from book import startup

    startup.settle()
    assert gc.get_freeze_count() == 0  # not the program's own process: left alone
    startup.whole_process()
    startup.settle()
    frozen = gc.get_freeze_count()
    assert frozen > 0
    kept = [[] for _ in range(1000)]
    startup.settle()  # no module imported since: nothing more frozen
    assert gc.get_freeze_count() == frozen
    import colorsys  # as a listener's first run imports the SDK
    startup.settle()
    assert gc.get_freeze_count() >= frozen + 1000  # what is alive now, with the lists made since
    print("settled")
""")


def test_a_serving_command_freezes_what_it_loaded_each_time_modules_came_and_only_then():
    done = subprocess.run([sys.executable, "-c", _SETTLING], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["settled"]
