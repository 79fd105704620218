"""How a book author declares procedures: phrases, docstrings, inputs by name, and mistakes at import."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest

import grammar.parser
from book.authoring import Book
from book.errors import AuthoringError
from book.filters import FilterExpression
from book.plan import Fact
from book.runtime import Automation
from tests.notes import Note, Store

HERE = Path(__file__).name


def procedure_of(function):
    return function.__procedure__


# -- a new procedure is English at once ----------------------------------------------------------------


def test_a_new_procedure_is_callable_in_english_without_a_grammar_edit(notes):
    @notes.book.procedure("to archive a *Lark* note")
    def archive_note(client: Store, note_id: str, reason: str = "done") -> Note:
        """Archive a note: its title gets the reason in brackets.

        Input Concepts:
            the note id: Which note.
            the reason: Why it is archived.

        Returns:
            The note as it is now.
        """
        note = next(n for n in client.notes if n.id == note_id)
        note.title = f"{note.title} [{reason}]"
        return note

    result = notes.run('archive a lark note where\n  the note id is "N2"\nget the lark note\'s title\n')
    assert result.value == "todo [done]"
    assert "archive" not in Path(grammar.parser.__file__).with_name("automation.lark").read_text()


def test_a_procedure_may_take_no_inputs_and_no_client():
    book = Book("Clock")

    @book.procedure("to tell the (time)")
    def tell_time() -> str:
        """Tell the time."""
        return "noon"

    procedure = procedure_of(tell_time)
    assert not procedure.takes_client and procedure.inputs == ()
    assert Automation.compile("tell the time\n", book.registry).run().value == "noon"


# -- the record a registration makes ---------------------------------------------------------------------


def test_the_notes_procedures_are_recorded(notes):
    read, write = notes.book.registry.find("read", "notes"), notes.book.registry.find("write", "Lark note")
    assert read.phrase == "to read some (notes)" and read.english == "read some notes"
    assert write.english == "write a Lark note"
    assert (read.filter_capable, read.page_capable, read.takes_client, read.mutating) == (True, True, True, False)
    assert (write.filter_capable, write.page_capable, write.takes_client, write.mutating) == (False, False, True, True)
    assert read.output.name == "note" and read.output.type is Note and read.output.plural
    assert (write.output.name, write.output.type, write.output.plural) == ("answer", str, False)
    assert write.output.description == "The new note's id."
    assert read.summary == "Read notes, oldest first."
    assert read.pushable == {"title": {"eq"}}
    assert notes.book.concepts["note"] is Note
    assert sorted(notes.book.concepts) == ["chat", "chat visitor", "conversation report", "note"]
    assert [p.english for p in notes.book.registry] == ["hold a Lark chat", "write a Lark note", "find a note",
                                                         "read some notes"]
    assert len(notes.book.registry) == 4


def test_lookup_ignores_case_and_number(notes):
    registry = notes.book.registry
    assert registry.find("READ", "Note") is registry.find("read", "notes")
    assert registry.find("write", "LARK NOTES") is registry.find("write", "lark note")
    assert registry.find("read", "pamphlets") is None
    assert registry.find("read", "memos") is registry.find("read", "notes")  # a synonym the book declares


def test_inputs_take_types_and_defaults_from_the_annotations(notes):
    write = notes.book.registry.find("write", "lark note")
    assert [(i.name, i.param, i.annotation, i.required, i.default) for i in write.inputs] == [
        ("title", "title", str, True, None),
        ("body", "body", str | None, False, None),
        ("stars", "stars", int, False, 0),
    ]
    assert write.inputs[0].description == "The note's title."


def test_input_concepts_bind_to_parameters_by_name():
    book = Book("Mail")

    @book.procedure("to post a letter")
    def post_letter(sender_number: str, message_body: str, owner: str, copies: int = 1) -> str:
        """Post a letter.

        Input Concepts:
            the Sender  Number: Spaces become underscores, case is ignored.
            the message's body: A possessive is dropped.
            an owner: An article is dropped.
            the copies: How many.
        """
        return f"{sender_number}|{message_body}|{owner}|{copies}"

    procedure = procedure_of(post_letter)
    assert [(i.name, i.param) for i in procedure.inputs] == [
        ("sender number", "sender_number"), ("message's body", "message_body"), ("owner", "owner"), ("copies", "copies"),
    ]
    # the English names it without the possessive: `the message body`
    text = 'post a letter where\n  the sender number is "a"\n  the message body is "b"\n  the owner is "c"\n'
    assert Automation.compile(text, book.registry).run().value == "a|b|c|1"


def test_filter_and_page_capability_come_from_the_parameters():
    book = Book("Caps")

    @book.procedure("to list some (items)")
    def list_items(filter_expression: FilterExpression | None = None) -> list[Note]:
        """List items."""
        return []

    @book.procedure("to scan some (things)")
    def scan_things(offset: int = 0, limit: int | None = None) -> Iterator[Note]:
        """Scan things."""
        yield from ()

    @book.procedure("to peek some (bits)")
    def peek_bits(offset: int = 0) -> list[Note]:
        """Peek: an offset without a limit is not paging (and, being reserved, not an input either)."""
        return []

    caps = {p.english: (p.filter_capable, p.page_capable, [i.name for i in p.inputs]) for p in book.registry}
    assert caps == {
        "list some items": (True, False, []),
        "scan some things": (False, True, []),
        "peek some bits": (False, False, []),
    }


def test_read_only_verbs_are_not_mutating_unless_declared():
    book = Book("Verbs")

    @book.procedure("to find some (items)")
    def find_items() -> list[str]:
        """Find items."""
        return []

    @book.procedure("to check some (items)", mutating=True)
    def check_items() -> list[str]:
        """Check items, with a side effect."""
        return []

    @book.procedure("to delete an item")
    def delete_item() -> str:
        """Delete an item."""
        return ""

    assert {p.signature.verb: p.mutating for p in book.registry} == {"find": False, "check": True, "delete": True}


def test_output_named_by_returns_when_there_is_no_output_section():
    book = Book("R")

    @book.procedure("to make a (widget)")
    def make_widget() -> str:
        """Make a widget.

        Returns:
            The widget's name,
            on two lines.
        """
        return "w"

    output = procedure_of(make_widget).output
    assert (output.name, output.description) == ("widget", "The widget's name, on two lines.")


def test_the_notes_book_examples_are_runnable_english(notes):
    for procedure in notes.book.registry:
        assert procedure.examples, procedure.phrase
        for example in procedure.examples:
            assert example.title
            Automation.compile(example.text, notes.book.registry)  # raises on a mistake


# -- inputs bound from facts ---------------------------------------------------------------------------


def test_an_input_is_bound_from_an_earlier_fact_of_the_same_name(notes):
    plan = notes.check('the title is "from a fact"\nthe stars is 4\nwrite a Lark note where\n  the body is "b"\n')
    inputs = {param: expr for param, expr, _ in plan.steps[2].inputs}
    assert inputs == {"body": inputs["body"], "title": Fact("title"), "stars": Fact("stars")}
    result = notes.run('the title is "from a fact"\nthe stars is 4\nwrite a Lark note where\n  the body is "b"\n')
    note = notes.store.notes[-1]
    assert (result.value, note.title, note.body, note.stars) == ("N5", "from a fact", "b", 4)


def test_a_written_input_wins_over_a_fact(notes):
    notes.run('the title is "fact"\nwrite a Lark note where\n  the title is "written"\n')
    assert notes.store.notes[-1].title == "written"


def test_a_call_without_a_block_takes_every_input_from_facts(notes):
    assert notes.run('use "only facts" as the title\nwrite a lark note\n').value == "N5"
    assert notes.store.notes[-1].title == "only facts"


# -- mistakes fail at registration, with a message ----------------------------------------------------


def test_a_malformed_phrase_fails_at_registration_with_the_column():
    with pytest.raises(AuthoringError, match=r"is malformed at column 15"):
        Book("B").procedure("to read some (notes")


@pytest.mark.parametrize("verb", ["use", "get", "convert", "process", "the", "if", "say", "stop", "add", "sort"])
def test_a_verb_the_english_reserves(verb):
    with pytest.raises(AuthoringError, match=f"uses the verb '{verb}', which the English reserves"):
        Book("B").procedure(f"to {verb} some (notes)")


@pytest.mark.parametrize("phrase", ["to read some (notes whose x)", "to write a note to self", "to read some (notes from home)",
                                    "to save a note with tags"])
def test_a_phrase_no_automation_could_say_fails_at_registration(phrase):
    book = Book("B")
    with pytest.raises(AuthoringError, match="an automation could not say"):
        @book.procedure(phrase)
        def anything() -> str:
            """Do it."""
            return ""
    assert len(book.registry) == 0


def test_two_procedures_answering_the_same_english_name_both_places():
    book = Book("Twice")

    @book.procedure("to read some (notes)")
    def first() -> list[str]:
        """First."""
        return []

    first_line = inspect.getsourcelines(first)[1]
    with pytest.raises(AuthoringError) as caught:
        @book.procedure("to read the note")
        def second() -> str:
            """Second: `read the note` and `read some notes` are the same call."""
            return ""
    message = str(caught.value)
    assert "two procedures answer the same English" in message
    assert f"'to read some (notes)' at {__file__}:{first_line}" in message
    assert f"'to read the note' at {__file__}:" in message
    assert message.count(HERE) == 2


def test_the_same_english_across_books_fails_when_their_registries_merge():
    one, other = Book("One"), Book("Other")
    for book in (one, other):
        @book.procedure("to read some (notes)")
        def read_notes() -> list[str]:
            """Read."""
            return []
    with pytest.raises(AuthoringError, match="two procedures answer the same English"):
        one.registry.merge(other.registry)


def register(body):
    """Register `body` under a fresh book; returns the AuthoringError's message."""
    with pytest.raises(AuthoringError) as caught:
        Book("B").procedure("to frob a widget")(body)
    return str(caught.value)


