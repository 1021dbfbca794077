"""Publicity editors' pages under /staff/publicity: drafts, approval, corrections."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from playwright.sync_api import Locator, expect

from tests.functional.pages.common import PageObject


@dataclass(frozen=True)
class PersonData:
    """A person of a notice, as the editor types it."""

    name: str
    gender: str
    ethnicity: str
    birth: str
    native_place: str
    education: str
    work_start: str
    party: str
    current_post: str
    proposed_post: str


PERSON_FIELDS = (
    ("姓名", "name"), ("民族", "ethnicity"), ("出生年月", "birth"), ("籍贯", "native_place"),
    ("学历学位", "education"), ("参加工作时间（年月）", "work_start"),
    ("入党时间（年月）或政治面貌", "party"), ("现任职务", "current_post"),
    ("拟任职务", "proposed_post"),
)


class NoticeList(PageObject):
    """`/staff/publicity/`: drafts, changes waiting for approval, published notices."""

    def open(self) -> NoticeList:
        """Go to the list."""
        self.page.goto("/staff/publicity/")
        return self.expect_open()

    def expect_open(self) -> NoticeList:
        """This is the editors' list."""
        expect(self.heading).to_have_text("公示")
        return self

    def new_notice(self) -> NoticeEditor:
        """Press 新建公示."""
        self.page.get_by_role("link", name="新建公示").click()
        editor = NoticeEditor(self.page)
        expect(editor.heading).to_have_text("新建公示")
        return editor

    def open_notice(self, title: str) -> EditorNotice:
        """Open a notice by its title."""
        self.page.get_by_role("link", name=title, exact=True).click()
        return EditorNotice(self.page)


class NoticeEditor(PageObject):
    """The draft form (and the correction form, which has the same fields and a reason)."""

    def person_group(self, index: int) -> Locator:
        """The fieldset of the n-th person (1-based)."""
        return self.page.get_by_role("group", name=f"第 {index} 名公示对象")

    def fill(self, title: str, issuer: str, start: dt.date) -> NoticeEditor:
        """Title, issuing body and the first day of the period."""
        self.page.get_by_label("标题").fill(title)
        self.page.get_by_label("发布机关").fill(issuer)
        self.page.get_by_label("开始日期").fill(start.isoformat())
        return self

    def fill_person(self, index: int, person: PersonData) -> NoticeEditor:
        """Type one person's published facts."""
        group = self.person_group(index)
        group.get_by_role("radio", name=person.gender, exact=True).check()
        for label, name in PERSON_FIELDS:
            group.get_by_label(label, exact=True).fill(getattr(person, name))
        return self

    def add_person(self) -> NoticeEditor:
        """Press 增加一名公示对象 (the form comes back with one more person)."""
        count = self.page.get_by_role("group", name=re.compile(r"第 \d+ 名公示对象")).count()
        self.page.get_by_role("button", name="增加一名公示对象").click()
        expect(self.person_group(count + 1)).to_be_visible()
        return self

    def save(self) -> EditorNotice:
        """Press 保存草稿."""
        self.page.get_by_role("button", name="保存草稿").click()
        notice = EditorNotice(self.page)
        notice.expect_flash("草稿已保存。须经另一名编辑审核后方可发布。")
        return notice

    def propose_correction(self, reason: str) -> EditorNotice:
        """Give the published reason and press 提出更正."""
        self.page.get_by_label("更正理由（将予公开）").fill(reason)
        self.page.get_by_role("button", name="提出更正").click()
        notice = EditorNotice(self.page)
        notice.expect_flash("更正已提出，须由另一名编辑审核。")
        return notice


class EditorNotice(PageObject):
    """`/staff/publicity/<id>`: the editorial state, approval, corrections, the preview."""

    @property
    def editorial(self) -> Locator:
        """The card with the editorial state and its actions."""
        return self.page.locator("main > section.card").first

    @property
    def pending_change(self) -> Locator:
        """A correction or withdrawal waiting for approval."""
        return self.editorial.locator(".card").filter(has_text="待审核")

    def approve(self) -> EditorNotice:
        """Press 审核并发布 (the draft, or the change waiting for approval)."""
        self.page.get_by_role("button", name="审核并发布").click()
        self.expect_flash("已审核发布。")
        return self

    def correct(self) -> NoticeEditor:
        """Press 更正."""
        self.page.get_by_role("link", name="更正", exact=True).click()
        editor = NoticeEditor(self.page)
        expect(editor.heading).to_contain_text("更正公示")
        return editor
