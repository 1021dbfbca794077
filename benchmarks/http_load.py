"""Public pages against the ceiling: the portal and a minimal Flask app under the same gunicorn.

Both are served by `gunicorn -c gunicorn.conf.py` (the portal's real settings: 2 x cores + 1
sync workers, access log on) and loaded one after the other by the same `wrk` command on the
loopback. The minimal app is measured before and after each portal run (it idles meanwhile)
and the mean of those two brackets is the ceiling, so a change in the machine's other load
during the run moves both sides. Each figure is portal requests/s / ceiling requests/s.

The portal's database: a fresh SQLite file (and, in the full run, a fresh PostgreSQL database)
with `portal init` run through the CLI, two queue handlers and `queues init` (the filing
benchmark uses the same server), and 10,000 published notices bulk-inserted
(benchmarks/notice_data.py). Production settings throughout, except
PORTAL_SECURE_COOKIES=false (plain HTTP) and raised report limits (for the filings).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from benchmarks import common
from benchmarks.common import Table
from benchmarks.notice_data import PLANTED_NAMES, NoticeData, load_notices
from portal import state

NOTICES = 10_000
THREADS, CONNECTIONS = 2, 10
PG_DB = "bench_http"
RAISED_LIMIT = "100000 per hour"


@dataclass(frozen=True)
class Options:
    """How long and on what the public pages are loaded."""

    seconds: int
    warmup: int
    dbs: tuple[str, ...]
    workdir: Path


@dataclass(frozen=True)
class Portal:
    """A prepared portal database: the server's environment, the notices, a category id."""

    db: str
    env: dict[str, str]
    data: NoticeData
    category: int


def prepare(db: str, workdir: Path) -> Portal:
    """A fresh database: `portal init`, two queue handlers (production staff KDF), `queues
    init`, NOTICES published notices. The server's environment raises the report limits (the
    filing benchmark files from one address) and allows plain-HTTP cookies; nothing else
    differs from production defaults."""
    from application import create_app
    from portal import accounts, clock
    from portal import db as portal_db
    from portal.config import Config

    base = workdir / f"portal-{db}"
    url = common.fresh_sqlite(base / "portal.db") if db == "sqlite" else common.fresh_pg(PG_DB)
    env = {"PORTAL_INSTANCE_PATH": str(base / "instance"), "PORTAL_DATABASE_URL": url,
           "PORTAL_SECURE_COOKIES": "false", "PORTAL_REPORT_LIMIT": RAISED_LIMIT,
           "PORTAL_REPORT_CEILING": RAISED_LIMIT}
    app = create_app(Config.from_env(env))
    result = app.test_cli_runner().invoke(args=["portal", "init"])
    if result.exit_code != 0:
        raise RuntimeError(f"portal init failed: {result.output}")
    with app.app_context():
        today = clock.today()
        for username, role in (("bench-org", "org_handler"), ("bench-dic", "dic_handler")):
            accounts.create_account_with_passphrase(portal_db.session(), username, [role],
                                                    common.PASSPHRASE)
    result = app.test_cli_runner().invoke(args=["queues", "init"])
    if result.exit_code != 0:
        raise RuntimeError(f"queues init: {result.output}")
    category = common.category_id(app, "discipline")
    state.engine(app).dispose()
    engine = common.loader_engine(url)
    data = load_notices(engine, NOTICES, today)
    common.fix_sequences(engine)
    engine.dispose()
    return Portal(db, env, data, category)


def _check(port: int, path: str, headers: dict[str, str], status: int) -> dict[str, str]:
    got, response_headers, body = common.http_get(port, path, headers)
    if got != status:
        raise RuntimeError(f"GET {path}: {got}, expected {status}: {body[:300]!r}")
    return response_headers


def ceiling(port: int, opts: Options) -> float:
    """Requests/s of the minimal app (after a warm-up)."""
    url = f"http://127.0.0.1:{port}/"
    common.wrk(url, seconds=opts.warmup, threads=THREADS, connections=CONNECTIONS)
    result = common.wrk(url, seconds=opts.seconds, threads=THREADS, connections=CONNECTIONS)
    print(f"    minimal app: {result.rps:,.0f} req/s (p50 {result.p50_ms:.1f} ms)", flush=True)
    return result.rps


def measure_pages(table: Table, opts: Options, portal: Portal, port: int, minimal: int,
                  before: float) -> float:
    """Load each public page of the running portal, then the minimal app again; add the
    rows (ratios to the mean of `before` and that new ceiling) and return the new ceiling."""
    notice = portal.data.open_ids[0]
    name = PLANTED_NAMES[0]
    pages: list[tuple[str, str, list[str], str | None]] = [
        ("GET / (home, open notices)", "/", [], "home"),
        (f"GET /notices/{notice} (an open notice)", f"/notices/{notice}", [], "notice"),
        (f"GET /notices/archive?q={name}", f"/notices/archive?q={quote(name)}", [], None),
        (f"GET /api/notices/{notice}", f"/api/notices/{notice}", [], None),
    ]
    etag = _check(port, f"/notices/{notice}", {}, 200).get("etag", "")
    _check(port, f"/notices/{notice}", {"If-None-Match": etag}, 304)
    pages.append((f"GET /notices/{notice} If-None-Match → 304", f"/notices/{notice}",
                  [f"If-None-Match: {etag}"], "304"))
    measured: dict[str, float] = {}
    cookies: list[str] = []
    for label, path, extra, _key in pages:
        response = _check(port, path, dict(h.split(": ", 1) for h in extra),
                          304 if extra else 200)
        if "set-cookie" in response:
            cookies.append(path)
        url = f"http://127.0.0.1:{port}{path}"
        common.wrk(url, seconds=opts.warmup, threads=THREADS, connections=CONNECTIONS,
                   headers=extra)
        result = common.wrk(url, seconds=opts.seconds, threads=THREADS,
                            connections=CONNECTIONS, headers=extra)
        if result.bad_status or result.socket_errors:
            print(f"    {label}: {result.bad_status} bad statuses, "
                  f"{result.socket_errors} socket errors", flush=True)
        measured[label] = result.rps
        print(f"    {portal.db} {label}: {result.rps:,.0f} req/s (p50 {result.p50_ms:.1f} ms, "
              f"p99 {result.p99_ms:.1f} ms)", flush=True)
    after = ceiling(minimal, opts)
    mean = (before + after) / 2
    section = f"public/{portal.db}"
    table.add(section, "ceiling: minimal Flask app, same gunicorn and wrk",
              f"{mean:,.0f} req/s (before {before:,.0f}, after {after:,.0f})")
    targets = {"home": 0.5, "notice": 0.5, "304": 0.8}
    for label, _path, _extra, key in pages:
        ratio = measured[label] / mean
        target = targets.get(key or "")
        table.add(section, f"{label} / ceiling", f"{ratio:.2f} ({measured[label]:,.0f} req/s)",
                  f">= {target}" if target else "",
                  None if target is None else ratio >= target)
    table.add(section, "public pages above that set a cookie",
              ", ".join(cookies) if cookies else "none", "none (design)")
    return after
