"""Queue members' pages under /staff/cases: the queue, a case, registering a phone report."""

from __future__ import annotations

from playwright.sync_api import Locator, expect

from tests.functional.pages.common import PageObject
from tests.functional.pages.reporter import RECEIPT


class QueuePage(PageObject):
    """`/staff/cases/`: the queue's cases, most urgent first, from metadata only."""

    def open(self) -> QueuePage:
        """Go to the member's queue."""
        self.page.goto("/staff/cases/")
        return self.expect_open()

    def expect_open(self) -> QueuePage:
        """This is a queue page."""
        expect(self.heading).to_contain_text("案件 · ")
        return self

    @property
    def rows(self) -> Locator:
        """The rows of the case table, in the order shown."""
        return self.page.locator("table.responsive tbody tr").filter(
            has=self.page.locator("td a"))

    def case_numbers(self) -> list[str]:
        """The case numbers listed, top first."""
        return [text.strip() for text in self.rows.locator("td:first-child > a").all_inner_texts()]

    def row(self, case_no: str) -> Locator:
        """The row of one case."""
        return self.rows.filter(has=self.page.get_by_role("link", name=case_no, exact=True))

    def open_case(self, case_no: str) -> CasePage:
        """Follow a case number to the case page."""
        self.page.get_by_role("link", name=case_no, exact=True).click()
        return CasePage(self.page).expect_open(case_no)

    @property
    def transferred_out(self) -> Locator:
        """The list of cases this queue has transferred to another one."""
        return self.page.get_by_role("heading", name="已移出").locator("xpath=following::ul[1]")

    def register(self) -> RegisterPage:
        """Follow 登记电话、来信或来访举报."""
        self.page.get_by_role("link", name="登记电话、来信或来访举报").click()
        page = RegisterPage(self.page)
        expect(page.heading).to_have_text("登记电话、来信或来访举报")
        return page


class CasePage(PageObject):
    """`/staff/cases/<case_no>`: the decrypted report, files, conversation and actions."""

    def open(self, case_no: str) -> CasePage:
        """Go to a case by its number."""
        self.page.goto(f"/staff/cases/{case_no}")
        return self

    def expect_open(self, case_no: str) -> CasePage:
        """This is the page of that case."""
        expect(self.heading).to_have_text(f"案件 {case_no}")
        return self

    @property
    def state(self) -> Locator:
        """The state badge."""
        return self.main.locator("p > span.badge").first

    def fact(self, label: str) -> Locator:
        """A value of the case's metadata list (队列, 类别, 接收方式 …)."""
        return self.main.locator(f"dl dt:text-is('{label}') + dd")

    @property
    def objection(self) -> Locator:
        """The notice and person an objection is about."""
        return self.page.get_by_role("heading", name="对公示的异议").locator(
            "xpath=following-sibling::p[1]")

    @property
    def report(self) -> Locator:
        """The report as filed."""
        return self.main.locator("div.entry.reporter").first

    @property
    def reporter_messages(self) -> Locator:
        """What the reporter wrote after filing."""
        return self.main.locator("div.entry.reporter").filter(
            has=self.page.locator("p.muted:text-is('举报人')"))

    @property
    def messages_to_reporter(self) -> Locator:
        """What staff wrote to the reporter."""
        return self.main.locator("div.entry").filter(
            has=self.page.locator("p.muted:text-matches('^致举报人')"))

    @property
    def history(self) -> Locator:
        """The entries of the case's history (办理记录), oldest first."""
        return self.page.get_by_role("heading", name="办理记录").locator(
            "xpath=following-sibling::ul[1]/li")

    def evidence(self, name: str) -> Locator:
        """The download link of an evidence file."""
        return self.page.get_by_role("link", name=name, exact=True)

    def _action(self, summary: str) -> Locator:
        """Unfold one of the action forms (受理, 办结 …) by its title."""
        details = self.main.locator("details.action").filter(
            has=self.page.locator(f"summary:text-is('{summary}')"))
        if details.get_attribute("open") is None:
            details.locator("summary").click()
        return details

    def accept(self, disposition: str) -> CasePage:
        """受理 with a disposition."""
        action = self._action("受理")
        action.get_by_label("处置方式").select_option(label=disposition)
        action.get_by_role("button", name="受理", exact=True).click()
        self.expect_flash("案件已受理。")
        return self

    def message_reporter(self, text: str) -> CasePage:
        """Write to the reporter (they read it with their receipt)."""
        action = self._action("给举报人留言")
        action.get_by_label("内容").fill(text)
        action.get_by_role("button", name="发送").click()
        self.expect_flash("留言已发送；举报人凭查询码阅读。")
        return self

    def conclude(self, finding: str, answer: str) -> CasePage:
        """办结 with a finding and the answer the reporter reads."""
        action = self._action("办结")
        action.get_by_label("核查结论").select_option(label=finding)
        action.get_by_label("举报人将看到的答复").fill(answer)
        action.get_by_role("button", name="办结", exact=True).click()
        self.expect_flash("办结已记录。")
        return self

    def transfer(self, queue: str, reason: str) -> QueuePage:
        """Transfer to another queue; the queue page follows."""
        action = self._action("移送其他队列")
        action.get_by_label("移送至队列").select_option(label=queue)
        action.get_by_label("理由").fill(reason)
        action.get_by_role("button", name="移送", exact=True).click()
        return QueuePage(self.page).expect_open()


class RegisterPage(PageObject):
    """`/staff/cases/register`: a report received by telephone, letter or visit."""

    def register(self, *, channel: str, category: str, person: str, unit: str, facts: str,
                 give_receipt: bool) -> RegisteredPage:
        """Fill in what the caller said and press 登记."""
        self.page.get_by_label("接收方式").select_option(label=channel)
        self.page.get_by_label("类别").select_option(label=category)
        self.page.get_by_label("被反映人", exact=True).fill(person)
        self.page.get_by_label("其工作单位和职务").first.fill(unit)
        self.page.get_by_label("举报人反映的内容").fill(facts)
        if give_receipt:
            self.page.get_by_label("向举报人提供查询码以便跟进案件").check()
        self.page.get_by_role("button", name="登记", exact=True).click()
        page = RegisteredPage(self.page)
        expect(page.heading).to_contain_text("举报已登记为案件")
        return page


class RegisteredPage(PageObject):
    """The page after registering: the case number and the receipt for the caller."""

    def case_no(self) -> str:
        """The new case's number, from the heading."""
        return self.heading.inner_text().removeprefix("举报已登记为案件").strip()

    def receipt(self) -> str:
        """The receipt to read out to the caller."""
        shown = self.page.locator("#receipt").inner_text().strip()
        assert RECEIPT.fullmatch(shown), shown
        return shown
