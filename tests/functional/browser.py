"""The browser side of the tier: watched contexts, screenshots, axe-core and QR codes.

Every context a journey opens is watched: a request to anywhere but the portal's own origin,
a console error (which is also how Chromium reports a CSP violation, with or without
JavaScript) and an uncaught page error are problems, and the `web` fixture fails the test
on any of them when it ends.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Request,
    Route,
    ViewportSize,
)
from playwright.sync_api import Error as PlaywrightError

# The flags: headless, and nothing the browser would fetch on its own behalf.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
# Chromium reports CSP violations as console errors; this also catches any it might log
# differently, as long as JavaScript runs in the page.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  const blocked = event.blockedURI || "inline";
  console.error(`CSP violation: ${event.violatedDirective} blocked ${blocked}`);
});
"""
FAILED_LOAD = "Failed to load resource: the server responded with a status of {status}"
SERIOUS = ("serious", "critical")


@dataclass
class Watch:
    """Problems seen in the contexts of one test, and the error answers it expects."""

    origin: str
    problems: list[str] = field(default_factory=list)
    expected: set[tuple[str, int]] = field(default_factory=set)

    def attach(self, context: BrowserContext, who: str) -> None:
        """Watch a context's requests, and its pages' console and errors."""
        context.on("request", lambda request: self._request(who, request))
        context.on("page", lambda page: self._page(who, page))

    def _request(self, who: str, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme == "data":
            return  # inline data (the QR code image): nothing leaves the browser
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            try:
                source = request.frame.url
            except PlaywrightError:  # a worker's request has no frame
                source = "a worker"
            self.problems.append(f"[{who}] request to a foreign origin: {request.method} "
                                 f"{request.url} (from {source})")

    def _page(self, who: str, page: Page) -> None:
        page.on("console", lambda message: self._console(who, page, message))
        page.on("pageerror", lambda error: self.problems.append(
            f"[{who}] uncaught error on {page.url}: {error}"))

    def _console(self, who: str, page: Page, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        where = message.location.get("url") or page.url
        path = urlsplit(where).path
        if any(message.text.startswith(FAILED_LOAD.format(status=status)) and path == expected
               for expected, status in self.expected):
            return
        self.problems.append(f"[{who}] console error on {page.url}: {message.text} "
                             f"(at {where})")

    @contextlib.contextmanager
    def expecting_status(self, path: str, status: int) -> Iterator[None]:
        """Within the block, an answer `status` for `path` is what the journey asserts."""
        self.expected.add((path, status))
        try:
            yield
        finally:
            self.expected.discard((path, status))


class Web:
    """The browser contexts of one test: each one a person with their own cookies."""

    def __init__(self, browser: Browser, base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.watch = Watch(base_url)
        self.contexts: list[tuple[str, BrowserContext]] = []

    def context(self, who: str, *, javascript: bool = True) -> BrowserContext:
        """A fresh, watched browser context in Chinese, as a person in the county uses it."""
        context = self.browser.new_context(
            base_url=self.base_url, locale="zh-CN", timezone_id="Asia/Shanghai",
            viewport=VIEWPORT, java_script_enabled=javascript, accept_downloads=True,
        )
        context.set_default_timeout(10_000)
        context.add_init_script(CSP_LISTENER)
        self.watch.attach(context, who)
        self.contexts.append((who, context))
        return context

    def page(self, who: str, *, javascript: bool = True) -> Page:
        """A page in a fresh context (see `context`)."""
        return self.context(who, javascript=javascript).new_page()

    def photograph(self, folder: Path, prefix: str) -> None:
        """Screenshot every page still open (after a failure, to show where each person was)."""
        folder.mkdir(parents=True, exist_ok=True)
        for who, context in self.contexts:
            for n, page in enumerate(context.pages):
                with contextlib.suppress(Exception):  # a closed context has nothing to show
                    page.screenshot(path=str(folder / f"{prefix}-{who}-{n}.png"), full_page=True)

    def close(self) -> list[str]:
        """Close every context; return the problems seen."""
        for _who, context in self.contexts:
            with contextlib.suppress(Exception):
                context.close()
        self.contexts.clear()
        return self.watch.problems


@dataclass
class Screenshots:
    """Full-page screenshots of the main pages, kept for a person to look at."""

    folder: Path
    taken: list[Path] = field(default_factory=list)

    def take(self, page: Page, name: str) -> Path:
        """Save a full-page screenshot as `<folder>/<name>.png`."""
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


@dataclass(frozen=True)
class Axe:
    """axe-core, injected into a page to check it for accessibility violations."""

    source: str

    def violations(self, page: Page) -> list[dict[str, object]]:
        """The serious and critical violations axe-core finds on the page as it is now."""
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(self.source)
        found = page.evaluate(
            """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
                .map(v => ({id: v.id, impact: v.impact, help: v.help,
                            nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5)}))"""
        )
        return [v for v in found if v["impact"] in SERIOUS]

    def check(self, page: Page) -> None:
        """Fail on any serious or critical violation, naming the rule and the elements. A page
        shown without JavaScript is checked as a copy (see `scripted_copy`)."""
        if page.evaluate("() => matchMedia('(scripting: none)').matches"):
            with scripted_copy(page) as copy:
                bad = self.violations(copy)
        else:
            bad = self.violations(page)
        assert not bad, f"accessibility violations on {page.url}:\n" + "\n".join(
            json.dumps(v, ensure_ascii=False) for v in bad)


@contextlib.contextmanager
def scripted_copy(page: Page) -> Iterator[Page]:
    """The document a page without JavaScript shows, at its address, in a fresh context that
    runs scripts: axe-core is one, and in a context without JavaScript its timers never fire.

    The copy is served the page's HTML as it is now (also after a POST, e.g. a form shown
    again with its errors), loads the stylesheet and images with the page's cookies, and none
    of the page's own scripts, so it stays the document the person sees."""
    browser = page.context.browser
    assert browser is not None
    address, html = page.url, page.content()
    context = browser.new_context(viewport=page.viewport_size or VIEWPORT, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    try:
        # A cookie as read is one as set (Playwright types the two dicts apart).
        context.add_cookies(page.context.cookies())  # type: ignore[arg-type]
        copy = context.new_page()

        def serve(route: Route) -> None:
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)

        copy.route(lambda url: url == address, serve)
        copy.route("**/*.js", lambda route: route.abort())
        copy.goto(address)
        yield copy
    finally:
        context.close()


@dataclass(frozen=True)
class QrReader:
    """jsQR, run in the page on a screenshot of a QR code, as a phone's camera would see it."""

    source: str

    def read(self, image: Locator) -> str:
        """The text a QR code on the screen encodes."""
        png = base64.b64encode(image.screenshot()).decode()
        page = image.page
        if not page.evaluate("() => typeof window.jsQR === 'function'"):
            page.evaluate(self.source)
        text = page.evaluate(
            """async (png) => {
                const img = new Image();
                img.src = "data:image/png;base64," + png;
                await img.decode();
                const canvas = document.createElement("canvas");
                canvas.width = img.naturalWidth;
                canvas.height = img.naturalHeight;
                const context = canvas.getContext("2d");
                context.drawImage(img, 0, 0);
                const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
                const code = jsQR(pixels.data, canvas.width, canvas.height);
                return code ? code.data : null;
            }""",
            png,
        )
        assert text, "the QR code on the page could not be read"
        return str(text)
