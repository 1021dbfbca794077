"""Helpers for tests that file reports: keyed queues with members, the form, staff keys."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from tests.conftest import StaffMember

RECEIPT_RE = re.compile(r'id="receipt">([\d ]+)<')


@dataclass
class Desk:
    """An app whose two default queues have keys and one handler each."""

    app: Flask
    org: StaffMember
    dic: StaffMember
    recovery_secret: str

    def category_id(self, code: str) -> int:
        """The id of a category of the routing table."""
        from casework.models import Category
        from portal import db

        with self.app.app_context():
            found = db.session().scalar(select(Category.id).where(Category.code == code))
        assert found is not None, f"no category {code}"
        return int(found)

    def staff(self, member: StaffMember) -> Any:
        """A logged-in CurrentStaff for service-level calls (use inside an app context)."""
        from portal import accounts, db

        cookie = accounts.login(db.session(), member.username, member.passphrase,
                                member.next_code())
        staff = accounts.load_session(db.session(), cookie)
        assert staff is not None
        return staff


def make_desk(app: Flask, make_staff: Callable[..., StaffMember]) -> Desk:
    """Create one handler per default queue and run `queues init`."""
    org = make_staff("orghandler", "org_handler")
    dic = make_staff("dichandler", "dic_handler")
    result = app.test_cli_runner().invoke(args=["queues", "init"])
    assert result.exit_code == 0, result.output
    secret = re.search(r"^\s+([A-Z2-7]{4}(?:-[A-Z2-7]{1,4})+)\s*$", result.output, re.M)
    assert secret, result.output
    return Desk(app, org, dic, secret.group(1))


def form_fields(html: str) -> dict[str, str]:
    """The hidden tokens of the report form on a page."""
    fields = {}
    for name in ("csrf_token", "form_token", "notice", "person"):
        match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
        if match:
            fields[name] = match.group(1)
    return fields


def post_report(client: FlaskClient, data: dict[str, Any], *, query: str = "",
                files: list[tuple[bytes, str]] | None = None) -> tuple[int, str]:
    """GET the form, then POST it with the given fields (and files); return status and HTML."""
    page = client.get(f"/report{query}").get_data(as_text=True)
    payload: dict[str, Any] = {**form_fields(page), "concerns_leader": "no", **data}
    return post_multipart(client, "/report", payload, files)


def post_multipart(client: FlaskClient, path: str, payload: dict[str, Any],
                   files: list[tuple[bytes, str]] | None = None) -> tuple[int, str]:
    """POST a multipart form built in memory (the test client would spool big bodies to
    disk, which the at-rest tests must not confuse with the portal's own behaviour)."""
    fields = MultiDict(payload)
    for content, name in files or []:
        fields.add("files", FileStorage(io.BytesIO(content), filename=name))
    boundary, body = encode_multipart(fields)
    response = client.post(path, data=body,
                           content_type=f"multipart/form-data; boundary={boundary}")
    return response.status_code, response.get_data(as_text=True)


def receipt_of(html: str) -> str:
    """The receipt shown after filing (digits only)."""
    match = RECEIPT_RE.search(html)
    assert match, html[:2000]
    return match.group(1).replace(" ", "")


def open_reporter(client: FlaskClient, receipt: str) -> tuple[int, str]:
    """Enter a receipt at /report/check and follow to the case page."""
    page = client.get("/report/check").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token
    response = client.post("/report/check", data={"csrf_token": token.group(1),
                                                   "receipt": receipt}, follow_redirects=True)
    return response.status_code, response.get_data(as_text=True)


def csrf_of(html: str) -> str:
    """The first CSRF token on a page."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match
    return match.group(1)
