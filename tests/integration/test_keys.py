"""Queue key grants by heads, revocation and rotation, `queues rotate` and `queues
verify-recovery`, with real crypto; the adversary keeps a copy of a revoked member's old grant
wrap and their private key."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from casework import content, keys, queues
from casework import service as casework
from casework.models import Case, Queue, QueueEpoch, QueueGrant
from portal import accounts, audit, clock, crypto, db, role_grants
from portal.models import AuditEntry, RoleRequest, StaffUser
from tests.conftest import AuthActions, StaffMember, csrf_token
from tests.intake_support import Desk, make_desk, post_report


@pytest.fixture
def app(make_app: Any) -> Flask:
    """English messages, so assertions do not depend on the translation catalogue."""
    return make_app(default_language="en")


@dataclass
class Office:
    """The organization department: a head and two handlers keyed by `queues init`, and the
    commission with its own handler."""

    desk: Desk
    head: StaffMember
    other: StaffMember  # a second handler who must keep access throughout

    @property
    def app(self) -> Flask:
        return self.desk.app

    @property
    def handler(self) -> StaffMember:
        return self.desk.org


@pytest.fixture
def office(app: Flask, make_staff: Any) -> Office:
    head = make_staff("orghead", "org_head")
    other = make_staff("orgother", "org_handler")
    return Office(make_desk(app, make_staff), head, other)


def _file_reports(desk: Desk) -> None:
    """Two organization-department reports, one of them real-name (it has an identity)."""
    client = desk.app.test_client()
    base = {"category": str(desk.category_id("selection")), "persons-0-name": "王五",
            "persons-0-unit": "某乡镇", "facts": "2026年2月违反程序突击提拔干部。"}
    for extra in ({}, {"real_name": "y", "reporter_name": "赵六",
                       "reporter_phone": "13800000000"}):
        status, html = post_report(client, {**base, **extra})
        assert status == 200, html[:500]


def _cases(queue_slug: str = "org") -> list[Case]:
    return list(db.session().scalars(select(Case).join(Queue, Queue.id == Case.queue_id)
                                     .where(Queue.slug == queue_slug).order_by(Case.id)))


def _queue(slug: str = "org") -> Queue:
    session = db.session()
    session.expire_all()
    return queues.queue_by_slug(session, slug)


def _user(username: str) -> StaffUser:
    return db.session().scalars(select(StaffUser).where(StaffUser.username == username)).one()


def _actions(action: str) -> list[AuditEntry]:
    return list(db.session().scalars(select(AuditEntry).where(AuditEntry.action == action)))


@dataclass
class Loot:
    """What an adversary kept of a member's access: the grant wrap and the member's key."""

    epoch_id: int
    wrap: bytes
    member_private: bytes

    @property
    def epoch_private(self) -> bytes:
        return crypto.unseal(self.member_private, self.wrap)


def _steal(staff: accounts.CurrentStaff) -> Loot:
    """Copy a member's current grant and private key (inside an app context)."""
    session = db.session()
    queue = queues.queue_by_slug(session, "org")
    epoch = queues.current_epoch(session, queue)
    assert epoch is not None
    grant = session.scalars(select(QueueGrant).where(QueueGrant.epoch_id == epoch.id,
                                                     QueueGrant.user_id == staff.user_id)).one()
    loot = Loot(epoch.id, bytes(grant.wrap), staff.private_key(session))
    # The loot works today: it opens every case of the queue.
    for case in _cases():
        content.CaseKeys.unseal(loot.epoch_private, case.keys_wrap or b"")
    return loot


