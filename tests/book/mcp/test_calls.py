"""Calling tools in process: arguments checked before anything runs, results bounded, errors as the book's."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from book.errors import RemoteError
from book.mcp.calls import ServeOptions, Toolbox
from tests.notes import Note, make_book, session_for


@pytest.fixture
def notes():
    book, store = make_book()
    for title, stars, day in [("groceries", 1, 1), ("garden", 3, 2), ("taxes", 5, 3), ("gifts", 2, 4), ("games", 4, 5)]:
        store.add(title, stars=stars, written=datetime(2022, 3, day, 12, tzinfo=timezone.utc))
    return book, store


def toolbox(book, store, **options) -> Toolbox:
    return Toolbox(book, session_for(book, store), ServeOptions(**options))


def test_a_procedure_tool_runs_the_procedure_with_checked_inputs(notes):
    book, store = notes
    out = toolbox(book, store).call("write_a_lark_note", {"title": "letters", "stars": 2})
    assert not out.is_error, out.text
    assert out.structured == {"result": "N6"}
    assert store.notes[-1].title == "letters" and store.notes[-1].stars == 2


def test_a_singular_concept_comes_back_as_the_object(notes):
    out = toolbox(*notes).call("find_a_note", {"note_id": "N3"})
    assert out.structured["title"] == "taxes" and out.structured["written"] == "2022-03-03T12:00:00Z"
    missing = toolbox(*notes).call("find_a_note", {"note_id": "N9"})
    assert missing.is_error and missing.text == "there is no note 'N9'; read some notes to see their ids"


@pytest.mark.parametrize(("arguments", "message"), [
    ({"stars": 2}, "needs title"),
    ({"title": "x", "stars": "many"}, "the stars \"many\" is not valid"),
    ({"title": 5}, "expected text, got the number 5"),
    ({"title": "x", "colour": "red"}, "takes no argument 'colour'"),
])
def test_bad_inputs_are_refused_before_anything_runs(notes, arguments, message):
    book, store = notes
    out = toolbox(book, store).call("write_a_lark_note", arguments)
    assert out.is_error and message in out.text
    assert len(store.notes) == 5


def test_a_structured_filter_is_a_tree_of_conditions(notes):
    out = toolbox(*notes).call("read_some_notes", {"filter": [
        {"field": "title", "op": "starts_with", "value": "G"},
        {"any": [{"field": "stars", "op": "ge", "value": 4}, {"field": "written", "op": "eq", "value": "2022-03-01"}]},
        {"not": {"field": "id", "op": "one_of", "value": ["N5"]}},
    ]})
    assert not out.is_error, out.text
    assert [item["title"] for item in out.structured["items"]] == ["groceries"]
    english = toolbox(*notes).call("read_some_notes", {"filter": [{"field": "written", "op": "gt", "value": "2022-03-04"}]})
    assert [item["id"] for item in english.structured["items"]] == ["N5"]  # a date is the whole day


@pytest.mark.parametrize(("condition", "message"), [
    ({"field": "stars", "op": "gt", "value": "lots"}, "filter[0]: \"lots\" can't be compared with the stars"),
    ({"field": "colour", "op": "eq", "value": "red"}, "a note has no field \"colour\""),
    ({"field": "title", "op": "like", "value": "x"}, "\"like\" is not an operator"),
    ({"field": "title", "op": "gt", "value": "x"}, "the title is text, which has no order"),
    ({"field": "stars", "op": "one_of", "value": 3}, "one_of takes a list"),
    ({"field": "stars", "op": "eq"}, "a condition is an object with field, op and value"),
])
def test_filter_values_are_checked_against_the_field_types_before_anything_runs(notes, condition, message):
    book, store = notes
    out = toolbox(book, store).call("read_some_notes", {"filter": [condition]})
    assert out.is_error and message in out.text
    assert store.reads == 0


def test_reads_are_bounded_and_say_how_many_more_there_are_and_how_to_ask(notes):
    box = toolbox(*notes, max_items=2)
    first = box.call("read_some_notes", {})
    assert [i["id"] for i in first.structured["items"]] == ["N1", "N2"]
    assert first.structured | {"items": None} == {
        "items": None, "returned": 2, "offset": 0, "more": 3, "more_is_lower_bound": False, "next_offset": 2,
        "how_to_get_more": "call read_some_notes again with offset 2, or narrow the filter",
    }
    assert "3 more after these: call read_some_notes again with offset 2" in first.text
    last = box.call("read_some_notes", {"offset": 4})
    assert [i["id"] for i in last.structured["items"]] == ["N5"]
    assert last.structured["more"] == 0 and last.structured["next_offset"] is None
    assert box.call("read_some_notes", {"limit": 3}).text.startswith("the limit 3 is not valid: give a whole number from 1 to 2")


def test_counting_more_stops_at_a_cap(notes):
    out = toolbox(*notes, max_items=1, count_cap=2).call("read_some_notes", {})
    assert out.structured["more"] == 2 and out.structured["more_is_lower_bound"] is True
    assert "at least 2 more" in out.text


def test_run_automation_returns_the_last_line_bounded(notes):
    box = toolbox(*notes, max_items=3)
    out = box.call("run_automation", {"text": "read some notes whose stars is at least 2"})
    assert not out.is_error, out.text
    assert out.structured["returned"] == 3 and out.structured["more"] == 1
    assert out.structured["calls"] == ["read some notes"]
    assert "1 more not shown" in out.text
    one = box.call("run_automation", {"text": 'read a note whose title is "taxes"'})
    assert one.structured["result"]["id"] == "N3"


def test_say_lines_are_part_of_the_answer_not_the_protocols_stdout(notes, capsys):
    out = toolbox(*notes).call("run_automation", {"text": 'read some notes\nsay "found {the number of notes}"\n'
                                                          "count the notes whose stars > 2"})
    assert not out.is_error, out.text
    assert out.structured["said"] == ["found 5"] and out.structured["result"] == 3
    assert out.text.startswith("found 5\n")
    assert capsys.readouterr().out == ""  # stdout is the MCP stream on stdio


def test_language_errors_carry_line_and_column(notes):
    box = toolbox(*notes)
    for tool in ("run_automation", "check_automation"):
        out = box.call(tool, {"text": 'the day is "x"\nread some notes whose colour is "red"'})
        assert out.is_error
        problem = out.structured["problems"][0]
        assert (problem["line"], problem["column"]) == (2, 23)
        assert "<automation>:2:23: a note has no field 'colour'" in out.text


def test_check_automation_reports_what_it_would_call(notes):
    out = toolbox(*notes, read_only=True).call("check_automation", {"text": 'write a Lark note where\n  the title is "x"'})
    assert out.structured == {"ok": True, "problems": [], "statements": 1, "calls": ["write a Lark note"],
                              "changes_things": True, "runs_here": False}


def test_read_only_refuses_automations_that_change_things_and_hides_their_tools(notes):
    book, store = notes
    box = toolbox(book, store, read_only=True)
    out = box.call("run_automation", {"text": 'write a Lark note where\n  the title is "x"'})
    assert out.is_error and "read-only" in out.text and "'write a Lark note'" in out.text
    assert len(store.notes) == 5
    hidden = box.call("write_a_lark_note", {"title": "x"})
    assert hidden.is_error and "changes things, and this server is read-only" in hidden.text
    assert "did you mean 'read_some_notes'" in box.call("read_some_note", {}).text


def test_a_remote_error_is_the_books_message(notes):
    book, store = notes

    @book.procedure("to delete a note")
    def delete_note(client, note_id: str) -> str:
        """Delete a note.

        Input Concepts:
            the note id: Which note.
        """
        raise RemoteError("the notes service refused to delete the note: it is locked", status=400, code=20001)

    out = toolbox(book, store).call("delete_a_note", {"note_id": "N1"})
    assert out.is_error
    assert out.text == "the notes service refused to delete the note: it is locked (error 20001, HTTP 400)"


def test_a_bug_is_reported_without_its_message_or_traceback(notes, caplog):
    book, store = notes

    @book.procedure("to read some (*Broken* notes)")
    def broken(client) -> Iterator[Note]:
        """Fail."""
        raise KeyError("token=s3cret")

    with caplog.at_level(logging.ERROR, logger="book.mcp"):
        out = toolbox(book, store).call("read_some_broken_notes", {})
    assert out.is_error and "internal error" in out.text and "KeyError" in out.text
    assert "s3cret" not in out.text and "Traceback" not in out.text
    assert "s3cret" in caplog.text  # the operator sees it in the server's log
