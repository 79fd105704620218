"""Every benchmark still runs: `--help` checks its imports and arguments, and a tiny run of each (but the two
that drive wrk for seconds at a time) checks that it still measures the code it names and ends with its ratio."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests import ROOT

BENCHES = sorted(p for p in (ROOT / "bench").glob("*_bench.py"))

# The smallest run of each benchmark that goes through every part of it. sandbox_bench (100,000 messages) and
# listener_bench (wrk for seconds per measure) are left to their --help: a tiny run of either costs 8 to 10 s.
TINY = {
    "calls_bench.py": ["--counts", "5"],
    "compile_bench.py": ["--lines", "10", "--runs", "1", "--earley-runs", "1"],
    "sms_bench.py": ["--sends", "3", "--bulk", "8", "--rounds", "1"],
    "startup_bench.py": ["--rounds", "1", "--parts"],
    "temporal_bench.py": ["--automations", "1", "--sends", "1"],
    "watch_bench.py": ["--sizes", "30", "--polls", "1", "--arrivals", "1"],
}


def test_there_are_benchmarks():
    assert len(BENCHES) >= 4
    assert set(TINY) <= {p.name for p in BENCHES}


@pytest.mark.parametrize("bench", BENCHES, ids=lambda p: p.name)
def test_a_benchmark_starts(bench):
    result = subprocess.run([sys.executable, str(bench), "--help"], capture_output=True, text=True, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:")


@pytest.mark.parametrize("name", sorted(TINY))
def test_a_tiny_run_of_a_benchmark_measures_and_rates(name):
    result = subprocess.run([sys.executable, str(ROOT / "bench" / name), *TINY[name]], capture_output=True,
                            text=True, cwd=ROOT, timeout=180)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    if name == "calls_bench.py":  # requests per read against their lower bound, no ratio
        assert re.search(r"^\s+5\s+\d+\s+\d+\s", result.stdout, re.M), result.stdout
    else:
        assert re.search(r"\d\.\d\dx", result.stdout), result.stdout