def _assert_loot_is_dead(loot: Loot) -> None:
    """After a rotation the old wrap opens no wrap the database still holds."""
    session = db.session()
    session.expire_all()
    assert session.get(QueueEpoch, loot.epoch_id) is None
    assert session.scalar(select(func.count()).select_from(QueueGrant)
                          .where(QueueGrant.epoch_id == loot.epoch_id)) == 0
    assert loot.wrap not in session.scalars(select(QueueGrant.wrap)).all()
    cases = [c for c in _cases() if c.keys_wrap is not None]
    assert cases
    for case in cases:
        assert case.epoch_id != loot.epoch_id
        with pytest.raises(crypto.DecryptionFailed):
            content.CaseKeys.unseal(loot.epoch_private, case.keys_wrap or b"")
        with pytest.raises(crypto.DecryptionFailed):
            crypto.unseal(loot.epoch_private, case.identity_wrap or b"")
    for epoch in session.scalars(select(QueueEpoch)):
        with pytest.raises(crypto.DecryptionFailed):
            crypto.unseal(loot.member_private, epoch.recovery_wrap)
    for wrap in session.scalars(select(QueueGrant.wrap)):
        with pytest.raises(crypto.DecryptionFailed):
            crypto.unseal(loot.member_private, wrap)


def _assert_opens_everything(staff: accounts.CurrentStaff) -> None:
    """A member still reads every case, identity included."""
    session = db.session()
    session.expire_all()
    for case in _cases():
        if case.keys_wrap is None:  # purged
            continue
        entries = casework.read_entries(session, case, casework.unlock(session, staff, case))
        assert entries[0].payload
        if case.real_name:
            identity = casework.read_identities(
                session, case, casework.identity_key(session, staff, case))
            assert identity[0]["name"] == "赵六"


def _head_client(office: Office) -> FlaskClient:
    client = office.app.test_client()
    assert AuthActions(client).login(office.head).status_code == 303
    return client


def _snapshot() -> tuple[object, ...]:
    """Everything a rotation would change."""
    session = db.session()
    session.expire_all()
    return (
        tuple(session.execute(select(Queue.slug, Queue.current_epoch, Queue.rotation_pending)
                              .order_by(Queue.id)).all()),
        tuple(session.execute(select(QueueEpoch.id, QueueEpoch.public_key,
                                     QueueEpoch.recovery_wrap).order_by(QueueEpoch.id)).all()),
        tuple(session.execute(select(QueueGrant.id, QueueGrant.wrap)
                              .order_by(QueueGrant.id)).all()),
        tuple(session.execute(select(Case.id, Case.epoch_id, Case.keys_wrap, Case.identity_wrap)
                              .order_by(Case.id)).all()),
        session.scalar(select(func.count()).select_from(AuditEntry)),
    )


def _cli(app: Flask, *args: str, stdin: str | None = None) -> Any:
    return app.test_cli_runner().invoke(args=["queues", *args], input=stdin)


# --- a head revokes from their own session ------------------------------------------------


def test_head_revokes_a_member_and_the_old_wrap_opens_nothing(office: Office) -> None:
    _file_reports(office.desk)
    client = _head_client(office)
    with office.app.app_context():
        handler, other = office.desk.staff(office.handler), office.desk.staff(office.other)
        loot = _steal(handler)
        handler_id = handler.user_id
    page = client.get("/staff/queues/org/keys")
    assert page.status_code == 200
    assert "orghandler" in page.get_data(as_text=True)

    # A reason is required; without one nothing happens.
    token = csrf_token(client, "/staff/queues/org/keys")
    empty = client.post(f"/staff/queues/org/keys/revoke/{handler_id}",
                        data={f"r{handler_id}-csrf_token": token, f"r{handler_id}-reason": ""})
    assert empty.status_code == 400
    with office.app.app_context():
        assert _queue().current_epoch == 1

    done = client.post(f"/staff/queues/org/keys/revoke/{handler_id}",
                       data={f"r{handler_id}-csrf_token": token,
                             f"r{handler_id}-reason": "调离岗位"})
    assert done.status_code == 303, done.get_data(as_text=True)[:2000]
    assert "rotated to epoch 2" in client.get("/staff/queues/org/keys").get_data(as_text=True)

    with office.app.app_context():
        assert _queue().current_epoch == 2
        _assert_loot_is_dead(loot)
        session = db.session()
        with pytest.raises(casework.CaseError):
            casework.unlock(session, handler, _cases()[0])
        _assert_opens_everything(other)
        assert [u.username for u in queues.lacking_access(session, _queue())] == ["orghandler"]
        revoked = _actions("queue.access-revoked")
        assert len(revoked) == 1
        assert "调离岗位" in revoked[0].details
        assert "orghandler" in revoked[0].details
        rotated = _actions("queue.rotated")
        assert len(rotated) == 1
        for name in ("orghead", "orgother", '"cases": 2', '"via": "head"'):
            assert name in rotated[0].details
        assert "orghandler" not in rotated[0].details
        assert audit.verify(session).ok


