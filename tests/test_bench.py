"""Every benchmark still starts: its imports and arguments match the code it measures (`--help` runs them)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests import ROOT

BENCHES = sorted(p for p in (ROOT / "bench").glob("*_bench.py"))


def test_there_are_benchmarks():
    assert len(BENCHES) >= 4


@pytest.mark.parametrize("bench", BENCHES, ids=lambda p: p.name)
def test_a_benchmark_starts(bench):
    result = subprocess.run([sys.executable, str(bench), "--help"], capture_output=True, text=True, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:")
