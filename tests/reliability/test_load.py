"""Load with verification: the real portal under gunicorn (4 workers) takes reports with
attachments from 32 concurrent clients while others read notice pages and handlers accept and
message cases; afterwards every receipt must open its case over HTTP and every decrypted field
and file must be byte-identical to what was sent.

Costs, as the figures also say: on PostgreSQL the receipt KDF runs at its production cost
(argon2id t=2, m=64 MiB: ~0.18 s per filing and per receipt check, the dominant cost); on the
smaller SQLite run it is at the test minimum, which packs the writes closer together (the harder
case for SQLite's single writer). Staff KDFs are always at the test minimum (t=1, m=8 KiB).
"""

from __future__ import annotations

import functools
import os
import resource
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from casework.models import Case, EvidenceFile
from tests.functional.server import Portal, running_portal
from tests.reliability.harness import (
    PRODUCTION_RECEIPT_KDF,
    RAISED_LIMITS,
    WORKERS,
    Broken,
    Filing,
    Recorder,
    Tickets,
    Visitor,
    accept_and_message,
    audit_chain_verifies,
    category_ids,
    count_rows,
    cpu_seconds,
    decrypted_mismatches,
    file_report,
    handler_message,
    make_report,
    open_receipt,
    publish_notices,
    receipts_to_cases,
    received_cases,
    reporter_page_problems,
    run_threads,
    staff_login,
    worker_pids,
)

# The issue asks for at least 1,000; PORTAL_TEST_LOAD_REPORTS may raise it (or, for a quick
# local run, lower it: the figures then say how many were filed).
LOAD_REPORTS = int(os.environ.get("PORTAL_TEST_LOAD_REPORTS", "1000"))
FILERS = 32
READERS = 2
CHECKERS = 8  # receipt checks are CPU-bound on the server: more clients only queue


@dataclass
class Scenario:
    """One run of the load: its size, where it runs and how it is described."""

    title: str
    reports: int
    handled_per_queue: int
    load_seconds: float  # hard bounds: a stuck run fails instead of hanging
    check_seconds: float
    settings: dict[str, str]
    description: list[str]


@dataclass
class Run:
    """What a run produced."""

    filings: list[Filing] = field(default_factory=list)
    handled: list[str] = field(default_factory=list)
    notice_reads: int = 0
    opened: int = 0  # receipts whose case page showed the whole report
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _load(portal: Portal, scenario: Scenario, recorder: Recorder, run: Run) -> list[str]:
    """Filers, notice readers and handlers at once; returns the failures of the threads."""
    categories = category_ids(portal.app)
    notices = publish_notices(portal)
    handlers = {}
    for slug, username in (("dic", "dichandler"), ("org", "orghandler")):
        handlers[slug] = Visitor(portal.base_url, recorder)
        staff_login(handlers[slug], portal.staff[username])
    tickets = Tickets(scenario.reports)
    filers_done = threading.Event()
    deadline = time.monotonic() + scenario.load_seconds
    running_filers = [FILERS]

    def filer() -> None:
        try:
            while time.monotonic() < deadline and (n := tickets.take()) is not None:
                report = make_report(n, seed=1)
                try:
                    filing = file_report(Visitor(portal.base_url, recorder), report, categories)
                except Broken as exc:
                    filing = Filing(report, detail=str(exc))
                with run.lock:
                    run.filings.append(filing)
        finally:
            with run.lock:
                running_filers[0] -= 1
                if not running_filers[0]:
                    filers_done.set()

    def reader(offset: int) -> None:
        visitor = Visitor(portal.base_url, recorder)
        for i in range(100_000):
            if filers_done.is_set() or time.monotonic() > deadline:
                break
            path = "/notices" if i % 10 == 9 else f"/notices/{notices[(i + offset) % len(notices)]}"
            try:
                visitor.get(path, label="GET /notices" if i % 10 == 9 else "GET /notices/<id>")
            except Broken:
                continue  # recorded as an error
            with run.lock:
                run.notice_reads += 1

    def handler(slug: str) -> Callable[[], None]:
        def work() -> None:
            done = 0
            while (done < scenario.handled_per_queue and not filers_done.is_set()
                   and time.monotonic() < deadline):
                waiting = received_cases(handlers[slug], slug)
                if not waiting:
                    filers_done.wait(0.5)
                    continue
                for case_no in waiting[:3]:
                    accept_and_message(handlers[slug], case_no, handler_message(case_no))
                    done += 1
                    with run.lock:
                        run.handled.append(case_no)
        return work

    targets: list[Callable[[], None]] = [filer] * FILERS
    targets += [functools.partial(reader, i) for i in range(READERS)]
    targets += [handler("dic"), handler("org")]
    return run_threads(targets, scenario.load_seconds + 60)


