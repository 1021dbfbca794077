"""Regression tests from an adversarial review of casework: each failed before its fix."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from casework import keys, retention
from casework.models import Case, CaseDeadline, Category, Channel, Queue
from intake import service as intake
from portal import audit, clock, db
from tests.intake_support import csrf_of, open_reporter
from tests.integration.test_casework import (
    ANSWER,
    OBJECTION_DAY,
    S,
    Team,
    _object,
    _objections,
    _person,
    act,
    case_page,
    clocks,
    file_direct,
    login,
    make_team,
    notice_input,
    row,
    staff_of,
    text_of,
    urgency_follows_clocks,
    user_id,
)
from tests.integration.test_publicity import at, editors, publish  # noqa: F401


@pytest.fixture
def team(app, make_staff) -> Iterator[Team]:  # noqa: ANN001
    """Heads and handlers of both queues, all holding their queue's key (afterwards, every
    case's list urgency still follows its clocks)."""
    yield make_team(app, make_staff)
    urgency_follows_clocks(app)


def _signoff_on(app) -> None:  # noqa: ANN001
    with app.app_context():
        session = db.session()
        with db.transaction(session):
            session.execute(update(Queue).where(Queue.slug == "org")
                            .values(signoff_required=True))


def _token(client: FlaskClient) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                      text_of(client.get("/staff/cases/register")))
    assert match
    return match.group(1)


def test_a_withdrawn_case_cannot_be_signed_off_back_to_life(team: Team, publish) -> None:  # noqa: ANN001, F811, E501
    app = team.app
    notice_id = publish(notice_input(dt.date(2026, 11, 30)), approved_on=dt.date(2026, 11, 27))
    person = _person(app, notice_id)
    with at(OBJECTION_DAY):
        reporter, receipt, first = _object(team, notice_id, person, "OBJ-第一件异议，具体如下。")
        _r2, _receipt2, second = _object(team, notice_id, person, "OBJ-第二件异议，具体如下。")
        assert _objections(app, person)[0] == 2
        _signoff_on(app)
        head, head2 = login(app, team.head), login(app, team.head2)
        assert act(head, first, "refuse", reason="no-substance", answer=ANSWER).status_code == 303
        _status, page = open_reporter(reporter, receipt)
        assert reporter.post("/report/case/withdraw", data={
            "csrf_token": csrf_of(page), "confirm": "y"}).status_code == 303
        withdrawn = row(app, first)
        assert withdrawn.state == S.withdrawn
        assert withdrawn.pending_state is None
        assert _objections(app, person)[0] == 1
        assert act(head2, first, "signoff", decision="approve").status_code == 409
        assert row(app, first).state == S.withdrawn
        assert row(app, second).state == S.received
        assert _objections(app, person)[0] == 1  # the second objection still counts


def test_a_member_without_the_queue_key_can_neither_act_nor_search(
        team: Team, make_staff) -> None:  # noqa: ANN001
    app = team.app
    _r, no = file_direct(app, "selection", "王五", real=True)
    newbie = make_staff("newbie", "org_head")  # holds the role; no head granted the key
    client = login(app, newbie)
    listing = text_of(client.get("/staff/cases/?queue=org&name=王五"))
    assert no not in listing
    assert "fingerprint" in listing.lower() or "指纹" in listing
    assert "FACTS-" not in case_page(client, no)
    before = row(app, no)
    token = csrf_of(text_of(client.get("/staff/cases/register")))
    for action, prefix, fields in (("take", "plain", {}), ("accept", "accept",
                                                           {"disposition": "核查"})):
        data = {f"{prefix}-csrf_token": token, f"{prefix}-version": str(before.version),
                **{f"{prefix}-{k}": v for k, v in fields.items()}}
        assert client.post(f"/staff/cases/{no}/{action}", data=data).status_code == 403
    after = row(app, no)
    assert (after.state, after.assignee_id, after.version) == (
        before.state, before.assignee_id, before.version)


def test_a_revoked_head_can_no_longer_act(team: Team) -> None:
    app = team.app
    _r, no = file_direct(app, "selection", "王五")
    head, head2 = login(app, team.head), login(app, team.head2)
    with app.app_context():
        keys.revoke(db.session(), staff_of(app, head), "org", user_id(app, "orghead2"), "离职")
    assert act(head2, no, "assign", user=user_id(app, "orghandler")).status_code == 403
    assert row(app, no).assignee_id is None


@pytest.mark.parametrize("query", ["?assignee=%C2%B2", "?category=%C2%B2", "?after=%C2%B2.1"])
def test_odd_digits_in_list_filters_are_ignored(team: Team, query: str) -> None:
    assert login(team.app, team.org).get("/staff/cases/" + query).status_code == 200


def test_a_huge_handover_id_is_a_bad_request(team: Team) -> None:
    head = login(team.app, team.head)
    token = csrf_of(text_of(head.get("/staff/cases/")))
    response = head.post("/staff/cases/handover?queue=org", data={
        "csrf_token": token, "from_user": str(10**20),
        "to_user": str(user_id(team.app, "orghandler"))})
    assert response.status_code == 400


def test_a_nul_in_the_path_is_refused_before_any_query(team: Team) -> None:
    assert login(team.app, team.org).get("/staff/cases/2026-%0000001").status_code == 400


