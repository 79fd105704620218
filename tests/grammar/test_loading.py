"""The parsers run on a module generated from the grammars (lark's runtime and their tables), kept by what
it is generated from: an edited grammar is generated anew, never stale; a start imports no `lark`."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from grammar import _loading
from grammar._loading import GRAMMAR_FOLDER, GRAMMARS, load_runtime

GRAMMAR = """
start: WORD+
%import common.WORD
%import common.WS
%ignore WS
"""
WORDS = {"words": {"lexer": "contextual"}}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("BOOK_GRAMMAR_CACHE", str(folder))
    monkeypatch.setattr(_loading, "_LOADED", {})
    return folder


def _grammar(tmp_path, text=GRAMMAR):
    folder = tmp_path / "grammars"
    folder.mkdir(exist_ok=True)
    (folder / "words.lark").write_text(text)
    return folder


def test_the_module_is_generated_once_and_imported_after(tmp_path, cache, monkeypatch):
    folder = _grammar(tmp_path)
    built = load_runtime(folder, WORDS)
    saved = list(cache.glob("lark_runtime_*.py"))
    assert len(saved) == 1
    monkeypatch.setattr(_loading, "_LOADED", {})

    def generate(*args, **kwargs):
        raise AssertionError("the module was generated again")

    monkeypatch.setattr(_loading, "generate", generate)
    loaded = load_runtime(folder, WORDS)
    assert loaded is not built
    assert str(loaded.load("words").parse("some words")) == str(built.load("words").parse("some words"))
    assert list(cache.glob("lark_runtime_*.py")) == saved


def test_an_edited_grammar_is_generated_anew_with_no_step(tmp_path, cache):
    folder = _grammar(tmp_path)
    load_runtime(folder, WORDS).load("words").parse("two words")
    _grammar(tmp_path, GRAMMAR.replace("start: WORD+", "start: WORD"))  # one word only now
    edited = load_runtime(folder, WORDS)
    assert edited.load("words").parse("one")
    with pytest.raises(edited.UnexpectedInput):
        edited.load("words").parse("two words")
    assert len(list(cache.glob("lark_runtime_*.py"))) == 2  # one module a version: neither is ever stale


def test_other_options_are_another_module(tmp_path, cache):
    folder = _grammar(tmp_path)
    load_runtime(folder, WORDS)
    load_runtime(folder, {"words": {"lexer": "contextual", "maybe_placeholders": False}})
    assert len(list(cache.glob("lark_runtime_*.py"))) == 2


def test_a_damaged_module_is_generated_again(tmp_path, cache, monkeypatch):
    folder = _grammar(tmp_path)
    load_runtime(folder, WORDS)
    (saved,) = cache.glob("lark_runtime_*.py")
    whole = saved.read_text()
    saved.write_text(whole[: len(whole) // 2].rsplit("\n", 1)[0] + "\n")  # cut short at a line's end
    for compiled in (cache / "__pycache__").glob("*"):
        compiled.unlink()
    monkeypatch.setattr(_loading, "_LOADED", {})
    assert load_runtime(folder, WORDS).load("words").parse("still parses")
    assert saved.read_text().endswith(whole[whole.index("\ndef load(") :])  # written again, whole


def test_a_cache_folder_that_cant_be_written_falls_back(tmp_path, monkeypatch):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("BOOK_GRAMMAR_CACHE", str(blocked / "cache"))
    monkeypatch.setattr(_loading.tempfile, "gettempdir", lambda: str(blocked))  # no folder can be made anywhere
    monkeypatch.setattr(_loading, "_LOADED", {})
    assert load_runtime(_grammar(tmp_path), WORDS).load("words").parse("run from memory")


def test_the_books_grammars_parse_without_importing_lark(tmp_path):
    """A start that finds the module imports no `lark` at all (the lark package only generates it), and its
    bytecode is written even where Python writes none: compiling it at every start would cost 100 ms."""
    env = {**os.environ, "BOOK_GRAMMAR_CACHE": str(tmp_path / "cache"), "PYTHONDONTWRITEBYTECODE": "1"}
    code = ("import sys\nfrom grammar import parse, parse_signature\n"
            "assert parse('read some notes whose title is \"groceries\"\\n').statements\n"
            "assert parse_signature('to read some (*SMS* messages)').noun == 'SMS messages'\n"
            "print('lark' in sys.modules)")
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    name = f"lark_runtime_{_loading.digest(GRAMMAR_FOLDER, GRAMMARS, _loading.lark_version())}"
    assert [p.name for p in (tmp_path / "cache").glob("*.py")] == [f"{name}.py"]
    (compiled,) = (tmp_path / "cache" / "__pycache__").glob("*.pyc")
    assert compiled.name.startswith(name + ".")
    source_time, bytecode = (tmp_path / "cache" / f"{name}.py").stat().st_mtime_ns, compiled.read_bytes()
    again = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert (first.stdout.strip(), again.stdout.strip()) == ("True", "False")  # generated once, then only imported
    # the source is left as it was, so its bytecode stays current (a touched source is compiled again)
    assert (tmp_path / "cache" / f"{name}.py").stat().st_mtime_ns == source_time
    assert compiled.read_bytes() == bytecode
    os.utime(tmp_path / "cache" / f"{name}.py", (1_600_000_000, 1_600_000_000))  # bytecode out of date
    subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert compiled.read_bytes()[8:12] == (1_600_000_000).to_bytes(4, "little")  # compiled again, for this source


def test_the_digest_covers_every_grammar_and_the_options(tmp_path):
    folder = _grammar(tmp_path)
    before = _loading.digest(folder, WORDS, "1.0")
    (folder / "other.lark").write_text("start: \"x\"\n")  # a grammar it may %import
    assert _loading.digest(folder, WORDS, "1.0") != before
    assert _loading.digest(folder, WORDS, "1.1") != _loading.digest(folder, WORDS, "1.0")
    assert _loading.digest(folder, {"words": {"lexer": "basic"}}, "1.0") != _loading.digest(folder, WORDS, "1.0")


def test_a_module_in_a_folder_others_can_write_is_never_run(tmp_path, cache, monkeypatch):
    folder = _grammar(tmp_path)
    monkeypatch.setattr(_loading.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    name = f"lark_runtime_{_loading.digest(folder, WORDS, _loading.lark_version())}.py"
    cache.mkdir()
    (cache / name).write_text("raise SystemExit('planted')\n")
    cache.chmod(0o777)  # anyone's to write: someone else may have put this here
    runtime = load_runtime(folder, WORDS)
    assert runtime.load("words").parse("still parses")
    assert (tmp_path / "tmp" / "book-grammar" / name).is_file()  # generated where only this user writes
