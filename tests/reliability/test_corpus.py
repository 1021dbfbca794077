"""The fixed corpus of classic attacks (PRODUCT.md: the portal shows what people send as text,
and hands evidence over only as downloads).

Every attack of TEXT_ATTACKS goes into every text field a reporter, a handler, an editor or an
administrator can fill, and every page that shows the value is read back: the value is there,
HTML-escaped, and nothing was injected (no event handler, no inline script, no javascript: URL,
no bidi override). NUL bytes and bytes that are not UTF-8 go into every field of every form of
the portal and are refused with a clear message. Hostile files (script-carrying SVG and HTML, a
JPEG/HTML polyglot, zip and pixel bombs, a zip posing as .docx...) and hostile file names
(traversal, NUL, right-to-left override, header injection...) are uploaded: they are refused
naming the file, or kept and only ever handed out as an attachment of an inert type, under a
sanitised name, without the worker's memory growing by the bomb's size.

SQLite runs the whole corpus; PostgreSQL a subset where storage could differ (a few attacks in
every field, the stored files, the worst names, NUL in every form), through twin tests rather
than skips.
"""

from __future__ import annotations

import html as htmllib
import io
import re
import resource
import secrets
import zipfile
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from defusedxml import ElementTree as SafeET
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select
from werkzeug.test import TestResponse

from casework.models import Case
from intake import receipts
from publicity.models import Notice
from tests.intake_support import form_fields, open_reporter, receipt_of
from tests.reliability.hostile import (
    DATABASES,
    NAME_ATTACKS,
    NUL_ATTACK,
    POLYGLOT_HTML,
    QUERIES,
    RAW_ATTACKS,
    TARGETS,
    TEXT_ATTACKS,
    HostileFile,
    Sender,
    World,
    assert_clear_refusal,
    assert_download_only,
    assert_inert,
    assert_safe_name,
    assert_shown_escaped,
    assert_unchanged,
    audit_chain_ok,
    consistency_problems,
    hostile_files,
    multipart,
    open_world,
    snapshot,
    token,
)

# On PostgreSQL, a few attacks stand for all (the rest exercises the templates, not the store).
PG_ATTACKS = ("script", "sql-quote", "rtl-override")
INVISIBLE_ATTACKS = ("rtl-override", "zero-width")  # refused by notices, stripped elsewhere
MARKUP_ATTACKS = ("script", "img-onerror", "attr-break", "svg-onload", "textarea-break",
                  "js-url", "template", "entity")
