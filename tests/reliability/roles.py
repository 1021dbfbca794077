"""Shared helpers of the access tier: a populated portal ("world") with one account per role and
a multi-role account, a real case in every queue (the escalation queue included), a draft and a
published notice with a pending correction, and login/CSRF helpers.

Everything is made through the portal's own services and pages, so the ids the tests put into
URLs are real: a refused request is refused by the access checks, not by a 404 for a row that
does not exist.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from application import create_app
from casework import queues
from casework.models import Case, Category, EvidenceFile, Queue
from portal import accounts, audit, db, state
from portal.config import Config
from portal.models import Role, RoleRequest, StaffUser
from publicity import service as publicity
from publicity.models import NoticeChange
from publicity.validation import NoticeInput, PersonInput
from tests.compliance_support import allow_many_decisions, record_clean
from tests.conftest import PASSPHRASE, StaffMember, _wipe, config_for_tests
from tests.intake_support import Desk, make_desk, post_report, receipt_of

ANONYMOUS = "anonymous"
MULTI = "multi"
# A person of the organization department who both handles its cases and edits its notices:
# holding two roles must give the union of what each allows, and nothing of the other queues.
MULTI_ROLES: tuple[str, ...] = (Role.org_handler.value, Role.publicity_editor.value)
ROLE_LABELS: tuple[str, ...] = (ANONYMOUS, *(r.value for r in Role), MULTI)
QUEUE_SLUGS = ("org", "dic", "escalation")
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
INSTANCES = "reliability.instances"


def roles_of(label: str) -> frozenset[str]:
    """The roles an account label stands for (none for an anonymous visitor)."""
    if label == ANONYMOUS:
        return frozenset()
    if label == MULTI:
        return frozenset(MULTI_ROLES)
    return frozenset({label})


def username_of(label: str, salt: str) -> str:
    """A valid, per-world unique username for a label (limiter keys in Redis are global)."""
    return f"u{salt}-{label.replace('_', '-')}"


@dataclass(frozen=True)
class FiledCase:
    """A case filed through the public form, with the strings that only its queue may see."""

    queue: str
    case_no: str
    receipt: str
    file_id: int
    facts: str
    person: str
    file_text: str
    identity: str

    @property
    def content_markers(self) -> tuple[str, ...]:
        """What members of the holding queue can read (and nobody else ever may)."""
        return (self.facts, self.person, self.file_text)


@dataclass
class World:
    """A populated portal; see the module docstring."""

    app: Flask
    salt: str
    members: dict[str, StaffMember]
    cases: dict[str, FiledCase]
    recovery_secret: str
    draft_id: int = 0
    notice_id: int = 0
    person_id: int = 0
    change_id: int = 0
    victim_id: int = 0
    request_id: int = 0  # a role grant waiting for a second person (#21.3)
    queue_ids: dict[str, int] = field(default_factory=dict)
    category_id: int = 0


def create_member(app: Flask, username: str, *roles: str) -> StaffMember:
    """An active account created by its holder (the CLI path), with a known TOTP secret."""
    with app.app_context():
        _user, secret = accounts.create_account_with_passphrase(db.session(), username, roles,
                                                                PASSPHRASE)
    return StaffMember(username, tuple(roles), secret)


def user_id(app: Flask, username: str) -> int:
    """The id of an account."""
    with app.app_context():
        return db.session().scalars(select(StaffUser.id)
                                    .where(StaffUser.username == username)).one()


def csrf_of(client: FlaskClient, path: str) -> str:
    """The CSRF token of the first form on a page, for this client's session."""
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: FlaskClient, member: StaffMember, code: str | None = None) -> TestResponse:
    """POST the staff login form (passphrase and a fresh TOTP code)."""
    token = csrf_of(client, "/staff/login")
    return client.post("/staff/login", data={
        "username": member.username, "passphrase": member.passphrase,
        "totp": code or member.next_code(), "csrf_token": token})


def logged_in(app: Flask, member: StaffMember) -> FlaskClient:
    """A new client logged in as the member."""
    client = app.test_client()
    response = login(client, member)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return client


def _person(name: str) -> PersonInput:
    return PersonInput(name=name, gender="男", ethnicity="汉族", birth="1980-05",
                       native_place="示例省示例县", education="大学本科", work_start="2002-07",
                       party="2001-06", current_post="示例镇镇长", proposed_post="示例镇党委书记")


def _notice(name: str) -> NoticeInput:
    return NoticeInput(title="中共示例县委组织部干部任前公示", issuer="中共示例县委组织部",
                       period_start=dt.date(2026, 11, 30), working_days=5, phone="0000-12380",
                       letter_address="示例县人民路1号", visit_address="示例县人民路1号308室",
                       persons=(_person(name),))


def _file_case(app: Flask, slug: str, category: int, salt: str, leader: bool) -> FiledCase:
    tag = f"{slug}{salt}".upper()
    facts = f"FACTS-{tag}-某局负责人收受现金"
    person = f"PERSON-{tag}"
    file_text = f"EVIDENCE-{tag}-银行流水"
    identity = f"IDENTITY-{tag}"
    client = app.test_client()
    status, html = post_report(client, {
        "category": str(category), "persons-0-name": person, "facts": facts,
        "real_name": "y", "reporter_name": identity, "reporter_phone": "13800000000",
        "concerns_leader": "yes" if leader else "no",
    }, files=[((file_text + "\n").encode() * 20, "evidence.txt")])
    assert status == 200, html[:3000]
    receipt = receipt_of(html)
    with app.app_context():
        session = db.session()
        case = session.scalars(select(Case).join(Queue).where(Queue.slug == slug)
                               .order_by(Case.id.desc()).limit(1)).one()
        file_id = session.scalar(select(EvidenceFile.id).where(EvidenceFile.case_id == case.id))
        assert file_id is not None
        return FiledCase(slug, case.case_no, receipt, int(file_id), facts, person, file_text,
                         identity)


