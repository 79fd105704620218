"""The Twilio book's procedures. Importing this package registers them all on `BOOK`."""

from __future__ import annotations

from procedures import messages  # noqa: F401  (registers the SMS procedures)
from procedures._book import BOOK

__all__ = ["BOOK"]
