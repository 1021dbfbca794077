"""Read-only queries behind the public pages, the feed and the open-data API.

Only published notices (approved or withdrawn) are ever returned. Cost grows with the page:
lookups by indexed columns and keyset pagination, never OFFSET over the whole archive.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from portal import MAX_ID
from publicity.models import (
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


def public_revision(db: Session) -> tuple[int, dt.datetime | None]:
    """The global public revision and when it last changed (keys list ETags)."""
    row = db.execute(select(PublicityRevision.revision, PublicityRevision.changed_at)
                     .where(PublicityRevision.id == 1)).first()
    return (row.revision, row.changed_at) if row else (0, None)


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


def _text_filter(query: Select[Notice], q: str) -> Select[Notice]:
    """Posts, units and titles containing q (a substring search, used when no name matches)."""
    pattern = f"%{q.replace('%', '').replace('_', '')}%"
    by_post = select(NoticePerson.notice_id).where(or_(
        NoticePerson.current_post.like(pattern), NoticePerson.proposed_post.like(pattern)))
    return query.where(or_(Notice.id.in_(by_post), Notice.issuer.like(pattern),
                           Notice.title.like(pattern)))


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
            query = _text_filter(query, q)
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
