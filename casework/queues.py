"""Queues as data, their key epochs, grants and the installation recovery key.

A queue's private key exists in the database only sealed: to each member's public key (a
grant) and to the offline recovery key. Every public key is checked against its MAC before
anything is sealed to it, so someone who can write the database cannot slip in their own key.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.models import (
    Case,
    Category,
    CategoryKind,
    Queue,
    QueueEpoch,
    QueueGrant,
    RecoveryKey,
)
from portal import accounts, audit, crypto, state
from portal.db import transaction
from portal.errors import DomainError
from portal.models import AccountStatus, Role, StaffRole, StaffUser

ORG, DIC = "org", "dic"
DEFAULT_QUEUES = (
    (ORG, "中共××县委组织部干部监督举报中心", "Organization Department reporting centre",
     f"{Role.org_handler} {Role.org_head}", Role.org_head),
    (DIC, "××县纪委监委信访室", "Discipline Inspection Commission petitions office",
     f"{Role.dic_handler} {Role.dic_head}", Role.dic_head),
)
DEFAULT_CATEGORIES: tuple[tuple[str, CategoryKind, str, str, str, list[tuple[str, str]]], ...] = (
    ("selection", CategoryKind.ordinary, "选人用人问题", "Cadre selection and appointment", ORG, [
        ("跑官要官", "Seeking posts"), ("买官卖官", "Buying or selling posts"),
        ("拉票贿选", "Canvassing or bribery in elections"), ("造假骗官", "Fraud to obtain a post"),
        ("带病提拔", "Promotion despite known problems"),
        ("突击提拔调整干部", "Rushed promotions or transfers"),
        ("超职数配备干部", "Posts beyond the approved number"),
        ("违反程序选拔任用干部", "Selection in breach of procedure"),
    ]),
    ("objection", CategoryKind.objection, "对公示对象有异议",
     "Objection to a person in a pre-appointment notice", ORG, []),
    ("discipline", CategoryKind.ordinary, "违纪违法问题", "Violations of discipline or law", DIC, [
        ("违反政治纪律", "Political discipline"), ("违反组织纪律", "Organizational discipline"),
        ("违反廉洁纪律", "Integrity discipline"), ("违反群众纪律", "Discipline towards the public"),
        ("违反工作纪律", "Work discipline"), ("违反生活纪律", "Conduct in private life"),
        ("职务违法犯罪", "Duty-related crimes"),
    ]),
    ("suggestion", CategoryKind.suggestion, "批评建议", "Criticism and suggestions", DIC, [
        ("对党风廉政建设和反腐败工作的批评建议",
         "On Party conduct, integrity and anti-corruption work"),
    ]),
)
# Dispositions offered on acceptance (per queue, editable): the commission's follow
# 《纪检监察机关处理检举控告工作规则》第十七条.
DEFAULT_DISPOSITIONS = {
    ORG: (("核查", "Verification"), ("函询", "Written inquiry"),
          ("转交有关单位", "Passed to the unit concerned"), ("了结", "Closed without action")),
    DIC: (("谈话函询", "Talk or written inquiry"), ("初步核实", "Preliminary verification"),
          ("暂存待查", "Kept pending"), ("予以了结", "Closed without action")),
}
RECOVERY_ROW = 1


def dispositions_json(slug: str) -> str:
    """The default dispositions of a queue as stored (the commission's for other queues)."""
    pairs = DEFAULT_DISPOSITIONS.get(slug, DEFAULT_DISPOSITIONS[DIC])
    return json.dumps([{"zh": z, "en": e} for z, e in pairs], ensure_ascii=False)


def dispositions(queue: Queue) -> list[dict[str, str]]:
    """A queue's dispositions: [{"zh", "en"}]."""
    items = json.loads(queue.dispositions or "[]")
    return [d for d in items if isinstance(d, dict) and d.get("zh")]


class QueueError(DomainError):
    """A queue operation that cannot be done; `code` names the reason (casework.messages)."""


def mac_key() -> bytes:
    return state.secrets().pubkey_mac_key


def epoch_owner(queue: Queue, epoch: int) -> str:
    return f"queue:{queue.slug}:{epoch}"


def ensure_defaults(db: Session) -> list[str]:
    """Create the two default queues (without keys) and the default routing table once."""
    made: list[str] = []
    with transaction(db):
        by_slug = {q.slug: q for q in db.scalars(select(Queue))}
        for slug, zh, en, roles, head in DEFAULT_QUEUES:
            if slug not in by_slug:
                by_slug[slug] = Queue(slug=slug, name_zh=zh, name_en=en, member_roles=roles,
                                      head_role=head)
                db.add(by_slug[slug])
                made.append(zh)
        for queue in by_slug.values():
            if not dispositions(queue):
                queue.dispositions = dispositions_json(queue.slug)
        db.flush()
        if db.scalar(select(Category.id).limit(1)) is None:
            for position, (code, kind, zh, en, slug, subtypes) in enumerate(DEFAULT_CATEGORIES):
                db.add(Category(
                    code=code, kind=kind, name_zh=zh, name_en=en, position=position,
                    queue_id=by_slug[slug].id,
                    subtypes=json.dumps([{"zh": z, "en": e} for z, e in subtypes],
                                        ensure_ascii=False),
                ))
    return made


def queue_by_slug(db: Session, slug: str) -> Queue:
    """A queue by its short name."""
    queue = db.scalar(select(Queue).where(Queue.slug == slug))
    if queue is None:
        raise QueueError("no-such-queue")
    return queue


def current_epoch(db: Session, queue: Queue) -> QueueEpoch | None:
    """The epoch new reports are sealed to (None for a queue without keys)."""
    if not queue.current_epoch:
        return None
    return db.scalar(select(QueueEpoch).where(QueueEpoch.queue_id == queue.id,
                                              QueueEpoch.epoch == queue.current_epoch))


def epoch_public_key(queue: Queue, epoch: QueueEpoch) -> bytes:
    """The epoch's public key after checking its MAC (KeyIntegrityError if it was swapped)."""
    return crypto.check_public_key(mac_key(), epoch_owner(queue, epoch.epoch),
                                   epoch.public_key, epoch.public_key_mac)


def members(db: Session, queue: Queue) -> list[StaffUser]:
    """Active accounts holding one of the queue's roles."""
    return list(db.scalars(
        select(StaffUser).join(StaffRole)
        .where(StaffRole.role.in_(queue.roles), StaffUser.status == AccountStatus.active)
        .order_by(StaffUser.username).distinct()
    ))


def _holds_grant(db: Session, user: StaffUser, epoch: QueueEpoch) -> bool:
    return db.scalar(select(QueueGrant.id).where(
        QueueGrant.epoch_id == epoch.id, QueueGrant.user_id == user.id,
        QueueGrant.key_generation == user.key_generation)) is not None


def _grant_holders(db: Session, users: list[StaffUser], epoch: QueueEpoch) -> set[int]:
    """The ids of those users with a grant to the epoch made for their current key generation
    (what `_holds_grant` asks of one user, for all of them in one query)."""
    generation = {u.id: u.key_generation for u in users}
    if not generation:
        return set()
    rows = db.execute(select(QueueGrant.user_id, QueueGrant.key_generation).where(
        QueueGrant.epoch_id == epoch.id, QueueGrant.user_id.in_(generation)))
    return {user_id for user_id, key_generation in rows
            if generation[user_id] == key_generation}


def holds_key(db: Session, user_id: int, queue: Queue) -> bool:
    """Whether an active member holds a usable grant to the queue's current epoch: without
    it, a member's role alone lets them neither act on cases nor search the queue."""
    epoch = current_epoch(db, queue)
    user = db.get(StaffUser, user_id)
    return (epoch is not None and user is not None and user.is_active
            and bool(user.role_names & queue.roles) and _holds_grant(db, user, epoch))


def keyholders(db: Session, queue: Queue) -> list[StaffUser]:
    """Members who can open the queue's current epoch (a reset makes an old grant stale)."""
    epoch = current_epoch(db, queue)
    if epoch is None:
        return []
    everyone = members(db, queue)
    holders = _grant_holders(db, everyone, epoch)
    return [u for u in everyone if u.id in holders]


def is_open(db: Session, queue: Queue) -> bool:
    """Whether the queue can take reports: it has keys and at least one active keyholder."""
    return bool(keyholders(db, queue))


def lacking_access(db: Session, queue: Queue) -> list[StaffUser]:
    """Members without a usable grant to the current epoch (a head must grant them)."""
    epoch = current_epoch(db, queue)
    everyone = members(db, queue)
    holders = _grant_holders(db, everyone, epoch) if epoch is not None else set()
    return [u for u in everyone if u.id not in holders]


def seal_to_member(db: Session, epoch: QueueEpoch, user: StaffUser, private: bytes) -> None:
    public = accounts.verified_public_key(user)
    db.add(QueueGrant(epoch_id=epoch.id, user_id=user.id, key_generation=user.key_generation,
                      wrap=crypto.seal(public, private)))


def format_recovery_secret(private: bytes) -> str:
    """The recovery secret as people copy it: base32 in groups of four."""
    text = base64.b32encode(private).decode().rstrip("=")
    return "-".join(text[i:i + 4] for i in range(0, len(text), 4))


def parse_recovery_secret(text: str) -> bytes:
    """Inverse of :func:`format_recovery_secret`; tolerant of spaces, dashes and case."""
    cleaned = re.sub(r"[\s-]", "", text).upper()
    try:
        raw = base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    except (binascii.Error, ValueError):
        raise QueueError("bad-recovery-secret") from None
    if len(raw) != crypto.KEY_BYTES:
        raise QueueError("bad-recovery-secret")
    return raw


def recovery_public_key(db: Session) -> bytes | None:
    """The installation's recovery public key after checking its MAC (None before the first
    `queues init`). A swapped key is a QueueError ("recovery-key-integrity"), so every caller,
    page or command, refuses with a clear message instead of sealing anything to it."""
    row = db.get(RecoveryKey, RECOVERY_ROW)
    if row is None:
        return None
    try:
        return crypto.check_public_key(mac_key(), "recovery", row.public_key,
                                       row.public_key_mac)
    except crypto.KeyIntegrityError:
        raise QueueError("recovery-key-integrity") from None


@dataclass
class InitReport:
    """What `queues init` did."""

    recovery_secret: str | None = None
    keyed: list[Queue] = field(default_factory=list)
    lacking: dict[str, list[str]] = field(default_factory=dict)
    without_keyholder: list[str] = field(default_factory=list)


def _unheld_and_empty(db: Session, queue: Queue) -> bool:
    """A keyed queue nobody can open and that holds no case: a new epoch loses nothing."""
    return not keyholders(db, queue) and db.scalar(
        select(Case.id).where(Case.queue_id == queue.id).limit(1)) is None


def init_keys(db: Session, actor: audit.Actor = audit.CLI, *,
              rekey_unheld_empty: bool = False) -> InitReport:
    """Give every keyless queue its first epoch; idempotent for queues that have keys.

    `portal demo` passes `rekey_unheld_empty`: a queue keyed before any member existed, and
    still without cases, gets a fresh epoch sealed to the demo accounts.
    """
    report = InitReport()
    with transaction(db):
        stored_recovery_public = recovery_public_key(db)
        if stored_recovery_public is None:
            stored_recovery_public, recovery_private = crypto.generate_keypair()
            db.add(RecoveryKey(id=RECOVERY_ROW, public_key=stored_recovery_public,
                               public_key_mac=crypto.public_key_mac(mac_key(), "recovery",
                                                                    stored_recovery_public)))
            report.recovery_secret = format_recovery_secret(recovery_private)
            audit.record(db, actor, "recovery.created",
                         fingerprint=crypto.fingerprint(stored_recovery_public))
        for queue in db.scalars(select(Queue).order_by(Queue.id)):
            if queue.current_epoch and not (rekey_unheld_empty and _unheld_and_empty(db, queue)):
                continue
            number = queue.current_epoch + 1
            public, private = crypto.generate_keypair()
            epoch = QueueEpoch(
                queue_id=queue.id, epoch=number, public_key=public,
                public_key_mac=crypto.public_key_mac(mac_key(), epoch_owner(queue, number),
                                                     public),
                recovery_wrap=crypto.seal(stored_recovery_public, private))
            db.add(epoch)
            db.flush()
            queue.current_epoch = number
            granted = []
            for user in members(db, queue):
                if user.public_key is not None:
                    seal_to_member(db, epoch, user, private)
                    granted.append(user.username)
            report.keyed.append(queue)
            audit.record(db, actor, "queue.keys-created", queue.slug, epoch=number, granted=granted,
                         fingerprint=crypto.fingerprint(public))
        db.flush()
        for queue in db.scalars(select(Queue).order_by(Queue.id)):
            report.lacking[queue.slug] = [u.username for u in lacking_access(db, queue)]
            if not keyholders(db, queue):
                report.without_keyholder.append(queue.slug)
    return report


def grant_with_recovery(db: Session, queue_slug: str, username: str, secret: str,
                        actor: audit.Actor = audit.CLI) -> StaffUser:
    """Grant a member the queue's current epoch using the offline recovery secret."""
    recovery_private = parse_recovery_secret(secret)
    with transaction(db):
        queue = queue_by_slug(db, queue_slug)
        epoch = current_epoch(db, queue)
        if epoch is None:
            raise QueueError("no-keys")
        stored_recovery_public = recovery_public_key(db)
        if stored_recovery_public is None or not crypto.equal(crypto.public_of(recovery_private),
                                                      stored_recovery_public):
            raise QueueError("wrong-recovery-secret")
        user = db.scalar(select(StaffUser).where(StaffUser.username == username.strip().lower()))
        if user is None or not user.is_active:
            raise QueueError("no-such-member")
        if not user.role_names & queue.roles:
            raise QueueError("not-a-member")
        private = crypto.unseal(recovery_private, epoch.recovery_wrap)
        if not crypto.equal(crypto.public_of(private), epoch_public_key(queue, epoch)):
            raise QueueError("epoch-key-mismatch")
        db.query(QueueGrant).filter_by(epoch_id=epoch.id, user_id=user.id).delete()
        seal_to_member(db, epoch, user, private)
        audit.record(db, actor, "queue.granted", queue.slug, user=user.username,
                     epoch=epoch.epoch, via="recovery",
                     fingerprint=crypto.fingerprint(accounts.verified_public_key(user)))
    return user


def epoch_private_key(db: Session, staff: accounts.CurrentStaff, epoch_id: int) -> bytes:
    """Open an epoch's private key with the logged-in member's key; QueueError if no access.

    Access needs both a current role of the queue and a grant made for the account's current
    key generation.
    """
    user = db.get(StaffUser, staff.user_id)
    epoch = db.get(QueueEpoch, epoch_id)
    queue = db.get(Queue, epoch.queue_id) if epoch else None
    grant = db.scalar(select(QueueGrant).where(QueueGrant.epoch_id == epoch_id,
                                               QueueGrant.user_id == staff.user_id))
    if (user is None or queue is None or grant is None or not staff.roles & queue.roles
            or grant.key_generation != user.key_generation):
        raise QueueError("no-access")
    return crypto.unseal(staff.private_key(db), grant.wrap)


def set_route(db: Session, category_id: int, queue_id: int, active: bool,
              actor: audit.Actor) -> Category:
    """Change one row of the routing table: which queue a category goes to, and whether the
    form offers it."""
    with transaction(db):
        category = db.get(Category, category_id)
        queue = db.get(Queue, queue_id)
        if category is None:
            raise QueueError("no-such-category")
        if queue is None or queue.is_escalation:
            raise QueueError("no-such-queue")
        before = (category.queue.slug, category.active)
        category.queue_id, category.active = queue.id, active
        audit.record(db, actor, "routing.changed", category.code, before=list(before),
                     after=[queue.slug, active])
    return category


def create_escalation_queue(db: Session, name_zh: str, name_en: str,
                            actor: audit.Actor) -> Queue:
    """Configure the escalation queue (上级) for reports concerning a body's principal leader.

    Its members hold the `escalation_handler` role only, so nobody at the body concerned
    (whose heads hold the default queues' roles) can open it. It starts without keys, like
    every queue: `queues init` gives it its first epoch.
    """
    role = Role.escalation_handler
    with transaction(db):
        if db.scalar(select(Queue.id).where(Queue.is_escalation)) is not None:
            raise QueueError("escalation-exists")
        queue = Queue(slug="escalation", name_zh=name_zh.strip()[:100],
                      name_en=name_en.strip()[:100], is_escalation=True,
                      dispositions=dispositions_json(DIC),
                      member_roles=role, head_role=role)
        db.add(queue)
        db.flush()
        audit.record(db, actor, "routing.escalation-created", queue.slug, roles=[role])
    return queue


@dataclass(frozen=True)
class QueueSettings:
    """A queue's casework settings as an admin edits them."""

    dispositions: list[tuple[str, str]]
    decision_days: int
    transfer_days: int
    conclusion_days: int
    notice_days: int
    signoff_required: bool


MAX_DEADLINE_DAYS = 250


def parse_dispositions(text: str) -> list[tuple[str, str]]:
    """One disposition per line, "中文 | English" (the English part is optional)."""
    items = []
    for line in text.splitlines():
        zh, _, en = line.partition("|")
        if zh.strip():
            items.append((zh.strip()[:100], (en.strip() or zh.strip())[:100]))
    return items


def update_settings(db: Session, queue_id: int, settings: QueueSettings,
                    actor: audit.Actor) -> Queue:
    """Change a queue's dispositions, deadlines (working days) and sign-off rule; audited.

    Running clocks keep the deadline they started with; new clocks use the new numbers.
    """
    days = (settings.decision_days, settings.transfer_days, settings.conclusion_days,
            settings.notice_days)
    if not settings.dispositions or len(settings.dispositions) > 20:
        raise QueueError("bad-dispositions")
    if any(not 1 <= d <= MAX_DEADLINE_DAYS for d in days):
        raise QueueError("bad-days")
    with transaction(db):
        queue = db.get(Queue, queue_id)
        if queue is None:
            raise QueueError("no-such-queue")
        queue.dispositions = json.dumps([{"zh": z, "en": e} for z, e in settings.dispositions],
                                        ensure_ascii=False)
        (queue.decision_days, queue.transfer_days, queue.conclusion_days,
         queue.notice_days) = days
        queue.signoff_required = settings.signoff_required
        audit.record(db, actor, "queue.settings", queue.slug,
                     dispositions=[z for z, _ in settings.dispositions], days=list(days),
                     signoff=settings.signoff_required)
    return queue


def all_queues(db: Session) -> list[Queue]:
    """Every queue, defaults first."""
    return list(db.scalars(select(Queue).order_by(Queue.is_escalation, Queue.id)))


def all_categories(db: Session) -> list[Category]:
    """The whole routing table in form order (inactive rows included)."""
    return list(db.scalars(select(Category).order_by(Category.position)))