def _check_receipts(portal: Portal, scenario: Scenario, recorder: Recorder, run: Run,
                    receipted: list[Filing]) -> list[str]:
    """Every receipt through the real check page; the case page must show the report, its
    files and, for handled cases, the handler's message."""
    case_of = receipts_to_cases(portal.app, [f.receipt for f in receipted if f.receipt])
    handled = set(run.handled)
    tickets = Tickets(len(receipted))
    deadline = time.monotonic() + scenario.check_seconds

    def checker() -> None:
        while time.monotonic() < deadline and (i := tickets.take()) is not None:
            filing = receipted[i]
            assert filing.receipt is not None
            case_no = case_of.get(filing.receipt)
            messages = [handler_message(case_no)] if case_no in handled else []
            try:
                page = open_receipt(Visitor(portal.base_url, recorder), filing.receipt)
            except (Broken, AssertionError) as exc:
                found = [f"report {filing.report.n}: its receipt did not open its case: {exc}"]
            else:
                found = reporter_page_problems(page, filing.report, messages)
            with run.lock:
                run.problems.extend(found)
                run.opened += not found
        if tickets.take() is not None:
            with run.lock:
                run.problems.append("receipt checks ran out of time")

    return run_threads([checker] * CHECKERS, scenario.check_seconds + 60)


def run_scenario(portal: Portal, scenario: Scenario) -> None:
    """Load, then verify everything; the figures are published whatever the outcome."""
    recorder = Recorder()
    run = Run()
    client_cpu = _own_cpu()
    facts: list[str] = [*scenario.description, "(the run stopped before its checks ended)"]
    try:
        failures = _load(portal, scenario, recorder, run)
        load_seconds = time.monotonic() - recorder.started
        receipted = [f for f in run.filings if f.receipt]
        check_started = time.monotonic()
        failures += _check_receipts(portal, scenario, recorder, run, receipted)
        check_seconds = time.monotonic() - check_started
        verify_started = time.monotonic()
        run.problems += decrypted_mismatches(portal, receipted)
        cases = count_rows(portal.app, Case)
        files = count_rows(portal.app, EvidenceFile)
        chain = audit_chain_verifies(portal)
        verify_seconds = time.monotonic() - verify_started
        recorder.stop()
        server_cpu = cpu_seconds(worker_pids(portal))
        client_cpu = _own_cpu() - client_cpu
        receipts = {f.receipt for f in receipted}
        opened = run.opened
        lost = len(receipted) - opened + max(0, len(receipts) - cases)
        facts = [
            *scenario.description,
            f"reports filed {len(run.filings)} (every one with attachments: "
            f"{sum(len(f.report.files) for f in run.filings)} files, "
            f"{sum(len(x.data) for f in run.filings for x in f.report.files) // 1024} KiB)",
            f"receipts {len(receipts)}; cases in the database {cases}; evidence files {files}; "
            f"receipts that opened their case over HTTP showing all of it {opened}",
            f"cases accepted and messaged by handlers {len(run.handled)}; "
            f"notice pages read {run.notice_reads}",
            f"phases: load {load_seconds:.1f} s, receipt checks {check_seconds:.1f} s, "
            f"in-process decryption and audit {verify_seconds:.1f} s",
            f"CPU: gunicorn workers {server_cpu:.0f} s, test clients and checks {client_cpu:.0f} s "
            f"(PostgreSQL's own not counted)",
            f"audit: {chain}",
            f"lost reports: {lost}",
        ]
    finally:
        table = recorder.publish(scenario.title, facts)
    assert not failures, "\n".join(failures[:20])
    assert recorder.server_errors == 0, f"5xx responses:\n{table}\n" + "\n".join(
        recorder.problems)
    assert recorder.errors == 0, "unexpected responses:\n" + "\n".join(recorder.problems)
    assert len(run.filings) == scenario.reports
    assert len(receipted) == scenario.reports, [f.detail for f in run.filings if not f.receipt]
    assert len(receipts) == scenario.reports  # no receipt handed out twice
    assert cases == len(receipts), f"{cases} cases for {len(receipts)} receipts"
    assert files == sum(len(f.report.files) for f in receipted)
    assert run.handled, "the handlers accepted no case during the load"
    assert not run.problems, "\n".join(run.problems[:30])
    assert opened == len(receipted)


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _describe(database: str, store: str, receipt_kdf: str) -> list[str]:
    return [f"setup: {WORKERS} gunicorn sync workers; {FILERS} filing clients, {READERS} notice "
            f"readers, 2 handlers; database {database}; rate-limit store {store} "
            "(limits raised for the test)",
            f"KDFs: receipt {receipt_kdf}; staff argon2id t=1 m=8 KiB (test minimum)"]


