"""Filing: reports with a 1 MB photo at concurrency 4, and a 20 MB PDF's memory cost.

The portal runs under gunicorn with its real gunicorn.conf.py and production crypto settings
(receipt KDF: argon2id t=2, 64 MiB, libsodium's "interactive" cost; staff KDF at its default
for the accounts made before): the same server and database as the public-page benchmark,
prepared by benchmarks/http_load.py (PostgreSQL in the full run, SQLite in quick mode). Two
settings differ from production: the per-address and installation-wide report limits are
raised (PORTAL_REPORT_LIMIT / PORTAL_REPORT_CEILING), since a benchmark files more than 10
reports an hour from one address; and PORTAL_SECURE_COOKIES=false, since this is plain HTTP.

Each report is the real form flow of a browser without JavaScript: GET /report (CSRF cookie,
form token), then a multipart POST with the facts, one person and a 1 MB JPEG (random noise,
so it does not compress away, with EXIF and GPS for the stripper to remove); the receipt must
come back in id="receipt". Four client threads file concurrently. Latency is the POST's round
trip; server CPU is the gunicorn master's and workers' user + system time (/proc/<pid>/stat)
over the run, divided by the reports filed (it includes the GET of the form).

Memory: a fresh 1-worker server, warmed up by filing a small PDF (so its baseline peak holds
everything a filing always costs, the 64 MiB of the receipt KDF included), then a ~20 MB PDF
of scanned pages (noise JPEGs, with document info and XMP to strip). The figure is the growth
of the worker's VmHWM (peak resident set, /proc/<pid>/status) across that upload. Beside it,
for the analysis: the Python heap's peak (tracemalloc) while the same PDF is filed in-process.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import io
import random
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from benchmarks import common
from benchmarks.common import Table
from benchmarks.http_load import RAISED_LIMIT
from portal import state

CONCURRENCY = 4
PHOTO_BYTES = 1_000_000
PDF_BYTES = 20_000_000  # under the default 20 MiB per-file limit
CHUNK_BYTES = 1024 * 1024  # casework.content.CHUNK_BYTES
RECEIPT_RE = re.compile(r'id="receipt">([\d ]+)<')
FIELD_RE = r'name="{}"[^>]*value="([^"]*)"'


@dataclass(frozen=True)
class Options:
    """How many reports, on which database, where."""

    reports: int
    db: str
    workdir: Path


# --- test files -------------------------------------------------------------------------------


def noise_jpeg(target: int, seed: int = 1, exif: bool = True) -> bytes:
    """A JPEG of random noise of about `target` bytes, with camera EXIF and GPS."""
    from PIL import Image

    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    side = max(64, int((target / 1.1) ** 0.5 / 1.2))
    for _ in range(6):
        width, height = int(side * 1.33), side
        pixels = rng.randbytes(width * height * 3)
        image = Image.frombytes("RGB", (width, height), pixels)
        out = io.BytesIO()
        extra: dict[str, Any] = {}
        if exif:
            info = Image.Exif()
            info[0x010F] = "BenchCam"  # Make
            info[0x0110] = "Model 12"  # Model
            info[0x0132] = "2026:03:01 10:00:00"  # DateTime
            gps = info.get_ifd(0x8825)
            gps[1], gps[2] = "N", (30.0, 15.0, 0.0)  # latitude
            gps[3], gps[4] = "E", (120.0, 10.0, 0.0)  # longitude
            extra["exif"] = info.tobytes()
        image.save(out, "JPEG", quality=85, **extra)
        data = out.getvalue()
        if abs(len(data) - target) < target * 0.05:
            return data
        side = int(side * (target / len(data)) ** 0.5)
    return data


def scanned_pdf(target: int, page_bytes: int = 2_000_000) -> bytes:
    """A valid PDF of about `target` bytes: pages of noise JPEG 'scans' (the last one filling
    the remainder), document info and XMP metadata (for the stripper to remove)."""
    import pikepdf
    from PIL import Image

    pdf = pikepdf.new()
    pdf.docinfo["/Author"] = "张三"
    pdf.docinfo["/Producer"] = "Bench Scanner"
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:creator"] = ["张三"]
    full = noise_jpeg(page_bytes, seed=10, exif=False)
    scans: list[bytes] = []
    overhead = 2_000
    while sum(map(len, scans)) + len(full) + overhead * (len(scans) + 1) <= target:
        scans.append(full)
    rest = target - sum(map(len, scans)) - overhead * (len(scans) + 1)
    if rest > 20_000:
        scans.append(noise_jpeg(int(rest * 0.97), seed=11, exif=False))
    for jpeg in scans:
        image = pikepdf.Stream(pdf, jpeg)
        image["/Type"] = pikepdf.Name.XObject
        image["/Subtype"] = pikepdf.Name.Image
        image["/Filter"] = pikepdf.Name.DCTDecode
        image["/ColorSpace"] = pikepdf.Name.DeviceRGB
        image["/BitsPerComponent"] = 8
        with Image.open(io.BytesIO(jpeg)) as im:
            image["/Width"], image["/Height"] = im.size
        content = pikepdf.Stream(pdf, b"q 595 0 0 842 0 0 cm /Im0 Do Q")
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page, MediaBox=[0, 0, 595, 842], Contents=content,
            Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image)))
        pdf.pages.append(pikepdf.Page(page))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


# --- the HTTP client ----------------------------------------------------------------------


class Reporter:
    """A browser without JavaScript filing through the real form (its own cookie)."""

    def __init__(self, port: int, category: int) -> None:
        self.port = port
        self.category = category
        self.cookie = ""

    def _request(self, method: str, path: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            sent = dict(headers or {})
            if self.cookie:
                sent["Cookie"] = self.cookie
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            for name, value in response.getheaders():
                if name.lower() == "set-cookie" and value.startswith("portal_form="):
                    self.cookie = value.split(";", 1)[0]
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def file(self, files: list[tuple[bytes, str]]) -> float:
        """File one report; return the POST's seconds. Raise when no receipt comes back."""
        status, page = self._request("GET", "/report")
        if status != 200:
            raise RuntimeError(f"GET /report: {status}")
        fields: dict[str, str] = {}
        for name in ("csrf_token", "form_token"):
            match = re.search(FIELD_RE.format(name), page)
            if match is None:
                raise RuntimeError(f"no {name} on the form")
            fields[name] = match.group(1)
        data: MultiDict[str, Any] = MultiDict({
                          **fields, "category": str(self.category), "concerns_leader": "no",
                          "persons-0-name": "李四", "persons-0-unit": "示范县某局",
                          "facts": "2026年3月在办公室收受现金两万元，有同事在场，可以核实。"})
        for content, filename in files:
            data.add("files", FileStorage(io.BytesIO(content), filename=filename))
        boundary, body = encode_multipart(data)
        started = time.perf_counter()
        status, page = self._request(
            "POST", "/report", body,
            {"Content-Type": f"multipart/form-data; boundary={boundary}"})
        took = time.perf_counter() - started
        if status != 200 or RECEIPT_RE.search(page) is None:
            raise RuntimeError(f"POST /report: {status} {page[:500]}")
        return took


