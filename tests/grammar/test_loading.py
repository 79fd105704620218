"""The parser tables are cached by what they are built from: an edited grammar is built anew, never stale."""

from __future__ import annotations

import pytest
from lark import Lark
from lark.exceptions import UnexpectedInput

from grammar import _loading
from grammar._loading import load_parser

GRAMMAR = """
start: WORD+
%import common.WORD
%import common.WS
%ignore WS
"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("BOOK_GRAMMAR_CACHE", str(folder))
    return folder


def test_the_tables_are_saved_once_and_loaded_after(tmp_path, cache, monkeypatch):
    (tmp_path / "words.lark").write_text(GRAMMAR)
    built = load_parser("words.lark", str(tmp_path / "here.py"), parser="lalr")
    saved = list(cache.glob("words-*.lark-tables"))
    assert len(saved) == 1
    def build(*args, **kwargs):
        raise AssertionError("the tables were built again")

    monkeypatch.setattr(Lark, "__init__", build)
    loaded = load_parser("words.lark", str(tmp_path / "here.py"), parser="lalr")
    assert loaded.parse("some words") == built.parse("some words")
    assert list(cache.glob("words-*.lark-tables")) == saved


def test_an_edited_grammar_is_built_anew_with_no_step(tmp_path, cache):
    (tmp_path / "words.lark").write_text(GRAMMAR)
    load_parser("words.lark", str(tmp_path / "here.py"), parser="lalr").parse("two words")
    (tmp_path / "words.lark").write_text(GRAMMAR.replace("start: WORD+", "start: WORD"))  # one word only now
    edited = load_parser("words.lark", str(tmp_path / "here.py"), parser="lalr")
    assert edited.parse("one")
    with pytest.raises(UnexpectedInput):
        edited.parse("two words")
    assert len(list(cache.glob("words-*.lark-tables"))) == 2  # one file a version: neither is ever stale


def test_other_options_are_other_tables(tmp_path, cache):
    (tmp_path / "words.lark").write_text(GRAMMAR)
    load_parser("words.lark", str(tmp_path / "here.py"), parser="lalr")
    load_parser("words.lark", str(tmp_path / "here.py"), parser="lalr", maybe_placeholders=False)
    assert len(list(cache.glob("words-*.lark-tables"))) == 2


def test_a_damaged_cache_file_is_built_again(tmp_path, cache):
    (tmp_path / "words.lark").write_text(GRAMMAR)
    load_parser("words.lark", str(tmp_path / "here.py"), parser="lalr")
    (saved,) = cache.glob("words-*.lark-tables")
    saved.write_bytes(saved.read_bytes()[:100])  # cut short
    assert load_parser("words.lark", str(tmp_path / "here.py"), parser="lalr").parse("still parses")
    assert len(saved.read_bytes()) > 100  # written again, whole


def test_a_cache_folder_that_cant_be_written_falls_back(tmp_path, monkeypatch):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("BOOK_GRAMMAR_CACHE", str(blocked / "cache"))
    monkeypatch.setattr(_loading.tempfile, "gettempdir", lambda: str(blocked))  # no folder can be made anywhere
    (tmp_path / "words.lark").write_text(GRAMMAR)
    assert load_parser("words.lark", str(tmp_path / "here.py"), parser="lalr").parse("built in memory")


def test_the_books_grammars_load_through_the_cache(cache):
    from grammar import parse, parse_signature

    assert parse('read some notes whose title is "groceries"\n').statements
    assert parse_signature("to read some (*SMS* messages)").noun == "SMS messages"
    assert {p.name.split("-")[0] for p in cache.glob("*.lark-tables")} <= {"automation", "signature"}


def _upper(terminal):
    terminal.priority = 1


def _lower(terminal):
    terminal.priority = 2


def test_a_function_option_is_known_by_its_name_and_code(tmp_path, cache):
    # `edit_terminals` is a function: the same function is the same tables at every start (not its address),
    # a function that edits otherwise is other tables
    import subprocess
    import sys

    (tmp_path / "words.lark").write_text(GRAMMAR)
    probe = ("import sys; from pathlib import Path; from grammar._loading import digest; "
             "from tests.grammar.test_loading import _upper; "
             "print(digest(Path(sys.argv[1]), {'parser': 'lalr', 'edit_terminals': _upper}))")
    digests = {subprocess.run([sys.executable, "-c", probe, str(tmp_path / "words.lark")], check=True,
                              capture_output=True, text=True).stdout for _ in range(2)}
    assert len(digests) == 1
    load_parser("words.lark", str(tmp_path / "here.py"), parser="lalr", edit_terminals=_upper)
    load_parser("words.lark", str(tmp_path / "here.py"), parser="lalr", edit_terminals=_upper)
    assert len(list(cache.glob("words-*.lark-tables"))) == 1
    load_parser("words.lark", str(tmp_path / "here.py"), parser="lalr", edit_terminals=_lower)
    assert len(list(cache.glob("words-*.lark-tables"))) == 2
