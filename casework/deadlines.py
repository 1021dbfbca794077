"""Case deadlines in working days (DESIGN.md, "Working days").

A clock starts on an event day and ends on the N-th working day after it (the event day does
not count). Its due date and that day's working-day ordinal are stored when it starts, so lists
and the dashboard sort and subtract on indexed integers. A due date reaching a year whose
schedule is not loaded is provisional (weekends only), and every open clock is recomputed when
the calendar changes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casework.models import NO_DUE, Case, CaseDeadline, DeadlineKind, DeadlineState
from portal import workdays
from portal.models import CalendarDay

SOON = 3  # working days: "due soon" from here on


def ordinal(db: Session, day: dt.date) -> int:
    """The working-day ordinal of a day: how many working days there are up to and including it.

    Days beyond the materialised calendar continue the count on weekends only.
    """
    value = db.scalar(select(CalendarDay.ordinal).where(CalendarDay.day == day))
    if value is not None:
        return value
    last = db.execute(select(CalendarDay.day, CalendarDay.ordinal)
                      .order_by(CalendarDay.day.desc()).limit(1)).first()
    if last is None or day < last.day:
        # An empty calendar (before `portal init`) or a day before it starts.
        return (day - dt.date(2000, 1, 3)).days * 5 // 7
    extra = sum((last.day + dt.timedelta(days=n)).weekday() < 5
                for n in range(1, (day - last.day).days + 1))
    return last.ordinal + extra


def soon_until(db: Session, today: dt.date) -> dt.date:
    """The last day still "due soon" from today: the last day whose working-day ordinal is at
    most today's plus SOON (so "due within N working days" is a date range on an index)."""
    limit = today_ordinal(db, today) + SOON
    last = db.scalar(select(func.max(CalendarDay.day)).where(CalendarDay.ordinal <= limit))
    if last is None or last < today:
        return today + dt.timedelta(days=2 * SOON + 7)  # no materialised calendar: generous
    return last


def today_ordinal(db: Session, today: dt.date) -> int:
    """Today's ordinal (one query; callers compute every row's distance from it)."""
    return ordinal(db, today)


def _compute(db: Session, cal: workdays.WorkCalendar, row: CaseDeadline) -> None:
    due = workdays.deadline(cal, row.start_on, row.working_days + row.extended_days)
    row.due_on, row.provisional = due.day, due.provisional
    row.due_ordinal = ordinal(db, due.day)


def start(db: Session, case: Case, kind: DeadlineKind, start_on: dt.date, working_days: int,
          cal: workdays.WorkCalendar | None = None) -> CaseDeadline:
    """Start a clock of N working days after `start_on` (caller's transaction)."""
    row = CaseDeadline(case_id=case.id, queue_id=case.queue_id, kind=kind,
                       state=DeadlineState.open, start_on=start_on, working_days=working_days,
                       extended_days=0)
    _compute(db, cal or workdays.load_calendar(db), row)
    db.add(row)
    db.flush()
    return row


def open_clocks(db: Session, case: Case) -> list[CaseDeadline]:
    """The running clocks of a case, most urgent first."""
    return list(db.scalars(select(CaseDeadline).where(
        CaseDeadline.case_id == case.id, CaseDeadline.state == DeadlineState.open)
        .order_by(CaseDeadline.due_ordinal, CaseDeadline.id)))


def all_clocks(db: Session, case: Case) -> list[CaseDeadline]:
    """Every clock of a case, in the order they started."""
    return list(db.scalars(select(CaseDeadline).where(CaseDeadline.case_id == case.id)
                           .order_by(CaseDeadline.id)))


def _stamp_met(db: Session, row: CaseDeadline, on: dt.date) -> None:
    """Mark a clock met on a day, with the working days it ran (stored for the dashboard)."""
    row.state, row.met_on, row.met_ordinal = DeadlineState.met, on, ordinal(db, on)
    row.took_days = row.met_ordinal - (row.due_ordinal - row.working_days - row.extended_days)


