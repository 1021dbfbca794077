"""Supervision figures (PRODUCT.md, "Supervision"): read-only SQL aggregates over metadata.

Nothing here selects an encrypted column: supervisors hold no queue key, and the figures are
counts, dates and stored working-day ordinals. A duration in working days is a subtraction of
ordinals (DESIGN.md, "Working days"): a clock of N working days started on day S is due on the
day whose ordinal is ord(S) + N, so its start ordinal is `due_ordinal - working_days -
extended_days`, and the time it took is `met_ordinal` minus that.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    distinct,
    func,
    select,
)
from sqlalchemy.orm import Session

from casework import deadlines
from casework.models import (
    Case,
    CaseDeadline,
    CaseEvent,
    CaseState,
    CaseTransfer,
    DeadlineKind,
    DeadlineState,
    Queue,
)
from portal import clock, workdays
from portal.models import StaffUser
from publicity.models import ChangeKind, ChangeStatus, Notice, NoticeChange, NoticePerson

OPEN = (CaseState.received, CaseState.accepted, CaseState.in_progress)
# The durations the dashboard reports: receipt → decision, acceptance → conclusion,
# conclusion → real-name feedback.
DURATIONS = (DeadlineKind.decision, DeadlineKind.conclusion, DeadlineKind.result_notice)
LIST_LIMIT = 200
MAX_RANGE_YEARS = 10


class RangeError(ValueError):
    """A date range the dashboard refuses; `code` names why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Period:
    """An inclusive range of calendar days, and optionally one queue."""

    start: dt.date
    end: dt.date
    queue_id: int | None = None

    @classmethod
    def checked(cls, start: dt.date, end: dt.date, queue_id: int | None = None) -> Period:
        """A valid period (RangeError for an inverted or absurdly long one)."""
        if end < start:
            raise RangeError("inverted")
        ten_years_on = (start.year + MAX_RANGE_YEARS, start.month, start.day)
        if (end.year, end.month, end.day) >= ten_years_on or start.year < 2000 \
                or end.year > 2100:
            raise RangeError("too-long")
        return cls(start, end, queue_id)


# A mapped column or SQL expression (SQLAlchemy's typing of the two differs).
Col = Any


def _in(column: Col, p: Period) -> ColumnElement[bool]:
    return column.between(p.start, p.end)


def _moment_in(column: Col, p: Period) -> ColumnElement[bool]:
    """A stored UTC moment within the period's days, as days are counted locally."""
    zone = clock.zone()
    start = dt.datetime.combine(p.start, dt.time(), zone).astimezone(dt.UTC)
    end = dt.datetime.combine(p.end + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)
    return and_(column >= start, column < end)


def _queue(column: Col, p: Period) -> ColumnElement[bool]:
    return column == p.queue_id if p.queue_id is not None else column.is_not(None)


# --- counts -------------------------------------------------------------------------------


@dataclass
class Counts:
    """Case counts of one queue (or all) for a period, and its backlog today."""

    received: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)
    real_name: int = 0
    anonymous: int = 0
    accepted: int = 0
    refused: int = 0
    transferred: int = 0
    withdrawn: int = 0
    concluded: int = 0
    open: int = 0
    overdue: int = 0
    extensions: int = 0


