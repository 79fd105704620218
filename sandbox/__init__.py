"""A local Twilio-compatible sandbox the official `twilio` SDK talks to over real HTTP.

    with open_sandbox(home) as sandbox:                      # or SandboxServer(db_path=...)
        client = Client(sandbox.account_sid, sandbox.auth_token,
                        http_client=BookHttpClient(sandbox.url))
        client.messages.create(to="+15558675310", from_="+15005550006", body="Hi")

Its account SID and auth token are created once per database file and kept by `reset()`.
"""

from __future__ import annotations

from sandbox.app import create_app
from sandbox.clock import Clock, ManualClock
from sandbox.records import AccountRecord, MessageRecord
from sandbox.server import SandboxServer, open_sandbox, sandbox_db_path, serve
from sandbox.store import MessageFilter, Store

__all__ = [
    "AccountRecord",
    "Clock",
    "ManualClock",
    "MessageFilter",
    "MessageRecord",
    "SandboxServer",
    "Store",
    "create_app",
    "open_sandbox",
    "sandbox_db_path",
    "serve",
]
