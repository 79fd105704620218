"""Triggers: watch Twilio's lists for new items, and take Twilio's webhooks safely.

    watch        poll a read procedure; hand each new item on exactly once (`book.triggers.watch`, `.cursor`)
    listen       an ASGI webhook server: signed requests only, retries handed on once, calls answered with
                 TwiML (`book.triggers.listen`, `.signature`, `.idempotency`, `.twiml`)
    automations  compiled with `the event` / `the message` bound before their first line (`.automation`)

The command-line surface (`add_trigger_commands`, `add_sandbox_receive_arguments`, `cmd_sandbox_receive`)
loads only the standard library; every other name is imported when first used.
"""

from __future__ import annotations

import importlib
from typing import Any

from book.triggers.cli import add_sandbox_receive_arguments, add_trigger_commands, cmd_sandbox_receive

_LAZY = {
    "Answers": "book.triggers.twiml",
    "CallAnswer": "book.triggers.twiml",
    "Cursor": "book.triggers.cursor",
    "CursorFile": "book.triggers.cursor",
    "ENDPOINTS": "book.triggers.listen",
    "Handoff": "book.triggers.listen",
    "KINDS": "book.triggers.listen",
    "ListenerServer": "book.triggers.listen",
    "MessageAnswer": "book.triggers.twiml",
    "SeenTokens": "book.triggers.idempotency",
    "SignatureCheck": "book.triggers.signature",
    "Watchable": "book.triggers.watch",
    "Watcher": "book.triggers.watch",
    "compile_for_kinds": "book.triggers.listen",
    "compile_with_facts": "book.triggers.automation",
    "create_listener_app": "book.triggers.listen",
    "load_answers": "book.triggers.twiml",
    "sign": "book.triggers.signature",
}

__all__ = ["add_sandbox_receive_arguments", "add_trigger_commands", "cmd_sandbox_receive", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'book.triggers' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