def test_an_undocumented_input():
    def frob(size: int) -> str:
        """Frob."""
    message = register(frob)
    assert f"{HERE}:" in message and "'to frob a widget'" in message
    assert "the input 'size' is not documented; add 'the size: <description>' under 'Input Concepts:'" in message


def test_a_documented_input_the_function_lacks():
    def frob(size: int) -> str:
        """Frob.

        Input Concepts:
            the size: How big.
            the colour: Which colour.
        """
    assert "'Input Concepts:' documents 'colour', which the function does not take" in register(frob)


def test_a_missing_return_annotation():
    def frob(size: int):
        """Frob.

        Input Concepts:
            the size: How big.
        """
    assert "annotate the return type" in register(frob)


def test_a_missing_input_annotation():
    def frob(size) -> str:
        """Frob.

        Input Concepts:
            the size: How big.
        """
    assert "the input 'size' has no type annotation" in register(frob)


def test_a_missing_docstring():
    def frob() -> str:
        return ""
    assert "the procedure has no docstring" in register(frob)


def test_star_args():
    def frob(*sizes: int) -> str:
        """Frob."""
    assert "*args and **kwargs cannot be input concepts" in register(frob)


def test_an_annotation_that_does_not_evaluate():
    def frob(size: NoSuchType) -> str:  # noqa: F821 (evaluated only when registered)
        """Frob.

        Input Concepts:
            the size: How big.
        """
    assert "the annotation of 'size' ('NoSuchType') does not evaluate" in register(frob)


