"""The reporter's pages: the report form, the receipt, the receipt check and their case."""

from __future__ import annotations

import re
from dataclasses import dataclass

from playwright.sync_api import FilePayload, Locator, expect

from tests.functional.pages.common import PageObject

RECEIPT = re.compile(r"\d{4}( \d{4}){4}")


@dataclass(frozen=True)
class Concerned:
    """A person a report is about."""

    name: str
    unit: str = ""
    post: str = ""


class ReportForm(PageObject):
    """`/report`: category, persons, facts, evidence and (optional) identity."""

    def open(self) -> ReportForm:
        """Go to the form directly."""
        self.page.goto("/report")
        return self.expect_open()

    def expect_open(self) -> ReportForm:
        """This is the report form."""
        expect(self.heading).to_have_text("我要举报")
        return self

    def read_safety_advice(self) -> SafetyPage:
        """Follow the link to the advice on reporting without being traced."""
        self.page.get_by_role("link", name="如何安全地举报（如担心身份暴露，请先阅读）").click()
        advice = SafetyPage(self.page)
        expect(advice.heading).to_have_text("如何安全地举报")
        return advice

    @property
    def objection(self) -> Locator:
        """The box naming the notice and person of an objection."""
        return self.page.get_by_role("note")

    def category(self, label: str) -> Locator:
        """A category's radio button."""
        return self.page.get_by_role("radio", name=label, exact=True)

    def choose(self, category: str, subtype: str | None = None) -> ReportForm:
        """Choose what the report is about (and, optionally, more precisely)."""
        self.category(category).check()
        if subtype:
            self.page.get_by_label("具体问题（可选）").select_option(label=subtype)
        return self

    def about(self, *persons: Concerned) -> ReportForm:
        """Name the persons the report concerns."""
        rows = self.page.locator(".person-row")
        for row, person in zip(rows.all(), persons, strict=False):
            row.get_by_label("姓名").fill(person.name)
            row.get_by_label("工作单位").fill(person.unit)
            row.get_by_label("职务").fill(person.post)
        return self

    def describe(self, facts: str, *, when: str = "", where: str = "") -> ReportForm:
        """Write what happened."""
        self.page.get_by_label("发生时间").fill(when)
        self.page.get_by_label("发生地点").fill(where)
        self.page.get_by_label("问题线索").fill(facts)
        return self

    def attach(self, *files: FilePayload) -> ReportForm:
        """Choose evidence files."""
        self.page.get_by_label("证据材料（可选）").set_input_files(list(files))
        return self

    def send(self) -> ReceiptPage:
        """Press 提交举报; the receipt page follows."""
        self.page.get_by_role("button", name="提交举报").click()
        return ReceiptPage(self.page).expect_open()


class SafetyPage(PageObject):
    """`/report/safety`: how to report without being traced."""

    @property
    def advice(self) -> Locator:
        """The points of advice."""
        return self.main.get_by_role("listitem")


class ReceiptPage(PageObject):
    """The page after filing: the receipt, shown once, and what was removed from the files."""

    def expect_open(self) -> ReceiptPage:
        """The report was received."""
        expect(self.heading).to_have_text("您的举报已收到")
        return self

    def receipt(self) -> str:
        """The receipt as shown (digits in groups of four), copied from #receipt."""
        shown = self.page.locator("#receipt").inner_text().strip()
        assert RECEIPT.fullmatch(shown), shown
        return shown

    def file(self, name: str) -> Locator:
        """What the page says about one of the files."""
        return self.page.get_by_role("listitem").filter(has_text=name)


class CheckPage(PageObject):
    """`/report/check`: the receipt opens the report."""

    def open(self) -> CheckPage:
        """Go to the check page."""
        self.page.goto("/report/check")
        return self.expect_open()

    def expect_open(self) -> CheckPage:
        """This is the check page."""
        expect(self.heading).to_have_text("凭查询码查询办理情况")
        return self

    @property
    def receipt_field(self) -> Locator:
        """The receipt input."""
        return self.page.get_by_label("查询码")

    def enter(self, typed: str) -> ReporterCase:
        """Type a receipt key by key (as the person types it) and press 查看我的举报."""
        self.receipt_field.press_sequentially(typed)
        self.page.get_by_role("button", name="查看我的举报").click()
        return ReporterCase(self.page).expect_open()


class ReporterCase(PageObject):
    """`/report/case`: the status, the conversation, replies and withdrawal."""

    def expect_open(self) -> ReporterCase:
        """This is the reporter's own case."""
        expect(self.heading).to_have_text("您的举报")
        return self

    @property
    def status(self) -> Locator:
        """The status line (状态：…)."""
        return self.page.locator("p.status strong")

    @property
    def office_messages(self) -> Locator:
        """What the handling office wrote, oldest first."""
        return self.page.locator("article.entry-staff_message")

    @property
    def own_messages(self) -> Locator:
        """What the reporter wrote after filing."""
        return self.page.locator("article.entry-reporter_message")

    @property
    def report(self) -> Locator:
        """What the reporter reported."""
        return self.page.locator("article.entry-report")

    def reply(self, text: str) -> ReporterCase:
        """Write to the handling office."""
        self.page.get_by_role("textbox", name="留言").fill(text)
        self.page.get_by_role("button", name="发送").click()
        self.expect_flash("已发送，办理人员将会看到。")
        return self

    def withdraw(self) -> ReporterCase:
        """Tick the confirmation and withdraw the report."""
        self.page.get_by_label("是的，撤回我的举报").check()
        self.page.get_by_role("button", name="撤回", exact=True).click()
        self.expect_flash("您的举报已撤回。")
        return self
