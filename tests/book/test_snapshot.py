"""The registry snapshot `check` compiles with (`book.snapshot`): the same problems as the live registry, for every
mistake the tests make; made anew when a source changes; passed over when damaged; and a check from it imports
none of pydantic, the concepts or the procedures."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import marshal
import subprocess
import sys
import textwrap
import typing
from pathlib import Path
from typing import Any

import pytest

from book.app import App
from book.compiler import compile_program
from book.errors import CompileError, LanguageError
from book.kinds import type_words
from book.registry import Procedure, Registry
from book.snapshot import decode, encode, load_registry
from grammar.parser import parse
from tests import ROOT
from tests.processes import environment

# -- the same problems from either registry -------------------------------------------------------------------

_SOURCES = sorted({*(ROOT / "tests" / "book").rglob("test_*.py"), *(ROOT / "tests" / "procedures").rglob("test_*.py"),
                   *(ROOT / "tests" / "grammar").rglob("test_*.py")})


def _texts(path: Path) -> list[str]:
    """Every text in a test module that parses as an automation: the mistakes its tests make, and the rest."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) > 3:
            try:
                parse(node.value, "<case>")
            except LanguageError:
                continue
            found.append(node.value)
    return list(dict.fromkeys(found))


def _registries() -> dict[str, Registry]:
    from procedures import BOOK
    from tests.notes import make_book

    return {"twilio": BOOK.registry, "notes": make_book()[0].registry}


_LIVE: dict[str, Registry] = {}
_SNAPSHOT: dict[str, Registry] = {}


def _both(name: str) -> tuple[Registry, Registry]:
    if not _LIVE:
        _LIVE.update(_registries())
    live = _LIVE[name]
    if name not in _SNAPSHOT:  # as a start reads it: through marshal's bytes
        _SNAPSHOT[name] = decode(marshal.loads(marshal.dumps(encode(live))), lambda: live)
    return live, _SNAPSHOT[name]


def _shape(value: Any) -> Any:
    """A compiled plan as comparable data: procedures by their English, types by their words, values by repr."""
    if isinstance(value, Procedure):
        return ("procedure", value.english)
    if isinstance(value, type) or typing.get_origin(value) is not None or value is Any:
        return ("type", type_words(value))
    if dataclasses.is_dataclass(value):
        fields = [f.name for f in dataclasses.fields(value) if f.name != "checks"]
        return (type(value).__name__, *(_shape(getattr(value, f)) for f in fields))
    if isinstance(value, tuple | list):
        return tuple(_shape(v) for v in value)
    if isinstance(value, typing.Mapping):
        return tuple((k, _shape(v)) for k, v in value.items())
    return repr(value)


def _outcome(text: str, registry: Registry) -> Any:
    try:
        plan = compile_program(parse(text, "case.auto"), registry, "case.auto")
    except CompileError as err:
        return "problems", [(p.message, p.line, p.column, p.source_line, p.hint) for p in err.problems], err.render()
    return "plan", _shape(plan.steps)


@pytest.mark.parametrize("book", ["notes", "twilio"])
@pytest.mark.parametrize("source", _SOURCES, ids=lambda p: str(p.relative_to(ROOT / "tests")))
def test_every_text_of_the_tests_compiles_the_same_from_the_snapshot(book: str, source: Path) -> None:
    live, snapshot = _both(book)
    differ = []
    for text in _texts(source):
        expected, got = _outcome(text, live), _outcome(text, snapshot)
        if expected != got:
            differ.append((text, expected, got))
    assert not differ, "\n\n".join(f"{t!r}:\n  live     {e}\n  snapshot {g}" for t, e, g in differ[:5])


def test_the_tests_make_mistakes_of_every_kind_to_compare() -> None:
    """The comparison above is over many mistakes, of both books (not texts that all compile)."""
    counts = {}
    for book in ("notes", "twilio"):
        live, _ = _both(book)
        outcomes = [_outcome(text, live)[0] for source in _SOURCES for text in _texts(source)]
        counts[book] = outcomes.count("problems")
    assert counts["notes"] > 200 and counts["twilio"] > 200, counts


@pytest.mark.parametrize("example", sorted((ROOT / "examples").glob("*.auto")), ids=lambda p: p.name)
def test_each_example_compiles_the_same_from_the_snapshot(example: Path) -> None:
    live, snapshot = _both("twilio")
    text = example.read_text(encoding="utf-8")
    assert _outcome(text, snapshot) == _outcome(text, live)
    assert _outcome(text, live)[0] == "plan"


