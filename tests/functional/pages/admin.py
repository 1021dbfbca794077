"""Accounts: the admin creates one with roles; its holder activates it with a one-time code,
their own passphrase and an authenticator enrolled from a QR code."""

from __future__ import annotations

from playwright.sync_api import Locator, expect

from tests.functional.pages.common import PageObject


class AccountsPage(PageObject):
    """`/staff/admin/`: staff accounts, their roles and states, and a new account."""

    def open(self) -> AccountsPage:
        """Go to the accounts page."""
        self.page.goto("/staff/admin/")
        expect(self.heading).to_have_text("工作人员账号")
        return self

    def create(self, username: str, *roles: str) -> str:
        """Ask for an account with roles; return the first half of its activation code, shown
        once (the second half goes to the person who confirms it, #21.3)."""
        form = self.page.locator("form").filter(
            has=self.page.get_by_role("button", name="创建账号"))
        form.get_by_label("用户名").fill(username)
        for role in roles:
            form.get_by_role("checkbox", name=role, exact=True).check()
        form.get_by_role("button", name="创建账号").click()
        issued = self.page.get_by_role("status").filter(has_text=f"{username} 的激活码")
        expect(issued).to_be_visible()
        return issued.locator("code.secret").inner_text().strip()

    def account(self, username: str) -> Locator:
        """An account's row."""
        return self.page.locator("tbody tr").filter(
            has=self.page.locator("td:first-child", has_text=username))


class RoleRequestsPage(PageObject):
    """`/staff/roles/`: a second person confirms the grants and activations asked for."""

    def open(self) -> RoleRequestsPage:
        """Go to the page."""
        self.page.goto("/staff/roles/")
        expect(self.heading).to_have_text("待确认的角色授予和账号激活")
        return self

    def confirm_all(self, username: str) -> str:
        """Confirm every request about an account; return the activation's second half."""
        second = ""
        while True:
            row = self.page.locator("tbody tr").filter(
                has=self.page.locator("td:first-child", has_text=username))
            if not row.count():
                return second
            row.first.get_by_role("button", name="确认").first.click()
            issued = self.page.get_by_role("status").filter(has_text=f"{username} 的激活码后半段")
            if issued.count():
                second = issued.locator("code.secret").inner_text().strip()


class ActivatePage(PageObject):
    """`/staff/activate`: step one, the one-time code."""

    def open(self) -> ActivatePage:
        """Go to the activation page."""
        self.page.goto("/staff/activate")
        expect(self.heading).to_have_text("激活账号")
        return self

    def start(self, username: str, first: str, second: str) -> EnrolPage:
        """Enter username and both halves of the activation code; enrolment follows."""
        self.page.get_by_label("用户名").fill(username)
        self.page.get_by_label("激活码前半段").fill(first)
        self.page.get_by_label("激活码后半段").fill(second)
        self.page.get_by_role("button", name="继续").click()
        enrol = EnrolPage(self.page)
        expect(enrol.heading).to_have_text("设置身份验证器和口令")
        return enrol


class EnrolPage(PageObject):
    """Step two: scan the QR code, choose a passphrase, prove the authenticator works."""

    @property
    def qr_code(self) -> Locator:
        """The QR code for the authenticator app."""
        return self.page.get_by_role("img", name="身份验证器应用二维码")

    @property
    def key(self) -> Locator:
        """The same secret as text, for typing into the app."""
        return self.page.locator("code.secret")

    def finish(self, passphrase: str, code: str) -> None:
        """Set the passphrase (twice) and the first code; the login page follows."""
        self.page.get_by_label("新口令").fill(passphrase)
        self.page.get_by_label("再次输入口令").fill(passphrase)
        self.page.get_by_label("身份验证器应用显示的动态验证码").fill(code)
        self.page.get_by_role("button", name="激活").click()
        expect(self.heading).to_have_text("工作人员登录")
        self.expect_flash("您的账号已激活。请使用口令和新的动态验证码登录。")
