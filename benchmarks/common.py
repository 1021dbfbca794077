"""Shared pieces of the benchmarks: the result table, timing, servers, databases, the machine.

Every figure of `bench.py` is one `Row` (figure | measured | target | met); a row whose target
is only informative is "info" and does not count towards `targets met: K/N`.
"""

# ruff: noqa: S603, S607, S608
# (S603/S607: the benchmark starts gunicorn, wrk and apt-get on purpose, with fixed arguments;
#  S608: SQL here is built from constants and table names, never from input.)
from __future__ import annotations

import contextlib
import http.client
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from sqlalchemy import create_engine, event, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

BIN = Path(sys.executable).parent
RESULTS = ROOT / "benchmarks" / "results"
PG_ADMIN_URL = os.environ.get(
    "BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
WORKDIR = Path(os.environ.get("BENCH_WORKDIR", "/tmp/bench_portal"))  # noqa: S108
PASSPHRASE = "correct horse battery staple orbit"  # noqa: S105 - a throwaway bench account


# --- the result table -----------------------------------------------------------------------


@dataclass
class Row:
    """One figure: what was measured, against which target, and whether it is met."""

    section: str
    figure: str
    measured: str
    target: str
    met: str  # "yes", "no" or "info"


@dataclass
class Table:
    """The one table `bench.py` prints."""

    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, section: str, figure: str, measured: str, target: str = "",
            ok: bool | None = None) -> Row:
        """Add a row; `ok=None` makes it informative (not counted)."""
        row = Row(section, figure, measured, target or "-",
                  "info" if ok is None else "yes" if ok else "no")
        self.rows.append(row)
        print(f"  [{row.met:>4}] {section}: {figure}: {measured}  (target {row.target})",
              flush=True)
        return row

    def counted(self) -> tuple[int, int]:
        """(targets met, targets measured)."""
        judged = [r for r in self.rows if r.met != "info"]
        return sum(r.met == "yes" for r in judged), len(judged)

    def render(self) -> str:
        """The table as fixed-width text, ending with `targets met: K/N`."""
        head = ("figure", "measured", "target", "met")
        cells = [(f"{r.section}: {r.figure}", r.measured, r.target, r.met) for r in self.rows]
        widths = [max(len(head[i]), *(len(c[i]) for c in cells)) if cells else len(head[i])
                  for i in range(4)]

        def line(values: Sequence[str]) -> str:
            return " | ".join(v.ljust(widths[i]) for i, v in enumerate(values)).rstrip()

        out = [line(head), "-+-".join("-" * w for w in widths)]
        out += [line(c) for c in cells]
        k, n = self.counted()
        out.append(f"targets met: {k}/{n}")
        return "\n".join(out)


# --- timing -----------------------------------------------------------------------------------


