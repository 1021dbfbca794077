"""Hostile input for the reliability tier: the attack corpus, hostile files built in memory, a
world of accounts, cases and notices to aim them at, and the checks every answer must pass.

Used by test_fuzz.py (hypothesis over every form) and test_corpus.py (the fixed corpus). The
checks never trust the product's own helpers: a database change is seen by hashing every table,
an escape by looking for the payload in the HTML, a download by reading its headers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import html as htmllib
import io
import itertools
import re
import secrets
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pikepdf
import pyotp
import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from PIL import Image
from sqlalchemy import func, select, text
from werkzeug.test import TestResponse

from portal import state
from tests.conftest import (
    PASSPHRASE,
    AuthActions,
    StaffMember,
    config_for_tests,
    private_pg_schema,
)
from tests.intake_support import make_desk, open_reporter
from tests.unit import evidence_samples as samples

# --- the text corpus -------------------------------------------------------------------------

# Classic attacks, each short enough for every text field (names take 50 characters).
TEXT_ATTACKS: dict[str, str] = {
    "script": "<script>alert(1)</script>",
    "img-onerror": '"><img src=x onerror=alert(1)>',
    "attr-break": "' autofocus onfocus='alert(1)",
    "svg-onload": "<svg/onload=alert(1)>",
    "textarea-break": "</textarea><script>alert(2)</script>",
    "js-url": "javascript:alert(document.cookie)//",
    "template": "{{7*7}}{{config}}${7*7}#{7*7}",
    "sql-quote": "' OR '1'='1'; DROP TABLE \"case\";--",
    "sql-union": "1 UNION SELECT username, verifier FROM staff_user--",
    "traversal": "../../../../etc/passwd",
    "rtl-override": "invoice\u202eexe.pdf 检举",
    "zero-width": "张\u200b三\ufeff\u2066李\u2069四",
    "crlf": "x\r\nSet-Cookie: injected=1",
    "entity": "&lt;script&gt;&#x3C;svg onload=alert(3)&#x3E;",
}
# Substrings that only an injection produces: never in any page, escaped or not.
DANGEROUS = ("<script>alert", "<img src=x", "<svg/onload", "onfocus='alert", "<svg onload")
# Characters that hide or reorder text; never shown back.
INVISIBLE = ("\u202e", "\u2066", "\u2069", "\u200b", "\ufeff", "\x00")
# Refused wherever they appear: NUL (PostgreSQL cannot store it) and bytes that are not UTF-8.
NUL_ATTACK = "a\x00b<script>alert(1)</script>"
RAW_ATTACKS: dict[str, bytes] = {  # as they arrive percent-encoded in a form body
    "overlong-lt": b"%C0%BCscript%C0%BEalert(1)%C0%BC/script%C0%BE",
    "invalid-utf8": b"%FF%FE%FD",
    "lone-surrogate": b"%ED%A0%80",
    "truncated-sequence": b"%E4%B8",
}
HUGE_SIZES = (101, 2_001, 20_001, 200_000)  # past common limits, and past the form memory cap

# --- file names ----------------------------------------------------------------------------------

NAME_ATTACKS: dict[str, bytes] = {  # raw bytes of the filename parameter, as a client sends them
    "traversal": b"../../../../etc/passwd",
    "win-traversal": b"..\\..\\Windows\\System32\\drivers\\etc\\hosts",
    "absolute": b"/etc/shadow",
    "nul": b"evil.txt\x00.html",
    "rtl-override": "invoice\u202egpj.exe".encode(),
    "script": b"<script>alert(1)</script>.txt",
    "event-handler": b"x\"><img src=x onerror=alert(1)>.txt",
    "header-injection": b"a%22; filename=%22evil.html",
    "crlf-escaped": b"a%0D%0AContent-Type: text/html%0D%0A%0D%0A.txt",
    "overlong-utf8": b"\xc0\xaf\xc0\xae\xc0\xae.txt",
    "invalid-utf8": b"\xff\xfe.txt",
    "long": ("长" * 3000 + ".txt").encode(),
    "dots": b"..",
    "unicode-slash": "..\u2215..\u2215etc\u2215passwd".encode(),
    "zero-width": "rep\u200bort\u2060.txt".encode(),
}

# --- hostile files, built in memory --------------------------------------------------------------


def _raw_zip(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip written by hand from (name, deflated data, declared size, CRC): the declared
    sizes may lie, which no zip library would write."""
    body, central = b"", b""
    for name, data, size, crc in members:
        encoded = name.encode()
        offset = len(body)
        body += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(data),
                            size, len(encoded), 0) + encoded + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc,
                               len(data), size, len(encoded), 0, 0, 0, 0, 0, offset) + encoded
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central),
                      len(body), 0)
    return body + central + end


def deflated_zeros(megabytes: int) -> bytes:
    """A raw deflate stream of ``megabytes`` MiB of zeros, about 1 KiB per MiB: one fully
    flushed block (it references nothing before it) repeated, then the final block."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(1 << 20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    return block * megabytes + compressor.flush()


def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def _docx_parts() -> list[tuple[str, bytes, int, int]]:
    types = (b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
             b'content-types"><Override PartName="/word/document.xml" ContentType="'
             + samples.WORD_MAIN.encode() + b'"/></Types>')
    rels = (b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            b'package/2006/relationships"/>')
    return [(name, _deflate(data), len(data), zlib.crc32(data))
            for name, data in (("[Content_Types].xml", types), ("_rels/.rels", rels))]


BOMB_GIB = 1  # the zip bombs expand to this many GiB


def zip_bomb(*, honest: bool) -> bytes:
    """A Word document whose body expands to 1 GiB of zeros (about 1 MiB on the wire).
    Honest: the sizes say so. Lying: the headers claim 4 KiB, so only reading finds out."""
    megabytes = BOMB_GIB * 1024
    declared = megabytes << 20 if honest else 4096
    return _raw_zip([*_docx_parts(),
                     ("word/document.xml", deflated_zeros(megabytes), declared, 0)])


def zip_of_many_members(count: int = 6_000) -> bytes:
    """A Word document with thousands of empty parts (a bomb by count, not by size)."""
    empty = (_deflate(b""), 0, 0)
    return _raw_zip([*_docx_parts(), ("word/document.xml", *empty),
                     *((f"word/media/p{i}.bin", *empty) for i in range(count))])


def zip_as_docx() -> bytes:
    """A plain zip holding an executable, named like a Word document."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("payload.exe", b"MZ\x90\x00" + bytes(200))
        z.writestr("index.html", b"<script>alert(1)</script>")
    return out.getvalue()


def docx_without_main_part() -> bytes:
    """Content types that name a Word body, but the body is missing."""
    return _raw_zip(_docx_parts())


