"""A real browser over the built site: Debian's Chromium driven by Playwright, offline.

The gate (test_browser_gate, one test per page) loads each page once from a server on
127.0.0.1, in a fresh browser context; any request to another host is blocked and
recorded. It then looks at the page in four views, switching width and palette in the
same page: 1280 px light, 1280 px dark, 390 px dark, 390 px light (Material's `default`
and `slate`, chosen with its own palette input and checked on the page's background).
In every view, tests/gate.js (geometry and computed style only, whatever typeset the
math) checks that

1. no TeX is visible: no `$`, backslash command, ``\\(``, ``\\[``, ``^{`` or ``_{`` in text
   that is rendered, outside code (text clipped away, like KaTeX's MathML copy, is not);
2. in a display formula, the relation signs that begin continuation rows ("= ...") share
   one x, and it is the x of a relation sign on the first row;
3. nothing is wider than the content column, except inside a scroll container that fits,
   and the page never scrolls sideways;
4. axe-core finds no WCAG 2.1 A/AA violation (every rule at 1280 px in both palettes;
   at 390 px, light, every rule but color-contrast: see AXE_RUNS);
5. plots: every plot text has contrast ≥ 4.5:1 against what it is drawn on (both palettes);

and, once per page: no console or page error, a copy button on every code block, the
answers shown, an executed notebook with its downloads. Folded blocks are opened, and
pages with content tabs are measured once with the first tab of every set selected and
once with the second. A failure names the page, the views and what failed.

Full-page screenshots go to screenshots/ (gitignored), for a person to look at:
<page>__light.png and <page>__dark.png (1280 px), <page>__390.png (390 px, light).
test_gate_measures_what_the_reader_sees runs gate.js on a made-up page, and
tests/test_site.py breaks copies of the site to show that the gate fails on them.

Chromium missing: the tests fail when CI=true, and skip (with the reason) elsewhere.
`make test` installs it with apt-get when it is missing and the user is root.
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest
from conftest import ARGS, CHROMIUM, ROOT, SNIPPETS, load_hook, scripts_loaded
from test_exercise_first import open_all_solutions

SCREENSHOTS = ROOT / "screenshots"
GATE_JS = (Path(__file__).parent / "gate.js").read_text(encoding="utf-8")
PLOT_CONTRAST_JS = (Path(__file__).parent / "plot_contrast.js").read_text(encoding="utf-8")

if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
    reason = (
        f"Chromium not found at {CHROMIUM}: apt-get install chromium (as root), or set CHROMIUM"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)

from axe_playwright_python.sync_playwright import Axe  # noqa: E402

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


@dataclass(frozen=True)
class View:
    width: int
    scheme: str  # Material's palette: "default" (light) or "slate" (dark)

    @property
    def label(self) -> str:
        return f"{self.width} {'dark' if self.scheme == 'slate' else 'light'}"


LIGHT, DARK = "default", "slate"
# In this order, so that each step changes one thing: the palette, or the width.
VIEWS = [View(1280, LIGHT), View(1280, DARK), View(390, DARK), View(390, LIGHT)]
SCREENSHOT_OF = {View(1280, LIGHT): "light", View(1280, DARK): "dark", View(390, LIGHT): "390"}
HEIGHT = {1280: 900, 390: 844}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# and, beyond WCAG's tags, the axe rules Lighthouse's accessibility score also counts that
# Material can break: a dialog without a name (its search overlay).
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": AXE_TAGS},
    "rules": {"aria-dialog-name": {"enabled": True}},
    "resultTypes": ["violations"],
}
# axe takes seconds per page, most of them in color-contrast. It runs every rule at 1280 px
# in both palettes. At 390 px the colours are the same as at 1280 px, so there it runs
# every rule but that one: what changes with the width (what scrolls, what only a phone
# shows). With the second tabs selected, only over the tab panels that pass shows.
AXE_RUNS = {
    View(1280, LIGHT): AXE_OPTIONS,
    View(1280, DARK): AXE_OPTIONS,
    View(390, LIGHT): AXE_OPTIONS
    | {"rules": AXE_OPTIONS["rules"] | {"color-contrast": {"enabled": False}}},
}


# What each page must visibly show: a CSS selector and how many at least.
ANSWERS = {
    "index": [("math mtable", 1)],
    "exercises/convolution": [("math mtable", 6), ("table", 2)],
    "exercises/mle-exponential": [("math", 10), ("table", 2), ("svg:has(g#figure_1)", 1)],
    "exercises/vgg11-parameters": [("table", 3), ("svg:has(g#figure_1)", 1)],
    "exercises/influence-functions": [("table", 1), ("svg:has(g#figure_1)", 2)],
}


class Visit:
    """One page load with every console error, page error and outside request recorded."""

    def __init__(self, browser, url: str):
        self.context = browser.new_context(
            viewport={"width": 1280, "height": HEIGHT[1280]}, color_scheme="light"
        )
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
        settle(self.page)

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


def settle(page) -> None:
    """Wait until the page's scripts have run, fonts are loaded and layout has caught up with
    the last change."""
    page.evaluate(
        """async () => {
          await window.__md_loaded;
          await document.fonts.ready;
          await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
        }"""
    )


# --- views: width and palette, switched in the same page ------------------------------


def set_palette(page, scheme: str) -> None:
    """Choose Material's palette as a reader does (its radio input), and check it took."""
    page.evaluate(
        """s => {
          const input = document.querySelector(`input[data-md-color-scheme="${s}"]`);
          if (!input.checked) input.click();
        }""",
        scheme,
    )
    page.wait_for_function(
        """s => document.body.getAttribute("data-md-color-scheme") === s
               && !document.body.hasAttribute("data-md-color-switching")""",
        arg=scheme,
        timeout=5_000,
    )
    settle(page)
    # The attribute is not enough: the page's background must have followed.
    rgb = page.evaluate("getComputedStyle(document.body).backgroundColor")
    r, g, b = (int(v) for v in re.findall(r"\d+", rgb)[:3])
    dark = (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255 < 0.5
    assert dark == (scheme == DARK), f"palette {scheme!r} set, but the background is {rgb}"


def set_view(page, view: View) -> None:
    if page.viewport_size["width"] != view.width:
        page.set_viewport_size({"width": view.width, "height": HEIGHT[view.width]})
        settle(page)
    set_palette(page, view.scheme)
    read_through(page)


# Waits for the scripts below: `within(ms, wait)`, a promise that settles when `wait` does or
# after ms; `frames()`, two frames and then the page's idle work, at most a second each.
WAITS = """
          const within = (ms, wait) => Promise.race([new Promise(wait),
                                                     new Promise(r => setTimeout(r, ms))]);
          const frames = () =>
            within(1000, r => requestAnimationFrame(() => requestAnimationFrame(r)))
              .then(() => within(1000, r => requestIdleCallback(r, {timeout: 1000})));"""


def read_through(page) -> None:
    """Scroll down the page a screen at a time, as a reader does, then back to the top,
    waiting each time until the page is idle. Every block that the browser draws only near
    the screen (content-visibility: auto: the notebook cells, the formulas' hidden MathML)
    has then been drawn once, and what the page does when a block is drawn (keyboard
    access to what scrolls sideways) has happened before the checks look at the block.
    Then back to the top (back_to_top)."""
    page.evaluate(
        """async () => {"""
        + WAITS
        + """
          const root = document.scrollingElement;
          for (let y = 0; ; ) {
            window.scrollTo(0, y);
            await frames();
            const bottom = root.scrollHeight - innerHeight;  // grows as blocks are drawn
            if (y >= bottom) break;
            y = Math.min(y + Math.floor(innerHeight * 0.8), bottom);
          }
        }"""
    )
    back_to_top(page)


def back_to_top(page) -> None:
    """Scroll to the top of the page and wait until the fonts are in and what scrolling set
    moving (Material's header title fades back from the page's title to the site's) has
    come to rest: never longer than 5 s."""
    page.evaluate(
        """async () => {"""
        + WAITS
        + """
          window.scrollTo(0, 0);
          await document.fonts.ready;
          await frames();
          await within(5000, r => Promise.all(
            document.getAnimations().map(a => a.finished.catch(() => null))).then(r));
          await frames();
        }"""
    )


def tab_passes(page) -> list[int]:
    """Which tab of each content-tab set to select, one pass per tab position."""
    most = page.evaluate(
        """() => Math.max(0, ...[...document.querySelectorAll(".tabbed-set")].map(
             s => s.querySelectorAll(":scope > input").length))"""
    )
    return list(range(max(1, most)))


def tab_block(index: int) -> str:
    """The panel of the index-th tab in each content-tab set."""
    return f".tabbed-set > .tabbed-content > .tabbed-block:nth-child({index + 1})"


def select_tabs(page, index: int) -> None:
    """Select the index-th tab (or the last, if fewer) in every content-tab set."""
    page.evaluate(
        """i => {
          for (const set of document.querySelectorAll(".tabbed-set")) {
            const inputs = set.querySelectorAll(":scope > input");
            if (inputs.length) inputs[Math.min(i, inputs.length - 1)].checked = true;
          }
        }""",
        index,
    )
    settle(page)


# --- the gate ---------------------------------------------------------------------------


def axe_failures(page, options: dict, tab: int = 0) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations, one line per rule: id, count, first targets.

    With tab > 0, only the tab panels that this pass shows (the rest of the page was
    checked with the first tabs selected): axe takes seconds on a page."""
    violations = page.evaluate(
        """async ([tab, options, block]) => {
          const context = tab === 0 ? document : {include: [[block]]};
          return (await axe.run(context, options)).violations;
        }""",
        [tab, options, tab_block(tab)],
    )
    lines = []
    for v in violations:
        targets = [" ".join(map(str, n["target"])) + contrast(n) for n in v["nodes"]]
        more = f" and {len(targets) - 3} more" if len(targets) > 3 else ""
        lines.append(f"{v['id']} ×{len(targets)}: {'; '.join(targets[:3])}{more} ({v['help']})")
    return lines


def contrast(node: dict) -> str:
    """For a colour-contrast finding: the colours and their ratio."""
    for check in node.get("any", []):
        data = check.get("data") or {}
        if isinstance(data, dict) and "contrastRatio" in data:
            return f" ({data['fgColor']} on {data['bgColor']}, {data['contrastRatio']}:1)"
    return ""


def content_failures(page, name: str) -> list[str]:
    """What the page must show: math, copy buttons, the answers, an executed notebook."""
    found = []
    if has_math(name) and page.locator("article math").count() == 0:
        found.append("no rendered math")
    if name.startswith("notebooks/"):  # nbconvert's own copy buttons, one per cell
        cells = page.locator("article .jp-CodeCell[id]").count()
        buttons = page.locator("article clipboard-copy").count()
        if not (cells > 0 and buttons == cells):
            found.append(f"{cells} code cells, {buttons} copy buttons")
        if page.locator(".jp-OutputArea-output").count() == 0:
            found.append("notebook not executed")
        if page.locator(".notebook-downloads a").count() != 3:
            found.append("not three download links (worksheet, solved, script)")
    else:  # Material's: every code block has one
        blocks = page.locator("article pre:has(> code)").count()
        buttons = page.locator("article pre .md-code__button[data-md-type='copy']").count()
        if buttons != blocks:
            found.append(f"{blocks} code blocks, {buttons} copy buttons")
    for selector, at_least in ANSWERS.get(name, []):
        shown = page.locator(f"article {selector}")
        if shown.count() < at_least:
            found.append(f"{shown.count()} × {selector!r}, expected at least {at_least}")
        elif not shown.first.is_visible():
            found.append(f"{selector!r} is not visible")
    return found


def plot_failures(page, view: View) -> list[str]:
    """5. Plots follow the palette: each text of each plot has contrast ≥ 4.5:1 against
    what it is drawn on (tests/plot_contrast.js). Checked at 1280 px in both palettes."""
    if view.width != 1280 or page.locator("article svg text").count() == 0:
        return []
    measured = page.evaluate(PLOT_CONTRAST_JS)
    return [
        f"plot text {m['text']!r}: contrast {m['ratio']}:1 ({m['fg']} on {m['bg']}), below 4.5:1"
        for m in measured
        if m["ratio"] < 4.5
    ]


CHECK_NAMES = {
    "load": "console errors, page errors or requests to other hosts",
    "content": "content missing",
    "tex": "TeX visible to the reader",
    "alignment": "relation signs not aligned in display math",
    "overflow": "wider than the content column",
    "axe": "axe-core violations (WCAG 2.1 A/AA, aria-dialog-name)",
    "plots": "plots",
}
Failures = dict[str, list[tuple[str, str]]]  # check -> [(view, what failed)]
# GATE_CHECKS=tex,alignment (say) reports only those checks and skips axe unless named:
# the fault tests in tests/test_site.py use it to look only for the fault they inject.
CHECKS = [c for c in os.environ.get("GATE_CHECKS", ",".join(CHECK_NAMES)).split(",") if c]
if set(CHECKS) - set(CHECK_NAMES):
    raise ValueError(f"GATE_CHECKS={CHECKS}: the checks are {', '.join(CHECK_NAMES)}")


def inspect(browser, base: str, name: str) -> Failures:
    """Load one page and run every check in every view; what failed, by check."""
    failures: Failures = {check: [] for check in CHECK_NAMES}
    with Visit(browser, base + url_path(name)) as visit:
        page = visit.page
        open_all_solutions(page)  # answers are folded until the reader asks (exercise first)
        failures["content"] = [("loaded", m) for m in content_failures(page, name)]
        page.evaluate(GATE_JS)
        page.evaluate(Axe().axe_script)
        passes = tab_passes(page)
        for view in VIEWS:
            set_view(page, view)
            for tab in passes:
                select_tabs(page, tab)
                where = view.label + (f", tab {tab + 1}" if len(passes) > 1 else "")
                measured = page.evaluate("window.__gate.measure()")
                for check in ("tex", "alignment", "overflow"):
                    failures[check] += [(where, m) for m in measured[check]]
                if view in AXE_RUNS and "axe" in CHECKS:
                    found = axe_failures(page, AXE_RUNS[view], tab)
                    failures["axe"] += [(where, m) for m in found]
                failures["plots"] += [(where, m) for m in plot_failures(page, view)]
            if view in SCREENSHOT_OF:
                select_tabs(page, 0)
                SCREENSHOTS.mkdir(exist_ok=True)
                shot = SCREENSHOTS / f"{name.replace('/', '__')}__{SCREENSHOT_OF[view]}.png"
                screenshot(page, shot)
        failures["load"] = (
            [("any", f"console error: {m}") for m in visit.console_errors]
            + [("any", f"page error: {m}") for m in visit.page_errors]
            + [("any", f"request to another host: {u}") for u in visit.outside]
        )
    return {check: found for check, found in failures.items() if check in CHECKS}


def screenshot(page, path: Path) -> None:
    """The whole page as a reader who scrolls through it sees it. A full-page screenshot
    does not scroll, so the blocks drawn only near the screen (content-visibility: auto,
    the notebook cells) would be blank: they are all drawn for the picture. Taken from the
    top of the page: axe's checks leave it scrolled (the header and the sidebars, which
    stay on the screen, were drawn halfway down the exercise pages' pictures)."""
    sheet = page.add_style_tag(content="* { content-visibility: visible !important; }")
    settle(page)
    back_to_top(page)
    assert page.evaluate("scrollY") == 0, f"{path.name}: taken scrolled down"
    page.screenshot(path=str(path), full_page=True)
    sheet.evaluate("el => el.remove()")
    settle(page)


def report(name: str, failures: Failures, most: int = 8) -> str:
    """What failed on a page, check by check; a failure seen in several views once."""
    lines = []
    for check, found in failures.items():
        if not found:
            continue
        views: dict[str, list[str]] = {}
        for where, what in found:
            seen = views.setdefault(what, [])
            if where not in seen:
                seen.append(where)
        lines.append(f"{name}: {check}: {CHECK_NAMES[check]} ({len(views)}):")
        for what, where in list(views.items())[:most]:
            lines.append(f"  {name} [{'; '.join(where)}]: {what}")
        if len(views) > most:
            lines.append(f"  ... and {len(views) - most} more")
    return "\n".join(lines)


@pytest.mark.parametrize("name", PAGES)
def test_browser_gate(browser, server, name):
    """Every check of the gate on one page, in every view (see the module docstring)."""
    failures = inspect(browser, server, name)
    failed = [check for check, found in failures.items() if found]
    assert not failed, f"{name} fails {', '.join(failed)}\n" + report(name, failures)


# --- the gate's own measurements, on a made-up page (no site, no math engine) ---

SELF_TEST = """<!doctype html><html><body style="margin:0; font: 20px/1.4 serif">
<div class="md-content"><div class="md-content__inner" style="width: 700px">
<article>
  <p id="tex">Visible: $x$</p>
  <p>A hidden copy, as KaTeX keeps its MathML:
    <span style="position:absolute; clip:rect(1px,1px,1px,1px); width:1px; height:1px;
                 overflow:hidden">\\frac{a}{b} $y$</span> and
    <span style="display:none">\\alpha</span> and <code>\\beta $z$</code>.</p>
  <div class="math-display" id="aligned">
    <div style="display:grid; grid-template-columns:auto auto; justify-content:center">
      <span style="text-align:right">f(x) </span><span>= a + b + c</span>
      <span></span><span>= d</span>
      <span></span><span>≤ e<sup>k = 1</sup></span>
    </div>
  </div>
  <div class="math-display" id="misaligned">
    <div style="display:grid; grid-template-columns:auto auto; justify-content:center">
      <span style="text-align:right">g(x) </span><span>= a + b</span>
      <span style="text-align:right">= c</span><span></span>
    </div>
  </div>
  <div style="overflow-x:auto"><div style="width:2000px">scrolls, fits</div></div>
  <div id="wide" style="width:900px">too wide</div>
</article></div></div></body></html>"""


def test_gate_measures_what_the_reader_sees(browser):
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    page = context.new_page()
    page.set_content(SELF_TEST)
    page.evaluate(GATE_JS)
    found = page.evaluate("window.__gate.measure()")
    context.close()
    # Only the two visible `$`: not the clipped copy, display:none, or code.
    assert len(found["tex"]) == 2 and all("Visible" in m for m in found["tex"]), found["tex"]
    # The aligned formula passes (the `=` in a superscript is ignored); the other fails.
    assert len(found["alignment"]) == 1, found["alignment"]
    assert "formula #2" in found["alignment"][0], found["alignment"]
    # The 900 px div sticks out; the 2000 px one inside a scroll container that fits does not.
    assert [m for m in found["overflow"] if "900 px wide" in m], found["overflow"]
    assert not [m for m in found["overflow"] if "2000" in m], found["overflow"]


# --- interactions ---------------------------------------------------------------------


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


def test_the_search_index_comes_when_the_reader_turns_to_search(browser, server):
    """Material's bundle fetched the search index (42 KB gzipped) on every page load; the
    built bundle fetches it when the search form first gets the focus (hooks/theme_fixes.py),
    or at once on a page opened from a search result, whose terms it highlights (`?h=`)."""
    context = browser.new_context(viewport={"width": 390, "height": HEIGHT[390]})
    try:
        page = context.new_page()
        fetched: list[str] = []
        page.on("requestfinished", lambda r: fetched.append(urlparse(r.url).path))
        page.goto(server + "/exercises/convolution/", wait_until="load")
        settle(page)
        page.wait_for_timeout(500)
        on_load = [path for path in fetched if path.endswith("search_index.json")]
        page.locator("label.md-header__button[for='__search']").click()  # the phone's button
        page.keyboard.type("stride", delay=30)
        page.locator(".md-search-result__item a").first.wait_for(timeout=15_000)
        after = [path for path in fetched if path.endswith("search_index.json")]
        page.goto(server + "/exercises/convolution/?h=stride", wait_until="load")
        scripts_loaded(page)
        page.locator("mark[data-md-highlight]").first.wait_for(timeout=15_000)
    finally:
        context.close()
    assert on_load == [], f"the search index was fetched on load: {on_load}"
    assert len(after) == 1, f"search index requests once the reader searched: {after}"


# A student's words, and the page they should land on first (not a notebook's code).
SEARCHES = {
    "padding": "/exercises/convolution/",
    "stride": "/exercises/convolution/",
    "bias": "/exercises/",  # the VGG count (biases) and the MLE's bias both teach it
}


NOTEBOOK_OF = {
    "mle_exponential": "mle-exponential",
    "conv2d": "convolution",
    "vgg11_parameters": "vgg11-parameters",
    "influence_functions": "influence-functions",
}


@pytest.mark.parametrize("query", SEARCHES)
def test_search_ranks_the_exercise_page_first(browser, server, query):
    with Visit(browser, server + "/") as visit:
        page = visit.page
        search = page.locator("input.md-search__input")
        search.click()
        search.press_sequentially(query, delay=30)
        first = page.locator(".md-search-result__item a").first
        first.wait_for(state="visible", timeout=15_000)
        hrefs = page.eval_on_selector_all(
            ".md-search-result__item > a", "links => links.map(a => a.href)"
        )
        assert hrefs, query
        assert SEARCHES[query] in hrefs[0], f"{query!r}: first hits {hrefs[:4]}"
        # and each exercise's page ranks above its own notebook
        rank = lambda part: next((i for i, h in enumerate(hrefs) if part in h), len(hrefs))  # noqa: E731
        for notebook, exercise in NOTEBOOK_OF.items():
            if rank(f"/notebooks/{notebook}/") < len(hrefs):
                assert rank(f"/exercises/{exercise}/") < rank(f"/notebooks/{notebook}/"), hrefs


# Layout shift while a page loads, as Chromium reports it (the sum over the load). Measured on
# a second visit, with the fonts in the browser's cache: on a first visit KaTeX's fonts arrive
# after the first paint and rewrap a line or two (0.02-0.2 at 390 px; preloading them would
# stop that, but Chromium then holds the first paint until they are in: +1 s in Lighthouse).
# What is left is the page's own doing: a "Show all solutions" button added by a script
# after the first paint pushed each exercise page down by 0.05-0.24 in Lighthouse.
LAYOUT_SHIFT = """async () => {
  await document.fonts.ready;
  await new Promise(r => setTimeout(r, 500));
  const entries = await new Promise(resolve => {
    new PerformanceObserver((list, observer) => {
      observer.disconnect();
      resolve(list.getEntries());
    }).observe({type: "layout-shift", buffered: true});
    setTimeout(() => resolve([]), 1000);  // no shift at all: no callback
  });
  return entries
    .filter(e => !e.hadRecentInput)
    .map(e => ({value: e.value, nodes: e.sources.map(s => s.node && s.node.nodeName)}));
}"""
# Lighthouse's "good" is below 0.1; a loaded machine sometimes shows 0.012 on a notebook page
# (its download buttons); the old button gave 0.047-0.066 here.
MAX_LAYOUT_SHIFT = 0.025
# On a busy machine a cached font can still arrive after the first paint of the second
# visit: at 4x CPU throttling, 2 loads in 6 of the verification page shifted 0.062 (its
# first table's columns, sized again once KaTeX's fonts are in; with Material's bundle
# taken out as well). A shift the page itself makes is there on every load, so the test
# keeps the smallest of up to SHIFT_LOADS loads.
SHIFT_LOADS = 3


@pytest.mark.parametrize("name", PAGES)
def test_nothing_moves_while_a_page_loads(browser, server, name):
    loads = []
    for _ in range(SHIFT_LOADS):
        context = browser.new_context(viewport={"width": 390, "height": HEIGHT[390]})
        try:
            page = context.new_page()
            page.goto(server + url_path(name), wait_until="load")
            scripts_loaded(page)
            page.evaluate("document.fonts.ready.then(() => 0)")
            page.goto(server + url_path(name), wait_until="load")  # the second visit
            scripts_loaded(page)
            shifts = page.evaluate(LAYOUT_SHIFT)
        finally:
            context.close()
        loads.append((sum(s["value"] for s in shifts), shifts))
        if loads[-1][0] <= MAX_LAYOUT_SHIFT:
            break
    total, shifts = min(loads, key=lambda load: load[0])
    assert total <= MAX_LAYOUT_SHIFT, (
        f"{name}: layout shift {total:.3f} on load, the smallest of {len(loads)} loads "
        f"({', '.join(f'{t:.3f}' for t, _ in loads)}): {shifts}"
    )


@pytest.mark.parametrize("name", ["index", "exercises/mle-exponential", "notebooks/conv2d"])
def test_the_first_paint_waits_for_no_style_sheet_but_materials(browser, server, name):
    """The site's own CSS and KaTeX's are in each page's <head> (hooks/inline_css.py,
    hooks/katex_math.py): each linked sheet was one more request before the first paint
    (Lighthouse, home page: first paint 1.88 s linked, 1.05 s inlined)."""
    with Visit(browser, server + url_path(name)) as visit:
        sheets = visit.page.evaluate(
            "performance.getEntriesByType('resource').map(e => e.name)"
            ".filter(u => new URL(u).pathname.endsWith('.css'))"
        )
        inline = visit.page.evaluate(
            "[...document.styleSheets].filter(s => !s.href)"
            ".flatMap(s => [...s.cssRules].map(r => r.cssText)).join(' ')"
        )
        math = visit.page.evaluate("document.querySelector('.katex') !== null")
    names = sorted(re.sub(r"\.[0-9a-f]{8}\.min\.css$", ".css", u.split("/")[-1]) for u in sheets)
    assert names == ["main.css", "palette.css"], f"{name}: style sheets fetched: {sheets}"
    assert ".solutions-toggle" in inline, f"{name}: the site's CSS is not in the page"
    assert (".katex" in inline) == math, f"{name}: KaTeX's CSS where there is math, only there"


WEIGHT_BUDGET_KB = 250  # issue 10: the heaviest page, fonts and search index included


def test_every_page_weighs_at_most_the_budget(browser, server, built_site):
    """What Chromium fetches to show each page (scripts/page_weight.py), gzipped."""
    import page_weight

    weights = page_weight.measure(browser, server, Path(built_site))
    assert len(weights) >= 10, weights
    over = {
        url: round(w["gzip_KB"]) for url, w in weights.items() if w["gzip_KB"] > WEIGHT_BUDGET_KB
    }
    assert not over, f"pages over {WEIGHT_BUDGET_KB} KB gzipped: {over}"
    # the measure sees the fonts and the search index, or it would prove nothing
    assert all(w["files"] >= 8 for w in weights.values()), weights


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
    # and the transitions are off while the palette switches, on again after (Material's
    # own rule for it is removed from its style sheet: hooks/theme_fixes.py)
    with Visit(browser, server + "/exercises/convolution/") as visit:
        durations = visit.page.evaluate(
            """async () => {
              const link = document.querySelector(".md-typeset a");
              const before = getComputedStyle(link).transitionDuration;
              document.querySelector("input[name='__palette']:not(:checked)").click();
              const during = getComputedStyle(link).transitionDuration;
              await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(
                () => requestAnimationFrame(r))));
              return [before, during, getComputedStyle(link).transitionDuration];
            }"""
        )
        before, during, after = durations
        assert before != "0s" and during == "0s" and after == before, durations


# Speed on a phone (README, "Speed"). Style work while a page loads, counted in Chromium's
# trace: the elements each style pass touched, summed over the load, against the elements
# of the page. Counted, not timed: a busy machine changes the time, not the count. On the
# longest page, Material's start-up used to restyle the whole page 7 times (13 elements
# restyled per element of the page); now off-screen notebook cells are not styled until
# they come near the screen, and two of those passes are gone (hooks/theme_fixes.py).
# The count still depends a little on when frames fall: on an idle machine a load restyles
# 2.3 per element, on a busy CI machine one load counted 4.0, and with every cell drawn it
# is 9. So the test keeps the fewest of up to LOADS loads.
MAX_RESTYLED_PER_ELEMENT = 4
LOADS = 3


def _restyled_while_loading(browser, page, url: str) -> tuple[int, int]:
    """Load `url`; the elements Chromium's style passes touched, and the page's elements."""
    browser.start_tracing(page=page, categories=["devtools.timeline"])
    page.goto(url, wait_until="load")
    settle(page)
    page.wait_for_timeout(1000)  # Material's start-up, the page's idle work
    events = json.loads(browser.stop_tracing())["traceEvents"]
    restyled = sum(
        e.get("args", {}).get("elementCount", 0)
        for e in events
        if e.get("name") == "UpdateLayoutTree"
    )
    return restyled, page.evaluate("document.getElementsByTagName('*').length")


def test_a_long_notebook_page_styles_only_what_is_near_the_screen(browser, server):
    url = server + "/notebooks/influence_functions/"
    counts = []
    for _ in range(LOADS):
        context = browser.new_context(viewport={"width": 390, "height": HEIGHT[390]})
        try:
            page = context.new_page()
            counts.append(_restyled_while_loading(browser, page, url))
        finally:
            context.close()
        if counts[-1][0] <= MAX_RESTYLED_PER_ELEMENT * counts[-1][1]:
            break
    restyled, elements = min(counts, key=lambda c: c[0] / c[1])
    assert restyled <= MAX_RESTYLED_PER_ELEMENT * elements, (
        f"{restyled} elements restyled while the page loaded, {restyled / elements:.1f} per "
        f"element of the page ({elements}), the fewest of {len(counts)} loads "
        f"({', '.join(f'{r / e:.1f}' for r, e in counts)}); at most {MAX_RESTYLED_PER_ELEMENT}"
    )

    context = browser.new_context(viewport={"width": 390, "height": HEIGHT[390]})
    try:
        page = context.new_page()
        page.goto(url, wait_until="load")
        settle(page)
        drawn = page.evaluate(
            """() => [...document.querySelectorAll(".jp-Notebook > .jp-Cell")].map(
                 cell => cell.firstElementChild.checkVisibility({contentVisibilityAuto: true}))"""
        )
        # a cell scrolled to is drawn, and what scrolls sideways in it gets keyboard access
        page.evaluate(
            """async () => {
              [...document.querySelectorAll(".jp-Notebook > .jp-Cell")].at(-2).scrollIntoView();
              await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
              await new Promise(r => requestIdleCallback(r, {timeout: 1000}));
            }"""
        )
        later = page.evaluate(
            """() => {
              const cell = [...document.querySelectorAll(".jp-Notebook > .jp-Cell")].at(-2);
              const wide = [...cell.querySelectorAll("*")].filter(el =>
                ["auto", "scroll"].includes(getComputedStyle(el).overflowX) &&
                el.scrollWidth > el.clientWidth + 1);
              return {drawn: cell.firstElementChild.checkVisibility({contentVisibilityAuto: true}),
                      wide: wide.length,
                      reachable: wide.filter(el => el.tabIndex >= 0 ||
                                                   el.querySelector("[tabindex]")).length};
            }"""
        )
    finally:
        context.close()
    assert drawn[:3] == [True] * 3 and drawn[-1] is False, f"cells drawn at load: {drawn}"
    assert later["drawn"] and later["wide"] > 0 and later["reachable"] == later["wide"], later


def _invalidations_while_loading(
    browser,
    url: str,
    script: str,
    color_scheme: str = "light",
    font_files: bool = False,
    kinds: tuple[str, ...] = ("StyleRecalcInvalidationTracking",),
):
    """Load `url` at 4x CPU throttling (so that fonts arrive mid-load); the restyles that
    Chromium's invalidation trace records while it loads, as (reason, node),
    and what `script` returns once the page has settled. `font_files`: the page draws with
    KaTeX's font files, without the glyphs it carries (as it does without JavaScript).
    `kinds`: the trace's events to read (StyleInvalidatorInvalidationTracking: what an
    invalidation set, from a class or attribute change, restyled)."""
    context = browser.new_context(
        viewport={"width": 390, "height": HEIGHT[390]}, color_scheme=color_scheme
    )
    try:
        page = context.new_page()
        if font_files:
            page.route(url, lambda route: route.fulfill(
                response=(response := route.fetch()),
                body=re.sub(r'<script class="katex-glyphs">.*?</script>', "",
                            response.text(), flags=re.S),
            ))  # fmt: skip
        cdp = context.new_cdp_session(page)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
        browser.start_tracing(
            page=page,
            categories=[
                "devtools.timeline",
                "disabled-by-default-devtools.timeline.invalidationTracking",
            ],
        )
        page.goto(url, wait_until="load")
        page.evaluate("document.fonts.ready.then(() => 0)")
        settle(page)
        events = json.loads(browser.stop_tracing())["traceEvents"]
        result = page.evaluate(script)
    finally:
        context.close()
    # from the moment the page's HTML is first parsed (before it, the blank page a new tab
    # starts with takes the emulated colour scheme)
    start = min(
        e["ts"]
        for e in events
        if e.get("name") == "ParseHTML" and e.get("args", {}).get("beginData", {}).get("url") == url
    )
    restyles = [
        (e["args"]["data"].get("reason"), e["args"]["data"].get("nodeName", "?").split(" ")[0])
        for e in events
        if e.get("name") in kinds and e["ts"] >= start
    ]
    return restyles, result


def test_a_font_that_arrives_restyles_no_formula(browser, server):
    """KaTeX's fonts arrive while the page loads (without JavaScript, or for a face the page
    does not carry). Chromium sized the screen readers' MathML from the math font's tables,
    so each font restyled every MathML element of the page (290-360 on the MLE notebook, in
    Chromium's invalidation trace at 4x CPU throttling); docs/assets/extra.css sizes it like
    its parent."""
    restyles, fonts = _invalidations_while_loading(
        browser,
        server + "/notebooks/mle_exponential/",
        "performance.getEntriesByType('resource').filter(e => e.name.includes('/fonts/')).length",
        font_files=True,
    )
    restyled = [node for reason, node in restyles if reason == "Fonts"]
    assert fonts >= 2, f"{fonts} KaTeX font files loaded: the test saw no font arrive"
    assert not restyled, (
        f"{len(restyled)} elements restyled because a font arrived: "
        f"{sorted(collections.Counter(restyled).items())[:8]}"
    )


# Each formula's width on a page, with the formula's text: formulas outside closed folds
# (inside one, a formula is text until the fold opens, or HTML inside <noscript> when
# scripts are off).
FORMULA_WIDTHS = """() => [...document.querySelectorAll('.katex-html')]
  .filter(k => !k.closest('noscript'))
  .map(k => [k.textContent, Math.round(k.getBoundingClientRect().width * 100) / 100])"""
EMBEDDED_FONT_PAGES = ["index", "exercises/mle-exponential", "notebooks/mle_exponential"]


def test_the_formulas_glyphs_load_in_a_browser_without_a_base64_decoder(browser, server):
    """The page's glyphs are decoded with Uint8Array.fromBase64 where the browser has it,
    else by a loop (hooks/katex_math.py): in both, every face is added and loaded, and no
    font file is fetched."""
    faces = {}
    for decoder in ("native", "loop"):
        context = browser.new_context(viewport={"width": 412, "height": 823})
        try:
            if decoder == "loop":
                context.add_init_script("delete Uint8Array.fromBase64")
            page = context.new_page()
            fonts = []
            page.on("request", lambda r, to=fonts: to.append(r.url) if "/fonts/" in r.url else None)
            page.goto(server + url_path("exercises/influence-functions"), wait_until="load")
            scripts_loaded(page)
            faces[decoder] = page.evaluate(
                """() => [...document.fonts]  // the page's subsets, not KaTeX's @font-face
                     .filter((f) => f.family.startsWith("KaTeX") && f.unicodeRange !== "U+0-10FFFF")
                     .map((f) => `${f.family} ${f.style} ${f.unicodeRange.length} ${f.status}`)"""
            )
        finally:
            context.close()
        assert not fonts, f"{decoder}: font files fetched: {fonts}"
    assert faces["native"] and all(f.endswith(" loaded") for f in faces["native"]), faces
    assert faces["loop"] == faces["native"], faces


@pytest.mark.parametrize("name", EMBEDDED_FONT_PAGES)
def test_a_first_visit_draws_each_formula_in_its_font_at_once(browser, server, name):
    """Each page carries the KaTeX glyphs its formulas draw (hooks/katex_math.py): on a
    first visit no font file is fetched for them and nothing moves when fonts arrive. Before,
    KaTeX's fonts swapped in after the first paint: at 4x CPU throttling the MLE notebook's
    first screen shifted by 0.06-0.11 in every load. The oracle for the glyphs: the same
    page without JavaScript, which draws with KaTeX's own font files."""
    loads = []
    for _ in range(SHIFT_LOADS):
        context = browser.new_context(viewport={"width": 412, "height": 823})
        try:
            page = context.new_page()
            fonts = []
            page.on("request", lambda r, to=fonts: to.append(r.url) if "/fonts/" in r.url else None)
            context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": 4})
            page.goto(server + url_path(name), wait_until="load")
            scripts_loaded(page)
            shifts = page.evaluate(LAYOUT_SHIFT)
            widths = page.evaluate(FORMULA_WIDTHS)
        finally:
            context.close()
        loads.append((sum(s["value"] for s in shifts), shifts, fonts, widths))
        if loads[-1][0] <= MAX_LAYOUT_SHIFT:
            break
    total, shifts, fonts, widths = min(loads, key=lambda load: load[0])
    assert not fonts, f"{name}: font files fetched on a first visit: {fonts}"
    assert total <= MAX_LAYOUT_SHIFT, (
        f"{name}: layout shift {total:.3f} on a first visit, the smallest of {len(loads)} "
        f"loads ({', '.join(f'{t:.3f}' for t, *_ in loads)}): {shifts}"
    )
    context = browser.new_context(viewport={"width": 412, "height": 823}, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(server + url_path(name), wait_until="load")
        scripts_loaded(page)
        page.evaluate("document.fonts.ready.then(() => 0)")
        files = page.evaluate(FORMULA_WIDTHS)
    finally:
        context.close()
    assert widths and [t for t, _ in widths] == [t for t, _ in files], name
    differ = [(t, w, f) for (t, w), (_, f) in zip(widths, files, strict=True) if abs(w - f) > 0.01]
    assert not differ, f"{name}: formulas as wide as with KaTeX's font files? {differ[:5]}"


ROOT_SCHEME = (
    "[getComputedStyle(document.documentElement).colorScheme, document.body.dataset.mdColorScheme]"
)


@pytest.mark.parametrize(
    "path", ["/", "/exercises/influence-functions/", "/notebooks/mle_exponential/"]
)
def test_nothing_restyles_the_whole_page_while_it_loads(browser, server, path):
    """Chromium styles each element the parser adds; a style sheet that arrives later (a
    <style> in the body: matplotlib's in each plot, nbconvert's on a notebook), or a change
    of the root's classes that a selector depends on in full (Material's bundle: "no-js" to
    "js", "js-focus-visible"; its table rules ":not([class]) ... > :first-child"), restyled
    every element again, after the first paint. In Chromium's invalidation trace: a subtree
    invalidated at <html> or <body>, or a style sheet change reaching many elements."""
    restyles, elements = _invalidations_while_loading(
        browser,
        server + path,
        "document.getElementsByTagName('*').length",
        kinds=("StyleRecalcInvalidationTracking", "StyleInvalidatorInvalidationTracking"),
    )
    whole = [
        (reason, node)
        for reason, node in restyles
        if node in ("HTML", "BODY") and "subtree" in reason
    ]
    rule_changes = [node for reason, node in restyles if reason == "Style rule change"]
    assert not whole, f"{path}: the whole page restyled: {whole}"
    assert len(rule_changes) < 50, (
        f"{path}: a style sheet arrived after {len(rule_changes)} of the page's {elements} "
        f"elements were styled: {collections.Counter(rule_changes).most_common(5)}"
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_page_takes_its_colour_scheme_without_restyling_every_element(browser, server, scheme):
    """Material's bundle added a <meta name="color-scheme"> on every load and then set it:
    Chromium restyled the whole page for each ("PlatformColorChange", twice per load: on
    the MLE notebook 65 and 116 ms at 4x). The built bundle adds none (hooks/theme_fixes.py)
    and the root element takes the palette's scheme from docs/assets/extra.css."""
    restyles, (root, body) = _invalidations_while_loading(
        browser, server + "/notebooks/mle_exponential/", ROOT_SCHEME, color_scheme=scheme
    )
    whole_page = [node for reason, node in restyles if reason == "PlatformColorChange"]
    assert not whole_page, f"the whole page restyled for a colour scheme change: {whole_page}"
    assert (root, body) == {"light": ("light", "default"), "dark": ("dark", "slate")}[scheme]


# When the first contentful paint was on the screen (the entry's time), and every script
# the page fetched: where from, and when the fetch started.
FIRST_PAINT = """() => performance.getEntriesByName("first-contentful-paint")[0].startTime"""
SCRIPT_FETCHES = """() => performance.getEntriesByType("resource")
  .filter((e) => e.initiatorType === "script")
  .map((e) => [new URL(e.name).pathname.split("/").pop(), e.startTime])"""


@pytest.mark.parametrize("name", ["index", "exercises/influence-functions", "notebooks/conv2d"])
def test_the_pages_scripts_are_fetched_after_the_first_paint(browser, server, name):
    """Material's bundle and the site's scripts draw nothing: the first paint does not wait
    for them (hooks/theme_fixes.py loads them once it is on the screen, in order). As a
    <script> at the end of <body> the bundle was fetched while the page was parsed and ran
    before the first paint whenever it arrived in time."""
    context = browser.new_context(viewport={"width": 390, "height": HEIGHT[390]})
    try:
        page = context.new_page()
        page.goto(server + url_path(name), wait_until="load")
        scripts_loaded(page)
        first_paint = page.evaluate(FIRST_PAINT)
        fetches = page.evaluate(SCRIPT_FETCHES)
    finally:
        context.close()
    names = [script for script, _ in fetches]
    assert len(names) == 3 and names[0].startswith("bundle."), f"{name}: scripts {names}"
    assert names[1:] == ["solutions.js", "self-check.js"], f"{name}: scripts {names}"
    early = [(script, round(start)) for script, start in fetches if start < first_paint]
    assert not early, f"{name}: fetched before the first paint ({first_paint:.0f} ms): {early}"


PALETTE_LABELS = "[...document.querySelectorAll('label[for^=__palette]')].map((l) => !l.hidden)"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_reader_who_acts_before_the_scripts_have_run_loses_nothing(browser, server, scheme):
    """The scripts come after the first paint (hooks/theme_fixes.py). Before they have run,
    the palette toggle is already there (Material's HTML hides it until its bundle shows it),
    a search sent does not reload the page, an answer sent to "Check your answer" is checked
    once they have (the form used to reload the page and the answer was gone), and "Show all
    solutions" pressed then still opens the solutions. Here the scripts are held until the
    reader has done all of that."""
    context = browser.new_context(
        viewport={"width": 390, "height": HEIGHT[390]}, color_scheme=scheme
    )
    held = []
    try:
        page = context.new_page()
        page.route("**/*.js", lambda route: held.append(route))
        url = server + "/exercises/influence-functions/"
        # (not "load": scripts added before the load event hold it, and these are held)
        page.goto(url, wait_until="domcontentloaded")
        for _ in range(100):  # the loader asks for the three scripts after the first paint
            if len(held) == 3:
                break
            page.wait_for_timeout(50)
        assert len(held) == 3, [route.request.url for route in held]
        assert page.evaluate("typeof window.document$") == "undefined"  # not run yet
        labels = page.evaluate(PALETTE_LABELS)
        page.evaluate(  # a search sent: "stride", then Enter
            "(() => { const f = document.forms.search;"
            " f.elements.query.value = 'stride'; f.requestSubmit(); })()"
        )
        form = page.locator("form.self-check-form:visible").first
        field = form.locator("input, textarea").first
        field.fill("3")
        form.locator("button").first.click()
        toggle = page.locator("article .solutions-toggle")
        toggle.click()
        for route in held:
            route.continue_()
        scripts_loaded(page)
        page.wait_for_timeout(500)
        result = {
            "address": page.url,
            "answer": field.input_value(),
            "said": form.locator("[aria-live]").first.inner_text().strip(),
            "solutions shown": toggle.get_attribute("aria-pressed"),
            "toggle after": page.evaluate(PALETTE_LABELS),
        }
    finally:
        context.close()
    shown = {"light": [True, False], "dark": [False, True]}[scheme]
    assert labels == shown, f"palette toggle before the scripts ran: {labels}"
    assert result == {"address": url, "answer": "3", "said": result["said"] or "(nothing)",
                      "solutions shown": "true", "toggle after": shown}, result  # fmt: skip
    assert result["said"], result


# Each getComputedStyle() call counted, from before the page's first script.
COUNT_STYLE_READS = """(() => {
  const read = window.getComputedStyle;
  window.__styleReads = 0;
  window.getComputedStyle = function (...args) {
    window.__styleReads += 1;
    return read.apply(this, args);
  };
})()"""
# The scripts' style reads while a page loads, per element of the page. The scan for what
# scrolls sideways (overrides/main.html) read two styles of every element: 4,644 reads on
# the influence notebook (0.55 per element), 4,193 on the MLE notebook (1.2), one idle
# task of 230 ms at 4x CPU throttling. Stepping over code and formulas: 324 and 319. Each
# element read once (a cell near the screen was walked by the page's scan and again when
# reported drawn: the MLE notebook read 309-484 from load to load, once over this bound):
# 261 and 261, the same on every load.
MAX_STYLE_READS_PER_ELEMENT = 0.125


@pytest.mark.parametrize(
    "name", ["notebooks/influence_functions", "notebooks/mle_exponential", "exercises/convolution"]
)
def test_the_pages_scripts_read_few_styles_while_it_loads(browser, server, name):
    context = browser.new_context(viewport={"width": 390, "height": HEIGHT[390]})
    try:
        page = context.new_page()
        page.add_init_script(COUNT_STYLE_READS)
        page.goto(server + url_path(name), wait_until="load")
        settle(page)
        page.wait_for_timeout(1500)  # Material's start-up, the page's idle work
        reads, elements = page.evaluate(
            "[window.__styleReads, document.getElementsByTagName('*').length]"
        )
    finally:
        context.close()
    assert reads <= MAX_STYLE_READS_PER_ELEMENT * elements, (
        f"{name}: {reads} style reads while the page loaded, {reads / elements:.2f} per "
        f"element ({elements}); at most {MAX_STYLE_READS_PER_ELEMENT}"
    )


# Each heading whose anchor (Material's ¶, shown on hover) sits on a line of its own: not on
# the line of the heading's last piece of text.
ANCHOR_ON_A_LINE_ALONE = """() => [...document.querySelectorAll("article :is(h1,h2,h3,h4,h5,h6)")]
  .filter((h) => h.querySelector(":scope > .headerlink") && h.checkVisibility())
  .flatMap((h) => {
    const anchor = h.querySelector(":scope > .headerlink").getBoundingClientRect();
    const text = document.createRange();
    text.setStartBefore(h.firstChild);
    text.setEndBefore(h.querySelector(":scope > .headerlink"));
    const last = [...text.getClientRects()].filter((r) => r.width > 0).at(-1);
    const middle = (anchor.top + anchor.bottom) / 2;
    return last && (middle < last.top || middle > last.bottom)
      ? [`${h.textContent.trim()}: the anchor at y ${anchor.top}, the text's last line at `
         + `y ${last.top}`]
      : [];
  })"""


def test_a_headings_anchor_is_on_its_last_line(browser, server):
    """Material's heading anchor was an inline-block, and a line may break before one: a
    heading that just filled its column got a second line holding only the invisible
    anchor (docs/assets/extra.css). Every heading of every page (folds open, every notebook
    cell drawn), at both widths."""
    found = []
    context = browser.new_context(viewport={"width": 1280, "height": HEIGHT[1280]})
    try:
        page = context.new_page()
        for name in PAGES:
            page.goto(server + url_path(name), wait_until="load")
            page.add_style_tag(content="* { content-visibility: visible !important; }")
            page.evaluate("document.querySelectorAll('details').forEach((d) => d.open = true)")
            for width in (1280, 390):
                page.set_viewport_size({"width": width, "height": HEIGHT[width]})
                settle(page)
                found += [
                    f"{name} at {width} px: {m}" for m in page.evaluate(ANCHOR_ON_A_LINE_ALONE)
                ]
    finally:
        context.close()
    assert not found, "headings with a line for the anchor alone:\n" + "\n".join(found)


# The style rules in force (their media queries match) whose ::before or ::after belongs to
# any element at all (`::before`, `*::after`, `.jupyter-wrapper *::before`): the last
# compound of the selector is nothing but a universal selector and the pseudo-element. The
# selectors are the browser's own (CSSOM), split at the commas between its parts.
EVERY_ELEMENTS_PSEUDO = r"""() => {
  const found = [];
  const parts = (text) => {  // split at top-level commas
    const out = []; let depth = 0, start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (c === "(" || c === "[") depth++;
      else if (c === ")" || c === "]") depth--;
      else if (c === "," && depth === 0) { out.push(text.slice(start, i)); start = i + 1; }
    }
    return [...out, text.slice(start)].map((s) => s.trim());
  };
  const walk = (rules) => {
    for (const rule of rules) {
      if (rule instanceof CSSMediaRule && !matchMedia(rule.media.mediaText).matches) continue;
      if (rule instanceof CSSStyleRule) {
        for (const sel of parts(rule.selectorText)) {
          const last = sel.split(/\s*[\s>+~]\s*(?![^(]*\))/).at(-1);
          if (/^\*?::?(before|after)$/.test(last)) found.push(sel);
        }
      }
      if (rule.cssRules) walk(rule.cssRules);
    }
  };
  for (const sheet of document.styleSheets) walk(sheet.cssRules);
  return found;
}"""


def test_no_style_rule_gives_every_element_a_before_or_after(browser, server):
    """A ::before rule that matches every element makes Chromium compute a ::before style for
    every element of the page as it styles it, and the same for ::after, though almost none
    has content: Material's `*, ::before, ::after {box-sizing: inherit}` and nbconvert's
    `.jupyter-wrapper *::before` did (hooks/theme_fixes.py, hooks/notebooks.py). Checked in
    every page's style sheets, at both widths."""
    found = {}
    context = browser.new_context(viewport={"width": 1280, "height": HEIGHT[1280]})
    try:
        page = context.new_page()
        for name in PAGES:
            page.goto(server + url_path(name), wait_until="load")
            for width in (1280, 390):
                page.set_viewport_size({"width": width, "height": HEIGHT[width]})
                for sel in page.evaluate(EVERY_ELEMENTS_PSEUDO):
                    found.setdefault(sel, set()).add(name)
    finally:
        context.close()
    assert not found, "rules that give every element a ::before or ::after: " + "; ".join(
        f"{sel} ({', '.join(sorted(names))})" for sel, names in found.items()
    )


def test_a_table_of_contents_link_lands_on_its_heading_in_a_long_notebook(browser, server):
    """The cells drawn on the way change height as the link's scroll passes them: the
    heading must still end where a direct visit to its address puts it (overrides/main.html
    scrolls to it again once the scroll has ended)."""
    url = server + "/notebooks/influence_functions/"
    top = "id => Math.round(document.getElementById(id).getBoundingClientRect().top)"
    with Visit(browser, url) as visit:
        link = visit.page.locator(".md-sidebar--secondary a.md-nav__link").last
        target = link.get_attribute("href").split("#")[1]
        link.click()
        visit.page.wait_for_timeout(1500)
        clicked = visit.page.evaluate(top, target)
    with Visit(browser, f"{url}#{target}") as visit:
        visit.page.wait_for_timeout(500)
        direct = visit.page.evaluate(top, target)
        # where the browser puts a target: its scroll margin (Material's, under the header)
        margin = visit.page.evaluate(
            "id => parseFloat(getComputedStyle(document.getElementById(id)).scrollMarginTop)",
            target,
        )
    where = f"#{target}: {clicked} px from the top after the click, {direct} on a direct visit"
    assert abs(clicked - margin) <= 2 and abs(direct - margin) <= 2, f"{where}, margin {margin}"


def test_keyboard_focus_is_visible_on_a_notebook_page(browser, server):
    """JupyterLab's CSS removes every focus outline (WCAG 2.4.7): each element the keyboard
    reaches inside a notebook shows one (docs/assets/extra.css)."""
    with Visit(browser, server + "/notebooks/vgg11_parameters/") as visit:
        page = visit.page
        seen = []
        for _ in range(40):
            page.keyboard.press("Tab")
            state = page.evaluate(
                """() => {
                  const el = document.activeElement;
                  if (!el.closest(".jupyter-wrapper")) return null;
                  const s = getComputedStyle(el);
                  return {what: el.tagName + "." + el.className, style: s.outlineStyle,
                          width: parseFloat(s.outlineWidth)};
                }"""
            )
            if state:
                seen.append(state)
    assert len(seen) >= 3, f"the keyboard reached {len(seen)} elements in the notebook"
    unseen = [s for s in seen if s["style"] == "none" or s["width"] < 1]
    assert not unseen, f"focused without an outline: {unseen[:3]}"


# Every element of KaTeX's hidden MathML but the TeX annotation: how it is laid out.
MATHML_LAYOUT = """() => {
  const text = getComputedStyle(document.body).fontFamily;
  const size = getComputedStyle(document.querySelector(".md-content .md-typeset")).fontSize;
  const all = [...document.querySelectorAll(".katex-mathml math, .katex-mathml math *")];
  const tags = {};
  const odd = all.filter(el => el.localName !== "annotation").map(el => {
    tags[el.localName] = (tags[el.localName] || 0) + 1;
    const s = getComputedStyle(el);
    const font = s.fontFamily === text ? "text font" : s.fontFamily;
    const px = s.fontSize === size ? "text size" : s.fontSize;
    return [el.localName, s.display, s.textTransform, font, px];
  }).filter(([, d, t, f, z]) =>
    d !== "inline" || t !== "none" || f !== "text font" || z !== "text size");
  return {maths: document.querySelectorAll(".katex-mathml math").length, tags, odd};
}"""
# The MathML elements that carry meaning, and their roles in Chromium's accessibility tree.
MATHML_ROLES = {
    "math": "MathMLMath",
    "mi": "MathMLIdentifier",
    "mn": "MathMLNumber",
    "mo": "MathMLOperator",
    "mfrac": "MathMLFraction",
    "msub": "MathMLSub",
    "msup": "MathMLSup",
    "msubsup": "MathMLSubSup",
    "mover": "MathMLOver",
    "munder": "MathMLUnder",
    "munderover": "MathMLUnderOver",
    "msqrt": "MathMLSquareRoot",
    "mtable": "MathMLTable",
    "mtr": "MathMLTableRow",
    "mtd": "MathMLTableCell",
}


@pytest.mark.parametrize("name", ["notebooks/mle_exponential", "exercises/influence-functions"])
def test_the_hidden_mathml_is_laid_out_as_text_and_read_as_math(browser, server, name):
    """KaTeX's MathML, for screen readers, is never drawn. Laid out as math, in the `math`
    font and with math-italic letters, it cost a system font look-up per letter and size
    on every load (a first load of the influence notebook: 284 look-ups before, 121 after;
    searches for a fallback font 211 and 39); docs/assets/extra.css lays it out as inline
    text in the page's font, at the body text's size (a size of its own costs a font
    look-up per family and a synchronous request to the browser process). Screen readers
    read the elements: with accessibility on from the start, as when
    a screen reader runs, every formula is one math node in Chromium's accessibility tree
    (those in notebook cells not drawn yet too), with its identifiers and without the
    TeX source."""
    reader = browser.browser_type.launch(
        executable_path=CHROMIUM, args=[*ARGS, "--force-renderer-accessibility"]
    )
    try:
        context = reader.new_context(viewport={"width": 1280, "height": HEIGHT[1280]})
        page = context.new_page()
        page.goto(f"{server}/{name}/", wait_until="load")
        settle(page)
        layout = page.evaluate(MATHML_LAYOUT)
        nodes = context.new_cdp_session(page).send("Accessibility.getFullAXTree")["nodes"]
    finally:
        reader.close()
    assert layout["maths"] >= 10, f"{name}: {layout['maths']} formulas found"
    assert not layout["odd"], (
        f"{name}: {len(layout['odd'])} MathML elements not laid out as text in the page's "
        f"font and size (display, text-transform, font, size): {layout['odd'][:4]}"
    )
    shown = {n["nodeId"]: n for n in nodes if not n.get("ignored")}
    role = collections.Counter(n.get("role", {}).get("value") for n in shown.values())
    missing = {
        tag: (count, role[MATHML_ROLES[tag]])
        for tag, count in layout["tags"].items()
        if tag in MATHML_ROLES and role[MATHML_ROLES[tag]] != count
    }
    assert not missing, (
        f"{name}: MathML elements and their nodes in the accessibility tree differ "
        f"(tag: elements, nodes): {missing}"
    )
    assert {"math", "mi", "mo"} <= set(layout["tags"]), f"{name}: {layout['tags']}"

    def text_under(node_id: str) -> str:
        node = shown.get(node_id)
        if node is None:
            return ""
        own = node.get("name", {}).get("value", "") if node["role"]["value"] == "StaticText" else ""
        return own + "".join(text_under(child) for child in node.get("childIds", []))

    maths = [i for i, n in shown.items() if n["role"]["value"] == "MathMLMath"]
    tex = [text for text in map(text_under, maths) if "\\" in text]
    assert not tex, f"{name}: TeX source read out in a formula: {tex[:2]}"


# A span of each class, put into a notebook's code cell: what it computes differently from
# a span without a class, and, for what text draws with, from the code block itself (the
# unwrapped text is the block's own).
PROBE_TOKENS = """classes => {
  const pre = document.querySelector(".highlight-ipynb pre");
  const probe = cls => { const s = document.createElement("span"); if (cls) s.className = cls;
                         s.textContent = "name"; pre.append(s); return s; };
  const plain = getComputedStyle(probe(""));
  const block = getComputedStyle(pre);
  const drawn = ["color", "font-family", "font-size", "font-style", "font-weight",
                 "letter-spacing", "text-shadow", "-webkit-text-stroke-width"];
  const differ = {};
  for (const cls of classes) {
    const s = getComputedStyle(probe(cls));
    const d = [...plain].filter(p => s.getPropertyValue(p) !== plain.getPropertyValue(p))
      .concat(drawn.filter(p => s.getPropertyValue(p) !== block.getPropertyValue(p)));
    if (d.length) differ[cls] = d.map(p => `${p}: ${s.getPropertyValue(p)}`).slice(0, 3);
  }
  return differ;
}"""


@pytest.mark.parametrize("scheme", [LIGHT, DARK])
def test_the_unwrapped_token_classes_draw_like_plain_code(browser, server, scheme):
    """hooks/notebooks.py takes the spans of some Pygments token classes out of the
    notebooks' code (PLAIN_TOKENS: a quarter of a long notebook's elements), because no
    style sheet draws them differently. A span of each class, put into a notebook's code
    cell, computes every CSS property as a span without a class does, in both palettes."""
    tokens = load_hook("notebooks").PLAIN_TOKENS
    with Visit(browser, server + "/notebooks/influence_functions/") as visit:
        set_palette(visit.page, scheme)
        differ = visit.page.evaluate(PROBE_TOKENS, list(tokens))
        control = visit.page.evaluate(PROBE_TOKENS, ["k", "p"])
    assert set(control) == {"k", "p"}, f"the probe sees no difference for styled tokens: {control}"
    assert not differ, (
        f"{scheme}: these token classes are styled, unwrapping changed the code: {differ}"
    )
