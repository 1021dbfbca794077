"""Read-only queries behind the public pages, the feed and the open-data API.

Only published notices (approved or withdrawn) are ever returned. Cost grows with the page:
lookups by indexed columns and keyset pagination, never OFFSET over the whole archive.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, and_, column, false, or_, select, table
from sqlalchemy.orm import Session

from portal import workdays
from portal.constants import MAX_ID
from publicity.models import (
    SEARCH_INDEX,
    SEARCH_SEPARATOR,
    ChangeStatus,
    Notice,
    NoticeChange,
    NoticePerson,
    NoticeStatus,
    PublicityRevision,
)

PUBLISHED = (NoticeStatus.approved, NoticeStatus.withdrawn)
PAGE_SIZE = 20


@dataclass(frozen=True)
class Cursor:
    """Keyset position in the archive order (period_start desc, id desc)."""

    period_start: dt.date
    id: int

    def encode(self) -> str:
        """As a URL parameter."""
        return f"{self.period_start.isoformat()}_{self.id}"

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        """Parse a URL parameter; None when absent or malformed."""
        if not text:
            return None
        try:
            day, ident = text.split("_", 1)
            cursor = cls(dt.date.fromisoformat(day), int(ident))
        except ValueError:
            return None
        return cursor if 0 < cursor.id <= MAX_ID and ident.isascii() else None


@dataclass(frozen=True)
class Page:
    """One page of notices and the cursor of the next, if any."""

    notices: list[Notice]
    next: Cursor | None


@dataclass(frozen=True)
class PublicState:
    """What every public page depends on besides its own parameters: the published data's
    revision and the calendar's, each with when it last changed."""

    revision: int
    changed_at: dt.datetime | None
    calendar: int
    calendar_at: dt.datetime | None

    @property
    def newest_change(self) -> dt.datetime | None:
        """When the newest of the two changed."""
        times = [t for t in (self.changed_at, self.calendar_at) if t is not None]
        return max(times) if times else None


# Built once: one statement of four index lookups, executed by every public request.
_PUBLIC_STATE = select(
    select(PublicityRevision.revision).where(PublicityRevision.id == 1).scalar_subquery(),
    select(PublicityRevision.changed_at).where(PublicityRevision.id == 1).scalar_subquery(),
    *workdays.REVISION_COLUMNS,
)


def public_state(db: Session) -> PublicState:
    """The revisions a public page's cache key is made of, in one round trip."""
    revision, changed_at, calendar, calendar_at = db.connection().execute(_PUBLIC_STATE).one()
    return PublicState(revision or 0, changed_at, calendar or 0, calendar_at)


def published_notice(db: Session, notice_id: int) -> Notice | None:
    """A published notice by id, or None (drafts are not found)."""
    notice = db.get(Notice, notice_id)
    if notice is None or notice.status not in PUBLISHED:
        return None
    return notice


def current_notices(db: Session, today: dt.date, *, include_scheduled: bool) -> list[Notice]:
    """Notices open today (and, if asked, those scheduled to open), ending soonest first."""
    lower = [Notice.period_end >= today]
    if not include_scheduled:
        lower.append(Notice.period_start <= today)
    return list(db.scalars(
        select(Notice).where(Notice.status == NoticeStatus.approved, *lower)
        .order_by(Notice.period_end, Notice.id).limit(200)
    ))


def _archive_filter(query: Select[Notice], year: int | None) -> Select[Notice]:
    if year:
        query = query.where(Notice.period_start >= dt.date(year, 1, 1),
                            Notice.period_start <= dt.date(year, 12, 31))
    return query


def _name_matches(q: str) -> Select[int]:
    """Notices with a person whose name equals or starts with q: an index range, no scan."""
    return select(NoticePerson.notice_id).where(or_(
        NoticePerson.name == q,
        and_(NoticePerson.name >= q, NoticePerson.name < q + "\U0010ffff")))


# SQLite's FTS5 trigram index of the published notices' search_text (migration 0007; not a
# model). Its rowid is a notice's place in the archive's order: see _key.
_SEARCH = table(SEARCH_INDEX, column("rowid"), column("search_text"))
_ID_SPAN = 2**32  # > MAX_ID
_JULIAN_DAY_OF_ORDINAL_0 = 1721424  # SQLite's CAST(julianday(day) AS INTEGER) - day.toordinal()
# A trigram index can only look up substrings of at least three characters: shorter ones scan.
_TRIGRAM = 3


