"""Filing reports: routing, encryption at rest, receipts, the reporter's follow-up, bad input.

Every test runs on SQLite and on the real PostgreSQL. Security properties are shown by trying
what must not work: reading a report with the instance secrets, with another queue's key, with
ciphertexts moved between cases, fields or chunks.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import tempfile
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import func, select, update

from casework import content, queues, workflow
from casework import service as casework
from casework.models import (
    Case,
    CaseEntry,
    CaseState,
    EntryKind,
    EvidenceChunk,
    EvidenceFile,
    QueueEpoch,
)
from intake import receipts, service
from intake.models import FormSubmission
from portal import crypto, db, state
from tests.intake_support import (
    Desk,
    csrf_of,
    make_desk,
    open_reporter,
    post_report,
    receipt_of,
)
from tests.integration.test_publicity import at, editors, notice_input  # noqa: F401
from tests.integration.test_publicity import publish as publish  # noqa: F401

MARKER = "MARKER-7f3a-张三收受礼金"


@pytest.fixture
def desk(app: Flask, make_staff) -> Desk:
    return make_desk(app, make_staff)


def _report(desk: Desk, code: str = "discipline", **extra: object) -> dict[str, object]:
    return {"category": str(desk.category_id(code)), "persons-0-name": "李四",
            "persons-0-unit": "某局", "facts": f"{MARKER} 2026年3月在办公室收受现金。", **extra}


def _count(model: type) -> int:
    return int(db.session().scalar(select(func.count()).select_from(model)))


def _only_case() -> Case:
    return db.session().scalars(select(Case)).one()


# --- filing ---------------------------------------------------------------------------------


def test_report_is_routed_encrypted_and_readable_by_its_queue_only(desk: Desk) -> None:
    client = desk.app.test_client()
    status, html = post_report(client, _report(desk))
    assert status == 200
    receipt = receipt_of(html)
    assert len(receipt) == 20
    with desk.app.app_context():
        case = _only_case()
        assert case.queue.slug == "dic"
        assert case.state == CaseState.received
        assert case.received_at.minute == 0
        assert case.received_at.second == 0
        entries = casework.read_entries(db.session(), case,
                                        casework.unlock(db.session(), desk.staff(desk.dic), case))
        assert MARKER in entries[0].payload["facts"]  # type: ignore[operator]
        # The other queue's member can neither unlock nor unseal with their own epoch key.
        other = desk.staff(desk.org)
        with pytest.raises(casework.CaseError):
            casework.unlock(db.session(), other, case)
        org_epoch = db.session().scalars(select(QueueEpoch).where(
            QueueEpoch.queue_id != case.queue_id)).one()
        org_private = queues.epoch_private_key(db.session(), other, org_epoch.id)
        with pytest.raises(crypto.DecryptionFailed):
            content.CaseKeys.unseal(org_private, case.keys_wrap)


def test_selection_report_goes_to_the_organization_department(desk: Desk) -> None:
    status, _html = post_report(desk.app.test_client(), _report(desk, "selection"))
    assert status == 200
    with desk.app.app_context():
        assert _only_case().queue.slug == "org"


def _db_files(app: Flask) -> list[Path]:
    url = state.config(app).database_url
    base = Path(url.removeprefix("sqlite:///"))
    return [p for p in (base, Path(f"{base}-wal"), Path(f"{base}-shm")) if p.exists()]


def _spy_on_temp_files(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every temporary file opened, including by Werkzeug's form parser."""
    opened: list[str] = []
    import werkzeug.formparser

    for name in ("SpooledTemporaryFile", "TemporaryFile", "NamedTemporaryFile", "mkstemp"):
        real = getattr(tempfile, name)

        def spy(*args: object, _real=real, _name=name, **kwargs: object) -> object:  # noqa: ANN001
            opened.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(tempfile, name, spy)
        if hasattr(werkzeug.formparser, name):
            monkeypatch.setattr(werkzeug.formparser, name, spy)
    return opened


