"""Queue key grants by heads, revocation and rotation (DESIGN.md, "Grants, revocation, rotation").

A head of a queue who holds its key grants it to a member after comparing the fingerprint the
member reads out. Revoking a member, an account losing its roles, and a yearly schedule lead to
a **rotation**: a new epoch key pair, every retained case's keys re-sealed to it, and every older
epoch deleted with all its grants. A copy of an old wrap (a backup, a free page, an ex-member's
memory) then opens no wrap the database still holds.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from casework import content, queues
from casework.models import Case, Queue, QueueEpoch, QueueGrant
from casework.queues import QueueError
from portal import accounts, audit, clock, crypto, state
from portal.db import transaction
from portal.models import StaffUser

REASON_MAX = 500
# Opens one epoch's private key (with a head's grant, or with the recovery secret).
EpochOpener = Callable[[Queue, QueueEpoch], bytes]


@dataclass
class RotationReport:
    """What one rotation did."""

    queue: str
    epoch: int
    fingerprint: str
    regranted: list[str] = field(default_factory=list)
    cases: int = 0
    # Members whose stored public key failed its MAC: not granted the new epoch.
    key_integrity_failed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RecoveryCheck:
    """The result of opening one queue's current epoch with the recovery secret."""

    queue: str
    epoch: int
    fingerprint: str
    error: str | None = None  # a QueueError code; None when the check passed

    @property
    def ok(self) -> bool:
        """Whether the recovery secret opens this queue's current epoch."""
        return self.error is None


@dataclass(frozen=True)
class MemberKey:
    """A member as a head sees them on the grant page."""

    user: StaffUser
    fingerprint: str | None  # None when the stored public key fails its integrity check


@dataclass(frozen=True)
class QueueKeysView:
    """What a head sees on a queue's key page."""

    queue: Queue
    epoch: QueueEpoch | None
    fingerprint: str | None
    holds_key: bool  # the head themselves can open the current epoch
    due: bool
    lacking: list[MemberKey]
    # Accounts holding any grant to the queue, each with whether it opens the current epoch.
    holders: list[tuple[StaffUser, bool]]


def normalize_fingerprint(text: str) -> str:
    """A fingerprint as compared: spaces, dashes, case and full-width forms do not matter."""
    return re.sub(r"[\s\-\u2010-\u2015\u2212]", "", unicodedata.normalize("NFKC", text)).upper()


def member_fingerprint(user: StaffUser) -> str | None:
    """The fingerprint of an account's MAC-checked public key (None if the check fails)."""
    try:
        return crypto.fingerprint(accounts.verified_public_key(user))
    except crypto.KeyIntegrityError:
        return None


def epoch_fingerprint(queue: Queue, epoch: QueueEpoch) -> str | None:
    """The fingerprint of an epoch's MAC-checked public key (None if the check fails)."""
    try:
        return crypto.fingerprint(queues.epoch_public_key(queue, epoch))
    except crypto.KeyIntegrityError:
        return None


def is_head(staff: accounts.CurrentStaff, queue: Queue) -> bool:
    """Whether the logged-in person is a head of the queue."""
    return staff.has(queue.head_role)


def headed_queues(db: Session, staff: accounts.CurrentStaff) -> list[Queue]:
    """The queues the logged-in person heads."""
    return [q for q in queues.all_queues(db) if is_head(staff, q)]


def queue_for_head(db: Session, staff: accounts.CurrentStaff, queue_slug: str) -> Queue:
    """A queue the logged-in person heads (QueueError no-such-queue / not-a-head)."""
    queue = queues.queue_by_slug(db, queue_slug)
    if not is_head(staff, queue):
        raise QueueError("not-a-head")
    return queue


def grant_holders(db: Session, queue: Queue) -> list[StaffUser]:
    """Accounts holding any grant to any epoch of the queue (usable or stale)."""
    return list(db.scalars(
        select(StaffUser).join(QueueGrant, QueueGrant.user_id == StaffUser.id)
        .join(QueueEpoch, QueueEpoch.id == QueueGrant.epoch_id)
        .where(QueueEpoch.queue_id == queue.id).order_by(StaffUser.username).distinct()))


