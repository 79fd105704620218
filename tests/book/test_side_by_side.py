"""Loops whose items run side by side (`process each note, 8 at a time`): what a person sees comes in input
order (results, `say` lines, the first failure), the facts a loop keeps count every item, a failure or a
stop starts no new item and says what ran; a loop that writes runs 4 at a time unless told; sends from one
sender are paced at the session's rate. The notes book, and a small book whose send takes a while."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from book.authoring import Book
from book.errors import CompileError, InputError
from book.interpreter import Interpreter, Session
from book.runtime import Automation
from tests.notes import make_book, session_for

TITLES = 'the titles are "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"\n'


def run(text: str, said: list | None = None, progress: list | None = None, **session):
    book, store = make_book()
    s = Session(clients={book.name: lambda: store}, say=said.append if said is not None else None,
                progress=progress.append if progress is not None else None, **session)
    return Automation.compile(text, book.registry).run(s), store


def test_results_say_lines_and_the_facts_kept_come_in_input_order():
    said: list = []
    text = (TITLES + "the written is 0\nthe last title is \"\"\n"
            "for each title in the titles, 4 at a time, as follows\n"
            "  write a note saying \"body of {the title}\" where\n    the title is the title\n"
            "  add 1 to the written\n  the last title is the title\n  say \"wrote {the title}\"\n"
            "say \"{the written} written, the last {the last title}\"\n")
    result, store = run(text, said)
    assert said == [f"wrote {t}" for t in "abcdefghij"] + ["10 written, the last j"]
    assert sorted(n.title for n in store.notes) == list("abcdefghij")  # each once
    assert len({n.id for n in store.notes}) == 10


def test_the_loop_gives_its_items_results_in_input_order():
    book, store = make_book()
    automation = Automation.compile(TITLES + "process each title in the titles, 3 at a time\n"
                                    "  write a note where\n    the title is the title\n", book.registry)
    env = Interpreter(session_for(book, store)).run(automation.plan)
    ids = {n.title: n.id for n in store.notes}
    assert env.above == [ids[t] for t in "abcdefghij"]


def slow_book(seconds: float = 0.2) -> tuple[Book, list[tuple[str, str, float]]]:
    """A book whose send takes `seconds`; each send kept as (sender, text, when it began)."""
    book = Book("Slow", client_factory=lambda *a: None)
    sent: list[tuple[str, str, float]] = []
    lock = threading.Lock()

    @book.procedure("to post a *Slow* card", mutating=True, paced_by="sender")
    def post_card(sender: str, text: str) -> str:
        """Post a card.

        Input Concepts:
            the sender: Who posts it.
            the text: What it says.

        Output Concepts:
            answer: What was posted.
        """
        with lock:
            sent.append((sender, text, time.monotonic()))
        if text == "boom":
            raise InputError(f"the card {text!r} can't be posted")
        time.sleep(seconds)
        return text

    return book, sent


def post_each(texts: list[str], at_a_time: str = "", sender: str = '"ada"') -> str:
    listed = ", ".join(f'"{t}"' for t in texts)
    return (f"the texts are {listed}\nprocess each text in the texts{at_a_time}\n"
            f"  post a card where\n    the sender is {sender}\n    the text is the text\n  say the text\n")


def run_slow(text: str, seconds: float = 0.2, **session):
    book, sent = slow_book(seconds)
    said: list = []
    progress: list = []
    s = Session(clients={book.name: lambda: None}, say=said.append, progress=progress.append, **session)
    began = time.monotonic()
    try:
        result = Automation.compile(text, book.registry).run(s)
    except Exception as err:
        result = err
    return result, sent, said, progress, time.monotonic() - began


def test_items_run_side_by_side_at_most_as_many_as_asked():
    _, sent, said, _, took = run_slow(post_each([str(n) for n in range(8)], ", 4 at a time,"))
    assert said == [str(n) for n in range(8)]
    assert 0.35 < took < 1.2  # two rounds of 0.2 s, not eight
    starts = sorted(at for _, _, at in sent)
    assert starts[4] - starts[0] >= 0.15  # the fifth began once one of the first four was done


def test_a_loop_that_sends_runs_4_at_a_time_unless_told_and_a_loop_that_reads_one_at_a_time():
    book, _ = slow_book()
    [_, loop] = Automation.compile(post_each(["a", "b"]), book.registry).plan.steps
    assert loop.at_a_time == 4
    [_, loop] = Automation.compile(post_each(["a", "b"], ", 1 at a time"), book.registry).plan.steps
    assert loop.at_a_time == 1
    notes, _ = make_book()
    [_, loop] = Automation.compile(TITLES + "process each title in the titles\n  read some notes\n",
                                   notes.registry).plan.steps
    assert loop.at_a_time == 1
    [_, loop] = Automation.compile(TITLES + 'process each title in the titles, 2 at a time\n  post a card where\n'
                                   '    the sender is "a"\n    the text is the title\n'
                                   '  process each t in the titles\n    post a card where\n      the sender is "a"\n'
                                   '      the text is the t\n', book.registry).plan.steps
    assert loop.at_a_time == 2 and loop.body[1].at_a_time == 1  # inside a loop side by side: one at a time


def test_the_first_failure_in_input_order_and_what_ran_beside_it():
    texts = ["a", "b", "boom", "d", "e", "f", "g", "h"]
    err, sent, said, progress, _ = run_slow(post_each(texts, ", 2 at a time,"), 0.3)
    assert isinstance(err, InputError) and "the card 'boom' can't be posted" in str(err)
    assert err.where.startswith("line 3: post a card")
    assert said[:2] == ["a", "b"] and "boom" not in said
    begun = [text for _, text, _ in sent]
    assert "h" not in begun and len(begun) <= 4  # no new item after the failure
    [note] = [line for line in progress if "failed" in line]
    assert note.startswith("line 2: the text 3 of 8 failed") and "not started" in note
    # what started beside it is said to have finished, and its say line is out
    beside = [t for t in begun if t not in ("a", "b", "boom")]
    assert all(t in said for t in beside)
    if beside:
        assert "had started beside it and finished" in note


def test_a_stop_starts_no_new_item_and_the_run_ends():
    book, store = make_book()
    said: list = []
    text = (TITLES + "process each title in the titles, 2 at a time\n  if the title is \"c\" then stop\n"
            "  write a note where\n    the title is the title\n")
    Automation.compile(text + 'say "after"\n', book.registry).run(Session(clients={book.name: lambda: store},
                                                                         say=said.append))
    assert said == [] and "c" not in {n.title for n in store.notes} and len(store.notes) <= 3


@pytest.mark.parametrize(("line", "says"), [
    ("0 at a time", "0 at a time is not a number of items that can run side by side"),
    ("65 at a time", "65 at a time is not a number of items that can run side by side"),
])
def test_how_many_at_a_time_is_checked_before_anything_runs(line, says):
    book, sent = slow_book()
    with pytest.raises(CompileError) as caught:
        Automation.compile(post_each(["a"], f", {line},"), book.registry)
    assert says in str(caught.value) and "1 to 64" in str(caught.value) and not sent


def test_a_loop_with_a_call_that_talks_runs_one_at_a_time():
    book, _ = make_book()
    with pytest.raises(CompileError) as caught:
        Automation.compile('the visitors are "ada", "bob"\nfor each visitor in the visitors, 2 at a time\n'
                           "  hold a chat to the visitor as follows\n    say \"hi\"\n", book.registry)
    assert "a loop with a call that talks runs one item at a time" in str(caught.value)


def test_sends_from_one_sender_are_paced_at_the_sessions_rate():
    texts = [str(n) for n in range(6)]
    _, sent, said, _, took = run_slow(post_each(texts, ", 6 at a time,"), 0.0, rates={"Slow": 10.0})
    starts = sorted(at for _, _, at in sent)
    assert said == texts and took >= 0.45  # 6 sends at 10 a second: 0.5 s from the first to the last
    assert all(b - a >= 0.08 for a, b in itertools.pairwise(starts))


def test_two_senders_are_paced_each_on_its_own():
    book, sent = slow_book(0.0)
    said: list = []
    text = ('the texts are "1", "2", "3", "4", "5", "6"\nthe senders are "ada", "bob"\n'
            "process each sender in the senders, 2 at a time\n  process each text in the texts\n"
            "    post a card where\n      the sender is the sender\n      the text is the text\n")
    began = time.monotonic()
    Automation.compile(text, book.registry).run(Session(clients={book.name: lambda: None}, say=said.append,
                                                        rates={"Slow": 10.0}))
    took = time.monotonic() - began
    assert len(sent) == 12 and 0.45 <= took < 1.0  # each sender's 6 at 10 a second, side by side: not 1.1 s


def test_a_stop_while_a_send_waits_for_its_turn_sends_nothing_more():
    book, sent = slow_book(0.0)
    session = Session(clients={book.name: lambda: None}, rates={"Slow": 2.0}, progress=lambda line: None)
    threading.Timer(0.7, session.stop.set).start()
    Automation.compile(post_each([str(n) for n in range(10)], ", 5 at a time,"), book.registry).run(session)
    assert 1 <= len(sent) <= 3  # at 2 a second, about 0.7 s of sends; the rest waited, and were not sent


def test_a_loop_side_by_side_inside_an_item_of_another_keeps_order_and_counts():
    said: list = []
    text = ('the groups are "x", "y", "z"\nthe titles are "a", "b", "c", "d"\nthe written is 0\n'
            "for each group in the groups, 3 at a time\n"
            "  for each title in the titles, 2 at a time\n"
            "    write a note where\n      the title is the group + the title\n"
            "    add 1 to the written\n    say the group + the title\n"
            'say "{the written} written"\n')
    _, store = run(text, said)
    assert said == [g + t for g in "xyz" for t in "abcd"] + ["12 written"]
    assert sorted(n.title for n in store.notes) == sorted(g + t for g in "xyz" for t in "abcd")
