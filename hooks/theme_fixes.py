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
- Speed: Material's bundle adds a `<meta name="color-scheme">` to the page's head on every
  load, then sets its content. Chromium restyles every element of the page for each of the
  two changes (its trace names them "PlatformColorChange"). The built site's bundle no
  longer puts the element in the page; the root element takes its colour scheme from the
  palette in docs/assets/extra.css instead (what the meta was for: the page's scroll bar
  and background in the dark palette).
- Weight: Material's bundle downloads the search index (42 KB gzipped, the largest file a
  page fetches after its own HTML) on every page load, whether or not the reader
  searches. The built bundle fetches it when the search form first gets the focus (a
  click or tap on it, or a search key: Material's keys put the focus there), or at once
  on a page opened from a search result (`?h=`: the terms to highlight need the index).

Material's bundle stays a plain `<script>` at the end of `<body>`. Tried with `defer`: the
verification page then shifted by 0.06 on load, which looked like the bundle wrapping its
tables after the first paint; a shift of that size later showed up without the bundle at
all (a KaTeX font arriving late), so `defer` remains unmeasured rather than refuted.

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

# Material's palette component (bundle, `function li`): the element it creates, then puts in
# the head. Only the second half goes: the component still sets the (detached) element's
# content, which then changes nothing.
COLOR_SCHEME_META = 'let o=x("meta",{name:"color-scheme"});document.head.appendChild(o);'
DETACHED_META = 'let o=x("meta",{name:"color-scheme"});'


# Material's start-up (bundle, end): the search index, `ks()`, fetched as soon as the bundle
# runs on a page with a search form. `F` is rxjs's Observable (`to`, the XHR wrapper,
# returns one). The lazy version subscribes to the index (one request, shared: `ks()` ends
# in shareReplay) when the form first gets the focus.
EAGER_INDEX = 'zi=document.forms.namedItem("search")?ks():tt'
LAZY_INDEX = (
    'zi=document.forms.namedItem("search")?((i,f)=>new F(o=>{let s,g=()=>{s=s||(i=i||ks())'
    ".subscribe(o)};/[?&]h=/.test(location.search)||f.contains(document.activeElement)?g():"
    'f.addEventListener("focusin",g,{once:!0});return()=>{f.removeEventListener("focusin",g),'
    's&&s.unsubscribe()}}))(void 0,document.forms.namedItem("search")):tt'
)
OBSERVABLE = "function to(e,t){return new F("


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


def _theme_asset(config, folder: str, pattern: str) -> Path | None:
    """Material's own copy of an asset (not the site's, which a rebuild may find fixed)."""
    found = [p for d in config.theme.dirs for p in sorted(Path(d, "assets", folder).glob(pattern))]
    return found[0] if found else None


def _patch(
    config, folder: str, pattern: str, old: str, new: str, what: str, needs: str = ""
) -> None:
    """Replace `old` by `new` in the built copy of a Material asset, if Material's own copy
    has `old` (and `needs`, code the replacement relies on)."""
    theme_file = _theme_asset(config, folder, pattern)
    source = theme_file.read_text(encoding="utf-8") if theme_file else ""
    if theme_file is None or old not in source or needs not in source:
        log.error("Material's %s changed (%s); hooks/theme_fixes.py no longer fixes it",
                  what, theme_file)  # fmt: skip
        return
    built = Path(config.site_dir, "assets", folder, theme_file.name)
    text = built.read_text(encoding="utf-8")
    built.write_text(text.replace(old, new), encoding="utf-8")


def on_post_build(config) -> None:
    _patch(config, "stylesheets", "palette.*.min.css", SWITCHING_RULE, "",
           "palette style sheet: its [data-md-color-switching] rule")  # fmt: skip
    _patch(config, "javascripts", "bundle.*.min.js", COLOR_SCHEME_META, DETACHED_META,
           "bundle: the <meta name=color-scheme> it adds")  # fmt: skip
    _patch(config, "javascripts", "bundle.*.min.js", EAGER_INDEX, LAZY_INDEX,
           "bundle: how it loads the search index", needs=OBSERVABLE)  # fmt: skip