def test_a_reopened_case_needs_the_new_result_told_before_archiving(team: Team) -> None:
    app = team.app
    _r, no = file_direct(app, "selection", "王五", real=True)
    head = login(app, team.head)
    assert act(head, no, "accept", disposition="核查").status_code == 303
    assert act(head, no, "conclude", finding="unsubstantiated", answer=ANSWER).status_code == 303
    told = row(app, no).concluded_on
    assert told is not None
    assert act(head, no, "feedback", kind="result_notice", channel="phone",
               given_on=told.isoformat()).status_code == 303
    assert act(head, no, "reopen", reason="复查").status_code == 303
    assert act(head, no, "conclude", finding="substantiated", answer="NEW").status_code == 303
    assert act(head, no, "close").status_code == 409
    assert row(app, no).state == S.concluded


def test_a_sent_back_duplicate_loses_its_link(team: Team) -> None:
    app = team.app
    _r1, first = file_direct(app, "selection", "王五")
    _r2, second = file_direct(app, "selection", "王五")
    _signoff_on(app)
    head, head2 = login(app, team.head), login(app, team.head2)
    assert act(head, second, "duplicate", original=first, answer=ANSWER).status_code == 303
    assert act(head2, second, "signoff", decision="return").status_code == 303
    sent_back = row(app, second)
    assert sent_back.pending_state is None
    assert sent_back.state == S.received
    assert sent_back.duplicate_of_id is None


def test_the_next_page_link_keeps_only_the_lists_own_parameters(team: Team,
                                                                monkeypatch) -> None:  # noqa: ANN001
    from casework import queries

    monkeypatch.setattr(queries, "PAGE", 1)
    for name in ("人甲", "人乙"):
        file_direct(team.app, "selection", name)
    page = text_of(login(team.app, team.org).get(
        "/staff/cases/?state=received&_external=1&_scheme=javascript&_anchor=x"))
    link = re.search(r'<a href="([^"]*after=[^"]*)"', page)
    assert link
    assert link.group(1).startswith("/staff/cases/?")
    assert "javascript" not in link.group(1)
    assert "#" not in link.group(1)
    assert "state=received" in link.group(1)


def test_a_registration_submitted_twice_at_once_is_filed_once(team: Team, monkeypatch) -> None:  # noqa: ANN001
    app = team.app
    token = secrets.token_hex(16)
    with app.app_context():
        session = db.session()
        queue = session.scalar(select(Queue).where(Queue.slug == "org"))
        category = session.scalar(select(Category.id).where(Category.code == "selection"))
        assert queue is not None
        assert category is not None
        report = intake.ReportInput(category_id=category, facts="电话反映的情况。",
                                    channel=Channel.phone)
        intake.register_report(session, audit.CLI, queue, report, [], token, False)
        count = len(session.scalars(select(Case.id)).all())
        # The race: both requests pass the used-token check before either commits.
        monkeypatch.setattr(intake, "_already_filed", lambda _db, _token: None)
        with pytest.raises(intake.AlreadyFiled):
            intake.register_report(session, audit.CLI, queue, report, [], token, False)
        assert len(session.scalars(select(Case.id)).all()) == count


def test_a_purged_case_keeps_no_running_clock(team: Team) -> None:
    app = team.app
    _r, no = file_direct(app, "selection", "王五", real=True)
    head = login(app, team.head)
    assert act(head, no, "refuse", reason="no-substance", answer=ANSWER).status_code == 303
    assert clocks(app, no, "acceptance_notice")  # the real-name notice is still owed
    with app.app_context():
        session = db.session()
        assert retention.purge_expired(session, clock.today() + dt.timedelta(days=20 * 365))
        case = session.scalar(select(Case).where(Case.case_no == no))
        assert case is not None
        assert case.purged
        assert case.next_due_on is None
        assert not session.scalars(select(CaseDeadline).where(
            CaseDeadline.case_id == case.id, CaseDeadline.state == "open")).all()


def test_every_action_moves_the_version_so_a_repeated_form_is_stale(team: Team) -> None:
    app = team.app
    _r, no = file_direct(app, "selection", "王五", real=True)
    head = login(app, team.head)
    [notice] = clocks(app, no, "acceptance_notice")
    data = {"extend-csrf_token": _token(head), "extend-version": str(row(app, no).version),
            "extend-deadline": str(notice.id), "extend-days": "10", "extend-reason": "延期"}
    assert head.post(f"/staff/cases/{no}/extend", data=data).status_code == 303
    assert head.post(f"/staff/cases/{no}/extend", data=data).status_code == 409
    [notice] = clocks(app, no, "acceptance_notice")
    assert notice.extended_days == 10


def test_the_next_page_starts_after_a_case_without_a_running_clock(team: Team,
                                                                    monkeypatch) -> None:  # noqa: ANN001
    """Such a case's cursor carries the urgency NO_DUE, 2**31 - 1, ten digits: the next page
    starts after it (a nine-digit limit once sent the list back to its first page)."""
    from casework import queries

    app = team.app
    monkeypatch.setattr(queries, "PAGE", 1)
    numbers = [file_direct(app, "selection", name)[1] for name in ("人甲", "人乙", "人丙")]
    head = login(app, team.head)
    for no in numbers[:2]:
        assert act(head, no, "refuse", reason="no-substance", answer=ANSWER).status_code == 303
        assert row(app, no).next_due_on is None
    seen: list[str] = []
    url = "/staff/cases/?queue=org"
    while url and len(seen) < 5:
        page = text_of(head.get(url))
        seen += re.findall(r'<a href="/staff/cases/([\d-]+)">', page)
        link = re.search(r'<a href="([^"]*after=[^"]*)">', page)
        url = link.group(1).replace("&amp;", "&") if link else ""
    # The clock still running first, then the refused cases in the order they came.
    assert seen == [numbers[2], numbers[0], numbers[1]]