def counts(db: Session, p: Period, today: dt.date) -> dict[int, Counts]:
    """Counts per queue id; the caller adds them up for "all queues"."""
    result: dict[int, Counts] = {}

    def of(queue_id: int) -> Counts:
        return result.setdefault(queue_id, Counts())

    for row in db.execute(
            select(Case.queue_id, Case.channel, Case.real_name, func.count())
            .where(_in(Case.received_on, p), _queue(Case.queue_id, p))
            .group_by(Case.queue_id, Case.channel, Case.real_name)):
        c = of(row[0])
        c.received += row[3]
        c.by_channel[row[1]] = c.by_channel.get(row[1], 0) + row[3]
        if row[2]:
            c.real_name += row[3]
        else:
            c.anonymous += row[3]
    simple: list[tuple[str, Select[int, int]]] = [
        ("accepted", select(Case.queue_id, func.count()).where(
            _in(Case.accepted_on, p), _queue(Case.queue_id, p)).group_by(Case.queue_id)),
        ("concluded", select(Case.queue_id, func.count()).where(
            _in(Case.concluded_on, p), _queue(Case.queue_id, p)).group_by(Case.queue_id)),
        ("transferred", select(CaseTransfer.from_queue_id, func.count()).where(
            _in(CaseTransfer.on, p), _queue(CaseTransfer.from_queue_id, p))
         .group_by(CaseTransfer.from_queue_id)),
        ("open", select(Case.queue_id, func.count()).where(
            Case.state.in_(OPEN), _queue(Case.queue_id, p))
         # Grouped by state too, so the scan follows the covering index (state, queue_id…).
         .group_by(Case.state, Case.queue_id)),
        ("overdue", select(CaseDeadline.queue_id, func.count(distinct(CaseDeadline.case_id)))
         .where(CaseDeadline.state == DeadlineState.open,
                # The lower bound makes this a range on the covering (state, due_on…) index.
                CaseDeadline.due_on.between(workdays.MATERIALISED_FROM,
                                            today - dt.timedelta(days=1)),
                _queue(CaseDeadline.queue_id, p)).group_by(CaseDeadline.queue_id)),
        ("extensions", select(CaseEvent.queue_id, func.count()).where(
            CaseEvent.action == "extend", _moment_in(CaseEvent.at, p),
            _queue(CaseEvent.queue_id, p)).group_by(CaseEvent.queue_id)),
    ]
    for name, query in simple:
        for queue_id, n in db.execute(query):
            c = of(queue_id)
            setattr(c, name, getattr(c, name) + n)
    closed_as: dict[str, str] = {CaseState.not_accepted: "refused",
                                 CaseState.withdrawn: "withdrawn",
                                 CaseState.transferred: "transferred"}
    # One range scan of the covering (closed_on, queue_id, state) index for all three.
    for state, queue_id, n in db.execute(
            select(Case.state, Case.queue_id, func.count())
            .where(_in(Case.closed_on, p), Case.state.in_(closed_as), _queue(Case.queue_id, p))
            .group_by(Case.state, Case.queue_id)):
        c = of(queue_id)
        setattr(c, closed_as[state], getattr(c, closed_as[state]) + n)
    return result


def total(per_queue: Iterable[Counts]) -> Counts:
    """The sum of several queues' counts."""
    out = Counts()
    for c in per_queue:
        for name in ("received", "real_name", "anonymous", "accepted", "refused", "transferred",
                     "withdrawn", "concluded", "open", "overdue", "extensions"):
            setattr(out, name, getattr(out, name) + getattr(c, name))
        for channel, n in c.by_channel.items():
            out.by_channel[channel] = out.by_channel.get(channel, 0) + n
    return out


# --- durations in working days --------------------------------------------------------------


def _duration() -> Col:
    start = CaseDeadline.due_ordinal - CaseDeadline.working_days - CaseDeadline.extended_days
    return CaseDeadline.met_ordinal - start


@dataclass(frozen=True)
class Spread:
    """How long something took, in working days."""

    count: int
    median: float | None
    p90: float | None


def percentile(histogram: Sequence[tuple[int, int]], q: float) -> float | None:
    """The q-th percentile with linear interpolation between closest ranks (the same
    definition as PostgreSQL's percentile_cont), from (value, count) pairs sorted by value."""
    n = sum(count for _value, count in histogram)
    if n == 0:
        return None
    position = q * (n - 1)
    lower, upper = math.floor(position), math.ceil(position)
    low = high = None
    seen = 0
    for value, count in histogram:
        if low is None and lower < seen + count:
            low = value
        if upper < seen + count:
            high = value
            break
        seen += count
    if low is None or high is None:  # pragma: no cover - n > 0 always finds both ranks
        return None
    return low + (high - low) * (position - lower)


