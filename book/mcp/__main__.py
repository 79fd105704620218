"""`python -m book.mcp`: serve the Twilio book over MCP (the same as `twilio-book mcp`)."""

from __future__ import annotations

import sys

from book.mcp.command import main

sys.exit(main())
