"""The runtime and its English know no Twilio: not in an import (import-linter checks those in CI), nor in a
word of their code, a message or a docstring, so book/ serves any book as it is."""

from __future__ import annotations

import re

import pytest

from tests import ROOT


@pytest.mark.parametrize("package", ["book", "grammar"])
def test_no_twilio_word_in_the_runtime(package):
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for path in sorted((ROOT / package).rglob("*")) if path.suffix in (".py", ".lark")
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if re.search("twilio", line, re.IGNORECASE)]
    assert found == []
