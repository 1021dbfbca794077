"""`make bench`: the portal's performance figures, each beside its target, in one table.

    .venv/bin/python benchmarks/bench.py            # full: about 12 minutes on 2 cores
    .venv/bin/python benchmarks/bench.py --quick    # short: under 2 minutes
    .venv/bin/python benchmarks/bench.py --only growth,crypto

Sections (benchmarks/README.md describes each):

1. public  - public pages under gunicorn + wrk, as a ratio to a minimal Flask app served and
             loaded the same way in the same run (10,000 published notices);
2. filing  - reports with a 1 MB photo at concurrency 4 (production receipt KDF), and the
             worker's peak memory while a 20 MB PDF is uploaded;
3. growth  - the same requests at 1k/10k/100k notices and 10k/100k/1M cases, SQLite and
             PostgreSQL (synthetic bulk data with placeholder ciphertext);
4. crypto  - KDFs, seal/unseal, chunk encryption and metadata stripping at production cost.

Quick mode: public pages on SQLite with 2-second wrk runs, 10 filings, growth at the two
smallest sizes on SQLite only with 3 runs each; targets that need a size quick mode does not
load are shown as "info". The table goes to stdout and to benchmarks/results/latest.txt
(latest-quick.txt in quick mode) with the machine's description; the query plans the growth
section relied on go to benchmarks/results/plans.txt (plans-quick.txt).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import common, crypto_costs, filing, growth, http_load  # noqa: E402
from benchmarks.common import Table  # noqa: E402

SECTIONS = ("public", "filing", "growth", "crypto")


def portal_sections(table: Table, public: http_load.Options,
                    filings: filing.Options | None) -> None:
    """The public pages on each database (against the minimal app, which idles in between),
    and the filings on the server of `filings.db` right after its pages; then the 20 MB PDF
    on a fresh 1-worker server of the same database."""
    log = public.workdir / "gunicorn.log"
    dbs = list(public.dbs)
    if filings is not None and filings.db not in dbs:
        dbs.append(filings.db)
    with contextlib.ExitStack() as stack:
        minimal = None
        before = 0.0
        if public.dbs:
            common.ensure_wrk()
            print(f"  public pages: wrk -t{http_load.THREADS} -c{http_load.CONNECTIONS} "
                  f"-d{public.seconds}s after a {public.warmup} s warm-up; "
                  f"{http_load.NOTICES:,} published notices", flush=True)
            minimal = stack.enter_context(common.gunicorn("benchmarks.minimal_app:app", {}, log))
            before = http_load.ceiling(minimal.port, public)
        for db in dbs:
            t0 = time.perf_counter()
            portal = http_load.prepare(db, public.workdir)
            print(f"  {db}: portal prepared in {time.perf_counter() - t0:.1f} s "
                  f"({portal.data.notices:,} notices, {portal.data.persons:,} persons)",
                  flush=True)
            with common.gunicorn("wsgi:app", portal.env, log) as server:
                if minimal is not None and db in public.dbs:
                    before = http_load.measure_pages(table, public, portal, server.port,
                                                     minimal.port, before)
                if filings is not None and db == filings.db:
                    filing.throughput(table, filings, server, portal.category)
            if filings is not None and db == filings.db:
                filing.memory(table, filings, portal.env, portal.category, log)
            if db == "postgres":
                common.drop_pg(http_load.PG_DB)


def main() -> int:
    """Run the sections, print the table, write the results files; 0 unless a section broke."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="the short mode (under 2 minutes)")
    ap.add_argument("--only", default=",".join(SECTIONS),
                    help=f"comma-separated sections to run ({', '.join(SECTIONS)})")
    ap.add_argument("--workdir", type=Path, default=common.WORKDIR,
                    help="scratch folder for databases and logs (removed afterwards)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = ap.parse_args()
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown sections: {', '.join(sorted(unknown))}")
    quick: bool = args.quick
    workdir: Path = args.workdir
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)

    started = time.perf_counter()
    when = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    machine = common.machine()
    load_before = common.load_average()
    pg = common.pg_available()
    dbs = ("sqlite", "postgres") if pg and not quick else ("sqlite",)
    mode = "QUICK" if quick else "full"
    print(f"Benchmarks ({mode}), {when}\nMachine: {machine}\nLoad average before: "
          f"{load_before}" + ("" if pg else "\nPostgreSQL unreachable: SQLite only"),
          flush=True)

    table = Table()
    plans: list[str] = []
    broken = 0
    public = http_load.Options(seconds=2 if quick else 6, warmup=1,
                               dbs=dbs if "public" in only else (), workdir=workdir)
    filings = filing.Options(reports=10 if quick else 40, db=dbs[-1], workdir=workdir)
    runners: dict[str, Callable[[], object]] = {
        "public": lambda: portal_sections(table, public,
                                          filings if "filing" in only else None),
        "filing": lambda: portal_sections(table, public, filings),
        "growth": lambda: growth.run(table, growth.Options(
            sizes=growth.SIZES[:2] if quick else growth.SIZES, dbs=dbs,
            runs=3 if quick else 7, workdir=workdir), plans),
        "crypto": lambda: crypto_costs.run(table, runs=3 if quick else 5),
    }
    timings: list[str] = []
    for name in SECTIONS:
        # The public pages and the filings share the portal servers: one runner for both.
        if name not in only or (name == "filing" and "public" in only):
            continue
        t0 = time.perf_counter()
        print(f"\n== {name}", flush=True)
        try:
            runners[name]()
        except Exception as exc:  # noqa: BLE001 - one broken section must not hide the others
            traceback.print_exc()
            table.add(name, "section failed", f"{type(exc).__name__}: {exc}"[:200], "runs", False)
            broken += 1
        label = "public+filing" if name == "public" and "filing" in only else name
        timings.append(f"{label} {time.perf_counter() - t0:.0f} s")
    wall = time.perf_counter() - started
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)

    rendered = table.render()
    footer = (f"wall time {wall:.0f} s ({', '.join(timings)}); load average before "
              f"{load_before}, after {common.load_average()}")
    print("\n" + rendered + "\n" + footer)
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "-quick" if quick else ""
    (common.RESULTS / f"latest{suffix}.txt").write_text(
        f"make bench{' QUICK=1' if quick else ''}, {when}\nMachine: {machine}\n\n"
        f"{rendered}\n{footer}\n", encoding="utf-8")
    if plans:
        (common.RESULTS / f"plans{suffix}.txt").write_text(
            f"Query plans at the largest size of the growth section ({when}).\nSQLite: EXPLAIN "
            f"QUERY PLAN; PostgreSQL: EXPLAIN (ANALYZE, BUFFERS). Statements captured with "
            f"SQLAlchemy's before/after_cursor_execute during one request.\n\n"
            + "\n".join(plans), encoding="utf-8")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
