"""The built site as GitHub Pages serves it: under a project path, with 404.html for every
missing path (status 404), and nothing requested outside the site.

`make test` builds for http://127.0.0.1:8000/exercise-sheet/ (mkdocs.yml's default
site_url); the Pages workflow builds for the real address. Here the site is served under
the path of whatever address it was built for.
"""

from __future__ import annotations

import http.server
import re
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urljoin, urlparse

import pytest
from conftest import ROOT, load_hook
from test_browser import CHROMIUM as _  # noqa: F401  (skips when Chromium is missing)

pytestmark = pytest.mark.site


def site_prefix(site: Path) -> str:
    """The path the site was built for, from its canonical links: e.g. /exercise-sheet/.
    A site built without site_url has none; it is served under /exercise-sheet/ anyway."""
    html = (site / "index.html").read_text(encoding="utf-8")
    canonical = re.search(r'<link rel="canonical" href="([^"]+)"', html)
    return urlparse(canonical.group(1)).path if canonical else "/exercise-sheet/"


class PagesHandler(http.server.SimpleHTTPRequestHandler):
    """Serve site/ under `prefix`; anything missing gets 404.html with status 404."""

    site: Path
    prefix: str

    def log_message(self, *args):
        pass

    def _local(self) -> Path | None:
        path = urlparse(self.path).path
        if not path.startswith(self.prefix):
            return None
        local = self.site / path[len(self.prefix) :]
        if local.is_dir():
            local = local / "index.html"
        return local if local.is_file() else None

    def do_GET(self):
        local = self._local()
        if local is None:
            body = (self.site / "404.html").read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.path = "/" + str(local.relative_to(self.site))
        super().do_GET()

    def translate_path(self, path):
        return str(self.site / path.lstrip("/"))


@pytest.fixture(scope="module")
def pages_server(built_site):
    prefix = site_prefix(built_site)
    handler = type("Handler", (PagesHandler,), {"site": built_site, "prefix": prefix})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", prefix
    httpd.shutdown()


def sitemap_paths(site: Path) -> list[str]:
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    root = ET.parse(site / "sitemap.xml").getroot()
    return [urlparse(loc.text.strip()).path for loc in root.iterfind("s:url/s:loc", ns)]


def load(browser, url: str):
    """Load a page; return it (in a fresh context) and the requests that failed or left."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    bad: list[str] = []
    origin = urlparse(url)._replace(path="").geturl()
    page.on("requestfailed", lambda r: bad.append(f"failed: {r.url}"))
    page.on("response", lambda r: bad.append(f"{r.status}: {r.url}") if r.status >= 400 else None)

    def route(r):
        if r.request.url.startswith(origin + "/") or r.request.url.startswith("data:"):
            r.continue_()
        else:
            bad.append(f"outside the site: {r.request.url}")
            r.abort()

    page.route("**/*", route)
    response = page.goto(url, wait_until="networkidle")
    return context, page, response, bad


def test_sitemap_lists_every_page(built_site):
    paths = sitemap_paths(built_site)
    prefix = site_prefix(built_site)
    pages = sorted(p.parent.relative_to(built_site) for p in built_site.rglob("index.html"))
    expected = sorted(prefix + ("" if str(p) == "." else f"{p}/") for p in pages)
    assert sorted(paths) == expected
    assert any("/notebooks/" in p for p in paths) and any("/exercises/" in p for p in paths)


def test_every_page_loads_under_the_project_path(built_site, pages_server, browser):
    base, prefix = pages_server
    for path in sitemap_paths(built_site):
        assert path.startswith(prefix)
        context, page, response, bad = load(browser, base + path)
        try:
            assert response.status == 200, f"{path}: {response.status}"
            assert bad == [], f"{path}: {bad}"
            canonical = page.locator('link[rel="canonical"]').get_attribute("href")
            assert urlparse(canonical).path == path, (path, canonical)
            assert page.locator('meta[name="description"]').count() == 1, path
            if "/exercises/" in path:
                for prop in ("og:title", "og:description", "og:url"):
                    assert page.locator(f'meta[property="{prop}"]').count() == 1, (path, prop)
        finally:
            context.close()


def test_missing_nested_path_shows_the_styled_404_page(pages_server, browser):
    base, prefix = pages_server
    context, page, response, bad = load(browser, base + prefix + "exercises/no/such/page/")
    try:
        assert response.status == 404
        # The only failing response is the page itself; its CSS and JS all loaded.
        assert [b for b in bad if "no/such/page" not in b] == [], bad
        assert "404" in page.inner_text("article")
        # Styled: Material's stylesheet applies (the header is a fixed bar, not plain text).
        assert page.evaluate("getComputedStyle(document.querySelector('.md-header')).position") in (
            "sticky",
            "fixed",
        )
        # Search works: typed, it finds the VGG page.
        search = page.locator("input.md-search__input")
        search.click()
        search.press_sequentially("VGG", delay=50)
        hit = page.locator(".md-search-result__item a[href*='vgg11-parameters']").first
        hit.wait_for(state="visible", timeout=15_000)
        assert urlparse(hit.get_attribute("href")).path.startswith(prefix)
        page.keyboard.press("Escape")
        # The link home goes to the project path's home page.
        home = page.locator("a.md-header__button.md-logo")
        assert urlparse(urljoin(page.url, home.get_attribute("href"))).path == prefix
        home.click()
        page.wait_for_load_state("networkidle")
        assert urlparse(page.url).path == prefix
        assert "Exercise sheet" in page.title()
        assert bad == [] or all("no/such/page" in b for b in bad), bad
    finally:
        context.close()


def test_site_url_comes_from_the_environment():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert re.search(r"^site_url: !ENV \[SITE_URL, ", config, re.MULTILINE)


def test_served_home_page_says_how_to_make_the_handouts_instead_of_linking_404s():
    """`make serve` has no sheet.pdf or solutions.pdf (`make pdf` prints them): the home
    page says how to make them; a build (`make pdf`, the Pages workflow) links them."""
    hook = load_hook("publish")
    source = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    line = hook.HANDOUTS.search(source).group()
    home = SimpleNamespace(file=SimpleNamespace(src_uri="index.md"))
    other = SimpleNamespace(file=SimpleNamespace(src_uri="verification.md"))
    html = f"<h1>Home</h1>\n{line}\n<p>more</p>"

    hook.on_startup(command="build", dirty=False)
    assert hook.on_page_content(html, home, None, None) == html  # built: the links stay
    hook.on_startup(command="serve", dirty=False)
    served = hook.on_page_content(html, home, None, None)
    assert ".pdf" not in served and "make pdf" in served and "<p>more</p>" in served
    assert hook.on_page_content(html, other, None, None) == html
