"""What each page really costs a reader: the bytes Chromium fetches to show it, gzipped.

Every page of the built site is loaded in Debian's Chromium (as the browser tests do);
every file it requests from the site (HTML, CSS, JavaScript, fonts, the search index) is
counted once, raw and gzipped (level 6, as web servers such as GitHub Pages send it).
Usage: python scripts/page_weight.py site/   (prints JSON)
"""

from __future__ import annotations

import functools
import gzip
import http.server
import json
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urlparse

from chromium import ARGS, CHROMIUM


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def measure(browser, base: str, site: Path) -> dict:
    """Load every page of `site` (served at `base`) in `browser`; the bytes it fetched."""
    weights = {}
    for folder in sorted(p.parent.relative_to(site) for p in site.rglob("index.html")):
        url = "/" if str(folder) == "." else f"/{folder}/"
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        fetched: set[str] = set()
        page.on("requestfinished", lambda r, f=fetched: f.add(urlparse(r.url).path))
        page.goto(base + url, wait_until="networkidle")
        # The search index comes when the reader first turns to search (hooks/theme_fixes.py):
        # counted too, as for a reader who searches. On a busy machine "network idle" can
        # come before it arrives, and the page would be measured without it.
        page.focus("input.md-search__input")
        for _ in range(100):
            if any(path.endswith("search_index.json") for path in fetched):
                break
            page.wait_for_timeout(100)
        context.close()
        files = []
        for path in sorted(fetched):
            local = site / unquote(path).lstrip("/")
            if local.is_dir():
                local = local / "index.html"
            if local.is_file():
                files.append(local)
        raw = sum(f.stat().st_size for f in files)
        gz = sum(len(gzip.compress(f.read_bytes(), 6)) for f in files)
        weights[url] = {"raw_KB": raw / 1000, "gzip_KB": gz / 1000, "files": len(files)}
    return weights


def page_weights(site: Path) -> dict:
    """`measure`, with its own local server and Chromium."""
    from playwright.sync_api import sync_playwright

    handler = functools.partial(_Quiet, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                return measure(browser, f"http://127.0.0.1:{httpd.server_address[1]}", site)
            finally:
                browser.close()
    finally:
        httpd.shutdown()


if __name__ == "__main__":
    print(json.dumps(page_weights(Path(sys.argv[1] if len(sys.argv) > 1 else "site")), indent=1))
