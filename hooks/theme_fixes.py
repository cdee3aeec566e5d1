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
- Speed: Material's main style sheet sets `*, ::before, ::after {box-sizing: inherit}`.
  Because a ::before rule matches every element, Chromium computes a ::before and an
  ::after style for every element as it styles it. The built copy keeps the rule for the
  elements only (EVERY_BOX below).
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

- Speed: the page's scripts (Material's bundle, then extra_javascript) are loaded after the
  first contentful paint (its PerformanceObserver entry, which comes once the frame is on
  the screen), in order, by one small inline script in their place. Nothing in
  them draws the page: the root's classes are set in the head (overrides/main.html), the
  palette by Material's inline head script, the formulas are HTML. As a parser-blocking
  `<script>` at the end of `<body>` the bundle was fetched and run before the first paint
  whenever it arrived before the parser got there: its 35 KB and about 30-45 ms of
  start-up (unthrottled; four times that on a phone) came before anything was drawn.
  Material's bundle waits for DOMContentLoaded, which has fired by then; the built bundle
  starts at once when the document is already parsed (in its own task, so its start-up
  is not one long task with its evaluation). A hidden tab (no frames) loads them at once;
  a page that paints nothing contentful, 3 s after its load event. Before they have run, no
  form is sent (it would reload the page): an answer to "Check your answer" is checked
  once they have, a search stays typed in for Material to read, and a press of "Show all
  solutions" is made again. The palette
  toggle's label, which Material's HTML hides until the bundle shows it, is shown as the
  header is parsed (the bundle's own choice of palette), so it does not pop in later.
  `window.__md_loaded`, set as the page is parsed, is a promise that settles once the last
  of them has run (the tests wait for it).
- Speed: the built bundle starts with V8's compile hint `//# allFunctionsCalledOnLoad`:
  Chromium compiles all of it on a background thread while it downloads, instead of each
  function on the main thread when it is first called. The bundle's evaluation on the
  influence notebook, unthrottled, median of 7 loads: 64 -> 23 ms.

Each fix checks that Material's markup is what it expects: if not, the build says so (an
error under --strict) instead of shipping a page without the fix.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.theme_fixes")

SEARCH_DIALOG = '<div class="md-search" data-md-component="search" role="dialog">'
NAMED = '<div class="md-search" data-md-component="search" role="dialog" aria-label="Search">'
SWITCHING_RULE = (
    "[data-md-color-switching] *,[data-md-color-switching] :after,"
    "[data-md-color-switching] :before{transition-duration:0s!important}"
)

# Material's main style sheet: every element and every ::before and ::after inherits its
# box-sizing (`html` is border-box). A ::before rule that matches every element makes
# Chromium compute a ::before style for every element, and an ::after style, though almost
# none has content. The elements keep the rule. A pseudo-element is now content-box, which
# changes its size only if it has both a set size and padding or a border: none that this
# site draws has (every drawn ::before and ::after box, and full-page screenshots, on every
# page, at 1280 and 390 px, in both palettes, with the folds, the drawer and search open,
# were the same before and after).
EVERY_BOX = "*,:after,:before{box-sizing:inherit}"
ELEMENT_BOXES = "*{box-sizing:inherit}"

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

# Material's start-up (bundle, `function an`): `document$` emits on DOMContentLoaded only.
# Loaded after the first paint (LATE_SCRIPTS), the bundle comes after that event: it emits
# at once then, in a task of its own.
DOM_READY = 'h(document,"DOMContentLoaded",{once:!0}).subscribe(()=>e.next(document))'
DOM_READY_LATE = f'(document.readyState==="loading"?{DOM_READY}:setTimeout(()=>e.next(document)))'

# V8's explicit compile hint: the whole file is compiled eagerly, off the main thread.
BUNDLE_START = '"use strict";(()=>{'
COMPILE_HINT = "//# allFunctionsCalledOnLoad\n"

# The scripts as Material's base.html writes them: its bundle, then each extra_javascript
# (deferred in mkdocs.yml), at the end of <body>.
SCRIPTS = re.compile(
    r'<script src="(?P<bundle>[^"]*/javascripts/bundle\.[0-9a-f]+\.min\.js)"></script>'
    r'(?P<extra>(?:\s*<script src="[^"]*" defer></script>)*)'
)
EXTRA_SRC = re.compile(r'<script src="([^"]*)" defer></script>')
LATE_SCRIPTS = (
    "<script>{{let go,started,ready;window.__md_loaded=new Promise((done)=>go=done);"
    "__md_loaded.then(()=>ready=!0,()=>{{}});"
    "const load=()=>started||(started=!0,go(Promise.all({urls}.map((src)=>new Promise("
    "(done,fail)=>document.body.append(Object.assign(document.createElement('script'),"
    "{{src,async:!1,onload:done,onerror:()=>fail(new Error('not loaded: '+src))}})))))"
    # settled after the bundle's start-up too (document$ emits in a task of its own)
    ".then(()=>new Promise((done)=>setTimeout(done)))));"
    # Before the scripts have run, a form is not sent (it would reload the page): an answer
    # to check is checked once they have; a search stays typed in (Material reads it then).
    # A press of the solutions toggle is made again once they have run.
    "addEventListener('submit',(e)=>{{const f=e.target;ready||(e.preventDefault(),load(),"
    "f.matches('.self-check-form')&&__md_loaded.then(()=>f.requestSubmit()))}},!0);"
    "addEventListener('click',(e)=>{{const b=!ready&&e.target.closest?.('.solutions-toggle');"
    "b&&(load(),__md_loaded.then(()=>b.click()))}},!0);"
    "if(document.visibilityState==='hidden'"
    "||!window.PerformanceObserver?.supportedEntryTypes?.includes('paint'))load();"
    "else{{new PerformanceObserver((list,seen)=>list.getEntriesByName('first-contentful-paint')"
    ".length&&(seen.disconnect(),setTimeout(load))).observe({{type:'paint',buffered:!0}});"
    "addEventListener('visibilitychange',load,{{once:!0}});"
    "addEventListener('load',()=>setTimeout(load,3e3))}}}}"
    "</script>"
)
# Material's palette toggle: the label of the palette in use is hidden in the HTML until the
# bundle shows it. Shown as the header is parsed instead, by the bundle's own choice (`us`):
# the saved palette, else the first whose media query matches.
PALETTE_FORM = '<form class="md-header__option" data-md-component="palette">'
PALETTE_LABEL = (
    "<script>{const i=document.querySelectorAll('input[name=__palette]'),"
    "s=__md_get('__palette'),k=s?s.index:[...i].findIndex((x)=>"
    "matchMedia(x.getAttribute('data-md-color-media')).matches),"
    "l=i[Math.max(0,Math.min(k,i.length-1))]?.nextElementSibling;"
    "l instanceof HTMLElement&&(l.hidden=!1)}</script>"
)


