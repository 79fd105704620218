"""A book defined here, knowing nothing of Twilio, gets its reference pages with no other change."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from book.authoring import Book
from book.connections import ConnectionField, ConnectionMethod
from book.docs import export_json, generate_markdown
from book.filters import FilterExpression
from concepts import Concept


class Maker(Concept):
    """Who made a widget."""

    concept_name = "acme maker"

    name: str
    """The maker's name."""


class Widget(Concept):
    """A widget from the Acme catalogue.

    Widgets come in two sizes.
    """

    concept_name = "acme widget"

    code: str
    """The widget's catalogue code | unique."""
    size: Literal["small", "large"] = "small"
    """How big the widget is."""
    weight: float | None = None
    """Its weight in grams."""
    maker: Maker | None = None
    """Who made it."""


def make_book() -> Book:
    book = Book(
        "Acme",
        description="Acme sells widgets.",
        connection_methods=(
            ConnectionMethod(
                key="token",
                title="Connect using a token",
                description="Connect with an Acme token.",
                fields=(ConnectionField("token", "Token", "Your Acme token.", "sensitive", env="ACME_TOKEN"),),
            ),
        ),
    )

    @book.procedure("to find some (*Acme* widgets)")
    def find_widgets(filter_expression: FilterExpression | None = None, colour: str = "red", count: int = 3) -> Iterator[Widget]:
        """Find widgets in the catalogue.

        Input Concepts:
            the colour: The widgets' colour
            the count: How many to look at

        Output Concepts:
            acme widget: The widgets found

        Example 1:
            Find the large widgets

            >>> find some Acme widgets whose size is "large"
        """
        yield from ()

    return book


def test_the_index_page_and_one_page_per_procedure_and_concept():
    pages = generate_markdown(make_book())
    assert sorted(pages) == [
        "README.md",
        "concepts/acme-maker.md",
        "concepts/acme-widget.md",
        "english.md",  # the English of automations, with what this book declares
        "procedures/find-some-acme-widgets.md",
    ]
    index = pages["README.md"]
    assert "# Acme\n" in index and "Acme sells widgets." in index
    assert "| Token | Your Acme token. | sensitive |" in index
    assert "Twilio" not in "".join(pages.values())


def test_the_procedure_page_shows_defaults_and_the_filter_mark():
    page = generate_markdown(make_book())["procedures/find-some-acme-widgets.md"]
    assert "\n# to find some (Acme widgets)\n" in page
    assert "**FILTER - CAPABLE**" in page and "PAGE - CAPABLE" not in page
    assert '| colour | The widgets\' colour | text | No | "red" |' in page
    assert "| count | How many to look at | number | No | 3 |" in page
    assert "### Find the large widgets\n\n```text\nfind some Acme widgets whose size is \"large\"\n```" in page


def test_the_concept_page_escapes_cells_and_links_nested_concepts():
    pages = generate_markdown(make_book())
    page = pages["concepts/acme-widget.md"]
    assert "\n# Acme widget\n\nA widget from the Acme catalogue.\n\nWidgets come in two sizes.\n" in page
    assert "| code | The widget's catalogue code \\| unique. | text |" in page
    assert "| size | How big the widget is. | one of 'small', 'large' |" in page
    assert "| weight | Its weight in grams. | optional[number] |" in page
    assert "| maker | Who made it. | optional[acme maker] |" in page
    assert "- [to find some (Acme widgets)](../procedures/find-some-acme-widgets.md)" in page
    assert "# Acme maker" in pages["concepts/acme-maker.md"]


def test_the_export_describes_the_book():
    data = export_json(make_book())
    assert data["name"] == "Acme"
    (procedure,) = data["procedures"]
    assert procedure["english"] == "find some Acme widgets"
    assert procedure["filter_capable"] and not procedure["page_capable"]
    assert [(i["name"], i["required"], i["default"]) for i in procedure["inputs"]] == [("colour", False, "red"), ("count", False, 3)]
    assert sorted(data["concepts"]) == ["acme maker", "acme widget"]
