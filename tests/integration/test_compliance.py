"""Appointment compliance end to end, on SQLite and PostgreSQL: approval blocked by the rules
and unblocked by a fixed record or the organization department head's override, the history
rules across published batches, saving the record, the import, and nothing half-written.

Messages are compared as the product renders them in the app's context (default language).
Notices start on 2026-11-30 and are approved "today" 2026-11-27; the decision meetings they
record may lie on any day of the test term, which is what the history rules read.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskCliRunner
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal import audit, db
from portal.models import AuditEntry, StaffRole
from publicity import service
from publicity.compliance import rules
from publicity.compliance import service as compliance
from publicity.compliance.models import (
    AppointmentTerm,
    ComplianceNominee,
    ComplianceOverride,
    ComplianceRecord,
)
from publicity.compliance.service import ComplianceError
from publicity.compliance.validation import FIELD_LABELS, NomineeInput, describe
from publicity.models import Notice, NoticePerson, PublicityRevision
from publicity.validation import FieldError, PersonInput
from tests.compliance_support import (
    TERM,
    TERM_SPAN,
    clean_record,
    ensure_term,
    nominee,
    record_clean,
)
from tests.conftest import StaffMember
from tests.integration.test_publicity import (
    actor,
    at,
    editor_client,
    notice_input,
    person,
    post_form,
)
from tests.integration.test_publicity import editors as editors  # noqa: F401

D = dt.date.fromisoformat
TODAY = D("2026-11-27")  # approvals happen before the requested start, 2026-11-30
Editors = tuple[StaffMember, StaffMember]


# --- helpers ---------------------------------------------------------------------------------

def people(*cadre_ids: str) -> tuple[PersonInput, ...]:
    return tuple(person(f"干部{c}", cadre_id=c) for c in cadre_ids)


def draft(app: Flask, author: StaffMember, *cadre_ids: str, **changes: object) -> int:
    """A draft by `author` publishing one person per cadre id."""
    data = notice_input(dt.date(2026, 11, 30), *people(*(cadre_ids or ("C-1",))), **changes)
    with app.app_context():
        return service.create_draft(db.session(), data, actor(app, author)).id


def record(app: Flask, notice_id: int, by: StaffMember, meeting: str | None = None,
           **changes: object) -> None:
    """A clean record of the draft by `by`, changed as told."""
    with app.app_context():
        record_clean(db.session(), notice_id, actor(app, by),
                     D(meeting) if meeting else None, **changes)


def approve(app: Flask, notice_id: int, by: StaffMember, version: int | None = None) -> None:
    with app.app_context():
        service.approve_notice(db.session(), notice_id, actor(app, by), TODAY, version)


def refusal(app: Flask, notice_id: int, by: StaffMember) -> list[str]:
    """The problems that refuse the approval (which must be refused by compliance)."""
    with app.app_context(), pytest.raises(service.PublicityError) as exc:
        service.approve_notice(db.session(), notice_id, actor(app, by), TODAY)
    assert exc.value.code == "compliance"
    problems = exc.value.params["problems"]
    assert isinstance(problems, list)
    assert problems
    return [str(p) for p in problems]


def broken(app: Flask, notice_id: int) -> list[int]:
    """The numbers of the rules the notice's record breaks (overridden or not)."""
    with app.app_context():
        session = db.session()
        check = compliance.check(session, session.get_one(Notice, notice_id))
    return [r.rule.number for r in check.results if not r.passed]


def publish_batch(app: Flask, editors: Editors, *cadre_ids: str, meeting: str,
                  **changes: object) -> int:
    """A published batch: drafted and recorded by ed1, approved by ed2."""
    notice_id = draft(app, editors[0], *cadre_ids)
    record(app, notice_id, editors[0], meeting, **changes)
    approve(app, notice_id, editors[1])
    assert status(app, notice_id) == "approved"
    return notice_id


def status(app: Flask, notice_id: int) -> str:
    with app.app_context():
        return str(db.session().get_one(Notice, notice_id).status)


def version(app: Flask, notice_id: int) -> int:
    with app.app_context():
        return db.session().get_one(Notice, notice_id).version


def published(cadre_id: str, **changes: object) -> NomineeInput:
    """The nominee of a published person made by `people`."""
    return nominee(cadre_id, f"干部{cadre_id}", **changes)


def in_app(app: Flask, text: str, **params: object) -> str:
    with app.app_context():
        return _(text, **params)