def lacking_with_fingerprints(db: Session, queue: Queue) -> list[MemberKey]:
    """Members without a usable grant, each with the fingerprint a head compares."""
    return [MemberKey(u, member_fingerprint(u)) for u in queues.lacking_access(db, queue)]


def queue_keys_view(db: Session, staff: accounts.CurrentStaff, queue_slug: str,
                    today: dt.date) -> QueueKeysView:
    """The key page of a queue the logged-in person heads."""
    queue = queue_for_head(db, staff, queue_slug)
    epoch = queues.current_epoch(db, queue)
    usable = {u.id for u in queues.keyholders(db, queue)}
    return QueueKeysView(
        queue=queue, epoch=epoch,
        fingerprint=epoch_fingerprint(queue, epoch) if epoch else None,
        holds_key=staff.user_id in usable and bool(staff.roles & queue.roles),
        due=rotation_due(db, queue, today),
        lacking=lacking_with_fingerprints(db, queue),
        holders=[(u, u.id in usable) for u in grant_holders(db, queue)])


def rotation_due(db: Session, queue: Queue, today: dt.date) -> bool:
    """Whether the queue's current epoch is older than the configured rotation period."""
    epoch = queues.current_epoch(db, queue)
    if epoch is None:
        return False
    days = state.config().rotation_days
    return (today - epoch.created_at.astimezone(clock.zone()).date()).days >= days


def due_queues(db: Session, today: dt.date) -> list[Queue]:
    """Keyed queues whose epoch is due for rotation or whose rotation is pending."""
    return [q for q in queues.all_queues(db)
            if q.current_epoch and (q.rotation_pending or rotation_due(db, q, today))]


def _locked_queue(db: Session, queue_slug: str) -> Queue:
    """The queue row, locked for the transaction (PostgreSQL), so two rotations serialize."""
    queue = db.scalar(select(Queue).where(Queue.slug == queue_slug).with_for_update()
                      .execution_options(populate_existing=True))
    if queue is None:
        raise QueueError("no-such-queue")
    return queue


def _member(db: Session, queue: Queue, user_id: int) -> StaffUser:
    user = db.get(StaffUser, user_id)
    if user is None or not user.is_active:
        raise QueueError("no-such-member")
    if not user.role_names & queue.roles:
        raise QueueError("not-a-member")
    return user


def check_recovery_secret(db: Session, secret: str) -> bytes:
    """The recovery private key, once it is shown to match the stored recovery public key."""
    private = queues.parse_recovery_secret(secret)
    public = queues.recovery_public_key(db)
    if public is None or not crypto.equal(crypto.public_of(private), public):
        raise QueueError("wrong-recovery-secret")
    return private


def _checked(queue: Queue, epoch: QueueEpoch, private: bytes, mismatch: str) -> bytes:
    """The private key if its public half is the epoch's MAC-checked public key."""
    try:
        public = queues.epoch_public_key(queue, epoch)
    except crypto.KeyIntegrityError:
        raise QueueError("epoch-key-integrity") from None
    if not crypto.equal(crypto.public_of(private), public):
        raise QueueError(mismatch)
    return private


def _recovery_opener(recovery_private: bytes) -> EpochOpener:
    def open_epoch(queue: Queue, epoch: QueueEpoch) -> bytes:
        try:
            private = crypto.unseal(recovery_private, epoch.recovery_wrap)
        except crypto.DecryptionFailed:
            raise QueueError("epoch-key-mismatch") from None
        return _checked(queue, epoch, private, "epoch-key-mismatch")

    return open_epoch


def _staff_opener(db: Session, staff: accounts.CurrentStaff) -> EpochOpener:
    def open_epoch(queue: Queue, epoch: QueueEpoch) -> bytes:
        try:
            private = queues.epoch_private_key(db, staff, epoch.id)
        except crypto.DecryptionFailed:
            raise QueueError("grant-key-mismatch") from None
        return _checked(queue, epoch, private, "grant-key-mismatch")

    return open_epoch


