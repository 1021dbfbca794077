"""Supervision figures (PRODUCT.md, "Supervision"): read-only SQL aggregates over metadata.

Nothing here selects an encrypted column: supervisors hold no queue key, and the figures are
counts, dates and stored working-day ordinals. A duration in working days is a subtraction of
ordinals (DESIGN.md, "Working days"): a clock of N working days started on day S is due on the
day whose ordinal is ord(S) + N, so its start ordinal is `due_ordinal - working_days -
extended_days`, and the time it took is `met_ordinal` minus that, stored as `took_days`.

Scale (DESIGN.md, "How it scales"): every GROUP BY over a year of rows starts with the day and
follows a covering index column by column, so the database streams the groups in index order
instead of sorting the year (SQLite has no hash aggregate). Scans that several figures need are
run once per request (`Scans`) and summed here from at most some thousands of day rows.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    case,
    distinct,
    func,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

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
from portal.errors import DomainError
from portal.models import StaffUser
from publicity.models import ChangeKind, ChangeStatus, Notice, NoticeChange, NoticePerson

OPEN = (CaseState.received, CaseState.accepted, CaseState.in_progress)
# The durations the dashboard reports: receipt → decision, acceptance → conclusion,
# conclusion → real-name feedback.
DURATIONS = (DeadlineKind.decision, DeadlineKind.conclusion, DeadlineKind.result_notice)
LIST_LIMIT = 200
MAX_RANGE_YEARS = 10


class RangeError(DomainError, ValueError):
    """A date range the dashboard refuses; `code` names why (casework.messages)."""


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


# --- the shared day-grouped scans ----------------------------------------------------------


class MonthNumber(FunctionElement[int]):
    """YYYYMM of a date, as an integer."""

    type = Integer()
    inherit_cache = True


@compiles(MonthNumber)
def _month_number(element: MonthNumber, compiler: SQLCompiler, **kw: Any) -> str:
    day = compiler.process(element.clauses, **kw)
    return f"CAST(EXTRACT(year FROM {day}) * 100 + EXTRACT(month FROM {day}) AS INTEGER)"


@compiles(MonthNumber, "sqlite")
def _month_number_sqlite(element: MonthNumber, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps a date as 'YYYY-MM-DD' text: cutting the text is cheaper than strftime,
    # which parses the date again for every day row.
    day = compiler.process(element.clauses, **kw)
    return f"CAST(substr({day}, 1, 4) || substr({day}, 6, 2) AS INTEGER)"


def _monthly(inner: Select[*tuple[Any, ...]], day: str, keys: Sequence[str]
             ) -> Select[*tuple[Any, ...]]:
    """Sum the day groups of `inner` (columns: `day`, the keys, and `n`) into months.

    The inner query groups by day and keys in index order, so it streams; only its day rows
    (some thousands) are sorted again, by month, and at most hundreds of rows cross over.
    """
    days = inner.subquery()
    month = MonthNumber(days.c[day])
    columns = [days.c[k] for k in keys]
    return select(month, *columns, func.sum(days.c.n)).group_by(month, *columns)


def month_name(month: int) -> str:
    """"YYYY-MM" of a month number YYYYMM."""
    return f"{month // 100:04d}-{month % 100:02d}"


class Scans:
    """The period's scans that several figures share, each run at most once per request.

    Each returns month rows: (YYYYMM, keys…, count).
    """

    def __init__(self, db: Session, p: Period) -> None:
        self.db, self.p = db, p

    def _rows(self, query: Select[*tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [(int(r[0]), *r[1:-1], int(r[-1])) for r in self.db.execute(query)]

    @cached_property
    def received(self) -> list[tuple[Any, ...]]:
        """(month, queue id, channel, real name?, cases) received in the period."""
        p = self.p
        return self._rows(_monthly(
            select(Case.received_on.label("day"), Case.queue_id, Case.channel, Case.real_name,
                   func.count().label("n"))
            .where(_in(Case.received_on, p), _queue(Case.queue_id, p))
            .group_by(Case.received_on, Case.queue_id, Case.channel, Case.real_name),
            "day", ("queue_id", "channel", "real_name")))

    @cached_property
    def concluded(self) -> list[tuple[Any, ...]]:
        """(month, queue id, finding, assignee id, cases) concluded in the period."""
        p = self.p
        return self._rows(_monthly(
            select(Case.concluded_on.label("day"), Case.queue_id, Case.finding,
                   Case.assignee_id, func.count().label("n"))
            .where(_in(Case.concluded_on, p), _queue(Case.queue_id, p))
            .group_by(Case.concluded_on, Case.queue_id, Case.finding, Case.assignee_id),
            "day", ("queue_id", "finding", "assignee_id")))

    @cached_property
    def met(self) -> list[tuple[Any, ...]]:
        """(month, kind, working days taken, clocks) of the DURATIONS kinds met in the period.

        One query per kind: an equality on the index's first column streams faster than a list.
        """
        p = self.p
        rows: list[tuple[Any, ...]] = []
        for kind in DURATIONS:
            rows += [(month, kind, took, n) for month, took, n in self._rows(_monthly(
                select(CaseDeadline.met_on.label("day"), CaseDeadline.took_days,
                       func.count().label("n"))
                .where(CaseDeadline.kind == kind, CaseDeadline.state == DeadlineState.met,
                       _in(CaseDeadline.met_on, p), _queue(CaseDeadline.queue_id, p))
                .group_by(CaseDeadline.met_on, CaseDeadline.took_days),
                "day", ("took_days",)))]
        return rows


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


def counts(scans: Scans, today: dt.date) -> dict[int, Counts]:
    """Counts per queue id; the caller adds them up for "all queues"."""
    db, p = scans.db, scans.p
    result: dict[int, Counts] = {}

    def of(queue_id: int) -> Counts:
        return result.setdefault(queue_id, Counts())

    def add(queue_id: int, name: str, n: int) -> None:
        c = of(queue_id)
        setattr(c, name, getattr(c, name) + n)

    for _month, queue_id, channel, real_name, n in scans.received:
        c = of(queue_id)
        c.received += n
        c.by_channel[channel] = c.by_channel.get(channel, 0) + n
        if real_name:
            c.real_name += n
        else:
            c.anonymous += n
    for _month, queue_id, _finding, _assignee, n in scans.concluded:
        add(queue_id, "concluded", n)
    simple: list[tuple[str, Select[int, int]]] = [
        ("accepted", select(Case.queue_id, func.count()).where(
            _in(Case.accepted_on, p), _queue(Case.queue_id, p))
         .group_by(Case.accepted_on, Case.queue_id)),
        ("transferred", select(CaseTransfer.from_queue_id, func.count()).where(
            _in(CaseTransfer.on, p), _queue(CaseTransfer.from_queue_id, p))
         .group_by(CaseTransfer.from_queue_id)),
        ("open", select(Case.queue_id, func.count()).where(
            Case.state.in_(OPEN), _queue(Case.queue_id, p))
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
            add(queue_id, name, n)
    closed_as: dict[str, str] = {CaseState.not_accepted: "refused",
                                 CaseState.withdrawn: "withdrawn",
                                 CaseState.transferred: "transferred"}
    # One range of the covering (state, closed_on, queue_id) index per state: only the three
    # states' cases are read, not every case closed in the period.
    for queue_id, state, n in db.execute(
            select(Case.queue_id, Case.state, func.count())
            .where(_in(Case.closed_on, p), Case.state.in_(closed_as), _queue(Case.queue_id, p))
            .group_by(Case.state, Case.closed_on, Case.queue_id)):
        add(queue_id, closed_as[state], n)
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


def _histogram(rows: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """(value, count) pairs, summed per value and sorted by it."""
    counted: dict[int, int] = {}
    for value, n in rows:
        counted[value] = counted.get(value, 0) + n
    return sorted(counted.items())


def spreads(scans: Scans) -> dict[str, Spread]:
    """Median and 90th percentile per duration kind, for clocks met in the period.

    From the histogram of the (small, integer) durations in the shared day scan, on both
    databases: the same figures as PostgreSQL's percentile_cont, without a second scan of the
    year's clocks (the trend needs the day scan anyway).
    """
    out: dict[str, Spread] = {}
    for kind in DURATIONS:
        histogram = _histogram((took, n) for _month, k, took, n in scans.met if k == kind)
        if histogram:
            out[kind] = Spread(sum(n for _v, n in histogram), percentile(histogram, 0.5),
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


def handler_loads(scans: Scans, today: dt.date) -> list[HandlerLoad]:
    """Cases per handler (assignee): open and overdue from a grouped scan of a covering index,
    concluded from the shared scan; names joined after."""
    db, p = scans.db, scans.p
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
    for _month, queue_id, _finding, assignee, n in scans.concluded:
        if assignee is not None:
            load.setdefault((assignee, queue_id), [0, 0, 0])[2] += n
    if not load:
        return []
    users = {uid: name for uid, name in db.execute(
        select(StaffUser.id, StaffUser.username)
        .where(StaffUser.id.in_({a for a, _q in load})))}
    queue_names = {qid: name for qid, name in db.execute(select(Queue.id, Queue.name_zh))}
    rows = [HandlerLoad(users.get(a or 0, ""), queue_names.get(q, ""), *counts_)
            for (a, q), counts_ in load.items()]
    return sorted(rows, key=lambda h: (h.queue, h.username))


def findings(scans: Scans) -> dict[str, int]:
    """Findings of the cases concluded in the period."""
    out: dict[str, int] = {}
    for _month, _queue_id, finding, _assignee, n in scans.concluded:
        if finding:
            out[finding] = out.get(finding, 0) + n
    return out


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


def trend(scans: Scans) -> list[Month]:
    """Per month of the period: received, concluded and the median days to a decision."""
    received: dict[str, int] = {}
    for month, _queue_id, _channel, _real_name, n in scans.received:
        received[month_name(month)] = received.get(month_name(month), 0) + n
    concluded: dict[str, int] = {}
    for month, _queue_id, _finding, _assignee, n in scans.concluded:
        concluded[month_name(month)] = concluded.get(month_name(month), 0) + n
    decisions: dict[str, list[tuple[int, int]]] = {}
    for month, kind, took, n in scans.met:
        if kind == DeadlineKind.decision:
            decisions.setdefault(month_name(month), []).append((took, n))
    return [Month(m, received.get(m, 0), concluded.get(m, 0),
                  percentile(_histogram(decisions.get(m, ())), 0.5))
            for m in months_of(scans.p)]


# --- publicity ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicityCounts:
    """Notices published in the period, their persons, corrections and withdrawals; and how
    many of the notices have ended."""

    notices: int
    persons: int
    corrections: int
    withdrawals: int
    ended: int = 0


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


def _ended(today: dt.date) -> ColumnElement[bool]:
    """A notice whose publicity period is over (objections may be shown)."""
    return and_(Notice.period_end.is_not(None), Notice.period_end < today)


def publicity_counts(db: Session, p: Period, today: dt.date) -> PublicityCounts:
    """What the publicity desk published in the period, and how many of those notices have
    ended (the objections table's rows).

    One pass over the period's notices: each counts its persons in the notice_id index.
    """
    persons = (select(func.count()).select_from(NoticePerson)
               .where(NoticePerson.notice_id == Notice.id).scalar_subquery())
    notices = select(persons.label("persons"), case((_ended(today), 1), else_=0).label("ended")
                     ).where(_moment_in(Notice.published_at, p)).subquery()
    count, people, ended = db.execute(select(func.count(), func.sum(notices.c.persons),
                                             func.sum(notices.c.ended))).one()
    changes = {kind: n for kind, n in db.execute(
        select(NoticeChange.kind, func.count())
        .where(NoticeChange.status == ChangeStatus.approved,
               _moment_in(NoticeChange.published_at, p))
        .group_by(NoticeChange.kind))}
    return PublicityCounts(count, int(people or 0), changes.get(ChangeKind.correction, 0),
                           changes.get(ChangeKind.withdrawal, 0), int(ended or 0))


def notice_objections(db: Session, p: Period, today: dt.date, limit: int | None = None
                      ) -> list[NoticeObjections]:
    """Per notice published in the period whose period is over, the most recently ended
    first (at most `limit`): objections and outcomes.

    A notice still open (or not yet open) is never listed, so nobody learns while it runs
    that a nominee drew an objection. The notices are chosen first and only their persons
    are added up, so a short list reads a few persons, not the year's.
    """
    def outcome(value: str) -> ColumnElement[int]:
        return func.sum(case((NoticePerson.outcome == value, 1), else_=0))

    order = (Notice.period_end.desc(), Notice.id.desc())
    chosen = select(Notice.id).where(_moment_in(Notice.published_at, p), _ended(today)) \
        .order_by(*order).limit(limit).subquery()
    rows = db.execute(
        select(Notice.id, Notice.title, Notice.period_start, Notice.period_end, func.count(),
               func.sum(NoticePerson.objections_total), outcome("appointed"),
               outcome("suspended"), outcome("withdrawn"), outcome("pending"))
        .join(NoticePerson, NoticePerson.notice_id == Notice.id)
        .where(Notice.id.in_(select(chosen.c.id)))
        .group_by(Notice.id, Notice.title, Notice.period_start, Notice.period_end)
        .order_by(*order))
    return [NoticeObjections(r[0], r[1], r[2], r[3], r[4], *(int(v or 0) for v in r[5:]))
            for r in rows]
