"""Compile benchmark: lines of English per second, single core, beside naive Lark parses of the same text.

A seeded generator writes a few thousand realistic lines for a small bench-local book (notes kept in
memory): calls with filters and input blocks, assignments, conversions, `process each` blocks (some
nested), comments and blank lines. Every measure runs several times in this one process, in interleaved
rounds, timed in CPU time of this process (so other work on the machine weighs little); the best run
counts. What is measured:

    book              grammar.parser.parse + book.compiler.compile_program: English to a runnable plan
    book, parse only  grammar.parser.parse: LALR with the tree-less transformer, to the typed tree
    LALR + transform  the same grammar and indenter, LALR building a lark Tree, then the same Transformer
                      as a separate pass: the same typed tree, built the naive way
    LALR tree         the same, stopping at the plain lark Tree (no typed nodes, no compile)
    Earley tree       the same grammar with lark's default algorithm (Earley; its basic lexer, as the
                      indenter needs one), stopping at the plain Tree

    python bench/compile_bench.py [--lines 3000] [--runs 7] [--seed 1]
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lark import Lark

from book.authoring import Book
from book.compiler import compile_program
from book.filters import FilterExpression
from concepts import Concept
from grammar import parser as english
from grammar._terminals import whole_words

# -- a bench-local book ------------------------------------------------------------------------------


class Note(Concept):
    """A note."""

    concept_name = "note"

    id: str
    """The note's identifier."""
    title: str
    """The note's title."""
    body: str | None = None
    """What the note says."""
    stars: int = 0
    """How many stars it has."""
    written: datetime | None = None
    """When it was written."""


def make_book() -> Book:
    book = Book("Bench notes")

    @book.procedure("to read some (notes)", synonyms=("memos",),
                    prepositions={"after": "written", "before": "written", "titled on": "title"})
    def read_notes(filter_expression: FilterExpression | None = None, offset: int = 0,
                   limit: int | None = None) -> Iterator[Note]:
        """Read notes.

        Output Concepts:
            notes: The notes that match.
        """
        yield from ()

    @book.procedure("to write a memo", prepositions={"saying": "body", "on": "title"})
    def write_memo(title: str, body: str | None = None, stars: int = 0) -> str:
        """Write a memo (a call binds its noun as a fact: `write a note` would hide the note of a
        `process each note`).

        Input Concepts:
            the title: The title.
            the body: The body.
            the stars: How many stars.

        Output Concepts:
            answer: The new memo's id.
        """
        return "N1"

    return book


# -- a realistic automation --------------------------------------------------------------------------

WORDS = ["groceries", "meeting", "invoice", "party", "garden", "travel", "dentist", "budget", "recipe",
         "birthday", "renewal", "report", "holiday", "plumber", "library", "concert", "taxes", "school"]
FACTS = ["start date", "end date", "cutoff", "owner name", "topic", "minimum stars", "heading", "keyword"]


