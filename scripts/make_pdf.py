"""make pdf: print the handouts from the built site, in the Chromium the tests use.

- ``sheet.pdf``: each exercise's problem and hints; no solutions, no "Check your answer"
  forms (their expected values never reach the page that is printed).
- ``solutions.pdf``: everything, every fold open.

Each exercise page is printed on its own (so each starts on a new page) with Playwright's
``page.pdf()``, in the print styles of docs/assets/exercise.css: no navigation, header,
search or footer; tabs print their result, not the code; code blocks are left out; the
math is KaTeX's HTML, so it prints as vector glyphs. A footer numbers the pages of each
exercise. pypdf merges the four, and fixes the metadata dates to SOURCE_DATE_EPOCH, so
two runs give the same text (and, with the same Chromium, the same bytes).

    python scripts/make_pdf.py [--site site] [--out site]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import io
import os
import sys
import threading
import time
from pathlib import Path

from chromium import ARGS, CHROMIUM
from playwright.sync_api import sync_playwright
from pypdf import PdfReader, PdfWriter

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = [
    ("Exercise 1", "exercises/mle-exponential/"),
    ("Exercise 2", "exercises/convolution/"),
    ("Exercise 3", "exercises/vgg11-parameters/"),
    ("Exercise 4", "exercises/influence-functions/"),
]
EDITIONS = {
    "sheet.pdf": "problems and hints",
    "solutions.pdf": "problems, hints and solutions",
}

# Run in the page before printing. The sheet loses what it must not show.
# Links point to the published site (the canonical address), not to the local server.
PREPARE = """(edition) => {
  const article = document.querySelector("article");
  const canonical = document.querySelector("link[rel=canonical]");
  const base = canonical ? canonical.href : document.baseURI;
  article.querySelectorAll("a[href]").forEach((a) => {
    a.href = new URL(a.getAttribute("href"), base).href;
  });
  if (edition === "sheet.pdf") {
    article.querySelectorAll("details.solution, .self-check form, .solutions-only")
      .forEach((el) => el.remove());
  }
  article.querySelectorAll("details").forEach((d) => { d.open = true; });
}"""

FOOTER = """<div style="font: 8px sans-serif; width: 100%; margin: 0 12mm; color: #444;
  display: flex; justify-content: space-between;">
  <span>{site} · {title} · {edition}</span>
  <span>page <span class="pageNumber"></span> of <span class="totalPages"></span></span>
</div>"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(site: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_Quiet, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/"


def print_page(browser, url: str, edition: str, title: str, site_name: str) -> bytes:
    context = browser.new_context(viewport={"width": 1000, "height": 1400})
    page = context.new_page()
    outside: list[str] = []

    def route(request_route):
        if request_route.request.url.startswith(("http://127.0.0.1", "data:", "blob:")):
            request_route.continue_()
        else:
            outside.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    page.goto(url, wait_until="load")
    page.evaluate("async () => { await window.__md_loaded; }")  # scripts: after the first frame
    page.evaluate("document.fonts.ready")
    page.evaluate(PREPARE, edition)
    page.emulate_media(media="print")
    pdf = page.pdf(
        format="A4",
        print_background=True,
        display_header_footer=True,
        header_template="<span></span>",
        footer_template=FOOTER.format(site=site_name, title=title, edition=EDITIONS[edition]),
        margin={"top": "14mm", "bottom": "16mm", "left": "14mm", "right": "14mm"},
        outline=False,
        tagged=True,
    )
    context.close()
    if outside:
        raise RuntimeError(f"{url} asked other hosts for {outside}")
    return pdf


def merge(parts: list[bytes], title: str) -> bytes:
    """One PDF from the parts, with fixed metadata (dates from SOURCE_DATE_EPOCH)."""
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "1767225600"))
    stamp = time.strftime("D:%Y%m%d%H%M%SZ", time.gmtime(epoch))
    writer = PdfWriter()
    for part in parts:
        writer.append(PdfReader(io.BytesIO(part)))
    writer.add_metadata(
        {
            "/Title": title,
            "/Producer": "scripts/make_pdf.py (Chromium, pypdf)",
            "/Creator": "scripts/make_pdf.py",
            "/CreationDate": stamp,
            "/ModDate": stamp,
        }
    )
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def make_pdfs(site: Path, out: Path) -> list[Path]:
    if not (site / "index.html").is_file():
        raise SystemExit(f"{site} holds no built site: run `make build` first")
    site_name = "Exercise sheet, verified"
    editions = dict(EDITIONS)
    if not (site / "notebooks").is_dir():  # built with SOLUTIONS=off: no solutions to print
        print("problems-only site (SOLUTIONS=off): writing sheet.pdf only")
        editions.pop("solutions.pdf")
    httpd, base = serve(site)
    written = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for edition, what in editions.items():
                parts = [
                    print_page(browser, base + path, edition, title, site_name)
                    for title, path in EXERCISES
                ]
                target = out / edition
                target.write_bytes(merge(parts, f"{site_name}: {what}"))
                written.append(target)
            browser.close()
    finally:
        httpd.shutdown()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "site", help="the built site")
    parser.add_argument("--out", type=Path, help="where the PDFs go (default: the site)")
    args = parser.parse_args(argv)
    out = args.out or args.site
    out.mkdir(parents=True, exist_ok=True)
    for path in make_pdfs(args.site, out):
        pages = len(PdfReader(path).pages)
        print(f"wrote {path} ({pages} pages, {path.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
