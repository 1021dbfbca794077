"""Growth: the same requests at 1k / 10k / 100k notices and 10k / 100k / 1M cases.

Per database and size: a fresh database, `portal init`, a supervisor and an organization-
department handler (made before `queues init`, so the handler holds the queue key), then
SYNTHETIC bulk data: cases by benchmarks/supervision.py's set-based loader (metadata with
PLACEHOLDER CIPHERTEXT, zero bytes of realistic length; nothing in it decrypts) and notices by
benchmarks/notice_data.py, and AUDIT_PER_CASE audit entries per case (the log every
public page's calendar-revision query reads grows with the cases). Then one real report (with
a photo) is filed through the intake service, so the case page has something that decrypts.
Timed in-process with the Flask test client (median of N runs after a warm-up), each a real
logged-in request:

* archive search by name: GET /notices/archive?q=<name>, a planted name with 3 notices at
  every size (a different name each run, so no cache can answer a repeat);
* archive free-text search over posts: GET /notices/archive?q=<unit>, a planted unit found in
  3 proposed posts at every size (no name matches it, so the portal searches posts, units and
  titles; a different unit or language each run);
* a notice page: GET /notices/<id> (a different closed notice each run);
* the queue list: GET /staff/cases/ (first page, sorted by urgency) as the handler;
* a case page: GET /staff/cases/<case_no> of the real case (decrypts; audited);
* the supervision dashboard for this calendar year, as the supervisor.

Each timed request follows a request of the baseline, GET /staff/ (the supervisor's staff
home: session, CSRF, a template, nothing that depends on the data). Flatness is (largest /
smallest) of the median figure / baseline pair ratio, so the machine's other load, which
changes in the minutes between two sizes, cancels out; the raw ratio is shown beside it.
The absolute budgets (free-text search, dashboard) are raw milliseconds, with the baseline
shown.

The plans of every statement of these requests at the largest size (the dashboard's five
slowest) go to benchmarks/results/plans.txt (statements captured during one request).
"""

# ruff: noqa: S608
# (SQL here is built from constants and integers, never from input)
from __future__ import annotations

import concurrent.futures
import datetime as dt
import os
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Flask
from flask.testing import FlaskClient

from benchmarks import common, supervision
from benchmarks.common import Table
from benchmarks.notice_data import PLANTED_NAMES, PLANTED_UNITS, load_notices
from portal import http_cache, state

PG_DB = "bench_growth"
SIZES: tuple[tuple[int, int], ...] = ((1_000, 10_000), (10_000, 100_000), (100_000, 1_000_000))
HANDLER = "bench-org"
# Constant work (session, CSRF, a template; no data-dependent query): the same-moment baseline.
BASELINE = "/staff/"
AUDIT_PER_CASE = 1
FLAT = 2.0  # largest / smallest
TEXT_BUDGET_MS, TEXT_AT = 200.0, 100_000
DASHBOARD_BUDGET_MS, DASHBOARD_AT = 500.0, 1_000_000
FIGURES = ("archive ?q=name", "archive ?q=post text", "notice page", "queue list",
           "case page", "dashboard")


@dataclass(frozen=True)
class Options:
    """Sizes, databases, runs, where; and the plans file."""

    sizes: tuple[tuple[int, int], ...]
    dbs: tuple[str, ...]
    runs: int
    workdir: Path


@dataclass
class Point:
    """The timings at one database and size."""

    db: str
    notices: int
    cases: int
    load_s: float
    ms: dict[str, float] = field(default_factory=dict)
    base: dict[str, float] = field(default_factory=dict)  # the baseline, paired with each
    rel: dict[str, float] = field(default_factory=dict)  # median of figure / baseline pairs
    queries: dict[str, int] = field(default_factory=dict)


def _login(app: Flask, username: str, secret: str) -> FlaskClient:
    import pyotp

    client = app.test_client()
    html = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    if token is None:
        raise RuntimeError("no CSRF token on the login page")
    response = client.post("/staff/login", data={
        "username": username, "passphrase": common.PASSPHRASE,
        "totp": pyotp.TOTP(secret).now(), "csrf_token": token.group(1)})
    if response.status_code != 303:
        raise RuntimeError(f"login of {username} failed: {response.status_code}")
    return client


