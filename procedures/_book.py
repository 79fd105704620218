"""The Twilio book: its name, description, connection methods (and how to check one), client and sandbox."""

from __future__ import annotations

from book.authoring import Book
from procedures._app import APP
from procedures._connection import TWILIO_METHODS, verify_connection
from procedures._sandbox import start_sandbox
from procedures._twilio import make_client

BOOK = Book(
    "Twilio",
    description=(
        "Twilio is a cloud communications platform providing SMS, voice, video, and messaging API services. "
        "This integration enables automated SMS sending, phone call management, communication workflows, and "
        "customer engagement automation. Enhance customer communication and automate messaging processes."
    ),
    app=APP,
    connection_methods=TWILIO_METHODS,
    verify_connection=verify_connection,
    client_factory=make_client,
    sandbox=start_sandbox,
    # a long code sends 1 message a second and Twilio queues the rest; toll-free numbers and short codes go faster
    # (`twilio-book connections rate NAME 3`, or 100), a messaging service paces itself (it has no sender number)
    default_rate=1.0,
)
procedure = BOOK.procedure
