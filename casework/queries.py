"""Read-only queries of the queue pages: lists from metadata only, never decrypting anything."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, literal_column, select, tuple_
from sqlalchemy.orm import Session

from casework import deadlines
from casework.models import NO_DUE, Case, CaseState, CaseTransfer, Queue
from portal.models import StaffUser

PAGE = 50


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
    # The urgency bounds follow from the dates (the ordinal never falls as the day rises):
    # they make both filters a range of the list's index.
    if f.due == "overdue":
        query = query.where(Case.next_due_on < today, Case.urgency <= today_ord)
    elif f.due == "soon":
        query = query.where(Case.next_due_on >= today,
                            Case.urgency.between(today_ord, today_ord + deadlines.SOON))
    if f.real_name:
        query = query.where(Case.real_name.is_(True))
    if f.unread:
        # Literally the condition of the partial index ix_case_queue_unread: with a bound
        # parameter, neither planner could tell that the index holds every matching row.
        query = query.where(Case.unread_replies > literal_column("0"))
    return query


def parse_cursor(text: str) -> tuple[int, int] | None:
    """A keyset cursor "urgency.id" (None when absent or malformed)."""
    parts = text.split(".")
    # Ten digits: a case without a clock has the urgency NO_DUE (2**31 - 1).
    if len(parts) != 2 or not all(p.isascii() and p.isdecimal() and len(p) <= 10
                                  for p in parts):
        return None
    urgency, last_id = int(parts[0]), int(parts[1])
    if urgency > NO_DUE or last_id > NO_DUE:
        return None
    return urgency, last_id


def list_cases(db: Session, queue: Queue, f: Filters, me: int, today: dt.date, today_ord: int,
               after: tuple[int, int] | None) -> tuple[list[Case], str | None]:
    """One page of a queue's cases, most urgent first; returns the cursor of the next page.

    The order is (urgency, id) within the queue: the first rows of the (queue_id, urgency,
    id) index, or of (queue_id, state, urgency, id) when filtered by state, so a page reads
    about PAGE rows whatever the size of the queue. The cursor is a row-value range of it.
    """
    query = _filtered(select(Case).where(Case.queue_id == queue.id), f, me, today, today_ord)
    if after is not None:
        query = query.where(tuple_(Case.urgency, Case.id) > tuple_(*after))
    rows = list(db.scalars(query.order_by(Case.urgency, Case.id).limit(PAGE + 1)))
    cursor = None
    if len(rows) > PAGE:
        rows = rows[:PAGE]
        cursor = f"{rows[-1].urgency}.{rows[-1].id}"
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