# What a reflected query parameter could break out of: text, an attribute, a textarea.
REFLECTED = ("script", "img-onerror", "attr-break", "textarea-break")
PG_FILES = ("svg-script", "zip-bomb-lying")
PG_NAMES = ["traversal", "nul", "rtl-override"]
# Tests whose SQLite run covers the whole corpus get a smaller PostgreSQL twin (no skips).
ON_SQLITE = pytest.mark.parametrize("world", ["sqlite"], indirect=True)
ON_POSTGRES = pytest.mark.parametrize(
    "world", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
# Names also checked on the reporter's page and in the case export (the rest: filed page,
# handler's page and download).
EVERY_PAGE_NAMES = ("traversal", "dots", "nul", "rtl-override", "script", "crlf-escaped")
MIB = 1024 * 1024
BOMB_MEMORY_BOUND = 150 * MIB  # generous: each bomb expands to ≥ 1 GiB or 10 gigapixels


@pytest.fixture(scope="module", params=DATABASES)
def world(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with open_world(request, tmp_path_factory) as w:
        yield w


def attacks(world: World) -> list[tuple[str, str]]:
    return [(k, v) for k, v in TEXT_ATTACKS.items()
            if world.kind == "sqlite" or k in PG_ATTACKS]


def clean(value: str) -> str:
    """What the casework forms keep of a value: lines joined by LF, trimmed, no invisible or
    control characters (the spec of what may be shown back)."""
    text = value.replace("\r\n", "\n").strip()
    return "".join(ch for ch in text if ch in "\n\t" or ch.isprintable())


def one_line(value: str) -> str:
    """What a notice keeps of a one-line value: whitespace runs become one space."""
    return " ".join(value.split())


def shown(client: FlaskClient, path: str, where: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, f"{where}: GET {path} → {response.status_code}"
    html = response.get_data(as_text=True)
    assert_inert(html, f"{where}: {path}")
    return html


def post(client: FlaskClient, path: str, fields: dict[str, str],
         files: list[tuple[bytes, bytes]] | None = None) -> TestResponse:
    body, content_type = multipart([("csrf_token", token(client)), *fields.items()],
                                   files or [])
    return client.post(path, data=body, content_type=content_type)


def no_injected_headers(response: TestResponse, where: str) -> None:
    for name, value in response.headers.items():
        assert "injected" not in f"{name}:{value}".lower(), f"{where}: header {name}: {value}"


# --- text in reports, messages and notes ---------------------------------------------------------


def file_report(world: World, fields: dict[str, str],
                files: list[tuple[bytes, bytes]] | None = None, lang: str = ""
                ) -> TestResponse:
    """GET the report form (its tokens), then POST it with these fields and files."""
    client = world.app.test_client()
    path = f"/report?lang={lang}" if lang else "/report"
    page = client.get(path).get_data(as_text=True)
    # The hostile names are kept by the reporter's choice (#21, item 11), so they reach storage.
    base = {"category": str(world.category("discipline")), "concerns_leader": "no",
            "persons-0-name": "李四", "facts": "2026年3月在办公室收受购物卡两万元，证据见附件。",
            "keep_names": "y"}
    body, content_type = multipart([*form_fields(page).items(), *{**base, **fields}.items()],
                                   files or [])
    return client.post(path, data=body, content_type=content_type)


def case_of(world: World, receipt: str) -> str:
    with world.session() as s:
        return str(s.scalar(select(Case.case_no).where(
            Case.receipt_lookup == receipts.lookup(receipt))))


def test_every_report_field_shows_attacks_escaped(world: World) -> None:
    """A report per attack with the attack in every field, real name included: the reporter's
    page, and the handler's case page with the identity revealed, show each value escaped."""
    head = world.clients["dichead"]
    for key, attack in attacks(world):
        where = f"attack {key}"
        report = {
            "facts": f"事实经过如下：{attack}", "witnesses": attack, "event_time": attack[:100],
            "event_place": attack[:200], "persons-0-name": attack[:50],
            "persons-0-unit": attack[:100], "persons-0-post": attack[:100],
            "real_name": "y", "reporter_name": attack[:50], "reporter_phone": "13800000000",
            "reporter_unit": attack[:100],
        }
        filed = file_report(world, report)
        filed_html = filed.get_data(as_text=True)
        assert filed.status_code == 200, f"{where}: {filed_html[-1500:]}"
        assert_inert(filed_html, where)
        no_injected_headers(filed, where)
        receipt = receipt_of(filed_html)
        status, reporter_html = open_reporter(world.app.test_client(), receipt)
        assert status == 200
        assert_inert(reporter_html, f"{where}: reporter's page")
        case_no = case_of(world, receipt)
        revealed = post(head, f"/staff/cases/{case_no}/reveal",
                        {"reveal-version": str(world.version(case_no)),
                         "reveal-reason": "核实身份"})
        assert revealed.status_code == 200, f"{where}: reveal {revealed.status_code}"
        case_html = revealed.get_data(as_text=True)
        assert_inert(case_html, f"{where}: handler's page")
        for field in ("facts", "witnesses", "event_time", "event_place", "persons-0-name",
                      "persons-0-unit", "persons-0-post"):
            assert_shown_escaped(case_html, clean(report[field]), f"{where}: handler {field}")
            assert_shown_escaped(reporter_html, clean(report[field]),
                                 f"{where}: reporter {field}")
        for field in ("reporter_name", "reporter_unit"):
            assert_shown_escaped(case_html, clean(report[field]), f"{where}: identity")
    assert not consistency_problems(world.app)


def test_messages_notes_and_replies_show_attacks_escaped(world: World) -> None:
    """The reporter's reply, the handler's message and note, each carrying every attack (one
    per line): shown escaped to the handler, the reply and message to the reporter, the note
    never to the reporter."""
    corpus = "\n".join(v for _k, v in attacks(world))
    texts = {"reply": f"补充：\n{corpus}", "message": f"请说明：\n{corpus}",
             "note": f"内部：\n{corpus}"}
    case_no, receipt = world.file_case()
    head = world.clients["dichead"]
    for route in ("message", "note"):
        sent = post(head, f"/staff/cases/{case_no}/{route}",
                    {f"{route}-version": str(world.version(case_no)),
                     f"{route}-text": texts[route]})
        assert sent.status_code == 303, f"{route} → {sent.status_code}"
    reporter = world.app.test_client()
    assert open_reporter(reporter, receipt)[0] == 200
    body, content_type = multipart([("csrf_token", token(reporter)),
                                    ("text", texts["reply"])], [])
    replied = reporter.post("/report/case/reply", data=body, content_type=content_type,
                            follow_redirects=True)
    assert replied.status_code == 200
    reporter_html = replied.get_data(as_text=True)
    assert_inert(reporter_html, "reporter's page")
    case_html = shown(head, f"/staff/cases/{case_no}", "handler's page")
    for name in ("reply", "message"):
        assert_shown_escaped(case_html, clean(texts[name]), f"handler {name}")
        assert_shown_escaped(reporter_html, clean(texts[name]), f"reporter {name}")
    assert_shown_escaped(case_html, clean(texts["note"]), "note")
    assert str(escape(clean(texts["note"]))) not in reporter_html, "note shown to the reporter"


# --- text in notices ---------------------------------------------------------------------------

NOTICE_TEXT_FIELDS = ("title", "issuer", "letter_address", "visit_address", "persons-0-name",
                      "persons-0-native_place", "persons-0-education",
                      "persons-0-current_post", "persons-0-proposed_post", "persons-0-resume")
NOTICE_LIMITS = {"issuer": 100, "persons-0-name": 50, "persons-0-native_place": 100,
                 "persons-0-education": 100}


def _publish_via_pages(world: World, fields: dict[str, str], where: str) -> int:
    ed1, ed2 = world.clients["ed1"], world.clients["ed2"]
    created = post(ed1, "/staff/publicity/new", {**world.notice_form(), **fields})
    assert created.status_code == 303, f"{where}: {created.get_data(as_text=True)[-2500:]}"
    notice_id = int(created.headers["Location"].split("?")[0].rstrip("/").rsplit("/", 1)[-1])
    world.record(notice_id)  # the batch's compliance record (by ed1); then the version
    with world.session() as s:
        version = s.get(Notice, notice_id).version
    approved = post(ed2, f"/staff/publicity/{notice_id}/approve", {"version": str(version)})
    assert approved.status_code == 303
    with world.session() as s:
        assert s.get(Notice, notice_id).status == "approved", where
    return notice_id


ATOM = "{http://www.w3.org/2005/Atom}"


def assert_feed_inert(feed: TestResponse, title: str, where: str) -> None:
    """The feed is well-formed Atom whose elements are all Atom's own, the title comes back
    as text, and the HTML that readers render from each entry's content is inert."""
    assert feed.mimetype == "application/atom+xml"
    root = SafeET.fromstring(feed.data)
    assert all(str(el.tag).startswith(ATOM) for el in root.iter()), f"{where}: foreign element"
    assert title in [el.text for el in root.iter(f"{ATOM}title")], f"{where}: feed title"
    for content in root.iter(f"{ATOM}content"):
        assert content.get("type") in ("html", "text", None)
        if content.get("type") == "html":
            assert_inert(content.text or "", f"{where}: feed content")


def test_notice_fields_show_attacks_escaped_on_public_and_editor_pages(world: World) -> None:
    """Each visible attack in each free-text field of a notice (one notice per attack), edited
    and approved through the editor pages: the public notice, the list, the archive search
    (which also echoes the query), the Atom feed, the API and the editor's pages show it
    escaped. (Invisible characters are refused: next test.)"""
    public, ed1 = world.app.test_client(), world.clients["ed1"]
    titles = []
    for key, attack in attacks(world):
        if key in INVISIBLE_ATTACKS:
            continue
        where = f"notice attack {key}"
        fields = {f: attack[:NOTICE_LIMITS.get(f, 200)] for f in NOTICE_TEXT_FIELDS}
        notice_id = _publish_via_pages(world, fields, where)
        expected = {f: (v.strip() if f == "persons-0-resume" else one_line(v))
                    for f, v in fields.items()}
        titles.append(expected["title"])
        for client, path in ((public, f"/notices/{notice_id}"),
                             (ed1, f"/staff/publicity/{notice_id}")):
            html = shown(client, path, where)
            for field, value in expected.items():
                if field != "persons-0-resume" or client is public:
                    assert_shown_escaped(html, value, f"{where}: {path} {field}")
        query = expected["persons-0-name"][:20]
        archive = shown(public, f"/notices/archive?{urlencode({'q': query})}", where)
        assert_shown_escaped(archive, expected["title"], f"{where}: archive")
        assert public.get(f"/api/notices/{notice_id}").get_json()["title"] == expected["title"]
    listing, editors = shown(public, "/notices", "list"), shown(ed1, "/staff/publicity/", "list")
    feed = public.get("/notices/feed.atom")
    for title in titles:
        assert_shown_escaped(listing, title, "public list")
        assert_shown_escaped(editors, title, "editors' list")
        assert_feed_inert(feed, title, "feed")


def test_invisible_characters_in_a_notice_are_refused(world: World) -> None:
    """Bidi overrides and zero-width characters in a notice: 400, a message beside the field,
    the typed value echoed escaped, nothing written."""
    ed1 = world.clients["ed1"]
    for key in INVISIBLE_ATTACKS:
        where = f"notice attack {key}"
        before = snapshot(world.app)
        response = post(ed1, "/staff/publicity/new?lang=en",
                        {**world.notice_form(), "title": TEXT_ATTACKS[key]})
        assert_clear_refusal(response, "en", where)
        assert "invisible" in response.get_data(as_text=True)
        assert_unchanged(world.app, before, where=where)


# --- administration ----------------------------------------------------------------------------


def test_admin_fields_refuse_or_escape_attacks(world: World) -> None:
    """Usernames refuse markup (echoed escaped); an e-mail with markup in a quoted local part
    is refused or shown escaped; an escalation queue name and dispositions with markup are
    shown escaped on the routing page and on the case page that offers them."""
    admin = world.clients["admin"]
    for key, attack in attacks(world):
        where = f"admin attack {key}"
        check_email = key in MARKUP_ATTACKS or world.kind != "sqlite"
        before = snapshot(world.app)
        created = post(admin, "/staff/admin/accounts", {"username": attack,
                                                        "roles": "supervisor"})
        assert_clear_refusal(created, "", where)
        html = created.get_data(as_text=True)
        assert_inert(html, where, invisible=False)
        assert_shown_escaped(html, attack.strip(), where)
        assert_unchanged(world.app, before, where=where)
        if not check_email:
            continue
        email = f'"{attack}"@example.gov.cn'
        saved = post(admin, f"/staff/admin/accounts/{world.victim()}/email", {"email": email})
        assert saved.status_code in (303, 400), where
        html = shown(admin, "/staff/admin/", where) if saved.status_code == 303 \
            else saved.get_data(as_text=True)
        assert_inert(html, where, invisible=saved.status_code == 303)
    markup = [v for k, v in attacks(world) if k in MARKUP_ATTACKS][:4]
    name = f"上级{markup[0]}"[:100]
    escalation = post(admin, "/staff/admin/routing/escalation",
                      {"name_zh": name, "name_en": markup[-1][:100]})
    assert escalation.status_code in (303, 400)
    routing = shown(admin, "/staff/admin/routing/", "routing")
    if escalation.status_code == 303:
        assert_shown_escaped(routing, name, "escalation queue name")
    dic = world.queue_id("dic")
    lines = ["谈话函询 | Talk or written inquiry", *(f"处置{v} | {v}" for v in markup)]
    settings = post(admin, f"/staff/admin/routing/queues/{dic}", {
        f"q{dic}-dispositions": "\n".join(lines), f"q{dic}-decision_days": "15",
        f"q{dic}-transfer_days": "5", f"q{dic}-conclusion_days": "60",
        f"q{dic}-notice_days": "15"})
    assert settings.status_code == 303, settings.get_data(as_text=True)[-1500:]
    case_no = world.case("received")
    head = world.clients["dichead"]
    case_html = shown(head, f"/staff/cases/{case_no}", "dispositions")
    for value in markup:
        assert_shown_escaped(case_html, f"处置{value}", "disposition option")
    accepted = post(head, f"/staff/cases/{case_no}/accept", {
        "accept-version": str(world.version(case_no)), "accept-disposition": f"处置{markup[0]}"})
    assert accepted.status_code == 303
    assert_shown_escaped(shown(head, f"/staff/cases/{case_no}", "accepted"),
                         f"处置{markup[0]}", "disposition shown")


# --- query strings -----------------------------------------------------------------------------


def test_query_strings_never_reflect_markup(world: World) -> None:
    """Every page that reads its query string, with markup in every parameter."""
    for query in QUERIES:
        client = world.app.test_client() if query.sender == "public" \
            else world.clients[query.sender]
        for key in REFLECTED if world.kind == "sqlite" else REFLECTED[:1]:
            attack = TEXT_ATTACKS[key]
            path = f"{query.path}?{urlencode({p: attack for p in query.params})}"
            response = client.get(path)
            where = f"GET {path}"
            assert response.status_code < 500, where
            if response.status_code >= 400:
                assert_clear_refusal(response, "", where)
            if response.mimetype in ("text/html", "image/svg+xml", "text/csv"):
                assert_inert(response.get_data(as_text=True), where)


# --- NUL and bytes that are not UTF-8, in every form ---------------------------------------------


def test_nul_and_invalid_utf8_in_every_form_are_refused(world: World) -> None:
    """Every POST route of the portal, its sender and its valid form, with NUL in every field,
    then with each kind of invalid UTF-8 (overlong '<', stray continuation, lone surrogate,
    truncated sequence) in one field: a clear 400 in the asker's language, nothing written."""
    sender = Sender(world)
    raw = list(RAW_ATTACKS.values())
    for i, target in enumerate(TARGETS.values()):
        lang = ("", "en")[i % 2]
        client = sender.client(target.sender)
        aim = target.aim(world)
        path = aim.path.format(aim.ident)
        path += ("&" if "?" in path else "?") + "lang=en" if lang else ""
        token = sender.token(client)
        names = sorted(aim.fields) or ["x"]
        nul = [("csrf_token", token), *((n, NUL_ATTACK) for n in names)]
        encoded = "&".join(f"{n}={v}".replace("\x00", "%00") for n, v in nul).encode()
        bad_bytes = f"csrf_token={token}&{names[0]}=".encode() + raw[i % len(raw)]
        broken_part, content_type = multipart([("csrf_token", token),
                                               (names[0], b"\xc0\xbc\xff")], [])
        variants = [("NUL", encoded, "application/x-www-form-urlencoded"),
                    ("invalid UTF-8", bad_bytes, "application/x-www-form-urlencoded"),
                    ("invalid UTF-8 in multipart", broken_part, content_type)]
        # NUL everywhere, then one kind of bytes that are not UTF-8 (urlencoded and multipart
        # by turns); on PostgreSQL, NUL (which it cannot store) stands for the rest.
        chosen = [variants[0], variants[1 + i % 2]] if world.kind == "sqlite" else variants[:1]
        before = snapshot(world.app)
        for how, data, kind in chosen:
            where = f"{target.endpoint}: {how}"
            response = client.post(path, data=data, content_type=kind)
            assert response.status_code == 400, f"{where}: {response.status_code}"
            assert_clear_refusal(response, lang, where)
        assert_unchanged(world.app, before, target.audited_refusals, target.endpoint)
    assert audit_chain_ok(world.app)


# --- hostile files -----------------------------------------------------------------------------


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


FILE_LINK = re.compile(r'<a href="/staff/cases/([^/"]+)/files/(\d+)" download>([^<]*)</a>')


def assert_download_name(name: str, where: str) -> None:
    """The saved file's name is the portal's own (case number, file, sniffed extension):
    nothing of what the client called the file reaches the header."""
    assert re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z._-]{0,80}", name), f"{where}: {name!r}"


def _downloads(world: World, case_no: str) -> list[tuple[str, TestResponse]]:
    """Every evidence link of the handler's case page: (the name shown, the download)."""
    head = world.clients["dichead"]
    html = shown(head, f"/staff/cases/{case_no}", f"case {case_no}")
    found = []
    for link_case, file_id, text in FILE_LINK.findall(html):
        assert link_case == case_no
        found.append((htmllib.unescape(text),
                      head.get(f"/staff/cases/{case_no}/files/{file_id}")))
    return found


@ON_SQLITE
@pytest.mark.parametrize("hostile", hostile_files(), ids=lambda f: f.key)
def test_hostile_files_are_refused_or_only_downloaded(world: World,
                                                      hostile: HostileFile) -> None:
    """Refused ones name the file in the asker's language and write nothing; kept ones are
    cleaned, listed under an escaped name, and served only as attachments of an inert type;
    bombs are refused without the worker's memory growing anywhere near their size."""
    check_hostile_file(world, hostile)


@ON_POSTGRES
@pytest.mark.parametrize("hostile", [f for f in hostile_files() if f.stored or f.key in PG_FILES],
                         ids=lambda f: f.key)
def test_hostile_files_on_postgresql(world: World, hostile: HostileFile) -> None:
    """The same on PostgreSQL for the files that are stored (bytea chunks) and two refusals
    (the rest are refused before anything reaches the database)."""
    check_hostile_file(world, hostile)


def check_hostile_file(world: World, hostile: HostileFile) -> None:
    lang = "en" if len(hostile.key) % 2 else ""
    name = hostile.name.encode()
    world.dirty = True
    before = snapshot(world.app)
    peak = _peak_rss()
    response = file_report(world, {}, [(hostile.data, name)], lang)
    grown = _peak_rss() - peak
    html = response.get_data(as_text=True)
    where = f"file {hostile.key}"
    if hostile.bomb:
        assert grown < BOMB_MEMORY_BOUND, f"{where}: peak memory grew {grown // MIB} MiB"
    if not hostile.stored:
        assert response.status_code in (400, 413), f"{where}: {response.status_code}"
        assert_clear_refusal(response, lang, where)
        assert_shown_escaped(html, hostile.name, where)
        assert_unchanged(world.app, before, where=where)
        return
    assert response.status_code == 200, f"{where}: {html[-1500:]}"
    assert_inert(html, where)
    assert_shown_escaped(html, hostile.name, where)
    (shown_name, download), = _downloads(world, case_of(world, receipt_of(html)))
    assert shown_name == hostile.name
    assert_download_name(assert_download_only(download, where), where)
    data = download.data
    if hostile.key == "polyglot-jpeg-html":
        assert POLYGLOT_HTML not in data, "HTML kept in the JPEG"
        assert b"<script" not in data, "script kept in the JPEG"
        assert data.startswith(b"\xff\xd8")
        assert data.endswith(b"\xff\xd9")


def test_bombs_in_follow_up_and_registration_are_refused_the_same_way(world: World) -> None:
    """The reporter's follow-up and a handler's registration read evidence the same way."""
    bombs = [f for f in hostile_files() if f.bomb]
    reporter, _case_no = world.reporter()
    head = world.clients["dichead"]
    for bomb in bombs if world.kind == "sqlite" else bombs[1:2]:
        for client, path, fields in (
                (reporter, "/report/case/reply", {"text": "补充材料"}),
                (head, "/staff/cases/register?queue=dic", {
                    "channel": "phone", "category": str(world.category("discipline")),
                    "person_1": "李四", "facts": "来电反映局长收受购物卡。",
                    "form_token": secrets.token_hex(16)})):
            where = f"{bomb.key} via {path}"
            world.dirty = True
            before = snapshot(world.app)
            peak = _peak_rss()
            response = post(client, path, fields, [(bomb.data, bomb.name.encode())])
            assert _peak_rss() - peak < BOMB_MEMORY_BOUND, where
            assert response.status_code in (400, 413), f"{where}: {response.status_code}"
            assert_clear_refusal(response, "", where)
            assert_shown_escaped(response.get_data(as_text=True), bomb.name, where)
            assert_unchanged(world.app, before, where=where)


@ON_SQLITE
@pytest.mark.parametrize("key", list(NAME_ATTACKS), ids=list(NAME_ATTACKS))
def test_hostile_file_names_are_sanitised_everywhere(world: World, key: str) -> None:
    """A harmless text file under a hostile name: refused cleanly, or kept under a name with
    no directory, no hidden or control character, shown escaped on the filed page and the
    handler's page (and, for the worst names, the reporter's page), while the download's
    Content-Disposition and the case export's member names never carry it."""
    check_hostile_name(world, key)


@ON_POSTGRES
@pytest.mark.parametrize("key", PG_NAMES, ids=PG_NAMES)
def test_hostile_file_names_on_postgresql(world: World, key: str) -> None:
    """The same on PostgreSQL for the names most likely to differ in storage."""
    check_hostile_name(world, key)


def check_hostile_name(world: World, key: str) -> None:
    raw_name = NAME_ATTACKS[key]
    world.dirty = True
    before = snapshot(world.app)
    response = file_report(world, {}, [(b"transfer record 2026-03-01", raw_name)])
    html = response.get_data(as_text=True)
    where = f"file name {key}"
    no_injected_headers(response, where)
    if response.status_code != 200:
        assert_clear_refusal(response, "", where)
        assert_unchanged(world.app, before, where=where)
        return
    assert_inert(html, where)
    receipt = receipt_of(html)
    case_no = case_of(world, receipt)
    (name, download), = _downloads(world, case_no)
    assert_safe_name(name, where)
    assert_shown_escaped(html, name, f"{where}: filed page")
    assert_download_name(assert_download_only(download, where), where)
    no_injected_headers(download, where)
    if key not in EVERY_PAGE_NAMES:
        return
    status, reporter_html = open_reporter(world.app.test_client(), receipt)
    assert status == 200
    assert_inert(reporter_html, f"{where}: reporter's page")
    assert_shown_escaped(reporter_html, name, f"{where}: reporter's page")
    exported = post(world.clients["dichead"], f"/staff/cases/{case_no}/export",
                    {"plain-version": str(world.version(case_no))})
    assert exported.status_code == 200
    assert exported.headers["Content-Disposition"].startswith("attachment;")
    with zipfile.ZipFile(io.BytesIO(exported.data)) as archive:
        for member in archive.namelist():
            assert ".." not in member.split("/"), f"{where}: export member {member!r}"
            assert not member.startswith("/"), f"{where}: export member {member!r}"
            assert "\\" not in member, f"{where}: export member {member!r}"
            assert all(ch.isprintable() for ch in member), f"{where}: {member!r}"
        summary = archive.read("summary.html").decode()
    assert_inert(summary, f"{where}: export summary")
