"""Case export: a ZIP for the investigation record, for members of the case's queue, audited.

Runs on SQLite and PostgreSQL with real keys: the summary is decrypted with a member's grant,
evidence is the stored (cleaned) file, the reporter's identity never appears, and everything a
reporter or handler typed is HTML-escaped.
"""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import func, select, update

from casework import content, export, workflow
from casework import service as casework
from casework.models import Case, CaseDeadline, CaseEvent, CaseState, EvidenceFile
from portal import crypto, db
from portal.models import AuditEntry
from tests.intake_support import Desk, make_desk, post_report, receipt_of

FACTS = 'EXPORT-MARKER 王五挪用公款 <script>alert("x")</script> & "引号"'
NOTE = "NOTE-MARKER 内部核查意见：约谈 <b>王五</b>"
MESSAGE = "请补充转账的具体日期。"
REASON = "REASON-MARKER 涉嫌违法，移送司法机关"
IDENTITY = ("赵六六", "13812345678", "IDENTITY-UNIT 某某局")
TEXT_FILE = "转账记录 2026-03-01 金额 50000 元\n".encode() * 20


def _jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (32, 24), (30, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "CameraMakerXYZ"
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


@pytest.fixture
def desk(app: Flask, make_staff) -> Desk:
    return make_desk(app, make_staff)


@pytest.fixture
def filed(desk: Desk) -> tuple[bytes, str]:
    """A real-name discipline report with two files; returns the photo as uploaded and the
    receipt."""
    photo = _jpeg_with_exif()
    status, html = post_report(
        desk.app.test_client(),
        {"category": str(desk.category_id("discipline")), "persons-0-name": "王五",
         "persons-0-unit": "某局<i>", "facts": FACTS, "event_place": "办公室",
         "witnesses": "同事 A", "real_name": "y", "reporter_name": IDENTITY[0],
         "reporter_phone": IDENTITY[1], "reporter_unit": IDENTITY[2],
         "keep_names": "y"},  # the export's own name sanitising is what is tested here
        files=[(TEXT_FILE, "../../转账 记录.txt"), (photo, "IMG_0001.jpg")])
    assert status == 200, re.findall(r'class="error[^>]*>([^<]*)', html)
    return photo, receipt_of(html)


def _case() -> Case:
    return db.session().scalars(select(Case)).one()


def _add_note_message_and_reasoned_event(staff: object) -> None:
    session = db.session()
    case = _case()
    workflow.note(session, staff, case.case_no, case.version, NOTE)  # type: ignore[arg-type]
    workflow.message(session, staff, case.case_no, case.version,  # type: ignore[arg-type]
                       MESSAGE)
    keys = casework.unlock(session, staff, case)  # type: ignore[arg-type]
    uid = crypto.random_bytes(16).hex()
    with db.transaction(session):
        session.add(CaseEvent(
            case_id=case.id, uid=uid, queue_id=case.queue_id, action="transfer-outside",
            actor_id=staff.user_id,  # type: ignore[attr-defined]
            from_state=CaseState.received, to_state=CaseState.transferred,
            detail=json.dumps({"body": "某县人民法院"}, ensure_ascii=False),
            reason=content.encrypt_entry(keys.internal, case.uid, uid, "event-reason",
                                         {"text": REASON})))


def _exports() -> list[AuditEntry]:
    return list(db.session().scalars(select(AuditEntry).where(
        AuditEntry.action == "case.exported")))


def test_export_holds_the_decrypted_record_and_the_cleaned_files(desk: Desk, filed) -> None:
    photo, _receipt = filed
    with desk.app.app_context():
        session = db.session()
        staff = desk.staff(desk.dic)
        _add_note_message_and_reasoned_event(staff)
        case = _case()
        keys = casework.unlock(session, staff, case)
        stored = [casework.read_file(session, case, keys, f.id)[1] for f in session.scalars(
            select(EvidenceFile).order_by(EvidenceFile.id))]
        deadline_kinds = session.scalars(select(CaseDeadline.kind).where(
            CaseDeadline.case_id == case.id)).all()
        name, data = export.build(session, staff, case)
        assert name == f"{case.case_no}.zip"
        audits = _exports()
        assert [(a.actor, a.target, json.loads(a.details)) for a in audits] == [
            (desk.dic.username, case.case_no, {"files": 2})]

    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    names = archive.namelist()
    assert names == ["summary.html", "evidence/1-转账_记录.txt", "evidence/2-IMG_0001.jpg"]
    # The evidence is the stored file: cleaned of metadata, not the upload as sent.
    assert archive.read(names[1]) == stored[0] == TEXT_FILE
    assert archive.read(names[2]) == stored[1]
    assert b"CameraMakerXYZ" in photo
    assert b"CameraMakerXYZ" not in archive.read(names[2])

    summary = archive.read("summary.html").decode("utf-8")
    for expected in ("EXPORT-MARKER 王五挪用公款", "办公室", "同事 A", MESSAGE, REASON,
                     "某县人民法院", "NOTE-MARKER", case.case_no, "待受理", "网上举报",
                     "evidence/1-转账_记录.txt", "转账 记录.txt", desk.dic.username,
                     *(export._tables()["kind"][kind] for kind in deadline_kinds)):
        assert expected in summary, expected
    # Escaped, never markup: the report's script, the note's tag, the unit's tag.
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;引号&#34;" in summary
    assert "约谈 &lt;b&gt;王五&lt;/b&gt;" in summary
    assert "某局&lt;i&gt;" in summary
    assert "<script" not in summary.lower()
    assert "<b>" not in summary
    # Self-contained: nothing is loaded from anywhere, and its own CSP says so.
    assert not re.search(r"\b(src|href|action)\s*=", summary, re.IGNORECASE)
    assert not re.search(r"url\(|@import|https?:", summary.replace(
        "default-src 'none'", ""), re.IGNORECASE)
    assert "default-src 'none'" in summary


def test_export_never_contains_the_reporters_identity(desk: Desk, filed) -> None:
    with desk.app.app_context():
        session = db.session()
        staff = desk.staff(desk.dic)
        case = _case()
        assert case.real_name
        # The identity is there, for an audited reveal only.
        identities = casework.read_identities(session, case,
                                              casework.identity_key(session, staff, case))
        assert identities[0]["name"] == IDENTITY[0]
        _name, data = export.build(session, staff, case)
    archive = zipfile.ZipFile(io.BytesIO(data))
    for member in archive.namelist():
        raw = archive.read(member)
        for value in IDENTITY:
            assert value.encode() not in raw, (member, value)
    assert "实名举报" in archive.read("summary.html").decode()


def test_other_queue_cannot_export_and_nothing_is_audited(desk: Desk, filed) -> None:
    with desk.app.app_context():
        session = db.session()
        outsider = desk.staff(desk.org)
        with pytest.raises(casework.CaseError):
            export.build(session, outsider, _case())
        assert _exports() == []


def test_purged_case_cannot_be_exported(desk: Desk, filed) -> None:
    with desk.app.app_context():
        session = db.session()
        staff = desk.staff(desk.dic)
        with db.transaction(session):
            session.execute(update(Case).values(state=CaseState.closed, purged=True,
                                                keys_wrap=None)
                            .execution_options(synchronize_session=False))
        session.expire_all()
        with pytest.raises(casework.CaseError) as raised:
            export.build(session, staff, _case())
        assert raised.value.code == "purged"
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "case.exported")) == 0


@pytest.mark.parametrize(("name", "extension", "expected"), [
    ("../../etc/passwd", "txt", "passwd.txt"),
    ("C:\\Users\\王\\举报 材料.pdf", "pdf", "举报_材料.pdf"),
    (".hidden.JPG", "jpg", "hidden.JPG"),
    ("报告.exe", "pdf", "报告.exe.pdf"),
    ("a\x00b;rm -rf *.txt", "txt", "a_b_rm_-rf_.txt"),
    ("", "png", "file.png"),
    ("长" * 200 + ".docx", "docx", "长" * 75 + ".docx"),
    ("长" * 200 + ".JPG", "jpg", "长" * 76 + ".JPG"),
    ("x.txt", "../", "x.txt"),
])
def test_safe_names(name: str, extension: str, expected: str) -> None:
    assert export.safe_name(name, extension) == expected
