"""Content-free e-mail to a queue's members: a new case arrived, and a daily overdue digest.

An e-mail leaves the portal's protection: it crosses other servers and sits in mailboxes. So a
message says only that something waits in a queue (and, in the digest, how many cases are
overdue or due soon) — never a case number, a category, a name or anything a reporter wrote —
and asks the person to log in. Each member gets their own message, so no one sees the others'
addresses. Mail is off unless `smtp_host` is set; STARTTLS, when configured (the default), is
required: a server that does not offer it gets nothing rather than a cleartext message.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from casework import deadlines, queues
from casework.models import Case, CaseDeadline, DeadlineState, DigestSent, Queue
from portal import audit, state
from portal.config import Config
from portal.db import transaction


@dataclass(frozen=True)
class Mail:
    """One message to one recipient."""

    to: str
    subject: str
    body: str


@dataclass(frozen=True)
class Delivery:
    """What a periodic run sent: messages that went out, messages the server refused, and
    whether the batch failed as a whole (then nothing was recorded; the next run sends it)."""

    sent: int = 0
    refused: int = 0
    failed: bool = False


@dataclass(frozen=True)
class QueueDue:
    """A queue's digest counts: cases overdue, and cases due within `deadlines.SOON` days."""

    queue_id: int
    overdue: int
    soon: int


def _config() -> Config | None:
    """The mail settings, or None when mail is off (no SMTP host)."""
    cfg: Config = state.config()
    return cfg if cfg.smtp_host else None


def _warn(what: str, exc: BaseException) -> None:
    # Only the exception's type: its text may carry addresses (a refused recipient) or the
    # server's name, and a log line must carry neither.
    current_app.logger.warning("e-mail %s: %s", what, type(exc).__name__)


def _sender(cfg: Config) -> str:
    # A From header is mandatory; set PORTAL_SMTP_FROM to an address the relay accepts.
    return (cfg.smtp_from or (cfg.smtp_username if "@" in cfg.smtp_username else "")
            or "noreply@localhost")


def _footer(cfg: Config) -> str:
    link = f"{cfg.public_url.rstrip('/')}/staff/login" if cfg.public_url else ""
    lines = [link, ""] if link else []
    return "\n".join([*lines,
                      "本邮件由系统自动发送，不含任何举报内容，请勿回复。",
                      "This message was sent automatically and contains no report content; "
                      "please do not reply."]) + "\n"


def _message(cfg: Config, mail: Mail) -> EmailMessage:
    sender = _sender(cfg)
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    # RFC 3834: no out-of-office replies to a robot.
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(mail.body, cte="base64")
    return msg


@contextmanager
def _connection(cfg: Config) -> Iterator[smtplib.SMTP]:
    """One SMTP connection for a whole batch, secured as configured, logged in if asked."""
    timeout = cfg.smtp_timeout_seconds
    smtp: smtplib.SMTP
    if cfg.smtp_security == "tls":
        smtp = smtplib.SMTP_SSL(cfg.smtp_host, cfg.smtp_port, timeout=timeout,
                                context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=timeout)
    with smtp:
        if cfg.smtp_security == "starttls":
            # Raises SMTPNotSupportedError when not offered: no silent fall-back to cleartext.
            smtp.starttls(context=ssl.create_default_context())
        if cfg.smtp_username:
            smtp.login(cfg.smtp_username, cfg.smtp_password)
        yield smtp


def _send(cfg: Config, mails: Iterable[Mail]) -> Delivery:
    """Send a batch over one connection; return how many went out, how many the server
    refused, and whether the batch failed as a whole (no connection, a dropped one). Never
    raises for mail trouble."""
    batch = list(mails)
    if not batch:
        return Delivery()
    sent = refused = 0
    try:
        with _connection(cfg) as smtp:
            for mail in batch:
                try:
                    smtp.send_message(_message(cfg, mail))
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as exc:
                    # One refused recipient does not stop the others.
                    _warn("refused", exc)
                    refused += 1
                else:
                    sent += 1
    except (smtplib.SMTPException, OSError) as exc:
        # OSError covers refused connections, timeouts and TLS failures.
        _warn("not sent", exc)
        return Delivery(sent, refused, failed=True)
    return Delivery(sent, refused)


def _addresses(db: Session, queue: Queue) -> list[str]:
    """The addresses of the queue's active members who gave one (each once)."""
    seen: dict[str, None] = {}
    for user in queues.members(db, queue):
        if user.email:
            seen.setdefault(user.email, None)
    return list(seen)


def _new_case_mails(queue: Queue, addresses: list[str], cfg: Config) -> list[Mail]:
    subject = f"【{queue.name_zh}】有新的举报件 / New report in {queue.name_en}"
    body = (
        "您所在的队列有新的举报件，请登录处理。\n"
        f"队列：{queue.name_zh}\n\n"
        "A new report is waiting in your queue; please log in.\n"
        f"Queue: {queue.name_en}\n\n"
        + _footer(cfg)
    )
    return [Mail(to, subject, body) for to in addresses]


