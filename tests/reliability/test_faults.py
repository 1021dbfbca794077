"""Faults survived: a gunicorn worker killed mid-upload and mid-transaction, PostgreSQL
connections cut in the middle of the load, and the Redis rate-limit store going away and
coming back.

These runs are about transactions and processes, not about the KDF: the receipt and staff KDFs
are at the test minimum (argon2id t=1, m=8 KiB) so the filings pack close together.
"""

from __future__ import annotations

import contextlib
import html
import shutil
import socket
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import psycopg
import pytest
from sqlalchemy import func, make_url, select

from casework.models import Case, EvidenceFile
from intake.models import FormSubmission
from intake.service import _token_hash
from portal import crypto, db, ratelimit, state
from portal.constants import ROOT
from portal.models import AuditEntry, AuditPending
from tests.conftest import PG_URL, REQUIRE_SERVICES
from tests.functional.server import Portal, running_portal
from tests.reliability.harness import (
    RAISED_LIMITS,
    WORKERS,
    Broken,
    Filing,
    Recorder,
    Tickets,
    Visitor,
    audit_chain_verifies,
    category_ids,
    count_rows,
    decrypted_mismatches,
    file_report,
    hidden,
    is_try_again,
    kill,
    make_report,
    multipart,
    open_receipt,
    private_redis,
    publish_notices,
    report_fields,
    reporter_page_problems,
    run_threads,
    send_report,
    wait_for,
    worker_pids,
    worker_serving,
    worker_with_local_port,
)

T = TypeVar("T")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fault_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh SQLite file, or a PostgreSQL schema of the test's own."""
    if request.param == "postgres":
        return str(request.getfixturevalue("reliability_pg_url"))
    return f"sqlite:///{tmp_path / 'portal.db'}"


def _named(url: str, application_name: str) -> str:
    """The server's database URL, naming its connections for pg_stat_activity."""
    parsed = make_url(url)
    return parsed.update_query_dict({"application_name": application_name}).render_as_string(
        hide_password=False)


# --- holding the database still ------------------------------------------------------------


class PostgresWatch:
    """The test's own PostgreSQL sessions: one sees and cuts the server's connections (by
    their application_name); the other, on the server's schema, can lock the table of held
    reporter audit events, which every filing writes as the last step of its transaction,
    after its case, entries and files (#21.7: a filing no longer takes the chain's lock)."""

    def __init__(self, application_name: str, server_url: str) -> None:
        self.application_name = application_name
        self.connection = psycopg.connect(PG_URL, autocommit=True)
        self.locker = psycopg.connect(
            make_url(server_url).set(drivername="postgresql").render_as_string(
                hide_password=False))

    def close(self) -> None:
        """End the sessions (and any lock they hold)."""
        self.locker.close()
        self.connection.close()

    def hold_audit_lock(self) -> None:
        """Lock the held events' table: filings now wait inside their transactions."""
        self.locker.execute("LOCK TABLE audit_pending IN EXCLUSIVE MODE")

    def release_audit_lock(self) -> None:
        """Let the waiting filings go on."""
        self.locker.commit()

    def backends(self) -> list[dict[str, Any]]:
        """The server's connections now."""
        rows = self.connection.execute(
            "SELECT pid, client_port, state, wait_event_type, wait_event, "
            "xact_start IS NOT NULL FROM pg_stat_activity WHERE application_name = %s",
            (self.application_name,)).fetchall()
        return [{"pid": r[0], "port": r[1], "state": r[2], "wait_type": r[3], "wait": r[4],
                 "in_transaction": r[5]} for r in rows]

    def waiting_in_transaction(self) -> list[dict[str, Any]]:
        """The server's connections blocked on a lock inside a transaction."""
        return [b for b in self.backends() if b["in_transaction"] and b["wait_type"] == "Lock"]

    def tables_written(self, pid: int) -> set[str]:
        """The tables a backend's open transaction has written to (its RowExclusiveLocks)."""
        rows = self.connection.execute(
            "SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.pid = %s AND l.mode = 'RowExclusiveLock' AND c.relkind = 'r'",
            (pid,)).fetchall()
        return {r[0] for r in rows}

    def cut(self) -> int:
        """pg_terminate_backend on every connection of the server; wait until they are gone;
        return how many were cut."""
        # In the select list, not the WHERE clause: there the planner could call it on rows
        # before the name is compared, cutting every connection of the database.
        rows = self.connection.execute(
            "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s AND pid <> pg_backend_pid()",
            (self.application_name,)).fetchall()
        pids = [pid for pid, cut in rows if cut]
        wait_for(lambda: not {b["pid"] for b in self.backends()} & set(pids), 15,
                 "the cut connections to end")
        return len(pids)