def spreads(db: Session, p: Period, by_queue: bool = False
            ) -> dict[tuple[int | None, str], Spread]:
    """Median and 90th percentile per duration kind (and queue), for clocks met in the period.

    PostgreSQL computes percentile_cont itself; elsewhere the same figure comes from a
    histogram of the (small, integer) durations, one grouped query either way.
    """
    duration = _duration()
    queue_col = CaseDeadline.queue_id if by_queue else None
    where = (CaseDeadline.kind.in_(DURATIONS), CaseDeadline.state == DeadlineState.met,
             _in(CaseDeadline.met_on, p), _queue(CaseDeadline.queue_id, p))
    keys = [CaseDeadline.kind] + ([CaseDeadline.queue_id] if queue_col is not None else [])
    out: dict[tuple[int | None, str], Spread] = {}
    if db.get_bind().dialect.name == "postgresql":
        rows: Any = db.execute(select(
            *keys, func.count(),
            func.percentile_cont(0.5).within_group(duration),
            func.percentile_cont(0.9).within_group(duration)).where(*where).group_by(*keys))
        for row in rows:
            queue_id = int(row[1]) if queue_col is not None else None
            out[(queue_id, str(row[0]))] = Spread(int(row[-3]), float(row[-2]), float(row[-1]))
        return out
    histograms: dict[tuple[int | None, str], list[tuple[int, int]]] = {}
    grouped: Any = db.execute(select(*keys, duration, func.count()).where(*where)
                      .group_by(*keys, duration).order_by(*keys, duration))
    for row in grouped:
        queue_id = int(row[1]) if queue_col is not None else None
        histograms.setdefault((queue_id, str(row[0])), []).append((int(row[-2]), int(row[-1])))
    for key, histogram in histograms.items():
        out[key] = Spread(sum(c for _v, c in histogram), percentile(histogram, 0.5),
                          percentile(histogram, 0.9))
    return out


@dataclass(frozen=True)
class Share:
    """Of the clocks of one kind falling due in the period: how many were met in time."""

    due: int
    in_time: int

    @property
    def percent(self) -> float | None:
        """The share met in time, in percent (None when nothing fell due)."""
        return round(100 * self.in_time / self.due, 1) if self.due else None


def shares(db: Session, p: Period) -> dict[str, Share]:
    """Per deadline kind: clocks due in the period (not cancelled) and those met by their day."""
    in_time = case((and_(CaseDeadline.state == DeadlineState.met,
                         CaseDeadline.met_on <= CaseDeadline.due_on), 1), else_=0)
    out: dict[str, Share] = {}
    # One plain range of the covering (kind, due_on, …) index per kind: no grouping sort.
    for kind in DeadlineKind:
        n, met = db.execute(
            select(func.count(), func.sum(in_time))
            .where(CaseDeadline.kind == kind, _in(CaseDeadline.due_on, p),
                   CaseDeadline.state != DeadlineState.cancelled,
                   _queue(CaseDeadline.queue_id, p))).one()
        if n:
            out[kind] = Share(n, int(met or 0))
    return out


# --- lists ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """An open clock on the overdue or due-soon list (no content: number, queue, state)."""

    case_no: str
    queue: str
    state: str
    kind: str
    due_on: dt.date
    days: int  # working days overdue, or left
    assignee: str


