"""The committed reference under docs/ is what the generator makes now, and every example compiles."""

from __future__ import annotations

import pytest

from book.docs import generate_markdown, out_of_date
from book.runtime import check
from procedures import BOOK
from tests import ROOT

DOCS = ROOT / "docs"
REGENERATE = "regenerate them with: twilio-book docs --output docs"


def test_the_committed_pages_are_up_to_date():
    pages = generate_markdown(BOOK)
    stale = sorted(name for name, text in pages.items()
                   if not (DOCS / name).is_file() or (DOCS / name).read_text(encoding="utf-8") != text)
    assert not stale, f"docs/ is out of date ({', '.join(stale)}); {REGENERATE}"
    assert out_of_date(BOOK, DOCS) == [], REGENERATE


EXAMPLES = [
    pytest.param(example.text, id=f"{procedure.signature.verb} {procedure.signature.noun} #{n}")
    for procedure in BOOK.registry
    for n, example in enumerate(procedure.examples, 1)
]


@pytest.mark.parametrize("text", EXAMPLES)
def test_every_example_compiles(text):
    check(text, BOOK.registry)


def test_every_procedure_has_an_example():
    assert all(procedure.examples for procedure in BOOK.registry)