def _key(day: dt.date, notice_id: int) -> int:
    """The FTS5 rowid of a published notice, as migration 0007's triggers compute it: negated,
    so the newest comes first in the direction FTS5 reads without loading a whole doclist."""
    return -((day.toordinal() + _JULIAN_DAY_OF_ORDINAL_0) * _ID_SPAN + notice_id)


def _indexed_page(needle: str, year: int | None, after: Cursor | None,
                  limit: int) -> Select[int]:
    """The ids of the next page of published notices containing needle (3+ characters), read
    from SQLite's index newest first: a common word stops after a page, a rare one is short."""
    key = _SEARCH.c.rowid
    # One FTS5 string: quotes doubled, so q's operators (OR, NEAR, *, -, ^) are plain text.
    page = select((-key) % _ID_SPAN).where(
        _SEARCH.c.search_text.match('"' + needle.replace('"', '""') + '"'))
    if year:
        page = page.where(key >= _key(dt.date(year, 12, 31), _ID_SPAN - 1),
                          key <= _key(dt.date(year, 1, 1), 0))
    if after:
        page = page.where(key > _key(after.period_start, after.id))
    return page.order_by(key).limit(limit)


def _text_filter(query: Select[Notice], q: str, dialect: str, year: int | None,
                 after: Cursor | None, limit: int) -> Select[Notice]:
    """Titles, units and posts containing q, Latin letters in either case (used when no name
    matches): a trigram-index lookup for 3 characters or more, a scan of one column below."""
    needle = q.replace("%", "").replace("_", "")
    if SEARCH_SEPARATOR in needle:  # no field holds one: q would only match across two
        return query.where(false())
    if not needle:
        return query
    if dialect == "sqlite" and len(needle) >= _TRIGRAM:
        return query.where(Notice.id.in_(_indexed_page(needle, year, after, limit)))
    pattern = "%" + needle.replace("\\", "\\\\") + "%"
    # PostgreSQL's LIKE, unlike SQLite's, is case sensitive: ILIKE, unless q has no letter
    # with a case (Chinese), where LIKE finds the same notices and scans twice as fast.
    if dialect == "postgresql" and needle.lower() != needle.upper():
        return query.where(Notice.search_text.ilike(pattern, escape="\\"))
    return query.where(Notice.search_text.like(pattern, escape="\\"))


def archive(db: Session, q: str = "", year: int | None = None, after: Cursor | None = None,
            limit: int = PAGE_SIZE) -> Page:
    """Published notices, newest first, filtered by name/post/unit and year, keyset-paged."""
    query = _archive_filter(select(Notice).where(Notice.status.in_(PUBLISHED)), year)
    q = q.strip()[:50]
    if q:
        # Most searches are for a person's name: served by the name index alone. Only when no
        # name matches is q looked for in posts, units and titles.
        names = _name_matches(q)
        if db.scalar(names.limit(1)) is not None:
            query = query.where(Notice.id.in_(names))
        else:
            query = _text_filter(query, q, db.get_bind().dialect.name, year, after, limit + 1)
    if after:
        query = query.where(or_(Notice.period_start < after.period_start,
                                and_(Notice.period_start == after.period_start,
                                     Notice.id < after.id)))
    rows = list(db.scalars(query.order_by(Notice.period_start.desc(), Notice.id.desc())
                           .limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    cursor = Cursor(last.period_start, last.id) if more and last and last.period_start else None
    return Page(rows, cursor)


def published_changes(notice: Notice) -> list[NoticeChange]:
    """The corrections and withdrawal of a notice that have been published."""
    return [c for c in notice.changes if c.status == ChangeStatus.approved]


def feed_notices(db: Session, limit: int = 50) -> list[Notice]:
    """The most recently changed published notices (for the Atom feed)."""
    return list(db.scalars(select(Notice).where(Notice.status.in_(PUBLISHED))
                           .order_by(Notice.updated_at.desc(), Notice.id.desc()).limit(limit)))