def count(session: Session, model: type[Any]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def audit_entries(app: Flask, action: str) -> list[tuple[str, str, dict[str, Any]]]:
    with app.app_context():
        rows = db.session().execute(
            select(AuditEntry.actor, AuditEntry.target, AuditEntry.details)
            .where(AuditEntry.action == action).order_by(AuditEntry.seq)).all()
    return [(who, target, json.loads(details)) for who, target, details in rows]


@pytest.fixture
def head(app: Flask, make_staff: Callable[..., StaffMember]) -> StaffMember:
    return make_staff("orghead", "org_head")


# --- (a) blocked, then unblocked by fixing the record --------------------------------------------

def test_blocked_at_approval_until_the_record_is_fixed(app: Flask, editors: Editors) -> None:
    ed1, ed2 = editors
    notice_id = draft(app, ed1, "C-1")
    # A typo in the attendance: 5 of 9 present, below two thirds.
    record(app, notice_id, ed1, members_in_office=9, members_present=5)
    assert broken(app, notice_id) == [1]
    [problem] = refusal(app, notice_id, ed2)
    with app.app_context():
        session = db.session()
        assert compliance.check(session, session.get_one(Notice, notice_id)).blocking == [
            problem]
    assert status(app, notice_id) == "draft"

    with at(TODAY):
        client = editor_client(app, ed2)
        page = f"/staff/publicity/{notice_id}"
        refused = post_form(client, f"{page}/approve", page,
                            {"version": str(version(app, notice_id))})
        assert refused.status_code == 303
        assert status(app, notice_id) == "draft"
        shown = html.unescape(client.get(page).get_data(as_text=True))
        assert problem in shown
        seen = version(app, notice_id)
        # The organization department corrects the record: 7 of 9 were present.
        with app.app_context():
            session = db.session()
            notice = session.get_one(Notice, notice_id)
            compliance.save_record(session, notice_id, clean_record(
                notice, members_in_office=9, members_present=7), actor(app, ed1), seen)
        assert broken(app, notice_id) == []
        # The version reviewed before the correction is stale: the record is part of the draft.
        stale = post_form(client, f"{page}/approve", page, {"version": str(seen)})
        assert stale.status_code == 303
        assert status(app, notice_id) == "draft"
        approved = post_form(client, f"{page}/approve", page,
                             {"version": str(version(app, notice_id))})
        assert approved.status_code == 303
    assert status(app, notice_id) == "approved"


def test_a_draft_without_a_record_is_blocked(app: Flask, editors: Editors) -> None:
    notice_id = draft(app, editors[0], "C-1")
    assert refusal(app, notice_id, editors[1]) == [in_app(
        app, "No compliance record: the organization department records the batch's process "
        "facts before approval.")]
    assert status(app, notice_id) == "draft"


# --- (b) the organization department head's override -------------------------------------------

REASON = "县委常委会因抗洪抢险缺席两人，经请示州委组织部同意后研究。"


def test_an_override_by_the_org_head_unblocks_one_rule(
    app: Flask, editors: Editors, head: StaffMember, make_staff: Callable[..., StaffMember]
) -> None:
    ed1, ed2 = editors
    admin = make_staff("adminonly", "admin")
    notice_id = draft(app, ed1, "C-1")
    record(app, notice_id, ed1, members_in_office=9, members_present=5)
    refusal(app, notice_id, ed2)
    reviewed = version(app, notice_id)

    def override(by: StaffMember, rule: int, reason: str) -> str:
        with app.app_context(), pytest.raises(ComplianceError) as exc:
            compliance.override(db.session(), notice_id, rule, reason, actor(app, by))
        return exc.value.code

    assert override(admin, 1, REASON) == "not-org-head"
    assert override(ed2, 1, REASON) == "not-org-head"
    assert override(head, 1, "  太短的理由，九个字  ") == "reason-required"  # 9 characters
    assert override(head, 1, "") == "reason-required"
    assert override(head, 2, REASON) == "rule-passes"
    assert override(head, 11, REASON) == "not-found"
    with app.app_context():
        assert count(db.session(), ComplianceOverride) == 0
    assert audit_entries(app, "compliance.override") == []
    assert version(app, notice_id) == reviewed
    refusal(app, notice_id, ed2)

    with app.app_context():
        compliance.override(db.session(), notice_id, 1, f"  {REASON}  ", actor(app, head))
    assert override(head, 1, REASON) == "already-overridden"
    [(who, target, details)] = audit_entries(app, "compliance.override")
    assert (who, target) == ("orghead", f"notice:{notice_id}")
    assert (details["rule"], details["status"], details["reason"]) == (1, "violation", REASON)
    assert details["facts"]
    with app.app_context():
        [row] = db.session().scalars(select(ComplianceOverride)).all()
        assert (row.notice_id, row.rule, row.reason, row.by_name) == (notice_id, 1, REASON,
                                                                    "orghead")
        assert not row.applied
    # The rule still says it is broken; it no longer blocks.
    assert broken(app, notice_id) == [1]
    # An override changes what the approver reviews.
    with app.app_context(), pytest.raises(service.PublicityError) as exc:
        service.approve_notice(db.session(), notice_id, actor(app, ed2), TODAY, reviewed)
    assert exc.value.code == "stale"
    approve(app, notice_id, ed2, version(app, notice_id))
    assert status(app, notice_id) == "approved"
    assert [o.applied for o in overrides(app)] == [True]
    assert override(head, 2, REASON) == "not-a-draft"


def test_an_override_sets_aside_only_its_own_rule(app: Flask, editors: Editors,
                                                  head: StaffMember) -> None:
    ed1, ed2 = editors
    notice_id = draft(app, ed1, "C-1")
    record(app, notice_id, ed1, members_in_office=9, members_present=5, nominees=(
        published("C-1", vote_share_bp=4000),))
    assert broken(app, notice_id) == [1, 2]
    assert len(refusal(app, notice_id, ed2)) == 2
    with app.app_context():
        compliance.override(db.session(), notice_id, 1, REASON, actor(app, head))
    [problem] = refusal(app, notice_id, ed2)
    assert "C-1" in problem
    assert status(app, notice_id) == "draft"


def overrides(app: Flask) -> list[ComplianceOverride]:
    """Every override stored, oldest first."""
    with app.app_context():
        session = db.session()
        rows = list(session.scalars(select(ComplianceOverride).order_by(ComplianceOverride.id)))
        session.expunge_all()
    return rows


def in_force(app: Flask, notice_id: int) -> tuple[list[int], list[int]]:
    """The ids of the notice's overrides in force, and of those lapsed."""
    with app.app_context():
        session = db.session()
        check = compliance.check(session, session.get_one(Notice, notice_id))
        return [o.id for o in check.overrides.values()], [o.id for o in check.lapsed]


def facts(app: Flask, notice_id: int, rule: int) -> tuple[str, ...]:
    """Rule `rule`'s facts on the notice, as the product renders them."""
    with app.app_context():
        session = db.session()
        check = compliance.check(session, session.get_one(Notice, notice_id))
        return tuple(str(f) for f in check.results[rule - 1].facts)


def override_by(app: Flask, notice_id: int, rule: int, by: StaffMember,
                reason: str = REASON, version: int | None = None) -> int:
    with app.app_context():
        return compliance.override(db.session(), notice_id, rule, reason, actor(app, by),
                                   version).id


def override_refused(app: Flask, notice_id: int, rule: int, by: StaffMember,
                     reason: str = REASON, version: int | None = None) -> str:
    with app.app_context(), pytest.raises(ComplianceError) as exc:
        compliance.override(db.session(), notice_id, rule, reason, actor(app, by), version)
    return exc.value.code


def test_an_override_lapses_when_the_record_changes(app: Flask, editors: Editors,
                                                    head: StaffMember) -> None:
    """An override covers the verdict it saw: the same facts saved again keep it in force; a
    changed verdict lapses it (kept, for the supervisors, but no longer in force), and the rule
    blocks again until a new override."""
    ed1, ed2 = editors
    notice_id = draft(app, ed1, "C-1")
    record(app, notice_id, ed1, members_in_office=9, members_present=5)
    first = override_by(app, notice_id, 1, head)
    assert in_force(app, notice_id) == ([first], [])
    # The same facts saved again: still in force, nothing blocks.
    record(app, notice_id, ed1, members_in_office=9, members_present=5)
    assert in_force(app, notice_id) == ([first], [])
    with app.app_context():
        session = db.session()
        assert compliance.check(session, session.get_one(Notice, notice_id)).blocking == []
    # Other facts: the verdict changed (1 of 9 present), the override lapsed.
    record(app, notice_id, ed1, members_in_office=9, members_present=1)
    assert broken(app, notice_id) == [1]
    assert in_force(app, notice_id) == ([], [first])
    [problem] = refusal(app, notice_id, ed2)
    assert facts(app, notice_id, 1)[0] in problem
    assert in_app(app, "%(body)s: %(present)s of %(n)s members present (%(share)s); at least "
                  "%(least)s required.", body=in_app(app, "Standing committee (常委会)"),
                  present=1, n=9, share="11.1%", least="2/3") == facts(app, notice_id, 1)[0]
    assert [o.id for o in overrides(app)] == [first]  # kept, not deleted
    assert "overrides_dropped" not in audit_entries(app, "compliance.recorded")[-1][2]
    # A lapsed override does not count as overridden: the head may override again.
    second = override_by(app, notice_id, 1, head)
    assert in_force(app, notice_id) == ([second], [first])
    approve(app, notice_id, ed2)
    assert status(app, notice_id) == "approved"
    assert [(o.id, o.applied) for o in overrides(app)] == [(first, False), (second, True)]


def test_an_override_lapses_when_the_history_changes(app: Flask, editors: Editors,
                                                     head: StaffMember) -> None:
    """Rule 5 overridden for a third batch adjustment; another batch adjustment published
    since makes it the fourth: the verdict the head saw is no longer the one in force."""
    ed1, ed2 = editors
    publish_batch(app, editors, "B-1", meeting="2025-03-01", batch_kind="batch")
    publish_batch(app, editors, "B-2", meeting="2025-06-01", batch_kind="batch")
    third = draft(app, ed1, "B-3")
    record(app, third, ed1, "2025-09-01", batch_kind="batch")
    assert broken(app, third) == [5]
    lapsing = override_by(app, third, 5, head)
    assert in_force(app, third) == ([lapsing], [])
    # Another batch adjustment, overridden in its turn, is published first.
    other = draft(app, ed1, "B-4")
    record(app, other, ed1, "2025-08-01", batch_kind="batch")
    kept = override_by(app, other, 5, head)
    approve(app, other, ed2)
    assert status(app, other) == "approved"
    assert in_force(app, third) == ([], [lapsing])
    [problem] = refusal(app, third, ed2)
    assert in_app(app, "Batch adjustment %(n)s of term %(term)s; at most %(limit)s per term.",
                  n=4, term=TERM, limit=2) in problem
    assert status(app, third) == "draft"
    assert [(o.id, o.applied) for o in overrides(app)] == [(lapsing, False), (kept, True)]


def test_an_override_lapses_when_a_threshold_changes(app: Flask, editors: Editors,
                                                     head: StaffMember) -> None:
    ed1, ed2 = editors
    notice_id = draft(app, ed1, "C-1")
    record(app, notice_id, ed1, members_in_office=9, members_present=5)
    row = override_by(app, notice_id, 1, head)

    def set_threshold(key: str, value: str) -> None:
        with app.app_context():
            session = db.session()
            current = compliance.settings(session)
            compliance.save_settings(session, {**current.thresholds.text, key: value},
                                     current.show_attendance, audit.CLI)

    # A threshold of another rule: rule 1's verdict is unchanged, the override holds.
    set_threshold("vote_share", "60%")
    assert in_force(app, notice_id) == ([row], [])
    # The administrator raises the attendance required: the head answered another verdict.
    set_threshold("attendance", "3/4")
    assert in_force(app, notice_id) == ([], [row])
    [problem] = refusal(app, notice_id, ed2)
    assert "3/4" in problem
    # Back to the plan's value: the very verdict the head saw, in force again.
    set_threshold("attendance", "2/3")
    assert in_force(app, notice_id) == ([row], [])
    approve(app, notice_id, ed2)
    assert [o.applied for o in overrides(app)] == [True]


def test_an_administrator_cannot_override_even_as_org_head(
    app: Flask, editors: Editors, make_staff: Callable[..., StaffMember]
) -> None:
    ed1, ed2 = editors
    # Such an account can no longer be made (#21.3), but one made before that change keeps
    # its roles until an administrator removes them: the service still refuses it.
    both = make_staff("adminhead", "org_head")
    with app.app_context():
        session = db.session()
        session.add(StaffRole(user_id=actor(app, both).id, role="admin"))
        session.commit()
    notice_id = draft(app, ed1, "C-1")
    record(app, notice_id, ed1, members_in_office=9, members_present=5)
    reviewed = version(app, notice_id)
    assert override_refused(app, notice_id, 1, both) == "not-org-head"
    assert override_refused(app, notice_id, 1, both, version=reviewed) == "not-org-head"
    assert overrides(app) == []
    assert audit_entries(app, "compliance.override") == []
    assert version(app, notice_id) == reviewed
    refusal(app, notice_id, ed2)


def test_an_override_of_a_stale_version_is_refused(app: Flask, editors: Editors,
                                                   head: StaffMember) -> None:
    ed1, ed2 = editors
    notice_id = draft(app, ed1, "C-1")
    record(app, notice_id, ed1, members_in_office=9, members_present=5)
    seen = version(app, notice_id)
    # The record is saved again after the head opened the page (still 5 of 9).
    record(app, notice_id, ed1, members_in_office=9, members_present=5)
    assert version(app, notice_id) != seen
    assert override_refused(app, notice_id, 1, head, version=seen) == "stale"
    assert override_refused(app, notice_id, 1, head, version=-1) == "stale"
    assert overrides(app) == []
    assert audit_entries(app, "compliance.override") == []
    with app.app_context():
        assert actor(app, head).id not in db.session().get_one(Notice, notice_id).editors
    override_by(app, notice_id, 1, head, version=version(app, notice_id))
    approve(app, notice_id, ed2)
    assert status(app, notice_id) == "approved"


def test_an_override_reason_has_a_maximum_length(app: Flask, editors: Editors,
                                                 head: StaffMember) -> None:
    notice_id = draft(app, editors[0], "C-1")
    record(app, notice_id, editors[0], members_in_office=9, members_present=5)
    too_long = "理" * (compliance.MAX_REASON + 1)
    assert override_refused(app, notice_id, 1, head, too_long) == "reason-too-long"
    assert overrides(app) == []
    longest = "理" * compliance.MAX_REASON
    override_by(app, notice_id, 1, head, f"  {longest}  ")
    assert [o.reason for o in overrides(app)] == [longest]


def test_a_head_who_overrode_may_not_approve(
    app: Flask, editors: Editors, make_staff: Callable[..., StaffMember]
) -> None:
    """Four eyes: the override is part of the draft, so its author is one of the authors."""
    ed1, ed2 = editors
    head_editor = make_staff("headeditor", "org_head", "publicity_editor")
    notice_id = draft(app, ed1, "C-1")
    record(app, notice_id, ed1, members_in_office=9, members_present=5)
    override_by(app, notice_id, 1, head_editor)
    with app.app_context():
        assert actor(app, head_editor).id in db.session().get_one(Notice, notice_id).editors
    with app.app_context(), pytest.raises(service.PublicityError) as exc:
        service.approve_notice(db.session(), notice_id, actor(app, head_editor), TODAY,
                               version(app, notice_id))
    assert exc.value.code == "four-eyes"
    assert status(app, notice_id) == "draft"
    assert [o.applied for o in overrides(app)] == [False]
    approve(app, notice_id, ed2)
    assert status(app, notice_id) == "approved"


def test_an_override_needs_a_record(app: Flask, editors: Editors, head: StaffMember) -> None:
    notice_id = draft(app, editors[0], "C-1")
    with app.app_context(), pytest.raises(ComplianceError) as exc:
        compliance.override(db.session(), notice_id, 1, REASON, actor(app, head))
    assert exc.value.code == "no-record"


# --- (c) history rules across batches ----------------------------------------------------------

@pytest.mark.parametrize(("inspection", "decision"), [("failed", "not_submitted"),
                                                      ("passed", "rejected")])
def test_rule_3_a_failed_nominee_is_not_renominated_within_a_year(
    app: Flask, editors: Editors, inspection: str, decision: str
) -> None:
    ed1, ed2 = editors
    earlier = publish_batch(app, editors, "A-1", meeting="2025-01-10", nominees=(
        published("A-1"), nominee("X-1", "落选者", inspection=inspection, decision=decision)))
    notice_id = draft(app, ed1, "X-1")
    record(app, notice_id, ed1, "2025-12-10")  # eleven months later
    assert broken(app, notice_id) == [3]
    [problem] = refusal(app, notice_id, ed2)
    assert str(earlier) in problem
    assert "2026-01-10" in problem  # the day from which X-1 may be nominated again
    record(app, notice_id, ed1, "2026-01-09")  # twelve months minus one day
    assert broken(app, notice_id) == [3]
    record(app, notice_id, ed1, "2026-01-10")  # twelve months later
    assert broken(app, notice_id) == []
    approve(app, notice_id, ed2)
    assert status(app, notice_id) == "approved"


def test_rule_3_a_withdrawn_notice_still_counts(app: Flask, editors: Editors) -> None:
    ed1, ed2 = editors
    earlier = publish_batch(app, editors, "A-1", meeting="2025-01-10", nominees=(
        published("A-1"), nominee("X-1", "落选者", inspection="failed",
                                  decision="not_submitted")))
    with app.app_context():
        change = service.propose_withdrawal(db.session(), earlier, "人选另行研究。",
                                            actor(app, ed1))
        service.approve_change(db.session(), change.id, actor(app, ed2), TODAY)
    assert status(app, earlier) == "withdrawn"
    notice_id = draft(app, ed1, "X-1")
    record(app, notice_id, ed1, "2025-12-10")
    assert broken(app, notice_id) == [3]
    refusal(app, notice_id, ed2)


def test_drafts_count_for_nothing(app: Flask, editors: Editors) -> None:
    ed1, ed2 = editors
    # A draft in which X-1 failed, and two draft batch adjustments: none was approved.
    failing = draft(app, ed1, "A-1")
    record(app, failing, ed1, "2025-01-10", nominees=(
        published("A-1"), nominee("X-1", "落选者", inspection="failed",
                                  decision="not_submitted")))
    batches = [draft(app, ed1, cadre_id) for cadre_id in ("B-1", "B-2")]
    for batch in batches:
        record(app, batch, ed1, "2025-03-01", batch_kind="batch")
    notice_id = draft(app, ed1, "X-1")
    record(app, notice_id, ed1, "2025-12-10", batch_kind="batch")
    assert history(app, notice_id).failures == ()
    assert history(app, notice_id).batches_before == 0
    assert broken(app, notice_id) == []
    approve(app, notice_id, ed2)
    assert status(app, notice_id) == "approved"
    # Once published, it counts for the drafts: one batch adjustment used of two.
    assert history(app, batches[0]).batches_before == 1
    assert broken(app, batches[0]) == []
    approve(app, batches[0], ed2)
    assert broken(app, batches[1]) == [5]


def history(app: Flask, notice_id: int) -> rules.History:
    """What the published batches other than this one say, for this notice's record."""
    with app.app_context():
        session = db.session()
        stored = session.get_one(ComplianceRecord, notice_id)
        term = session.get_one(AppointmentTerm, stored.term_id)
        return compliance.history(session, notice_id, compliance.as_input(stored, TERM), term)


def test_rule_5_at_most_two_batch_adjustments_in_a_term(app: Flask, editors: Editors) -> None:
    ed1, ed2 = editors
    publish_batch(app, editors, "B-1", meeting="2025-03-01", batch_kind="batch")
    second = draft(app, ed1, "B-2")
    record(app, second, ed1, "2026-06-01", batch_kind="batch")
    assert broken(app, second) == []
    approve(app, second, ed2)
    third = draft(app, ed1, "B-3")
    record(app, third, ed1, "2027-03-01", batch_kind="batch")
    assert broken(app, third) == [5]
    [problem] = refusal(app, third, ed2)
    assert TERM in problem
    # A partial decision is not a batch adjustment.
    record(app, third, ed1, "2027-03-01", batch_kind="partial")
    assert broken(app, third) == []
    approve(app, third, ed2)


def test_rule_5_at_most_five_partial_decisions_in_a_year(app: Flask, editors: Editors) -> None:
    ed1, ed2 = editors
    for month in range(1, 6):
        publish_batch(app, editors, f"P-{month}", meeting=f"2025-0{month}-15")
    # A batch adjustment in the same year is not a partial decision.
    publish_batch(app, editors, "B-1", meeting="2025-06-15", batch_kind="batch")
    sixth = draft(app, ed1, "P-6")
    record(app, sixth, ed1, "2025-12-31")
    assert broken(app, sixth) == [5]
    [problem] = refusal(app, sixth, ed2)
    assert "2025" in problem
    record(app, sixth, ed1, "2026-01-01")  # the next calendar year
    assert broken(app, sixth) == []
    approve(app, sixth, ed2)
    assert status(app, sixth) == "approved"


def test_rule_6_at_most_half_of_the_terms_posts_adjusted(app: Flask, editors: Editors) -> None:
    ed1, ed2 = editors
    with app.app_context():  # a small term: 6 leadership posts, so at most 3 adjusted
        compliance.save_term(db.session(), None, TERM, *TERM_SPAN, 6, audit.CLI)
    publish_batch(app, editors, "A-1", "A-2", meeting="2025-01-10")
    two_more = draft(app, ed1, "B-1", "B-2")
    record(app, two_more, ed1, "2025-02-10")
    assert broken(app, two_more) == [6]
    refusal(app, two_more, ed2)
    one_more = draft(app, ed1, "C-1")
    record(app, one_more, ed1, "2025-02-10", nominees=(
        published("C-1"), nominee("N-1", decision="deferred"),
        nominee("N-2", decision="rejected")))
    assert broken(app, one_more) == []  # exactly half: 3 of 6
    approve(app, one_more, ed2)
    assert broken(app, two_more) == [6]
    another = draft(app, ed1, "D-1")
    record(app, another, ed1, "2025-03-10")
    assert broken(app, another) == [6]
    refusal(app, another, ed2)


# --- (d) saving the record ----------------------------------------------------------------------

def test_only_a_drafts_record_is_saved(app: Flask, editors: Editors) -> None:
    notice_id = publish_batch(app, editors, "C-1", meeting="2025-01-10")
    with app.app_context():
        session = db.session()
        before = compliance.as_input(session.get_one(ComplianceRecord, notice_id), TERM)
        with pytest.raises(ComplianceError) as exc:
            compliance.save_record(session, notice_id, clean_record(
                session.get_one(Notice, notice_id), members_present=6), actor(app, editors[0]))
        assert exc.value.code == "not-a-draft"
        session.expire_all()
        after = compliance.as_input(session.get_one(ComplianceRecord, notice_id), TERM)
        assert after == before
        with pytest.raises(ComplianceError) as exc:
            compliance.save_record(session, 999_999, before, actor(app, editors[0]))
        assert exc.value.code == "not-found"


def test_the_saver_of_the_record_becomes_an_author(
    app: Flask, editors: Editors, make_staff: Callable[..., StaffMember]
) -> None:
    ed1, ed2 = editors
    ed3 = make_staff("ed3", "publicity_editor")
    notice_id = draft(app, ed1, "C-1")
    record(app, notice_id, ed2)
    with app.app_context():
        editors_of = db.session().get_one(Notice, notice_id).editors
    assert editors_of == [actor(app, ed1).id, actor(app, ed2).id]
    with app.app_context(), pytest.raises(service.PublicityError) as exc:
        service.approve_notice(db.session(), notice_id, actor(app, ed2), TODAY)
    assert exc.value.code == "four-eyes"
    record(app, notice_id, ed2)  # saving again does not list the saver twice
    with app.app_context():
        assert db.session().get_one(Notice, notice_id).editors == editors_of
    approve(app, notice_id, ed3)
    assert status(app, notice_id) == "approved"
    [(who, target, details)] = audit_entries(app, "compliance.recorded")[:1]
    assert (who, target, details["nominees"]) == ("ed2", f"notice:{notice_id}", 1)


def test_a_stale_record_is_refused_and_nothing_stored(app: Flask, editors: Editors) -> None:
    ed1, ed2 = editors
    notice_id = draft(app, ed1, "C-1")
    seen = version(app, notice_id)
    with app.app_context():
        session = db.session()
        ensure_term(session)
        service.update_draft(session, notice_id, notice_input(
            dt.date(2026, 11, 30), *people("C-1"), title="改过的标题"), actor(app, ed1), seen)
        with pytest.raises(ComplianceError) as exc:
            compliance.save_record(session, notice_id, clean_record(
                session.get_one(Notice, notice_id)), actor(app, ed2), seen)
        assert exc.value.code == "stale"
        assert session.get(ComplianceRecord, notice_id) is None
        assert actor(app, ed2).id not in session.get_one(Notice, notice_id).editors
    assert audit_entries(app, "compliance.recorded") == []


def test_saving_the_record_makes_the_reviewed_version_stale(app: Flask,
                                                            editors: Editors) -> None:
    ed1, ed2 = editors
    notice_id = draft(app, ed1, "C-1")
    record(app, notice_id, ed1)
    reviewed = version(app, notice_id)
    record(app, notice_id, ed1, members_in_office=9, members_present=9)
    with app.app_context(), pytest.raises(service.PublicityError) as exc:
        service.approve_notice(db.session(), notice_id, actor(app, ed2), TODAY, reviewed)
    assert exc.value.code == "stale"


def test_a_record_replaced_keeps_only_its_new_nominees(app: Flask, editors: Editors) -> None:
    ed1 = editors[0]
    notice_id = draft(app, ed1, "C-1")
    record(app, notice_id, ed1, nominees=(published("C-1"), nominee("N-1", decision="deferred"),
                                          nominee("N-2", decision="rejected")))
    record(app, notice_id, ed1)
    with app.app_context():
        session = db.session()
        rows = session.scalars(select(ComplianceNominee.cadre_id)).all()
    assert rows == ["C-1"]


def test_a_published_person_not_approved_by_the_record_blocks(app: Flask,
                                                              editors: Editors) -> None:
    ed1, ed2 = editors
    notice_id = draft(app, ed1, "C-1", "C-2")
    # C-2 was deferred by the meeting, yet the notice publishes C-2.
    record(app, notice_id, ed1, nominees=(published("C-1"),
                                          published("C-2", decision="deferred")))
    assert broken(app, notice_id) == []
    assert refusal(app, notice_id, ed2) == [in_app(
        app, "%(name)s (%(id)s) is published, but the record does not show this person "
        "approved by the decision meeting.", name="干部C-2", id="C-2")]
    # The record describes someone else entirely.
    record(app, notice_id, ed1, nominees=(published("C-1"), published("C-9")))
    assert len(refusal(app, notice_id, ed2)) == 1
    record(app, notice_id, ed1)
    approve(app, notice_id, ed2)
    assert status(app, notice_id) == "approved"


def test_a_published_person_whose_nominee_has_another_name_blocks(app: Flask,
                                                                  editors: Editors) -> None:
    ed1, ed2 = editors
    notice_id = draft(app, ed1, "C-1", "C-2")
    # C-2 is approved by the meeting, but the record names someone else under that id.
    record(app, notice_id, ed1, nominees=(published("C-1"), nominee("C-2", "另一个人")))
    assert broken(app, notice_id) == []
    assert refusal(app, notice_id, ed2) == [in_app(
        app, "%(id)s is published as %(name)s, but the record names %(other)s.",
        id="C-2", name="干部C-2", other="另一个人")]
    assert status(app, notice_id) == "draft"
    record(app, notice_id, ed1)
    approve(app, notice_id, ed2)
    assert status(app, notice_id) == "approved"


def test_a_published_correction_carries_over_to_the_record(app: Flask,
                                                          editors: Editors) -> None:
    """A 更正 of a name or post keeps the record describing the notice (matched by cadre id),
    so supervisors see the corrected name; the carry-over is audited."""
    ed1, ed2 = editors
    notice_id = publish_batch(app, editors, "C-1", "C-2", meeting="2026-11-20")
    corrected = notice_input(dt.date(2026, 11, 30), person("干部C-1", cadre_id="C-1"),
                             person("李更正", cadre_id="C-2", proposed_post="示例县水利局局长"))
    with app.app_context():
        change = service.propose_correction(db.session(), notice_id, corrected,
                                            "姓名和拟任职务有误。", actor(app, ed1))
        change_id = change.id
    # Proposed, not approved: the record still holds what the meeting's paper said.
    with app.app_context():
        names = db.session().scalars(select(ComplianceNominee.name)
                                     .order_by(ComplianceNominee.position)).all()
    assert names == ["干部C-1", "干部C-2"]
    assert audit_entries(app, "compliance.corrected") == []
    with app.app_context():
        service.approve_change(db.session(), change_id, actor(app, ed2), TODAY)
    with app.app_context():
        session = db.session()
        rows = session.execute(select(ComplianceNominee.cadre_id, ComplianceNominee.name,
                                      ComplianceNominee.proposed_post)
                               .order_by(ComplianceNominee.position)).all()
        check = compliance.check(session, session.get_one(Notice, notice_id))
    assert [tuple(r) for r in rows] == [("C-1", "干部C-1", published("C-1").proposed_post),
                                        ("C-2", "李更正", "示例县水利局局长")]
    assert check.problems == []
    assert [(target, details["cadre_ids"]) for _who, target, details
            in audit_entries(app, "compliance.corrected")] == [(f"notice:{notice_id}", ["C-2"])]


@pytest.mark.parametrize(("not_approved", "ref", "expected"), [
    (29, None, []),                      # 30 promotions proposed: at the limit
    (30, None, [7]),                     # 31, though only one was approved
    (30, "州组字〔2026〕12号", [])])
def test_rule_7_counts_rejected_and_deferred_promotions(
    app: Flask, editors: Editors, not_approved: int, ref: str | None, expected: list[int]
) -> None:
    notice_id = draft(app, editors[0], "C-1")
    others = tuple(nominee(f"R-{i}", decision="rejected" if i % 2 else "deferred")
                   for i in range(not_approved))
    record(app, notice_id, editors[0], nominees=(published("C-1"), *others),
           prefecture_approval_ref=ref)
    assert broken(app, notice_id) == expected
    if expected:
        [problem] = refusal(app, notice_id, editors[1])
        assert in_app(app, "%(n)s promoted in this batch; the prefecture approves beforehand "
                      "above %(limit)s.", n=31, limit=30) in problem
    else:
        approve(app, notice_id, editors[1])
        assert status(app, notice_id) == "approved"


def test_rule_10_only_approved_important_nominees_need_the_ballot(app: Flask,
                                                                  editors: Editors) -> None:
    ed1, ed2 = editors
    notice_id = draft(app, ed1, "C-1")
    # An important-post nominee the meeting rejected never reaches the full committee.
    record(app, notice_id, ed1, nominees=(
        published("C-1"), nominee("I-1", "落选正职", important_post=True, decision="rejected")))
    assert broken(app, notice_id) == []
    # The published person is an important post: no ballot on record.
    record(app, notice_id, ed1, nominees=(published("C-1", important_post=True),))
    assert broken(app, notice_id) == [10]
    [problem] = refusal(app, notice_id, ed2)
    assert "干部C-1" in problem
    record(app, notice_id, ed1, nominees=(published(
        "C-1", important_post=True, ballot_for=20, ballot_against=5, ballot_abstain=1),),
        ballot_date=D("2026-11-24"), ballot_in_office=30, ballot_present=26)
    assert broken(app, notice_id) == []
    approve(app, notice_id, ed2)
    assert status(app, notice_id) == "approved"


def test_a_published_person_without_cadre_id_blocks(app: Flask, editors: Editors) -> None:
    ed1, ed2 = editors
    data = notice_input(dt.date(2026, 11, 30), person("无编号", cadre_id=None))
    with app.app_context():
        session = db.session()
        notice = service.create_draft(session, data, actor(app, ed1))
        notice_id = notice.id
        ensure_term(session)
        # clean_record lists the person as P<id>, which the person does not carry.
        compliance.save_record(session, notice_id, clean_record(notice), actor(app, ed1))
    assert broken(app, notice_id) == []
    assert refusal(app, notice_id, ed2) == [in_app(
        app, "%(name)s is published without a cadre system id: the record cannot be matched "
        "to this person.", name="无编号")]
    assert status(app, notice_id) == "draft"


# --- (e) import --------------------------------------------------------------------------------

def import_person(name: str, cadre_id: str | None) -> dict[str, Any]:
    return {"name": name, "gender": "男", "ethnicity": "汉族", "birth": "1980-05",
            "native_place": "××省××县", "education": "大学本科", "work_start": "2002-07",
            "party": "2001-06", "current_post": "××镇镇长", "proposed_post": "××镇党委书记",
            "cadre_id": cadre_id}


def import_notice(title: str, *persons: dict[str, Any], **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"title": title, "issuer": "中共××县委组织部",
                            "period_start": "2026-11-30", "working_days": 5,
                            "persons": list(persons)}
    data.update(changes)
    return data


def import_record(*nominees: dict[str, Any], **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "batch_kind": "partial", "term": TERM,
        "meeting": {"body": "standing", "date": "2026-11-20", "members_in_office": 11,
                    "members_present": 10},
        "nominees": list(nominees)}
    data.update(changes)
    return data


def import_nominee(cadre_id: str, name: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"cadre_id": cadre_id, "name": name, "proposed_post": "××镇党委书记",
                            "nominated_by": "org_department", "vote_share": "85",
                            "inspection": "passed", "decision": "approved"}
    data.update(changes)
    return data


def run_import(runner: FlaskCliRunner, tmp_path: Path, notices: list[dict[str, Any]]) -> Result:
    path = tmp_path / "notices.json"
    path.write_text(json.dumps({"notices": notices}, ensure_ascii=False), encoding="utf-8")
    with at(TODAY):
        return runner.invoke(args=["notices", "import", str(path)])


def written(app: Flask) -> dict[str, int]:
    """Everything an import may write."""
    with app.app_context():
        session = db.session()
        return {m.__tablename__: count(session, m) for m in (
            Notice, NoticePerson, ComplianceRecord, ComplianceNominee, AuditEntry)}


@pytest.fixture
def term(app: Flask) -> None:
    with app.app_context():
        ensure_term(db.session())


def test_an_old_file_without_compliance_still_imports(app: Flask, runner: FlaskCliRunner,
                                                      tmp_path: Path, term: None,
                                                      editors: Editors) -> None:
    result = run_import(runner, tmp_path, [import_notice("旧格式", import_person("张三", "HR-1"))])
    assert result.exit_code == 0, result.output
    counts = written(app)
    assert (counts["notice"], counts["compliance_record"]) == (1, 0)
    with app.app_context():
        notice_id = db.session().scalar(select(Notice.id))
    assert notice_id is not None
    refusal(app, notice_id, editors[0])  # approval waits for the record


def test_an_import_with_a_compliance_object_creates_draft_and_record(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, term: None, editors: Editors
) -> None:
    compliance_object = import_record(
        import_nominee("HR-1", "张三"),
        import_nominee("HR-9", "未上会", inspection="not_inspected", decision="not_submitted",
                       vote_share="20"))
    result = run_import(runner, tmp_path, [
        import_notice("新格式", import_person("张三", "HR-1"), compliance=compliance_object),
        import_notice("无记录", import_person("李四", "HR-2"))])
    assert result.exit_code == 0, result.output
    with app.app_context():
        session = db.session()
        first, second = session.scalars(select(Notice).order_by(Notice.id)).all()
        first_id, second_id = first.id, second.id
        stored = session.get_one(ComplianceRecord, first.id)
        data = compliance.as_input(stored, TERM)
        assert session.get(ComplianceRecord, second.id) is None
    assert (data.batch_kind, data.meeting_date, data.members_present) == (
        "partial", D("2026-11-20"), 10)
    assert [(n.cadre_id, n.decision, n.vote_share_bp) for n in data.nominees] == [
        ("HR-1", "approved", 8500), ("HR-9", "not_submitted", 2000)]
    [(who, target, _details)] = audit_entries(app, "compliance.recorded")
    assert (who, target) == ("cli", f"notice:{first_id}")
    assert broken(app, first_id) == []
    approve(app, first_id, editors[0])  # the CLI is no editor: any editor may approve
    assert status(app, first_id) == "approved"
    refusal(app, second_id, editors[0])


def test_one_invalid_compliance_object_rejects_the_whole_file(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, term: None
) -> None:
    good = import_notice("第一批", import_person("张三", "HR-1"),
                         compliance=import_record(import_nominee("HR-1", "张三")))
    bad = import_notice("第二批", import_person("李四", "HR-2"), compliance=import_record(
        import_nominee("HR-2", "李四"), import_nominee("HR-3", "王五", vote_share=101),
        meeting={"body": "standing", "date": "2026-11-20", "members_in_office": 9,
                 "members_present": 10}))
    before = written(app)
    result = run_import(runner, tmp_path, [good, bad])
    assert result.exit_code == 1, result.output
    assert written(app) == before
    with app.app_context():
        prefix = _("Notice %(n)s", n=2) + ": "
        expected = [
            prefix + describe(FieldError(None, "members_present", _(
                "More members present (%(p)s) than in office (%(n)s).", p=10, n=9))),
            prefix + describe(FieldError(1, "vote_share", _(
                "Must be a percentage from 0 to 100."))),
            "Error: " + _("Nothing was imported."),
        ]
        assert str(FIELD_LABELS["vote_share"]) in expected[1]
        assert _("Nominee %(n)s", n=2) in expected[1]
    assert result.output.splitlines() == expected


def test_compliance_and_notice_problems_are_listed_together(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, term: None
) -> None:
    bad = import_notice("", import_person("张三", "HR-1"),
                        compliance=import_record(import_nominee("HR-1", "张三"), term="第九届"))
    before = written(app)
    result = run_import(runner, tmp_path, [bad])
    assert result.exit_code == 1, result.output
    assert written(app) == before
    with app.app_context():
        prefix = _("Notice %(n)s", n=1) + ": "
        term_line = prefix + describe(FieldError(None, "term", _(
            "No such term: the administrator configures the terms.")))
    lines = result.output.splitlines()
    assert term_line in lines
    assert len(lines) == 3  # the term, the missing title, "nothing was imported"


def test_a_compliance_object_without_any_term_configured_is_refused(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    notice = import_notice("第一批", import_person("张三", "HR-1"),
                           compliance=import_record(import_nominee("HR-1", "张三")))
    before = written(app)
    result = run_import(runner, tmp_path, [notice])
    assert result.exit_code == 1, result.output
    assert written(app) == before
    assert in_app(app, "No term is configured yet: an administrator adds the term and its "
                       "number of leadership posts first.") in result.output


def test_a_count_with_thousands_of_digits_is_a_clean_refusal(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, term: None
) -> None:
    """A JSON number (not a string) of 5000 digits: json.loads itself refuses it, past
    Python's limit on converting digits to an int (ValueError), and the CLI says so."""
    huge = import_record(import_nominee("HR-1", "张三"), meeting={
        "body": "standing", "date": "2026-11-20", "members_in_office": "HUGE",
        "members_present": 9})
    text = json.dumps({"notices": [import_notice("第一批", import_person("张三", "HR-1"),
                                                 compliance=huge)]}, ensure_ascii=False)
    digits = "9" * 5000
    text = text.replace('"HUGE"', digits)
    assert f'"members_in_office": {digits},' in text  # a bare number literal
    path = tmp_path / "notices.json"
    path.write_text(text, encoding="utf-8")
    before = written(app)
    with at(TODAY):
        result = runner.invoke(args=["notices", "import", str(path)])
    assert written(app) == before
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    [line] = result.output.splitlines()
    assert line.startswith("Error: " + in_app(app, "Not a UTF-8 JSON file: %(e)s", e="")), line
    assert digits not in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("start", "meeting", "ballot_day", "field"), [
    ("2026-11-30", "2026-11-28", None, "meeting_date"),   # after today (2026-11-27)
    ("2026-11-20", "2026-11-21", None, "meeting_date"),   # after the notice's start
    ("2026-11-30", "2026-11-20", "2026-11-19", "ballot_date"),  # ballot before the meeting
    ("2026-11-30", "2026-11-20", "2026-11-28", "ballot_date"),  # ballot in the future
    ("2026-11-25", "2026-11-20", "2026-11-26", "ballot_date")])  # ballot after the start
def test_an_import_refuses_meeting_dates_out_of_order(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, term: None, start: str, meeting: str,
    ballot_day: str | None, field: str
) -> None:
    extra: dict[str, Any] = {}
    if ballot_day:
        extra["ballot"] = {"date": ballot_day, "members_in_office": 30, "members_present": 28}
    compliance_object = import_record(import_nominee("HR-1", "张三"), meeting={
        "body": "standing", "date": meeting, "members_in_office": 11, "members_present": 10},
        **extra)
    before = written(app)
    result = run_import(runner, tmp_path, [import_notice(
        "第一批", import_person("张三", "HR-1"), period_start=start,
        compliance=compliance_object)])
    assert result.exit_code == 1, result.output
    assert written(app) == before
    [line, last] = result.output.splitlines()
    with app.app_context():
        label = str(FIELD_LABELS[field])
        assert line.startswith(_("Notice %(n)s", n=1) + ": ")
        assert label in line
        assert last == "Error: " + _("Nothing was imported.")


@pytest.mark.parametrize(("start", "meeting", "ballot_day"), [
    ("2026-11-30", "2026-11-27", "2026-11-27"),   # both today, before the start
    ("2026-11-25", "2026-11-25", None),           # on the notice's (past) start
    ("2026-11-30", "2026-11-20", "2026-11-20")])  # the ballot the same day as the meeting
def test_an_import_accepts_meetings_up_to_today_and_the_start(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, term: None, start: str, meeting: str,
    ballot_day: str | None
) -> None:
    extra: dict[str, Any] = {}
    if ballot_day:
        extra["ballot"] = {"date": ballot_day, "members_in_office": 30, "members_present": 28}
    compliance_object = import_record(import_nominee("HR-1", "张三"), meeting={
        "body": "standing", "date": meeting, "members_in_office": 11, "members_present": 10},
        **extra)
    result = run_import(runner, tmp_path, [import_notice(
        "第一批", import_person("张三", "HR-1"), period_start=start,
        compliance=compliance_object)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        stored = db.session().scalars(select(ComplianceRecord)).one()
        assert (stored.meeting_date, stored.ballot_date) == (
            D(meeting), D(ballot_day) if ballot_day else None)


# --- (f) nothing half-written ---------------------------------------------------------------------

def test_a_refused_approval_writes_nothing(app: Flask, editors: Editors) -> None:
    ed1, ed2 = editors
    notice_id = draft(app, ed1, "C-1")
    record(app, notice_id, ed1, nominees=(published("C-1", objections=("discipline",)),))
    assert broken(app, notice_id) == [9]

    def state() -> tuple[object, ...]:
        with app.app_context():
            session = db.session()
            notice = session.get_one(Notice, notice_id)
            revision = session.get(PublicityRevision, 1)
            return (notice.status, notice.period_start, notice.period_end, notice.published_at,
                    notice.approved_by, notice.revision, notice.version,
                    revision.revision if revision else None, count(session, AuditEntry))

    before = state()
    refusal(app, notice_id, ed2)
    after = state()
    assert after == before
    assert after[:5] == ("draft", None, None, None, None)
    assert audit_entries(app, "notice.approved") == []


# --- (g) nothing of the record reaches the public -------------------------------------------------

SECRET_NAME = "隐秘候选人甲乙"
SECRET_CADRE = "SECRETCADRE-7731"
PUBLIC_CADRE = "PUBCADRE-4242"
NOMINATOR = "提名领导丙丁"
REVIEW_REF = "州组审〔2026〕秘字88号"
OVERRIDE_REASON = "特殊理由：经县委书记专题会议研究同意破格提名戊己"


def public_text(client: Any, path: str) -> str:
    """A public page as a visitor reads it: markup and JSON escapes undone."""
    response = client.get(path)
    assert response.status_code == 200, path
    text = response.get_data(as_text=True)
    if response.is_json:
        return json.dumps(response.get_json(), ensure_ascii=False)
    return html.unescape(text)


def test_the_record_and_overrides_never_reach_the_public(
    app: Flask, editors: Editors, head: StaffMember
) -> None:
    """A published batch whose record lists a nominee not published (flagged, a relative of
    the leader who nominated them) and whose approval needed an override: the public pages
    and the API show the published person, and nothing else of the record."""
    ed1, ed2 = editors
    data = notice_input(dt.date(2026, 11, 30), person("公示人王五", cadre_id=PUBLIC_CADRE))
    with app.app_context():
        notice_id = service.create_draft(db.session(), data, actor(app, ed1)).id
    unpublished = nominee(SECRET_CADRE, SECRET_NAME, nominated_by="individual",
                          nominator=NOMINATOR, relationship="spouse", flags=("disputed",),
                          prefecture_review_ref=REVIEW_REF, decision="rejected")
    record(app, notice_id, ed1, nominees=(nominee(PUBLIC_CADRE, "公示人王五"),
                                        unpublished))
    assert broken(app, notice_id) == [4]  # the spouse of the nominating leader
    override_by(app, notice_id, 4, head, OVERRIDE_REASON)
    approve(app, notice_id, ed2)
    assert status(app, notice_id) == "approved"
    secrets = (SECRET_NAME, SECRET_CADRE, PUBLIC_CADRE, NOMINATOR, REVIEW_REF, OVERRIDE_REASON,
               "cadre_id", "spouse", "配偶")
    paths = ("/", "/notices", f"/notices/{notice_id}", "/notices/archive",
             f"/notices/archive?q={SECRET_NAME[:2]}", f"/notices/archive?q={NOMINATOR[:2]}",
             "/notices/archive?q=SECRET", "/notices/archive?q=公示人",
             "/notices/feed.atom", "/api/notices", f"/api/notices/{notice_id}")
    visitor = app.test_client()

    def pages() -> dict[str, str]:
        with at(D("2026-12-01")):
            return {path: public_text(visitor, path) for path in paths}

    shown = pages()
    for path, page in shown.items():
        for secret in secrets:
            assert secret not in page, (path, secret)
    # The pages do show the published notice (the test would pass on an empty page too).
    for path in (f"/notices/{notice_id}", "/notices/archive?q=公示人", f"/api/notices/{notice_id}"):
        assert "公示人王五" in shown[path], path
    line = "经县委常委会研究（应到11人，实到10人）"
    assert line not in shown[f"/notices/{notice_id}"]

    # The administrator shows the attendance line: it appears, nothing else does.
    with app.app_context():
        session = db.session()
        current = compliance.settings(session)
        compliance.save_settings(session, dict(current.thresholds.text), True, audit.CLI)
    shown = pages()
    assert line in shown[f"/notices/{notice_id}"]
    for path, page in shown.items():
        for secret in secrets:
            assert secret not in page, (path, secret)
