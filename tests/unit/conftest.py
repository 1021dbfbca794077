"""This tier runs on a pinned clock, once per clock that PORTAL_TEST_CLOCKS names
(tests/conftest.py: `pinned_clock`, `clock_names`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import time_machine
from flask import Flask
from flask_babel import Babel

from tests.conftest import clock_names, pinned_clock


@pytest.fixture(autouse=True, params=clock_names() if len(clock_names()) > 1 else None)
def _pinned_clock(request: pytest.FixtureRequest) -> Iterator[time_machine.Traveller]:
    """Every test of the tier: the clock starts at its clock's instant and runs."""
    yield from pinned_clock(request)


@pytest.fixture
def gettext_context() -> Iterator[None]:
    """A request context of a bare app with Babel, for code that translates its messages."""
    app = Flask(__name__)
    Babel(app)
    with app.test_request_context():
        yield