def timed(fn: Callable[[], Any], runs: int, warmup: int = 1) -> float:
    """Median milliseconds of `runs` calls after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) by linear interpolation between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


@contextlib.contextmanager
def query_log(engine: Engine) -> Iterator[list[tuple[float, str, Any]]]:
    """Every statement run on `engine` meanwhile: (milliseconds, SQL, parameters)."""
    log: list[tuple[float, str, Any]] = []

    def before(conn: Any, _cur: Any, _stmt: str, _params: Any, _ctx: Any, _many: bool) -> None:
        conn.info.setdefault("bench_t", []).append(time.perf_counter())

    def after(conn: Any, _cur: Any, stmt: str, params: Any, _ctx: Any, _many: bool) -> None:
        started = conn.info["bench_t"].pop()
        log.append(((time.perf_counter() - started) * 1000, stmt, params))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield log
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def explain(engine: Engine, stmt: str, params: Any) -> str:
    """The plan of one captured SELECT: EXPLAIN QUERY PLAN (SQLite) or EXPLAIN (ANALYZE,
    BUFFERS) (PostgreSQL)."""
    pg = engine.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if pg else "EXPLAIN QUERY PLAN "
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + stmt, params).fetchall()
        conn.rollback()
    if pg:
        return "\n".join(str(r[0]) for r in rows)
    # SQLite: (id, parent, notused, detail); indent by depth.
    depth: dict[int, int] = {0: -1}
    lines = []
    for row in rows:
        level = depth.get(int(row[1]), -1) + 1
        depth[int(row[0])] = level
        lines.append("  " * level + str(row[3]))
    return "\n".join(lines)


# --- databases --------------------------------------------------------------------------------


def pg_available() -> bool:
    """Whether the PostgreSQL server of BENCH_PG_ADMIN_URL answers."""
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return False


def fresh_pg(name: str) -> str:
    """Drop and create the PostgreSQL database `name`; return its URL."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_pg(name: str) -> None:
    """Drop the PostgreSQL database `name` if it exists."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def fresh_sqlite(path: Path) -> str:
    """Remove a SQLite database file (and its WAL) if present; return its URL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def category_id(app: Flask, code: str) -> int:
    """The id of a category of the routing table, by code ("discipline", "selection")."""
    from sqlalchemy import select

    from casework.models import Category
    from portal import db

    with app.app_context():
        found = db.session().scalar(select(Category.id).where(Category.code == code))
    if found is None:
        raise RuntimeError(f"no category {code}")
    return int(found)


def loader_engine(url: str) -> Engine:
    """An engine for bulk loads: on SQLite without fsync and with a large page cache (the
    load is thrown away if it fails), as benchmarks/supervision.py loads cases."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("PRAGMA cache_size=-262144")  # 256 MiB while loading only
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.close()
    return engine


def fix_sequences(engine: Engine) -> None:
    """PostgreSQL: move every serial `id` sequence past the ids bulk-inserted explicitly, so
    rows the portal inserts afterwards get fresh ids. No-op on SQLite."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        seqs = conn.execute(text(
            "SELECT c.relname, pg_get_serial_sequence(quote_ident(c.relname), 'id') "
            "FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'id' "
            "WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace")).fetchall()
        for table, seq in seqs:
            if seq:
                conn.execute(text(
                    f"SELECT setval('{seq}', COALESCE((SELECT max(id) FROM \"{table}\"), 0) + 1,"
                    " false)"))