def test_marker_text_is_nowhere_at_rest(desk: Desk, tmp_path: Path, monkeypatch,
                                        caplog: pytest.LogCaptureFixture) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    opened = _spy_on_temp_files(monkeypatch)
    caplog.set_level(logging.DEBUG)
    big_text = (MARKER + "\n").encode() * 40000  # over Werkzeug's 500 KiB spool threshold
    status, html = post_report(desk.app.test_client(), _report(desk),
                               files=[(big_text, "evidence.txt")])
    assert status == 200, html[:1000]
    encoded = [MARKER.encode(), MARKER.encode("utf-16-le"), "张三收受礼金".encode("gb18030")]
    for path in _db_files(desk.app):  # SQLite: the database, its WAL and shared memory
        raw = path.read_bytes()
        assert not any(m in raw for m in encoded), path
    with desk.app.app_context():  # Any backend: every column of every row
        from portal.db import Base

        for table in Base.metadata.sorted_tables:
            for row in db.session().execute(select(table)):
                assert MARKER not in repr(tuple(row)), table.name
    # Uploads stay in memory: no temporary file was opened at all, not even an unlinked one.
    assert opened == []
    assert not any(spool.iterdir())
    assert MARKER not in caplog.text


def test_database_and_instance_secrets_alone_open_nothing(desk: Desk) -> None:
    status, _html = post_report(desk.app.test_client(), _report(desk))
    assert status == 200
    app = desk.app
    with app.app_context():
        case = _only_case()
        report = db.session().scalars(select(CaseEntry).where(
            CaseEntry.kind == EntryKind.report)).one()
        secrets = state.secrets(app)
        candidates = [secrets.secret_key, secrets.receipt_pepper, secrets.pubkey_mac_key,
                      secrets.audit_mac_key]
        # Every 32-byte value the database holds in clear (public keys, salts padded…).
        from portal.db import Base

        for table in Base.metadata.sorted_tables:
            for row in db.session().execute(select(table)):
                candidates += [v for v in row if isinstance(v, bytes) and len(v) == 32]
        place = {"case": case.uid, "what": "report", "entry": report.uid}
        for key in candidates:
            with pytest.raises(crypto.DecryptionFailed):
                crypto.decrypt(key, report.body, place)
            with pytest.raises(crypto.DecryptionFailed):
                content.CaseKeys.unseal(key, case.keys_wrap)
        # A wrong receipt derives a key that does not open the reporter's box either.
        wrong = receipts.reporter_key("0" * 20, case.receipt_salt or b"")
        with pytest.raises(crypto.DecryptionFailed):
            crypto.decrypt(wrong, case.reporter_box or b"", {"case": case.uid,
                                                             "what": "reporter-key"})


