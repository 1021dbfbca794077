"""This tier runs on a pinned clock (tests/conftest.py, `pinned_clock`)."""

from __future__ import annotations

import pytest
import time_machine


@pytest.fixture(autouse=True)
def _pinned_clock(pinned_clock: time_machine.Traveller) -> None:
    """Every test of the tier: the clock starts at PORTAL_TEST_NOW (or the default day)."""
