"""Writing the reference: only files the generator owns are overwritten or removed; `--check` for CI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from book.docs import generate_files, marker, out_of_date, write_docs
from book.errors import BookError
from procedures import BOOK
from procedures.cli import main as run

from .test_any_book import make_book


def test_write_then_nothing_is_out_of_date(tmp_path):
    book = make_book()
    written = write_docs(book, tmp_path)
    assert sorted(written) == sorted(generate_files(book))
    assert (tmp_path / "concepts" / "acme-widget.md").read_text(encoding="utf-8").startswith(marker(book))
    assert json.loads((tmp_path / "book.json").read_text(encoding="utf-8"))["name"] == "Acme"
    assert out_of_date(book, tmp_path) == []
    assert write_docs(book, tmp_path) == []


def test_stale_generated_pages_are_removed_and_others_left_alone(tmp_path):
    book = make_book()
    write_docs(book, tmp_path)
    (tmp_path / "procedures" / "read-some-gadgets.md").write_text(marker(book) + "\n# old\n", encoding="utf-8")
    (tmp_path / "gone").mkdir()
    (tmp_path / "gone" / "old.md").write_text(marker(book) + "\n# old\n", encoding="utf-8")
    (tmp_path / "notes.md").write_text("# my notes\n", encoding="utf-8")
    (tmp_path / "procedures" / "find-some-acme-widgets.md").write_text(marker(book) + "\nedited\n", encoding="utf-8")
    assert out_of_date(book, tmp_path) == [
        "procedures/find-some-acme-widgets.md (changed)",
        "gone/old.md (stale)",
        "procedures/read-some-gadgets.md (stale)",
    ]
    assert write_docs(book, tmp_path) == ["procedures/find-some-acme-widgets.md", "gone/old.md", "procedures/read-some-gadgets.md"]
    assert not (tmp_path / "gone").exists()
    assert (tmp_path / "notes.md").read_text(encoding="utf-8") == "# my notes\n"
    assert out_of_date(book, tmp_path) == []


def test_a_page_a_person_wrote_is_never_overwritten(tmp_path):
    (tmp_path / "README.md").write_text("# Our docs\n", encoding="utf-8")
    with pytest.raises(BookError, match="README.md was not written by acme docs"):
        write_docs(make_book(), tmp_path)
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == "# Our docs\n"
    assert not (tmp_path / "procedures").exists()


def test_the_docs_command_writes_then_checks(tmp_path, capsys):
    out = tmp_path / "docs"
    assert run(["docs", "--check", "--output", str(out)]) == 1
    error = capsys.readouterr().err
    assert "out of date" in error and "README.md (missing)" in error
    assert f"regenerate with: twilio-book docs --output {out}" in error
    assert run(["docs", "--output", str(out)]) == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == sorted(generate_files(BOOK))
    assert run(["docs", "--check", "--output", str(out)]) == 0


def test_the_docs_command_prints_the_json_export(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run(["docs", "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "Twilio"
    assert list(Path(tmp_path).iterdir()) == []  # --json alone writes no pages
    assert run(["docs", "--json", "book.json", "--check"]) == 1
    assert run(["docs", "--json", "book.json"]) == 0
    assert run(["docs", "--json", "book.json", "--check"]) == 0