@pytest.mark.redis
@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_load_with_verification_redis(backend: str, reliability_pg_url: str,
                                      reliability_redis_url: str, tmp_path: Path) -> None:
    """1,000 reports (PORTAL_TEST_LOAD_REPORTS) with attachments on PostgreSQL with the Redis
    rate-limit store and the production receipt KDF: zero 5xx, every receipt opens its case,
    every decrypted field and file is byte-identical, cases = receipts, the audit chain
    verifies."""
    settings = {**RAISED_LIMITS, **PRODUCTION_RECEIPT_KDF,
                "PORTAL_RATELIMIT_STORAGE_URI": reliability_redis_url}
    scenario = Scenario(
        title=f"Load with verification: PostgreSQL + Redis limits, production receipt KDF, "
              f"{LOAD_REPORTS} reports",
        reports=LOAD_REPORTS, handled_per_queue=40,
        load_seconds=max(900, LOAD_REPORTS), check_seconds=max(900, LOAD_REPORTS),
        settings=settings,
        description=_describe("PostgreSQL (private schema)", "Redis",
                              "argon2id t=2 m=64 MiB (production)"))
    with running_portal(tmp_path, reliability_pg_url, workers=WORKERS,
                        settings=settings) as portal:
        run_scenario(portal, scenario)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_load_with_verification_never_shows_database_locked(backend: str,
                                                            tmp_path: Path) -> None:
    """The same scenario, smaller, on the embedded SQLite default: no "database is locked"
    (nor any other error) reaches a user."""
    scenario = Scenario(
        title="Load with verification: SQLite (WAL), in-process limits, test receipt KDF, "
              "150 reports",
        reports=150, handled_per_queue=15, load_seconds=180, check_seconds=120,
        settings=dict(RAISED_LIMITS),
        description=_describe("SQLite (WAL, one file)", "memory (per process)",
                              "argon2id t=1 m=8 KiB (test minimum)"))
    with running_portal(tmp_path, f"sqlite:///{tmp_path / 'portal.db'}", workers=WORKERS,
                        settings=scenario.settings) as portal:
        try:
            run_scenario(portal, scenario)
        finally:
            log = portal.server_log()
        assert "database is locked" not in log, log[-3000:]
        assert "Traceback" not in log, log[-3000:]
