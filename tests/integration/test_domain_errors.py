"""One path for domain errors: each package's table gives the message and status, the shell's
one handler renders a domain error no view caught, and the transaction leaves nothing behind."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from markupsafe import escape
from sqlalchemy import func, select

from casework.messages import CASE_ERRORS
from casework.messages import ERRORS as CASEWORK_ERRORS
from casework.service import CaseError
from intake.messages import ERRORS as INTAKE_ERRORS
from intake.service import IntakeError, RegistrationRefused
from portal import accounts, audit, db, errors
from portal.access import public
from portal.auth_views import ACCOUNT_ERRORS
from portal.models import AuditEntry
from publicity.messages import ERRORS as PUBLICITY_ERRORS
from publicity.service import NotFound, PublicityError


def test_every_table_entry_has_a_message_and_an_http_error_status() -> None:
    for table in (ACCOUNT_ERRORS, CASEWORK_ERRORS, INTAKE_ERRORS, PUBLICITY_ERRORS):
        for kind, section in table.items():
            assert issubclass(kind, errors.DomainError), kind
            for code, (message, status) in section.items():
                assert 400 <= status < 600, (kind, code)
                assert message, (kind, code)


def test_messages_come_from_the_table_in_the_page_language(app: Flask) -> None:
    with app.test_request_context("/?lang=en"):
        assert errors.describe(CaseError("stale")) == (str(CASE_ERRORS["stale"][0]), 409)
        assert errors.describe(PublicityError("start-passed", day="2026-12-01"))[0] == (
            "The start date 2026-12-01 has passed. Edit the draft and choose a new start.")
        assert errors.describe(NotFound()) == ("No such notice or change.", 404)
        # A subclass's own section first; its fallback for a code it does not list.
        assert errors.describe(RegistrationRefused("queue-closed")) == (
            "Your queue cannot receive cases yet (no keys).", 409)
        assert errors.describe(RegistrationRefused("bad-category")) == (
            "This action could not be done.", 409)
        assert errors.describe(IntakeError("bad-category")) == (
            "Choose one of the categories on the form.", 400)
        assert errors.message_of(accounts.InvalidUsername("username-taken")) == (
            "This username is already taken.")
        # A code no table lists: the shell's general message, never a KeyError.
        assert errors.describe(errors.DomainError("no-such-code")) == (
            "The request could not be completed.", 400)
        english = errors.message_of(CaseError("stale"))
    with app.test_request_context("/"):  # Simplified Chinese first
        chinese = errors.message_of(CaseError("stale"))
        assert chinese == str(CASE_ERRORS["stale"][0]) != english


@pytest.mark.parametrize(("raise_", "status", "text"), [
    (lambda: CaseError("no-such-case"), 404, "No such case in your queue."),
    (lambda: CaseError("heads-only"), 403, "Only a head of the queue can do this."),
    (lambda: PublicityError("four-eyes"), 403, "A second editor must approve"),
])
def test_the_one_handler_renders_an_uncaught_domain_error_after_rolling_back(
        make_app: Callable[..., Flask], raise_: Callable[[], errors.DomainError], status: int,
        text: str) -> None:
    app = make_app()

    @app.route("/refused")
    @public
    def refused() -> str:
        session = db.session()
        with db.transaction(session):
            audit.record(session, audit.CLI, "test.half-written", "x")
            session.flush()
            raise raise_()

    with app.app_context():
        before = db.session().scalar(select(func.count()).select_from(AuditEntry))
    response = app.test_client().get("/refused?lang=en")
    assert response.status_code == status
    html = response.get_data(as_text=True)
    assert str(escape(text)) in html
    assert "Traceback" not in html
    with app.app_context():  # the service's transaction rolled back: nothing half-written
        assert db.session().scalar(select(func.count()).select_from(AuditEntry)) == before
