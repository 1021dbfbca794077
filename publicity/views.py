"""Public notice pages, the Atom feed and the JSON open-data API.

Public pages never touch the session (no cookie), depend only on published data, today's
local date and the language, and answer conditional requests with 304.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from feedgen.feed import FeedGenerator
from flask import Blueprint, abort, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from portal import clock, db, ratelimit, state, workdays
from portal.access import public
from portal.extensions import limiter
from portal.http_cache import cacheable, render_cache, shared_page
from portal.i18n import current_language
from publicity import queries
from publicity.compliance import service as compliance
from publicity.models import Notice, NoticePerson, PublicState
from publicity.service import public_state

bp = Blueprint("publicity", __name__)


def days_left(cal: workdays.WorkCalendar, notice: Notice, today: dt.date) -> int | None:
    """Working days left in an open notice's period (today included), None if unknown."""
    if notice.period_end is None:
        return None
    try:
        return workdays.working_days_left(cal, today, notice.period_end)
    except workdays.YearNotLoaded:
        return None


def _summaries(notices: list[Notice], today: dt.date) -> list[dict[str, Any]]:
    cal = workdays.load_calendar(db.session())
    return [{"notice": n, "state": public_state(n, today), "days_left": days_left(cal, n, today)}
            for n in notices]


def _validators(*parts: object) -> tuple[list[object], dt.datetime | None]:
    """What a public page depends on (data, calendar, local date, language, host, query), and
    when the newest of its inputs changed. Two small indexed reads; nothing else is loaded
    before the 304 or the render cache answers."""
    state = render_cache().state("publicity", lambda: queries.public_state(db.session()))
    key = [request.endpoint, state.revision, state.calendar, clock.today(), current_language(),
           request.scheme, request.host, *parts]
    return key, state.newest_change


def _search_ceiling() -> bool:
    """Whether one more uncached archive search (or archive page of the API) may be rendered:
    an installation-wide count, since behind Tor every visitor shares one address (#21.13)."""
    return ratelimit.under_ceiling(limiter.storage, state.config().search_ceiling,
                                   "archive-search")


def _list_page(template: str, include_scheduled: bool, **extra: object) -> Response:
    session = db.session()
    today = clock.today()

    def render() -> str:
        notices = queries.current_notices(session, today, include_scheduled=include_scheduled)
        return render_template(template, items=_summaries(notices, today), today=today, **extra)

    return cacheable(*_validators(), render)


@bp.route("/")
@public
@shared_page
def home() -> Response:
    """The home page: open notices with the working days left, and the ways to report."""
    return _list_page("publicity/home.html", include_scheduled=False)


@bp.route("/notices")
@public
@shared_page
def notices() -> Response:
    """Open notices and those about to open."""
    return _list_page("publicity/notices.html", include_scheduled=True)


def _year_arg() -> int | None:
    raw = request.args.get("year", "").strip()
    if not raw:
        return None
    if not re.fullmatch(r"[0-9]{4}", raw) or not 2000 <= int(raw) <= 2100:
        abort(400)
    return int(raw)


@bp.route("/notices/archive")
@public
@shared_page
def archive() -> Response:
    """All published notices, searchable by name, post, unit and year, paged by key."""
    q = request.args.get("q", "").strip()[:50]
    year = _year_arg()
    after = queries.Cursor.decode(request.args.get("after"))
    session = db.session()
    today = clock.today()

    def render() -> str:
        page = queries.archive(session, q, year, after)
        return render_template("publicity/archive.html", items=_summaries(page.notices, today),
                               q=q, year=year, next=page.next, today=today)

    # The plain first page is one page per day and language; searches and further pages are
    # as many as visitors care to ask for, so their renders meet the ceiling.
    return cacheable(*_validators(q, year, after.encode() if after else ""), render,
                     ceiling=_search_ceiling if (q or year or after) else None)


@bp.route("/notices/<id:notice_id>")
@public
@shared_page
def notice(notice_id: int) -> Response:
    """One notice with its persons, period, objection channels and corrections."""
    today = clock.today()

    def render() -> str | None:
        found = queries.published_notice(db.session(), notice_id)
        if found is None:
            return None
        summary = _summaries([found], today)[0]
        # The deciding body and its attendance, when the administrator shows it: the setting
        # bumps the global revision, so the cached page follows.
        return render_template("publicity/notice.html", **summary,
                               changes=queries.published_changes(found), today=today,
                               attendance=compliance.attendance_line(db.session(), notice_id))

    # Keyed by the global revision: every publication bumps it, so the notice is not loaded
    # to answer a 304 or a cached page.
    return cacheable(*_validators(notice_id), render)