def test_a_head_cannot_revoke_themselves_or_an_account_without_a_grant(office: Office) -> None:
    client = _head_client(office)
    with office.app.app_context():
        head_id, dic_id = _user("orghead").id, _user("dichandler").id
        before = _snapshot()
    token = csrf_token(client, "/staff/queues/org/keys")
    for user_id, message in ((head_id, "cannot revoke your own"), (dic_id, "holds no key")):
        response = client.post(f"/staff/queues/org/keys/revoke/{user_id}",
                               data={f"r{user_id}-csrf_token": token,
                                     f"r{user_id}-reason": "test"})
        assert response.status_code == 409
        assert message in response.get_data(as_text=True)
    with office.app.app_context():
        assert _snapshot() == before


# --- an account loses access: pending rotation --------------------------------------------


def test_deactivation_marks_the_queue_and_a_head_rotates_it(office: Office) -> None:
    _file_reports(office.desk)
    client = _head_client(office)
    with office.app.app_context():
        session = db.session()
        loot = _steal(office.desk.staff(office.handler))
        other = office.desk.staff(office.other)
        accounts.deactivate(session, _user("orghandler").id, audit.Actor("admin"))
        assert _queue().rotation_pending
        assert not _queue("dic").rotation_pending
        assert session.scalar(select(func.count()).select_from(QueueGrant).where(
            QueueGrant.user_id == _user("orghandler").id)) == 0
        revoked = _actions("queue.access-revoked")
        assert len(revoked) == 1
        assert '"reason": "account"' in revoked[0].details

    page = client.get("/staff/queues/org/keys").get_data(as_text=True)
    assert "Rotate the queue key now" in page
    response = client.post("/staff/queues/org/keys/rotate",
                           data={"csrf_token": csrf_token(client, "/staff/queues/org/keys")})
    assert response.status_code == 303
    assert "Rotate the queue key now" not in client.get("/staff/queues/org/keys").get_data(
        as_text=True)
    with office.app.app_context():
        assert not _queue().rotation_pending
        assert _queue().current_epoch == 2
        _assert_loot_is_dead(loot)
        _assert_opens_everything(other)
        assert audit.verify(db.session()).ok


def test_reset_and_role_changes_drop_grants_only_when_the_queue_is_left(office: Office) -> None:
    admin = audit.Actor("admin")
    with office.app.app_context():
        session = db.session()

        def grants(username: str) -> int:
            return int(session.scalar(select(func.count()).select_from(QueueGrant).where(
                QueueGrant.user_id == _user(username).id)) or 0)

        # Keeps another role of the same queue: still a member, nothing to rotate. (The added
        # role counts once the organization department's head confirms it, #21.3.)
        asked, _revoked = accounts.set_roles(session, _user("orgother").id,
                                             ["org_handler", "org_head"], admin)
        assert asked == ["org_head"]
        assert _user("orgother").role_names == {"org_handler"}
        head = _user("orghead")
        decider = accounts.CurrentStaff(head.id, head.username, head.role_names, "", b"")
        request_id = session.scalars(select(RoleRequest.id).where(
            RoleRequest.state == "pending", RoleRequest.role == "org_head")).one()
        role_grants.confirm(session, request_id, decider)
        accounts.set_roles(session, _user("orgother").id, ["org_head"], admin)
        assert grants("orgother") == 1
        assert not _queue().rotation_pending
        # Moved to the other queue: the grant goes, the queue awaits a rotation.
        accounts.set_roles(session, _user("orgother").id, ["dic_handler"], admin)
        assert grants("orgother") == 0
        assert _queue().rotation_pending
        assert not _queue("dic").rotation_pending

        with db.transaction(session):
            session.execute(update(Queue).values(rotation_pending=False))
        accounts.reset_account(session, _user("dichandler").id, admin)
        assert grants("dichandler") == 0
        assert _queue("dic").rotation_pending
        assert not _queue().rotation_pending
        assert [e.target for e in _actions("queue.access-revoked")] == ["org", "dic"]
        assert audit.verify(session).ok


