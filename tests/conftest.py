"""Fixtures every test shares."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private book home; no test sees the developer's TWILIO_* variables, home folder or keyring."""
    for var in list(os.environ):
        if var.startswith("TWILIO_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("TWILIO_BOOK_KEYRING", "0")
    path = tmp_path / "home"
    monkeypatch.setenv("TWILIO_BOOK_HOME", str(path))
    return path
