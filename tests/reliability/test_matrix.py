"""Access, CSRF and hardening, route by route: every rule of ``app.url_map`` × GET/POST/PUT/
DELETE/PATCH × every role (anonymous, each role of ``portal.models.Role``, and a multi-role
account), judged against an explicit table of who is meant to reach each endpoint.

The table below is written from PRODUCT.md ("Who uses it"), not read back from the code's own
access marks, and an endpoint it does not classify fails the run. URLs carry real ids (a case in
each queue, its evidence file, a draft, a published notice and its pending correction), so a
refusal is the access check at work rather than a 404 for a row that does not exist.

A POST that must be refused carries the session's valid CSRF token, so only the access checks
can refuse it; a POST that must get through carries none, and must be stopped by the CSRF check
alone (past the access gate, no view runs, nothing changes). Every response is checked for the
security headers, cookie flags and any case content its reader may not see.

The populated portal is built once per database (module scope): building it costs more than
the hundreds of requests of a single check, and the tier has a time budget.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from casework.models import Case
from portal import crypto, db
from portal.db import Base
from portal.models import Role
from tests.intake_support import open_reporter
from tests.reliability.roles import (
    ANONYMOUS,
    MULTI,
    QUEUE_SLUGS,
    ROLE_LABELS,
    World,
    build_world,
    create_member,
    csrf_of,
    database_url,
    initialised_app,
    logged_in,
    login,
    roles_of,
    user_id,
)

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
PUBLIC, ANY_STAFF = "public", "any-staff"
STAFF_COOKIE = "portal_staff"
FORM_COOKIE = "portal_form"
CSRF_REFUSAL = "The form expired or was opened in another window"

ADMIN = frozenset({Role.admin.value})
EDITOR = frozenset({Role.publicity_editor.value})
# The dashboard shows figures and case numbers, never content; the administrator runs the
# installation and may see how it performs (casework/supervision_views.py).
VIEWERS = frozenset({Role.supervisor.value, Role.admin.value})
SUPERVISORS = frozenset({Role.supervisor.value})
QUEUE_OF: dict[str, frozenset[str]] = {
    "org": frozenset({Role.org_handler.value, Role.org_head.value}),
    "dic": frozenset({Role.dic_handler.value, Role.dic_head.value}),
    "escalation": frozenset({Role.escalation_handler.value}),
}
HEAD_OF = {"org": Role.org_head.value, "dic": Role.dic_head.value,
           "escalation": Role.escalation_handler.value}
MEMBERS = frozenset().union(*QUEUE_OF.values())
COMPLIANCE_REVIEWERS = EDITOR | {Role.org_head.value}
HEADS = frozenset(HEAD_OF.values())


@dataclass(frozen=True)
class Expect:
    """Who is meant to reach an endpoint. `scope` narrows a role list further: "case" to the
    members of the queue holding the case in the URL, "head" to the head of the queue in it."""

    who: str | frozenset[str]
    scope: str = ""


def _only(roles: frozenset[str], scope: str = "") -> Expect:
    return Expect(roles, scope)


_PUBLIC = Expect(PUBLIC)
_STAFF = Expect(ANY_STAFF)
_CASE = _only(MEMBERS, "case")

EXPECTED: dict[str, Expect] = {
    # Public pages: notices, the report form and the reporter's follow-up, staff login.
    "favicon": _PUBLIC,
    "static": _PUBLIC,
    "health.healthz": _PUBLIC,  # the load balancer's probe: a status code and nothing else
    "publicity.home": _PUBLIC,
    "publicity.notices": _PUBLIC,
    "publicity.archive": _PUBLIC,
    "publicity.notice": _PUBLIC,
    "publicity.feed": _PUBLIC,
    "publicity.api_notices": _PUBLIC,
    "publicity.api_notice": _PUBLIC,
    "intake.report": _PUBLIC,
    "intake.safety": _PUBLIC,
    "intake.check": _PUBLIC,
    "intake.follow": _PUBLIC,
    "intake.reply": _PUBLIC,
    "intake.identity": _PUBLIC,
    "intake.withdraw": _PUBLIC,
    "intake.logout": _PUBLIC,
    "auth.login": _PUBLIC,
    "auth.activate": _PUBLIC,
    "auth.activate_finish": _PUBLIC,
    # Any logged-in staff member.
    "auth.home": _STAFF,
    "auth.logout": _STAFF,
    # Administration: accounts, calendar, routing table and queue settings.
    "admin.accounts": _only(ADMIN),
    "admin.create_account": _only(ADMIN),
    "admin.reset_account": _only(ADMIN),
    "admin.deactivate_account": _only(ADMIN),
    "admin.set_roles": _only(ADMIN),
    "admin.set_email": _only(ADMIN),
    "admin.calendar": _only(ADMIN),
    # Role grants and activations wait for a second person (#21.3): another administrator or
    # the head concerned (the service narrows it further: never one's own request or account,
    # only one's own body's roles); the log of every role change is read by supervisors.
    "roles.pending": _only(ADMIN | HEADS),
    "roles.confirm": _only(ADMIN | HEADS),
    "roles.refuse": _only(ADMIN | HEADS),
    "roles.changes": _only(VIEWERS),
    "routing.routing": _only(ADMIN),
    "routing.set_route": _only(ADMIN),
    "routing.queue_settings": _only(ADMIN),
    "routing.create_escalation": _only(ADMIN),
    # Supervision: figures only.
    "supervision.dashboard": _only(VIEWERS),
    "supervision.table_csv": _only(VIEWERS),
    "supervision.chart": _only(VIEWERS),
    # Notice editing.
    "publicity_editor.index": _only(EDITOR),
    "publicity_editor.new": _only(EDITOR),
    "publicity_editor.detail": _only(EDITOR),
    "publicity_editor.edit": _only(EDITOR),
    "publicity_editor.approve": _only(EDITOR),
    "publicity_editor.correct": _only(EDITOR),
    "publicity_editor.withdraw": _only(EDITOR),
    "publicity_editor.approve_change": _only(EDITOR),
    "publicity_editor.cancel_change": _only(EDITOR),
    "publicity_editor.outcome": _only(EDITOR),
    # Appointment compliance (docs/usage.md, "Appointment compliance"): the organization
    # department's editors record a draft's batch; they and its head review it and see the drafts
    # waiting; only the head overrides a rule; administrators set terms and thresholds (and
    # cannot override); supervisors alone read the panel (unpublished persons with disciplinary
    # flags: not the administrator, who sees the dashboard's figures).
    "compliance.record": _only(EDITOR),
    "compliance.review": _only(COMPLIANCE_REVIEWERS),
    "compliance.waiting": _only(COMPLIANCE_REVIEWERS),
    "compliance.override": _only(frozenset({Role.org_head.value})),
    "compliance.admin": _only(ADMIN),
    "compliance.save_term": _only(ADMIN),
    "compliance.panel": _only(SUPERVISORS),
    "compliance.panel_csv": _only(SUPERVISORS),
    # Queue members: their own queue's list, registration and handover…
    "casework.cases": _only(MEMBERS),
    "intake_staff.register": _only(MEMBERS),
    "casework.handover": _only(MEMBERS),
    # …and only the cases their queue holds.
    "casework.case_page": _CASE,
    "casework.download": _CASE,
    "casework.accept": _CASE,
    "casework.refuse": _CASE,
    "casework.conclude": _CASE,
    "casework.signoff": _CASE,
    "casework.assign": _CASE,
    "casework.take": _CASE,
    "casework.transfer": _CASE,
    "casework.outside": _CASE,
    "casework.message": _CASE,
    "casework.note": _CASE,
    "casework.feedback": _CASE,
    "casework.close": _CASE,
    "casework.reopen": _CASE,
    "casework.extend": _CASE,
    "casework.duplicate": _CASE,
    "casework.suspend": _CASE,
    "casework.reveal": _CASE,
    "casework.export_case": _CASE,
    # Queue keys: heads, each of their own queue only.
    "queue_keys.index": _only(HEADS),
    "queue_keys.page": _only(HEADS, "head"),
    "queue_keys.grant": _only(HEADS, "head"),
    "queue_keys.revoke": _only(HEADS, "head"),
    "queue_keys.rotate": _only(HEADS, "head"),
}
# Endpoints whose <notice_id> is the draft (the others take the published notice).
DRAFT_ENDPOINTS = frozenset({"publicity_editor.approve", "publicity_editor.edit",
                             "compliance.record", "compliance.review", "compliance.override"})


# --- the populated portal, once per database -------------------------------------------------


@dataclass
class Portal:
    """The world of roles.py plus one cached, logged-in client per role label."""

    world: World
    clients: dict[str, FlaskClient] = field(default_factory=dict)

    @property
    def app(self) -> Flask:
        """The application."""
        return self.world.app

    def client(self, label: str) -> FlaskClient:
        """A client of this label, logged in once and reused."""
        if label not in self.clients:
            self.clients[label] = (self.app.test_client() if label == ANONYMOUS
                                   else logged_in(self.app, self.world.members[label]))
        return self.clients[label]


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def portal(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    """A populated portal on SQLite or PostgreSQL, with secure cookies and English pages."""
    url = database_url(request, tmp_path_factory, request.param)
    generous = "100000 per hour"
    with initialised_app(
        url, tmp_path_factory.mktemp("matrix"), secure_cookies=True, default_language="en",
        # Limits have their own tests; here they would only turn answers into 429s.
        login_failure_limit=generous, login_account_free_failures=100000,
        report_limit=generous, report_ceiling=generous, receipt_check_limit=generous,
        receipt_check_ceiling=generous, followup_limit=generous, followup_ceiling=generous,
    ) as app:
        yield Portal(build_world(app))


# --- routes and URLs -------------------------------------------------------------------------


def _rules(app: Flask) -> list[Rule]:
    """Every rule, the logout last (it ends the session the other requests use)."""
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint == "auth.logout",
                                                            r.endpoint, r.rule))
    return rules


def _value(world: World, endpoint: str, name: str, slug: str | None) -> object:
    """A real value for a URL parameter."""
    if name == "case_no" and slug:
        return world.cases[slug].case_no
    if name == "file_id" and slug:
        return world.cases[slug].file_id
    if name == "queue_slug" and slug:
        return slug
    fixed: dict[str, object] = {
        "user_id": world.victim_id,
        "request_id": world.request_id,
        "notice_id": world.draft_id if endpoint in DRAFT_ENDPOINTS else world.notice_id,
        "change_id": world.change_id,
        "person_id": world.person_id,
        "queue_id": world.queue_ids["org"],
        "category_id": world.category_id,
        "filename": "portal.css",
    }
    names = {"supervision.chart": "volume", "supervision.table_csv": "counts"}
    if name == "name" and endpoint in names:
        return names[endpoint]
    if name not in fixed:
        pytest.fail(f"{endpoint}: no real value for URL parameter <{name}>; add one")
    return fixed[name]


def _variants(world: World, rule: Rule) -> list[tuple[str, str | None]]:
    """(URL, queue slug of the case or queue in it) for a rule: one per queue when the URL
    names a case or a queue, else one."""
    scoped = {"case_no", "queue_slug"} & set(rule.arguments)
    slugs: tuple[str | None, ...] = QUEUE_SLUGS if scoped else (None,)
    out = []
    for slug in slugs:
        values = {a: _value(world, rule.endpoint, a, slug) for a in rule.arguments}
        built = rule.build(values, append_unknown=False)
        assert built is not None
        out.append((built[1], slug))
    return out


def _allowed(expect: Expect, label: str, slug: str | None) -> bool:
    roles = roles_of(label)
    if expect.who == PUBLIC:
        return True
    if label == ANONYMOUS:
        return False
    if expect.who == ANY_STAFF:
        return True
    assert isinstance(expect.who, frozenset)
    if not roles & expect.who:
        return False
    if expect.scope == "case":
        return bool(slug) and bool(roles & QUEUE_OF[str(slug)])
    if expect.scope == "head":
        return bool(slug) and HEAD_OF[str(slug)] in roles
    return True


# --- what every response must carry ----------------------------------------------------------


def hardening_problems(response: TestResponse, *, secure: bool, public: bool,
                       notice_page: bool) -> list[str]:
    """Security headers and cookie flags missing from one response (empty when all hold)."""
    h = response.headers
    problems = []
    directives: dict[str, list[str]] = {}
    for part in h.get("Content-Security-Policy", "").split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    if directives.get("default-src") != ["'self'"]:
        problems.append(f"CSP default-src {directives.get('default-src')}")
    if directives.get("frame-ancestors") != ["'none'"]:
        problems.append(f"CSP frame-ancestors {directives.get('frame-ancestors')}")
    if directives.get("object-src") != ["'none'"]:
        problems.append(f"CSP object-src {directives.get('object-src')}")
    for name, sources in directives.items():
        for source in sources:
            # Only the site itself (and inline data: images): no other origin, no wildcard,
            # no scheme source, no unsafe-* keyword.
            if source not in ("'self'", "'none'") and not (name == "img-src"
                                                            and source == "data:"):
                problems.append(f"CSP {name} allows {source}")
    expected = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                "X-Frame-Options": "DENY"}
    for header, value in expected.items():
        if h.get(header) != value:
            problems.append(f"{header}: {h.get(header)!r}")
    if secure and "max-age=" not in h.get("Strict-Transport-Security", ""):
        problems.append("no HSTS although secure cookies are on")
    if not public and "no-store" not in h.get("Cache-Control", ""):
        problems.append(f"Cache-Control {h.get('Cache-Control')!r} on a non-public page")
    cookies = h.getlist("Set-Cookie")
    if notice_page and cookies:
        problems.append(f"a public notice page set a cookie: {cookies}")
    for cookie in cookies:
        attrs = [a.strip().lower() for a in cookie.split(";")[1:]]
        if "httponly" not in attrs:
            problems.append(f"cookie without HttpOnly: {cookie}")
        if "samesite=strict" not in attrs:
            problems.append(f"cookie without SameSite=Strict: {cookie}")
        if secure and "secure" not in attrs:
            problems.append(f"cookie without Secure: {cookie}")
    return problems


def leak_problems(world: World, label: str, body: bytes) -> list[str]:
    """Case content in a response to someone outside the holding queue; any identity."""
    roles = roles_of(label)
    problems = []
    for case in world.cases.values():
        if not roles & QUEUE_OF[case.queue]:
            problems += [f"{case.queue} content {m!r}" for m in case.content_markers
                         if m.encode() in body]
        # No request of the matrix records a reason for a reveal: nobody sees an identity.
        if case.identity.encode() in body:
            problems.append(f"{case.queue} reporter identity")
    return problems


@dataclass(frozen=True)
class Target:
    """What a URL and method reach: the endpoint that answers and the queue of the case or
    queue in its URL ("" when the URL names a case that does not exist), or None for a 405."""

    endpoint: str | None
    slug: str | None = None


def _target(world: World, url: str, method: str) -> Target:
    """Route a request as the portal will (e.g. GET /staff/cases/handover is the case page of
    a case numbered "handover")."""
    adapter = world.app.url_map.bind("localhost")
    try:
        endpoint, args = adapter.match(url, method)
    except MethodNotAllowed:
        return Target(None)
    slug = None
    if "case_no" in args:
        slug = next((s for s, c in world.cases.items() if c.case_no == args["case_no"]), "")
    elif "queue_slug" in args:
        slug = str(args["queue_slug"])
    return Target(str(endpoint), slug)


def _roles(expect: Expect) -> frozenset[str]:
    """The role list of an expectation (empty for public and any-staff ones)."""
    return expect.who if isinstance(expect.who, frozenset) else frozenset()


def _allowed_at(target: Target, label: str) -> bool:
    assert target.endpoint is not None
    return _allowed(EXPECTED[target.endpoint], label, target.slug)


def _judge(world: World, label: str, target: Target, method: str,
           response: TestResponse) -> list[str]:
    status = response.status_code
    body = response.get_data()
    problems: list[str] = []
    if status >= 500:
        problems.append(f"server error {status}")
    elif target.endpoint is None:
        if status != 405:
            problems.append(f"{status} for a method the route does not take (want 405)")
    elif (target.slug == "" and label != ANONYMOUS
          and roles_of(label) & _roles(EXPECTED[target.endpoint])):
        if status != 404:  # a member asking for a case number that was never issued
            problems.append(f"{status} for a case that does not exist (want 404)")
    elif _allowed_at(target, label) and method == "POST":
        # Sent without a token: past the access gate, only the CSRF check may stop it.
        if status != 400 or CSRF_REFUSAL.encode() not in body:
            problems.append(f"allowed POST answered {status}, not the CSRF refusal")
    elif _allowed_at(target, label):
        if status in (401, 403, 404, 405):
            problems.append(f"allowed but refused with {status}")
    elif label == ANONYMOUS and method == "GET":
        location = response.headers.get("Location", "")
        if status != 302 or not location.startswith("/staff/login"):
            problems.append(f"anonymous GET answered {status} {location!r}, not the login "
                            f"redirect")
    elif status not in (401, 403, 404, 405):
        problems.append(f"denied but answered {status}")
    problems += leak_problems(world, label, body)
    endpoint = target.endpoint or ""
    problems += hardening_problems(
        response, secure=True, public=endpoint in EXPECTED and EXPECTED[endpoint].who == PUBLIC,
        notice_page=endpoint.startswith("publicity.") and method == "GET")
    return problems


# --- the matrix -------------------------------------------------------------------------------


def test_the_table_classifies_every_endpoint(portal: Portal) -> None:
    endpoints = {r.endpoint for r in portal.app.url_map.iter_rules()}
    unclassified = sorted(endpoints - set(EXPECTED))
    stale = sorted(set(EXPECTED) - endpoints)
    assert unclassified == [], f"classify these endpoints in EXPECTED: {unclassified}"
    assert stale == [], f"these endpoints no longer exist: {stale}"


UNROUTED_LABELS = (ANONYMOUS, MULTI)


# Run on SQLite only, for the tier's time budget (the matrix is most of it). What depends on
# the database in these decisions (finding the session and the case by number) runs on
# PostgreSQL too, in the other tests of this module: CSRF, other queues' cases, sessions.
@pytest.mark.parametrize("portal", ["sqlite"], indirect=True)
def test_every_route_role_and_method(portal: Portal) -> None:
    """Allowed POSTs go without a token (only the CSRF check may stop them); refused ones
    carry the session's valid token (only the access checks may stop them)."""
    world = portal.world
    rules = _rules(portal.app)
    assert not {r.endpoint for r in rules} - set(EXPECTED), "see the classification test"
    requests = []
    for rule in rules:
        for n, (url, _slug) in enumerate(_variants(world, rule)):
            for method in METHODS:
                target = _target(world, url, method)
                # A method a route does not take is refused by the URL map before the access
                # gate reads any cookie: one URL per rule (its ids cannot matter), sent with
                # no session and with the multi-role one, shows it.
                if target.endpoint is None and n > 0:
                    continue
                requests.append((rule, url, method, target))
    failures: list[str] = []
    allowed = refused = 0
    for label in ROLE_LABELS:
        client = portal.client(label)
        token = csrf_of(client, "/staff/login")
        for rule, url, method, target in requests:
            if target.endpoint is None and label not in UNROUTED_LABELS:
                continue
            if rule.endpoint == "auth.logout" and label != ANONYMOUS and method == "POST":
                # Still logged in after every other request of this role; the logout is last.
                assert client.get("/staff/").status_code == 200, label
            ok = target.endpoint is not None and _allowed_at(target, label)
            data = {"csrf_token": token} if method == "POST" and not ok else None
            response = client.open(url, method=method, data=data)
            allowed += ok
            refused += not ok
            failures += [f"{label} {method} {url} [{target.endpoint}]: {p}"
                         for p in _judge(world, label, target, method, response)]
            response.close()
        # The logout (run last, without a token) was refused: the session is still alive.
        portal.clients.pop(label)
        if label != ANONYMOUS:
            assert client.get("/staff/").status_code == 200, f"{label} was logged out"
            logout = client.post("/staff/logout", data={"csrf_token": token})
            assert logout.status_code == 303
            assert client.get("/staff/").status_code == 302, f"{label} still logged in"
            failures += [f"{label} logout: {p}" for p in hardening_problems(
                logout, secure=True, public=False, notice_page=False)]
    assert not failures, f"{len(failures)} problem(s):\n" + "\n".join(failures[:80])
    # Every role met every routed rule and method, and the table is not degenerate.
    unrouted = sum(target.endpoint is None for _r, _u, _m, target in requests)
    assert unrouted >= len(rules) * 3
    assert allowed + refused == (len(ROLE_LABELS) * (len(requests) - unrouted)
                                 + len(UNROUTED_LABELS) * unrouted)
    assert allowed >= 300
    assert refused >= 1000


