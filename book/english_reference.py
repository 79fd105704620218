"""The English of automations, form by form with an example: the `english.md` page of every book's reference.

The forms are the same for every book (`FORMS`); the page adds what the book itself declares: the nouns and
synonyms each procedure answers to, and what each one-line call's prepositions bind. A test parses and compiles
every example, so the page can't drift from the grammar or the compiler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from book.naming import english, singular

if TYPE_CHECKING:
    from book.authoring import Book

PAGE = "english.md"

# (section, form, example): each example is a whole automation that parses, and compiles against the test book
# of notes (but for `find` as read's other verb, and `watch`, which that book has no procedure for).
FORMS: tuple[tuple[str, str, str], ...] = (
    ("Calls", "a verb, a quantity and a noun (a me after the verb is fine: show me the notes)",
     "read some notes\nshow me the last 2 notes"),
    ("Calls", "quantities: some, a / an, all, the, the first 10, the last 2, the first / last (one), 10, numbers in words",
     "read the first three notes"),
    ("Calls", "filters: whose <field> <comparison>, joined with and whose / or whose, not whose",
     'read some notes whose title contains "milk" and whose stars is at least 2'),
    ("Calls", "inputs: where (or with) and indented lines", 'write a note where\n  the title is "groceries"'),
    ("Calls", "one line, with the prepositions the procedure declares (to, from, saying, after, before, on); a day "
     "or a span of days alone is an on (written yesterday, made this week)",
     'read the notes written after "March 2, 2022"\nread the notes written yesterday'),
    ("Calls", "a noun without its proper noun, or a synonym the book declares",
     'write a note where\n  the title is "todo"\nread the memos'),
    ("Calls", "get, list, find, fetch, retrieve and show mean read, where no procedure takes that verb",
     "list the notes"),
    ("Calls", "find: nothing found is nothing (or an empty list), not a failure", 'find a note whose title is "x"'),
    ("Comparisons", "is, is not, isn't, is equal to, = == !=", 'read some notes whose title isn\'t "todo"'),
    ("Comparisons", "is greater than / more than / after, is less than / fewer than / before, > <",
     "read some notes whose stars is greater than 2"),
    ("Comparisons", "is at least / at most, is on or after / on or before, >= <=",
     "read some notes whose stars >= 2"),
    ("Comparisons", "is between A and B (both included)", "read some notes whose stars is between 1 and 3"),
    ("Comparisons", "is one of (A, B)", 'read some notes whose title is one of ("a", "b")'),
    ("Comparisons", "contains, does not contain, doesn't contain, starts with, ends with",
     'read some notes whose body doesn\'t contain "spam"'),
    ("Comparisons", "is empty, is not empty", "read some notes whose body is empty"),
    ("Conditions", "if <condition> then, an indented block; otherwise if / else if; otherwise / else",
     'the count is 3\nif the count is greater than 2 then\n  say "many"\notherwise if the count is 1\n  say "one"\n'
     'otherwise\n  say "few"'),
    ("Conditions", "a comparison on a value, a fact or a possessive; exists, does not exist; and, or, not",
     'read a note whose title is "todo"\nif the note exists and not the note\'s body is empty then\n  say the note\'s body'),
    ("Conditions", "on one line: if <condition> then <a statement>, otherwise <a statement>",
     'the count is 3\nif the count > 2 then say "many"\notherwise say "few"'),
    ("Conditions", "there are no <list>, there are (some / any) <list>",
     'read some notes\nif there are no notes then say "none"\nif there are some notes then say "some"'),
    ("Conditions", "inside a loop, and nested", 'read some notes\nprocess each note as follows\n  if the note\'s stars '
     '> 3 then\n    if the note\'s body contains "urgent" then\n      say the note\'s title'),
    ("Values", "quoted text (straight or curly quotes), numbers, numbers in words up to twenty and the tens, true / false",
     'the title is \u201cgroceries\u201d\nthe stars is twenty'),
    ("Values", "facts, possessives, the above (the result), the above's field",
     'read a note whose title is "todo"\nget the above\'s body\nget the result'),
    ("Values", "+ - * / on numbers; + and - a span of time on a date", "the total is (2 + 3) * 4\nthe due date is today "
     "+ 3 days"),
    ("Values", "text joined with +, and templates with {the ...} placeholders (straight or curly quotes)",
     'read some notes\nthe name is "Ada"\nsay "Hello " + the name\nsay "Hello {the name}, you have {the number of notes} '
     'notes"'),
    ("Values", "lists: A, B and C (a comma before and is fine)", 'the titles are "a", "b", and "c"'),
    ("Values", "the number of <list>, the number of the above, how many <list> (are there / there are)",
     "read some notes\nsay how many notes are there\nsay \"{how many notes there are} notes\""),
    ("Values", "a list by the last words of its name (of lists whose names end alike, the latest defined)",
     'the guest names are "Ada" and "Alan"\nsay how many names are there'),
    ("Values", "the first / last <noun> of <list>, the last 2 <list>",
     "read some notes\nget the first note of the above\nget the last 2 notes"),
    ("Dates", "today, yesterday, tomorrow (whole days), now, 3 days ago",
     "read some notes whose written is after yesterday"),
    ("Dates", "in (or within) the last 7 days, this week / month / year, last week, next month (weeks start on Monday)",
     "read some notes whose written is in the last 7 days"),
    ("Dates", "date text: \"December 3, 2026\", \"12/03/2026\" (numbers are read month first), ISO 2026-12-03; "
     "GMT unless a zone is given (\"December 3, 2026 10:00 -05:00\", \"December 3, 2026 10:00 America/New_York\")",
     'read some notes whose written is on or after "December 3, 2026"'),
    ("Statements", "the <fact> is <value>; use <value> as the <fact>", 'the start date is "2022-03-01T15:00:00Z"'),
    ("Statements", "convert <value> to a <type>", 'convert "42" to a whole number'),
    ("Statements", "get <value>; get <list> whose ...", 'read some notes\nget the notes whose stars is 0'),
    ("Statements", "count <list> (whose ...)", 'read some notes\ncount the notes whose body contains "milk"'),
    ("Statements", "add <value> to the <fact>, subtract <value> from the <fact>",
     "the counter is 0\nadd 1 to the counter\nsubtract 2 from the counter"),
    ("Statements", "sort <list> by <field> (descending)", "read some notes\nsort the notes by stars descending"),
    ("Statements", "process each <item> in <list> (as follows), an indented block; also for each <item>",
     'the titles are "a" and "b"\nprocess each title in the titles\n  say the title\nfor each title\n  say the title'),
    ("Statements", "process each <item> in <list>, 8 at a time (as follows): up to 8 items side by side (1 to 64; a "
     "loop that sends runs 4 at a time unless told; say lines, results and the first failure in input order)",
     'the titles are "a", "b" and "c"\nthe written is 0\nprocess each title in the titles, 2 at a time, as follows\n'
     '  write a note where\n    the title is the title\n  add 1 to the written'),
    ("Statements", "wait 5 seconds, wait for a minute (at most a week; on Temporal, a durable timer; Ctrl-C ends the "
     "run there)", 'say "sent"\nwait 2 seconds\nread some notes'),
    ("Statements", "say <value>: a line of output (collected in the result with --output json or jsonl)",
     'say "done"'),
    ("Statements", "stop: the run ends here", "stop"),
    ("Statements", "watch for new <list> (whose ...) (every 10 seconds) (at most 10 at a time) as follows",
     "watch for new notes every minute as follows\n  say the note's title"),
    ("Conversations", "a call's conversation block: <call> as follows, an indented block run once per turn of the "
     "call's conversation, the turn's facts bound each turn; say replies to the other side",
     'hold a chat to "ada" as follows\n  say "You wrote {the visitor\'s words}."'),
    ("Conversations", "answer each <conversation> as follows: a trigger's conversations, turn by turn (run by the "
     "trigger that brings them)", "answer each chat as follows\n  say \"Hello, {the chat's visitor}.\""),
    ("Conversations", "hang up: the conversation ends here (stop ends it too)",
     'answer each chat as follows\n  if the visitor\'s words contains "bye" then\n    hang up'),
    ("Punctuation", "a period or a colon may end a line; # starts a comment", "read some notes.  # all of them"),
)


def markdown(book: Book, marker: str) -> str:
    """The English reference page of `book`."""
    lines = [marker, f"[{book.name}](README.md) \u203a The English", "", "# The English of automations", "",
             "Every form an automation may use, with an example. Keywords are case-insensitive.", ""]
    section = None
    for name, form, example in FORMS:
        if name != section:
            lines += [f"## {name}", ""]
            section = name
        lines += [f"- {form.replace('<', '&lt;')}:", "", "  ```text", *(f"  {line}" for line in example.split("\n")), "  ```", ""]
    lines += _nouns(book) + _prepositions(book) + _conversations(book)
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def _nouns(book: Book) -> list[str]:
    rows = []
    for procedure in book.registry:
        said = [f"{procedure.signature.verb} {noun}" for noun in book.registry.said_as(procedure)]
        rows.append(f"- {procedure.english}: " + ", ".join(f"`{s}`" for s in said))
    return ["## What each procedure answers to", "",
            "Its noun, its noun without the proper nouns in it, and its synonyms, where they name no other "
            "procedure; read's other verbs (get, list, find, fetch, retrieve, show) too.", "", *rows, ""] if rows else []


def _prepositions(book: Book) -> list[str]:
    rows = []
    for procedure in book.registry:
        if procedure.prepositions:
            bound = ", ".join(f"`{word}` the {english(target)}" for word, target in procedure.prepositions.items())
            rows.append(f"- {procedure.english}: {bound}")
    if not rows:
        return []
    return ["## One-line calls", "", "What each procedure's prepositions bind: an input, or (a read) a `whose` "
            "condition on a field (`after` is after, `before` is before, any other is `is`).", "", *rows, ""]


def _conversations(book: Book) -> list[str]:
    def binds(kind: Any) -> str:
        whole = " and ".join(f"the {name}" for name in kind.facts) or "nothing"
        each = " and ".join(f"the {name}" for name in kind.turn)
        return f"binds {whole} for the whole conversation" + (f", and {each} anew each turn" if each else "")

    rows = []
    for kind in book.registry.conversations:
        words = kind.noun.split()
        noun = " ".join([*words[:-1], singular(words[-1])])
        rows.append(f"- answer each {noun} as follows ({kind.description or 'a conversation'}; run with "
                    f"`{kind.runs_in}`): {binds(kind)}")
    rows += [f"- {procedure.english} ... as follows: {binds(procedure.converses)}"
             for procedure in book.registry if procedure.converses is not None]
    if not rows:
        return []
    return ["## Conversations", "", "The conversations the book holds, and what their blocks bind; in a block, `say` "
            "replies to the other side and `hang up` ends the conversation.", "", *rows, ""]