def meet(db: Session, case: Case, kind: DeadlineKind, on: dt.date) -> CaseDeadline | None:
    """Stop the open clock of this kind as met on a day (None when none was running)."""
    row = db.scalar(select(CaseDeadline).where(
        CaseDeadline.case_id == case.id, CaseDeadline.kind == kind,
        CaseDeadline.state == DeadlineState.open))
    if row is not None:
        _stamp_met(db, row, on)
    return row


def record_met(db: Session, case: Case, kind: DeadlineKind, start_on: dt.date,
               working_days: int, on: dt.date) -> CaseDeadline:
    """A clock started and met at once (a transfer out, measured against its deadline)."""
    row = start(db, case, kind, start_on, working_days)
    _stamp_met(db, row, on)
    return row


def cancel(db: Session, case: Case, *kinds: DeadlineKind) -> None:
    """Stop open clocks that no longer apply (all of them when no kind is named)."""
    for row in open_clocks(db, case):
        if not kinds or row.kind in kinds:
            row.state = DeadlineState.cancelled


def extend(db: Session, row: CaseDeadline, days: int) -> None:
    """Lengthen a running clock by N working days (延期; the caller records why)."""
    row.extended_days += days
    _compute(db, workdays.load_calendar(db), row)


def refresh(db: Session, case: Case) -> None:
    """Copy the most urgent open clock onto the case row, for lists sorted by urgency."""
    db.flush()
    clocks = open_clocks(db, case)
    first = clocks[0] if clocks else None
    case.next_due_on = first.due_on if first else None
    case.next_due_ordinal = first.due_ordinal if first else None
    case.urgency = first.due_ordinal if first else NO_DUE
    case.next_due_kind = first.kind if first else None
    case.next_due_provisional = bool(first and first.provisional)


def recompute_open(db: Session) -> int:
    """Calendar hook: recompute every open clock on the new calendar; returns how many moved.

    Runs in the calendar change's transaction, after the days were re-materialised.
    """
    cal = workdays.load_calendar(db)
    moved = 0
    touched: set[int] = set()
    for row in db.scalars(select(CaseDeadline).where(CaseDeadline.state == DeadlineState.open)):
        before = (row.due_on, row.due_ordinal, row.provisional)
        _compute(db, cal, row)
        if (row.due_on, row.due_ordinal, row.provisional) != before:
            moved += 1
            touched.add(row.case_id)
    # Met clocks keep their judgement consistent: a due date that was provisional is recomputed
    # and every ordinal follows the new calendar.
    for row in db.scalars(select(CaseDeadline).where(CaseDeadline.state == DeadlineState.met)):
        _compute(db, cal, row)
        if row.met_on is not None:
            _stamp_met(db, row, row.met_on)
    for case in db.scalars(select(Case).where(Case.id.in_(touched))):
        refresh(db, case)
    return moved


@dataclass(frozen=True)
class Standing:
    """Where a clock stands today, for display: due in N working days, or overdue by N."""

    kind: str
    due_on: dt.date
    days: int  # working days left (0 = due today) or, when overdue, working days late
    overdue: bool
    soon: bool
    provisional: bool


def standing(kind: str | None, due_on: dt.date | None, due_ordinal: int | None,
             provisional: bool, today: dt.date, today_ord: int) -> Standing | None:
    """A clock's standing from stored columns only (no calendar walk per row)."""
    if kind is None or due_on is None or due_ordinal is None:
        return None
    if today > due_on:
        return Standing(kind, due_on, max(1, today_ord - due_ordinal), True, False, provisional)
    left = due_ordinal - today_ord
    return Standing(kind, due_on, left, False, left <= SOON, provisional)


def of_case(case: Case, today: dt.date, today_ord: int) -> Standing | None:
    """The standing of a case's most urgent clock."""
    return standing(case.next_due_kind, case.next_due_on, case.next_due_ordinal,
                    case.next_due_provisional, today, today_ord)


def overdue_count(db: Session, queue_id: int, today: dt.date) -> int:
    """Open clocks of a queue already past their due day (an indexed count)."""
    return db.scalar(select(func.count()).select_from(CaseDeadline).where(
        CaseDeadline.queue_id == queue_id, CaseDeadline.state == DeadlineState.open,
        CaseDeadline.due_on < today)) or 0
