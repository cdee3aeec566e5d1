"""Say, in one line, which address the site is built for (site_url, from SITE_URL).

The address decides the canonical links, the sitemap and where the 404 page loads its
CSS and JavaScript from, so a build for the wrong address is easy to spot in the log.

Under `mkdocs serve` (`make serve`) the home page's links to the printed handouts
(sheet.pdf, solutions.pdf) would be 404s: `make pdf` prints them from a built site, as the
Pages workflow does before publishing. There the links give way to a line that says how to
make them.
"""

from __future__ import annotations

import logging
import os
import re

log = logging.getLogger("mkdocs.hooks.publish")


def on_config(config):
    source = "SITE_URL" if os.environ.get("SITE_URL") else "the default in mkdocs.yml"
    log.info("Building for %s (from %s)", config.site_url, source)
    return config


_command: list[str] = []
HANDOUTS = re.compile(r'<p class="handouts">.*?</p>', re.DOTALL)
HANDOUTS_WHEN_SERVED = (
    '<p class="handouts">To print: the sheet (problems and hints) and the solutions are PDFs '
    "that <code>make pdf</code> prints into <code>site/</code>; the published site links them "
    "here.</p>"
)


def on_startup(command, dirty):
    _command[:] = [command]


def on_page_content(html_text: str, page, config, files) -> str:
    if _command == ["serve"] and page.file.src_uri == "index.md":
        html_text, count = HANDOUTS.subn(HANDOUTS_WHEN_SERVED, html_text, count=1)
        if count != 1:
            log.error("index.md: no handouts line (hooks/publish.py)")
    return html_text