def test_ciphertexts_moved_between_cases_fields_or_chunks_fail(desk: Desk) -> None:
    client = desk.app.test_client()
    two_chunks = b"A" * (content.CHUNK_BYTES + 10)
    for _ in range(2):
        status, html = post_report(client, _report(desk), files=[(two_chunks, "a.txt")])
        assert status == 200, html[:500]
    with desk.app.app_context():
        session = db.session()
        staff = desk.staff(desk.dic)
        first, second = session.scalars(select(Case).order_by(Case.id)).all()
        keys = casework.unlock(session, staff, first)
        e1, e2 = (session.scalars(select(CaseEntry).where(CaseEntry.case_id == c.id,
                                                          CaseEntry.kind == EntryKind.report)
                                  ).one() for c in (first, second))
        # Another case's report body put in place of this one's.
        with pytest.raises(crypto.DecryptionFailed):
            content.decrypt_entry(keys.content, first.uid, e1.uid, e1.kind, e2.body)
        # The same ciphertext read as another field (a message instead of the report).
        with pytest.raises(crypto.DecryptionFailed):
            content.decrypt_entry(keys.content, first.uid, e1.uid, EntryKind.reporter_message,
                                  e1.body)
        file = session.scalars(select(EvidenceFile).where(EvidenceFile.case_id == first.id)).one()
        chunks = session.scalars(select(EvidenceChunk.data).where(
            EvidenceChunk.file_id == file.id).order_by(EvidenceChunk.idx)).all()
        assert len(chunks) == 2
        assert casework.read_file(session, first, keys, file.id)[1] == two_chunks
        for broken in ([chunks[1], chunks[0]], [chunks[0]], [chunks[0], chunks[0]]):
            with pytest.raises(crypto.DecryptionFailed):
                b"".join(content.decrypt_file(keys.content, first.uid, file.uid, broken))
        # In the database: reorder the chunks, then cut off the last one.
        session.rollback()
        with db.transaction(session):
            session.execute(update(EvidenceChunk).where(EvidenceChunk.file_id == file.id,
                                                        EvidenceChunk.idx == 1)
                            .values(data=chunks[0]))
        with pytest.raises(crypto.DecryptionFailed):
            casework.read_file(session, first, keys, file.id)


def test_reporter_reads_the_conversation_but_never_notes_or_identity(desk: Desk) -> None:
    client = desk.app.test_client()
    status, html = post_report(client, _report(desk, real_name="y", reporter_name="赵六",
                                               reporter_phone="13800000000"))
    assert status == 200
    receipt = receipt_of(html)
    with desk.app.app_context():
        staff = desk.staff(desk.dic)
        case = _only_case()
        assert case.real_name
        workflow.message(db.session(), staff, case.case_no, case.version,
                           "请补充收受现金的具体时间。")
        workflow.note(db.session(), staff, case.case_no, case.version, "NOTE-SECRET 内部意见")
        identities = casework.read_identities(
            db.session(), case, casework.identity_key(db.session(), staff, case))
        assert identities[0]["name"] == "赵六"
        # Opening the case for work does not open the identity: it has its own wrap.
        keys = casework.unlock(db.session(), staff, case)
        identity_entry = db.session().scalars(select(CaseEntry).where(
            CaseEntry.kind == EntryKind.identity)).one()
        for key in (keys.content, keys.internal):
            with pytest.raises(crypto.DecryptionFailed):
                crypto.unseal(key, identity_entry.body)
    status, page = open_reporter(client, receipt)
    assert status == 200
    assert "请补充收受现金的具体时间。" in page
    assert MARKER in page
    assert "NOTE-SECRET" not in page
    assert "赵六" not in page
    assert "13800000000" not in page
    with desk.app.app_context():
        # With the reporter's key itself, the note and the identity stay shut.
        reporter = service.load_session(db.session(), _token(client))
        assert reporter is not None
        for entry in db.session().scalars(select(CaseEntry).where(
                CaseEntry.kind.in_([EntryKind.note, EntryKind.identity]))):
            with pytest.raises((crypto.DecryptionFailed, ValueError)):
                content.decrypt_entry(reporter.content_key, case.uid, entry.uid, entry.kind,
                                      entry.body)
            with pytest.raises(crypto.DecryptionFailed):
                crypto.unseal(reporter.content_key, entry.body)


def _token(client) -> str:  # noqa: ANN001
    from itsdangerous import URLSafeSerializer

    cookie = client.get_cookie("portal_reporter", path="/report")
    serializer = URLSafeSerializer(client.application.secret_key,
                                   salt="portal/reporter-session")
    return serializer.loads(cookie.value)["t"]


def _receipt_anywhere(response, receipt: str) -> list[str]:  # noqa: ANN001
    """Where a receipt (digits, or any grouping of them) appears in a response."""
    digits = re.compile(r"\D*".join(receipt))
    places = [f"header {k}" for k, v in response.headers.items() if digits.search(v)]
    if digits.search(response.get_data(as_text=True)):
        places.append("body")
    return places