# --- grants by a head ------------------------------------------------------------------------


def test_a_head_grants_only_after_the_fingerprint_matches(office: Office, make_staff: Any) -> None:
    _file_reports(office.desk)
    late = make_staff("latecomer", "org_handler")
    late_client = office.app.test_client()
    AuthActions(late_client).login(late)
    home = late_client.get("/staff/").get_data(as_text=True)
    with office.app.app_context():
        user = _user("latecomer")
        fingerprint = crypto.fingerprint(accounts.verified_public_key(user))
        late_id = user.id
    assert fingerprint in home  # the member reads it out from their own page

    client = _head_client(office)
    page = client.get("/staff/queues/org/keys").get_data(as_text=True)
    assert "latecomer" in page
    # The head types what they hear; the page does not print what they should hear (#21.14):
    # not the fingerprint, nor any run of it, in any spelling.
    flat = re.sub(r"[\s-]", "", page).upper()
    compact = re.sub(r"[\s-]", "", fingerprint).upper()
    assert all(compact[i:i + 8] not in flat for i in range(0, len(compact) - 7, 4))
    token = csrf_token(client, "/staff/queues/org/keys")
    with office.app.app_context():
        before = _snapshot()
    wrong = fingerprint[:-1] + ("0" if fingerprint[-1] != "0" else "1")
    for typed in (wrong, fingerprint[5:], "x"):
        refused = client.post(f"/staff/queues/org/keys/grant/{late_id}",
                              data={f"g{late_id}-csrf_token": token,
                                    f"g{late_id}-fingerprint": typed})
        assert refused.status_code == 409
        assert "does not match this member" in refused.get_data(as_text=True)
    with office.app.app_context():
        assert _snapshot() == before

    typed = fingerprint.lower().replace(" ", "-")
    granted = client.post(f"/staff/queues/org/keys/grant/{late_id}",
                          data={f"g{late_id}-csrf_token": token, f"g{late_id}-fingerprint": typed})
    assert granted.status_code == 303
    with office.app.app_context():
        session = db.session()
        assert "latecomer" in [u.username for u in queues.keyholders(session, _queue())]
        staff = accounts.load_session(session, late_client.get_cookie(
            "portal_staff", path="/staff").value)  # type: ignore[union-attr]
        assert staff is not None
        _assert_opens_everything(staff)
        entry = _actions("queue.granted")[-1]
        assert '"via": "head"' in entry.details
        assert fingerprint in entry.details
        assert audit.verify(session).ok


