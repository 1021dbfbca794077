"""The shipped nginx configuration, run for real in front of gunicorn (#22, item 3).

deploy/render_nginx.py renders deploy/nginx/*.conf into a temporary prefix (its own pid, logs,
temporary paths, a free loopback port and a self-signed certificate; every other directive as
shipped) and Debian's nginx runs it in the foreground in front of a real gunicorn serving the
app with the shipped gunicorn.conf.py.

nginx writes a request body it buffers, or a response it cannot pass on as fast as it comes, to
a file under its temporary paths (Debian: /var/lib/nginx/body, /var/lib/nginx/proxy): a report
or a decrypted attachment in clear on disk. nginx unlinks such a file as soon as it opens it,
so a directory listing rarely catches one; a watcher here also reads the nginx processes' open
files (/proc/PID/fd) every few milliseconds while a large body goes through slowly. The same
watch, on the same configuration with one directive changed back, does catch the file, so the
tests that find nothing could have found something.

Without nginx installed the tests are skipped (with PORTAL_TEST_REQUIRE_SERVICES=1 they fail).
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import http.server
import importlib.util
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType

import pytest

from portal.constants import ROOT
from tests.conftest import REQUIRE_SERVICES
from tests.functional.server import Portal, free_port, running_portal
from tests.reliability.harness import (
    RECEIPT,
    SentFile,
    category_ids,
    make_report,
    multipart,
    report_fields,
)

pytestmark = pytest.mark.own_clock

CHUNK = 64 * 1024
ATTACHMENT_BYTES = 3 * 1024 * 1024  # beyond client_body_buffer_size (1m): buffered, it spills
GAP_SECONDS = 0.01                  # between two chunks: the body takes about half a second


def _load_renderer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("render_nginx",
                                                  ROOT / "deploy" / "render_nginx.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render_nginx = _load_renderer()


def nginx_binary() -> str:
    """The nginx executable, or skip (fail when services are required)."""
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None)
    if found is None:
        message = "nginx is not installed (Debian: apt-get install nginx); .ci/run installs it"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    return found


@dataclasses.dataclass
class Nginx:
    """A running nginx on the rendered configuration."""

    prefix: Path
    port: int
    process: subprocess.Popen[bytes]
    cert: Path
    onion_port: int

    @property
    def temp(self) -> Path:
        """The folder holding all of nginx's temporary paths (client_body, proxy, ...)."""
        return self.prefix / "temp"

    def pids(self) -> list[int]:
        """The master and its workers."""
        pids = [self.process.pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    status = (entry / "status").read_text()
                    if f"\nPPid:\t{self.process.pid}\n" in status:
                        pids.append(int(entry.name))
        return pids

    def connection(self, timeout: float = 30) -> http.client.HTTPSConnection:
        """An HTTPS connection that verifies the test certificate (issued for 127.0.0.1)."""
        context = ssl.create_default_context(cafile=str(self.cert))
        return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                           context=context)

    def log(self) -> str:
        """nginx's access log of the site (deploy/nginx/portal.conf's `access_log`)."""
        path = self.prefix / "logs" / "portal.log"
        return path.read_text(encoding="utf-8") if path.exists() else ""


