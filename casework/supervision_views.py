"""The supervision dashboard: response times, deadlines and backlogs, never content.

Supervisors and admins see every queue's figures for a date range; every table downloads as
CSV and the trend charts are SVG images drawn on the server.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _

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
from portal.errors import message_of
from portal.models import Role
from portal.tables import Table, to_csv

bp = Blueprint("supervision", __name__, url_prefix="/staff/supervision")

VIEWERS = (Role.supervisor, Role.admin)


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


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


# The page shows the notices whose period ended most recently; the CSV lists all of them.
OBJECTIONS_SHOWN = 50


class _Figures:
    """One request's figures: each table is built from what it needs, and what several tables
    share (the day scans, the publicity counts) is read once."""

    def __init__(self, r: Request, *, every_row: bool) -> None:
        self.session, self.today, self.p = db.session(), clock.today(), r.period
        # The page shortens the lists that grow with the period; a download has every row.
        self.every_row = every_row
        self.scans = supervision.Scans(self.session, self.p)

    def counts(self) -> Table:
        names = {q.id: q.name_zh for q in queues.all_queues(self.session)}
        per_queue = supervision.counts(self.scans, self.today)
        channels = list(Channel)
        rows: list[list[object]] = []
        for queue_id, c in [*sorted(per_queue.items()),
                            (0, supervision.total(per_queue.values()))]:
            rows.append([
                names.get(queue_id, _("All queues")) if queue_id else _("All queues"),
                c.received, *(c.by_channel.get(ch, 0) for ch in channels), c.real_name,
                c.anonymous, c.accepted, c.refused, c.transferred, c.withdrawn, c.concluded,
                c.open, c.overdue, c.extensions])
        return Table("counts", _("Cases"), [
            _("Queue"), _("Cases received"), *(str(CHANNEL_LABELS[ch]) for ch in channels),
            _("Real name"), _("Anonymous"), _("Cases accepted"), _("Cases not accepted"),
            _("Cases transferred"), _("Cases withdrawn"), _("Cases concluded"), _("Open now"),
            _("Overdue now"), _("Extensions")], rows)

    def durations(self) -> Table:
        spread = supervision.spreads(self.scans)
        labels = {supervision.DURATIONS[0]: _("Receipt → decision"),
                  supervision.DURATIONS[1]: _("Acceptance → conclusion"),
                  supervision.DURATIONS[2]: _("Conclusion → real-name feedback")}
        rows: list[list[object]] = []
        for kind in supervision.DURATIONS:
            s = spread.get(kind)
            rows.append([labels[kind], s.count if s else 0, _num(s.median if s else None),
                         _num(s.p90 if s else None)])
        return Table("durations", _("Working days taken"), [
            _("From → to"), _("Cases"), _("Median"), _("90th percentile")], rows)

    def deadlines(self) -> Table:
        shares = supervision.shares(self.session, self.p)
        return Table("deadlines", _("Deadlines falling due in the period"), [
            _("Deadline"), _("Fell due"), _("Met in time"), _("Share in time (%)")],
            [[str(DEADLINE_LABELS.get(kind, kind)), s.due, s.in_time, _num(s.percent)]
             for kind, s in sorted(shares.items())])

    def _due(self, *, overdue: bool) -> Table:
        items, n = supervision.due_list(self.session, self.p, self.today, overdue=overdue)
        headers = [_("Case"), _("Queue"), _("State"), _("Deadline"), _("Due"),
                   _("Working days overdue") if overdue else _("Working days left"),
                   _("Assigned to")]
        rows: list[list[object]] = [
            [d.case_no, d.queue, str(STATE_LABELS.get(d.state, d.state)),
             str(DEADLINE_LABELS.get(d.kind, d.kind)), d.due_on.isoformat(), d.days,
             d.assignee or "—"] for d in items]
        if overdue:
            return Table("overdue", _("Overdue now (%(n)d)", n=n), headers, rows)
        return Table("due-soon", _("Due within 3 working days (%(n)d)", n=n), headers, rows)

    def overdue(self) -> Table:
        return self._due(overdue=True)

    def due_soon(self) -> Table:
        return self._due(overdue=False)

    def handlers(self) -> Table:
        return Table("handlers", _("Cases per handler"), [
            _("Handler"), _("Queue"), _("Open now"), _("Overdue now"),
            _("Concluded in the period")],
            [[h.username, h.queue, h.open, h.overdue, h.concluded]
             for h in supervision.handler_loads(self.scans, self.today)])

    def findings(self) -> Table:
        found = supervision.findings(self.scans)
        return Table("findings", _("Findings of concluded cases"), [_("Finding"), _("Cases")],
                     [[str(FINDING_LABELS.get(k, k)), found.get(k, 0)] for k in FINDING_LABELS])

    @cached_property
    def _publicity(self) -> supervision.PublicityCounts:
        return supervision.publicity_counts(self.session, self.p, self.today)

    def publicity(self) -> Table:
        counts = self._publicity
        return Table("publicity", _("Pre-appointment notices"), [
            _("Notices published"), _("Persons"), _("Corrections"), _("Withdrawals")],
            [[counts.notices, counts.persons, counts.corrections, counts.withdrawals]])

    def objections(self) -> Table:
        limit = None if self.every_row else OBJECTIONS_SHOWN
        ended = self._publicity.ended
        title = _("Objections per notice (periods that have ended)")
        if limit is not None and ended > limit:
            title = _("Objections per notice (periods that have ended): the latest %(shown)d "
                      "of %(n)d; the CSV lists them all", shown=limit, n=ended)
        return Table("objections", title, [
            _("Notice"), _("Period"), _("Persons"), _("Objections"), _("Appointed"),
            _("Suspended"), _("Not appointed"), _("Pending")],
            [[n.title, f"{n.period_start} – {n.period_end}", n.persons, n.objections,
              n.appointed, n.suspended, n.withdrawn, n.pending]
             for n in supervision.notice_objections(self.session, self.p, self.today, limit)])

    def trend(self) -> Table:
        return Table("trend", _("Per month"), [
            _("Month"), _("Cases received"), _("Cases concluded"),
            _("Median working days to decision")],
            [[m.month, m.received, m.concluded, _num(m.median_decision)]
             for m in supervision.trend(self.scans)])


def tables(r: Request, names: Sequence[str] = TABLE_NAMES, *, every_row: bool = False
           ) -> list[Table]:
    """Tables of the dashboard for a period and queue (all of them, in page order, unless
    named); `every_row` for downloads, which list what the page shortens."""
    figures = _Figures(r, every_row=every_row)
    return [getattr(figures, name.replace("-", "_"))() for name in names]


@bp.route("/")
@roles_required(*VIEWERS)
def dashboard() -> tuple[str, int]:
    """Every figure for the period, per queue and overall."""
    all_queues = queues.all_queues(db.session())
    try:
        r = _request()
    except supervision.RangeError as exc:
        return render_template("casework/supervision.html", tables=[], r=None,
                               error=message_of(exc), queues=all_queues,
                               args=request.args), 400
    return render_template("casework/supervision.html", tables=tables(r), r=r, error="",
                           queues=all_queues, args=r.args), 200


# Spreadsheets run a cell that starts like a formula; such cells get a leading apostrophe.
@bp.route("/<name>.csv")
@roles_required(*VIEWERS)
def table_csv(name: str) -> Response:
    """One table of the dashboard as CSV."""
    if name not in TABLE_NAMES:
        abort(404)
    r = _checked_request()
    (table,) = tables(r, (name,), every_row=True)
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

