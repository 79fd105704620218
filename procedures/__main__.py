"""`python -m procedures ...`: the same as `twilio-book ...` (`python -m procedures mcp --sandbox`)."""

from __future__ import annotations

import sys

from procedures.cli import main

sys.exit(main())