def load_audit(engine: Any, n: int) -> int:
    """Bulk-append n audit entries (case views and actions by the synthetic handlers, over the
    5 years ending now): the log grows with the cases, as a real one does (faster, in fact:
    every case view is an entry). Placeholder MACs: nothing verifies the chain here."""
    from sqlalchemy import text

    d = supervision.Dialect(engine.dialect.name)
    span = supervision.YEARS * 365 * 86400  # seconds
    start = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0) - dt.timedelta(
        seconds=span)
    if d.pg:
        at = f"(TIMESTAMP '{start.isoformat(' ')}' + (i * {span} / {n}) * interval '1 second')"
    else:
        at = f"datetime('{start.isoformat(' ')}', '+' || (i * {span} / {n}) || ' seconds')"
    actions = "CASE i % 4 WHEN 0 THEN 'case.accept' WHEN 1 THEN 'case.note' ELSE 'case.viewed' END"
    with engine.begin() as conn:
        first = int(conn.execute(text("SELECT COALESCE(max(seq), 0) FROM audit_entry"))
                    .scalar_one())
        prefix, src = d.seq(n)
        result = conn.execute(text(f"""{prefix}INSERT INTO audit_entry (seq, at, actor_id, actor,
              action, target, details, mac)
            SELECT {first} + i, {at}, 101 + i % {supervision.STAFF},
              'handler' || {d.padded('', f'1 + i % {supervision.STAFF}', 2)}, {actions},
              'case:' || {d.padded('B', '1 + i / 2', 9)}, '{{}}', '{'0' * 64}'
            FROM {src}"""))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE audit_entry" if d.pg else "ANALYZE audit_entry"))
    return int(result.rowcount or 0)


def _file_real_case(app: Flask) -> str:
    """One real report (org queue, with a photo) filed through the intake service."""
    from sqlalchemy import select

    from benchmarks.filing import noise_jpeg
    from casework.models import Case
    from intake import evidence, receipts
    from intake import service as intake
    from portal import crypto, db

    photo = evidence.clean(noise_jpeg(200_000, seed=3), max_bytes=20 * 1024 * 1024)
    category = common.category_id(app, "selection")
    with app.app_context():
        session = db.session()
        receipt = intake.file_report(session, intake.ReportInput(
            category_id=category, facts="2026年3月在县某局办公室收受现金两万元，有同事在场。",
            persons=(intake.Person("欧阳明哲", "示范县某局", "局长"),)),
            [intake.Evidence("IMG_0001.jpg", photo)], crypto.random_token(24))
        number = session.scalar(select(Case.case_no).where(
            Case.receipt_lookup == receipts.lookup(receipt)))
    if not number:
        raise RuntimeError("the real case was not filed")
    return str(number)


@dataclass
class Loaded:
    """One database at one size: the app on it, and what the timings need."""

    db: str
    notices: int
    cases: int
    url: str
    app: Flask
    today: dt.date
    supervisor_secret: str
    handler_secret: str
    load_s: float = 0.0
    closed: list[int] = field(default_factory=list)


def _prepare(db: str, notices: int, cases: int, opts: Options) -> Loaded:
    """A fresh database with `portal init`, the supervisor, the handler and queue keys."""
    from portal import accounts, clock
    from portal import db as portal_db

    workdir = opts.workdir / "growth"
    url = supervision.fresh_database(db, cases, pg_db=PG_DB, workdir=workdir)
    if db == "sqlite":  # a fresh file per size: drop the previous size's
        for old in workdir.glob("portal-*.db*"):
            if not old.name.startswith(f"portal-{supervision.label(cases)}.db"):
                old.unlink()
    app, sup_secret = supervision.make_app(url, workdir)
    with app.app_context():
        today = clock.today()
        _user, org_secret = accounts.create_account_with_passphrase(
            portal_db.session(), HANDLER, ["org_handler"], common.PASSPHRASE)
    result = app.test_cli_runner().invoke(args=["queues", "init"])
    if result.exit_code != 0:
        raise RuntimeError(f"queues init: {result.output}")
    state.engine(app).dispose()
    return Loaded(db, notices, cases, url, app, today, sup_secret, org_secret)


def _load(loaded: Loaded) -> None:
    """The bulk load (set-based SQL inside the database; safe to run beside another
    database's load: sqlite3 and psycopg release the GIL while the database works)."""
    t0 = time.perf_counter()
    supervision.load_data(loaded.url, loaded.cases, loaded.today, notices=0)
    engine = common.loader_engine(loaded.url)
    loaded.closed = load_notices(engine, loaded.notices, loaded.today).closed_ids
    load_audit(engine, AUDIT_PER_CASE * loaded.cases)
    common.fix_sequences(engine)
    engine.dispose()
    loaded.load_s = time.perf_counter() - t0


