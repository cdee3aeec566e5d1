"""`make build SOLUTIONS=off`: a problems-only site, for a teacher to publish before the
deadline. Without SOLUTIONS=off this hook does nothing.

Everything still runs first: every page block and notebook cell executes, KaTeX renders
every formula, links and anchors are validated, so a wrong number fails this build as it
fails the normal one. Only then (``on_env``, after hooks/katex_math.py, before the search
plugin indexes the pages) this hook removes from every page

- the solution folds (``details.solution``), the home page's answer folds included;
- the "Check your answer" boxes (``.self-check``: their forms hold the expected values);
- anything marked ``.solutions-only`` (the link to solutions.pdf);
- the table-of-contents entries whose headings went with them;

and leaves the executed notebooks and their downloads out of the site (they hold the
answers): they are executed by hooks/notebooks.py in ``on_files`` as always, then marked
excluded, and the "Solved notebooks" section leaves the navigation. Hints stay, and so do the
worksheets (``<name>-worksheet.ipynb``: the problem, the data and "your turn" cells).
"""

from __future__ import annotations

import logging
import os
import re

from mkdocs.structure.files import InclusionLevel

log = logging.getLogger("mkdocs.hooks.solutions")

# (tag, class) of what a problems-only page leaves out.
REMOVE = [
    ("details", "solution"),
    ("div", "self-check"),
    ("span", "solutions-only"),
    ("button", "solutions-toggle"),
]
# An exercise page's "Show all solutions" button, under its title. It is in the HTML, not
# added by a script after the first paint, so nothing on the first screen moves when the
# script runs (layout shift); docs/assets/solutions.js makes it work.
TOGGLE = (
    '<button type="button" class="md-button solutions-toggle" aria-pressed="false">'
    "Show all solutions</button>"
)
ID = re.compile(r'\bid="([^"]+)"')


def enabled() -> bool:
    return os.environ.get("SOLUTIONS", "on").strip().lower() == "off"


def remove_elements(html: str, tag: str, class_name: str) -> tuple[str, int]:
    """Remove every ``<tag>`` whose class list has ``class_name``, with its content
    (nested elements of the same tag included). Returns the HTML and how many went."""
    start = re.compile(rf'<{tag}\b[^>]*\bclass="(?:[^"]*\s)?{class_name}(?:\s[^"]*)?"[^>]*>')
    either = re.compile(rf"<{tag}\b[^>]*>|</{tag}\s*>")
    out, pos, count = [], 0, 0
    while (match := start.search(html, pos)) is not None:
        depth, end = 1, match.end()
        while depth:
            found = either.search(html, end)
            if found is None:  # unbalanced: leave the rest as it is
                return "".join(out) + html[pos:], count
            depth += -1 if found.group().startswith("</") else 1
            end = found.end()
        out.append(html[pos : match.start()])
        pos, count = end, count + 1
    return "".join(out) + html[pos:], count


def _prune_toc(items: list, ids: set[str]) -> list:
    kept = []
    for item in items:
        if item.id in ids:
            item.children = _prune_toc(item.children, ids)
            kept.append(item)
    return kept


def on_config(config):
    if enabled():
        log.info("SOLUTIONS=off: building the problems-only site (no solutions, no notebooks)")
        config.nav = [
            entry
            for entry in config.nav or []
            if not (isinstance(entry, dict) and "Solved notebooks" in entry)
        ]
    return config


def on_page_content(html_text: str, page, config, files) -> str:
    """Put the toggle under the title of each exercise page that has solution folds."""
    has_folds = re.search(r'<details class="[^"]*\bsolution\b', html_text)
    if page.file.src_uri.startswith("exercises/") and has_folds and "</h1>" in html_text:
        html_text = html_text.replace("</h1>", "</h1>\n" + TOGGLE, 1)
    return html_text


def on_files(files, config):
    """After hooks/notebooks.py executed every snippet: leave the notebooks out."""
    if enabled():
        for file in files:
            worksheet = file.src_uri.endswith("-worksheet.ipynb")  # no answers: it stays
            if file.src_uri.startswith("notebooks/") and not worksheet:
                file.inclusion = InclusionLevel.EXCLUDED
    return files


def on_env(env, config, files):
    if not enabled():
        return env
    removed = 0
    for file in files.documentation_pages():
        page = file.page
        if page is None or page.content is None:
            continue
        for tag, class_name in REMOVE:
            page.content, count = remove_elements(page.content, tag, class_name)
            removed += count
        page.toc.items = _prune_toc(page.toc.items, set(ID.findall(page.content)))
    log.info("SOLUTIONS=off: removed %d solution folds, answer boxes and links", removed)
    return env