def fix(output: str, where: str) -> str:
    if SEARCH_DIALOG not in output:
        log.error("%s: Material's search dialog markup changed; hooks/theme_fixes.py no longer "
                  "names it", where)  # fmt: skip
    return show_palette_toggle(load_scripts_late(output.replace(SEARCH_DIALOG, NAMED, 1), where))


def show_palette_toggle(output: str) -> str:
    """The palette toggle's label, shown as the header is parsed (PALETTE_LABEL)."""
    start = output.find(PALETTE_FORM)
    end = output.find("</form>", start)
    if start < 0 or end < 0:
        return output  # a page without the toggle
    end += len("</form>")
    return output[:end] + PALETTE_LABEL + output[end:]


def load_scripts_late(output: str, where: str) -> str:
    """Material's bundle and the extra scripts: loaded after the first paint (LATE_SCRIPTS)."""
    found = list(SCRIPTS.finditer(output))
    if len(found) != 1:
        log.error("%s: Material's <script> for its bundle changed (found %d); "
                  "hooks/theme_fixes.py no longer loads it after the first paint",
                  where, len(found))  # fmt: skip
        return output
    match = found[0]
    urls = [match["bundle"], *EXTRA_SRC.findall(match["extra"])]
    loader = LATE_SCRIPTS.format(urls=json.dumps(urls, separators=(",", ":")))
    return output[: match.start()] + loader + output[match.end() :]


def on_post_page(output: str, page, config) -> str:
    return fix(output, page.file.src_uri)


def on_post_template(output_content: str, template_name: str, config) -> str:
    """The pages made from a template alone: 404.html (sitemap.xml is not HTML)."""
    return fix(output_content, template_name) if template_name.endswith(".html") else output_content


def _theme_asset(config, folder: str, pattern: str) -> Path | None:
    """Material's own copy of an asset (not the site's, which a rebuild may find fixed)."""
    found = [p for d in config.theme.dirs for p in sorted(Path(d, "assets", folder).glob(pattern))]
    return found[0] if found else None


def _patch(config, folder: str, pattern: str, fixes: list[tuple[str, str, str, str]]) -> None:
    """Write the built copy of a Material asset as Material's own copy with each fix
    (old, new, what, needs) made: `old` replaced by `new` if Material's copy has `old` (and
    `needs`, code the replacement relies on). Made from Material's copy each time, so a
    build that keeps the site's copy (`--dirty`) does not fix it twice."""
    theme_file = _theme_asset(config, folder, pattern)
    text = theme_file.read_text(encoding="utf-8") if theme_file else ""
    for old, new, what, needs in fixes:
        if old not in text or needs not in text:
            log.error("Material's %s changed (%s); hooks/theme_fixes.py no longer fixes it",
                      what, theme_file)  # fmt: skip
            continue
        text = text.replace(old, new)
    built = Path(config.site_dir, "assets", folder, theme_file.name) if theme_file else None
    if built and built.is_file():
        built.write_text(text, encoding="utf-8")


def on_post_build(config) -> None:
    _patch(config, "stylesheets", "main.*.min.css", [
        (EVERY_BOX, ELEMENT_BOXES, "main style sheet: the box-sizing of every ::before", ""),
    ])  # fmt: skip
    _patch(config, "stylesheets", "palette.*.min.css", [
        (SWITCHING_RULE, "", "palette style sheet: its [data-md-color-switching] rule", ""),
    ])  # fmt: skip
    _patch(config, "javascripts", "bundle.*.min.js", [
        (COLOR_SCHEME_META, DETACHED_META, "bundle: the <meta name=color-scheme> it adds", ""),
        (EAGER_INDEX, LAZY_INDEX, "bundle: how it loads the search index", OBSERVABLE),
        (DOM_READY, DOM_READY_LATE, "bundle: how it waits for DOMContentLoaded", ""),
        (BUNDLE_START, COMPILE_HINT + BUNDLE_START, "bundle: how it begins", ""),
    ])  # fmt: skip