def test_a_filter_capable_procedure_must_return_many():
    def frob(filter_expression: FilterExpression | None = None) -> str:
        """Frob."""
    assert "a FILTER-CAPABLE procedure must return a list or an iterator of concepts" in register(frob)


def test_a_failed_registration_registers_nothing():
    book = Book("B")
    with pytest.raises(AuthoringError):
        @book.procedure("to frob a widget")
        def frob(size: int) -> str:
            """Frob."""
    assert len(book.registry) == 0


def test_synonyms_and_prepositions_are_checked_when_a_procedure_is_registered():
    book = Book("Checked")

    def reader() -> list[str]:
        """Read items."""
        return []

    with pytest.raises(AuthoringError, match="could not say 'read some items to keep'"):
        book.procedure("to read some (things)", synonyms=("items to keep",))(reader)
    with pytest.raises(AuthoringError, match="must be words"):
        book.procedure("to read some (things)", synonyms=("it's",))(reader)
    with pytest.raises(AuthoringError, match="must end with one of to, from, saying, after, before, on"):
        book.procedure("to read some (things)", prepositions={"titled": "title"})(reader)
    with pytest.raises(AuthoringError, match="binds 'colour', which is neither an input nor a field"):
        book.procedure("to read some (things)", prepositions={"to": "colour"})(reader)
    book.procedure("to read some (things)", synonyms=("items", "stuff"))(reader)
    assert book.registry.find("read", "stuff").signature.noun == "things"