def test_double_submit_files_once_and_never_shows_the_receipt_again(desk: Desk) -> None:
    # Finding 12 (#21): Back → Resubmit on a shared computer must not hand the next user the
    # receipt. The first submit shows it once; every resend says "already filed", without it.
    client = desk.app.test_client()
    page = client.get("/report").get_data(as_text=True)
    from tests.intake_support import form_fields

    data = {**form_fields(page), "concerns_leader": "no", **_report(desk)}
    first = client.post("/report", data=dict(data))
    assert first.status_code == 200
    receipt = receipt_of(first.get_data(as_text=True))
    assert first.get_data(as_text=True).count('id="receipt"') == 1
    for _resend in range(2):  # at once (a double click) and again later in the hour
        again = client.post("/report", data=dict(data))
        assert again.status_code == 200
        html = again.get_data(as_text=True)
        assert _receipt_anywhere(again, receipt) == []
        assert 'id="receipt"' not in html
        assert "already" in html or "已经" in html
        cookies = [c.value for c in client._cookies.values()]  # noqa: SLF001
        assert not [c for c in cookies if re.search(r"\D*".join(receipt), c)]
    with desk.app.app_context():
        assert _count(Case) == 1
        assert _count(FormSubmission) == 1
        # Nothing is kept to show it again: the used token is its hash and its hour only.
        assert set(FormSubmission.__table__.columns.keys()) == {"token_hash", "created_hour"}


def test_a_failure_midway_writes_nothing(desk: Desk, monkeypatch) -> None:
    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk full")

    # The audit entry is the last write of the filing transaction.
    monkeypatch.setattr("portal.audit.record_reporter_event", explode)
    client = desk.app.test_client()
    status, _html = post_report(client, _report(desk), files=[(b"evidence text", "a.txt")])
    assert status == 500
    with desk.app.app_context():
        for model in (Case, CaseEntry, EvidenceFile, EvidenceChunk, FormSubmission):
            assert _count(model) == 0, model.__name__


def test_objection_link_binds_notice_and_person(desk: Desk, publish) -> None:
    from publicity.models import NoticePerson

    notice_id = publish(notice_input(dt.date(2026, 11, 30)), approved_on=dt.date(2026, 11, 27))
    with desk.app.app_context():
        person_id = db.session().scalars(select(NoticePerson.id).where(
            NoticePerson.notice_id == notice_id).order_by(NoticePerson.id)).first()
    client = desk.app.test_client()
    query = f"?notice={notice_id}&person={person_id}"
    with at(dt.date(2026, 12, 1)):
        page = client.get(f"/report{query}").get_data(as_text=True)
        assert "王立新" in page
        assert "checked" in page
        status, _html = post_report(client, {"category": str(desk.category_id("objection")),
                                             "facts": "该同志存在带病提拔情况，具体如下。"},
                                    query=query)
    assert status == 200
    with desk.app.app_context():
        case = _only_case()
        assert (case.notice_id, case.notice_person_id) == (notice_id, person_id)
        assert db.session().get(NoticePerson, person_id).objections_open == 1  # type: ignore[union-attr]
    with at(dt.date(2026, 12, 20)):  # the period has ended: the link no longer binds
        page = client.get(f"/report{query}").get_data(as_text=True)
    assert "ordinary report" in page or "普通举报" in page


def test_objection_to_a_missing_notice_becomes_an_ordinary_report(desk: Desk) -> None:
    client = desk.app.test_client()
    page = client.get("/report?notice=999999&person=1").get_data(as_text=True)
    assert "普通举报" in page or "ordinary report" in page
    status, _html = post_report(client, {"category": str(desk.category_id("objection")),
                                         "persons-0-name": "王某",
                                         "facts": "该同志存在带病提拔情况，具体如下。",
                                         "notice": "999999", "person": "1"})
    assert status == 200
    with desk.app.app_context():
        case = _only_case()
        assert case.notice_id is None
        assert case.category.code == "selection"


