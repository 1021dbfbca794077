"""The staff entrance: login and the staff home page."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.functional.pages.common import PageObject
from tests.functional.server import StaffAccount


class StaffLogin(PageObject):
    """`/staff/login`: username, passphrase and the authenticator's code."""

    def open(self) -> StaffLogin:
        """Go to the login page."""
        self.page.goto("/staff/login")
        expect(self.heading).to_have_text("工作人员登录")
        return self

    def login(self, account: StaffAccount) -> StaffHome:
        """Log in with passphrase and a fresh TOTP code; the staff home follows."""
        self.open()
        self.page.get_by_label("用户名").fill(account.username)
        self.page.get_by_label("口令").fill(account.passphrase)
        self.page.get_by_label("身份验证器应用中的动态验证码").fill(
            account.authenticator.next_code())
        self.page.get_by_role("button", name="登录").click()
        home = StaffHome(self.page)
        expect(home.heading).to_have_text(f"欢迎，{account.username}")
        return home


class StaffHome(PageObject):
    """`/staff/`: greeting, roles and the way to each area."""

    def go(self, area: str) -> None:
        """Follow a link of the staff navigation (案件, 监督统计, 公示管理, 系统管理)."""
        self.page.get_by_role("navigation").get_by_role("link", name=area, exact=True).click()