# --- CSRF ---------------------------------------------------------------------------------------


def snapshot(app: Flask) -> dict[str, str]:
    """A digest of every table's rows (a session's last-seen touch aside)."""
    digests = {}
    with app.app_context():
        session = db.session()
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns
                       if (table.name, c.name) != ("staff_session", "last_seen_at")]
            rows = session.execute(select(*columns).order_by(*table.primary_key.columns)).all()
            digests[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return digests


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The tables whose rows differ between two snapshots."""
    return sorted(t for t in before if before[t] != after.get(t))


def _first_allowed(rule: Rule, slug: str | None) -> str:
    """An anonymous visitor for public routes, else the first single role allowed."""
    expect = EXPECTED[rule.endpoint]
    return next(label for label in ROLE_LABELS if _allowed(expect, label, slug))


def test_every_post_refuses_a_missing_or_foreign_csrf_token(portal: Portal) -> None:
    world, app = portal.world, portal.app
    # Tokens an attacker can hold: one from an anonymous session, one from their own staff
    # session (here the supervisor's).
    foreign = {"anonymous": csrf_of(app.test_client(), "/report"),
               "other staff": csrf_of(portal.client(Role.supervisor.value), "/staff/login")}
    # A reporter session, so the follow-up routes are refused for the token alone.
    reporter = app.test_client()
    assert open_reporter(reporter, world.cases["org"].receipt)[0] == 200
    # A login with correct credentials and a current code, but no token of its session.
    member = create_member(app, f"u{world.salt}-csrf", Role.supervisor.value)
    code = pyotp.TOTP(member.totp_secret).now()
    checked = 0
    failures: list[str] = []
    posts = [(rule, url, _first_allowed(rule, slug)) for rule in _rules(app)
             if "POST" in (rule.methods or set()) for url, slug in _variants(world, rule)]
    for _rule, _url, label in posts:
        if label != ANONYMOUS:
            portal.client(label)  # logged in before the digest: a login changes the database
    before = snapshot(app)
    for rule, url, label in posts:
        client = (reporter if rule.endpoint.startswith("intake.")
                  else app.test_client() if label == ANONYMOUS else portal.client(label))
        # Everything a real submission carries, except a token of this session.
        data = {"username": member.username, "passphrase": member.passphrase, "totp": code,
                "receipt": world.cases["org"].receipt, "text": "x", "reason": "x"}
        # No token, and a token from another session (an anonymous and a staff one in turn).
        other = sorted(foreign)[checked // 2 % 2]
        for what, token in (("no token", None), (other, foreign[other])):
            sent = {**data, "csrf_token": token} if token else data
            response = client.post(url, data=sent)
            where = f"{label} POST {url} [{rule.endpoint}] with {what}"
            # The CSRF refusal itself: the view never ran.
            if response.status_code != 400 or CSRF_REFUSAL not in response.get_data(
                    as_text=True):
                failures.append(f"{where}: answered {response.status_code}")
            checked += 1
    # Nothing at all changed (a digest of every row of every table, before and after).
    failures += [f"table {t} changed" for t in changed_tables(before, snapshot(app))]
    assert not failures, "\n".join(failures)
    assert checked >= 2 * 45
    # The login above was refused for its token alone: the code was never spent.
    assert login(app.test_client(), member, code).status_code == 303


# --- sessions ----------------------------------------------------------------------------------


def _cookie(client: FlaskClient, name: str, path: str) -> str | None:
    cookie = client.get_cookie(name, path=path)
    return cookie.value if cookie else None


def test_session_id_changes_at_login_and_a_planted_one_is_worthless(portal: Portal) -> None:
    app = portal.app
    member = create_member(app, f"u{portal.world.salt}-fixation", Role.supervisor.value)
    client = app.test_client()
    # An attacker plants a session cookie of their choosing before the victim logs in…
    planted = crypto.b64(crypto.random_bytes(64))
    client.set_cookie(STAFF_COOKIE, planted, path="/staff")
    pre_login_token = csrf_of(client, "/staff/login")
    form_before = _cookie(client, FORM_COOKIE, "/")
    assert form_before
    assert login(client, member).status_code == 303
    after = _cookie(client, STAFF_COOKIE, "/staff")
    # …the login replaces it with a new random id, and the form session (which holds the CSRF
    # secret) is renewed too.
    assert after
    assert after != planted
    assert _cookie(client, FORM_COOKIE, "/") != form_before
    assert client.get("/staff/").status_code == 200
    # The planted value authenticates nothing.
    attacker = app.test_client()
    attacker.set_cookie(STAFF_COOKIE, planted, path="/staff")
    assert attacker.get("/staff/").status_code == 302
    # A CSRF token obtained before the login (by whoever planted the session) is dead.
    response = client.post("/staff/logout", data={"csrf_token": pre_login_token})
    assert response.status_code == 400
    assert client.get("/staff/").status_code == 200
    # A second login gives yet another id; the first session stays the first one's.
    second = app.test_client()
    assert login(second, member).status_code == 303
    assert _cookie(second, STAFF_COOKIE, "/staff") not in (None, after, planted)


# --- other queues' cases ------------------------------------------------------------------------


def _case_version(app: Flask, case_no: str) -> int:
    with app.app_context():
        return db.session().scalars(select(Case.version)
                                    .where(Case.case_no == case_no)).one()


def _attack_form(token: str, version: int, own_queue: int) -> dict[str, str]:
    """What a member would send to act on a case, including a transfer into their own queue."""
    data = {"csrf_token": token}
    for prefix in ("accept", "refuse", "conclude", "signoff", "assign", "transfer", "outside",
                   "message", "note", "reopen", "reveal", "feedback", "extend", "duplicate",
                   "plain"):
        data[f"{prefix}-version"] = str(version)
    data.update({"accept-disposition": "核查", "transfer-queue": str(own_queue),
                 "transfer-reason": "移交本机关办理", "message-text": "请补充材料",
                 "note-text": "内部意见", "reveal-reason": "核查需要", "reopen-reason": "重新核查",
                 "refuse-reason": "other", "refuse-answer": "不予受理",
                 "conclude-finding": "true", "conclude-answer": "已办结"})
    return data


ATTACKERS = (Role.org_handler.value, Role.dic_head.value, MULTI)


def _without(text: str, case_no: str) -> str:
    return text.replace(case_no, "<case>")


def test_a_member_cannot_reach_another_queues_case(portal: Portal) -> None:
    world, app = portal.world, portal.app
    with app.test_request_context():
        case_rules = [r for r in app.url_map.iter_rules()
                      if "case_no" in r.arguments and r.endpoint != "casework.download"]
    never_issued = "2026-99999"
    checked = 0
    labels = (*sorted(MEMBERS), MULTI)
    for label in labels:
        portal.client(label)  # logged in before the digest: a login changes the database
    before = snapshot(app)
    for label in labels:
        roles = roles_of(label)
        own = next(s for s in QUEUE_SLUGS if roles & QUEUE_OF[s])
        client = portal.client(label)
        token = csrf_of(client, "/staff/login")
        ghost = client.get(f"/staff/cases/{never_issued}")
        assert ghost.status_code == 404
        for slug, case in world.cases.items():
            if roles & QUEUE_OF[slug]:
                continue
            # Guessing the number: the same answer as for a number never issued.
            page = client.get(f"/staff/cases/{case.case_no}")
            assert page.status_code == 404, (label, slug)
            assert (_without(page.get_data(as_text=True), case.case_no)
                    == _without(ghost.get_data(as_text=True), never_issued)), (label, slug)
            # Acting on it with complete, well-formed forms (a transfer into the member's own
            # queue included) changes nothing. (The matrix sends every member's token to every
            # case action of every queue; here the forms are complete, for one member of each
            # queue and the multi-role account.)
            data = _attack_form(token, _case_version(app, case.case_no), world.queue_ids[own])
            for rule in case_rules if label in ATTACKERS else ():
                if "POST" not in (rule.methods or set()):
                    continue
                url = rule.build({"case_no": case.case_no}, append_unknown=False)
                assert url is not None
                response = client.post(url[1], data=data)
                assert response.status_code == 404, (label, rule.endpoint, response.status_code)
                assert not leak_problems(world, label, response.get_data())
                checked += 1
            # Its evidence file, asked for under the member's own case number.
            own_case = world.cases[own].case_no
            stolen = client.get(f"/staff/cases/{own_case}/files/{case.file_id}")
            assert stolen.status_code == 404, (label, slug)
            assert case.file_text.encode() not in stolen.get_data()
    assert checked >= len(ATTACKERS) * 2 * 15
    assert changed_tables(before, snapshot(app)) == []
    # Searching the own list for the other cases' persons, naming the other queue.
    for label in (*sorted(MEMBERS), MULTI):
        client = portal.client(label)
        for slug, case in world.cases.items():
            if roles_of(label) & QUEUE_OF[slug]:
                continue
            found = client.get("/staff/cases/", query_string={"queue": slug,
                                                               "name": case.person})
            assert found.status_code == 200
            # The list echoes the name typed into its search box, and shows nothing else.
            body = found.get_data(as_text=True).replace(f'value="{case.person}"', "")
            assert case.case_no not in body, (label, slug)
            assert not leak_problems(world, label, body.encode())


def test_the_matrix_data_is_real(portal: Portal) -> None:
    """The ids in the URLs exist: members read their own case, evidence file included."""
    world = portal.world
    for slug, case in world.cases.items():
        label = HEAD_OF[slug]
        client = portal.client(label)
        page = client.get(f"/staff/cases/{case.case_no}")
        assert page.status_code == 200
        assert case.facts in page.get_data(as_text=True)
        assert case.identity not in page.get_data(as_text=True)
        download = client.get(f"/staff/cases/{case.case_no}/files/{case.file_id}")
        assert download.status_code == 200
        assert case.file_text.encode() in download.get_data()
    assert Path(str(world.app.static_folder), "portal.css").exists()
    assert re.fullmatch(r"\d{4}-\d{5}", world.cases["org"].case_no)


def test_a_lone_administrator_gets_no_power_by_granting_or_confirming(portal: Portal) -> None:
    """(#21.3) The escalation paths of the attack on a running instance, on the matrix's world:
    an admin asks for roles for an account he controls; before a second person confirms them,
    that account reaches none of their pages, and the admin cannot confirm them himself."""
    world, app = portal.world, portal.app
    admin = portal.client(Role.admin.value)
    mole = create_member(app, f"u{world.salt}-mole", Role.dic_handler.value)
    mole_id = user_id(app, mole.username)
    wanted = [Role.dic_handler.value, Role.publicity_editor.value, Role.org_head.value,
              Role.supervisor.value]
    token = csrf_of(admin, "/staff/admin/")
    assert admin.post(f"/staff/admin/accounts/{mole_id}/roles",
                      data={"roles": wanted, "csrf_token": token}).status_code == 303
    client = logged_in(app, mole)
    for endpoint, expect in EXPECTED.items():
        roles = _roles(expect)
        if not roles or Role.dic_handler.value in roles or expect.scope:
            continue
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        for url, _slug in _variants(world, rule):
            for method in sorted((rule.methods or set()) & {"GET", "POST"}):
                response = client.open(url, method=method, data={
                    "csrf_token": csrf_of(client, "/staff/")})
                assert response.status_code == 403, (endpoint, method)
    # The admin who asked confirms none of it, whatever request id he tries.
    with app.app_context():
        from portal.models import RoleRequest
        asked = list(db.session().scalars(select(RoleRequest.id).where(
            RoleRequest.user_id == mole_id, RoleRequest.state == "pending")))
    assert len(asked) == 3
    token = csrf_of(admin, "/staff/roles/")
    for request_id in asked:
        response = admin.post(f"/staff/roles/{request_id}/confirm", data={"csrf_token": token})
        assert response.status_code == 403
    with app.app_context():
        assert set(db.session().scalars(select(RoleRequest.state).where(
            RoleRequest.id.in_(asked)))) == {"pending"}