def _rotate(db: Session, queue: Queue, open_epoch: EpochOpener, actor: audit.Actor,
            via: str) -> RotationReport:
    """Rotate inside the caller's transaction (see the module docstring)."""
    current = queues.current_epoch(db, queue)
    stored_recovery_public = queues.recovery_public_key(db)
    if current is None or stored_recovery_public is None:
        raise QueueError("no-keys")
    old = {e.id: e for e in db.scalars(select(QueueEpoch).where(QueueEpoch.queue_id == queue.id))}
    # Only those who could open the current epoch get the next one: a revoked member's grant
    # is gone by now, a reset member's grant is stale, a former member is no member.
    keepers = queues.keyholders(db, queue)

    number = max(e.epoch for e in old.values()) + 1
    public, private = crypto.generate_keypair()
    epoch = QueueEpoch(
        queue_id=queue.id, epoch=number, public_key=public,
        public_key_mac=crypto.public_key_mac(queues.mac_key(),
                                             queues.epoch_owner(queue, number), public),
        recovery_wrap=crypto.seal(stored_recovery_public, private))
    db.add(epoch)
    db.flush()

    report = RotationReport(queue.slug, number, crypto.fingerprint(public))
    # Opening the current epoch first proves the caller holds the key, even with no case.
    opened = {current.id: open_epoch(queue, current)}

    def private_of(epoch_id: int) -> bytes:
        if epoch_id not in opened:
            opened[epoch_id] = open_epoch(queue, old[epoch_id])
        return opened[epoch_id]

    for case in db.scalars(select(Case).where(Case.epoch_id.in_(list(old)))):
        if case.keys_wrap is None or case.epoch_id is None:  # purged: nothing left to open
            case.epoch_id = None
            continue
        old_private = private_of(case.epoch_id)
        case.keys_wrap = content.CaseKeys.unseal(old_private, case.keys_wrap).seal_to(public)
        if case.identity_wrap is not None:
            case.identity_wrap = crypto.seal(public, crypto.unseal(old_private,
                                                                   case.identity_wrap))
        case.epoch_id = epoch.id
        report.cases += 1

    for user in keepers:
        try:
            queues.seal_to_member(db, epoch, user, private)
        except crypto.KeyIntegrityError:
            report.key_integrity_failed.append(user.username)
        else:
            report.regranted.append(user.username)
    db.flush()
    db.execute(delete(QueueGrant).where(QueueGrant.epoch_id.in_(list(old))))
    db.execute(delete(QueueEpoch).where(QueueEpoch.id.in_(list(old))))
    queue.current_epoch = number
    queue.rotation_pending = False
    audit.record(db, actor, "queue.rotated", queue.slug, epoch=number,
                 fingerprint=report.fingerprint, regranted=report.regranted, cases=report.cases,
                 via=via, key_integrity_failed=report.key_integrity_failed)
    return report


def _run(work: Callable[[], RotationReport]) -> RotationReport:
    """Run a rotating use case; a concurrent change to the same rows is a clean refusal."""
    try:
        return work()
    except (IntegrityError, StaleDataError):
        raise QueueError("rotation-conflict") from None


def rotate(db: Session, queue_slug: str, *, staff: accounts.CurrentStaff | None = None,
           recovery_secret: str | None = None, actor: audit.Actor) -> RotationReport:
    """Rotate a queue's key epoch with a head's grant or with the recovery secret."""
    def work() -> RotationReport:
        with transaction(db):
            queue = _locked_queue(db, queue_slug)
            if not queue.current_epoch:
                raise QueueError("no-keys")
            if recovery_secret is not None:
                recovery_private = check_recovery_secret(db, recovery_secret)
                return _rotate(db, queue, _recovery_opener(recovery_private), actor, "recovery")
            if staff is None:
                raise QueueError("no-access")
            if not is_head(staff, queue):
                raise QueueError("not-a-head")
            return _rotate(db, queue, _staff_opener(db, staff), actor, "head")

    return _run(work)


