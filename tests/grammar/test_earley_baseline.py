"""The benchmark rates the parser against lark's Earley on the same grammar (bench/compile_bench.py): the
grammar must stay one that Earley with a basic lexer reads the same way, or the baseline breaks."""

from __future__ import annotations

from lark import Lark

from grammar import parser as parser_module
from grammar.parser import GRAMMAR_FILE, _BookIndenter

TEXT = '''the start date is "2022-03-01T15:00:00Z"
read some SMS messages whose num segments is at most 2 and whose date sent is after the start date
read the first 5 SMS messages whose body contains "every day" or whose sender number is "+15005550006"
watch for new SMS messages whose recipient number is "+15005550006" every 2 minutes at most 5 at a time as follows
  send an SMS message where
    the sender number is the message's recipient number
    the message body is "Got it"
'''


def test_earley_with_a_basic_lexer_reads_the_same_tree_as_the_books_lalr():
    def parser(**options):
        return Lark.open(GRAMMAR_FILE, rel_to=parser_module.__file__, postlex=_BookIndenter(),
                         maybe_placeholders=False, **options)

    earley = parser(parser="earley", lexer="basic").parse(TEXT)
    assert earley == parser(parser="lalr", lexer="contextual").parse(TEXT)
    assert [child.data for child in earley.children] == ["assign", "call", "call", "watch"]
    assert len(list(earley.find_data("le"))) == 1  # 'is at most 2' is a comparison, not a watch's limit
    assert len(list(earley.find_data("poll_every"))) == len(list(earley.find_data("poll_limit"))) == 1