@bp.route("/notices/feed.atom")
@public
@shared_page
def feed() -> Response:
    """Atom feed of published notices, corrections and withdrawals."""
    session = db.session()
    key, changed_at = _validators()

    def render() -> bytes:
        fg = FeedGenerator()
        fg.id(url_for("publicity.notices", _external=True))
        fg.title(_("Pre-appointment notices"))
        fg.link(href=url_for("publicity.feed", _external=True), rel="self")
        fg.link(href=url_for("publicity.notices", _external=True), rel="alternate")
        fg.language("zh-CN" if current_language() == "zh" else "en")
        fg.updated(changed_at or dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        for n in reversed(queries.feed_notices(session)):
            entry = fg.add_entry()
            link = url_for("publicity.notice", notice_id=n.id, _external=True)
            entry.id(f"{link}#r{n.revision}")
            entry.link(href=link)
            entry.title(n.title)
            entry.updated(n.updated_at)
            entry.published(n.published_at or n.updated_at)
            entry.author({"name": n.issuer})
            entry.content(render_template("publicity/_feed_entry.html", notice=n,
                                          changes=queries.published_changes(n)), type="html")
        return bytes(fg.atom_str(pretty=False))

    return cacheable(key, changed_at, render, mimetype="application/atom+xml")


def _person_json(p: NoticePerson) -> dict[str, Any]:
    return {
        "id": p.id, "name": p.name, "gender": p.gender, "ethnicity": p.ethnicity,
        "birth": p.birth, "native_place": p.native_place, "education": p.education,
        "work_start": p.work_start, "party": p.party, "current_post": p.current_post,
        "proposed_post": p.proposed_post,
        "exceptional": ({"circumstance": p.exceptional_circumstance,
                         "reason": p.exceptional_reason} if p.exceptional else None),
        "resume": p.resume,
    }


def notice_json(n: Notice, today: dt.date) -> dict[str, Any]:
    """The open-data representation of a published notice (PRODUCT.md field names)."""
    state = public_state(n, today)
    return {
        "id": n.id, "title": n.title, "issuer": n.issuer,
        "status": state.value if state else None,
        "period_start": n.period_start.isoformat() if n.period_start else None,
        "period_end": n.period_end.isoformat() if n.period_end else None,
        "working_days": n.working_days,
        "channels": {"phone": n.phone, "letter": n.letter_address, "visit": n.visit_address},
        "withdrawn_reason": n.withdrawn_reason if state == PublicState.withdrawn else None,
        "url": url_for("publicity.notice", notice_id=n.id, _external=True),
        "persons": [_person_json(p) for p in n.persons],
        "corrections": [
            {"kind": c.kind, "published_at": c.published_at.isoformat() if c.published_at else None,
             "reason": c.reason, "substantive": c.substantive,
             "fields": sorted({str(ch["field"]) for ch in c.changes}),
             "period_start": c.new_period_start.isoformat() if c.new_period_start else None,
             "period_end": c.new_period_end.isoformat() if c.new_period_end else None}
            for c in queries.published_changes(n)
        ],
    }


@bp.route("/api/notices")
@public
@shared_page
def api_notices() -> Response:
    """Published notices as JSON, newest first; `next` links the following page."""
    after = queries.Cursor.decode(request.args.get("after"))
    session = db.session()
    today = clock.today()

    def render() -> Response:
        page = queries.archive(session, after=after, limit=50)
        return jsonify(
            notices=[notice_json(n, today) for n in page.notices],
            next=url_for("publicity.api_notices", after=page.next.encode(), _external=True)
            if page.next else None,
        )

    return cacheable(*_validators(after.encode() if after else ""), render,
                     mimetype="application/json",
                     ceiling=_search_ceiling if after else None)


@bp.route("/api/notices/<id:notice_id>")
@public
@shared_page
def api_notice(notice_id: int) -> Response:
    """One published notice as JSON."""
    today = clock.today()

    def render() -> Response | None:
        found = queries.published_notice(db.session(), notice_id)
        return jsonify(notice_json(found, today)) if found else None

    return cacheable(*_validators(notice_id), render, mimetype="application/json")


def objection_channels() -> dict[str, str]:
    """Default objection channels for new notices (from configuration)."""
    cfg = state.config()
    return {"phone": cfg.objection_phone, "letter_address": cfg.objection_letter_address,
            "visit_address": cfg.objection_visit_address}
