"""The public site: the home page, notice lists and the archive, a notice, the Atom feed."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from defusedxml import ElementTree as safe_xml
from playwright.sync_api import Locator, expect

from tests.functional.pages.common import PageObject
from tests.functional.pages.reporter import CheckPage, ReportForm

ATOM = "{http://www.w3.org/2005/Atom}"
DAYS_LEFT = re.compile(r"剩余 (\d+) 个工作日")


def days_left_in(text: str) -> int:
    """The number in "剩余 N 个工作日"."""
    match = DAYS_LEFT.search(text)
    assert match, f"no working days left shown in: {text!r}"
    return int(match.group(1))


class HomePage(PageObject):
    """`/`: open notices with the working days left, and the two ways to report."""

    def open(self) -> HomePage:
        """Go to the home page."""
        self.page.goto("/")
        expect(self.heading).to_have_text("干部任前公示")
        return self

    def notice(self, title: str) -> Locator:
        """The card of an open notice."""
        return self.page.locator(".notice-list li.card").filter(
            has=self.page.get_by_role("link", name=title, exact=True))

    def days_left(self, title: str) -> int:
        """The working days left that the card of a notice shows."""
        card = self.notice(title)
        expect(card).to_contain_text("剩余")
        return days_left_in(card.inner_text())

    def open_notice(self, title: str) -> NoticePage:
        """Follow a notice's title to its page."""
        self.notice(title).get_by_role("link", name=title, exact=True).click()
        page = NoticePage(self.page)
        expect(page.heading).to_have_text(title)
        return page

    def file_report(self) -> ReportForm:
        """Press 我要举报."""
        self.page.get_by_role("link", name="我要举报").click()
        return ReportForm(self.page).expect_open()

    def check_report(self) -> CheckPage:
        """Press 凭查询码查询办理情况."""
        self.page.get_by_role("link", name="凭查询码查询办理情况").click()
        return CheckPage(self.page).expect_open()

    def open_and_upcoming(self) -> Locator:
        """Follow 即将开始的公示; return the cards of the notices open now or soon."""
        self.page.get_by_role("link", name="即将开始的公示").click()
        expect(self.heading).to_have_text("正在公示")
        return self.page.locator(".notice-list li.card")

    def archive(self) -> ArchivePage:
        """Follow 全部公示（归档）."""
        self.page.get_by_role("link", name="全部公示（归档）").click()
        archive = ArchivePage(self.page)
        expect(archive.heading).to_have_text("全部公示（归档）")
        return archive

    def atom_feed(self) -> AtomFeed:
        """Follow the Atom feed link and read the feed the browser received."""
        link = self.page.get_by_role("link", name="Atom 订阅")
        with self.page.expect_response(str(link.get_attribute("href"))) as answer:
            link.click()
        response = answer.value
        assert response.ok
        assert (response.header_value("content-type") or "").startswith("application/atom+xml")
        return AtomFeed(safe_xml.fromstring(response.body()))


class NoticePage(PageObject):
    """`/notices/<id>`: the persons, the period, the channels and the corrections."""

    def open(self, path: str) -> NoticePage:
        """Go to a notice's page."""
        self.page.goto(path)
        return self

    def person(self, name: str) -> Locator:
        """A person's card."""
        return self.page.locator("article.person").filter(
            has=self.page.get_by_role("heading", name=name, exact=True))

    def fact(self, name: str, label: str) -> Locator:
        """One published fact of a person (the value next to its label)."""
        return self.person(name).locator(f"dt:text-is('{label}') + dd")

    @property
    def head(self) -> Locator:
        """The notice's header: title, issuer, state, working days left and period."""
        return self.page.locator("header.notice-head")

    def days_left(self) -> int:
        """The working days left that the notice shows."""
        expect(self.head).to_contain_text("剩余")
        return days_left_in(self.head.inner_text())

    @property
    def corrections(self) -> Locator:
        """The list of published corrections."""
        return self.page.locator("section.card").filter(
            has=self.page.get_by_role("heading", name="更正记录"))

    def object_to(self, name: str) -> ReportForm:
        """Press 对公示对象有异议？在线反映 under a person."""
        self.person(name).get_by_role("link", name="对公示对象有异议？在线反映").click()
        return ReportForm(self.page).expect_open()


class ArchivePage(PageObject):
    """`/notices/archive`: every published notice, searchable by name, post, unit and year."""

    def search(self, text: str) -> Locator:
        """Search by name, post or unit; return the cards of the notices found."""
        self.page.get_by_role("searchbox", name="姓名、职务或单位").fill(text)
        self.page.get_by_role("button", name="查询").click()
        expect(self.page.get_by_role("searchbox")).to_have_value(text)
        return self.page.locator(".notice-list li.card")


class AtomFeed:
    """The Atom feed as parsed XML."""

    def __init__(self, root: ET.Element) -> None:
        self.root = root

    def entry(self, title: str) -> ET.Element:
        """The entry of a notice, by title."""
        for entry in self.root.iter(f"{ATOM}entry"):
            if entry.findtext(f"{ATOM}title") == title:
                return entry
        raise AssertionError(f"no feed entry titled {title!r}")

    @staticmethod
    def content(entry: ET.Element) -> str:
        """An entry's content, as the HTML text a feed reader shows."""
        return entry.findtext(f"{ATOM}content") or ""
