"""The sandbox's one error: it could not start, or was asked for something it cannot do.

The sandbox imports nothing of the book; the book turns this error into its own where it starts the
sandbox (`procedures._sandbox`).
"""

from __future__ import annotations


class SandboxError(Exception):
    """The sandbox could not start, or was asked for something it cannot do; the message says what to do."""
