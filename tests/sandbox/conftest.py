"""The sandbox's own tests see its clock stopped at 2022-03-01 15:00:00 GMT, moved only when a test says."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _stopped(request: pytest.FixtureRequest) -> None:
    request.getfixturevalue("clock")
