"""The Twilio book: its procedures, concepts, connection methods, HTTP client, webhooks and sandbox.

    from procedures import BOOK        # every procedure registered (imports them on first use)
    from procedures import APP         # who it runs as (`twilio-book`), cheap: builds the command line

`BOOK` is imported on first use, so `twilio-book --help` (which needs only `APP`) loads no procedure,
no lark and no twilio SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["APP", "BOOK"]


def __getattr__(name: str) -> Any:
    if name == "BOOK":
        value = importlib.import_module("procedures._registered").BOOK
    elif name == "APP":
        value = importlib.import_module("procedures._app").APP
    else:
        raise AttributeError(f"module 'procedures' has no attribute {name!r}")
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from procedures._app import APP
    from procedures._registered import BOOK
