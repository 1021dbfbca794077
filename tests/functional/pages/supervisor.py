"""The supervision dashboard (tables of figures, SVG trend charts, CSV downloads) and the
appointment rules' panel (limits used, overrides, flagged persons)."""

from __future__ import annotations

import csv
import io

from playwright.sync_api import Locator, Response, expect

from tests.functional.pages.common import PageObject

CHARTS = ("volume", "decision-days")


class Tables(PageObject):
    """A page of figures: tables under anchored headings, each downloadable as CSV."""

    def section(self, name: str) -> Locator:
        """A table's heading (by its anchor: counts, durations, trend …)."""
        return self.page.locator(f"h2#{name}")

    def table_rows(self, name: str) -> Locator:
        """A table's body rows, as shown."""
        return self.section(name).locator("xpath=following-sibling::table[1]/tbody/tr")

    def table(self, name: str) -> list[dict[str, str]]:
        """A table as rows of {column header: cell text}."""
        table = self.section(name).locator("xpath=following-sibling::table[1]")
        headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
        rows = []
        for row in table.locator("tbody tr").all():
            cells = [c.strip() for c in row.locator("td").all_inner_texts()]
            if len(cells) == len(headers):
                rows.append(dict(zip(headers, cells, strict=True)))
        return rows

    def download_csv(self, name: str) -> list[list[str]]:
        """Press 下载 CSV under a table; return the file's rows (UTF-8 with BOM checked)."""
        link = self.section(name).locator(
            "xpath=following-sibling::p[1]").get_by_role("link", name="下载 CSV")
        data = self.download(link)
        assert data.startswith(b"\xef\xbb\xbf"), "the CSV has no BOM (Excel would garble it)"
        return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


class Dashboard(Tables):
    """`/staff/supervision/`: every figure of the period, per queue and overall."""

    def open(self) -> list[Response]:
        """Go to the dashboard; return the chart images' responses as the browser got them."""
        charts: list[Response] = []

        def keep(response: Response) -> None:
            if "/staff/supervision/charts/" in response.url:
                charts.append(response)

        self.page.on("response", keep)
        try:
            self.page.goto("/staff/supervision/")
            self.expect_open()
            self.page.wait_for_load_state("load")  # the chart images are in
        finally:
            self.page.remove_listener("response", keep)
        return charts

    def expect_open(self) -> Dashboard:
        """This is the dashboard."""
        expect(self.heading).to_have_text("监督统计：办理时效与期限")
        return self

    def chart(self, alt: str) -> Locator:
        """A chart image, by its description."""
        return self.page.get_by_role("img", name=alt)

    def rendered(self, image: Locator) -> bool:
        """Whether the browser decoded and drew the image (it has a natural size)."""
        return bool(image.evaluate("img => img.complete && img.naturalWidth > 0"))

    def compliance(self) -> CompliancePanel:
        """Follow the link to the appointment rules' figures (任用合规)."""
        self.page.get_by_role(
            "link", name="任用合规：方案规定的限额、特批情况和特殊情形人员").click()
        panel = CompliancePanel(self.page)
        expect(panel.heading).to_have_text("任用合规")
        return panel


class CompliancePanel(Tables):
    """`/staff/supervision/compliance`: the plan's limits used in the term and year, every
    override by the organization department's head (in red) and every flagged person."""

    def override(self, title: str) -> Locator:
        """The row of a notice's override."""
        return self.table_rows("overrides").filter(has_text=title)
