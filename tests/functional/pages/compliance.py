"""The appointment rules (任用规则) as the organization department's head meets them: the
drafts whose approval the rules refuse, and a draft's review page, where a failing rule is
overridden with a written reason."""

from __future__ import annotations

from playwright.sync_api import Locator, expect

from tests.functional.pages.common import PageObject

REASON_LABEL = "特批理由（记入审计日志，并向监督人员显示）"


class WaitingList(PageObject):
    """`/staff/publicity/compliance/`: drafts the appointment rules block, with the reasons."""

    def expect_open(self) -> WaitingList:
        """This is the list of blocked drafts."""
        expect(self.heading).to_have_text("因任用规则待处理的草稿")
        return self

    def draft(self, title: str) -> Locator:
        """A blocked draft's row (title, persons, why approval is refused)."""
        return self.page.locator("tbody tr").filter(
            has=self.page.get_by_role("link", name=title, exact=True))

    def open_draft(self, title: str) -> ReviewPage:
        """Follow a draft's title to its review page."""
        self.page.get_by_role("link", name=title, exact=True).click()
        return ReviewPage(self.page).expect_open(title)


class ReviewPage(PageObject):
    """`/staff/publicity/<id>/compliance/review`: the batch's record, every rule's verdict with
    its clause and the plan's words, and (for the head) a form to override a failing rule."""

    def expect_open(self, title: str) -> ReviewPage:
        """This is the review page of that notice."""
        expect(self.heading).to_contain_text(f"任用规则: {title}")
        return self

    @property
    def blocking(self) -> Locator:
        """What refuses approval, one item each."""
        return self.main.get_by_role("alert").filter(
            has_text="以下问题解决前不能审核发布：").get_by_role("listitem")

    def rule(self, number: int) -> Locator:
        """One rule's row (clause, quote, status, facts, and the override or its form)."""
        return self.page.locator(f"tr#rule-{number}")

    def override(self, number: int, reason: str) -> ReviewPage:
        """Unfold 对本公示特批此规则 under a rule, write the reason and press 特批规则<n>."""
        details = self.rule(number).locator("details.action")
        if details.get_attribute("open") is None:
            details.locator("summary").click()
        details.get_by_label(REASON_LABEL).fill(reason)
        details.get_by_role("button", name=f"特批规则{number}", exact=True).click()
        return self

    def reason_error(self, number: int) -> Locator:
        """The error beside a rule's reason (shown after a refused override)."""
        return self.rule(number).locator(".field.has-error").get_by_role("alert")

    def override_note(self, number: int) -> Locator:
        """The override of a rule, in red: who, when and the reason."""
        return self.rule(number).locator("div.override")
