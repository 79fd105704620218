"""The Markdown reference of the Twilio book reads like the book reference (shared/reference/000)."""

from __future__ import annotations

import re

import pytest

from book.docs import generate_markdown, marker
from procedures import BOOK

READ = "procedures/read-some-sms-messages.md"
SEND = "procedures/send-an-sms-message.md"
CONCEPT = "concepts/twilio-sms-message.md"


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return generate_markdown(BOOK)


def rows(page: str) -> list[list[str]]:
    """Every table row of a page as its cells (header and separator rows included)."""
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in page.splitlines() if line.startswith("| ")]


def section(page: str, heading: str) -> str:
    start = page.index(f"\n## {heading}\n")
    end = page.find("\n## ", start + 1)
    return page[start : end if end != -1 else None]


def test_every_page_is_marked_as_generated(pages):
    assert {READ, SEND, CONCEPT, "README.md"} <= set(pages)
    assert all(text.startswith(marker(BOOK) + "\n") for text in pages.values())


def test_the_index_has_the_overview_and_the_connectivity_tables(pages):
    index = pages["README.md"]
    assert index.startswith(f"{marker(BOOK)}\n# Twilio\n")
    assert "## Overview\n\nTwilio is a cloud communications platform" in index
    connectivity = section(index, "Connectivity")
    assert "### Connect using Account SID and Auth Token\n\nConnect to the Twilio API using account credentials." in connectivity
    table = rows(connectivity)
    assert ["Label", "Description", "Type"] in table
    assert ["Account SID", "The Account SID from your Twilio account.", "text"] in table
    assert ["Auth Token", "The Auth Token from your Twilio account.", "sensitive"] in table
    assert ["API Key Secret", "The secret shown once when the API key was created.", "sensitive"] in table


def test_the_index_links_every_procedure_and_concept(pages):
    index = pages["README.md"]
    assert f"- [to read some (SMS messages)]({READ}) `FILTER - CAPABLE`" in index
    assert f"- [to send an SMS message]({SEND}): Send an SMS message using the Twilio API." in index
    assert f"- [Twilio sms message]({CONCEPT}): SMS message data model." in index
    for link in re.findall(r"\]\(([^)]+\.md)\)", index):
        assert link in pages, link


def test_the_read_page_is_filter_capable_with_its_three_examples(pages):
    page = pages[READ]
    assert "\n# to read some (SMS messages)\n" in page
    assert "FILTER - CAPABLE" in page
    assert "Get SMS messages from the Twilio API." in page
    assert "## Input Concepts" not in page
    assert [
        "twilio sms message",
        "A list of SMS messages that matches the specified filtering criteria",
        "list[[twilio sms message](../concepts/twilio-sms-message.md)]",
    ] in rows(section(page, "Output Concepts"))
    examples = section(page, "Examples")
    titles = re.findall(r"^### (.+)$", examples, re.M)
    assert titles == [
        "Retrieve SMS messages filtered by sender and recipient numbers",
        "Retrieve SMS messages filtered by the date in which they were sent",
        "Retrieve SMS messages that were sent in the specified time period",
    ]
    assert examples.count("```text\n") == 3
    assert "```text\nread some SMS messages whose date sent is 2022-03-01\n```" in examples


def test_the_send_page_lists_three_required_inputs_and_the_answer(pages):
    page = pages[SEND]
    assert "\n# to send an SMS message\n" in page
    assert "CAPABLE" not in page
    inputs = rows(section(page, "Input Concepts"))
    assert inputs[0] == ["Concept", "Description", "Type", "Required", "Default Value"]
    assert inputs[2:] == [
        ["sender number", "The Twilio phone number to send the message from", "text", "Yes", "(no default)"],
        ["recipient number", "The recipient's phone number", "text", "Yes", "(no default)"],
        ["message body", "The body of the SMS message to send", "text", "Yes", "(no default)"],
    ]
    assert rows(section(page, "Output Concepts"))[2:] == [
        ["answer", "The SID of the sent message if successful, otherwise None.", "text"]
    ]
    assert '```text\nsend an SMS message where\n  the sender number is "+18004445555"\n' in page


def test_the_concept_page_lists_all_sixteen_fields_with_their_types(pages):
    page = pages[CONCEPT]
    assert "\n# Twilio sms message\n" in page
    assert "SMS message data model.\n\nAn SMS (Short Message Service) message." in page
    table = rows(page)
    assert table[0] == ["Field Name", "Description", "Type"]
    fields = {name: kind for name, _description, kind in table[2:]}
    assert len(fields) == 16
    assert fields["price"] == "optional[number]"
    assert fields["num_media"] == "number"
    assert fields["date_sent"] == "optional[datetime]"
    assert fields["account_sid"] == "text"
    assert fields["sid"] == "optional[text]"
    assert fields["error_code"] == "optional[number]"
    assert ["sid", "The unique, Twilio-provided string that identifies the Message resource.", "optional[text]"] in table


def test_generation_is_deterministic():
    assert generate_markdown(BOOK) == generate_markdown(BOOK)


def test_the_english_page_lists_every_form_and_each_example_parses():
    from book.english_reference import FORMS, PAGE
    from book.runtime import Automation
    from grammar.parser import parse
    from tests.notes import make_book

    book, _ = make_book()
    pages = generate_markdown(book)
    page = pages[PAGE]
    assert f"]({PAGE})" in pages["README.md"]
    # examples the notes book can't run: `find` is its own procedure there, not read's other verb; notes have
    # no date created, so no watch can tell new ones
    not_for_notes = ("find: nothing found", "watch for new <list>")
    compiled = 0
    for section, form, example in FORMS:
        parse(example)  # raises on a form the grammar no longer reads
        if not form.startswith(not_for_notes):
            Automation.compile(example + "\n", book.registry)  # raises on a form the compiler no longer takes
            compiled += 1
        assert f"## {section}" in page and form.replace("<", "&lt;") in page
        assert "\n".join(f"  {line}" for line in example.split("\n")) in page
    assert compiled == len(FORMS) - 2
    # what the book declares: its nouns and synonyms, and what its prepositions bind
    assert "- read some notes: `read note`, `read memo`, `read jotting`" in page
    assert "- write a Lark note: `saying` the body" in page