def small_jpeg(size: tuple[int, int] = (16, 16)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def jpeg_pixel_bomb(width: int = 65_000, height: int = 65_000) -> bytes:
    """A real tiny JPEG whose frame header claims ``width`` × ``height`` pixels."""
    data = bytearray(small_jpeg())
    sof = data.index(b"\xff\xc0")
    data[sof + 5: sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def png_pixel_bomb() -> bytes:
    """A PNG header claiming 100 000 × 100 000 pixels (10 gigapixels)."""
    return samples.png_header_only(100_000, 100_000)


POLYGLOT_HTML = b"<html><body><script>alert('polyglot')</script></body></html>"


def polyglot_jpeg_html() -> bytes:
    """A valid JPEG carrying an HTML page in a comment segment and again after its end."""
    plain = small_jpeg()
    comment = b"\xff\xfe" + struct.pack(">H", len(POLYGLOT_HTML) + 2) + POLYGLOT_HTML
    return plain[:2] + comment + plain[2:] + POLYGLOT_HTML


def html_with_jpeg_magic() -> bytes:
    """An HTML page that starts with JPEG magic bytes."""
    return b"\xff\xd8\xff\xe0" + POLYGLOT_HTML


SVG_SCRIPT = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
              b"<script>alert(document.domain)</script></svg>")


def pdf_with_javascript() -> bytes:
    """A PDF that runs JavaScript when opened (kept, but only ever served as a download)."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    action = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.JavaScript,
                                                  JS=pikepdf.String("app.alert('pdf')")))
    pdf.Root.OpenAction = action
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


@dataclass(frozen=True)
class HostileFile:
    """A file of the corpus: its bytes, the name it is sent under, and what must happen."""

    key: str
    data: bytes
    name: str
    stored: bool  # True: kept (cleaned, and only ever downloaded); False: refused, naming it
    bomb: bool = False


@functools.cache
def hostile_files() -> tuple[HostileFile, ...]:
    """The file corpus (a few MiB in all, built once)."""
    return (
        HostileFile("svg-script", SVG_SCRIPT, "image.svg", stored=False),
        HostileFile("svg-as-png", SVG_SCRIPT, "photo.png", stored=False),
        HostileFile("html-page", b"<!doctype html>" + POLYGLOT_HTML, "page.html", stored=False),
        HostileFile("html-behind-bom", "\ufeff \n".encode() + POLYGLOT_HTML, "notes.txt",
                    stored=False),
        HostileFile("html-jpeg-magic", html_with_jpeg_magic(), "photo.jpg", stored=False),
        HostileFile("zip-bomb", zip_bomb(honest=True), "report.docx", stored=False, bomb=True),
        HostileFile("zip-bomb-lying", zip_bomb(honest=False), "report2.docx", stored=False,
                    bomb=True),
        HostileFile("zip-many-members", zip_of_many_members(), "report3.docx", stored=False,
                    bomb=True),
        HostileFile("png-pixel-bomb", png_pixel_bomb(), "scan.png", stored=False, bomb=True),
        HostileFile("jpeg-pixel-bomb", jpeg_pixel_bomb(), "scan.jpg", stored=False, bomb=True),
        HostileFile("zip-as-docx", zip_as_docx(), "合同.docx", stored=False),
        HostileFile("docx-without-body", docx_without_main_part(), "empty.docx", stored=False),
        HostileFile("exe-as-pdf", b"MZ\x90\x00" + bytes(300), "invoice.pdf", stored=False),
        HostileFile("polyglot-jpeg-html", polyglot_jpeg_html(), "photo.jpg", stored=True),
        HostileFile("script-in-text", b"meeting notes\n<script>alert(1)</script>\n", "n.txt",
                    stored=True),
        HostileFile("pdf-javascript", pdf_with_javascript(), "scan.pdf", stored=True),
    )


# --- multipart bodies written by hand -------------------------------------------------------------


def multipart(fields: Sequence[tuple[str, str | bytes]], files: list[tuple[bytes, bytes]],
              boundary: str = "HostileBoundary7MA4YWxkTrZu0gW") -> tuple[bytes, str]:
    """A multipart body with the filename bytes exactly as given (browsers %-escape quotes and
    line breaks; hostile clients need not), and field values as given when they are bytes.
    Returns the body and its content type."""
    b = boundary.encode()
    out = io.BytesIO()
    for name, value in fields:
        raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
        out.write(b"--" + b + b'\r\nContent-Disposition: form-data; name="'
                  + name.encode("utf-8", "surrogatepass") + b'"\r\n\r\n' + raw + b"\r\n")
    for data, filename in files:
        out.write(b"--" + b + b'\r\nContent-Disposition: form-data; name="files"; filename="'
                  + filename + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
                  + data + b"\r\n")
    out.write(b"--" + b + b"--\r\n")
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


# --- what every answer must satisfy ---------------------------------------------------------------

ERROR_MARKERS = ('class="error-text"', 'class="flash error"', '<section class="error">',
                 'role="alert"')
CJK = re.compile(r"[\u4e00-\u9fff]")


# Jinja escapes <, >, quotes and & in every value, so in the portal's pages a tag ends at the
# first ">" outside a quoted attribute: regular expressions read them reliably, and ten times
# faster than html.parser.
_TAG = re.compile(r"""<([a-zA-Z][a-zA-Z0-9-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>""")
_ATTR = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>"']+))?""")
_SCRIPT = re.compile(r"<script\b[^>]*>(.*?)</script\s*>", re.S | re.I)
_ERROR_SECTION = re.compile(r'<section class="error">(.*?)</section>', re.S)
_URL_ATTRS = ("href", "src", "action", "formaction", "xlink:href")


@dataclass(frozen=True)
class Page:
    """What the checks need of a page: injected handlers or script URLs, inline scripts, and
    the texts of its error messages."""

    handlers: list[tuple[str, str]]
    inline_scripts: list[str]
    messages: list[str]


def _text(fragment: str) -> str:
    return " ".join(htmllib.unescape(re.sub(r"<[^>]*>", " ", fragment)).split())


@functools.lru_cache(maxsize=4)
def parse_page(html: str) -> Page:
    handlers, messages = [], []
    for tag in _TAG.finditer(html):
        name = tag.group(1).lower()
        attrs: dict[str, str] = {}
        for attr in _ATTR.finditer(tag.group(2)):
            key = attr.group(1).lower()
            value = attrs[key] = htmllib.unescape((attr.group(2) or "").strip("\"'"))
            if key.startswith("on"):
                handlers.append((name, key))
            if key in _URL_ATTRS and value.strip().lower().startswith(
                    ("javascript:", "vbscript:", "data:text/html")):
                handlers.append((name, f"{key}={value}"))
        classes = attrs.get("class", "").split()
        if ("error-text" in classes or {"flash", "error"} <= set(classes)
                or attrs.get("role") == "alert"):
            end = html.find(f"</{name}>", tag.end())
            messages.append(_text(html[tag.end():end if end >= 0 else None]))
    messages += [_text(m.group(1)) for m in _ERROR_SECTION.finditer(html)]
    scripts = [m.group(1) for m in _SCRIPT.finditer(html) if m.group(1).strip()]
    return Page(handlers, scripts, [m for m in messages if m])


def assert_inert(html: str, where: str = "", *, invisible: bool = True) -> None:
    """No injected markup: no event-handler attribute, no inline script, no javascript: URL,
    none of the injection-only substrings; and (where stored text is shown to others) no
    invisible reordering characters."""
    page = parse_page(html)
    assert not page.handlers, f"{where}: event handlers or script URLs {page.handlers[:3]}"
    assert not page.inline_scripts, f"{where}: inline script {page.inline_scripts[:1]}"
    for bad in DANGEROUS:
        assert bad not in html, f"{where}: {bad!r} unescaped"
    for ch in INVISIBLE if invisible else ():
        assert ch not in html, f"{where}: invisible character {ch!r} shown"


def assert_shown_escaped(html: str, value: str, where: str = "") -> None:
    """The value appears, HTML-escaped, and never raw when it contains markup."""
    assert str(escape(value)) in html, f"{where}: {value!r} not shown escaped"
    if any(ch in value for ch in "<>\"'"):
        assert value not in html, f"{where}: {value!r} shown raw"


def assert_clear_refusal(response: TestResponse, lang: str, where: str = "") -> None:
    """A 4xx page in the asker's language that says what is wrong, without a traceback."""
    assert 400 <= response.status_code < 500, where
    body = response.get_data(as_text=True)
    assert "Traceback" not in body, where
    if response.mimetype == "application/json":
        assert response.get_json()["status"] == response.status_code, where
        return
    assert response.mimetype == "text/html", f"{where}: {response.mimetype}"
    expected = "en" if lang == "en" else "zh-CN"
    assert f'<html lang="{expected}">' in body, f"{where}: page not in {expected}"
    messages = parse_page(body).messages
    assert messages, f"{where}: {response.status_code} without a message:\n{body[-1500:]}"
    for message in messages:
        if expected == "en":
            assert re.search(r"[A-Za-z]{3,}", message), f"{where}: {message!r} is not English"
        else:
            assert CJK.search(message), f"{where}: {message!r} is not Chinese"


def assert_local_redirect(response: TestResponse, where: str = "") -> None:
    if response.status_code in (301, 302, 303, 307, 308):
        target = urlsplit(response.headers.get("Location", ""))
        assert target.netloc in ("", "localhost"), f"{where}: redirect off-site {target}"
        assert target.scheme in ("", "http", "https"), f"{where}: redirect to {target}"


def content_disposition_name(header: str) -> str:
    """The UTF-8 file name of a Content-Disposition header (filename*), decoded."""
    match = re.search(r"filename\*=UTF-8''([^;\s]*)", header)
    assert match, header
    return unquote(match.group(1), errors="strict")


def assert_download_only(response: TestResponse, where: str = "") -> str:
    """An evidence file is only ever an attachment of an inert type; returns its name."""
    header = response.headers.get("Content-Disposition", "")
    assert response.status_code == 200, where
    assert header.startswith("attachment;"), f"{where}: {header!r}"
    assert "inline" not in header.lower(), where
    assert not set(header) & set('\r\n\x00"\\') - {'"'} or header.count('"') == 2, header
    assert re.fullmatch(r'attachment; filename="evidence-\d+"; filename\*=UTF-8\'\'[^\s";\\]*',
                        header), f"{where}: {header!r}"
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    assert response.mimetype == "application/octet-stream", f"{where}: {response.mimetype}"
    assert "html" not in response.content_type
    assert "svg" not in response.content_type
    assert "Content-Security-Policy" in response.headers, where
    name = content_disposition_name(header)
    assert_safe_name(name, where)
    return name


def assert_safe_name(name: str, where: str = "") -> None:
    """A displayed or downloaded file name: no directories, no hidden or control characters."""
    assert name, where
    assert len(name) <= 255, f"{where}: {name!r}"
    assert not set(name) & set("/\\"), f"{where}: path separators in {name!r}"
    assert name not in (".", ".."), f"{where}: {name!r}"
    assert all(ch.isprintable() for ch in name), f"{where}: hidden characters in {name!r}"


# --- the database, before and after -----------------------------------------------------------

# Columns that legitimately change when a staff member merely makes a request.
VOLATILE = {("staff_session", "last_seen_at")}
def _tables() -> list[Any]:
    import casework.models  # noqa: F401 (registers the tables)
    import portal.models  # noqa: F401
    import publicity.models  # noqa: F401
    from portal.db import Base

    return list(Base.metadata.sorted_tables)


# Thousands of materialised days: summarised (any change moves a count or a sum).
# The audit log is append-only and chained (each MAC covers the one before, so the last MAC
# stands for the whole chain, which audit_chain_ok verifies); evidence chunks are written once.
SUMMARISED = {
    "calendar_day": "sum(ordinal), min(day), max(day), "
                    "sum(CASE WHEN is_workday THEN 1 ELSE 0 END), "
                    "sum(CASE WHEN provisional THEN 1 ELSE 0 END), "
                    "sum(CASE WHEN is_workday THEN ordinal ELSE 0 END)",
    "audit_entry": "max(seq), (SELECT mac FROM audit_entry ORDER BY seq DESC LIMIT 1)",
    # File ids are random 64-bit numbers (#21.7): a sum of them would overflow.
    "evidence_chunk": "sum(length(data)), sum(idx), count(DISTINCT file_id), min(file_id), "
                      "max(file_id)",
}


@dataclass(frozen=True)
class Snapshot:
    """Per table: row count and a digest of every row (volatile columns left out)."""

    tables: dict[str, tuple[int, str]]
    audit_seq: int

    def changed(self, other: Snapshot) -> list[str]:
        return sorted(t for t in self.tables if self.tables[t] != other.tables.get(t))


@functools.cache
def _snapshot_query(dialect: str) -> str:
    """One statement for the whole database: per table, its row count and every row as text
    in primary-key order (hashed by the server on PostgreSQL), so that a snapshot costs one
    round trip. Names come from the model's metadata, never from input."""
    parts = []
    for table in _tables():
        name = table.name
        if name in SUMMARISED:
            columns = [c.strip() for c in SUMMARISED[name].split(", ")]
            text_of = " || ',' || ".join(f"coalesce(CAST({c} AS TEXT), '')" for c in columns)
            parts.append(f"SELECT '{name}', count(*), {text_of} FROM \"{name}\"")  # noqa: S608
            continue
        columns = [f'"{c.name}"' for c in table.columns if (name, c.name) not in VOLATILE]
        order = ", ".join(f'"{c.name}"' for c in table.primary_key.columns) or columns[0]
        if dialect == "postgresql":
            rows = (f"md5(coalesce(string_agg(ROW({', '.join(columns)})::text, chr(31) "
                    f"ORDER BY {order}), ''))")
            parts.append(f"SELECT '{name}', count(*), {rows} FROM \"{name}\"")  # noqa: S608
        else:
            row = " || ',' || ".join(f"quote({c})" for c in columns)
            parts.append(f"SELECT '{name}', count(*), group_concat(r, char(31)) FROM "  # noqa: S608
                         f"(SELECT {row} AS r FROM \"{name}\" ORDER BY {order})")
    parts.append("SELECT 'audit_seq', coalesce(max(seq), 0), '' FROM audit_entry")
    return " UNION ALL ".join(parts)


def snapshot(app: Flask) -> Snapshot:
    engine = state.engine(app)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(_snapshot_query(engine.dialect.name)).fetchall()
    tables = {str(name): (int(count), hashlib.sha256(str(text).encode()).hexdigest())
              for name, count, text in rows if name != "audit_seq"}
    audit_seq = next(int(count) for name, count, _ in rows if name == "audit_seq")
    return Snapshot(tables, audit_seq)


def new_audit_actions(app: Flask, after_seq: int) -> list[str]:
    engine = state.engine(app)
    with engine.connect() as conn:
        return [str(a) for a in conn.execute(
            text("SELECT action FROM audit_entry WHERE seq > :seq ORDER BY seq"),
            {"seq": after_seq}).scalars()]


def assert_unchanged(app: Flask, before: Snapshot, allowed_audit: frozenset[str] = frozenset(),
                     where: str = "") -> None:
    """Nothing was written, except audit entries of the allowed kinds (a failed login is
    recorded: that is a complete write, not a partial one)."""
    after = snapshot(app)
    changed = before.changed(after)
    if changed == ["audit_entry"] and allowed_audit:
        actions = new_audit_actions(app, before.audit_seq)
        assert set(actions) <= allowed_audit, f"{where}: refused, yet audited {actions}"
        assert after.tables["audit_entry"][0] == before.tables["audit_entry"][0] + len(actions)
        return
    assert not changed, f"{where}: refused, yet tables changed: {changed}"


# Whole-database invariants that a partial write would break; each row found is a problem.
CONSISTENCY = " UNION ALL ".join([
    """SELECT 'case ' || c.case_no || ' has no single report entry' FROM "case" c
       WHERE NOT c.purged AND (SELECT count(*) FROM case_entry e
                               WHERE e.case_id = c.id AND e.kind = 'report') <> 1""",
    """SELECT 'case ' || c.case_no || ' lacks its key wraps' FROM "case" c
       WHERE c.keys_wrap IS NULL OR c.identity_wrap IS NULL OR length(c.keys_wrap) = 0
          OR c.epoch_id IS NULL""",
    """SELECT 'case ' || c.case_no || ' has no deadline' FROM "case" c
       WHERE NOT EXISTS (SELECT 1 FROM case_deadline d WHERE d.case_id = c.id)""",
    """SELECT 'case ' || c.case_no || ' was never audited as filed' FROM "case" c
       WHERE NOT EXISTS (SELECT 1 FROM audit_entry a WHERE a.target = c.case_no
                         AND a.action IN ('case.filed', 'case.registered'))
         AND NOT EXISTS (SELECT 1 FROM audit_pending p WHERE p.target = c.case_no
                         AND p.action = 'case.filed')""",
    """SELECT 'case ' || c.case_no || ' counts replies it does not have' FROM "case" c
       WHERE NOT c.purged AND c.unread_replies > (SELECT count(*) FROM case_entry e
             WHERE e.case_id = c.id AND e.kind = 'reporter_message')""",
    """SELECT 'case ' || c.case_no || ' is accepted without a date' FROM "case" c
       WHERE c.state IN ('accepted', 'in_progress') AND c.accepted_on IS NULL""",
    """SELECT 'evidence file ' || f.id || ' lacks chunks' FROM evidence_file f
       WHERE f.chunk_count < 1 OR f.chunk_count <> (SELECT count(*) FROM evidence_chunk k
                                                    WHERE k.file_id = f.id)""",
    """SELECT 'notice ' || n.id || ' has no person' FROM notice n
       WHERE NOT EXISTS (SELECT 1 FROM notice_person p WHERE p.notice_id = n.id)""",
    """SELECT 'notice ' || n.id || ' is published without a period' FROM notice n
       WHERE n.status = 'approved' AND (n.period_start IS NULL OR n.period_end IS NULL)""",
    """SELECT 'active account ' || u.username || ' lacks credentials' FROM staff_user u
       WHERE u.status = 'active' AND (u.verifier IS NULL OR u.public_key IS NULL
                                       OR u.totp_box IS NULL)""",
    # A role is held, or was asked for and waits for (or was refused by) a second person (#21.3).
    """SELECT 'account ' || u.username || ' has no role and none was asked for' FROM staff_user u
       WHERE NOT EXISTS (SELECT 1 FROM staff_role r WHERE r.user_id = u.id)
         AND NOT EXISTS (SELECT 1 FROM role_request q WHERE q.user_id = u.id
                         AND q.kind = 'grant')""",
])


def consistency_problems(app: Flask) -> list[str]:
    """What a partial write would have left behind (empty when the database is whole)."""
    engine = state.engine(app)
    with engine.connect() as conn:
        return [str(p) for p in conn.exec_driver_sql(CONSISTENCY).scalars()]


def audit_chain_ok(app: Flask) -> bool:
    from portal import audit, db

    with app.app_context():
        return audit.verify(db.session()).ok


# --- a world to aim at -----------------------------------------------------------------------

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
# A Friday of a loaded year: the notices' start, 2026-11-30, is a working Monday.
WORLD_DAY = dt.datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)
NOTICE_START = "2026-11-30"
RAISED_LIMITS: dict[str, object] = {
    name: "1000000 per hour" for name in (
        "report_limit", "report_ceiling", "receipt_check_limit", "receipt_check_ceiling",
        "followup_limit", "followup_ceiling", "login_failure_limit")
} | {"login_account_free_failures": 1000000}
FACTS = "2026年3月，某局局长在办公室收受购物卡，金额约两万元。"


@dataclass
class World:
    """One initialised portal with every role logged in, and factories for the cases, notices
    and accounts that the forms act on. Factories reuse what fits and make what is missing."""

    app: Flask
    kind: str = "sqlite"
    members: dict[str, StaffMember] = field(default_factory=dict)
    clients: dict[str, FlaskClient] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    dirty: bool = True  # set when a factory wrote to the database
    _reporter: tuple[FlaskClient, str, str] | None = None  # client, receipt, case number
    _counter: Iterator[int] = field(default_factory=itertools.count)
    _pending_code: str = ""

    # -- plumbing --

    @contextmanager
    def session(self) -> Iterator[Any]:
        from portal import db

        with self.app.app_context():
            yield db.session()

    def unique(self, prefix: str) -> str:
        return f"{prefix}{next(self._counter)}"

    def add_member(self, username: str, *roles: str) -> StaffMember:
        from portal import accounts

        with self.session() as s:
            user, secret = accounts.create_account_with_passphrase(s, username, roles,
                                                                   PASSPHRASE)
            self.ids[username] = user.id
        member = self.members[username] = StaffMember(username, roles, secret)
        self.dirty = True
        return member

    def login(self, username: str) -> FlaskClient:
        client = self.app.test_client()
        response = AuthActions(client).login(self.members[username])
        assert response.status_code == 303, response.get_data(as_text=True)[-800:]
        self.clients[username] = client
        self.dirty = True
        return client

    def staff(self, username: str) -> Any:
        """The CurrentStaff behind a logged-in client (no new login: TOTP steps are scarce)."""
        from portal import accounts, db
        from portal.access import STAFF_COOKIE, STAFF_COOKIE_PATH

        cookie = self.clients[username].get_cookie(STAFF_COOKIE, path=STAFF_COOKIE_PATH)
        assert cookie is not None
        staff = accounts.load_session(db.session(), cookie.value)
        assert staff is not None
        return staff

    def actor(self, username: str) -> Any:
        from portal import audit

        return audit.Actor(username, self.ids[username])

    def today(self) -> dt.date:
        from portal import clock

        with self.app.app_context():
            return clock.today()

    # -- cases (in the commission's queue, acted on by its head) --

    def category(self, code: str) -> int:
        from casework.models import Category

        with self.session() as s:
            return int(s.scalar(select(Category.id).where(Category.code == code)))

    def file_case(self, *, real_name: bool = False, facts: str = FACTS) -> tuple[str, str]:
        """File a report through the intake service; return (case number, receipt)."""
        from casework.models import Case
        from intake import service

        report = service.ReportInput(
            category_id=self.category("discipline"), facts=facts,
            persons=(service.Person("李四", "某局", "局长"),),
            identity=service.Identity("王五", "13800000000", "某单位") if real_name else None)
        with self.session() as s:
            receipt = service.file_report(s, report, [], secrets.token_hex(16))
            case_no = s.scalar(select(Case.case_no).order_by(Case.id.desc()).limit(1))
        self.dirty = True
        return str(case_no), receipt

    def case(self, state: str = "received", *, real_name: bool = False) -> str:
        """A case of the commission's queue in ``state``, made if there is none."""
        from casework import workflow
        from casework.models import Case, CaseState, Queue

        with self.session() as s:
            found = s.scalar(select(Case.case_no).join(Queue, Case.queue_id == Queue.id).where(
                Queue.slug == "dic", Case.state == state, Case.pending_state.is_(None),
                Case.real_name.is_(real_name)).order_by(Case.id.desc()).limit(1))
        if found:
            return str(found)
        case_no, _receipt = self.file_case(real_name=real_name)
        path = {"received": [], "accepted": ["accept"], "concluded": ["accept", "conclude"],
                "closed": ["accept", "conclude", "close"]}[state]
        today = self.today()
        with self.session() as s:
            staff = self.staff("dichead")
            for step in path:
                version = int(s.scalar(select(Case.version).where(Case.case_no == case_no)))
                if step == "accept":
                    workflow.accept(s, staff, case_no, version, "谈话函询", today)
                elif step == "conclude":
                    workflow.conclude(s, staff, case_no, version, "partly", "经核查部分属实。",
                                      today)
                else:
                    workflow.close(s, staff, case_no, version, today)
            state_now = s.scalar(select(Case.state).where(Case.case_no == case_no))
        assert state_now == CaseState(state)
        self.dirty = True
        return case_no

    def version(self, case_no: str) -> int:
        from casework.models import Case

        with self.session() as s:
            return int(s.scalar(select(Case.version).where(Case.case_no == case_no)))

    def case_id(self, case_no: str) -> int:
        from casework.models import Case

        with self.session() as s:
            return int(s.scalar(select(Case.id).where(Case.case_no == case_no)))

    def open_clock(self, case_no: str) -> int:
        from casework.models import Case, CaseDeadline, DeadlineState

        with self.session() as s:
            return int(s.scalar(select(CaseDeadline.id).join(Case).where(
                Case.case_no == case_no, CaseDeadline.state == DeadlineState.open).limit(1))
                or 0)

    def queue_id(self, slug: str) -> int:
        from casework.models import Queue

        with self.session() as s:
            return int(s.scalar(select(Queue.id).where(Queue.slug == slug)))

    # -- the reporter --

    def reporter(self) -> tuple[FlaskClient, str]:
        """A client with a live reporter session on an open case; (client, case number)."""
        from casework.models import Case, CaseState
        from intake.models import ReporterSession

        if self._reporter is not None:
            client, _receipt, case_no = self._reporter
            with self.session() as s:
                state = s.scalar(select(Case.state).where(Case.case_no == case_no))
                sessions = s.scalar(select(func.count()).select_from(ReporterSession)
                                    .join(Case).where(Case.case_no == case_no))
            cookie = client.get_cookie("portal_reporter", path="/report")
            if state == CaseState.received and cookie is not None and sessions:
                return client, case_no
            if state == CaseState.received:
                status, _html = open_reporter(client, _receipt)
                assert status == 200
                self.dirty = True
                return client, case_no
        case_no, receipt = self.file_case()
        client = self.app.test_client()
        status, _html = open_reporter(client, receipt)
        assert status == 200
        self._reporter = (client, receipt, case_no)
        self.dirty = True
        return client, case_no

    def any_receipt(self) -> str:
        if self._reporter is None:
            self.reporter()
        assert self._reporter is not None
        return self._reporter[1]

    # -- notices --

    def notice_form(self) -> dict[str, str]:
        return {
            "title": "中共示例县委组织部干部任前公示", "issuer": "中共示例县委组织部",
            "period_start": NOTICE_START, "working_days": "5", "phone": "0000-12380",
            "letter_address": "示例县人民路1号", "visit_address": "示例县人民路1号308室",
            "persons-0-name": "王立新", "persons-0-gender": "男", "persons-0-ethnicity": "汉族",
            "persons-0-birth": "1980-05", "persons-0-native_place": "示例省示例县",
            "persons-0-education": "大学本科", "persons-0-work_start": "2002-07",
            "persons-0-party": "2001-06", "persons-0-current_post": "示例镇镇长",
            "persons-0-proposed_post": "示例镇党委书记", "persons-0-resume": "2002年参加工作。",
            "persons-0-cadre_id": "CADRE-1", "editor_note": "", "save": "1",
        }

    def _notice_input(self) -> Any:
        from publicity.validation import NoticeInput, PersonInput

        return NoticeInput(
            title="中共示例县委组织部干部任前公示", issuer="中共示例县委组织部",
            period_start=dt.date.fromisoformat(NOTICE_START), working_days=5,
            phone="0000-12380", letter_address="示例县人民路1号", visit_address="",
            persons=(PersonInput(name="王立新", gender="男", ethnicity="汉族", birth="1980-05",
                                 native_place="示例省示例县", education="大学本科",
                                 work_start="2002-07", party="2001-06",
                                 current_post="示例镇镇长", proposed_post="示例镇党委书记"),))

    def notice(self, kind: str) -> int:
        """A draft by ed1, a published notice without a pending change, or one with a
        correction pending (proposed by ed1); made when missing."""
        from publicity import service
        from publicity.models import ChangeStatus, Notice, NoticeChange, NoticeStatus

        pending = select(NoticeChange.notice_id).where(NoticeChange.status == ChangeStatus.pending)
        with self.session() as s:
            query = select(Notice.id).order_by(Notice.id.desc()).limit(1)
            if kind == "draft":
                found = s.scalar(query.where(Notice.status == NoticeStatus.draft,
                                             Notice.created_by == self.ids["ed1"],
                                             Notice.id != self.ids.get("blocked-draft", 0)))
            elif kind == "published":
                found = s.scalar(query.where(Notice.status == NoticeStatus.approved,
                                             Notice.id.not_in(pending)))
            else:
                found = s.scalar(query.where(Notice.id.in_(
                    pending.where(NoticeChange.proposed_by == self.ids["ed1"]))))
            if found:
                return int(found)
            notice = service.create_draft(s, self._notice_input(), self.actor("ed1"))
            notice_id = notice.id
            if kind != "draft":
                self.record(notice_id, s)
                service.approve_notice(s, notice_id, self.actor("ed2"), self.today())
            if kind == "pending-change":
                changed = dataclasses.replace(self._notice_input(),
                                              phone=f"0000-{next(self._counter):05d}")
                service.propose_correction(s, notice_id, changed, "电话更正。",
                                           self.actor("ed1"))
        self.dirty = True
        return int(notice_id)

    def record(self, notice_id: int, session: Any = None) -> None:
        """A clean compliance record of the draft's batch, by its author ed1 (approval needs
        one), replacing any earlier one: an edit may have changed the persons since. The world
        publishes many notices, so rule 5's yearly limit is raised; it is not tested here.
        In the caller's session when given (another would leave its draft stale)."""
        from tests.compliance_support import allow_many_decisions, record_clean

        if session is None:
            with self.session() as s:
                self.record(notice_id, s)
            return
        allow_many_decisions(session)
        record_clean(session, notice_id, self.actor("ed1"))
        self.dirty = True

    def blocked_draft(self) -> int:
        """A draft by ed1 whose compliance record breaks rule 1 (6 of 11 members present),
        not yet overridden; made when missing."""
        from publicity import service
        from publicity.compliance.models import ComplianceOverride
        from publicity.models import Notice, NoticeStatus
        from tests.compliance_support import record_clean

        with self.session() as s:
            found = self.ids.get("blocked-draft")
            notice = s.get(Notice, found) if found else None
            if notice is not None and notice.status == NoticeStatus.draft and s.scalar(
                    select(ComplianceOverride.id).where(ComplianceOverride.notice_id == found)
                    ) is None:
                return int(notice.id)
            notice = service.create_draft(s, self._notice_input(), self.actor("ed1"))
            record_clean(s, notice.id, self.actor("ed1"), members_present=6)
            self.ids["blocked-draft"] = notice.id
        self.dirty = True
        return int(notice.id)

    def term_name(self) -> str:
        """The configured term the records use (made when missing)."""
        from tests.compliance_support import ensure_term

        with self.session() as s:
            name = ensure_term(s).name
        self.dirty = True
        return name

    def pending_change(self) -> int:
        from publicity.models import ChangeStatus, NoticeChange

        notice_id = self.notice("pending-change")
        with self.session() as s:
            return int(s.scalar(select(NoticeChange.id).where(
                NoticeChange.notice_id == notice_id,
                NoticeChange.status == ChangeStatus.pending)))

    def notice_person(self) -> int:
        from publicity.models import NoticePerson, Outcome

        notice_id = self.notice("published")
        with self.session() as s:
            found = s.scalar(select(NoticePerson.id).where(
                NoticePerson.notice_id == notice_id, NoticePerson.outcome == Outcome.pending))
        if found:
            return int(found)
        return self.notice_person_fresh()

    def notice_person_fresh(self) -> int:
        from publicity import service
        from publicity.models import NoticePerson

        with self.session() as s:
            notice = service.create_draft(s, self._notice_input(), self.actor("ed1"))
            self.record(notice.id, s)
            service.approve_notice(s, notice.id, self.actor("ed2"), self.today())
            person_id = s.scalar(select(NoticePerson.id)
                                 .where(NoticePerson.notice_id == notice.id))
        self.dirty = True
        return int(person_id)

    # -- accounts --

    def victim(self) -> int:
        """An active account that administrators may reset, deactivate or re-role."""
        from portal.models import AccountStatus, StaffUser

        with self.session() as s:
            found = s.scalar(select(StaffUser.id).where(
                StaffUser.username.like("victim%"), StaffUser.status == AccountStatus.active)
                .order_by(StaffUser.id.desc()).limit(1))
        if found:
            return int(found)
        name = self.unique("victim")
        self.add_member(name, "supervisor")
        return self.ids[name]

    def pending_account(self) -> tuple[str, str]:
        """A pending account and its activation code (a fresh one once it is activated)."""
        from portal import accounts
        from portal.models import AccountStatus, RoleRequest, StaffUser

        current = self.ids.get("pending-user")
        if current:
            with self.session() as s:
                user = s.get(StaffUser, current)
                if user is not None and user.status == AccountStatus.pending:
                    return user.username, self._pending_code
        name = self.unique("pending")
        with self.session() as s:
            user, first = accounts.create_pending_account(s, name, ["supervisor"],
                                                          self.actor("admin"))
            self.ids["pending-user"] = user.id
            # The second half, as the confirming second person would be shown it (#21.3).
            row = s.scalars(select(RoleRequest).where(RoleRequest.user_id == user.id,
                                                      RoleRequest.kind == "activation")).one()
            code = first + accounts.open_second_half(row)
        self._pending_code = code
        self.dirty = True
        return name, code

    def role_request(self) -> int:
        """A pending grant of a commission handler's role, asked by the admin (#21.3): the
        commission's head may decide it."""
        from portal import accounts
        from portal.models import RoleRequest

        with self.session() as s:
            found = s.scalar(select(RoleRequest.id).where(
                RoleRequest.state == "pending", RoleRequest.role == "dic_handler"))
            if found:
                return int(found)
        victim = self.victim()
        with self.session() as s:
            accounts.set_roles(s, victim, ["dic_handler"], self.actor("admin"))
            found = s.scalar(select(RoleRequest.id).where(
                RoleRequest.state == "pending", RoleRequest.role == "dic_handler"))
        self.dirty = True
        return int(found or 0)

    def pending_totp(self, username: str, code: str) -> str:
        """A valid first code for the account being activated (after step one)."""
        from portal import accounts

        with self.session() as s:
            try:
                secret = accounts.pending_totp_secret(s, username, code)
            except accounts.AccountError:
                return "000000"
        return pyotp.TOTP(secret).now()

    def fingerprint(self, username: str) -> str:
        from portal import crypto
        from portal.models import StaffUser

        with self.session() as s:
            user = s.scalar(select(StaffUser).where(StaffUser.username == username))
            assert user is not None
            assert user.public_key is not None
            return str(crypto.fingerprint(user.public_key))



def build_world(tmp_path: Path, database_url: str, **config: object) -> World:
    """Initialise a portal and populate it: every role logged in, both queues keyed (heads
    first, so they hold the keys), a member still waiting for a grant, a victim account."""
    from application import create_app

    app = create_app(config_for_tests(tmp_path, database_url, **{**RAISED_LIMITS, **config}))
    result = app.test_cli_runner().invoke(args=["portal", "init"])
    assert result.exit_code == 0, result.output
    world = World(app)
    for name, role in (("admin", "admin"), ("super", "supervisor"), ("ed1", "publicity_editor"),
                       ("ed2", "publicity_editor"), ("orghead", "org_head"),
                       ("dichead", "dic_head"), ("orgvictim", "org_handler")):
        world.add_member(name, role)
    desk = make_desk(app, lambda username, *roles: world.add_member(username, *roles))
    assert desk.dic.username == "dichandler"
    world.add_member("orglate", "org_handler")  # after `queues init`: lacks the queue key
    world.add_member("loginuser", "supervisor")
    for name in ("admin", "super", "ed1", "ed2", "orghead", "dichead"):
        world.login(name)
    world.case("received")
    return world


# --- every form of the portal, aimed at something real -------------------------------------

Fields = dict[str, list[str]]


@dataclass(frozen=True)
class Aim:
    """Where a form goes: a path with one ``{}`` for the id of what it acts on, and the
    values a careful user would send."""

    path: str
    ident: str
    fields: Fields


@dataclass(frozen=True)
class Target:
    """One POST route, who sends it, and how to aim it."""

    endpoint: str
    sender: str  # a member of the world, "public", "reporter" or "fresh-staff"
    aim: Callable[[World], Aim]
    multipart: bool = False
    audited_refusals: frozenset[str] = frozenset()
    examples: int = 4


def _f(**values: str | list[str]) -> Fields:
    return {k.replace("__", "-"): v if isinstance(v, list) else [v] for k, v in values.items()}


def _prefixed(prefix: str, **values: str | list[str]) -> Fields:
    return {f"{prefix}-{k}": v for k, v in _f(**values).items()}


def _case_action(route: str, prefix: str, state: str = "received", real_name: bool = False,
                 **values: Callable[[World, str], str] | str) -> Callable[[World], Aim]:
    def aim(w: World) -> Aim:
        case_no = w.case(state, real_name=real_name)
        fields = {k: v(w, case_no) if callable(v) else v for k, v in values.items()}
        return Aim(f"/staff/cases/{{}}/{route}", case_no,
                   _prefixed(prefix, version=str(w.version(case_no)), **fields))
    return aim


ANSWER = "经核查，反映的问题部分属实，已责成整改。"


def _report(w: World) -> Aim:
    return Aim("/report", "", _f(
        category=str(w.category("discipline")), subtype="", persons__0__name="李四",
        persons__0__unit="某局", persons__0__post="局长", persons__1__name="",
        persons__1__unit="", persons__1__post="", persons__2__name="", persons__2__unit="",
        persons__2__post="", event_time="2026年3月", event_place="办公室",
        facts="2026年3月在办公室收受购物卡两万元。", witnesses="同事", reporter_name="",
        reporter_phone="", reporter_unit="", concerns_leader="no", notice="", person="",
        form_token=secrets.token_hex(16), homepage=""))


def _login(w: World) -> Aim:
    member = w.members["loginuser"]
    return Aim("/staff/login", "", _f(username=member.username, passphrase=PASSPHRASE,
                                      totp=pyotp.TOTP(member.totp_secret).now(),
                                      next="/staff/"))


def _activate(w: World) -> Aim:
    name, code = w.pending_account()
    return Aim("/staff/activate", "", _f(username=name, code=code))


def _activate_finish(w: World) -> Aim:
    from portal import accounts

    name, code = w.pending_account()
    with w.session() as s:
        try:
            accounts.pending_totp_secret(s, name, code)
        except accounts.AccountError:
            accounts.begin_activation(s, name, code)
            w.dirty = True
    return Aim("/staff/activate/finish", "", _f(
        username=name, code=code, passphrase="violet anchor meadow trumpet",
        confirm="violet anchor meadow trumpet", totp=w.pending_totp(name, code)))


def _notice_edit(w: World) -> Aim:
    from publicity.models import Notice

    notice_id = w.notice("draft")
    with w.session() as s:
        version = s.get(Notice, notice_id).version
    return Aim("/staff/publicity/{}/edit", str(notice_id),
               {**_f(**w.notice_form()), "version": [str(version)]})


def _notice_approve(w: World) -> Aim:
    from publicity.models import Notice

    notice_id = w.notice("draft")
    w.record(notice_id)  # approval needs the record; the version read after it
    with w.session() as s:
        version = s.get(Notice, notice_id).version
    return Aim("/staff/publicity/{}/approve", str(notice_id), _f(version=str(version)))


def _compliance_override(w: World) -> Aim:
    """Rule 1 of the blocked draft set aside, with a reason, on the version reviewed."""
    from publicity.models import Notice

    notice_id = w.blocked_draft()
    with w.session() as s:
        version = s.get(Notice, notice_id).version
    return Aim("/staff/publicity/{}/compliance/override", str(notice_id),
               _f(rule="1", version=str(version),
                  reason="两名常委请假，会前已书面表示同意，经部务会研究按程序办理。"))


def _compliance_record(w: World) -> Aim:
    """A clean record of ed1's draft through the form: one nominee, the draft's person."""
    from publicity.models import Notice

    term = w.term_name()
    notice_id = w.notice("draft")
    with w.session() as s:
        notice = s.get(Notice, notice_id)
        version, person = notice.version, notice.persons[0]
        cadre_id, name, post = person.cadre_id or "CADRE-1", person.name, person.proposed_post
    return Aim("/staff/publicity/{}/compliance", str(notice_id), _f(
        batch_kind="partial", term=term, meeting_body="standing", meeting_date="2026-11-20",
        members_in_office="11", members_present="10", ballot_date="", ballot_in_office="",
        ballot_present="", prefecture_approval_ref="", nominees__0__cadre_id=cadre_id,
        nominees__0__name=name, nominees__0__proposed_post=post, nominees__0__promotion="y",
        nominees__0__nominated_by="org_department", nominees__0__nominator="",
        nominees__0__relationship="", nominees__0__reserve_pool="y",
        nominees__0__vote_share="85", nominees__0__inspection="passed",
        nominees__0__decision="approved", nominees__0__prefecture_review_ref="",
        nominees__0__ballot_for="", nominees__0__ballot_against="",
        nominees__0__ballot_abstain="", version=str(version), save="1"))


def _compliance_settings(w: World) -> Aim:
    """The thresholds in force saved again (rule 5's yearly limit stays raised: the world
    publishes many notices), the public attendance line switched on."""
    from publicity.compliance import service as compliance

    with w.session() as s:
        texts = compliance.settings(s).thresholds.text
    return Aim("/staff/admin/compliance", "", _f(**texts, show_attendance="y",
                                                 save_settings="1"))


def _compliance_term(w: World) -> Aim:
    """A new five-year term after every other one (terms may not overlap)."""
    start = 2200 + 6 * next(w._counter)
    return Aim("/staff/admin/compliance/terms", "", _f(
        term_id="", name=w.unique("第十六届"), starts_on=f"{start}-01-01",
        ends_on=f"{start + 4}-12-31", leadership_posts="120", save_term="1"))


def _queue_settings(w: World) -> Aim:
    queue_id = w.queue_id("org")
    return Aim("/staff/admin/routing/queues/{}", str(queue_id), _prefixed(
        f"q{queue_id}", dispositions="核查 | Verification\n函询 | Written inquiry",
        decision_days="15", transfer_days="5", conclusion_days="60", notice_days="15",
        signoff_required=[]))


def _set_route(w: World) -> Aim:
    category = w.category("suggestion")
    return Aim("/staff/admin/routing/{}", str(category), _prefixed(
        f"c{category}", queue_id=str(w.queue_id("dic")), active="y"))


def _grant(w: World) -> Aim:
    user = w.ids["orglate"]
    return Aim("/staff/queues/org/keys/grant/{}", str(user),
               _prefixed(f"g{user}", fingerprint=w.fingerprint("orglate")))


def _revoke(w: World) -> Aim:
    user = w.ids["orgvictim"]
    return Aim("/staff/queues/org/keys/revoke/{}", str(user),
               _prefixed(f"r{user}", reason="调离岗位，收回权限。"))


def _register(w: World) -> Aim:
    return Aim("/staff/cases/register?queue={}", "dic", _f(
        channel="phone", category=str(w.category("discipline")), person_1="李四",
        unit_1="某局局长", person_2="", unit_2="", event_time="2026年3月", event_place="办公室",
        facts="来电反映局长收受购物卡。", witnesses="", reporter_name="王五",
        reporter_phone="13800000000", reporter_unit="", give_receipt="y",
        form_token=secrets.token_hex(16)))


TARGETS: dict[str, Target] = {t.endpoint: t for t in [
    # --- the public and the reporter ---
    Target("intake.report", "public", _report, multipart=True, examples=12),
    Target("intake.check", "public",
           lambda w: Aim("/report/check", "", _f(receipt=w.any_receipt())), examples=6),
    Target("intake.reply", "reporter",
           lambda w: Aim("/report/case/reply", "", _f(text="补充：转账记录见附件。")),
           multipart=True, examples=8),
    Target("intake.identity", "reporter", lambda w: Aim("/report/case/identity", "", _f(
        reporter_name="王五", reporter_phone="13800000000", reporter_unit="某单位"))),
    Target("intake.withdraw", "reporter",
           lambda w: Aim("/report/case/withdraw", "", _f(confirm="y"))),
    Target("intake.logout", "reporter", lambda w: Aim("/report/case/logout", "", {})),
    # --- staff sign-in ---
    Target("auth.login", "public", _login, audited_refusals=frozenset({"login.failed"}),
           examples=6),
    Target("auth.activate", "public", _activate),
    Target("auth.activate_finish", "public", _activate_finish),
    Target("auth.logout", "fresh-staff", lambda w: Aim("/staff/logout", "", {}), examples=4),
    # --- administration ---
    Target("admin.create_account", "admin", lambda w: Aim(
        "/staff/admin/accounts", "", _f(username=w.unique("newuser"), roles=["supervisor"]))),
    Target("admin.reset_account", "admin",
           lambda w: Aim("/staff/admin/accounts/{}/reset", str(w.victim()), {})),
    Target("admin.deactivate_account", "admin",
           lambda w: Aim("/staff/admin/accounts/{}/deactivate", str(w.victim()), {})),
    Target("admin.set_roles", "admin", lambda w: Aim(
        "/staff/admin/accounts/{}/roles", str(w.victim()),
        _f(roles=["supervisor", "publicity_editor"]))),
    Target("roles.confirm", "dichead",
           lambda w: Aim("/staff/roles/{}/confirm", str(w.role_request()), {})),
    Target("roles.refuse", "dichead",
           lambda w: Aim("/staff/roles/{}/refuse", str(w.role_request()), {})),
    Target("admin.set_email", "admin", lambda w: Aim(
        "/staff/admin/accounts/{}/email", str(w.victim()), _f(email="a.b@example.gov.cn"))),
    Target("admin.calendar", "admin", lambda w: Aim(
        "/staff/admin/calendar", "", _f(day="2031-03-03", kind="holiday"))),
    Target("routing.set_route", "admin", _set_route),
    Target("routing.create_escalation", "admin", lambda w: Aim(
        "/staff/admin/routing/escalation", "",
        _f(name_zh="上级纪委监委信访室", name_en="Petitions office above"))),
    Target("routing.queue_settings", "admin", _queue_settings),
    # --- queue keys (the organization department's head) ---
    Target("queue_keys.grant", "orghead", _grant),
    Target("queue_keys.revoke", "orghead", _revoke),
    Target("queue_keys.rotate", "orghead",
           lambda w: Aim("/staff/queues/{}/keys/rotate", "org", {}), examples=4),
    # --- casework (the commission's head, who is also a queue member) ---
    Target("casework.accept", "dichead", _case_action("accept", "accept",
                                                     disposition="谈话函询")),
    Target("casework.refuse", "dichead", _case_action(
        "refuse", "refuse", reason="no-substance", answer=ANSWER, explanation="")),
    Target("casework.conclude", "dichead", _case_action(
        "conclude", "conclude", "accepted", finding="partly", answer=ANSWER)),
    Target("casework.signoff", "dichead", _case_action(
        "signoff", "signoff", decision="approve", comment="同意")),
    Target("casework.assign", "dichead", _case_action(
        "assign", "assign", user=lambda w, _c: str(w.ids["dichandler"]))),
    Target("casework.take", "dichead", _case_action("take", "plain")),
    Target("casework.transfer", "dichead", _case_action(
        "transfer", "transfer", queue=lambda w, _c: str(w.queue_id("org")),
        reason="属组织部门管辖。")),
    Target("casework.outside", "dichead", _case_action(
        "outside", "outside", body="某市公安局", reason="涉嫌刑事犯罪。")),
    Target("casework.message", "dichead", _case_action(
        "message", "message", text="请补充转账的具体时间。"), examples=6),
    Target("casework.note", "dichead", _case_action("note", "note", text="内部意见。")),
    Target("casework.feedback", "dichead", _case_action(
        "feedback", "feedback", "accepted", real_name=True, kind="acceptance_notice",
        channel="phone", given_on="2026-11-27")),
    Target("casework.close", "dichead", _case_action("close", "plain", "concluded")),
    Target("casework.reopen", "dichead", _case_action(
        "reopen", "reopen", "concluded", reason="发现新线索。")),
    Target("casework.extend", "dichead", _case_action(
        "extend", "extend", deadline=lambda w, c: str(w.open_clock(c)), days="5",
        reason="情况复杂。")),
    Target("casework.duplicate", "dichead", _case_action(
        "duplicate", "duplicate", original=lambda w, c: w.case("accepted"), answer=ANSWER)),
    Target("casework.suspend", "dichead", _case_action("suspend", "plain")),
    Target("casework.reveal", "dichead", _case_action(
        "reveal", "reveal", real_name=True, reason="需要联系举报人核实。")),
    Target("casework.export_case", "dichead", _case_action("export", "plain"), examples=3),
    Target("casework.handover", "dichead", lambda w: Aim(
        "/staff/cases/handover?queue={}", "dic",
        _f(from_user=str(w.ids["dichandler"]), to_user=str(w.ids["dichead"])))),
    Target("intake_staff.register", "dichead", _register, multipart=True, examples=6),
    # --- publicity editors ---
    Target("publicity_editor.new", "ed1",
           lambda w: Aim("/staff/publicity/new", "", _f(**w.notice_form())), examples=6),
    Target("publicity_editor.edit", "ed1", _notice_edit),
    Target("publicity_editor.correct", "ed1", lambda w: Aim(
        "/staff/publicity/{}/correct", str(w.notice("published")),
        {**_f(**w.notice_form()), "phone": ["0000-99999"], "reason": ["电话号码有误。"]})),
    Target("publicity_editor.approve", "ed2", _notice_approve),
    Target("publicity_editor.withdraw", "ed1", lambda w: Aim(
        "/staff/publicity/{}/withdraw", str(w.notice("published")), _f(reason="程序有误。"))),
    Target("publicity_editor.approve_change", "ed2", lambda w: Aim(
        "/staff/publicity/changes/{}/approve", str(w.pending_change()), {})),
    Target("publicity_editor.cancel_change", "ed1", lambda w: Aim(
        "/staff/publicity/changes/{}/cancel", str(w.pending_change()), {})),
    Target("publicity_editor.outcome", "ed1", lambda w: Aim(
        "/staff/publicity/persons/{}/outcome", str(w.notice_person()), _f(outcome="suspended"))),
    # --- appointment compliance ---
    Target("compliance.record", "ed1", _compliance_record),
    Target("compliance.override", "orghead", _compliance_override),
    Target("compliance.admin", "admin", _compliance_settings),
    Target("compliance.save_term", "admin", _compliance_term),
]}


@dataclass(frozen=True)
class Query:
    """A GET page that reads its query string, who opens it, and sensible parameters."""

    endpoint: str
    sender: str
    path: str
    params: dict[str, str]


QUERIES = [
    Query("publicity.archive", "public", "/notices/archive",
          {"q": "王立新", "year": "2026", "after": "2026-11-30_1"}),
    Query("publicity.api_notices", "public", "/api/notices", {"after": "2026-11-30_1"}),
    Query("intake.report", "public", "/report", {"notice": "1", "person": "1"}),
    Query("intake.check", "public", "/report/check", {"expired": "1"}),
    Query("auth.login", "public", "/staff/login", {"next": "/staff/cases/"}),
    Query("casework.cases", "dichead", "/staff/cases/", {
        "queue": "dic", "state": "received", "assignee": "me", "category": "3",
        "channel": "web", "due": "overdue", "real_name": "1", "unread": "1", "name": "李四",
        "after": "2026-11-27_1"}),
    Query("intake_staff.register", "dichead", "/staff/cases/register", {"queue": "dic"}),
    Query("supervision.dashboard", "super", "/staff/supervision/",
          {"from": "2026-01-01", "to": "2026-11-27", "queue": "dic"}),
    Query("supervision.table_csv", "super", "/staff/supervision/counts.csv",
          {"from": "2026-01-01", "to": "2026-11-27", "queue": "org"}),
    Query("supervision.chart", "super", "/staff/supervision/charts/volume.svg",
          {"from": "2025-01-01", "to": "2026-11-27"}),
]

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
_WORLDS: dict[str, World] = {}


def _private_schema(config: pytest.Config) -> str:
    """A PostgreSQL schema of the hostile-input tests alone, dropped when the run ends (the
    integration tier empties the shared one between its tests)."""
    schema = ExitStack()
    url = schema.enter_context(private_pg_schema("hostile"))

    def drop() -> None:
        world = _WORLDS.pop("postgres", None)
        if world is not None:
            state.engine(world.app).dispose()
        schema.close()

    config.add_cleanup(drop)
    return url


@contextmanager
def open_world(request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The body of a module's ``world`` fixture, parametrized with DATABASES: one populated
    portal per database for the whole run (building one takes seconds), shared by the fuzz and
    corpus modules; tests aim at objects its factories keep in the right state. SQLite lives
    in a temporary folder; PostgreSQL in a private schema (skipped, or failed when services
    are required, without PORTAL_TEST_DATABASE_URL). The clock is at WORLD_DAY while a module
    runs, and resumes where it stopped in the next."""
    kind = str(request.param)
    with traveller():
        if kind not in _WORLDS:
            url = (_private_schema(request.config) if kind == "postgres" else
                   f"sqlite:///{tmp_path_factory.mktemp('hostiledb') / 'portal.db'}")
            world = build_world(tmp_path_factory.mktemp("hostile"), url,
                                max_file_bytes=2 * 1024 * 1024)
            world.kind = kind
            _WORLDS[kind] = world
        yield _WORLDS[kind]


def csrf(client: FlaskClient) -> str:
    """The CSRF token of a client's form session (any page with a form will do)."""
    html = client.get("/report/check").get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, html[-500:]
    return match.group(1)


class Sender:
    """Clients for each kind of sender, each with its CSRF token fetched once."""

    def __init__(self, world: World) -> None:
        self.w = world
        self.public: FlaskClient | None = None

    def client(self, sender: str, *, fresh: bool = False) -> FlaskClient:
        """The client of a sender; ``fresh`` for a public one whose session a login clears."""
        w = self.w
        if sender == "public":
            if fresh or self.public is None:
                self.public = w.app.test_client()
            return self.public
        if sender == "reporter":
            return w.reporter()[0]
        if sender == "fresh-staff":
            name = w.unique("leaver")
            w.add_member(name, "supervisor")
            return w.login(name)
        return w.clients[sender]

    def token(self, client: FlaskClient) -> str:
        return token(client)


def token(client: FlaskClient) -> str:
    """The client's CSRF token, fetched once (it lasts as long as the form session)."""
    cached: str | None = getattr(client, "hostile_csrf", None)
    if cached is None:
        cached = csrf(client)
        client.hostile_csrf = cached  # type: ignore[attr-defined]
    return cached


_CLOCK: list[dt.datetime] = [WORLD_DAY]


@contextmanager
def traveller() -> Iterator[None]:
    """The clock at a known Friday (publicity periods need a loaded year), ticking; each use
    resumes where the last one stopped, so the world's clock never runs backwards."""
    with time_machine.travel(_CLOCK[-1], tick=True):
        try:
            yield
        finally:
            _CLOCK.append(dt.datetime.now(SHANGHAI))