def _category(session: Session, code: str) -> int:
    return session.scalars(select(Category.id).where(Category.code == code)).one()


def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                 param: str) -> str:
    """The URL of a fresh SQLite file, or of the shared PostgreSQL test schema (which every
    test empties when it is done)."""
    if param == "postgres":
        return str(request.getfixturevalue("pg_schema_url"))
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'portal.db'}"


@contextmanager
def initialised_app(url: str, tmp: Path, **changes: object) -> Iterator[Flask]:
    """An app with `portal init` run, on a test configuration; its database emptied after.

    Module fixtures build one per database: the setup costs more than most checks, and the
    tier has a time budget. Further instances on the same database and instance folder (other
    "workers") come from :func:`another_instance`.
    """
    # The integration tier leaves its last test's rows in the shared schema, the marker of its
    # instance secrets among them (#22.1): emptied first, by an app with no secrets to check.
    _wipe(create_app(Config(instance_path=tmp / "wipe", database_url=url, testing=True)))
    app = create_app(config_for_tests(tmp, url, **changes))
    result = app.test_cli_runner().invoke(args=["portal", "init"])
    assert result.exit_code == 0, result.output
    try:
        yield app
    finally:
        for other in app.extensions.get(INSTANCES, []):
            state.engine(other).dispose()
        _wipe(app)


def another_instance(app: Flask, **changes: object) -> Flask:
    """A second app instance on the same database and instance secrets (another worker); its
    connections are closed when the first one's database is emptied."""
    config: Config = state.config(app)
    other = create_app(config.with_(**changes))
    app.extensions.setdefault(INSTANCES, []).append(other)
    return other


def make_desk_for(app: Flask) -> Desk:
    """`make_desk` of tests/intake_support.py, with accounts made on this app."""
    return make_desk(app, lambda name, *roles: create_member(app, name, *roles))


def build_world(app: Flask) -> World:
    """One account per role and a multi-role one, keyed queues (escalation included), a case in
    each queue, a draft, a published notice with a pending correction, and a victim account for
    the admin routes that act on a user."""
    salt = secrets.token_hex(3)
    members = {label: create_member(app, username_of(label, salt), *roles_of(label))
               for label in ROLE_LABELS if label != ANONYMOUS}
    drafter = create_member(app, f"u{salt}-drafter", Role.publicity_editor.value)
    approver = create_member(app, f"u{salt}-approver", Role.publicity_editor.value)
    victim = create_member(app, f"u{salt}-victim", Role.supervisor.value)
    with app.app_context():
        session = db.session()
        queues.create_escalation_queue(session, "上级纪委监委信访室", "Escalation office",
                                       audit.CLI)
    result = app.test_cli_runner().invoke(args=["queues", "init"])
    assert result.exit_code == 0, result.output
    secret = re.search(r"^\s+([A-Z2-7]{4}(?:-[A-Z2-7]{1,4})+)\s*$", result.output, re.M)
    assert secret, result.output
    with app.app_context():
        session = db.session()
        categories = {"org": _category(session, "selection"),
                      "dic": _category(session, "discipline")}
        queue_ids = {q.slug: q.id for q in queues.all_queues(session)}
        draft_actor = audit.Actor(drafter.username, user_id(app, drafter.username))
        approve_actor = audit.Actor(approver.username, user_id(app, approver.username))
        published = publicity.create_draft(session, _notice(f"公示对象{salt}"), draft_actor)
        # Approval needs the batch's compliance record (clean, by the drafter); worlds may
        # share a database, so rule 5's yearly limit is raised (it is not tested here).
        allow_many_decisions(session)
        record_clean(session, published.id, draft_actor)
        publicity.approve_notice(session, published.id, approve_actor, dt.date(2026, 11, 30))
        draft = publicity.create_draft(session, _notice(f"草稿对象{salt}"), draft_actor)
        person_id = published.persons[0].id
        data = _notice(f"公示对象{salt}")
        corrected = replace(data, persons=(replace(data.persons[0], resume="更正后的简历"),))
        change: NoticeChange = publicity.propose_correction(
            session, published.id, corrected, "简历有误", draft_actor)
        world = World(app, salt, members, {}, secret.group(1), draft_id=draft.id,
                      notice_id=published.id, person_id=person_id, change_id=change.id,
                      victim_id=user_id(app, victim.username), queue_ids=queue_ids,
                      category_id=categories["org"])
        admin = members[Role.admin.value]
        asked, _revoked = accounts.set_roles(
            session, world.victim_id, [Role.supervisor.value, Role.dic_handler.value],
            audit.Actor(admin.username, user_id(app, admin.username)))
        assert asked == [Role.dic_handler.value]
        world.request_id = session.scalars(select(RoleRequest.id).where(
            RoleRequest.user_id == world.victim_id, RoleRequest.state == "pending")).one()
    world.cases = {
        "org": _file_case(app, "org", categories["org"], salt, leader=False),
        "dic": _file_case(app, "dic", categories["dic"], salt, leader=False),
        "escalation": _file_case(app, "escalation", categories["dic"], salt, leader=True),
    }
    return world