# --- closed queues --------------------------------------------------------------------------


def test_queues_without_keys_close_the_form(app: Flask) -> None:
    response = app.test_client().get("/report")
    assert response.status_code == 503
    assert "12380" in response.get_data(as_text=True)


def test_a_queue_whose_only_keyholder_was_reset_refuses_reports(desk: Desk) -> None:
    from portal import accounts, audit
    from portal.models import StaffUser

    with desk.app.app_context():
        user = db.session().scalars(select(StaffUser).where(
            StaffUser.username == desk.dic.username)).one()
        accounts.reset_account(db.session(), user.id, audit.CLI)
    client = desk.app.test_client()
    page = client.get("/report").get_data(as_text=True)
    assert "not yet open" in page or "尚未开通" in page
    status, html = post_report(client, _report(desk))
    assert status == 503
    with desk.app.app_context():
        assert _count(Case) == 0


def test_a_swapped_queue_public_key_is_never_used(desk: Desk) -> None:
    attacker_public, _attacker_private = crypto.generate_keypair()
    with desk.app.app_context():
        session = db.session()
        with db.transaction(session):
            dic = queues.queue_by_slug(session, "dic")
            session.execute(update(QueueEpoch).where(QueueEpoch.queue_id == dic.id)
                            .values(public_key=attacker_public))
    status, html = post_report(desk.app.test_client(), _report(desk))  # a discipline report
    assert status == 503
    assert "12380" in html
    with desk.app.app_context():
        assert _count(Case) == 0


# --- the reporter's follow-up -----------------------------------------------------------------


def test_follow_up_reply_identity_and_withdraw(desk: Desk) -> None:
    client = desk.app.test_client()
    _status, html = post_report(client, _report(desk))
    receipt = receipt_of(html)
    spaced = "－".join(receipt[i:i + 4] for i in range(0, 20, 4))  # full-width dashes
    fullwidth = "".join(chr(0xFF10 + int(d)) for d in spaced if d.isdigit())
    for typed in (spaced, fullwidth):
        status, page = open_reporter(desk.app.test_client(), typed)
        assert status == 200
        assert MARKER in page
    status, page = open_reporter(client, receipt)
    reply = client.post("/report/case/reply", data={
        "csrf_token": csrf_of(page), "text": "补充：还有转账记录。",
        "files": [(io.BytesIO(b"bank transfer 2026-03-01"), "bank.txt")]},
        content_type="multipart/form-data")
    assert reply.status_code == 303
    page = client.get("/report/case").get_data(as_text=True)
    assert "补充：还有转账记录。" in page
    assert "evidence-1.txt" in page  # renamed (#21, item 11)
    added = client.post("/report/case/identity", data={
        "csrf_token": csrf_of(page), "reporter_name": "钱七", "reporter_phone": "139"})
    assert added.status_code == 303
    with desk.app.app_context():
        case = _only_case()
        assert case.real_name
        assert case.unread_replies == 1
        staff = desk.staff(desk.dic)
        identity = casework.identity_key(db.session(), staff, case)
        assert casework.read_identities(db.session(), case, identity)[0]["name"] == "钱七"
    page = client.get("/report/case").get_data(as_text=True)
    refused = client.post("/report/case/withdraw", data={"csrf_token": csrf_of(page)})
    assert refused.status_code == 400  # the confirmation box was not ticked
    done = client.post("/report/case/withdraw", data={"csrf_token": csrf_of(page),
                                                      "confirm": "y"})
    assert done.status_code == 303
    with desk.app.app_context():
        assert _only_case().state == CaseState.withdrawn
    page = client.get("/report/case").get_data(as_text=True)
    assert 'action="/report/case/reply"' not in page