def due_list(db: Session, p: Period, today: dt.date, *, overdue: bool
             ) -> tuple[list[Due], int]:
    """Open clocks past their day (most overdue first) or due within `deadlines.SOON` working
    days (soonest first): at most LIST_LIMIT rows, and how many there are in all."""
    today_ord = deadlines.today_ordinal(db, today)
    # Ordered by due day (the ordinal rises with it), which the (state, due_on…) index serves.
    order = (CaseDeadline.due_on, CaseDeadline.id)
    if overdue:
        condition = CaseDeadline.due_on.between(workdays.MATERIALISED_FROM,
                                                today - dt.timedelta(days=1))
    else:
        # Due within SOON working days: a date range, so the scan is one index range.
        condition = CaseDeadline.due_on.between(today, deadlines.soon_until(db, today))
    where = (CaseDeadline.state == DeadlineState.open, condition,
             _queue(CaseDeadline.queue_id, p))
    n = db.scalar(select(func.count()).select_from(CaseDeadline).where(*where)) or 0
    rows = db.execute(
        select(Case.case_no, Queue.name_zh, Case.state, CaseDeadline.kind, CaseDeadline.due_on,
               CaseDeadline.due_ordinal, StaffUser.username)
        .join(Case, Case.id == CaseDeadline.case_id)
        .join(Queue, Queue.id == CaseDeadline.queue_id)
        .outerjoin(StaffUser, StaffUser.id == Case.assignee_id)
        .where(*where).order_by(*order).limit(LIST_LIMIT))
    items = [Due(r[0], r[1], r[2], r[3], r[4],
                 max(1, today_ord - r[5]) if overdue else r[5] - today_ord, r[6] or "")
             for r in rows]
    return items, n


@dataclass(frozen=True)
class HandlerLoad:
    """One handler's cases: open now, overdue now, concluded in the period."""

    username: str
    queue: str
    open: int
    overdue: int
    concluded: int


def handler_loads(db: Session, p: Period, today: dt.date) -> list[HandlerLoad]:
    """Cases per handler (assignee): two grouped scans of covering indexes, names joined after."""
    load: dict[tuple[int | None, int], list[int]] = {}
    is_late = case((Case.next_due_on < today, 1), else_=0)
    for assignee, queue_id, n, late in db.execute(
            select(Case.assignee_id, Case.queue_id, func.count(), func.sum(is_late))
            .where(Case.state.in_(OPEN), Case.assignee_id.is_not(None),
                   _queue(Case.queue_id, p))
            # Grouped by state too, so the scan follows the covering (state, queue_id,
            # assignee_id, next_due_on) index; the states are added up here.
            .group_by(Case.state, Case.queue_id, Case.assignee_id)):
        entry = load.setdefault((assignee, queue_id), [0, 0, 0])
        entry[0] += n
        entry[1] += int(late or 0)
    for assignee, queue_id, n in db.execute(
            select(Case.assignee_id, Case.queue_id, func.count())
            .where(_in(Case.concluded_on, p), Case.assignee_id.is_not(None),
                   _queue(Case.queue_id, p))
            .group_by(Case.assignee_id, Case.queue_id)):
        load.setdefault((assignee, queue_id), [0, 0, 0])[2] = n
    if not load:
        return []
    users = {uid: name for uid, name in db.execute(
        select(StaffUser.id, StaffUser.username)
        .where(StaffUser.id.in_({a for a, _q in load})))}
    queue_names = {qid: name for qid, name in db.execute(select(Queue.id, Queue.name_zh))}
    rows = [HandlerLoad(users.get(a or 0, ""), queue_names.get(q, ""), *counts_)
            for (a, q), counts_ in load.items()]
    return sorted(rows, key=lambda h: (h.queue, h.username))


def findings(db: Session, p: Period) -> dict[str, int]:
    """Findings of the cases concluded in the period."""
    rows = db.execute(select(Case.finding, func.count())
                      .where(_in(Case.concluded_on, p), _queue(Case.queue_id, p))
                      .group_by(Case.finding))
    return {str(r[0]): r[1] for r in rows if r[0]}


# --- monthly trends -------------------------------------------------------------------------


@dataclass(frozen=True)
class Month:
    """One month of the trend: received, concluded, median working days to a decision."""

    month: str
    received: int
    concluded: int
    median_decision: float | None