class Writer:
    """Writes statements that compile: facts are defined before they are used."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.lines: list[str] = []
        self.text_facts: list[str] = []
        self.day_facts: list[str] = []
        self.star_facts: list[str] = []

    def quoted(self) -> str:
        words = self.rng.sample(WORDS, self.rng.randint(1, 3))
        return '"' + " ".join(words).capitalize() + '"'

    def day(self) -> str:
        day = f"2022-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}"
        if self.rng.random() < 0.5:
            return day
        return f"{day}T{self.rng.randint(0, 23):02d}:{self.rng.choice(['00', '15', '30', '45'])}:00Z"

    def text_value(self) -> str:
        return f"the {self.rng.choice(self.text_facts)}" if self.text_facts and self.rng.random() < 0.3 else self.quoted()

    def day_value(self) -> str:
        return f"the {self.rng.choice(self.day_facts)}" if self.day_facts and self.rng.random() < 0.4 else self.day()

    def clause(self) -> str:
        kind = self.rng.random()
        if kind < 0.4:
            op = self.rng.choice(["is", "is not", "contains", "does not contain", "starts with", "ends with"])
            return f"whose {self.rng.choice(['title', 'body'])} {op} {self.text_value()}"
        if kind < 0.7:
            op = self.rng.choice(["is after", "is before", "is at least", "is at most", "is"])
            return f"whose written {op} {self.day_value()}"
        if kind < 0.9:
            op = self.rng.choice(["is at least", "is at most", "is"])
            value = f"the {self.rng.choice(self.star_facts)}" if self.star_facts and self.rng.random() < 0.3 \
                else str(self.rng.randint(0, 5))
            return f"whose stars {op} {value}"
        choices = ", ".join(str(n) for n in self.rng.sample(range(6), 3))
        return f"whose stars is one of ({choices})"

    def read(self, indent: str = "") -> None:
        quantity = self.rng.choice(["some", "some", "all", f"the first {self.rng.randint(1, 50)}", "a"])
        clauses = [self.clause() for _ in range(self.rng.randint(1, 3))]
        text = clauses[0]
        for clause in clauses[1:]:
            joiner = self.rng.choice(["and", "and", "or", "and not"])
            text += f" {joiner} {clause}"
        noun = "note" if quantity == "a" else "notes"
        self.lines.append(f"{indent}read {quantity} {noun} {text}")

    def write(self, indent: str = "", title: str | None = None) -> None:
        self.lines.append(f"{indent}write a memo {self.rng.choice(['where', 'with'])}")
        self.lines.append(f"{indent}  the title is {title or self.text_value()}")
        if self.rng.random() < 0.7:
            self.lines.append(f"{indent}  the body is {self.text_value()}")
        if self.rng.random() < 0.5:
            self.lines.append(f"{indent}  the stars is {self.rng.randint(0, 5)}")

    def assign(self) -> None:
        fact = self.rng.choice(FACTS)
        if fact in ("start date", "end date", "cutoff"):
            self.lines.append(f"the {fact} is {self.day()}")
            self.day_facts.append(fact)
        elif fact == "minimum stars":
            self.lines.append(f"the {fact} is {self.rng.randint(0, 5)}")
            self.star_facts.append(fact)
        else:
            self.lines.append(f"the {fact} is {self.quoted()}")
            self.text_facts.append(fact)

    def each(self) -> None:
        self.lines.append("read some notes " + self.clause())
        self.lines.append(self.rng.choice(["process each note as follows", "process each note in the notes as follows"]))
        for _ in range(self.rng.randint(1, 3)):
            kind = self.rng.random()
            if kind < 0.4:
                self.lines.append(f"  get the note's {self.rng.choice(['title', 'body', 'stars', 'written'])}")
            elif kind < 0.6:
                self.lines.append("  get the note's title")
                self.lines.append("  use the above as the current title")
            elif kind < 0.8:
                self.write("  ", title="the note's title")
            else:
                self.lines.append("  process each other in the notes as follows")
                self.lines.append("    get the other's stars")

    def automation(self, lines: int) -> str:
        while len(self.lines) < lines:
            kind = self.rng.random()
            if kind < 0.06:
                self.lines.append(f"# {self.rng.choice(WORDS)} {self.rng.choice(WORDS)}")
            elif kind < 0.09:
                self.lines.append("")
            elif kind < 0.24:
                self.assign()
            elif kind < 0.52:
                self.read()
            elif kind < 0.66:
                self.write()
            elif kind < 0.74:
                self.lines.append(f'convert "{self.day()}" to a datetime')
                self.lines.append(f"use the above as the {self.rng.choice(['start date', 'cutoff'])}")
                self.day_facts.append(self.lines[-1].split("the above as the ")[1])
            elif kind < 0.80:
                self.read()
                self.lines.append(f"get the {'note' if ' a note ' in self.lines[-1] else 'notes'}")
            else:
                self.each()
        return "\n".join(self.lines) + "\n"


class NewWriter(Writer):
    """Writes statements in the wave-2 English (issue 11): conditionals, comparisons in words and symbols,
    arithmetic and dates, templates, lists, counting, sorting, one-line calls with prepositions."""

    def clause(self) -> str:
        kind = self.rng.random()
        if kind < 0.3:
            op = self.rng.choice(["is greater than", "is less than", ">=", "<=", "!=", "=", "is equal to", "is fewer than"])
            return f"whose stars {op} {self.rng.choice(['two', '3', 'the minimum stars', '1 + 1'])}"
        if kind < 0.5:
            return f"whose stars is between {self.rng.randint(0, 2)} and {self.rng.choice(['four', '5'])}"
        if kind < 0.7:
            when = self.rng.choice(["in the last 7 days", "last week", "this month", "on or after yesterday",
                                    "before 3 days ago", 'after "December 3, 2026"', "on or before today"])
            return f"whose written is {when}"
        op = self.rng.choice(["isn't", "doesn't contain", "contains", "starts with"])
        return f"whose {self.rng.choice(['title', 'body'])} {op} {self.text_value()}"

    def condition(self, item: str) -> str:
        parts = [f"the {item}'s stars is greater than {self.rng.randint(0, 4)}",
                 f'the {item}\'s title contains {self.quoted()}', f"the {item}'s body is empty",
                 f"the {item}'s written is in the last 30 days", f"the {item} exists"]
        chosen = self.rng.sample(parts, self.rng.randint(1, 2))
        return (" and " if self.rng.random() < 0.6 else ", or ").join(chosen)

    def block(self, item: str, indent: str) -> None:
        self.lines.append(f"{indent}if {self.condition(item)} then")
        self.lines.append(f'{indent}  say "Hello {{the {item}\'s title}}, {{the {item}\'s stars}} stars"')
        self.lines.append(f"{indent}  add 1 to the counter")
        if self.rng.random() < 0.5:
            self.lines.append(f"{indent}otherwise if the {item}'s stars >= 2")
            self.lines.append(f'{indent}  write a memo on the {item}\'s title saying "Hi " + the {item}\'s title')
        self.lines.append(f"{indent}otherwise")
        self.lines.append(f"{indent}  subtract 1 from the counter")

    def automation(self, lines: int) -> str:
        self.lines.append("the counter is 0")
        self.lines.append("the minimum stars is 2")
        self.star_facts.append("minimum stars")
        while len(self.lines) < lines:
            kind = self.rng.random()
            if kind < 0.05:
                self.lines.append(f"# {self.rng.choice(WORDS)} {self.rng.choice(WORDS)}")
            elif kind < 0.2:
                self.assign()
                self.lines.append(self.rng.choice([
                    "the later is today + 3 days", "the total is (the counter + 2) * 3 / 4 - 1",
                    f'the greeting is "Hi " + {self.quoted()}', 'the deadline is "12/03/2026"',
                    f'the titles are {self.quoted()}, {self.quoted()}, and {self.quoted()}.']))
            elif kind < 0.45:
                quantity = self.rng.choice(["some", "the first three", "all", "the last 2"])
                self.lines.append(f"read {quantity} {self.rng.choice(['notes', 'memos'])} {self.clause()} and "
                                  f"{self.clause()}")
            elif kind < 0.55:
                self.lines.append(f'write a memo on {self.text_value()} saying "Hello {{the counter}}"')
            elif kind < 0.65:
                self.lines.append(f"read some notes {self.clause()}")
                self.lines.append(self.rng.choice(["sort the notes by stars descending", "count the notes",
                                                   "say how many notes", "get the first note of the notes"]))
            else:
                self.lines.append(f"read some notes {self.clause()}")
                self.lines.append("process each note in the notes as follows")
                self.block("note", "  ")
        return "\n".join(self.lines) + "\n"


# -- measuring ---------------------------------------------------------------------------------------


def prefix(text: str, lines: int) -> str:
    """The first statements of `text`, at least `lines` lines, ending where a top-level statement ends."""
    kept = text.split("\n")
    end = lines
    while end < len(kept) and kept[end][:1] in (" ", "\t"):
        end += 1
    return "\n".join(kept[:end]) + "\n"


def best_times(measures: list[tuple[str, int, Callable[[], object]]], rounds: int) -> dict[str, float]:
    """The best time of each measure; rounds interleave the measures, so a busy moment hits them alike."""
    best = {name: float("inf") for name, _, _ in measures}
    for round_ in range(rounds):
        for name, runs, work in measures:
            if round_ >= runs:
                continue
            gc.collect()
            started = time.process_time()  # CPU time: other processes on the machine do not count
            work()
            best[name] = min(best[name], time.process_time() - started)
    return best


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    options.add_argument("--lines", type=int, default=3000, help="lines in the generated automation")
    options.add_argument("--runs", type=int, default=7, help="runs of each measure but Earley (the best counts)")
    options.add_argument("--earley-runs", type=int, default=2, help="runs of the slow Earley measure")
    options.add_argument("--seed", type=int, default=1)
    args = options.parse_args(argv)

    book = make_book()
    text = Writer(random.Random(args.seed)).automation(args.lines)
    lines = text.count("\n")
    plan = compile_program(english.parse(text), book.registry)  # it must compile, and warms every cache

    grammar = dict(grammar_filename=english.GRAMMAR_FILE, rel_to=english.__file__)
    # the same terminals as the book's parser: a keyword of letters matches a whole word only
    lalr = Lark.open(grammar["grammar_filename"], rel_to=grammar["rel_to"], parser="lalr", lexer="contextual",
                     postlex=english._BookIndenter(), maybe_placeholders=False, edit_terminals=whole_words)
    earley = Lark.open(grammar["grammar_filename"], rel_to=grammar["rel_to"], parser="earley", lexer="basic",
                       postlex=english._BookIndenter(), maybe_placeholders=False, edit_terminals=whole_words)
    # the book's own runtime (the module grammar._loading generates) building its Tree, for the same
    # Transformer as a separate pass (a Tree of the `lark` package is another class to it)
    from grammar._runtime import lark as runtime

    lalr_book_tree = runtime.load("automation", postlex=english._BookIndenter())
    transformer = english._ToAst()
    assert transformer.transform(lalr_book_tree.parse(text)) == english.parse(text).statements  # the same work
    # Earley is slow: it reads the first statements, up to a third of the lines, and is rated on those
    head = prefix(text, lines // 3)

    measures = [
        ("book (parse + compile)", args.runs, lambda: compile_program(english.parse(text), book.registry)),
        ("book, parse only", args.runs, lambda: english.parse(text)),
        ("LALR tree + transform", args.runs, lambda: transformer.transform(lalr_book_tree.parse(text))),
        ("LALR tree", args.runs, lambda: lalr.parse(text)),
        ("Earley tree", args.earley_runs, lambda: earley.parse(head)),
    ]
    # the wave-2 English beside the old: parse + compile per line, in the same rounds; and the grammar before
    # wave 2 (from git) on the old forms, beside today's, to a plain tree: what the richer grammar costs a line
    new_text = NewWriter(random.Random(args.seed)).automation(args.lines)
    new_lines = new_text.count("\n")
    compile_program(english.parse(new_text), book.registry)  # it must compile
    measures.append(("book, wave-2 English", args.runs, lambda: compile_program(english.parse(new_text), book.registry)))
    wave1 = wave1_parser()
    if wave1 is not None:
        measures.append(("LALR tree, wave-1 grammar", args.runs, lambda: wave1.parse(text)))
    print(f"{lines} lines ({len(text):,} characters, {len(plan.steps)} top-level statements; Earley reads the "
          f"first {head.count(chr(10))}), best of {args.runs} runs ({args.earley_runs} for Earley), "
          f"CPU time, Python {sys.version.split()[0]}")
    sizes = {name: (head if name.startswith("Earley") else new_text if "wave-2" in name else text).count("\n")
             for name, _, _ in measures}
    rates = {name: sizes[name] / seconds for name, seconds in best_times(measures, args.runs).items()}
    book_rate = rates["book (parse + compile)"]
    for name, rate in rates.items():
        if "wave-" in name:
            continue
        ratio = "" if name.startswith("book (") else f"   book is {book_rate / rate:5.2f}x"
        print(f"  {name:<24} {rate:>10,.0f} lines/s{ratio}")
    old, new = 1e6 / book_rate, 1e6 / rates["book, wave-2 English"]
    per_char = (new / (len(new_text) / new_lines)) / (old / (len(text) / lines))
    print("\nthe richer grammar, per line:")
    if wave1 is not None:
        before, after = 1e6 / rates["LALR tree, wave-1 grammar"], 1e6 / rates["LALR tree"]
        print(f"  the old forms, to a plain tree: the wave-1 grammar {before:6.1f} us/line, today's {after:6.1f} us/line"
              f"   {after / before:4.2f}x (the bar: at most 1.20x)")
    print(f"  parse + compile, the old forms ({lines} lines, {len(text) / lines:.0f} characters a line)"
          f"{old:>12.1f} us/line")
    print(f"  parse + compile, the wave-2 forms ({new_lines} lines, {len(new_text) / new_lines:.0f} characters a line: "
          f"conditionals, comparisons in words and symbols, arithmetic, dates, templates, lists, prepositions)"
          f"{new:>8.1f} us/line   {new / old:4.2f}x per line, {per_char:4.2f}x per character")
    return 0


WAVE1 = "ca7870a"  # the last commit before the wave-2 English (issue 11)


def wave1_parser() -> Lark | None:
    """The automation grammar as it was before wave 2 (from git), with the same indenter; None without git."""
    import subprocess

    try:
        grammar = subprocess.run(["git", "show", f"{WAVE1}:grammar/automation.lark"], capture_output=True, text=True,
                                 check=True, cwd=Path(__file__).resolve().parents[1]).stdout
    except (OSError, subprocess.CalledProcessError):
        print("(git has no wave-1 grammar here: its comparison is left out)")
        return None
    return Lark(grammar, parser="lalr", lexer="contextual", postlex=english._BookIndenter(), maybe_placeholders=False)


if __name__ == "__main__":
    sys.exit(main())