def test_wrong_and_purged_receipts_look_the_same(desk: Desk) -> None:
    client = desk.app.test_client()
    _status, html = post_report(client, _report(desk))
    receipt = receipt_of(html)
    wrong_status, wrong_page = open_reporter(desk.app.test_client(), "1" * 20)
    with desk.app.app_context():
        session = db.session()
        with db.transaction(session):  # what the retention purge leaves of a case
            session.execute(update(Case).values(receipt_lookup=None, reporter_box=None))
    purged_status, purged_page = open_reporter(desk.app.test_client(), receipt)
    assert wrong_status == purged_status == 404

    def message(page: str) -> str:
        return page[page.index('class="error-text"'):].split("</p>")[0]

    assert message(wrong_page) == message(purged_page)


@pytest.mark.parametrize("typed", ["1234", "1234 5678 9012 3456 789a", "x" * 20,
                                   "1" * 21, "１２３４"])
def test_malformed_receipts_get_a_clear_400(desk: Desk, typed: str) -> None:
    status, page = open_reporter(desk.app.test_client(), typed)
    assert status == 400
    assert "20" in page


def test_reporter_session_ends_when_idle_and_on_logout(desk: Desk) -> None:
    import time_machine

    client = desk.app.test_client()
    _status, html = post_report(client, _report(desk))
    status, page = open_reporter(client, receipt_of(html))
    assert status == 200
    cookie = client.get_cookie("portal_reporter", path="/report")
    assert cookie is not None
    assert cookie.expires is None
    assert cookie.http_only
    assert cookie.same_site == "Strict"
    assert cookie.path == "/report"
    import datetime as dt

    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=31), tick=False):
        response = client.get("/report/case")
    assert response.status_code == 303
    assert "/report/check" in response.location
    status, page = open_reporter(client, receipt_of(html))
    out = client.post("/report/case/logout", data={"csrf_token": csrf_of(page)})
    assert out.status_code == 303
    assert client.get("/report/case").status_code == 303
    with desk.app.app_context():
        from intake.models import ReporterSession

        assert _count(ReporterSession) == 0


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "expected"), [
    ({"facts": ""}, "Describe what happened"),
    ({"facts": "x" * 20001}, "20000"),
    ({"category": "999"}, ""),
    ({"category": "abc"}, ""),
    ({"persons-0-name": ""}, ""),
    ({"subtype": "1:0"}, ""),  # a sub-type of another category
    ({"subtype": "3:²"}, ""),  # a digit that is not an ASCII digit
    ({"subtype": "3:99999999999"}, ""),
    ({"real_name": "y"}, ""),  # real name without a name
])
def test_bad_fields_get_a_400_and_file_nothing(desk: Desk, change: dict[str, str],
                                               expected: str) -> None:
    client = desk.app.test_client()
    status, html = post_report(client, {**_report(desk), "lang": "en", **change})
    assert status == 400
    assert 'class="error-text"' in html
    with desk.app.app_context():
        assert _count(Case) == 0


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (32, 24), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"
    gps = {1: "N", 2: (31.0, 14.0, 2.5), 3: "E", 4: (121.0, 28.0, 7.25)}
    exif[0x8825] = gps
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def test_gps_is_removed_before_encryption(desk: Desk) -> None:
    photo = _jpeg_with_gps()
    assert Image.open(io.BytesIO(photo)).getexif().get_ifd(0x8825)
    status, html = post_report(desk.app.test_client(), _report(desk),
                               files=[(photo, "IMG_0001.jpg")])
    assert status == 200
    assert "GPS" in html
    with desk.app.app_context():
        case = _only_case()
        keys = casework.unlock(db.session(), desk.staff(desk.dic), case)
        file = db.session().scalars(select(EvidenceFile)).one()
        meta, data = casework.read_file(db.session(), case, keys, file.id)
    assert "gps" in meta["removed"]  # type: ignore[operator]
    stored = Image.open(io.BytesIO(data))
    assert not stored.getexif().get_ifd(0x8825)
    assert b"CameraMaker" not in data