def test_a_snapshot_checks_texts_with_the_books_own_checks_and_pydantic_for_the_rest() -> None:
    """A text check is kept by value (it runs in the snapshot); a value pydantic decides is given the live type."""
    live, snapshot = _both("twilio")
    send = snapshot.find("send", "SMS message")
    assert send is not None and send.function is not live.find("send", "SMS message").function
    sends = ['send an SMS message where\n  the sender number is "+1 (500) 555-0006"\n  the recipient number is "+18004446666"'
             '\n  the message body is "Hi"',
             'make a phone call where\n  the sender number is "+15005550006"\n  the recipient number is "+18004446666"'
             '\n  the url is "https://example.com/t"\n  the timeout is "soon"\n  the method is "fetch"']
    for text in sends:
        assert _outcome(text, snapshot) == _outcome(text, live)
        assert _outcome(text, live)[0] == "problems"


# -- made anew when a source changes, passed over when damaged ---------------------------------------------------

_BOOK = '''
from book.app import App
from book.authoring import Book

BOOK = Book("Memo", app=App(program="memo-book", sources=("memobook",)))


@BOOK.procedure("to write a *Memo* note")
def write(title: str{extra}) -> str:
    """Write a note.

    Input Concepts:
        the title: What it is called.{documented}
    """
    return title
'''


def _memo_book(folder: Path, extra: bool = False) -> None:
    package = folder / "memobook"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text(_BOOK.format(
        extra=", stars: int = 0" if extra else "",
        documented="\n        the stars: How many stars it gets." if extra else ""), encoding="utf-8")


def _memo_app() -> App:
    def load() -> Any:
        return importlib.import_module("memobook").BOOK

    return App(program="memo-book", load_book=load, sources=("memobook",))


def _forget_memo() -> None:
    for name in [m for m in sys.modules if m == "memobook" or m.startswith("memobook.")]:
        del sys.modules[name]
    importlib.invalidate_caches()