@contextlib.contextmanager
def running_nginx(prefix: Path, upstream_port: int,
                  replace: Mapping[str, str] | None = None) -> Iterator[Nginx]:
    """nginx in the foreground on the shipped configuration rendered into `prefix`."""
    binary = nginx_binary()
    port, onion_port = free_port(), free_port()
    cert, key = render_nginx.self_signed(prefix / "tls")
    conf = render_nginx.render(prefix, port=port, onion_port=onion_port,
                               upstream=f"127.0.0.1:{upstream_port}", cert=cert, key=key,
                               replace=dict(replace or {}))
    test = subprocess.run([binary, "-t", "-p", str(prefix), "-c", str(conf)],
                          capture_output=True, text=True, check=False)
    assert test.returncode == 0, test.stderr
    stderr = prefix / "nginx.stderr"
    with stderr.open("wb") as out:
        proc = subprocess.Popen([binary, "-p", str(prefix), "-c", str(conf),
                                 "-g", "daemon off;"], stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 15
        while not _accepts(port):
            assert proc.poll() is None, stderr.read_text()
            assert time.monotonic() < deadline, "nginx did not listen within 15 s"
            time.sleep(0.05)
        yield Nginx(prefix, port, proc, cert, onion_port)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


class TempWatch:
    """Everything that appears under nginx's temporary paths while it runs: files in the
    folders, and files the nginx processes hold open there (unlinked ones included)."""

    def __init__(self, nginx: Nginx) -> None:
        self.root = str(nginx.temp)
        self.pids = nginx.pids()
        self.seen: set[str] = set()
        self.looks = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> TempWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._look()

    def _look(self) -> None:
        for pid in self.pids:
            with contextlib.suppress(OSError):
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    with contextlib.suppress(OSError):
                        target = os.readlink(f"/proc/{pid}/fd/{fd}")
                        if target.startswith(self.root):
                            self.seen.add(target)
        for folder, _dirs, files in os.walk(self.root):
            self.seen.update(os.path.join(folder, f) for f in files)
        self.looks += 1

    def _watch(self) -> None:
        while not self._stop.wait(0.002):
            self._look()


# --- the app behind nginx ------------------------------------------------------------------


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    """gunicorn (shipped gunicorn.conf.py) on a fresh SQLite portal, behind one proxy."""
    nginx_binary()
    workdir = tmp_path_factory.mktemp("portal")
    with running_portal(workdir, f"sqlite:///{workdir / 'portal.db'}", workers=2,
                        settings={"PORTAL_PROXY_COUNT": "1"}) as running:
        yield running


@pytest.fixture(scope="module")
def nginx(portal: Portal, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    """The shipped nginx configuration in front of it."""
    with running_nginx(tmp_path_factory.mktemp("nginx"), _port(portal)) as running:
        yield running


def _port(portal: Portal) -> int:
    return int(portal.base_url.rsplit(":", 1)[1])


def _form(nginx: Nginx) -> tuple[str, str]:
    """GET /report through nginx: the page and the Cookie header that goes with it."""
    connection = nginx.connection()
    try:
        connection.request("GET", "/report", headers={"Accept-Language": "zh-CN"})
        response = connection.getresponse()
        page = response.read().decode("utf-8")
        assert response.status == 200, page[:500]
        cookies = [c.split(";", 1)[0] for c in response.msg.get_all("Set-Cookie") or []]
        return page, "; ".join(cookies)
    finally:
        connection.close()


def _big_filing(portal: Portal, nginx: Nginx) -> tuple[bytes, dict[str, str]]:
    """A real report with a 3 MiB attachment: the multipart body and its headers."""
    page, cookie = _form(nginx)
    report = make_report(1, seed=22)
    text = ("证据 " + report.marker + "\n" + "举报材料" * ATTACHMENT_BYTES)[:ATTACHMENT_BYTES // 3]
    report = dataclasses.replace(report, files=(SentFile("记录.txt", text.encode()),))
    body, content_type = multipart(report_fields(report, page, category_ids(portal.app)),
                                   [("files", f.name, f.data) for f in report.files])
    assert len(body) > ATTACHMENT_BYTES - CHUNK
    return body, {"Cookie": cookie, "Content-Type": content_type,
                  "Accept-Language": "zh-CN"}


def _slowly(body: bytes) -> Iterator[bytes]:
    for start in range(0, len(body), CHUNK):
        time.sleep(GAP_SECONDS)  # the real clock: a client on a slow line
        yield body[start:start + CHUNK]


def file_chunked(portal: Portal, nginx: Nginx) -> tuple[int, str]:
    """HTTP/1.1 with `Transfer-Encoding: chunked` (no length), sent slowly."""
    body, headers = _big_filing(portal, nginx)
    connection = nginx.connection(timeout=60)
    try:
        connection.request("POST", "/report", body=_slowly(body), encode_chunked=True,
                           headers={**headers, "Transfer-Encoding": "chunked"})
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", errors="replace")
    finally:
        connection.close()


def file_http2(portal: Portal, nginx: Nginx, workdir: Path) -> tuple[int, str]:
    """HTTP/2 (curl), the body streamed from a pipe with no length, sent slowly."""
    curl = shutil.which("curl")
    if curl is None or "HTTP2" not in subprocess.run([curl, "-V"], capture_output=True,
                                                     text=True, check=True).stdout:
        pytest.skip("curl with HTTP/2 is not installed")
    body, headers = _big_filing(portal, nginx)
    out = workdir / "answer.html"
    command = [curl, "-sS", "--http2", "--cacert", str(nginx.cert), "-X", "POST", "-T", "-",
               "-o", str(out), "-w", "%{http_code} %{http_version}",
               *(a for k, v in headers.items() for a in ("-H", f"{k}: {v}")),
               f"https://127.0.0.1:{nginx.port}/report"]
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdin is not None
    for chunk in _slowly(body):
        proc.stdin.write(chunk)
        proc.stdin.flush()
    stdout, stderr = proc.communicate(b"", timeout=60)  # closes curl's input: the body ends
    status, version = stdout.decode().split()
    assert version == "2", (stdout, stderr)
    return int(status), out.read_text(encoding="utf-8", errors="replace")


def _assert_filed(status: int, page: str) -> None:
    assert status == 200, page[:1000]
    assert RECEIPT.search(page), f"no receipt: {page[:1000]}"


# --- request bodies --------------------------------------------------------------------------


def test_a_chunked_filing_through_nginx_leaves_no_body_file(portal: Portal,
                                                           nginx: Nginx) -> None:
    with TempWatch(nginx) as watch:
        status, page = file_chunked(portal, nginx)
    _assert_filed(status, page)
    assert watch.looks > 50, "the watch hardly ran"
    assert not watch.seen, f"nginx wrote the report to disk: {sorted(watch.seen)}"


def test_an_http2_filing_of_unknown_length_leaves_no_body_file(
        portal: Portal, nginx: Nginx, tmp_path: Path) -> None:
    with TempWatch(nginx) as watch:
        status, page = file_http2(portal, nginx, tmp_path)
    _assert_filed(status, page)
    assert not watch.seen, f"nginx wrote the report to disk: {sorted(watch.seen)}"


BUFFERING_ON = {"proxy_request_buffering off;": "proxy_request_buffering on;"}
HTTP_10 = {"proxy_http_version 1.1;": "proxy_http_version 1.0;"}


@pytest.mark.parametrize(("changed", "http2"), [
    (BUFFERING_ON, False), (HTTP_10, False), (BUFFERING_ON, True),
], ids=["request-buffering-on", "http-1.0-to-the-app", "http2-request-buffering-on"])
def test_the_watch_sees_the_body_file_without_the_shipped_directives(
        portal: Portal, tmp_path: Path, changed: dict[str, str], http2: bool) -> None:
    """The shipped configuration with one directive changed back: the same filing is written
    to the body temp path, and the watch sees it (so the tests above can fail)."""
    with running_nginx(tmp_path / "nginx", _port(portal), replace=changed) as buffered, \
            TempWatch(buffered) as watch:
        status, page = (file_http2(portal, buffered, tmp_path) if http2
                        else file_chunked(portal, buffered))
    _assert_filed(status, page)
    assert any("/temp/client_body/" in p for p in watch.seen), watch.seen


# --- responses ----------------------------------------------------------------------------


class _BigAnswer(http.server.BaseHTTPRequestHandler):
    """An upstream whose answer (8 MiB, like a decrypted attachment) is larger than nginx's
    proxy buffers."""

    SIZE = 8 * 1024 * 1024

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(self.SIZE))
        self.end_headers()
        with contextlib.suppress(OSError):
            for _ in range(self.SIZE // CHUNK):
                self.wfile.write(b"\x42" * CHUNK)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Quiet."""


def _read_slowly(nginx: Nginx) -> int:
    connection = nginx.connection(timeout=60)
    try:
        connection.request("GET", "/attachment")
        response = connection.getresponse()
        received = 0
        while chunk := response.read(CHUNK):
            received += len(chunk)
            time.sleep(GAP_SECONDS)  # the real clock: a client on a slow line
        return received
    finally:
        connection.close()


@pytest.mark.parametrize("changed", [{}, {"proxy_max_temp_file_size 0;": ""}],
                         ids=["shipped", "temp-files-allowed"])
def test_a_large_answer_to_a_slow_reader_leaves_no_file(tmp_path: Path,
                                                        changed: dict[str, str]) -> None:
    """An answer nginx cannot pass on as fast as the app sends it (a staff member downloading
    a decrypted attachment) stays in nginx's memory buffers, never in its proxy temp path;
    with temporary files allowed (nginx's default) the watch sees one."""
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BigAnswer)
    thread = threading.Thread(target=upstream.serve_forever, daemon=True)
    thread.start()
    try:
        with running_nginx(tmp_path, upstream.server_address[1], replace=changed) as nginx, \
                TempWatch(nginx) as watch:
            received = _read_slowly(nginx)
    finally:
        upstream.shutdown()
        upstream.server_close()
    assert received == _BigAnswer.SIZE
    if changed:
        assert any("/temp/proxy/" in p for p in watch.seen), watch.seen
    else:
        assert not watch.seen, f"nginx wrote the answer to disk: {sorted(watch.seen)}"


# --- what nginx says itself -----------------------------------------------------------------


def test_nginx_does_not_name_its_version(nginx: Nginx) -> None:
    connection = nginx.connection()
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    assert response.status == 200
    assert response.getheader("Server") == "nginx"


def test_maintenance_page_when_no_app_server_answers(portal: Portal, nginx: Nginx) -> None:
    """gunicorn stopped (the module's last test): every page, a filing included, gets the
    static bilingual page, Chinese first, with 503 and nothing from another site; the
    reporter's POST leaves no line in nginx's log."""
    assert portal.process is not None
    portal.process.terminate()
    portal.process.wait(30)
    lines_before = nginx.log().splitlines()
    onion = ("onion", "/")  # the onion service's server block (plain HTTP from the local tor)
    for method, path in (("GET", "/"), ("GET", "/notices"), ("POST", "/report"), onion):
        connection: http.client.HTTPConnection = nginx.connection()
        if method == "onion":
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", nginx.onion_port, timeout=30)
            method = "GET"
        body = b"x" * ATTACHMENT_BYTES if method == "POST" else None  # discarded in memory
        try:
            with TempWatch(nginx) as watch:
                connection.request(method, path, body=body,
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
                response = connection.getresponse()
                page = response.read().decode("utf-8")
        finally:
            connection.close()
        assert not watch.seen, sorted(watch.seen)
        assert response.status == 503, (method, path, response.status, page[:300])
        assert response.getheader("Content-Type") == "text/html; charset=utf-8"
        assert response.getheader("Retry-After") == "60"
        assert response.getheader("Server") == "nginx"
        assert "暂停服务" in page
        assert "temporarily unavailable" in page
        assert page.index("暂停服务") < page.index("temporarily unavailable")
        assert "nginx" not in page.lower()
        for outside in ("http:", "https:", "//", "src=", "@import", "url("):
            assert outside not in page.replace("<!DOCTYPE html>", ""), outside
    # Not reachable on its own address.
    connection = nginx.connection()
    try:
        connection.request("GET", "/portal-maintenance.html")
        assert connection.getresponse().status != 200
    finally:
        connection.close()
    added = nginx.log().splitlines()[len(lines_before):]
    assert not [line for line in added if "POST" in line or "/report" in line], added
