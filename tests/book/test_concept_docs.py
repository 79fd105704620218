"""A concept's field descriptions are the docstrings under its fields, wherever the concept is defined."""

from __future__ import annotations

from book.concept import Concept


class Parcel(Concept):
    """A parcel."""

    concept_name = "parcel"

    weight: float
    """How heavy it is, in kilograms."""
    label: str = ""

    class Sticker(Concept):
        """A sticker on a parcel."""

        text: str
        """What the sticker says."""

    note: str = ""
    """A note for the courier.

    Indented lines are cleaned, as pydantic cleans them."""


class Letter(Parcel):
    """A parcel that is a letter: its weight is described anew, its note is inherited."""

    weight: float = 0.02
    """Letters weigh 20 grams."""
    stamps: int = 1


def test_each_field_is_described_by_the_docstring_under_it():
    assert Parcel.field_description("weight") == "How heavy it is, in kilograms."
    assert Parcel.field_description("label") == ""  # none under it
    assert Parcel.field_description("note") == "A note for the courier.\n\nIndented lines are cleaned, as pydantic cleans them."
    assert Parcel.Sticker.field_description("text") == "What the sticker says."  # a class inside a class


def test_a_subclass_describes_its_own_fields_and_keeps_its_parents():
    assert Letter.field_description("weight") == "Letters weigh 20 grams."
    assert Letter.field_description("note").startswith("A note for the courier.")
    assert Letter.field_description("stamps") == ""
    assert Parcel.field_description("weight") == "How heavy it is, in kilograms."  # the parent's is its own


def test_a_concept_made_in_a_function_is_described_too():
    class Box(Concept):
        side: int
        """The length of a side, in centimetres."""

    assert Box.field_description("side") == "The length of a side, in centimetres."
    assert Box.model_json_schema()["properties"]["side"]["description"] == "The length of a side, in centimetres."
