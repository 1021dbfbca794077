"""What the file names and the cleaning report tell (#21, items 11 and 2).

A phone names a photo after the second it was taken (``IMG_20261207_153012.jpg``,
``mmexport<milliseconds>.jpg``): the name says when, even once EXIF is gone. Files are therefore
stored as ``evidence-N.<type>`` unless the reporter ticks the box to keep the names, and the
form and the confirmation say so. Staff read the names as the integration tests do: by
unlocking the case and decrypting each file's metadata.
"""

from __future__ import annotations

import io
import random
import re

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select

from casework import service as casework
from casework.models import Case, EvidenceFile
from portal import db
from tests.conftest import AuthActions
from tests.intake_support import (
    Desk,
    csrf_of,
    make_desk,
    open_reporter,
    post_multipart,
    post_report,
    receipt_of,
)
from tests.unit import evidence_samples as samples

PHOTO_NAMES = ("IMG_20261207_153012.jpg", "mmexport1765092612345.jpg")
TIMES = ("20261207", "153012", "1765092612345")


@pytest.fixture
def desk(app: Flask, make_staff) -> Desk:
    return make_desk(app, make_staff)


def _report(desk: Desk, **extra: str) -> dict[str, str]:
    return {"category": str(desk.category_id("discipline")), "persons-0-name": "李四",
            "facts": "2026年3月在办公室收受现金两万元，照片见附件。", **extra}


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 12), (30, 90, 160)).save(out, "JPEG")
    return out.getvalue()


def _stored_names(desk: Desk) -> list[str]:
    """Every file's name as the handling queue decrypts it, in filing order."""
    with desk.app.app_context():
        case = db.session().scalars(select(Case)).one()
        keys = casework.unlock(db.session(), desk.staff(desk.dic), case)
        names = []
        for file_id in db.session().scalars(select(EvidenceFile.id)):
            meta, _data = casework.read_file(db.session(), case, keys, file_id)
            names.append(str(meta["name"]))
    return sorted(names)


def _staff_case_page(desk: Desk) -> str:
    with desk.app.app_context():
        case_no = db.session().scalars(select(Case.case_no)).one()
    client = desk.app.test_client()
    AuthActions(client).login(desk.dic)
    return client.get(f"/staff/cases/{case_no}").get_data(as_text=True)


def test_the_form_offers_to_keep_names_unticked_and_says_why(desk: Desk) -> None:
    page = desk.app.test_client().get("/report").get_data(as_text=True)
    box = re.search(r'<input[^>]*name="keep_names"[^>]*>', page)
    assert box, "the report form has the keep-names box"
    assert "checked" not in box.group(0)
    assert "evidence-1" in page
    assert "文件名" in page  # the reason, in the reporter's language


def test_photo_names_are_replaced_by_evidence_numbers(desk: Desk) -> None:
    files = [(_photo(), PHOTO_NAMES[0]), (_photo(), PHOTO_NAMES[1]), (b"note 2026", "n.txt")]
    status, html = post_report(desk.app.test_client(), _report(desk), files=files)
    assert status == 200, html[-2000:]
    assert _stored_names(desk) == ["evidence-1.jpg", "evidence-2.jpg", "evidence-3.txt"]
    staff_page = _staff_case_page(desk)
    assert "evidence-1.jpg" in staff_page
    for time in TIMES:
        assert time not in staff_page
    assert "evidence-1.jpg" in html
    assert "已改名" in html  # the confirmation says the files were renamed


def test_names_are_kept_only_when_the_reporter_ticks_the_box(desk: Desk) -> None:
    files = [(_photo(), PHOTO_NAMES[0]), (_photo(), PHOTO_NAMES[1])]
    status, html = post_report(desk.app.test_client(), _report(desk, keep_names="y"),
                               files=files)
    assert status == 200, html[-2000:]
    assert _stored_names(desk) == sorted(PHOTO_NAMES)
    assert "已改名" not in html


def test_evidence_added_later_is_numbered_on(desk: Desk) -> None:
    client = desk.app.test_client()
    status, html = post_report(client, _report(desk), files=[(_photo(), PHOTO_NAMES[0])])
    assert status == 200
    status, page = open_reporter(client, receipt_of(html))
    assert status == 200
    status, _html = post_multipart(client, "/report/case/reply",
                                   {"csrf_token": csrf_of(page), "text": ""},
                                   [(_photo(), PHOTO_NAMES[1])])
    assert status in (200, 303)
    assert _stored_names(desk) == ["evidence-1.jpg", "evidence-2.jpg"]


def test_the_confirmation_reports_what_was_removed_from_a_document(desk: Desk) -> None:
    """#21, item 2: the template's path, links and SharePoint data are listed as removed,
    and a part the cleaner does not understand is never reported as 'nothing found'."""
    docx = samples.docx_with_template_links_and_sharepoint_data()
    unknown = samples.ooxml(extra={"word/unknown.xml": b"<t>zhangsan</t>"})
    status, html = post_report(desk.app.test_client(), _report(desk),
                               files=[(docx, "a.docx"), (unknown, "b.docx")])
    assert status == 200, html[-2000:]
    assert "指向其他文件和网址的链接" in html
    assert "文档服务器数据" in html
    assert html.count("未发现隐藏信息") == 0
    assert "无法清除" in html  # the warning for the part it did not understand


def test_a_zip_bomb_is_refused_with_a_clear_message_and_files_nothing(desk: Desk) -> None:
    """#21, item 9: refused naming the file, 413, nothing written."""
    status, html = post_report(desk.app.test_client(), _report(desk),
                               files=[(samples.docx_bomb(200), "报告.docx")])
    assert status == 413
    assert "报告.docx" in html
    assert "解压" in html
    with desk.app.app_context():
        assert db.session().scalars(select(Case)).first() is None


def test_packages_of_one_request_share_one_expansion_budget(desk: Desk, monkeypatch) -> None:
    """#21, item 9: ten packages each within its own bounds cannot hold a worker together."""
    from intake import evidence

    monkeypatch.setattr(evidence, "REQUEST_MAX_EXPANDED", 5 * 1024 * 1024 // 2)
    documents = [(samples.ooxml(extra={"word/media/n.bin": random.Random(i).randbytes(1 << 20)}),
                  f"第{i}份.docx") for i in range(3)]
    status, html = post_report(desk.app.test_client(), _report(desk), files=documents)
    assert status == 413
    assert "第2份.docx" in html
    assert "第0份.docx" not in html
    assert "合计解压" in html
    with desk.app.app_context():
        assert db.session().scalars(select(Case)).first() is None
