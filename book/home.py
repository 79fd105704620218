"""The one folder where the book keeps state: connections, the sandbox database, trigger cursors."""

from __future__ import annotations

import os
from pathlib import Path


def home_dir() -> Path:
    """`TWILIO_BOOK_HOME` if set, else the user's data folder; created (mode 0700) on first use."""
    explicit = os.environ.get("TWILIO_BOOK_HOME")
    if explicit:
        path = Path(explicit).expanduser()
    else:
        from platformdirs import user_data_dir

        path = Path(user_data_dir("twilio-book", appauthor=False))
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
