"""Read-only queries of the queue pages: lists from metadata only, never decrypting anything."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from casework import deadlines
from casework.models import Case, CaseState, CaseTransfer, Queue
from portal.models import StaffUser

PAGE = 50
# Cases without a running clock sort after every dated one.
NO_DUE = 2**31 - 1
by_urgency = func.coalesce(Case.next_due_ordinal, NO_DUE)


def _number(text: str) -> bool:
    """ASCII digits that fit a 32-bit id ("²".isdigit() is true, but int("²") fails)."""
    return text.isascii() and text.isdecimal() and len(text) <= 9


@dataclass(frozen=True)
class Filters:
    """The list's filters, as given in the query string (invalid values are ignored)."""

    state: str = ""
    assignee: str = ""  # "", "me", "none" or a user id
    category: int | None = None
    channel: str = ""
    due: str = ""  # "", "overdue", "soon"
    real_name: bool = False
    unread: bool = False


def _filtered(query: Select[Case], f: Filters, me: int, today: dt.date,
              today_ord: int) -> Select[Case]:
    if f.state in set(CaseState):
        query = query.where(Case.state == f.state)
    if f.assignee == "me":
        query = query.where(Case.assignee_id == me)
    elif f.assignee == "none":
        query = query.where(Case.assignee_id.is_(None))
    elif _number(f.assignee):
        query = query.where(Case.assignee_id == int(f.assignee))
    if f.category:
        query = query.where(Case.category_id == f.category)
    if f.channel:
        query = query.where(Case.channel == f.channel)
    if f.due == "overdue":
        query = query.where(Case.next_due_on < today)
    elif f.due == "soon":
        query = query.where(Case.next_due_on >= today,
                            Case.next_due_ordinal <= today_ord + deadlines.SOON)
    if f.real_name:
        query = query.where(Case.real_name.is_(True))
    if f.unread:
        query = query.where(Case.unread_replies > 0)
    return query


def parse_cursor(text: str) -> tuple[int, int] | None:
    """A keyset cursor "urgency.id" (None when absent or malformed)."""
    parts = text.split(".")
    if len(parts) != 2 or not all(_number(p) for p in parts):
        return None
    return int(parts[0]), int(parts[1])


def list_cases(db: Session, queue: Queue, f: Filters, me: int, today: dt.date, today_ord: int,
               after: tuple[int, int] | None) -> tuple[list[Case], str | None]:
    """One page of a queue's cases, most urgent first; returns the cursor of the next page."""
    query = _filtered(select(Case).where(Case.queue_id == queue.id), f, me, today, today_ord)
    if after is not None:
        urgency, last_id = after
        query = query.where(or_(by_urgency > urgency,
                                and_(by_urgency == urgency, Case.id > last_id)))
    rows = list(db.scalars(query.order_by(by_urgency, Case.id).limit(PAGE + 1)))
    cursor = None
    if len(rows) > PAGE:
        rows = rows[:PAGE]
        last = rows[-1]
        cursor = f"{last.next_due_ordinal if last.next_due_ordinal is not None else NO_DUE}" \
                 f".{last.id}"
    return rows, cursor


def transferred_out(db: Session, queue: Queue, limit: int = 20) -> list[tuple[str, str, dt.date]]:
    """Recent transfers out of this queue: (case number, destination queue, day), metadata only."""
    rows = db.execute(
        select(Case.case_no, Queue.name_zh, CaseTransfer.on)
        .join(Case, Case.id == CaseTransfer.case_id)
        .join(Queue, Queue.id == CaseTransfer.to_queue_id)
        .where(CaseTransfer.from_queue_id == queue.id)
        .order_by(CaseTransfer.id.desc()).limit(limit))
    return [(r[0], r[1], r[2]) for r in rows]


def usernames(db: Session, ids: set[int]) -> dict[int, str]:
    """Usernames of some accounts, by id."""
    if not ids:
        return {}
    rows = db.execute(select(StaffUser.id, StaffUser.username).where(StaffUser.id.in_(ids)))
    return {row.id: row.username for row in rows}


def member_queues(db: Session, roles: frozenset[str]) -> list[Queue]:
    """The queues a member with these roles belongs to."""
    return [q for q in db.scalars(select(Queue).order_by(Queue.is_escalation, Queue.id))
            if q.roles & roles]
