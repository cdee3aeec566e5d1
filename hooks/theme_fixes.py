"""Fixes to Material's own HTML, JavaScript loading and CSS that overrides/main.html cannot make.

- Accessibility: the search overlay is `role="dialog"` without a name (axe:
  aria-dialog-name, which Lighthouse's accessibility score counts). It gets
  `aria-label="Search"`.
- Speed: Material's palette style sheet has one rule,
  `[data-md-color-switching] * {transition-duration: 0s}`, keyed on an attribute that the
  bundle puts on `<body>` and takes off again on every page load. Because of that rule,
  each of the two changes makes the browser restyle every element of the page: on a long
  notebook page about 0.6 s each on a phone. The rule is removed from the built site's
  copy; overrides/main.html switches transitions off itself, only while the reader flips
  the palette toggle.

Material's bundle stays a plain `<script>` at the end of `<body>`. Tried with `defer`: the
first paint could then come before the bundle had wrapped the tables in their scroll boxes,
and the wrapping moved them (a layout shift of 0.06 on the verification page).

Each fix checks that Material's markup is what it expects: if not, the build says so (an
error under --strict) instead of shipping a page without the fix.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.theme_fixes")

SEARCH_DIALOG = '<div class="md-search" data-md-component="search" role="dialog">'
NAMED = '<div class="md-search" data-md-component="search" role="dialog" aria-label="Search">'
SWITCHING_RULE = (
    "[data-md-color-switching] *,[data-md-color-switching] :after,"
    "[data-md-color-switching] :before{transition-duration:0s!important}"
)


def fix(output: str, where: str) -> str:
    if SEARCH_DIALOG not in output:
        log.error("%s: Material's search dialog markup changed; hooks/theme_fixes.py no longer "
                  "names it", where)  # fmt: skip
    return output.replace(SEARCH_DIALOG, NAMED, 1)


def on_post_page(output: str, page, config) -> str:
    return fix(output, page.file.src_uri)


def on_post_template(output_content: str, template_name: str, config) -> str:
    """The pages made from a template alone: 404.html (sitemap.xml is not HTML)."""
    return fix(output_content, template_name) if template_name.endswith(".html") else output_content


def on_post_build(config) -> None:
    # Checked against the theme's own sheet, so that a rebuild (mkdocs serve), which may
    # find the site's copy already fixed, still knows whether Material changed.
    theme_sheets = [
        sheet
        for d in config.theme.dirs
        for sheet in sorted(Path(d, "assets", "stylesheets").glob("palette.*.min.css"))
    ]
    if not theme_sheets or SWITCHING_RULE not in theme_sheets[0].read_text(encoding="utf-8"):
        log.error("Material's palette style sheet has no [data-md-color-switching] rule any "
                  "more (%s); hooks/theme_fixes.py no longer removes it", theme_sheets)  # fmt: skip
        return
    built = Path(config.site_dir, "assets", "stylesheets", theme_sheets[0].name)
    css = built.read_text(encoding="utf-8")
    built.write_text(css.replace(SWITCHING_RULE, ""), encoding="utf-8")
