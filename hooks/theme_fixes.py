"""Accessibility fixes to Material's own HTML that CSS and overrides/main.html cannot make.

- The search overlay is `role="dialog"` without a name (axe: aria-dialog-name, which
  Lighthouse's accessibility score counts). It gets `aria-label="Search"`. If Material's
  markup changes and the fix no longer applies, the build says so (an error in --strict).
"""

from __future__ import annotations

import logging

log = logging.getLogger("mkdocs.hooks.theme_fixes")

SEARCH_DIALOG = '<div class="md-search" data-md-component="search" role="dialog">'
NAMED = '<div class="md-search" data-md-component="search" role="dialog" aria-label="Search">'


def on_post_page(output: str, page, config) -> str:
    if SEARCH_DIALOG not in output:
        log.error("%s: Material's search dialog markup changed; hooks/theme_fixes.py no longer "
                  "names it", page.file.src_uri)  # fmt: skip
        return output
    return output.replace(SEARCH_DIALOG, NAMED, 1)
