"""The supervision dashboard: response times, deadlines and backlogs, never content.

Supervisors and admins see every queue's figures for a date range; every table downloads as
CSV and the trend charts are SVG images drawn on the server.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from casework import charts, queues, supervision
from casework.messages import (
    CHANNEL_LABELS,
    DEADLINE_LABELS,
    FINDING_LABELS,
    STATE_LABELS,
)
from casework.models import Channel, Queue
from portal import clock, db
from portal.access import roles_required
from portal.models import Role

bp = Blueprint("supervision", __name__, url_prefix="/staff/supervision")

VIEWERS = (Role.supervisor, Role.admin)
RANGE_ERRORS = {
    "bad-date": _l("Dates are written YYYY-MM-DD."),
    "inverted": _l("The start of the period is after its end."),
    "too-long": _l("Choose a period between the years 2000 and 2100, at most ten years long."),
    "no-such-queue": _l("There is no such queue."),
}


@dataclass(frozen=True)
class Request:
    """The period and queue asked for, checked."""

    period: supervision.Period
    queue: Queue | None
    args: dict[str, str]


def _request() -> Request:
    """The checked period and queue of the query string (RangeError naming what is wrong)."""
    today = clock.today()
    args = request.args
    try:
        start = dt.date.fromisoformat(args.get("from") or f"{today.year}-01-01")
        end = dt.date.fromisoformat(args.get("to") or today.isoformat())
    except ValueError:
        raise supervision.RangeError("bad-date") from None
    queue = None
    slug = args.get("queue", "")
    if slug:
        try:
            queue = queues.queue_by_slug(db.session(), slug[:32])
        except queues.QueueError:
            raise supervision.RangeError("no-such-queue") from None
    period = supervision.Period.checked(start, end, queue.id if queue else None)
    kept = {"from": start.isoformat(), "to": end.isoformat()}
    if queue is not None:
        kept["queue"] = queue.slug
    return Request(period, queue, kept)


def _checked_request() -> Request:
    """For downloads: a bad query string is a plain 400."""
    try:
        return _request()
    except supervision.RangeError:
        abort(400)


TABLE_NAMES = ("counts", "durations", "deadlines", "overdue", "due-soon", "handlers", "findings",
               "publicity", "objections", "trend")


@dataclass(frozen=True)
class Table:
    """One table of the page: a title, column headers and rows (also its CSV)."""

    name: str
    title: str
    headers: Sequence[str]
    rows: list[list[object]]


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def tables(r: Request) -> list[Table]:
    """Every table of the dashboard for a period and queue, in page order."""
    session, today = db.session(), clock.today()
    p = r.period
    names = {q.id: q.name_zh for q in queues.all_queues(session)}
    scans = supervision.Scans(session, p)
    per_queue = supervision.counts(scans, today)
    channels = list(Channel)
    count_rows = []
    for queue_id, c in sorted(per_queue.items()) + [(0, supervision.total(per_queue.values()))]:
        count_rows.append([
            names.get(queue_id, _("All queues")) if queue_id else _("All queues"), c.received,
            *(c.by_channel.get(ch, 0) for ch in channels), c.real_name, c.anonymous,
            c.accepted, c.refused, c.transferred, c.withdrawn, c.concluded, c.open, c.overdue,
            c.extensions])
    spread = supervision.spreads(scans)
    labels = {supervision.DURATIONS[0]: _("Receipt → decision"),
              supervision.DURATIONS[1]: _("Acceptance → conclusion"),
              supervision.DURATIONS[2]: _("Conclusion → real-name feedback")}
    durations = []
    for kind in supervision.DURATIONS:
        s = spread.get(kind)
        durations.append([labels[kind], s.count if s else 0, _num(s.median if s else None),
                          _num(s.p90 if s else None)])
    shares = supervision.shares(session, p)
    share_rows = [[str(DEADLINE_LABELS.get(kind, kind)), s.due, s.in_time, _num(s.percent)]
                  for kind, s in sorted(shares.items())]
    overdue, overdue_n = supervision.due_list(session, p, today, overdue=True)
    soon, soon_n = supervision.due_list(session, p, today, overdue=False)

    def due_rows(items: Iterable[supervision.Due]) -> list[list[object]]:
        return [[d.case_no, d.queue, str(STATE_LABELS.get(d.state, d.state)),
                 str(DEADLINE_LABELS.get(d.kind, d.kind)), d.due_on.isoformat(), d.days,
                 d.assignee or "—"] for d in items]

    due_headers = [_("Case"), _("Queue"), _("State"), _("Deadline"), _("Due"), "", _("Assigned to")]
    found = supervision.findings(scans)
    publicity = supervision.publicity_counts(session, p)
    return [
        Table("counts", _("Cases"), [
            _("Queue"), _("Cases received"), *(str(CHANNEL_LABELS[ch]) for ch in channels),
            _("Real name"), _("Anonymous"), _("Cases accepted"), _("Cases not accepted"),
            _("Cases transferred"), _("Cases withdrawn"), _("Cases concluded"), _("Open now"),
            _("Overdue now"),
            _("Extensions")], count_rows),
        Table("durations", _("Working days taken"), [
            _("From → to"), _("Cases"), _("Median"), _("90th percentile")], durations),
        Table("deadlines", _("Deadlines falling due in the period"), [
            _("Deadline"), _("Fell due"), _("Met in time"), _("Share in time (%)")],
            share_rows),
        Table("overdue", _("Overdue now (%(n)d)", n=overdue_n),
              [*due_headers[:5], _("Working days overdue"), due_headers[6]], due_rows(overdue)),
        Table("due-soon", _("Due within 3 working days (%(n)d)", n=soon_n),
              [*due_headers[:5], _("Working days left"), due_headers[6]], due_rows(soon)),
        Table("handlers", _("Cases per handler"), [
            _("Handler"), _("Queue"), _("Open now"), _("Overdue now"),
            _("Concluded in the period")],
            [[h.username, h.queue, h.open, h.overdue, h.concluded]
             for h in supervision.handler_loads(scans, today)]),
        Table("findings", _("Findings of concluded cases"), [_("Finding"), _("Cases")],
              [[str(FINDING_LABELS.get(k, k)), found.get(k, 0)] for k in FINDING_LABELS]),
        Table("publicity", _("Pre-appointment notices"), [
            _("Notices published"), _("Persons"), _("Corrections"), _("Withdrawals")],
            [[publicity.notices, publicity.persons, publicity.corrections,
              publicity.withdrawals]]),
        Table("objections", _("Objections per notice (periods that have ended)"), [
            _("Notice"), _("Period"), _("Persons"), _("Objections"), _("Appointed"),
            _("Suspended"), _("Not appointed"), _("Pending")],
            [[n.title, f"{n.period_start} – {n.period_end}", n.persons, n.objections,
              n.appointed, n.suspended, n.withdrawn, n.pending]
             for n in supervision.notice_objections(session, p, today)]),
        Table("trend", _("Per month"), [
            _("Month"), _("Cases received"), _("Cases concluded"),
            _("Median working days to decision")],
            [[m.month, m.received, m.concluded, _num(m.median_decision)]
             for m in supervision.trend(scans)]),
    ]


@bp.route("/")
@roles_required(*VIEWERS)
def dashboard() -> tuple[str, int]:
    """Every figure for the period, per queue and overall."""
    all_queues = queues.all_queues(db.session())
    try:
        r = _request()
    except supervision.RangeError as exc:
        return render_template("casework/supervision.html", tables=[], r=None,
                               error=str(RANGE_ERRORS[exc.code]), queues=all_queues,
                               args=request.args), 400
    return render_template("casework/supervision.html", tables=tables(r), r=r, error="",
                           queues=all_queues, args=r.args), 200


# Spreadsheets run a cell that starts like a formula; such cells get a leading apostrophe.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text, never evaluates."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def to_csv(table: Table) -> bytes:
    """UTF-8 with a BOM, so Excel opens Chinese correctly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in table.headers])
    for row in table.rows:
        writer.writerow([safe_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


@bp.route("/<name>.csv")
@roles_required(*VIEWERS)
def table_csv(name: str) -> Response:
    """One table of the dashboard as CSV."""
    if name not in TABLE_NAMES:
        abort(404)
    r = _checked_request()
    table = next(t for t in tables(r) if t.name == name)
    response = Response(to_csv(table), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{name}-{r.args["from"]}-{r.args["to"]}.csv"')
    return response


CHARTS: dict[str, Callable[[list[supervision.Month]], bytes]] = {
    "volume": charts.received_vs_concluded,
    "decision-days": charts.days_to_decision,
}


@bp.route("/charts/<name>.svg")
@roles_required(*VIEWERS)
def chart(name: str) -> Response:
    """A trend chart as an SVG image."""
    draw = CHARTS.get(name)
    if draw is None:
        abort(404)
    r = _checked_request()
    months = supervision.trend(supervision.Scans(db.session(), r.period))
    return Response(draw(months), mimetype="image/svg+xml")

