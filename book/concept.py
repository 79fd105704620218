"""The base of every concept: a pydantic model with an English concept name and described fields."""

from __future__ import annotations

import inspect
import sys
import weakref
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from book.kinds import type_phrase, type_words
from book.naming import english, normal

__all__ = ["Concept", "attribute_docstrings", "type_phrase", "type_words"]


class Concept(BaseModel):
    """A typed thing the book reads or returns; subclasses set `concept_name` and document each field.

    A field's description is the docstring under it, as pydantic's `use_attribute_docstrings` gives it,
    read with one parse of each module's source for all its concepts (`attribute_docstrings`).
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True, defer_build=True)

    concept_name: ClassVar[str] = ""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        docs = attribute_docstrings(cls)
        described = False
        for name, field in cls.__pydantic_fields__.items():
            if field.description is None and name in docs:
                field.description = docs[name]
                described = True
        if described and cls.__pydantic_complete__:  # its schema was built already (not deferred): again, with them
            cls.model_rebuild(force=True)

    @classmethod
    def summary(cls) -> str:
        doc = inspect.getdoc(cls) or ""
        return doc.split("\n\n")[0].replace("\n", " ")

    @classmethod
    def description(cls) -> str:
        return " ".join((inspect.getdoc(cls) or "").split())

    @classmethod
    def english_fields(cls) -> dict[str, str]:
        """English name -> field name: `sender number` -> `sender_number`."""
        return dict(_english_fields(cls))

    @classmethod
    def resolve_field(cls, words: str) -> str | None:
        """The field an English name refers to (`date sent`, `Date_Sent`), or None."""
        key = normal(words).replace("_", " ")
        return _english_fields(cls).get(key)

    @classmethod
    def field_type(cls, name: str) -> Any:
        return cls.model_fields[name].annotation

    @classmethod
    def field_description(cls, name: str) -> str:
        return cls.model_fields[name].description or ""


_FIELDS: weakref.WeakKeyDictionary[type, dict[str, str]] = weakref.WeakKeyDictionary()


def _english_fields(cls: type[Concept]) -> dict[str, str]:
    """A concept class's English field names, worked out once per class (the compiler asks for every field)."""
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = {english(name): name for name in cls.model_fields}
    return found


def attribute_docstrings(cls: type) -> dict[str, str]:
    """The docstrings under the class's own attributes (`name: type` then a string), as pydantic reads them."""
    from pydantic._internal._docs_extraction import extract_docstrings_from_cls

    module = sys.modules.get(cls.__module__)
    filename = getattr(module, "__file__", None)
    if filename and "<" not in cls.__qualname__:
        found = _module_docstrings(filename, module)
        if cls.__qualname__ in found:
            return found[cls.__qualname__]
    return extract_docstrings_from_cls(cls, use_inspect=True)  # a class made in a function, or not found


_MODULE_DOCSTRINGS: dict[str, dict[str, dict[str, str]]] = {}


def _module_docstrings(filename: str, module: Any) -> dict[str, dict[str, str]]:
    """Each class's attribute docstrings in the module's source, by qualified name (parsed once per module);
    a name given to two classes is left out (the caller asks pydantic, which finds the right one)."""
    if filename in _MODULE_DOCSTRINGS:
        return _MODULE_DOCSTRINGS[filename]
    import ast
    import linecache

    from pydantic._internal._docs_extraction import DocstringVisitor

    found: dict[str, dict[str, str]] = {}
    twice: set[str] = set()
    try:
        tree = ast.parse("".join(linecache.getlines(filename, module.__dict__)))
    except (SyntaxError, ValueError):
        tree = ast.Module(body=[], type_ignores=[])

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef):
                name = prefix + node.name
                if name in found:
                    twice.add(name)
                visitor = DocstringVisitor()
                visitor.generic_visit(node)
                found[name] = visitor.attrs
                visit(node.body, name + ".")

    visit(tree.body, "")
    for name in twice:
        del found[name]
    _MODULE_DOCSTRINGS[filename] = found
    return found
