"""Property-based fuzzing of every form (PRODUCT.md: bad input gets a clear message, never a
500; a refused request writes nothing).

Every POST route of the app is in TARGETS (a test fails when a new one is not), each aimed at
something real in a populated portal — a case in the right state, a draft, a pending account —
and sent by the role that uses it. Hypothesis then mutates the valid form: fields dropped,
repeated, replaced by arbitrary text, classic attacks or huge values, unknown fields added,
files of any bytes under any name, and whole bodies of raw bytes, broken multipart, JSON or
thousands of parts; with a valid CSRF token mostly, and sometimes without one. Every answer:

* is below 500 and shows no traceback;
* injects nothing into its HTML (no event handler, inline script or javascript: URL);
* redirects only within the site;
* when refused (4xx): says why, in the page language, and no table changed at all (only the
  audit log, for failed logins);
* when accepted: leaves the database consistent (each case with its report, key wraps,
  clocks and filing record; each file with all its chunks; each notice with persons...).

GET pages with query parameters (lists, filters, supervision) are fuzzed the same way and must
never write. SQLite gets the full budget; PostgreSQL a fifth of it, at least one example per
form (its ids contain "postgres"). Hypothesis is derandomized and keeps no database, so every
run sends the same requests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote_plus, urlencode

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from application import create_app
from tests.conftest import config_for_tests
from tests.intake_support import open_reporter
from tests.reliability.hostile import (
    DATABASES,
    HUGE_SIZES,
    NAME_ATTACKS,
    NUL_ATTACK,
    QUERIES,
    RAW_ATTACKS,
    TARGETS,
    TEXT_ATTACKS,
    Aim,
    Query,
    Sender,
    Snapshot,
    Target,
    World,
    assert_clear_refusal,
    assert_inert,
    assert_local_redirect,
    assert_unchanged,
    audit_chain_ok,
    consistency_problems,
    hostile_files,
    multipart,
    open_world,
    snapshot,
    token,
)

# --- strategies -------------------------------------------------------------------------------

ODD_VALUES = ["", " ", "0", "-1", "2147483648", "9" * 40, "1e308", "NaN", "true", "null",
              "[]", "{}", "２０２６-１１-３０", "2026-02-30", "0000-00-00", "9999-12-31", "\t",
              "y", "on", "%00", "\\", "dic", "org", "escalation", "supervisor", "admin"]
ODD_NAMES = ["csrf_token", "version", "lang", "files", "persons-99-name", "persons-0-name",
             "persons--1-name", "persons-99999999999999999999-name", "__proto__", "homepage",
             "accept-version", "plain-version", "roles", "add_person", "remove_person",
             "persons-3-name", "next"]
FILE_SAMPLES = [f.data for f in hostile_files() if len(f.data) < 100_000] + [
    b"plain evidence text", b"", b"\x89PNG\r\n\x1a\n", b"%PDF-1.7\n", b"PK\x03\x04",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), b"\xff\xd8\xff"]


Drawn = str | tuple[int, str]  # a value, or (length, character) of a huge one

# Strategies are built once: building them per example costs more than drawing from them.
ONE_VALUE: st.SearchStrategy[Drawn] = st.one_of(
    st.text(max_size=40),
    st.sampled_from([*TEXT_ATTACKS.values(), NUL_ATTACK]),
    st.sampled_from(ODD_VALUES),
    # Drawn as (length, character), so that Hypothesis does not pretty-print megabytes.
    st.tuples(st.sampled_from(HUGE_SIZES), st.sampled_from(["x", "字", "<", "\n"])),
)
ONE_VALUE_LIST = ONE_VALUE.map(lambda v: [v])
EXTRA_PAIRS = st.lists(st.tuples(st.one_of(st.sampled_from(ODD_NAMES),
                                           st.text(min_size=1, max_size=12)), ONE_VALUE),
                       max_size=2)


def real(value: Drawn) -> str:
    return value[1] * value[0] if isinstance(value, tuple) else value


def field_values(valid: list[str]) -> st.SearchStrategy[list[Drawn]]:
    keep: st.SearchStrategy[Drawn] = st.sampled_from(valid) if valid else ONE_VALUE
    return st.one_of(st.just([]), ONE_VALUE_LIST,
                     st.lists(st.one_of(keep, ONE_VALUE), min_size=2, max_size=3))


def urlencoded(pairs: list[tuple[str, Drawn]]) -> bytes:
    """The form body; a huge value is escaped once per character kind, not per character."""
    def one(value: Drawn) -> str:
        if isinstance(value, tuple):
            return quote_plus(value[1]) * value[0]
        return quote_plus(value)
    return "&".join(f"{quote_plus(k)}={one(v)}" for k, v in pairs).encode()


FileDraw = tuple[bytes | int, bytes]  # (bytes, or the index of a sample file; file name)


FILE_PARTS: st.SearchStrategy[list[FileDraw]] = st.lists(st.tuples(
    st.one_of(st.binary(max_size=80), st.integers(0, len(FILE_SAMPLES) - 1)),
    st.one_of(st.sampled_from(list(NAME_ATTACKS.values())),
              st.text(max_size=20).map(lambda s: s.encode()), st.just(b"evidence.txt"))),
    max_size=3)


def real_files(drawn: list[FileDraw]) -> list[tuple[bytes, bytes]]:
    return [(FILE_SAMPLES[c] if isinstance(c, int) else c, n) for c, n in drawn]


# --- sending ----------------------------------------------------------------------------------

@dataclass
class Sent:
    """What one example sent, for the checks and for the failure message."""

    method: str
    path: str
    lang: str
    mode: str
    summary: str


def _lang_suffix(path: str, lang: str) -> str:
    if not lang:
        return path
    return f"{path}{'&' if '?' in path else '?'}lang={lang}"


HOSTILE_IDS = ["0", "-1", "2147483648", "99999999999999999999", "..%2F..%2Fetc", "%00",
               "a" * 300, "%E2%80%AE1", "2026-00001%27--", "<script>"]


def draw_request(data: st.DataObject, target: Target, aim: Aim, token: str
                 ) -> tuple[dict[str, object], Sent]:
    """Draw one request from the valid form: returns client.open() arguments."""
    lang = data.draw(st.sampled_from(["", "", "en", "zh", "xx"]), label="lang")
    ident = aim.ident
    if aim.ident and data.draw(st.integers(0, 9), label="hostile id?") == 0:
        ident = data.draw(st.sampled_from(HOSTILE_IDS), label="id")
    path = _lang_suffix(aim.path.format(ident), lang)
    csrf = data.draw(st.sampled_from(["valid"] * 7 + ["missing", "bogus", "twice"]),
                     label="csrf")
    pairs: list[tuple[str, Drawn]] = []
    if csrf == "valid":
        pairs.append(("csrf_token", token))
    elif csrf == "bogus":
        pairs.append(("csrf_token", real(data.draw(ONE_VALUE, label="bogus token"))))
    elif csrf == "twice":
        pairs += [("csrf_token", data.draw(st.text(max_size=10))), ("csrf_token", token)]
    names = sorted(aim.fields)
    changed = data.draw(st.sets(st.sampled_from(names)), label="changed") if names else set()
    for name in names:
        values = data.draw(field_values(aim.fields[name]), label=name) if name in changed \
            else aim.fields[name]
        pairs += [(name, v) for v in values]
    pairs += data.draw(EXTRA_PAIRS, label="extra")
    if data.draw(st.booleans(), label="shuffle"):
        pairs = data.draw(st.permutations(pairs), label="order")
    modes = ["form"] * 6 + ["raw", "broken", "json", "parts"]
    mode = data.draw(st.sampled_from(modes), label="mode")
    summary = f"csrf={csrf} changed={sorted(changed)} pairs={_short(pairs)}"
    kwargs: dict[str, object]
    if mode == "form":
        as_multipart = target.multipart != data.draw(st.integers(0, 4), label="swap") == 0
        if as_multipart:
            files = real_files(data.draw(FILE_PARTS, label="files")) if target.multipart else []
            body, content_type = multipart([(k, real(v)) for k, v in pairs], files)
            summary += f" files={[(len(d), n[:40]) for d, n in files]}"
        else:
            body, content_type = urlencoded(pairs), "application/x-www-form-urlencoded"
        kwargs = {"data": body, "content_type": content_type}
    elif mode == "raw":
        junk = data.draw(st.one_of(st.binary(max_size=300),
                                   st.sampled_from(list(RAW_ATTACKS.values()))), label="raw")
        name = data.draw(st.sampled_from(names or ["x"]), label="raw field")
        body = f"csrf_token={token}&{name}=".encode() + junk
        kwargs = {"data": body, "content_type": "application/x-www-form-urlencoded"}
        summary += f" raw={junk[:60]!r}"
    elif mode == "broken":
        body, content_type = multipart([(k, real(v)) for k, v in pairs],
                                       real_files(data.draw(FILE_PARTS, label="files")))
        cut = data.draw(st.integers(0, len(body)), label="cut")
        how = data.draw(st.sampled_from(["truncate", "junk", "boundary", "lf", "no-type"]),
                        label="breakage")
        if how == "truncate":
            body = body[:cut]
        elif how == "junk":
            body = body[:cut] + data.draw(st.binary(min_size=1, max_size=40)) + body[cut:]
        elif how == "boundary":
            content_type = "multipart/form-data; boundary=" + data.draw(
                st.sampled_from(["", "x" * 300, "\"unterminated", "other", "a;b=c"]))
        elif how == "lf":
            body = body.replace(b"\r\n", b"\n")
        else:
            content_type = "multipart/form-data"
        kwargs = {"data": body, "content_type": content_type}
        summary += f" broken={how}@{cut}"
    elif mode == "json":
        kwargs = {"data": json.dumps({k: real(v) for k, v in pairs}),
                  "content_type": "application/json",
                  "headers": {"X-CSRFToken": token}}
    else:
        count = data.draw(st.sampled_from([1_001, 5_000]), label="parts")
        many = [*((k, real(v)) for k, v in pairs), *(("persons-0-name", "x") for _ in range(count))]
        body, content_type = multipart(many, [])
        kwargs = {"data": body, "content_type": content_type}
        summary += f" parts={count}"
    return kwargs, Sent("POST", path, lang, mode, summary)


def _short(pairs: Sequence[tuple[str, Drawn]]) -> str:
    def show(v: Drawn) -> str:
        if isinstance(v, tuple):
            return f"<{v[0]} × {v[1]!r}>"
        return v[:40] + ("…" if len(v) > 40 else "")
    return repr([(k[:30], show(v)) for k, v in pairs])[:1500]


# --- the checks -------------------------------------------------------------------------------


class Checker:
    """Snapshots around each request (reused while nothing else wrote) and the assertions."""

    def __init__(self, world: World) -> None:
        self.w = world
        self.last: Snapshot | None = None

    def before(self) -> Snapshot:
        if self.w.dirty or self.last is None:
            self.last = snapshot(self.w.app)
            self.w.dirty = False
        return self.last

    def after(self, response: TestResponse, sent: Sent, before: Snapshot,
              audited: frozenset[str] = frozenset(), writes: bool = True) -> None:
        where = f"{sent.method} {sent.path} [{sent.mode}] → {response.status_code}; " \
                f"{sent.summary}"
        status = response.status_code
        assert status < 500, f"{where}\n{response.get_data(as_text=True)[-2000:]}"
        assert b"Traceback" not in response.data, where
        if response.mimetype == "text/html":
            assert_inert(response.get_data(as_text=True), where, invisible=False)
        assert_local_redirect(response, where)
        if status >= 400 or not writes:
            if status >= 400:
                assert_clear_refusal(response, sent.lang, where)
            assert_unchanged(self.w.app, before, audited, where)
            return
        problems = consistency_problems(self.w.app)
        assert not problems, f"{where}: {problems}"
        self.w.dirty = True


# --- the world ----------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=DATABASES)
def world(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with open_world(request, tmp_path_factory) as w:
        yield w


def _budget(world: World, examples: int) -> int:
    return examples if world.kind == "sqlite" else max(1, examples // 5)


def _settings(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much],
                    # No shrinking: a failure prints the whole request it sent, and shrinking
                    # through a web app would take minutes.
                    phases=(Phase.explicit, Phase.generate), print_blob=False)


# --- the tests ----------------------------------------------------------------------------------


def test_every_post_route_is_in_the_fuzz_table(tmp_path: Path) -> None:
    """A new POST route fails here until it is added to TARGETS (coverage cannot rot)."""
    app = create_app(config_for_tests(tmp_path, f"sqlite:///{tmp_path / 'routes.db'}"))
    posts = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in (rule.methods or ())}
    assert posts - set(TARGETS) == set(), "POST routes nobody fuzzes"
    assert set(TARGETS) - posts == set(), "fuzz targets that are no longer routes"
    gets = {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in (rule.methods or ())}
    assert {q.endpoint for q in QUERIES} <= gets


@pytest.mark.parametrize("target", list(TARGETS.values()), ids=list(TARGETS))
def test_fuzz_form(world: World, target: Target) -> None:
    """Mutated submissions of one form: never a 5xx, never a partial write."""
    sender, checker = Sender(world), Checker(world)

    @_settings(_budget(world, target.examples))
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        client = sender.client(target.sender, fresh=target.endpoint.startswith("auth."))
        aim = target.aim(world)
        kwargs, sent = draw_request(data, target, aim, sender.token(client))
        before = checker.before()
        response = client.open(sent.path, method="POST", **kwargs)  # type: ignore[arg-type]
        checker.after(response, sent, before, target.audited_refusals)

    run()


@pytest.mark.parametrize("query", QUERIES, ids=[q.endpoint for q in QUERIES])
def test_fuzz_query_string(world: World, query: Query) -> None:
    """Hostile query strings on list, filter and supervision pages: never a 5xx, no write."""
    sender, checker = Sender(world), Checker(world)

    @_settings(_budget(world, 5))
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        client = sender.client(query.sender)
        pairs: list[tuple[str, str]] = []
        for name, valid in query.params.items():
            pairs += [(name, real(v)) for v in data.draw(field_values([valid]), label=name)]
        pairs += [(k, real(v)) for k, v in data.draw(
            st.lists(st.tuples(st.sampled_from([*query.params, "lang", "x"]), ONE_VALUE),
                     max_size=2), label="extra")]
        if data.draw(st.booleans(), label="huge"):
            pairs.append(("q", "字" * 3000))
        query_string = urlencode([(k, v[:4000]) for k, v in pairs])
        path = f"{query.path}?{query_string}"
        lang = next((v for k, v in pairs if k == "lang"), "")
        before = checker.before()
        response = client.get(path)
        checker.after(response, Sent("GET", path[:300], lang if lang in ("en", "zh") else "",
                                     "query", _short(pairs)), before, writes=False)
        if response.status_code == 200 and query.endpoint == "supervision.table_csv":
            assert response.headers["Content-Disposition"].startswith("attachment;")
        if response.status_code == 200 and query.endpoint == "supervision.chart":
            assert b"<script" not in response.data

    run()


def test_garbage_cookies_are_clear_refusals(world: World) -> None:
    """Forged, oversized and percent-encoded-NUL cookies on public and staff forms."""
    client = world.app.test_client()
    for name, value, path in (("portal_staff", "x" * 3000, "/staff"),
                              ("portal_form", "%00" * 10, "/"),
                              ("portal_reporter", "..%2F", "/report")):
        client.set_cookie(name, value, path=path)
    checker = Checker(world)
    for path in ("/report", "/report/check", "/report/case/reply", "/staff/login",
                 "/staff/cases/2026-00001/accept", "/staff/logout"):
        before = checker.before()
        response = client.post(path, data={"csrf_token": "x"})
        checker.after(response, Sent("POST", path, "", "cookies", "garbage cookies"), before)
        assert response.status_code in (303, 400, 401)


def test_follow_up_forms_on_a_closed_case_say_why(world: World) -> None:
    """A second tab after the report was withdrawn: every follow-up form, valid or not, is
    answered with the reason (its form is gone from the page), and nothing is written."""
    _case_no, receipt = world.file_case()
    tab, other_tab = world.app.test_client(), world.app.test_client()
    assert open_reporter(tab, receipt)[0] == 200
    assert open_reporter(other_tab, receipt)[0] == 200
    body, content_type = multipart([("csrf_token", token(tab)), ("confirm", "y")], [])
    assert tab.post("/report/case/withdraw", data=body,
                    content_type=content_type).status_code == 303
    checker = Checker(world)
    world.dirty = True
    for path, fields in (("/report/case/reply", [("text", "补充")]),
                         ("/report/case/reply", [("text", "x" * 20_001)]),
                         ("/report/case/identity", [("reporter_name", "")]),
                         ("/report/case/withdraw", [])):
        before = checker.before()
        body, content_type = multipart([("csrf_token", token(other_tab)), *fields], [])
        response = other_tab.post(f"{path}?lang=en", data=body, content_type=content_type)
        checker.after(response, Sent("POST", path, "en", "closed case", repr(fields)[:80]),
                      before, writes=False)
        assert response.status_code == 303, path
        page = other_tab.get(response.headers["Location"]).get_data(as_text=True)
        assert 'class="flash error"' in page, path
        assert "nothing more can be added" in page, path


def test_the_audit_chain_survived_the_fuzzing(world: World) -> None:
    """Last of the module on each database: every entry written while fuzzing (accepted
    actions, failed logins) extends the HMAC chain; none broke it."""
    assert audit_chain_ok(world.app)
    assert not consistency_problems(world.app)
