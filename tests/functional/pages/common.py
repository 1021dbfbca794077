"""What every page has: a main heading, flash messages, downloads, and error pages."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect


class PageObject:
    """A page as a person sees it."""

    def __init__(self, page: Page) -> None:
        self.page = page

    @property
    def heading(self) -> Locator:
        """The page's main heading."""
        return self.page.get_by_role("heading", level=1)

    @property
    def main(self) -> Locator:
        """The page's main content (header and footer left out)."""
        return self.page.locator("main")

    def expect_flash(self, text: str) -> None:
        """The page confirms what just happened."""
        expect(self.page.locator("p.flash").filter(has_text=text)).to_be_visible()

    def download(self, link: Locator) -> bytes:
        """Click a link that downloads a file; return the file's bytes."""
        with self.page.expect_download() as info:
            link.click()
        path = info.value.path()
        with open(path, "rb") as fh:
            return fh.read()

    def expect_not_found(self) -> None:
        """The portal's 404 page, in Chinese."""
        expect(self.heading).to_have_text("页面不存在")
        expect(self.main).to_contain_text("错误代码 404")
