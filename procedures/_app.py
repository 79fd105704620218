"""Who the Twilio book runs as: `twilio-book`, reaching Twilio, with its own commands.

Cheap to import (the standard library and `book.app`): the command line is built from it without loading
the book, its procedures, lark or the twilio SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from book.app import App

if TYPE_CHECKING:
    from book.authoring import Book


def _load() -> Book:
    from procedures import BOOK

    return BOOK


def _commands(subparsers: Any, app: App) -> None:
    from procedures.cli import add_twilio_commands

    add_twilio_commands(subparsers, app)


APP = App(
    program="twilio-book",
    service="Twilio",
    service_url="https://api.twilio.com",
    summary="Use Twilio in plain English. With no connection configured, automations run on a local sandbox.",
    load_book=_load,
    commands=(_commands,),
    sources=("concepts", "procedures"),  # what `check`'s registry snapshot is made from (book.snapshot)
)
