"""What an agent can read besides the tools: the book's reference pages and each concept's JSON Schema.

    PROGRAM://reference/README.md                       the index of the generated reference
    PROGRAM://reference/procedures/read-some-notes.md   one page per procedure, one per concept
    PROGRAM://concepts/note.json                        a concept's JSON Schema

(`PROGRAM` is the book's command, `book.app.program`.)

Everything is generated from the registry when the server starts (`book.docs.generate_markdown`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from book.concept import Concept
from book.docs import generate_markdown

if TYPE_CHECKING:
    from book.authoring import Book

@dataclass(frozen=True)
class ResourceDoc:
    """One resource: where it is, what it is, and its text."""

    uri: str
    name: str
    title: str
    description: str
    mime_type: str
    text: str


def book_resources(book: Book) -> dict[str, ResourceDoc]:
    """Every resource of the book by URI: reference pages first, then concept schemas."""
    docs = [*_reference(book), *_schemas(book)]
    return {doc.uri: doc for doc in docs}


def _reference(book: Book) -> list[ResourceDoc]:
    out = []
    for path, text in generate_markdown(book).items():
        title = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), path)
        out.append(ResourceDoc(
            uri=f"{book.app.program}://reference/{path}",
            name=path,
            title=title,
            description=f"The {book.name} book's reference: {title}" if path != "README.md"
            else f"The {book.name} book's reference: its procedures, concepts and how it connects",
            mime_type="text/markdown",
            text=text,
        ))
    return out


def _schemas(book: Book) -> list[ResourceDoc]:
    out = []
    for concept in concepts(book):
        slug = re.sub(r"[^a-z0-9]+", "-", concept.concept_name.lower()).strip("-")
        out.append(ResourceDoc(
            uri=f"{book.app.program}://concepts/{slug}.json",
            name=f"{slug}.json",
            title=f"{concept.concept_name} (JSON Schema)",
            description=f"The JSON Schema of a {concept.concept_name}: {concept.summary()}",
            mime_type="application/schema+json",
            text=json.dumps(concept.model_json_schema(), indent=2, ensure_ascii=False) + "\n",
        ))
    return out


def concepts(book: Book) -> list[type[Concept]]:
    """The book's concepts, and every concept a procedure takes or returns (or a concept's field holds)."""
    return list(book.all_concepts().values())
