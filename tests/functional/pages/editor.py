"""Publicity editors' pages under /staff/publicity: drafts, the batch's compliance record,
approval, corrections."""

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
    cadre_id: str  # the cadre system's id (never published): the compliance record's key


@dataclass(frozen=True)
class Meeting:
    """A batch's decision meeting, as the compliance record form asks for it (its choices in
    the words the form shows)."""

    day: dt.date
    in_office: int
    present: int
    kind: str = "部分干部任免"
    body: str = "常委会"


@dataclass(frozen=True)
class Nominee:
    """What the record says of one person considered; by default a nominee every rule passes:
    nominated by the department, well recommended, inspected and approved."""

    nominated_by: str = "组织部门"
    vote_share: str = "86.5"
    inspection: str = "考察通过"
    decision: str = "通过"


PERSON_FIELDS = (
    ("姓名", "name"), ("民族", "ethnicity"), ("出生年月", "birth"), ("籍贯", "native_place"),
    ("学历学位", "education"), ("参加工作时间（年月）", "work_start"),
    ("入党时间（年月）或政治面貌", "party"), ("现任职务", "current_post"),
    ("拟任职务", "proposed_post"), ("干部管理系统编号（不公开）", "cadre_id"),
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

    @property
    def blocking(self) -> Locator:
        """What refuses approval of the draft (the appointment rules), one item each."""
        return self.editorial.get_by_role("alert").filter(
            has_text="以下问题解决前不能审核发布：").get_by_role("listitem")

    def rule(self, number: int) -> Locator:
        """One rule's row of the appointment rules' verdicts (clause, quote, status, facts)."""
        return self.page.locator(f"#compliance tr#rule-{number}")

    def verdict(self, number: int) -> Locator:
        """A rule's status badge (符合, 违反 or 缺少批复文号)."""
        return self.rule(number).locator(".badge")

    def approve(self) -> EditorNotice:
        """Press 审核并发布 (the draft, or the change waiting for approval)."""
        self.page.get_by_role("button", name="审核并发布").click()
        self.expect_flash("已审核发布。")
        return self

    def approve_refused(self) -> Locator:
        """Press 审核并发布 on a draft the appointment rules block; return the refusal (a
        count only: the problems name unpublished persons, so the page lists them, never the
        flash, which lives in the session cookie)."""
        self.page.get_by_role("button", name="审核并发布").click()
        refusal = self.page.locator("p.flash.error")
        expect(refusal).to_have_count(1)
        return refusal

    def record_compliance(self) -> RecordForm:
        """Follow 记录本批次的任用过程 (or 修改合规记录) to the batch's compliance record."""
        self.editorial.get_by_role("link", name=re.compile(
            "^(记录本批次的任用过程|修改合规记录)$")).click()
        return RecordForm(self.page).expect_open()

    def correct(self) -> NoticeEditor:
        """Press 更正."""
        self.page.get_by_role("link", name="更正", exact=True).click()
        editor = NoticeEditor(self.page)
        expect(editor.heading).to_contain_text("更正公示")
        return editor


class RecordForm(PageObject):
    """`/staff/publicity/<id>/compliance`: the process facts of the draft's batch (the county
    plan's rules are checked against them); it starts from the notice's persons."""

    def expect_open(self) -> RecordForm:
        """This is the record form."""
        expect(self.heading).to_have_text("本批次的任用合规记录")
        return self

    def nominee_group(self, index: int) -> Locator:
        """The fieldset of the n-th nominee (1-based)."""
        return self.page.get_by_role("group", name=f"人选{index}", exact=True)

    def meeting(self, meeting: Meeting, term: str) -> RecordForm:
        """The kind of batch and its decision meeting; the term today falls in is chosen."""
        batch = self.page.get_by_role("group", name="本批次及讨论决定会议")
        batch.get_by_label("调整类型", exact=True).select_option(label=meeting.kind)
        expect(batch.get_by_label("届期", exact=True)).to_have_value(term)
        batch.get_by_label("决定机构", exact=True).select_option(label=meeting.body)
        batch.get_by_label("讨论决定会议日期", exact=True).fill(meeting.day.isoformat())
        batch.get_by_label("应到人数", exact=True).fill(str(meeting.in_office))
        batch.get_by_label("实到人数", exact=True).fill(str(meeting.present))
        return self

    def nominee(self, index: int, person: PersonData, facts: Nominee | None = None
                ) -> RecordForm:
        """One nominee: the form lists the notice's persons by cadre id; add the process facts."""
        facts = facts or Nominee()
        group = self.nominee_group(index)
        expect(group.get_by_label("干部系统编号", exact=True)).to_have_value(person.cadre_id)
        expect(group.get_by_label("姓名", exact=True)).to_have_value(person.name)
        group.get_by_label("提名主体", exact=True).select_option(label=facts.nominated_by)
        group.get_by_label("民主推荐得票率（%）", exact=True).fill(facts.vote_share)
        group.get_by_label("考察结果", exact=True).select_option(label=facts.inspection)
        group.get_by_label("讨论决定结果", exact=True).select_option(label=facts.decision)
        return self

    def save(self) -> EditorNotice:
        """Press 保存记录; the notice follows, with the rules' verdicts."""
        self.page.get_by_role("button", name="保存记录").click()
        notice = EditorNotice(self.page)
        notice.expect_flash("任用合规记录已保存，各项规则的检查结果见下。")
        return notice