def case_arrived(db: Session, queue_id: int) -> int:
    """Tell the queue's members with an address that a case arrived (after the filing or the
    transfer-in committed); return how many messages went out. Never raises: the case is
    already safely filed, and a notice is best effort."""
    cfg = _config()
    if cfg is None:
        return 0
    try:
        owned = not db.in_transaction()
        queue = db.get(Queue, queue_id)
        mails = _new_case_mails(queue, _addresses(db, queue), cfg) if queue else []
        if owned:
            db.rollback()  # end our read transaction: no snapshot is held during SMTP
        return _send(cfg, mails).sent
    except Exception as exc:  # a notice never turns a committed filing into an error page
        _warn("not prepared", exc)
        return 0


def _deliver(db: Session, cfg: Config, mails: list[Mail], has_work: bool,
             record: Callable[[], None]) -> Delivery:
    """Send a batch with no database snapshot held, then record it in one transaction; a
    failed batch records nothing, so the next run tries again."""
    if db.in_transaction():
        db.rollback()
    if not has_work:
        return Delivery()
    delivery = _send(cfg, mails)
    if not delivery.failed:
        with transaction(db):
            record()
    return delivery


def send_new_case_notices(db: Session) -> Delivery:
    """Tell each queue's members that new reports arrived since the last notice (run hourly by
    cron): web filings are batched, so no e-mail reveals the minute a report was filed."""
    cfg = _config()
    if cfg is None:
        return Delivery()
    batches: list[tuple[int, int, list[Mail]]] = []
    for queue in db.scalars(select(Queue).order_by(Queue.id)):
        newest = db.scalar(select(func.max(Case.id)).where(
            Case.queue_id == queue.id, Case.id > queue.notified_case_id))
        if newest is not None:
            batches.append((queue.id, newest, _new_case_mails(queue, _addresses(db, queue), cfg)))
    def record() -> None:
        for queue_id, newest, _mails in batches:
            row = db.get(Queue, queue_id)
            if row is not None:
                row.notified_case_id = max(row.notified_case_id, newest)

    return _deliver(db, cfg, [m for *_ids, mails in batches for m in mails], bool(batches),
                    record)


def due_counts(db: Session, today: dt.date) -> list[QueueDue]:
    """Per queue with an overdue open clock: cases overdue, and other cases due soon.

    A case counts once, by its most urgent open clock (as the case lists show it): overdue
    when that clock's day has passed, due soon when it falls within `deadlines.SOON` working
    days. One aggregate query over stored ordinals, however many cases there are.
    """
    limit = deadlines.today_ordinal(db, today) + deadlines.SOON
    per_case = (
        select(CaseDeadline.queue_id, CaseDeadline.case_id,
               func.min(CaseDeadline.due_on).label("due_on"),
               func.min(CaseDeadline.due_ordinal).label("due_ordinal"))
        .where(CaseDeadline.state == DeadlineState.open)
        .group_by(CaseDeadline.queue_id, CaseDeadline.case_id)
        .subquery()
    )
    overdue = func.sum(case((per_case.c.due_on < today, 1), else_=0))
    soon = func.sum(case(((per_case.c.due_on >= today) & (per_case.c.due_ordinal <= limit), 1),
                         else_=0))
    rows = db.execute(
        select(per_case.c.queue_id, overdue.label("overdue"), soon.label("soon"))
        .group_by(per_case.c.queue_id)
        .having(overdue > 0)
        .order_by(per_case.c.queue_id)
    )
    return [QueueDue(r.queue_id, int(r.overdue), int(r.soon)) for r in rows]


def _digest_mails(queue: Queue, due: QueueDue, addresses: list[str], cfg: Config) -> list[Mail]:
    subject = f"【{queue.name_zh}】逾期提醒 / Overdue cases in {queue.name_en}"
    body = (
        f"您所在的队列有 {due.overdue} 件举报已超过办理期限，"
        f"另有 {due.soon} 件将在 {deadlines.SOON} 个工作日内到期。请登录处理。\n"
        f"队列：{queue.name_zh}\n\n"
        f"Reports in your queue past their deadline: {due.overdue}. "
        f"Due within {deadlines.SOON} working days: {due.soon}. Please log in.\n"
        f"Queue: {queue.name_en}\n\n"
        + _footer(cfg)
    )
    return [Mail(to, subject, body) for to in addresses]


def send_digests(db: Session, today: dt.date) -> Delivery:
    """Send each queue with overdue cases its members' daily digest (counts only), once a
    day per queue; return what went out."""
    cfg = _config()
    if cfg is None:
        return Delivery()
    done = set(db.scalars(select(DigestSent.queue_id).where(DigestSent.last_on >= today)))
    batches: list[tuple[int, str, QueueDue, list[Mail]]] = []
    for due in due_counts(db, today):
        queue = db.get(Queue, due.queue_id)
        if queue is None or queue.id in done:
            continue
        mails = _digest_mails(queue, due, _addresses(db, queue), cfg)
        batches.append((queue.id, queue.slug, due, mails))
    def record() -> None:
        for queue_id, slug, due, mails in batches:
            row = db.get(DigestSent, queue_id)
            if row is None:
                db.add(DigestSent(queue_id=queue_id, last_on=today))
            else:
                row.last_on = today
            audit.record(db, audit.SYSTEM, "notify.digest", slug, recipients=len(mails),
                         overdue=due.overdue, soon=due.soon)

    return _deliver(db, cfg, [m for *_queue, mails in batches for m in mails], bool(batches),
                    record)