@contextlib.contextmanager
def sqlite_write_lock(url: str) -> Iterator[None]:
    """Hold SQLite's write lock (BEGIN IMMEDIATE) from the test: every filing then waits for
    it at the start of its transaction (well within the portal's 30 s busy timeout)."""
    connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield
        connection.execute("ROLLBACK")
    finally:
        connection.close()


def _at_least(n: int, get: Callable[[], list[T]]) -> Callable[[], list[T] | None]:
    """A wait_for condition: what `get` returns once it has at least `n` items."""
    def check() -> list[T] | None:
        items = get()
        return items if len(items) >= n else None
    return check


def _waiting_for_sqlite_lock(pid: int) -> bool:
    """Whether a worker sleeps in SQLite's busy handler (the only sleep of a request)."""
    try:
        return "nanosleep" in Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return False


# --- a deliberately slow client --------------------------------------------------------------


class SlowUpload:
    """A reporter on a bad line: the form is sent up to the middle of its attachment, then
    nothing more for as long as the test likes."""

    def __init__(self, portal: Portal, n: int, categories: dict[str, int]) -> None:
        visitor = Visitor(portal.base_url)
        self.report = make_report(n, seed=3, big=True)
        page = visitor.get("/report", label="GET /report")
        fields = report_fields(self.report, page.text, categories)
        self.form_token = dict(fields)["form_token"]
        body, content_type = multipart(fields, [("files", f.name, f.data)
                                                for f in self.report.files])
        head = (f"POST /report HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                f"Cookie: {'; '.join(f'{k}={v}' for k, v in visitor.cookies.items())}\r\n\r\n")
        self.first, self.rest = head.encode() + body[:len(body) // 2], body[len(body) // 2:]
        parts = urlsplit(portal.base_url)
        self.address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.sock: socket.socket | None = None
        self.client_port = 0

    def start(self) -> None:
        """Connect and send the first half."""
        self.sock = socket.create_connection(self.address, timeout=30)
        self.client_port = int(self.sock.getsockname()[1])
        self.sock.sendall(self.first)

    def finish(self) -> bytes:
        """Send the rest and read whatever comes back (nothing, once its worker is dead)."""
        assert self.sock is not None
        received = b""
        try:
            self.sock.sendall(self.rest)
            while chunk := self.sock.recv(65536):
                received += chunk
        except OSError:
            pass  # reset by the dead worker's kernel
        finally:
            self.sock.close()
        return received


def _no_trace_left(portal: Portal, form_tokens: Sequence[str]) -> list[str]:
    """The form tokens of interrupted filings that left a row behind."""
    with portal.app.app_context():
        session = db.session()
        found = [t for t in form_tokens
                 if session.get(FormSubmission, _token_hash(t)) is not None]
        session.rollback()
    return found


def _filed_entries(portal: Portal) -> int:
    with portal.app.app_context():
        session = db.session()
        try:
            # Reporter events wait for their hour to end before joining the chain (#21.7).
            return sum(int(session.scalar(select(func.count()).select_from(model)
                                          .where(model.action == "case.filed")) or 0)
                       for model in (AuditEntry, AuditPending))
        finally:
            session.rollback()


def _check_receipts(portal: Portal, filings: Sequence[Filing], recorder: Recorder) -> list[str]:
    """Every receipt through the real check page, and its content decrypted by the queue."""
    problems: list[str] = []
    for filing in filings:
        assert filing.receipt is not None
        page = open_receipt(Visitor(portal.base_url, recorder), filing.receipt)
        problems += reporter_page_problems(page, filing.report)
    return problems + decrypted_mismatches(portal, filings)


# --- a worker killed -----------------------------------------------------------------------


def test_worker_killed_mid_upload_and_mid_transaction(fault_db_url: str,
                                                      tmp_path: Path) -> None:
    """SIGKILL to the worker reading a slow client's upload and to a worker whose filing is
    inside its transaction (PostgreSQL: case, entries and files written, waiting on the audit
    lock; SQLite: waiting for the write lock): the interrupted requests leave no trace, the
    master replaces both workers, the other filings complete and later ones succeed."""
    postgres = fault_db_url.startswith("postgresql")
    name = f"portal-reliability-kill-{crypto.random_token(4)}"
    server = {"PORTAL_DATABASE_URL": _named(fault_db_url, name)} if postgres else {}
    # One request per process, so that a SIGKILL interrupts exactly the request chosen: the
    # shipped gthread workers (#21.4) would lose every request of the killed worker's threads.
    # A sync worker busy longer than `timeout` is killed by the master: 120 s, as before.
    server["GUNICORN_CMD_ARGS"] = "--worker-class sync --threads 1 --timeout 120"
    recorder = Recorder()
    with running_portal(tmp_path, fault_db_url, workers=WORKERS, settings=RAISED_LIMITS,
                        server_settings=server) as portal, contextlib.ExitStack() as stack:
        categories = category_ids(portal.app)
        first_workers = worker_pids(portal)
        assert len(first_workers) == WORKERS
        slow = SlowUpload(portal, 900, categories)
        filers = [Visitor(portal.base_url, recorder) for _ in range(3)]
        reports = [make_report(901 + i, seed=3) for i in range(3)]
        pages = [v.get("/report", label="GET /report").text for v in filers]
        form_ports = [v.last_client_port for v in filers]
        outcomes: dict[int, Filing] = {}

        def send(i: int) -> None:
            try:
                outcomes[i] = send_report(filers[i], reports[i], pages[i], categories)
            except Broken as exc:
                outcomes[i] = Filing(reports[i], detail=str(exc),
                                     form_token=hidden(pages[i], "form_token"))

        try:
            if postgres:
                watch = PostgresWatch(name, fault_db_url)
                stack.callback(watch.close)
                watch.hold_audit_lock()
            else:
                stack.enter_context(sqlite_write_lock(fault_db_url))
            slow.start()
            slow_worker = wait_for(lambda: worker_serving(portal, slow.client_port), 10,
                                   "the worker reading the slow upload")
            threads = [threading.Thread(target=send, args=(i,), daemon=True) for i in range(3)]
            for thread in threads:
                thread.start()
            wait_for(lambda: all(v.last_client_port != p for v, p in zip(filers, form_ports,
                                                                           strict=True)),
                     10, "the three filings to be sent")
            if postgres:
                waiting = wait_for(_at_least(3, watch.waiting_in_transaction), 20,
                                   "three filings waiting inside their transactions")
                on_audit = next(b for b in waiting if b["wait"] == "relation")
                victim = wait_for(lambda: worker_with_local_port(portal, on_audit["port"]), 5,
                                  "the worker of the filing on the audit lock")
                victim_backend = on_audit["pid"]
                written = watch.tables_written(victim_backend)
                wanted = {Case.__tablename__, EvidenceFile.__tablename__}
                assert wanted <= written, f"the victim has not written its case yet: {written}"
            else:
                port = filers[0].last_client_port
                assert port is not None
                victim = wait_for(lambda: worker_serving(portal, port), 10,
                                  "the worker of the first filing")
                wait_for(lambda: _waiting_for_sqlite_lock(victim), 15,
                         "the first filing to wait for SQLite's write lock")
            assert victim != slow_worker
            victim_index = next(
                i for i, v in enumerate(filers)
                if worker_serving(portal, v.last_client_port or 0) == victim)
            kill(slow_worker)
            kill(victim)
            wait_for(lambda: not worker_pids(portal) & {slow_worker, victim}, 10,
                     "the killed workers to be gone")
        finally:
            stack.close()  # the lock goes: the surviving filings complete
        for thread in threads:
            thread.join(60)
        assert not any(t.is_alive() for t in threads), "a filing never finished"
        answer = slow.finish()

        def replaced_workers() -> set[int] | None:
            now = worker_pids(portal)
            return now if len(now) == WORKERS and not now & {slow_worker, victim} else None

        replaced = wait_for(replaced_workers, 30, "the master to replace the killed workers")
        if postgres:
            watch = PostgresWatch(name, fault_db_url)
            try:
                wait_for(lambda: victim_backend not in {b["pid"] for b in watch.backends()},
                         15, "the killed worker's database session to end")
            finally:
                watch.close()
        later = []
        for n in range(6):
            later.append(file_report(Visitor(portal.base_url, recorder),
                                     make_report(910 + n, seed=3), categories))
        recorder.stop()
        interrupted = outcomes[victim_index]
        survivors = [outcomes[i] for i in range(3) if i != victim_index]
        receipted = [f for f in [*survivors, *later] if f.receipt]
        database = "PostgreSQL" if postgres else "SQLite"
        facts = [f"database {database}; workers before {sorted(first_workers)}, killed "
                 f"{slow_worker} (slow upload) and {victim} (filing inside its transaction), "
                 f"after {sorted(replaced)}",
                 f"interrupted filing: {interrupted.detail[:100]}",
                 f"slow client got {len(answer)} bytes back; receipts {len(receipted)}",
                 "errors above: the filing whose worker was killed (by design)"]
        try:
            assert not answer.startswith(b"HTTP/"), f"the slow upload was answered: {answer!r:.200}"
            assert interrupted.status is None, interrupted
            assert interrupted.receipt is None
            assert all(f.receipt for f in survivors), [f.detail for f in survivors]
            assert all(f.receipt for f in later), [f.detail for f in later]
            cases = count_rows(portal.app, Case)
            assert cases == len(receipted), f"{cases} cases for {len(receipted)} receipts"
            assert count_rows(portal.app, EvidenceFile) == sum(len(f.report.files)
                                                               for f in receipted)
            assert _filed_entries(portal) == cases
            assert not _no_trace_left(portal, [interrupted.form_token, slow.form_token])
            assert not _check_receipts(portal, receipted, recorder)
            facts.append(f"audit: {audit_chain_verifies(portal)}; lost reports: 0")
        finally:
            table = recorder.publish(
                f"Fault: worker SIGKILL mid-upload and mid-transaction ({database})", facts)
        assert recorder.server_errors == 0, table


# --- PostgreSQL connections cut ------------------------------------------------------------


# After how many filings the random cuts come (the first, held, cut comes after 20 of 80).
RANDOM_CUTS = (30, 37, 44, 51, 58)


@dataclass
class Attempt:
    """One filing of the cut test: when it started, in which language, and what it got."""

    filing: Filing
    started: float
    lang: str | None


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_postgres_connections_cut_mid_load(backend: str, reliability_pg_url: str,
                                           tmp_path: Path) -> None:
    """pg_terminate_backend on all of the server's connections six times during a load of
    filings and notice reads (first while filings wait inside their transactions, then at
    random moments): every filing ends
    with a receipt or the clear "nothing was saved, try again" page, never a 500 or a receipt
    without a case; requests after the cut succeed by themselves; no committed report is
    lost."""
    name = f"portal-reliability-cut-{crypto.random_token(4)}"
    recorder = Recorder()
    attempts: list[Attempt] = []
    lock = threading.Lock()
    cuts: list[tuple[float, int, int]] = []  # (time done, connections cut, mid-transaction)
    odd_pages: list[str] = []
    facts: list[str] = []
    total = 80
    with running_portal(tmp_path, reliability_pg_url, workers=WORKERS, settings=RAISED_LIMITS,
                        server_settings={"PORTAL_DATABASE_URL": _named(reliability_pg_url,
                                                                       name)}) as portal:
        categories = category_ids(portal.app)
        notices = publish_notices(portal)
        tickets = Tickets(total)
        done = threading.Event()
        deadline = time.monotonic() + 150

        def finished() -> int:
            with lock:
                return len(attempts)

        def reached(count: int) -> Callable[[], bool]:
            return lambda: finished() >= count

        def filer() -> None:
            while time.monotonic() < deadline and (n := tickets.take()) is not None:
                lang = "en" if n % 2 else None
                started = time.monotonic()
                report = make_report(n, seed=4)
                try:
                    filing = file_report(Visitor(portal.base_url, recorder, lang=lang), report,
                                         categories, unavailable_ok=True)
                except Broken as exc:
                    filing = Filing(report, detail=str(exc))
                with lock:
                    attempts.append(Attempt(filing, started, lang))

        def reader() -> None:
            visitor = Visitor(portal.base_url, recorder, lang="en")
            for i in range(10_000):
                if done.is_set() or time.monotonic() > deadline:
                    break
                with contextlib.suppress(Broken):
                    page = visitor.get(f"/notices/{notices[i % len(notices)]}",
                                       label="GET /notices/<id>", expect=(200, 503))
                    if page.status == 503 and not is_try_again(page):
                        with lock:
                            odd_pages.append(f"a notice page answered 503 without the clear "
                                             f"page: {page.text[:200]}")

        def cutter() -> None:
            watch = PostgresWatch(name, reliability_pg_url)
            try:
                wait_for(lambda: finished() >= 20, 90, "20 filings before the first cut")
                watch.hold_audit_lock()
                try:
                    waiting = wait_for(_at_least(2, watch.waiting_in_transaction), 30,
                                       "filings waiting inside their transactions")
                    cut = watch.cut()
                finally:
                    watch.release_audit_lock()
                cuts.append((time.monotonic(), cut, len(waiting)))
                # Then at random moments: whatever each worker is doing (reading, rendering
                # with its read transaction open, writing) when its connection goes.
                for progress in RANDOM_CUTS:
                    wait_for(reached(progress), 90, f"{progress} filings before the next cut")
                    cuts.append((time.monotonic(), watch.cut(), 0))
            finally:
                watch.close()

        def run_filers() -> None:
            try:
                assert not run_threads([filer] * 8, 160)
            finally:
                done.set()

        failures = run_threads([run_filers, reader, reader, cutter], 180)
        for n in range(8):  # the portal needs nobody's help to work again
            filing = file_report(Visitor(portal.base_url, recorder), make_report(200 + n, seed=4),
                                 categories)
            attempts.append(Attempt(filing, time.monotonic(), None))
        recorder.stop()
        receipted = [a.filing for a in attempts if a.filing.receipt]
        refused = [a for a in attempts if not a.filing.receipt]
        facts = [f"database PostgreSQL; cuts: {[(c, m) for _t, c, m in cuts]} "
                 "(connections cut, of which waiting inside a transaction)",
                 f"filings {len(attempts)}: receipts {len(receipted)}, "
                 f"'nothing was saved, try again' {sum(a.filing.try_again for a in refused)}, "
                 f"other {sum(not a.filing.try_again for a in refused)}"]
        wrong: list[str] = [*failures, *odd_pages]  # every finding at once
        if len(cuts) != 1 + len(RANDOM_CUTS) or cuts[0][2] < 2:
            wrong.append(f"the cuts did not happen as planned: {cuts}")
        for attempt in refused:
            if not attempt.filing.try_again:
                wrong.append(f"a filing ended neither with a receipt nor the clear page: "
                             f"{attempt.filing.status} {attempt.filing.detail}")
                continue
            text = html.unescape(attempt.filing.page)  # in the language the reporter chose
            missing = [w for w in _try_again_words(attempt.lang) if w not in text]
            if missing:
                wrong.append(f"the try-again page lacks {missing}: {attempt.filing.detail}")
        after_cut = [a for a in attempts if cuts and a.started > cuts[-1][0]]
        if not after_cut or not all(a.filing.receipt for a in after_cut):
            wrong.append(f"filings after the last cut failed: "
                         f"{[a.filing.detail for a in after_cut if not a.filing.receipt]}")
        if recorder.count(lambda s: s >= 500 and s != 503) or recorder.transport_failures:
            wrong.append(f"responses other than a page or the clear 503: {recorder.problems}")
        cases = count_rows(portal.app, Case)
        if cases != len(receipted):
            wrong.append(f"{cases} cases for {len(receipted)} receipts")
        tokens = count_rows(portal.app, FormSubmission)
        if tokens != len(receipted):
            wrong.append(f"{tokens} used form tokens for {len(receipted)} receipts")
        traces = _no_trace_left(portal, [a.filing.form_token for a in refused
                                         if a.filing.form_token])
        if traces:
            wrong.append(f"{len(traces)} refused filings left their form token behind")
        wrong += _check_receipts(portal, receipted, recorder)
        facts.append(f"cases {cases}; audit: {audit_chain_verifies(portal)}; lost reports: "
                     f"{len(receipted) - cases if cases < len(receipted) else 0}")
        recorder.publish("Fault: PostgreSQL connections cut mid-load", facts)
        wrong += _tracebacks(portal.server_log())
        assert not wrong, "\n".join(wrong)


def _tracebacks(log: str) -> list[str]:
    """The server's tracebacks: the deepest portal frame and the exception of each."""
    lines = log.splitlines()
    found = []
    for i, line in enumerate(lines):
        if not line.startswith("Traceback"):
            continue
        j = i + 1
        while j < len(lines) and (lines[j].startswith(" ") or not lines[j].strip()):
            j += 1
        ours = [x.strip() for x in lines[i:j] if str(ROOT) in x and ".venv" not in x]
        found.append(f"server traceback: {ours[-1] if ours else '(no portal frame)'} -> "
                     f"{lines[j] if j < len(lines) else '?'}")
    return found[:6]


def _try_again_words(lang: str | None) -> tuple[str, ...]:
    return ("Nothing was saved", "try again") if lang == "en" else ("没有保存",)


# --- the Redis rate-limit store goes away ----------------------------------------------------

LIMIT = 12  # receipt checks per client address and hour, for this test


def _burst(portal: Portal, source: str, count: int, recorder: Recorder | None = None,
           clients: int = 4) -> Counter[int]:
    """`count` receipt checks (malformed receipts: cheap, but counted by the limit) from one
    client address, sent by `clients` browsers at once; the statuses they got."""
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    tickets = Tickets(count)

    def client() -> None:
        visitor = Visitor(portal.base_url, recorder, source=source)
        token = hidden(visitor.get("/report/check", label="GET /report/check").text,
                       "csrf_token")
        while (tickets.take()) is not None:
            reply = visitor.post("/report/check", {"csrf_token": token, "receipt": "12"},
                                 label="POST /report/check", expect=(400, 429))
            with lock:
                statuses[reply.status] += 1

    failures = run_threads([client] * clients, 60)
    assert not failures, failures
    return statuses


def _log_count(portal: Portal, phrase: str) -> int:
    return sum(phrase in line and "WARNING" in line
               for line in portal.server_log().splitlines())


def _counted_in(store: Any, portal: Portal, source: str) -> int:
    """How many requests of a client address the shared store counted (fixed window, under
    the address key the workers made in the store for this period)."""
    period = ratelimit.rotation_seconds(state.config(portal.app))
    address_key = store.get(f"{ratelimit.KEY_PREFIX}{int(time.time() // period)}")
    assert address_key, "the workers keep this period's address key in the store"
    key = crypto.client_key(address_key, source)
    total = 0
    for name in store.scan_iter(match=f"*{key}*"):
        kind = store.type(name).decode()
        total += int(store.llen(name) if kind == "list" else
                     store.zcard(name) if kind == "zset" else store.get(name) or 0)
    return total


@pytest.mark.parametrize("backend", ["sqlite"])
def test_redis_store_outage_falls_back_and_recovers(backend: str, tmp_path: Path) -> None:
    """With a private redis-server as the store: limits are shared by all workers; when it
    dies, reports are still accepted, per-process limits apply and the log says so; when it
    returns (same port, empty), the log says so and the shared limits apply again."""
    if shutil.which("redis-server") is None:
        message = "redis-server is not on PATH (apt-get install redis-server)"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    facts: list[str] = []
    recorder = Recorder()
    with private_redis(tmp_path) as store_server:
        settings = {**RAISED_LIMITS, "PORTAL_RATELIMIT_STORAGE_URI": store_server.url,
                    "PORTAL_RECEIPT_CHECK_LIMIT": f"{LIMIT} per hour"}
        with running_portal(tmp_path, f"sqlite:///{tmp_path / 'portal.db'}", workers=WORKERS,
                            settings=settings) as portal:
            store = store_server.client()
            try:
                categories = category_ids(portal.app)
                shared = _burst(portal, "127.0.0.2", 2 * LIMIT, recorder)
                counted = _counted_in(store, portal, "127.0.0.2")
                facts.append(f"store up: {dict(shared)} from one address; the store counted "
                             f"{counted}")
                assert shared == {400: LIMIT, 429: LIMIT}, shared
                # A fixed window counts every attempt, the refused ones too: all reached it.
                assert counted == 2 * LIMIT

                store_server.kill()
                during = [file_report(Visitor(portal.base_url, recorder, source="127.0.0.3"),
                                      make_report(n, seed=5), categories) for n in range(4)]
                fallback = _burst(portal, "127.0.0.4", WORKERS * LIMIT + 4, recorder)
                rounds = [0]

                def all_degraded() -> bool:
                    # Every worker must have met the dead store before it returns, or one that
                    # had not would meet its stale connection later, in the middle of the check
                    # of the shared limits.
                    rounds[0] += 1
                    _burst(portal, f"127.0.2.{rounds[0] % 250}", 8, recorder)
                    return _log_count(portal, "rate-limit store unreachable") >= WORKERS

                wait_for(all_degraded, 30, "every worker to log the store unreachable")
                degraded = _log_count(portal, "rate-limit store unreachable")
                facts.append(f"store down: {len(during)} reports filed, receipts "
                             f"{sum(bool(f.receipt) for f in during)}; checks "
                             f"{dict(fallback)}; workers that logged the outage {degraded}")
                assert all(f.receipt for f in during), [f.detail for f in during]
                # Per process: the first LIMIT pass whichever workers take them; no worker
                # lets more than LIMIT through, so some of WORKERS * LIMIT + 4 are refused.
                assert LIMIT <= fallback[400] <= WORKERS * LIMIT, fallback
                assert fallback[429] >= 1, fallback

                store_server.start()
                wake = 0
                started = time.monotonic()

                def recovered() -> bool:
                    nonlocal wake
                    wake += 1
                    _burst(portal, f"127.0.1.{wake % 250}", 4)
                    return (_log_count(portal, "rate-limit store reachable again")
                            >= _log_count(portal, "rate-limit store unreachable"))

                wait_for(recovered, 90, "every degraded worker to use the store again",
                         interval=0.5)
                back = _burst(portal, "127.0.0.6", 2 * LIMIT, recorder)
                counted = _counted_in(store, portal, "127.0.0.6")
                after = file_report(Visitor(portal.base_url, recorder, source="127.0.0.7"),
                                    make_report(10, seed=5), categories)
                facts.append(f"store back after {time.monotonic() - started:.1f} s: {dict(back)} "
                             f"from one address; the store counted {counted}; a report filed: "
                             f"{bool(after.receipt)}")
                assert back == {400: LIMIT, 429: LIMIT}, back
                assert counted == 2 * LIMIT
                assert after.receipt
                assert (_log_count(portal, "rate-limit store reachable again")
                        == _log_count(portal, "rate-limit store unreachable"))
                assert not _check_receipts(portal, [*during, after], recorder)
                assert count_rows(portal.app, Case) == len(during) + 1
            finally:
                store.close()
                recorder.stop()
                recorder.publish("Fault: Redis rate-limit store down and back (SQLite)", facts)
            assert "Traceback" not in portal.server_log()

