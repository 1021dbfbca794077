"""Tools of the reliability tier: loopback HTTP clients that time every request, the figures
they print, the report filer and checker, and helpers that watch and hurt the server's
processes (gunicorn workers, a private Redis).

Only the standard library speaks HTTP here (http.client, one connection per request, as the
sync gunicorn workers close every connection anyway). Every loop is bounded in count and time.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import http.client
import io
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from flask import Flask
from PIL import Image
from sqlalchemy import func, select

from portal.config import Config
from tests.functional.server import PASSPHRASE, Portal, StaffAccount, free_port, run_cli

T = TypeVar("T")

# (title, table) of every scenario that ran, printed at the end of the run by conftest.py.
FIGURES: list[tuple[str, str]] = []

REQUEST_TIMEOUT = 120.0  # seconds one request may take before the client gives up
WORKERS = 4

# The per-client limits are raised: every client of the tier comes from the loopback address.
RAISED_LIMITS = {
    f"PORTAL_{name.upper()}": "1000000 per hour"
    for name in ("report_limit", "report_ceiling", "receipt_check_limit",
                 "receipt_check_ceiling", "followup_limit", "followup_ceiling",
                 "login_failure_limit", "global_post_limit")
} | {"PORTAL_LOGIN_ACCOUNT_FREE_FAILURES": "1000000",
     # Thirty-two filing clients against four workers: gthread workers accept unevenly, and
     # the per-process bound on bodies read at once (#21.4) is a guard, like the limits above.
     "PORTAL_BODY_READERS_PER_PROCESS": "32"}
# The receipt KDF as shipped (argon2id t=2, m=64 MiB): what a real filing and receipt check cost.
PRODUCTION_RECEIPT_KDF = {
    "PORTAL_RECEIPT_KDF_TIME_COST": str(Config.receipt_kdf_time_cost),
    "PORTAL_RECEIPT_KDF_MEMORY_KIB": str(Config.receipt_kdf_memory_kib),
}

RECEIPT = re.compile(r'id="receipt">([\d ]+)<')
CASE_LINK = re.compile(r'href="/staff/cases/(\d{4}-\d{5})[?"]')
TRY_AGAIN_EN = ("Nothing was saved", "try again")
TRY_AGAIN_ZH = ("没有保存",)


# --- figures -------------------------------------------------------------------------------


@dataclass
class _Endpoint:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: Counter[int] = field(default_factory=Counter)


class Recorder:
    """Every request of a scenario: its endpoint, latency and outcome (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.endpoints: dict[str, _Endpoint] = {}
        self.problems: list[str] = []
        self.transport_failures = 0
        self.started = time.monotonic()
        self.stopped: float | None = None

    def add(self, label: str, seconds: float, status: int | None, problem: str | None) -> None:
        """Count one request; `problem` (an unexpected status or a broken connection) makes it
        an error."""
        with self._lock:
            entry = self.endpoints.setdefault(label, _Endpoint())
            entry.latencies.append(seconds)
            if status is not None:
                entry.statuses[status] += 1
            else:
                self.transport_failures += 1
            if problem is not None:
                entry.errors += 1
                if len(self.problems) < 40:
                    self.problems.append(f"{label}: {problem}")

    def stop(self) -> None:
        """The end of the scenario's clock."""
        self.stopped = time.monotonic()

    @property
    def requests(self) -> int:
        """All requests made."""
        return sum(len(e.latencies) for e in self.endpoints.values())

    @property
    def errors(self) -> int:
        """Requests with an unexpected outcome."""
        return sum(e.errors for e in self.endpoints.values())

    def count(self, predicate: Callable[[int], bool]) -> int:
        """Responses whose status satisfies `predicate`."""
        return sum(n for e in self.endpoints.values() for s, n in e.statuses.items()
                   if predicate(s))

    @property
    def server_errors(self) -> int:
        """5xx responses."""
        return self.count(lambda s: s >= 500)

    def table(self, title: str, facts: Sequence[str]) -> str:
        """The figures: requests, errors and p50/p95 latency per endpoint, then `facts`."""
        duration = (self.stopped or time.monotonic()) - self.started
        lines = [title, f"{'endpoint':<34}{'requests':>9}{'errors':>8}{'5xx':>6}"
                        f"{'p50 ms':>9}{'p95 ms':>9}"]
        for label in sorted(self.endpoints):
            entry = self.endpoints[label]
            p50, p95 = _percentiles(entry.latencies)
            fives = sum(n for s, n in entry.statuses.items() if s >= 500)
            lines.append(f"{label:<34}{len(entry.latencies):>9}{entry.errors:>8}{fives:>6}"
                         f"{p50:>9.0f}{p95:>9.0f}")
        lines.append(f"{'total':<34}{self.requests:>9}{self.errors:>8}{self.server_errors:>6}")
        lines.append(f"duration {duration:.1f} s; broken connections {self.transport_failures}")
        lines.extend(facts)
        return "\n".join(lines)

    def publish(self, title: str, facts: Sequence[str]) -> str:
        """Keep the table for the end-of-run summary (also when the test then fails)."""
        table = self.table(title, facts)
        FIGURES.append((title, table))
        return table


def _percentiles(values: list[float]) -> tuple[float, float]:
    if not values:
        return 0.0, 0.0
    if len(values) == 1:
        return values[0] * 1000, values[0] * 1000
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000


# --- one person's browser --------------------------------------------------------------------


class Broken(Exception):
    """The connection broke before a complete response arrived."""


@dataclass
class Reply:
    """A complete HTTP response."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        """The body as text."""
        return self.body.decode("utf-8", errors="replace")

    @property
    def location(self) -> str:
        """The path of a redirect's target."""
        target = urlsplit(self.headers.get("location", ""))
        return target.path + (f"?{target.query}" if target.query else "")


class Visitor:
    """One person's browser: its cookies, the address it comes from and the page language;
    every request is timed into a Recorder under a label."""

    def __init__(self, base_url: str, recorder: Recorder | None = None, *,
                 source: str = "127.0.0.1", lang: str | None = None) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.recorder = recorder
        self.source = source
        self.lang = lang
        self.cookies: dict[str, str] = {}
        self.last_client_port: int | None = None

    def path(self, path: str) -> str:
        """`path` in this visitor's language."""
        if not self.lang:
            return path
        return f"{path}{'&' if '?' in path else '?'}lang={self.lang}"

    def request(self, method: str, path: str, *, label: str, body: bytes = b"",
                content_type: str | None = None, expect: Collection[int] = (200,)) -> Reply:
        """Send one request on a new connection; record it; raise Broken if no response."""
        headers = {"Host": f"{self.host}:{self.port}", "Connection": "close",
                   "Accept-Language": "zh-CN"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if content_type:
            headers["Content-Type"] = content_type
        if method == "POST":
            headers["Content-Length"] = str(len(body))
        started = time.monotonic()
        connection = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT,
                                                source_address=(self.source, 0))
        try:
            connection.connect()
            assert connection.sock is not None
            self.last_client_port = int(connection.sock.getsockname()[1])
            connection.request(method, path, body=body or None, headers=headers)
            response = connection.getresponse()
            data = response.read()
            reply = Reply(response.status, {k.lower(): v for k, v in response.getheaders()},
                          data)
            self._keep_cookies(response.msg.get_all("Set-Cookie") or [])
        except (OSError, http.client.HTTPException) as exc:
            self._record(label, started, None, f"{method} {path}: {type(exc).__name__} {exc}")
            raise Broken(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        finally:
            connection.close()
        problem = None if reply.status in expect else (
            f"{method} {path} answered {reply.status}: {_gist(reply.text)}")
        self._record(label, started, reply.status, problem)
        return reply

    def _record(self, label: str, started: float, status: int | None,
                problem: str | None) -> None:
        if self.recorder is not None:
            self.recorder.add(label, time.monotonic() - started, status, problem)

    def _keep_cookies(self, lines: list[str]) -> None:
        for line in lines:
            pair, _, attributes = line.partition(";")
            name, _, value = pair.strip().partition("=")
            if "max-age=0" in attributes.lower().replace(" ", "") or not value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def get(self, path: str, *, label: str, expect: Collection[int] = (200,)) -> Reply:
        """GET a page."""
        return self.request("GET", self.path(path), label=label, expect=expect)

    def post(self, path: str, fields: Mapping[str, str] | Iterable[tuple[str, str]], *,
             label: str, expect: Collection[int] = (200, 303)) -> Reply:
        """POST an urlencoded form."""
        items = list(fields.items()) if isinstance(fields, Mapping) else list(fields)
        return self.request("POST", self.path(path), label=label,
                            body=urlencode(items).encode(),
                            content_type="application/x-www-form-urlencoded", expect=expect)

    def post_multipart(self, path: str, fields: Iterable[tuple[str, str]],
                       files: Iterable[tuple[str, str, bytes]], *, label: str,
                       expect: Collection[int] = (200,)) -> Reply:
        """POST a multipart form with files (field name, file name, bytes)."""
        body, content_type = multipart(fields, files)
        return self.request("POST", self.path(path), label=label, body=body,
                            content_type=content_type, expect=expect)


def _gist(text: str) -> str:
    """The readable part of an error page, for a failure message."""
    plain = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))
    return plain[:300]