def paired(figure: Callable[[], None], baseline: Callable[[], None], runs: int
           ) -> tuple[float, float, float]:
    """Time `runs` pairs (baseline, then figure) after one warm-up of each: the medians of
    the figure's and the baseline's milliseconds, and the median of the pairs' ratios."""
    figure()
    baseline()
    figs, bases, ratios = [], [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        baseline()
        t1 = time.perf_counter()
        figure()
        t2 = time.perf_counter()
        figs.append((t2 - t1) * 1000)
        bases.append((t1 - t0) * 1000)
        ratios.append((t2 - t1) / (t1 - t0))
    return statistics.median(figs), statistics.median(bases), statistics.median(ratios)


def _getter(client: FlaskClient, paths: list[str], kind: str = "text/html"
            ) -> Callable[[], None]:
    """A call that GETs the next path of the list each time (round robin). Public pages are
    rendered every time: the render cache (which the public section measures) is emptied
    first, so the figure is the queries' and the template's cost at this size."""
    state = {"i": 0}

    def fn() -> None:
        path = paths[state["i"] % len(paths)]
        state["i"] += 1
        _uncached(client)
        response = client.get(path)
        if response.status_code != 200 or kind not in response.content_type:
            raise RuntimeError(f"{path}: {response.status_code} {response.content_type}")

    return fn


def _uncached(client: FlaskClient) -> None:
    http_cache.render_cache(client.application).clear()


def _paths(case_no: str, closed: list[int], year: int) -> dict[str, tuple[str, list[str]]]:
    """Per figure: which client ("public", "handler", "supervisor") and the paths it cycles."""
    names = [f"/notices/archive?q={quote(n)}" for n in PLANTED_NAMES]
    posts = [f"/notices/archive?q={quote(u)}{lang}" for lang in ("", "&lang=en")
             for u in PLANTED_UNITS]
    return {
        "archive ?q=name": ("public", names),
        "archive ?q=post text": ("public", posts),
        "notice page": ("public", [f"/notices/{i}" for i in closed]),
        "queue list": ("handler", ["/staff/cases/"]),
        "case page": ("handler", [f"/staff/cases/{case_no}"]),
        "dashboard": ("supervisor",
                      [f"/staff/supervision/?from={year}-01-01&to={year}-12-31"]),
    }


def measure(loaded: Loaded, opts: Options, plans: list[str] | None) -> Point:
    """File the real case, log in, and time every figure on one loaded database."""
    t0 = time.perf_counter()
    app = loaded.app
    case_no = _file_real_case(app)
    state.engine(app).dispose()
    clients = {"public": app.test_client(),
               "handler": _login(app, HANDLER, loaded.handler_secret),
               "supervisor": supervision.login(app, loaded.supervisor_secret)}
    point = Point(loaded.db, loaded.notices, loaded.cases, loaded.load_s)
    engine = state.engine(app)
    baseline = _getter(clients["supervisor"], [BASELINE])
    for figure, (who, paths) in _paths(case_no, loaded.closed, loaded.today.year).items():
        # The warm-up takes the last path; the timed runs take the others in turn, each
        # right after a baseline request (the machine's speed at that moment).
        ordered = [paths[-1], *paths[:-1]] if len(paths) > 1 else paths
        fn = _getter(clients[who], ordered)
        point.ms[figure], point.base[figure], point.rel[figure] = paired(
            fn, baseline, opts.runs)
        _uncached(clients[who])
        with common.query_log(engine) as log:
            clients[who].get(ordered[0])
        point.queries[figure] = len(log)
        if plans is not None:
            # Every statement of the pages; the dashboard's five slowest.
            shown = sorted(log, key=lambda r: -r[0])[:5] if figure == "dashboard" else log
            plans.append(_plans(loaded.db, loaded.notices, loaded.cases, figure, ordered[0],
                                shown, engine, len(log)))
    print(f"    {loaded.db:<8} {supervision.label(loaded.notices):>5} notices "
          f"{supervision.label(loaded.cases):>5} cases: loaded in {loaded.load_s:.0f} s, timed "
          f"in {time.perf_counter() - t0:.0f} s; "
          + ", ".join(f"{k} {v:.1f} ms" for k, v in point.ms.items()), flush=True)
    engine.dispose()
    return point


def _plans(db: str, notices: int, cases: int, figure: str, path: str,
           log: list[tuple[float, str, Any]], engine: Any, total: int) -> str:
    shown = "" if len(log) == total else f", the {len(log)} slowest shown"
    out = [f"=== {db}, {supervision.label(notices)} notices, {supervision.label(cases)} cases: "
           f"{figure}: GET {path} ({total} statements{shown})"]
    for ms, stmt, params in log:
        flat = " ".join(stmt.split())
        if not flat.upper().startswith(("SELECT", "WITH")):
            out.append(f"--- {ms:.2f} ms: {flat[:160]}")
            continue
        out.append(f"--- {ms:.2f} ms: {flat}\n    params: {params}")
        try:
            plan = common.explain(engine, stmt, params)
        except Exception as exc:  # noqa: BLE001 - a plan that cannot be shown is reported
            plan = f"(no plan: {exc})"
        out.append("    " + plan.replace("\n", "\n    "))
    return "\n".join(out) + "\n"


def run(table: Table, opts: Options, plans: list[str]) -> list[Point]:
    """Measure every size on every database; add the rows; append plans of the largest."""
    points: list[Point] = []
    for k, (notices, cases) in enumerate(opts.sizes):
        largest = k == len(opts.sizes) - 1
        # The databases of one size are loaded side by side (each load keeps one core busy),
        # then timed one after the other with nothing else running.
        loaded = [_prepare(db, notices, cases, opts) for db in opts.dbs]
        t0 = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(len(loaded)) as pool:
            list(pool.map(_load, loaded))
        # The loads leave gigabytes of dirty pages: have the kernel write them out now, not
        # while the first figure is timed (as supervision.py does).
        os.sync()
        print(f"  {supervision.label(notices)} notices, {supervision.label(cases)} cases loaded "
              f"into {', '.join(opts.dbs)} in {time.perf_counter() - t0:.0f} s", flush=True)
        for one in loaded:
            points.append(measure(one, opts, plans if largest else None))
    if "postgres" in opts.dbs:
        common.drop_pg(PG_DB)
    for db in opts.dbs:
        mine = [p for p in points if p.db == db]
        first, last = mine[0], mine[-1]
        section = f"growth/{db}"
        span = (f"{supervision.label(first.notices)}→{supervision.label(last.notices)} notices, "
                f"{supervision.label(first.cases)}→{supervision.label(last.cases)} cases")
        table.add(section, f"synthetic data ({span}; placeholder ciphertext)",
                  "load " + " / ".join(f"{p.load_s:.0f}" for p in mine) + " s")
        for figure in FIGURES:
            series = " / ".join(f"{p.ms[figure]:.1f}" for p in mine)
            bases = " / ".join(f"{p.base[figure]:.1f}" for p in mine)
            raw = last.ms[figure] / first.ms[figure]
            # Growth of the figure in units of the same-moment baseline: the machine's other
            # load, which changes between sizes minutes apart, cancels out.
            ratio = last.rel[figure] / first.rel[figure]
            queries = "/".join(str(p.queries[figure]) for p in mine)
            measured = (f"x{ratio:.2f} (raw x{raw:.2f}: {series} ms; baseline {bases} ms; "
                        f"{queries} SQL)")
            if figure == "dashboard":
                at = next((p for p in mine if p.cases == DASHBOARD_AT), None)
                if at is None:
                    table.add(section, f"{figure}: {span}", measured,
                              f"< {DASHBOARD_BUDGET_MS:.0f} ms at 1M cases (not run)")
                else:
                    table.add(section, f"{figure} at 1M cases ({span})",
                              f"{at.ms[figure]:.0f} ms ({series} ms; baseline {bases} ms)",
                              f"< {DASHBOARD_BUDGET_MS:.0f} ms",
                              at.ms[figure] < DASHBOARD_BUDGET_MS)
                continue
            if figure != "archive ?q=post text":
                table.add(section, f"{figure}: largest / smallest ({span})", measured,
                          f"<= x{FLAT:.0f}", ratio <= FLAT)
            else:  # a substring search: its own budget, not the flatness target
                table.add(section, f"{figure}: largest / smallest ({span})", measured)
                at = next((p for p in mine if p.notices == TEXT_AT), None)
                if at is None:
                    table.add(section, f"{figure} at 100k notices", "not run (quick)",
                              f"< {TEXT_BUDGET_MS:.0f} ms")
                else:
                    table.add(section, f"{figure} at 100k notices",
                              f"{at.ms[figure]:.1f} ms (baseline {at.base[figure]:.1f} ms)",
                              f"< {TEXT_BUDGET_MS:.0f} ms",
                              at.ms[figure] < TEXT_BUDGET_MS)
    return points