# --- the server ---------------------------------------------------------------------------


def throughput(table: Table, opts: Options, server: common.Server, category: int) -> None:
    """File opts.reports reports with a 1 MB photo, CONCURRENCY at a time, on a running
    portal; add the rows."""
    from portal.config import Config

    section = f"filing/{opts.db}"
    cfg = Config()
    table.add(section, "settings",
              f"receipt KDF argon2id t={cfg.receipt_kdf_time_cost} "
              f"m={cfg.receipt_kdf_memory_kib // 1024} MiB (production default); report "
              f"limits raised; {opts.db}; gunicorn.conf.py")
    photo = noise_jpeg(PHOTO_BYTES)
    local = threading.local()

    def one(_i: int) -> float:
        if not hasattr(local, "reporter"):
            local.reporter = Reporter(server.port, category)
        return float(local.reporter.file([(photo, "IMG_0001.jpg")]))

    with concurrent.futures.ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(one, range(CONCURRENCY)))  # warm-up: every thread, most workers
        cpu0 = server.cpu_seconds()
        t0 = time.perf_counter()
        latencies = list(pool.map(one, range(opts.reports)))
        wall = time.perf_counter() - t0
        cpu = server.cpu_seconds() - cpu0
    p50, p95 = common.percentile(latencies, 50), common.percentile(latencies, 95)
    print(f"    {opts.reports} reports in {wall:.1f} s; POST p50 {p50 * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms; server CPU "
          f"{cpu:.1f} s", flush=True)
    what = f"{opts.reports} reports with a {len(photo) / 1e6:.1f} MB photo, concurrency 4"
    table.add(section, f"{what}: reports/s", f"{opts.reports / wall:.2f}")
    table.add(section, "POST /report latency p50", f"{p50:.3f} s")
    table.add(section, "POST /report latency p95", f"{p95:.3f} s", "< 0.5 s", p95 < 0.5)
    table.add(section, "server CPU-seconds per report (GET form + POST)",
              f"{cpu / opts.reports:.3f} s")