def multipart(fields: Iterable[tuple[str, str]],
              files: Iterable[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body and its content type."""
    boundary = "----reliability" + secrets.token_hex(16)
    out = io.BytesIO()
    for name, value in fields:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                  .encode())
        out.write(value.encode("utf-8") + b"\r\n")
    for name, filename, data in files:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                  f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                  .encode())
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def hidden(page: str, name: str) -> str:
    """The value of a named input on a page (the first one)."""
    match = re.search(rf'name="{re.escape(name)}"[^>]*value="([^"]*)"', page)
    assert match, f"no {name} on the page: {_gist(page)}"
    return html.unescape(match.group(1))


def form_of(page: str, action_suffix: str) -> str:
    """The HTML of the form whose action ends with `action_suffix`."""
    match = re.search(rf'<form[^>]*action="[^"]*{re.escape(action_suffix)}(?:\?[^"]*)?"'
                      r"[^>]*>(.*?)</form>", page, re.S)
    assert match, f"no form posting to {action_suffix}: {_gist(page)}"
    return match.group(1)


def is_try_again(reply: Reply) -> bool:
    """The clear "nothing was saved, please try again" page (English or Chinese), never one
    with a receipt on it."""
    text = html.unescape(reply.text)
    if 'id="receipt"' in reply.text or reply.status != 503:
        return False
    return all(p in text for p in TRY_AGAIN_EN) or all(p in text for p in TRY_AGAIN_ZH)


# --- reports -------------------------------------------------------------------------------

_WORDS = ("干部", "收受", "礼金", "工程", "项目", "会议", "办公室", "审批", "报销", "发票", "土地",
          "招标", "合同", "资金", "人员", "单位", "present", "cash", "tender", "contract", "2026",
          "3月", "12日", "现金", "转账", "亲属", "公司", "评审", "&", "<b>", "\"quoted\"", "'x'")


@dataclass(frozen=True)
class SentFile:
    """An attachment as sent: its name, bytes and their SHA-256."""

    name: str
    data: bytes

    @property
    def sha256(self) -> str:
        """The hash compared with what the queue decrypts."""
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class SentReport:
    """Everything a reporter typed and attached (the reference for byte-identity)."""

    n: int
    marker: str
    category: str
    facts: str
    persons: tuple[tuple[str, str, str], ...]
    event_time: str
    event_place: str
    witnesses: str
    identity: tuple[str, str, str] | None
    files: tuple[SentFile, ...]


def _text(rng: random.Random, words: int) -> str:
    lines = []
    for _ in range(max(1, words // 12)):
        lines.append(" ".join(rng.choice(_WORDS) for _ in range(12)))
    return "\n".join(lines)


def _png(rng: random.Random) -> bytes:
    """A small PNG the metadata stripper keeps byte for byte (IHDR, IDAT, IEND only)."""
    side = rng.randint(8, 24)
    image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def make_report(n: int, seed: int = 0, *, big: bool = False) -> SentReport:
    """Report number `n` of a run: unique marker, Chinese and ASCII text with characters HTML
    escapes, a text attachment always, a PNG on every third, a real name on every tenth."""
    rng = random.Random(seed * 1_000_003 + n)
    marker = f"REL-{seed}-{n:05d}-{rng.getrandbits(40):010x}"
    category = "discipline" if n % 3 else "selection"
    facts = f"{marker} {_text(rng, rng.randint(20, 300))}"
    text_size = rng.randint(2_000, 40_000) if not big else 400_000
    attachment = (f"证据 {marker}\n" + _text(rng, text_size // 6))[:text_size]
    files = [SentFile(f"记录-{n}.txt", attachment.encode("utf-8"))]
    if n % 3 == 0:
        files.append(SentFile(f"photo-{n}.png", _png(rng)))
    identity = (f"实名{n}", f"1380000{n % 10000:04d}", "示例县某局") if n % 10 == 0 else None
    return SentReport(
        n=n, marker=marker, category=category, facts=facts,
        persons=((f"张{n}", "示例县交通运输局", "副局长"),),
        event_time=f"2026年{1 + n % 12}月", event_place=f"会议室 {n % 7} & <二楼>",
        witnesses=_text(rng, rng.randint(0, 24)), identity=identity, files=tuple(files))


@dataclass
class Filing:
    """What one attempt to file a report got."""

    report: SentReport
    status: int | None = None  # None: no complete response (the connection broke)
    receipt: str | None = None
    try_again: bool = False  # the clear 503 "nothing was saved, try again" page
    form_token: str = ""
    detail: str = ""
    page: str = ""  # the page it got instead of a receipt


def report_fields(report: SentReport, page: str, category_ids: Mapping[str, int]
                  ) -> list[tuple[str, str]]:
    """The report form as a browser sends it, with the page's hidden tokens."""
    fields = [("csrf_token", hidden(page, "csrf_token")),
              ("form_token", hidden(page, "form_token")), ("notice", ""), ("person", ""),
              ("category", str(category_ids[report.category])), ("subtype", "")]
    for i, (name, unit, post) in enumerate(report.persons):
        fields += [(f"persons-{i}-name", name), (f"persons-{i}-unit", unit),
                   (f"persons-{i}-post", post)]
    fields += [("event_time", report.event_time), ("event_place", report.event_place),
               ("facts", report.facts), ("witnesses", report.witnesses),
               ("concerns_leader", "no"), ("homepage", ""),
               ("keep_names", "y")]  # the files arrive under the names sent (#21, item 11)
    if report.identity is not None:
        name, phone, unit = report.identity
        fields += [("real_name", "y"), ("reporter_name", name), ("reporter_phone", phone),
                   ("reporter_unit", unit)]
    return fields


def file_report(visitor: Visitor, report: SentReport, category_ids: Mapping[str, int], *,
                unavailable_ok: bool = False) -> Filing:
    """Open the form and send it with the report's attachments; Broken propagates.

    With `unavailable_ok`, a 503 is an expected answer (its page is checked by the caller).
    """
    expect = (200, 503) if unavailable_ok else (200,)
    form = visitor.get("/report", label="GET /report", expect=expect)
    if form.status != 200:
        return Filing(report, status=form.status, try_again=is_try_again(form),
                      detail=_gist(form.text), page=form.text)
    return send_report(visitor, report, form.text, category_ids, expect=expect)


def send_report(visitor: Visitor, report: SentReport, form_page: str,
                category_ids: Mapping[str, int], *, expect: Collection[int] = (200,)
                ) -> Filing:
    """Send the report form of an opened form page; Broken propagates."""
    fields = report_fields(report, form_page, category_ids)
    filing = Filing(report, form_token=dict(fields)["form_token"])
    reply = visitor.post_multipart("/report", fields,
                                   [("files", f.name, f.data) for f in report.files],
                                   label="POST /report (file)", expect=expect)
    filing.status = reply.status
    match = RECEIPT.search(reply.text)
    if reply.status == 200 and match:
        filing.receipt = match.group(1).replace(" ", "")
    else:
        filing.try_again = is_try_again(reply)
        filing.detail, filing.page = _gist(reply.text), reply.text
    return filing


def open_receipt(visitor: Visitor, receipt: str) -> Reply:
    """Enter a receipt on the real check page and follow to the reporter's case page."""
    page = visitor.get("/report/check", label="GET /report/check")
    answer = visitor.post("/report/check", {"csrf_token": hidden(page.text, "csrf_token"),
                                            "receipt": receipt},
                          label="POST /report/check (receipt)", expect=(303,))
    assert answer.location.startswith("/report/case"), answer.location
    return visitor.request("GET", answer.location, label="GET /report/case")


def reporter_page_problems(page: Reply, report: SentReport,
                           messages: Sequence[str] = ()) -> list[str]:
    """What the reporter's case page fails to show of the report (and of staff messages)."""
    text = html.unescape(page.text)
    wanted = [("facts", report.facts), *((f"file {f.name}", f.name) for f in report.files),
              *((f"message {m[:30]}", m) for m in messages)]
    return [f"report {report.n}: the reporter page lacks its {what}"
            for what, value in wanted if value not in text]


# --- staff ---------------------------------------------------------------------------------


def staff_login(visitor: Visitor, account: StaffAccount) -> None:
    """Log in with passphrase and a fresh TOTP code."""
    page = visitor.get("/staff/login", label="GET /staff/login")
    visitor.post("/staff/login", {"csrf_token": hidden(page.text, "csrf_token"),
                                  "username": account.username, "passphrase": PASSPHRASE,
                                  "totp": account.authenticator.next_code(), "next": ""},
                 label="POST /staff/login", expect=(303,))


def received_cases(visitor: Visitor, queue: str) -> list[str]:
    """The case numbers the queue list shows as received (not yet decided)."""
    page = visitor.get(f"/staff/cases/?queue={queue}&state=received", label="GET /staff/cases")
    return list(dict.fromkeys(CASE_LINK.findall(page.text)))


def _act(visitor: Visitor, case_no: str, action: str, values: Mapping[str, str]) -> None:
    page = visitor.get(f"/staff/cases/{case_no}", label="GET /staff/cases/<no>")
    form = form_of(page.text, f"/{case_no}/{action}")
    fields = {f"{action}-csrf_token": hidden(form, f"{action}-csrf_token"),
              f"{action}-version": hidden(form, f"{action}-version"), **values}
    if action == "accept":
        option = re.search(r'<option[^>]*value="([^"]+)"', form)
        assert option, "no disposition to choose"
        fields["accept-disposition"] = html.unescape(option.group(1))
    visitor.post(f"/staff/cases/{case_no}/{action}", fields, label=f"POST case {action}",
                 expect=(303,))


def accept_and_message(visitor: Visitor, case_no: str, message: str) -> None:
    """受理 a case, then write to its reporter, as a handler does on the case page."""
    _act(visitor, case_no, "accept", {})
    _act(visitor, case_no, "message", {"message-text": message})


def handler_message(case_no: str) -> str:
    """The message a handler of the load writes to the reporter of a case."""
    return f"Handler note for {case_no}: 请补充 the date & place <if known>."


# --- threads -------------------------------------------------------------------------------


class Tickets:
    """Numbers 0…n-1 handed out once each to whichever thread asks first."""

    def __init__(self, n: int) -> None:
        self._next = 0
        self._n = n
        self._lock = threading.Lock()

    def take(self) -> int | None:
        """The next number, or None when all are taken."""
        with self._lock:
            if self._next >= self._n:
                return None
            self._next += 1
            return self._next - 1


def run_threads(targets: Sequence[Callable[[], None]], timeout: float) -> list[str]:
    """Run the targets in threads and wait for all (at most `timeout` seconds in total);
    return the failures, including threads that did not finish in time."""
    failures: list[str] = []
    lock = threading.Lock()

    def guard(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 — reported, never lost in a thread
            with lock:
                failures.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=guard, args=(t,), daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = sum(thread.is_alive() for thread in threads)
    if stuck:
        failures.append(f"{stuck} thread(s) still running after {timeout:.0f} s")
    return failures


def wait_for(condition: Callable[[], T | None], timeout: float, what: str,
             interval: float = 0.1) -> T:
    """Poll until `condition` returns something truthy (at most `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


# --- the server's processes ----------------------------------------------------------------


def master_pid(portal: Portal) -> int:
    """The gunicorn master's process id."""
    assert portal.process is not None, "this portal was not started by running_portal"
    return portal.process.pid


def worker_pids(portal: Portal) -> set[int]:
    """The gunicorn workers alive now (the master's children)."""
    pid = master_pid(portal)
    children: set[int] = set()
    with contextlib.suppress(FileNotFoundError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(FileNotFoundError):
                text = Path(f"/proc/{pid}/task/{task}/children").read_text()
                children |= {int(c) for c in text.split()}
    return {c for c in children if _alive(c)}


def cpu_seconds(pids: Iterable[int]) -> float:
    """CPU time (user + system) the processes have used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with contextlib.suppress(FileNotFoundError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


def _tcp_inode(local_port: int, remote_port: int) -> int | None:
    """The inode of the server-side loopback socket of a connection, from /proc/net/tcp."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        local, remote, inode = parts[1], parts[2], int(parts[9])
        if (int(local.split(":")[1], 16) == local_port
                and int(remote.split(":")[1], 16) == remote_port and inode):
            return inode
    return None


def worker_serving(portal: Portal, client_port: int) -> int | None:
    """The worker whose socket is the other end of a client connection (by its port)."""
    server_port = urlsplit(portal.base_url).port or 80
    inode = _tcp_inode(server_port, client_port)
    if inode is None:
        return None
    wanted = f"socket:[{inode}]"
    for pid in worker_pids(portal):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(FileNotFoundError, OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == wanted:
                        return pid
    return None


def worker_with_local_port(portal: Portal, local_port: int) -> int | None:
    """The worker owning an outgoing connection (e.g. to PostgreSQL) from `local_port`."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if int(parts[1].split(":")[1], 16) != local_port or not int(parts[9]):
            continue
        wanted = f"socket:[{parts[9]}]"
        for pid in worker_pids(portal):
            with contextlib.suppress(FileNotFoundError, PermissionError):
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    with contextlib.suppress(OSError):
                        if os.readlink(f"/proc/{pid}/fd/{fd}") == wanted:
                            return pid
    return None


def kill(pid: int) -> None:
    """SIGKILL one process."""
    os.kill(pid, signal.SIGKILL)


# --- a private Redis -------------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of this test alone on a free loopback port, stopped and restarted at
    will (the shared one on 6379 is never touched)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its URL for PORTAL_RATELIMIT_STORAGE_URI."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it (again, on the same port) and wait until it answers PING."""
        assert self.process is None or self.process.poll() is not None
        log = (self.workdir / "redis.log").open("ab")
        with log:
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
                stdout=log, stderr=log, start_new_session=True)
        wait_for(self.ping, 15, f"redis-server on port {self.port}")

    def ping(self) -> bool:
        """Whether it answers."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """Stop it dead (SIGKILL) and wait until the port refuses connections."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        wait_for(lambda: not self.ping(), 10, "redis-server to go away")

    def client(self) -> Any:
        """A redis-py client (to look at the limiter's counters)."""
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, db=0, socket_timeout=5)


@contextlib.contextmanager
def private_redis(workdir: Path) -> Iterator[PrivateRedis]:
    """A started PrivateRedis, killed at the end whatever happens."""
    server = PrivateRedis(workdir)
    server.start()
    try:
        yield server
    finally:
        if server.process is not None and server.process.poll() is None:
            server.process.kill()
            server.process.wait(10)


# --- checking what the database holds ------------------------------------------------------


def category_ids(app: Flask) -> dict[str, int]:
    """The ids of the routing table's categories by code."""
    from casework.models import Category
    from portal import db

    with app.app_context():
        return {c.code: c.id for c in db.session().scalars(select(Category))}


def count_rows(app: Flask, model: Any) -> int:
    """How many rows a table holds."""
    from portal import db

    with app.app_context():
        session = db.session()
        try:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)
        finally:
            session.rollback()


def audit_chain_verifies(portal: Portal) -> str:
    """Run `audit verify` (fails the test if the chain is broken); return what it said."""
    return run_cli(portal.app, "audit", "verify").strip()  # exits non-zero when broken


def decrypted_mismatches(portal: Portal, filings: Sequence[Filing]) -> list[str]:
    """Open every receipted case with its queue handler's key, in process, and compare each
    decrypted field and file (by SHA-256) with what was sent; return the differences."""
    from casework import content, queues
    from casework import service as casework
    from casework.models import Case, Category, EvidenceFile
    from intake import receipts
    from portal import accounts, db

    problems: list[str] = []
    app = portal.app
    with app.app_context():
        session = db.session()
        staff = {}
        for slug, username in (("dic", "dichandler"), ("org", "orghandler")):
            account = portal.staff[username]
            cookie = accounts.login(session, username, PASSPHRASE,
                                    account.authenticator.next_code())
            member = accounts.load_session(session, cookie)
            assert member is not None
            staff[slug] = member
        names = {c.id: c.name_zh for c in session.scalars(select(Category))}
        epoch_keys: dict[int, bytes] = {}
        for filing in filings:
            report, receipt = filing.report, filing.receipt
            assert receipt is not None
            case = session.scalar(select(Case).where(Case.receipt_lookup
                                                     == receipts.lookup(receipt)))
            if case is None:
                problems.append(f"report {report.n}: no case for its receipt")
                continue
            member = staff[case.queue.slug]
            if case.epoch_id is None or case.keys_wrap is None:
                problems.append(f"report {report.n}: its case has no keys")
                continue
            if case.epoch_id not in epoch_keys:
                epoch_keys[case.epoch_id] = queues.epoch_private_key(session, member,
                                                                     case.epoch_id)
            keys = content.CaseKeys.unseal(epoch_keys[case.epoch_id], case.keys_wrap)
            entries = casework.read_entries(session, case, keys)
            payload = next((e.payload for e in entries if e.kind == "report"), None)
            expected = {
                "category": names[case.category_id], "subtype": "",
                "persons": [{"name": n, "unit": u, "post": p} for n, u, p in report.persons],
                "event_time": report.event_time, "event_place": report.event_place,
                "facts": report.facts, "witnesses": report.witnesses, "objection": None,
            }
            if payload != expected:
                problems.append(f"report {report.n}: decrypted report differs: "
                                f"{_diff(expected, payload)}")
            rows = session.scalars(select(EvidenceFile).where(EvidenceFile.case_id == case.id)
                                   .order_by(EvidenceFile.id)).all()
            got = []
            for row in rows:
                meta, data = casework.read_file(session, case, keys, row.id)
                got.append((str(meta["name"]), hashlib.sha256(data).hexdigest()))
            sent = [(f.name, f.sha256) for f in report.files]
            if got != sent:
                problems.append(f"report {report.n}: files differ: sent {sent}, got {got}")
            if report.identity is not None:
                private = casework.identity_key(session, member, case)
                identities = casework.read_identities(session, case, private)
                name, phone, unit = report.identity
                if identities != [{"name": name, "phone": phone, "unit": unit}]:
                    problems.append(f"report {report.n}: identity differs: {identities}")
            elif case.real_name:
                problems.append(f"report {report.n}: anonymous report stored as real-name")
            session.expunge_all()
        session.rollback()
    return problems


def _diff(expected: Mapping[str, object], got: Mapping[str, object] | None) -> str:
    if got is None:
        return "no report entry"
    return ", ".join(f"{k}: sent {expected[k]!r:.80} got {got.get(k)!r:.80}"
                     for k in expected if expected[k] != got.get(k))


def receipts_to_cases(app: Flask, receipts_: Iterable[str]) -> dict[str, str]:
    """Which case number each receipt belongs to (by its lookup HMAC, in process)."""
    from casework.models import Case
    from intake import receipts
    from portal import db

    with app.app_context():
        session = db.session()
        found = {}
        for receipt in receipts_:
            case_no = session.scalar(select(Case.case_no).where(
                Case.receipt_lookup == receipts.lookup(receipt)))
            if case_no is not None:
                found[receipt] = case_no
        session.rollback()
        return found


def publish_notices(portal: Portal) -> list[int]:
    """Publish the demo notices (as editor1 and editor2) for the readers; return their ids."""
    from portal import db
    from publicity import demo
    from publicity.models import Notice
    from publicity.queries import PUBLISHED

    with portal.app.app_context():
        session = db.session()
        demo.load(session)
        ids = list(session.scalars(select(Notice.id).where(Notice.status.in_(PUBLISHED))))
        session.rollback()
    assert ids, "no published notice to read"
    return ids