def months_of(p: Period) -> list[str]:
    """Every "YYYY-MM" the period touches."""
    out, year, month = [], p.start.year, p.start.month
    while (year, month) <= (p.end.year, p.end.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def trend(db: Session, p: Period) -> list[Month]:
    """Per month of the period: received, concluded and the median days to a decision.

    Each figure is grouped by day in SQL (an index-ordered scan, no function per row) and
    summed into months here: at most a few hundred rows cross over.
    """
    def month(day: dt.date) -> str:
        return f"{day.year:04d}-{day.month:02d}"

    received: dict[str, int] = {}
    for day, n in db.execute(
            select(Case.received_on, func.count())
            .where(_in(Case.received_on, p), _queue(Case.queue_id, p))
            .group_by(Case.received_on)):
        received[month(day)] = received.get(month(day), 0) + n
    concluded: dict[str, int] = {}
    for done_on, n in db.execute(
            select(Case.concluded_on, func.count())
            .where(_in(Case.concluded_on, p), _queue(Case.queue_id, p))
            .group_by(Case.concluded_on)):
        if done_on is not None:
            concluded[month(done_on)] = concluded.get(month(done_on), 0) + n
    duration = _duration()
    per_month: dict[str, dict[int, int]] = {}
    for met_on, value, n in db.execute(
            select(CaseDeadline.met_on, duration, func.count())
            .where(CaseDeadline.kind == DeadlineKind.decision,
                   CaseDeadline.state == DeadlineState.met, _in(CaseDeadline.met_on, p),
                   _queue(CaseDeadline.queue_id, p))
            .group_by(CaseDeadline.met_on, duration)):
        if met_on is None:
            continue
        bucket = per_month.setdefault(month(met_on), {})
        bucket[value] = bucket.get(value, 0) + n
    return [Month(m, received.get(m, 0), concluded.get(m, 0),
                  percentile(sorted(per_month.get(m, {}).items()), 0.5))
            for m in months_of(p)]


# --- publicity ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicityCounts:
    """Notices published in the period, their persons, corrections and withdrawals."""

    notices: int
    persons: int
    corrections: int
    withdrawals: int


@dataclass(frozen=True)
class NoticeObjections:
    """Objections and outcomes of one notice whose period has closed."""

    notice_id: int
    title: str
    period_start: dt.date | None
    period_end: dt.date | None
    persons: int
    objections: int
    appointed: int
    suspended: int
    withdrawn: int
    pending: int


def publicity_counts(db: Session, p: Period) -> PublicityCounts:
    """What the publicity desk published in the period."""
    published = _moment_in(Notice.published_at, p)
    notices = db.scalar(select(func.count()).select_from(Notice).where(published)) or 0
    persons = db.scalar(select(func.count()).select_from(NoticePerson).join(Notice)
                        .where(published)) or 0
    changes = {kind: n for kind, n in db.execute(
        select(NoticeChange.kind, func.count())
        .where(NoticeChange.status == ChangeStatus.approved,
               _moment_in(NoticeChange.published_at, p))
        .group_by(NoticeChange.kind))}
    return PublicityCounts(notices, persons, changes.get(ChangeKind.correction, 0),
                           changes.get(ChangeKind.withdrawal, 0))


def notice_objections(db: Session, p: Period, today: dt.date) -> list[NoticeObjections]:
    """Per notice published in the period whose period is over: objections and outcomes.

    A notice still open (or not yet open) is never listed, so nobody learns while it runs
    that a nominee drew an objection.
    """
    def outcome(value: str) -> ColumnElement[int]:
        return func.sum(case((NoticePerson.outcome == value, 1), else_=0))

    rows = db.execute(
        select(Notice.id, Notice.title, Notice.period_start, Notice.period_end, func.count(),
               func.sum(NoticePerson.objections_total), outcome("appointed"),
               outcome("suspended"), outcome("withdrawn"), outcome("pending"))
        .join(NoticePerson, NoticePerson.notice_id == Notice.id)
        .where(_moment_in(Notice.published_at, p), Notice.period_end.is_not(None),
               Notice.period_end < today)
        .group_by(Notice.id, Notice.title, Notice.period_start, Notice.period_end)
        .order_by(Notice.period_end.desc(), Notice.id.desc()))
    return [NoticeObjections(r[0], r[1], r[2], r[3], r[4], *(int(v or 0) for v in r[5:]))
            for r in rows]
