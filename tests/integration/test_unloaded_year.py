"""From the first working day of a year whose holiday schedule is not loaded, the portal keeps
working: the demo loads and says honestly what waits for the schedule, public pages answer,
case deadlines in that year are provisional, and a notice's period is refused, not guessed."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from casework.models import Case, CaseState
from portal import accounts, audit, clock, db, workdays
from portal.models import StaffUser
from publicity import service
from tests.clock_scenarios import scenarios
from tests.conftest import AuthActions, StaffMember

NEW_YEAR = scenarios()["new-year"]


@pytest.mark.clock(NEW_YEAR.isoformat())
def test_the_demo_and_public_pages_work_in_a_year_not_loaded(app: Flask,
                                                             runner: FlaskCliRunner) -> None:
    year = NEW_YEAR.year
    with app.app_context():
        assert clock.today() == NEW_YEAR.date()
        assert not workdays.load_calendar(db.session()).is_loaded(year)

    result = runner.invoke(args=["portal", "demo"])
    assert result.exit_code == 0, result.output
    assert "no open notice" in result.output
    waiting = re.search(rf"draft #(\d+) \(.*editor2 can approve it once the {year} holiday "
                        r"schedule is imported", result.output)
    assert waiting, result.output
    assert f"deadlines in {year} are provisional" in result.output

    with app.app_context():
        session = db.session()
        editor2 = audit.Actor("editor2", session.scalar(
            select(StaffUser.id).where(StaffUser.username == "editor2")))
        with pytest.raises(service.PublicityError) as refused:
            service.approve_notice(session, int(waiting.group(1)), editor2, clock.today())
        assert refused.value.code == "year-not-loaded"
        cases = session.scalars(select(Case)).all()
        assert {c.state for c in cases} == set(CaseState)
        due_this_year = [c for c in cases if c.next_due_on and c.next_due_on.year == year]
        assert due_this_year
        assert all(c.next_due_provisional for c in due_this_year)

    public = app.test_client()
    for path in ("/", "/notices", "/notices/archive", f"/notices/archive?year={year}",
                 "/notices/feed.atom", "/api/notices", "/report", "/report/safety",
                 "/report/check"):
        assert public.get(path).status_code == 200, path

    staff = app.test_client()
    code = runner.invoke(args=["staff", "code", "orghandler"]).output.strip()
    member = StaffMember("orghandler", ("org_handler",), "", accounts.DEMO_PASSPHRASE)
    assert AuthActions(staff).login(member, code=code).status_code == 303
    page = staff.get("/staff/cases/").get_data(as_text=True)
    assert 'class="badge provisional"' in page