def memory(table: Table, opts: Options, env: dict[str, str], category: int, log: Path) -> None:
    """Upload a ~20 MB PDF to a fresh 1-worker server; add its peak-memory rows."""
    section = f"filing/{opts.db}"
    small_pdf = scanned_pdf(200_000, page_bytes=100_000)
    big_pdf = scanned_pdf(PDF_BYTES)
    with common.gunicorn("wsgi:app", env, log, workers=1) as server:
        (worker,) = server.workers()
        reporter = Reporter(server.port, category)
        for _ in range(2):
            reporter.file([(small_pdf, "small.pdf")])
        before = common.status_kib(worker, "VmHWM")
        rss_before = common.status_kib(worker, "VmRSS")
        took = reporter.file([(big_pdf, "scan.pdf")])
        after = common.status_kib(worker, "VmHWM")
        if server.workers() != [worker]:
            raise RuntimeError("the worker was replaced during the upload")
    added = (after - before) / 1024
    print(f"    20 MB PDF: worker VmHWM {before / 1024:.0f} → {after / 1024:.0f} MiB "
          f"(RSS before {rss_before / 1024:.0f} MiB), POST {took:.2f} s", flush=True)
    table.add(section, f"{len(big_pdf) / 1e6:.1f} MB PDF: added to the worker's peak memory",
              f"{added:.0f} MiB (= {added * 1024 * 1024 / CHUNK_BYTES:.0f} chunks of 1 MiB; "
              f"VmHWM {before / 1024:.0f} → {after / 1024:.0f} MiB)", "< 60 MB",
              added * 1024 * 1024 < 60_000_000)
    table.add(section, "20 MB PDF: POST /report time (1 worker)", f"{took:.2f} s")
    peak = python_heap_peak(big_pdf, small_pdf, opts.workdir)
    table.add(section, "20 MB PDF: Python heap peak during the request (tracemalloc, "
              "in-process)", f"{peak:.0f} MiB = {peak * 1024 * 1024 / len(big_pdf):.1f} x "
              "the file")


def python_heap_peak(pdf: bytes, warm: bytes, workdir: Path) -> float:
    """MiB of Python allocations (tracemalloc: bytes, buffers; not pikepdf's or argon2's own C
    memory) at the peak of filing `pdf` through the real view, in-process on SQLite."""
    import tracemalloc

    from application import create_app
    from portal import accounts, db
    from portal.config import Config, InstanceSecrets

    base = workdir / "filing-heap"
    InstanceSecrets.ensure(base / "instance")
    app = create_app(Config(
        instance_path=base / "instance", database_url=common.fresh_sqlite(base / "portal.db"),
        secure_cookies=False, report_limit=RAISED_LIMIT, report_ceiling=RAISED_LIMIT,
        staff_kdf_time_cost=1, staff_kdf_memory_kib=8))
    if app.test_cli_runner().invoke(args=["portal", "init"]).exit_code != 0:
        raise RuntimeError("portal init failed")
    with app.app_context():
        accounts.create_account_with_passphrase(db.session(), "bench-dic", ["dic_handler"],
                                                common.PASSPHRASE)
    if app.test_cli_runner().invoke(args=["queues", "init"]).exit_code != 0:
        raise RuntimeError("queues init failed")
    category = common.category_id(app, "discipline")
    client = app.test_client()

    def body(content: bytes) -> tuple[str, bytes]:
        page = client.get("/report").get_data(as_text=True)
        fields = {name: re.search(FIELD_RE.format(name), page).group(1)  # type: ignore[union-attr]
                  for name in ("csrf_token", "form_token")}
        data: MultiDict[str, Any] = MultiDict({
                          **fields, "category": str(category), "concerns_leader": "no",
                          "persons-0-name": "李四", "facts": "2026年3月在办公室收受现金两万元。"})
        data.add("files", FileStorage(io.BytesIO(content), filename="scan.pdf"))
        return encode_multipart(data)

    def post(boundary: str, payload: bytes) -> None:
        response = client.post("/report", data=payload,
                               content_type=f"multipart/form-data; boundary={boundary}")
        if response.status_code != 200 or RECEIPT_RE.search(response.get_data(as_text=True)) \
                is None:
            raise RuntimeError(f"in-process filing: {response.status_code}")

    post(*body(warm))
    boundary, payload = body(pdf)
    tracemalloc.start()
    try:
        post(boundary, payload)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    state.engine(app).dispose()
    return peak / 1024 / 1024