# --- gunicorn servers ---------------------------------------------------------------------


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(port: int, path: str, headers: Mapping[str, str] | None = None,
             timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    """One GET on the loopback: (status, headers (lower-case names), body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=dict(headers or {}))
        response = conn.getresponse()
        return (response.status, {k.lower(): v for k, v in response.getheaders()},
                response.read())
    finally:
        conn.close()


def proc_children(pid: int) -> list[int]:
    """Direct children of a process (gunicorn's workers of its master)."""
    kids: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                kids += [int(x) for x in (task / "children").read_text().split()]
    if kids:
        return kids
    for entry in Path("/proc").iterdir():  # kernels without the children file
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    kids.append(int(entry.name))
    return kids


def cpu_seconds(pid: int, *, with_reaped_children: bool = False) -> float:
    """User + system CPU seconds of a process (and of its children already reaped)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After ")": state=0, ppid=1, …, utime=11, stime=12, cutime=13, cstime=14.
    ticks = int(fields[11]) + int(fields[12])
    if with_reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def status_kib(pid: int, key: str) -> int:
    """A field of /proc/<pid>/status in KiB (VmHWM: peak resident memory; VmRSS: current)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


@dataclass
class Server:
    """A running gunicorn: its port, master process and log."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def workers(self) -> list[int]:
        """The worker processes' ids."""
        return proc_children(self.process.pid)

    def cpu_seconds(self) -> float:
        """CPU seconds of the master, its live workers and the workers it already reaped."""
        total = cpu_seconds(self.process.pid, with_reaped_children=True)
        return total + sum(cpu_seconds(w) for w in self.workers())


@contextlib.contextmanager
def gunicorn(app_spec: str, env: Mapping[str, str], log: Path, *, workers: int | None = None,
             ready_path: str = "/") -> Iterator[Server]:
    """Serve `app_spec` with the portal's own gunicorn.conf.py (only the bind address and,
    when asked, the worker count overridden) until the block ends."""
    port = free_port()
    command = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{port}"]
    if workers is not None:
        command += ["-w", str(workers)]
    command.append(app_spec)
    server_env = {"PATH": f"{BIN}:/usr/bin:/bin", "LANG": "C.UTF-8", **env}
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=server_env, stdout=out, stderr=out,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {proc.returncode}:\n"
                                   f"{log.read_text(errors='replace')[-3000:]}")
            with contextlib.suppress(OSError):
                if http_get(port, ready_path, timeout=5)[0] == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer within 60 s:\n"
                                   f"{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)
        # Every worker has booted (imported the app) before anything is measured.
        expected = workers if workers is not None else (os.cpu_count() or 1) * 2 + 1
        while len(proc_children(proc.pid)) < expected and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        yield Server(port, proc, log)
    finally:
        # SIGQUIT: gunicorn's quick shutdown (SIGTERM waits for idle sync workers' timeouts).
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # a worker the master left behind


# --- wrk --------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    """The path of `wrk`, installing Debian's package when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk not found: installing it with apt-get", flush=True)
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    subprocess.run([*sudo, "apt-get", "install", "-y", "-q", "wrk"], check=False,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is needed (apt-get install wrk) and could not be installed")
    return found


@dataclass
class WrkResult:
    """What wrk reported for one run."""

    rps: float
    requests: int
    bad_status: int
    socket_errors: int
    p50_ms: float
    p99_ms: float


def _ms(value: str) -> float:
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0), ("m", 60000.0)):
        if value.endswith(unit):
            return float(value[: -len(unit)]) * factor
    return float(value)


def wrk(url: str, *, seconds: int, threads: int, connections: int,
        headers: Sequence[str] = ()) -> WrkResult:
    """Run wrk against a URL for whole seconds and parse its summary."""
    command = [ensure_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for h in headers:
        command += ["-H", h]
    out = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    rps, p50, p99 = 0.0, float("nan"), float("nan")
    requests = bad = errors = 0
    for raw in out.splitlines():
        line = raw.strip()
        if line.startswith("Requests/sec:"):
            rps = float(line.split()[1])
        elif "requests in" in line:
            requests = int(line.split()[0])
        elif line.startswith("Non-2xx or 3xx responses:"):
            bad = int(line.split()[-1])
        elif line.startswith("Socket errors:"):
            errors = sum(int(part.split()[-1]) for part in line.split(":", 1)[1].split(","))
        elif line.startswith("50%"):
            p50 = _ms(line.split()[1])
        elif line.startswith("99%"):
            p99 = _ms(line.split()[1])
    return WrkResult(rps, requests, bad, errors, p50, p99)


# --- the machine --------------------------------------------------------------------------------


def machine() -> str:
    """CPU, cores, RAM, Python, SQLite and PostgreSQL versions, on one line."""
    import sqlite3

    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kib / 1024 / 1024:.0f} GiB RAM"
    pg = "unreachable"
    with contextlib.suppress(Exception):
        eng = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with eng.connect() as conn:
            pg = str(conn.execute(text("SHOW server_version")).scalar())
            pg += f", shared_buffers {conn.execute(text('SHOW shared_buffers')).scalar()}"
            pg += f", work_mem {conn.execute(text('SHOW work_mem')).scalar()}"
        eng.dispose()
    return (f"{cpu}, {os.cpu_count()} cores{mem}; Linux {platform.release()}; "
            f"Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}; "
            f"PostgreSQL {pg}")


def load_average() -> str:
    """The 1/5/15-minute load averages (other work on the machine during the run)."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"