def test_non_heads_cannot_grant_and_keyless_heads_are_told_why(office: Office,
                                                                make_staff: Any) -> None:
    make_staff("latecomer", "org_handler")
    with office.app.app_context():
        late_id = _user("latecomer").id
        before = _snapshot()
    handler = office.app.test_client()
    AuthActions(handler).login(office.handler)
    assert handler.get("/staff/queues/org/keys").status_code == 403
    assert handler.get("/staff/queues/").status_code == 403
    token = csrf_token(handler, "/staff/")
    for path in (f"/staff/queues/org/keys/grant/{late_id}", "/staff/queues/org/keys/rotate",
                 f"/staff/queues/org/keys/revoke/{late_id}"):
        response = handler.post(path, data={"csrf_token": token,
                                             f"g{late_id}-fingerprint": "0000",
                                             f"r{late_id}-reason": "x"})
        assert response.status_code == 403, path

    # A head of the other queue is no head of this one.
    dic_head = office.app.test_client()
    AuthActions(dic_head).login(make_staff("dichead", "dic_head"))
    assert dic_head.get("/staff/queues/org/keys").status_code == 403
    assert dic_head.get("/staff/queues/nosuch/keys").status_code == 404
    # dichead was created after `queues init`: a head without the key cannot grant.
    page = dic_head.get("/staff/queues/dic/keys").get_data(as_text=True)
    assert "You do not hold this queue" in page
    with office.app.app_context():
        dic_handler_fp = crypto.fingerprint(accounts.verified_public_key(_user("dichandler")))
        dic_handler_id = _user("dichandler").id
    response = dic_head.post(f"/staff/queues/dic/keys/grant/{dic_handler_id}",
                             data={"csrf_token": csrf_token(dic_head, "/staff/"),
                                   f"g{dic_handler_id}-fingerprint": dic_handler_fp})
    assert response.status_code == 409
    assert "You do not have access to this queue" in response.get_data(as_text=True)
    with office.app.app_context():
        assert _snapshot()[:4] == before[:4]


# --- the command line -------------------------------------------------------------------------


def test_cli_rotation_with_the_recovery_secret(office: Office) -> None:
    _file_reports(office.desk)
    secret = office.desk.recovery_secret
    with office.app.app_context():
        loot = _steal(office.desk.staff(office.handler))
        other = office.desk.staff(office.other)
        # A purged case keeps no wraps: rotation leaves it alone.
        session = db.session()
        purged_id = _cases()[0].id
        with db.transaction(session):
            session.execute(update(Case).where(Case.id == purged_id).values(
                keys_wrap=None, identity_wrap=None, epoch_id=None, purged=True))
        before = _snapshot()

    wrong = "-".join(["AAAA"] * 13)
    for bad in (wrong, "not a secret"):
        result = _cli(office.app, "rotate", "--queue", "org", stdin=bad + "\n")
        assert result.exit_code != 0
        assert "recovery" in result.output
    assert _cli(office.app, "rotate", "--queue", "nosuch", stdin=secret + "\n").exit_code != 0
    assert _cli(office.app, "rotate", stdin=secret + "\n").exit_code != 0  # neither option
    with office.app.app_context():
        assert _snapshot() == before

    result = _cli(office.app, "rotate", "--queue", "org", stdin=secret.lower() + "\n")
    assert result.exit_code == 0, result.output
    assert "new key epoch 2" in result.output
    assert "1 case(s) re-sealed" in result.output
    assert "orghandler" in result.output
    assert "orgother" in result.output
    with office.app.app_context():
        session = db.session()
        assert _queue().current_epoch == 2
        assert _queue("dic").current_epoch == 1
        assert session.get(Case, purged_id).epoch_id is None  # type: ignore[union-attr]
        with pytest.raises(crypto.DecryptionFailed):
            content.CaseKeys.unseal(loot.epoch_private, _cases()[1].keys_wrap or b"")
        assert session.get(QueueEpoch, loot.epoch_id) is None
        _assert_opens_everything(other)
        entry = _actions("queue.rotated")[-1]
        assert '"via": "recovery"' in entry.details
        assert audit.verify(session).ok
    assert _cli(office.app, "verify-recovery", stdin=secret + "\n").exit_code == 0