def revoke(db: Session, staff: accounts.CurrentStaff, queue_slug: str, user_id: int,
           reason: str) -> RotationReport:
    """A head withdraws a member's access to the queue and rotates it at once."""
    reason = reason.strip()[:REASON_MAX]

    def work() -> RotationReport:
        with transaction(db):
            queue = _locked_queue(db, queue_slug)
            if not is_head(staff, queue):
                raise QueueError("not-a-head")
            if not reason:
                raise QueueError("reason-required")
            user = db.get(StaffUser, user_id)
            if user is None:
                raise QueueError("no-such-member")
            if user.id == staff.user_id:
                raise QueueError("revoke-self")
            if not _drop_grants(db, queue, user):
                raise QueueError("no-grant")
            audit.record(db, staff.actor, "queue.access-revoked", queue.slug,
                         user=user.username, reason=reason, via="head")
            return _rotate(db, queue, _staff_opener(db, staff), staff.actor, "head")

    return _run(work)


def grant(db: Session, staff: accounts.CurrentStaff, queue_slug: str, user_id: int,
          typed_fingerprint: str) -> StaffUser:
    """A head grants a member the current epoch after the fingerprint the member read out
    matches their stored (MAC-checked) public key."""
    with transaction(db):
        queue = queue_for_head(db, staff, queue_slug)
        epoch = queues.current_epoch(db, queue)
        if epoch is None:
            raise QueueError("no-keys")
        private = _staff_opener(db, staff)(queue, epoch)
        user = _member(db, queue, user_id)
        expected = member_fingerprint(user)
        if expected is None:
            raise QueueError("member-key-integrity")
        typed = normalize_fingerprint(typed_fingerprint)
        if not typed or not crypto.equal(typed.encode(), normalize_fingerprint(expected).encode()):
            raise QueueError("fingerprint-mismatch")
        db.execute(delete(QueueGrant).where(QueueGrant.epoch_id == epoch.id,
                                            QueueGrant.user_id == user.id))
        queues.seal_to_member(db, epoch, user, private)
        audit.record(db, staff.actor, "queue.granted", queue.slug, user=user.username,
                     epoch=epoch.epoch, via="head", fingerprint=expected)
    return user


def _drop_grants(db: Session, queue: Queue, user: StaffUser) -> int:
    """Delete a user's grants to every epoch of the queue; return how many there were."""
    ids = db.scalars(select(QueueGrant.id).join(QueueEpoch, QueueEpoch.id == QueueGrant.epoch_id)
                     .where(QueueEpoch.queue_id == queue.id, QueueGrant.user_id == user.id)).all()
    if ids:
        db.execute(delete(QueueGrant).where(QueueGrant.id.in_(ids)))
    return len(ids)


def on_access_lost(db: Session, user: StaffUser, roles: frozenset[str],
                   actor: audit.Actor) -> None:
    """Account hook, inside the account service's transaction: a member lost roles (reset,
    deactivation, role change). Their grants go; the queue is marked for rotation, which
    nobody can do here (an administrator holds no queue key)."""
    kept = user.role_names - roles
    for queue in queues.all_queues(db):
        if not queue.roles & roles or queue.roles & kept:
            continue
        # Wait for a rotation of this queue in progress, then see the grants it made.
        db.execute(select(Queue.id).where(Queue.id == queue.id).with_for_update())
        if _drop_grants(db, queue, user):
            queue.rotation_pending = True
            audit.record(db, actor, "queue.access-revoked", queue.slug, user=user.username,
                         reason="account")


def verify_recovery(db: Session, secret: str,
                    actor: audit.Actor = audit.CLI) -> list[RecoveryCheck]:
    """Prove the recovery secret opens every keyed queue's current epoch; audited, and
    nothing else is written."""
    with transaction(db):
        opener = _recovery_opener(check_recovery_secret(db, secret))
        checks = []
        for queue in queues.all_queues(db):
            epoch = queues.current_epoch(db, queue)
            if epoch is None:  # nothing sealed to the recovery key yet: nothing to check
                checks.append(RecoveryCheck(queue.slug, 0, ""))
                continue
            try:
                opener(queue, epoch)
            except QueueError as exc:
                checks.append(RecoveryCheck(queue.slug, epoch.epoch, "", exc.code))
            else:
                checks.append(RecoveryCheck(queue.slug, epoch.epoch,
                                            crypto.fingerprint(epoch.public_key)))
        audit.record(db, actor, "recovery.verified",
                     opened=[c.queue for c in checks if c.ok and c.epoch],
                     failed=[c.queue for c in checks if not c.ok])
    return checks