@pytest.fixture
def memo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A book of its own in a folder of the test's (a copy a test may edit), its snapshots in another."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("BOOK_GRAMMAR_CACHE", str(cache))
    _memo_book(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    _forget_memo()
    yield cache
    _forget_memo()


def _snapshots(cache: Path) -> list[Path]:
    return sorted(cache.glob("registry-memo-book-*.snapshot"))


def test_the_first_start_makes_the_snapshot_and_the_next_uses_it(memo: Path) -> None:
    first = load_registry(_memo_app())
    assert first.find("write", "Memo note").function.__module__ == "memobook"  # the live one
    assert len(_snapshots(memo)) == 1
    _forget_memo()
    second = load_registry(_memo_app())
    assert "memobook" not in sys.modules  # read from the snapshot: the book was not imported
    assert [i.name for i in second.find("write", "Memo note").inputs] == ["title"]


def test_an_edited_procedure_module_makes_a_new_snapshot(memo: Path, tmp_path: Path) -> None:
    load_registry(_memo_app())
    [before] = _snapshots(memo)
    _memo_book(tmp_path, extra=True)  # the book's module changes: a new input
    _forget_memo()
    live = load_registry(_memo_app())
    assert "memobook" in sys.modules and [i.name for i in live.find("write", "Memo note").inputs] == ["title", "stars"]
    after = [p for p in _snapshots(memo) if p != before]
    assert len(after) == 1  # another digest, another file
    _forget_memo()
    again = load_registry(_memo_app())
    assert "memobook" not in sys.modules
    assert [i.name for i in again.find("write", "Memo note").inputs] == ["title", "stars"]


@pytest.mark.parametrize("damage", ["cut short", "not marshal", "another format", "another digest"])
def test_a_damaged_snapshot_is_passed_over_silently(memo: Path, damage: str) -> None:
    load_registry(_memo_app())
    [path] = _snapshots(memo)
    data = path.read_bytes()
    magic, version, key, payload = marshal.loads(data)
    path.write_bytes({"cut short": data[: len(data) // 2], "not marshal": b"\xff" * 40,
                      "another format": marshal.dumps((magic, version + 1, key, payload)),
                      "another digest": marshal.dumps((magic, version, "0" * 24, payload))}[damage])
    _forget_memo()
    registry = load_registry(_memo_app())
    assert "memobook" in sys.modules  # the live registry, with no word
    assert registry.find("write", "Memo note").function.__module__ == "memobook"
    _forget_memo()
    load_registry(_memo_app())  # and the snapshot was written anew
    assert "memobook" not in sys.modules


# -- a check from the snapshot imports none of the book -------------------------------------------------------

_MODULES_AT_EXIT = textwrap.dedent('''
    import sys
    from book.cli import main
    from procedures._app import APP
    try:
        code = main(APP, sys.argv[1:])
    except SystemExit as stop:
        code = stop.code
    print("MODULES", " ".join(sorted(sys.modules)))
    print("CODE", code)
''')


def _check_in_a_process(tmp_path: Path, *args: str) -> tuple[str, set[str], str]:
    done = subprocess.run([sys.executable, "-c", _MODULES_AT_EXIT, *args], capture_output=True, text=True, cwd=ROOT,
                          env=environment(tmp_path / "home", BOOK_GRAMMAR_CACHE=str(tmp_path / "cache")), timeout=60)
    lines = done.stdout.splitlines()
    modules = next(line for line in lines if line.startswith("MODULES ")).split()[1:]
    out = "\n".join(line for line in lines if not line.startswith(("MODULES ", "CODE ")))
    return out + done.stderr, set(modules), next(line for line in lines if line.startswith("CODE "))


def test_a_check_with_the_snapshot_imports_no_pydantic_no_concepts_and_no_procedures(tmp_path: Path) -> None:
    small = str(ROOT / "examples" / "send.auto")
    cold_out, cold, _ = _check_in_a_process(tmp_path, "check", small)  # makes the snapshot, from the live registry
    assert "pydantic" in cold and "procedures.messages" in cold
    out, warm, code = _check_in_a_process(tmp_path, "check", small)
    assert out == cold_out and "ok (1 statements, calls: send an SMS message)" in out and code == "CODE 0"
    _, help_modules, _ = _check_in_a_process(tmp_path, "--help")
    assert not {m for m in warm if m.partition(".")[0] in ("pydantic", "pydantic_core", "concepts")}
    # of the procedures, only what the command line is built from (as `--help` imports it)
    assert {m for m in warm if m.partition(".")[0] == "procedures"} <= help_modules
    # optional inputs, with the book's conversions and checks (kept by value: a URL's, a SID's, a number's range)
    calls = tmp_path / "calls.auto"
    calls.write_text('make a phone call where\n  the sender number is "+15005550006"\n  the recipient number is '
                     '"+18004446666"\n  the url is "https://example.com/twiml"\n  the method is "get"\n  the timeout is 30\n'
                     'send a Twilio message where\n  the sender number is "+15005550006"\n  the recipient number is '
                     '"+18004446666"\n  the message body is "Hello"\ndownload a Twilio recording where\n  the recording sid '
                     'is "RE0123456789abcdef0123456789abcdef"\n  the format is "MP3"\n  the path is "rec.mp3"\n',
                     encoding="utf-8")
    out, warm, code = _check_in_a_process(tmp_path, "check", str(calls))
    assert "ok (3 statements" in out and code == "CODE 0", out
    assert not {m for m in warm if m.partition(".")[0] in ("pydantic", "pydantic_core", "concepts")}


def test_a_check_reports_the_same_problems_from_the_snapshot_as_from_the_live_registry(tmp_path: Path) -> None:
    mistakes = tmp_path / "mistakes.auto"
    mistakes.write_text('send an SMS message where\n  the sender number is "555"\n  the recipient numbr is "+18004446666"\n'
                        '  the message body is ""\nread some SMS messages whose bdy contains "x"\n'
                        'make a phone call where\n  the sender number is "+15005550006"\n  the timeout is "soon"\n',
                        encoding="utf-8")
    cold_out, cold, cold_code = _check_in_a_process(tmp_path, "check", str(mistakes))
    warm_out, warm, warm_code = _check_in_a_process(tmp_path, "check", str(mistakes))
    assert "procedures.messages" in cold  # the live registry, then the snapshot
    assert (warm_out, warm_code) == (cold_out, cold_code) and cold_code == "CODE 2"
    # the refusals in pydantic's words, without it ("soon" is no whole number)
    assert not {m for m in warm if m.partition(".")[0] in ("pydantic", "pydantic_core", "concepts")}
    assert "mistakes.auto: 7 problems" in cold_out, cold_out
