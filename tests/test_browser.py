"""A real browser over the built site: Debian's Chromium driven by Playwright, offline.

Every page is loaded from a server on 127.0.0.1. Any request to another host is
blocked and recorded, and fails the test. Full-page screenshots go to screenshots/
(gitignored) so that a person can look at them.

Chromium missing: the tests fail when CI=true, and skip (with the reason) elsewhere.
`make test` installs it with apt-get when it is missing and the user is root.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
from conftest import ROOT, SNIPPETS
from test_exercise_first import open_all_solutions

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "screenshots"

if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
    reason = (
        f"Chromium not found at {CHROMIUM}: apt-get install chromium (as root), or set CHROMIUM"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402

pytestmark = pytest.mark.site

DOC_PAGES = sorted(p.relative_to(ROOT / "docs") for p in (ROOT / "docs").rglob("*.md"))
PAGES = [str(p.with_suffix("")) for p in DOC_PAGES] + [
    f"notebooks/{p.stem}" for p in sorted(SNIPPETS.glob("*.py")) if not p.name.startswith("_")
]


def url_path(page: str) -> str:
    return "/" if page == "index" else f"/{page}/"


def has_math(page: str) -> bool:
    """Whether the page's source has TeX that should render as math."""
    if page.startswith("notebooks/"):
        return False
    source = (ROOT / "docs" / f"{page}.md").read_text(encoding="utf-8")
    return "$" in source


# What each page must visibly show: a CSS selector and how many at least.
ANSWERS = {
    "index": [("math mtable", 1)],
    "exercises/convolution": [("math mtable", 6), ("table", 2)],
    "exercises/mle-exponential": [("math", 10), ("table", 2), ("svg:has(g#figure_1)", 1)],
    "exercises/vgg11-parameters": [("table", 3), ("svg:has(g#figure_1)", 1)],
    "exercises/influence-functions": [("table", 1), ("svg:has(g#figure_1)", 2)],
}


# The article's text outside code, scripts and styles (code may quote TeX on purpose).
PROSE_TEXT = """() => {
  const skip = "pre, code, script, style, .clipboard-copy-txt";
  const walker = document.createTreeWalker(document.querySelector("article"), NodeFilter.SHOW_TEXT);
  const parts = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.parentElement.closest(skip)) parts.push(node.textContent);
  }
  return parts.join(" ");
}"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(built_site):
    handler = functools.partial(_Quiet, directory=str(built_site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


class Visit:
    """One page load with every console error, page error and outside request recorded."""

    def __init__(self, browser, url: str):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.outside: list[str] = []
        self.page.on(
            "console",
            lambda m: self.console_errors.append(m.text) if m.type == "error" else None,
        )
        self.page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        self.page.route("**/*", self._route)
        self.page.goto(url, wait_until="load")
        self.page.wait_for_timeout(300)

    def _route(self, route):
        url = route.request.url
        host = urlparse(url).hostname
        if url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def __enter__(self) -> Visit:
        return self

    def __exit__(self, *exc) -> None:
        self.context.close()


@pytest.mark.parametrize("name", PAGES)
def test_page_in_a_real_browser(browser, server, name):
    with Visit(browser, server + url_path(name)) as visit:
        page = visit.page
        assert visit.console_errors == [], visit.console_errors
        assert visit.page_errors == [], visit.page_errors
        assert visit.outside == [], f"requests to other hosts: {visit.outside}"

        text = page.evaluate(PROSE_TEXT)
        for raw in ("$$", "\\frac", "\\begin"):
            assert raw not in text, f"raw TeX {raw!r} visible on {name}"
        if has_math(name):
            assert page.locator("article math").count() > 0, f"no rendered math on {name}"

        if name.startswith("notebooks/"):  # nbconvert's own copy buttons, one per cell
            cells = page.locator("article .jp-CodeCell[id]").count()
            assert cells > 0 and page.locator("article clipboard-copy").count() == cells
        else:  # Material's: every code block has one
            blocks = page.locator("article pre:has(> code)").count()
            buttons = page.locator("article pre .md-code__button[data-md-type='copy']").count()
            assert buttons == blocks, f"{name}: {blocks} code blocks, {buttons} copy buttons"

        open_all_solutions(page)  # the answers are folded until the reader asks
        for selector, at_least in ANSWERS.get(name, []):
            found = page.locator(f"article {selector}")
            assert found.count() >= at_least, f"{name}: {found.count()} × {selector!r}"
            found.first.wait_for(state="visible", timeout=10_000)

        if name.startswith("notebooks/"):
            assert page.locator(".jp-OutputArea-output").count() > 0, "notebook not executed"
            assert page.locator(".notebook-downloads a").count() == 2

        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name.replace('/', '__')}.png"), full_page=True)


def test_search_finds_vgg(browser, server):
    with Visit(browser, server + "/") as visit:
        page = visit.page
        search = page.locator("input.md-search__input")
        search.click()
        search.press_sequentially("VGG", delay=50)  # typed, as a reader would
        result = page.locator(".md-search-result__item a[href*='/exercises/vgg11-parameters/']")
        result = result.first
        result.wait_for(state="visible", timeout=15_000)
        result.click()
        page.wait_for_url("**/vgg11-parameters/**", timeout=15_000)
        assert "VGG11" in page.inner_text("h1")
        assert visit.outside == [] and visit.page_errors == []


def test_palette_toggle_switches_light_and_dark(browser, server):
    with Visit(browser, server + "/exercises/convolution/") as visit:
        page = visit.page
        scheme = lambda: page.get_attribute("body", "data-md-color-scheme")  # noqa: E731
        first = scheme()
        page.locator("label.md-header__button[for^='__palette']:visible").first.click()
        page.wait_for_timeout(200)
        second = scheme()
        assert {first, second} == {"default", "slate"}, (first, second)
        page.locator("label.md-header__button[for^='__palette']:visible").first.click()
        page.wait_for_timeout(200)
        assert scheme() == first
