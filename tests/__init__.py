"""The tests, mirroring the packages: `book/` (the runtime, with a test book of notes), `grammar/`,
`procedures/` (the Twilio book against the sandbox), `sandbox/` (the emulator on its own)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
"""The project's folder."""
