"""Fixtures for the connection tests: a file-only store in the test's private home."""

from __future__ import annotations

from pathlib import Path

import pytest

from book.connections import ConnectionStore
from procedures import APP


@pytest.fixture
def store(home: Path) -> ConnectionStore:
    return ConnectionStore(home, app=APP, keyring=None)