@pytest.mark.parametrize(("content_bytes", "name", "status"), [
    (b"", "empty.pdf", 400),
    (b"MZ\x90\x00" + b"\x00" * 200, "report.pdf", 400),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "a.svg", 400),
    (b"<html><script>alert(1)</script></html>", "a.txt", 400),
])
def test_refused_files_name_the_file_and_file_nothing(desk: Desk, content_bytes: bytes,
                                                      name: str, status: int) -> None:
    got, html = post_report(desk.app.test_client(), _report(desk),
                            files=[(content_bytes, name), (b"fine text", "ok.txt")])
    assert got == status
    assert name in html
    with desk.app.app_context():
        assert _count(Case) == 0
        assert _count(EvidenceFile) == 0


def test_zip_posing_as_word_is_refused(desk: Desk) -> None:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("payload.exe", b"MZ" + b"\x00" * 100)
    status, html = post_report(desk.app.test_client(), _report(desk),
                               files=[(out.getvalue(), "合同.docx")])
    assert status == 400
    assert "合同.docx" in html


def test_too_many_and_too_large_files(make_app, make_staff) -> None:
    app = make_app(max_files=2, max_file_bytes=1000)
    desk = make_desk(app, make_staff)
    client = app.test_client()
    status, html = post_report(client, _report(desk),
                               files=[(b"text one", f"{i}.txt") for i in range(3)])
    assert status == 400
    assert "2" in html
    status, html = post_report(client, _report(desk), files=[(b"y" * 2000, "big.txt")])
    assert status == 413
    assert "big.txt" in html
    with app.app_context():
        assert _count(Case) == 0


def test_malformed_multipart_and_non_utf8_get_400(desk: Desk) -> None:
    client = desk.app.test_client()
    broken = client.post("/report", data=b"--xyz\r\nContent-Disposition: form-data; name=\"a\"",
                         content_type="multipart/form-data; boundary=xyz")
    assert broken.status_code == 400
    page = client.get("/report").get_data(as_text=True)
    from tests.intake_support import form_fields

    fields = form_fields(page)
    body = "&".join(f"{k}={v}" for k, v in fields.items()).encode() + b"&facts=%FF%FE%FD"
    bad = client.post("/report", data=body, content_type="application/x-www-form-urlencoded")
    assert bad.status_code == 400
    with desk.app.app_context():
        assert _count(Case) == 0


def test_honeypot_files_nothing(desk: Desk) -> None:
    status, _html = post_report(desk.app.test_client(), _report(desk, homepage="http://spam"))
    assert status == 400
    with desk.app.app_context():
        assert _count(Case) == 0


def test_staff_get_evidence_only_as_an_audited_download(desk: Desk) -> None:
    status, _html = post_report(desk.app.test_client(), _report(desk),
                                files=[(b"transfer record 2026-03-01", "record.txt")])
    assert status == 200
    with desk.app.app_context():
        case = _only_case()
        file_id = db.session().scalars(select(EvidenceFile.id)).one()
    staff_client = desk.app.test_client()
    from tests.conftest import AuthActions

    AuthActions(staff_client).login(desk.dic)
    url = f"/staff/cases/{case.case_no}/files/{file_id}"
    response = staff_client.get(url)
    assert response.status_code == 200
    assert response.data == b"transfer record 2026-03-01"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.mimetype == "application/octet-stream"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    # The other queue's member (as if the case did not exist) and the public get nothing.
    other = desk.app.test_client()
    AuthActions(other).login(desk.org)
    assert other.get(url).status_code == 404
    assert desk.app.test_client().get(url).status_code in (302, 303)
    with desk.app.app_context():
        from portal.models import AuditEntry

        actions = db.session().scalars(select(AuditEntry.action)).all()
        assert "case.file-downloaded" in actions