def test_a_queue_without_keys_cannot_rotate(office: Office) -> None:
    with office.app.app_context():
        queues.create_escalation_queue(db.session(), "市纪委监委信访室", "City petitions office",
                                       audit.CLI)
        before = _snapshot()
        with pytest.raises(queues.QueueError) as refused:
            keys.rotate(db.session(), "escalation", recovery_secret=office.desk.recovery_secret,
                        actor=audit.CLI)
        assert refused.value.code == "no-keys"
    result = _cli(office.app, "rotate", "--queue", "escalation",
                  stdin=office.desk.recovery_secret + "\n")
    assert result.exit_code != 0
    assert "no keys yet" in result.output
    checked = _cli(office.app, "verify-recovery", stdin=office.desk.recovery_secret + "\n")
    assert checked.exit_code == 0
    assert "Queue escalation: no keys yet" in checked.output
    with office.app.app_context():
        assert _snapshot()[:4] == before[:4]


def test_verify_recovery_passes_then_fails_on_tampering(office: Office) -> None:
    secret = office.desk.recovery_secret
    good = _cli(office.app, "verify-recovery", stdin=secret + "\n")
    assert good.exit_code == 0, good.output
    assert "Queue org: epoch 1 opens" in good.output
    assert "Queue dic: epoch 1 opens" in good.output

    wrong = _cli(office.app, "verify-recovery", stdin="-".join(["AAAA"] * 13) + "\n")
    assert wrong.exit_code != 0
    assert "does not match" in wrong.output

    with office.app.app_context():
        session = db.session()
        recovery_public = queues.recovery_public_key(session)
        assert recovery_public is not None
        dic = _queue("dic")
        # Someone who can write the database seals a key of their own to the recovery key.
        _public, impostor = crypto.generate_keypair()
        with db.transaction(session):
            session.execute(update(QueueEpoch).where(QueueEpoch.queue_id == dic.id).values(
                recovery_wrap=crypto.seal(recovery_public, impostor)))
    tampered = _cli(office.app, "verify-recovery", stdin=secret + "\n")
    assert tampered.exit_code != 0
    assert "Queue org: epoch 1 opens" in tampered.output
    assert "Queue dic: epoch 1 does NOT open" in tampered.output
    # Rotating such a queue with the recovery secret is refused, and changes nothing.
    with office.app.app_context():
        before = _snapshot()
    assert _cli(office.app, "rotate", "--queue", "dic", stdin=secret + "\n").exit_code != 0
    with office.app.app_context():
        assert _snapshot()[:4] == before[:4]
        with db.transaction(db.session()):
            db.session().execute(update(QueueEpoch).where(QueueEpoch.queue_id == dic.id)
                                 .values(recovery_wrap=b"garbage"))
    assert _cli(office.app, "verify-recovery", stdin=secret + "\n").exit_code != 0


def test_rotate_due_rotates_only_due_or_pending_queues(office: Office) -> None:
    secret = office.desk.recovery_secret
    nothing = _cli(office.app, "rotate", "--due")  # no secret needed when nothing is due
    assert nothing.exit_code == 0
    assert "No queue is due" in nothing.output
    with office.app.app_context():
        session = db.session()
        org = _queue()
        today = clock.today()
        assert not keys.rotation_due(session, org, today)
        assert keys.rotation_due(session, org, today + dt.timedelta(days=366))
        with db.transaction(session):
            session.execute(update(QueueEpoch).where(QueueEpoch.queue_id == org.id).values(
                created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=400)))

    result = _cli(office.app, "rotate", "--due", stdin=secret + "\n")
    assert result.exit_code == 0, result.output
    assert "Queue org: new key epoch 2" in result.output
    assert "Queue dic" not in result.output
    with office.app.app_context():
        assert (_queue().current_epoch, _queue("dic").current_epoch) == (2, 1)
        with db.transaction(db.session()):
            db.session().execute(update(Queue).where(Queue.slug == "dic")
                                 .values(rotation_pending=True))
    result = _cli(office.app, "rotate", "--due", stdin=secret + "\n")
    assert result.exit_code == 0, result.output
    assert "Queue dic: new key epoch 2" in result.output
    assert "Queue org" not in result.output
    with office.app.app_context():
        assert (_queue().current_epoch, _queue("dic").current_epoch) == (2, 2)
        assert not _queue("dic").rotation_pending
    assert "No queue is due" in _cli(office.app, "rotate", "--due").output
