"""Each package names its public surface in `__all__`; every name there exists; `import book` stays cheap."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from tests import ROOT

PACKAGES = ["book", "grammar", "concepts", "procedures", "sandbox"]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_package_names_its_public_surface(name):
    package = importlib.import_module(name)
    assert isinstance(package.__all__, (list, tuple)) and package.__all__, name
    assert len(set(package.__all__)) == len(package.__all__), "a name is listed twice"
    missing = [n for n in package.__all__ if not hasattr(package, n)]
    assert missing == [], f"{name}.__all__ names what it does not have: {missing}"


@pytest.mark.parametrize("name", PACKAGES)
def test_star_import_gives_exactly_the_public_surface(name):
    namespace: dict = {}
    exec(f"from {name} import *", namespace)
    namespace.pop("__builtins__")
    assert sorted(namespace) == sorted(importlib.import_module(name).__all__)


def test_the_book_surface():
    import book
    from book.errors import BookError, LanguageError

    assert {"Book", "Automation", "Session", "run", "check", "FilterExpression", "BookError", "LanguageError",
            "EnglishSyntaxError", "CompileError", "AuthoringError", "InputError", "NotFoundError",
            "RemoteError"} <= set(book.__all__)
    assert book.BookError is BookError and book.LanguageError is LanguageError
    assert book.Session is importlib.import_module("book.interpreter").Session
    for name in book.__all__:
        if name.endswith("Error") or name.endswith("Error_"):
            assert issubclass(getattr(book, name), BookError), name
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        book.nothing  # noqa: B018


def test_the_grammar_surface():
    import grammar
    from grammar import ast

    assert grammar.ast is ast
    program = grammar.parse('the x is "a"')
    assert isinstance(program, ast.Program)
    assert grammar.parse_signature("to read some (notes)").verb == "read"


def test_the_python_api_runs_english_end_to_end():
    from book import Automation, Book, Session, check, run

    library = Book("Library")

    @library.procedure("to count some (words)")
    def count_words(text: str) -> list[int]:
        """Count the letters of each word.

        Input Concepts:
            the text: Some words.
        """
        return [len(word) for word in text.split()]

    text = 'count some words where\n  the text is "plain English runs"\n'
    assert check(text, library.registry).procedures[0].english == "count some words"
    assert run(text, library.registry).value == [5, 7, 4]
    assert Automation.compile(text, library.registry).run(Session()).facts["words"] == [5, 7, 4]


@pytest.mark.parametrize("package", ["book", "grammar"])
def test_importing_the_package_is_cheap(package):
    code = (
        f"import sys, {package}\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'lark', 'pydantic', 'twilio'})\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
