"""Exercise first (issue 13): the problem, folded hints, "Check your answer", the folded
solution; the PDFs; the problems-only site (SOLUTIONS=off).

In Chromium (as tests/test_browser.py): no answer is visible on load, and the toggle, a
click or a link into a fold shows it; every self-check box says "Correct" to the right
answer, names a wrong entry, explains malformed input, and works by keyboard alone; no
console errors. On the files: sheet.pdf has every problem and no answer, solutions.pdf has
the answers; the problems-only build has no solution text and still fails on a wrong number.

The answers typed here come from the sheet (or from the data the page shows), never from
the build. ``open_all_solutions(page)`` is for other browser tests: it shows every fold
the way a reader would, with the page's own "Show all solutions" button.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CHROMIUM, HAVE_CHROMIUM, ROOT, build_env, copy_project, scripts_loaded

pytestmark = pytest.mark.site

needs_chromium = pytest.mark.skipif(
    not HAVE_CHROMIUM and os.environ.get("CI") != "true",
    reason=f"Chromium not found at {CHROMIUM}: apt-get install chromium, or set CHROMIUM",
)

# The sheet's answers (exercise-sheet.md), typed here and nowhere else.
CONV = {
    "a": [[3, 3, 1], [2, 2, 3], [5, 3, -1]],
    "b": [[3, 1], [5, -1]],
    "c": [[1, 3, 2], [0, 2, 4], [0, 1, -1]],
}
VGG_TOTAL = 132_863_336
VGG_FEATURES_3 = 3 * 3 * 64 * 128 + 128  # Conv2d(64, 128, 3×3): weights and biases
MEAN_RATE = 6 - (1 + 2 + 6) / 3  # the influence of z = 6 on the mean of (1, 2, 6): z − x̄

# Text that only a solution holds, per page (visible only once the fold is open).
SOLUTION_TEXT = {
    "exercises/mle-exponential": ["L-BFGS maximiser", "Monte Carlo mean"],
    "exercises/convolution": ["True convolution", "Which patch gives which entry"],
    "exercises/vgg11-parameters": ["132,863,336", "102,764,544", "Three counts that must agree"],
    "exercises/influence-functions": ["Start with the mean", "the sheet's whole proof"],
    "index": ["132,863,336"],
}
# Every problem, as the sheet words it.
PROBLEMS = [
    "Derive the maximum likelihood estimator of the parameter",
    "What is the output of the convolutional layer for the case of stride 1 and no padding?",
    "What if we have stride 2 and zero-padding of size 1?",
    "automatically compute its number of parameters",
    "Show that the first order Taylor expansion",
]


def open_all_solutions(page) -> None:
    """Show every fold of the page, as a reader would: press "Show all solutions" (where
    the page has solutions), then open whatever else is folded (hints)."""
    toggle = page.locator("article button.solutions-toggle")
    if toggle.count() and toggle.get_attribute("aria-pressed") != "true":
        toggle.click()
    page.evaluate("document.querySelectorAll('article details').forEach(d => d.open = true)")


# --- a server and a browser, as in tests/test_browser.py ---------------------------------


@pytest.fixture
def visit(browser, server):
    """Open a page; yields (page, errors). Fails the test on any console or page error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    errors: list[str] = []

    def load(path: str):
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server + "/" + path, wait_until="load")
        scripts_loaded(page)
        page.wait_for_timeout(200)
        return page

    yield load
    context.close()
    assert errors == [], f"console or page errors: {errors}"


def url(name: str) -> str:
    return "" if name == "index" else f"{name}/"


# Every matrix in the article that is on screen, read from KaTeX's MathML, with whether
# its rendered formula is visible (a closed <details> renders none of its content).
VISIBLE_MATRICES = """() => Array.from(document.querySelectorAll("article mtable")).map((t) => {
  const katex = t.closest(".katex");
  const shown = katex.querySelector(".katex-html");
  const visible = shown.checkVisibility() && shown.getBoundingClientRect().width > 0;
  const rows = Array.from(t.querySelectorAll("mtr")).map((tr) =>
    Array.from(tr.querySelectorAll("mtd")).map((td) =>
      Number(td.textContent.replace("\\u2212", "-").trim())));
  return {visible, rows};
})"""


def visible_answers(page) -> list:
    return [m["rows"] for m in page.evaluate(VISIBLE_MATRICES) if m["visible"] and m["rows"]]


# --- on load no answer is visible; the toggle, a click or a link shows it -----------------


@needs_chromium
@pytest.mark.parametrize("name", sorted(SOLUTION_TEXT))
def test_no_answer_is_visible_on_load_and_the_toggle_shows_it(visit, name):
    page = visit(url(name))
    text = page.inner_text("article")  # what is rendered: a closed fold's content is not
    for hidden in SOLUTION_TEXT[name]:
        assert hidden not in text, f"{name}: {hidden!r} visible on load"
    if name in ("exercises/convolution", "index"):
        shown = visible_answers(page)
        assert [a for a in CONV.values() if a in shown] == [], f"{name}: an answer matrix shows"

    if name == "index":  # the home page folds each answer; no page-wide toggle
        for summary in page.locator("article details.solution > summary").all():
            summary.click()
    else:
        toggle = page.get_by_role("button", name="Show all solutions")
        assert toggle.get_attribute("aria-pressed") == "false"
        toggle.focus()
        page.keyboard.press("Enter")  # a real button: the keyboard works
        assert toggle.get_attribute("aria-pressed") == "true"
    text = page.inner_text("article")
    for hidden in SOLUTION_TEXT[name]:
        assert hidden in text, f"{name}: {hidden!r} still hidden after the toggle"
    if name == "exercises/convolution":
        assert all(a in visible_answers(page) for a in CONV.values())
    if name == "index":
        assert CONV["a"] in visible_answers(page)
    else:
        toggle.click()  # and back
        assert toggle.get_attribute("aria-pressed") == "false"
        assert SOLUTION_TEXT[name][0] not in page.inner_text("article")


@needs_chromium
def test_a_click_on_the_fold_shows_the_solution(visit):
    page = visit("exercises/vgg11-parameters/")
    page.locator("article details.solution > summary").click()
    assert "132,863,336" in page.inner_text("article")
    # Every fold open by hand: the toggle says so.
    button = page.locator("button.solutions-toggle")
    assert button.get_attribute("aria-pressed") == "true"


@needs_chromium
def test_a_link_to_an_anchor_inside_a_fold_opens_it(visit):
    page = visit("exercises/convolution/#copy-this")
    assert page.locator("details.solution").evaluate("d => d.open")
    heading = page.locator("#copy-this")
    assert heading.is_visible() and heading.evaluate("h => h.getBoundingClientRect().top") < 300
    # A link followed in the page (hashchange) opens a closed fold too.
    page.evaluate("document.querySelector('details.solution').open = false")
    page.locator(".md-sidebar--secondary a[href='#the-answers']").click()
    page.wait_for_timeout(100)
    assert page.locator("details.solution").evaluate("d => d.open")
    assert page.locator("#the-answers").is_visible()


# A closed fold's formulas come as text in <noscript class="math-lazy"> (hooks/katex_math.py)
# and become HTML when the fold opens (overrides/main.html). What each fold holds, and
# what it holds one frame after it is opened, before it is drawn:
OPEN_EACH_FOLD = """async () => {
  const folds = [...document.querySelectorAll("article details:not([open])")]
    .filter((d) => !d.parentElement.closest("details"));
  const result = [];
  for (const fold of folds) {
    const lazy = fold.querySelectorAll("noscript.math-lazy").length;
    const before = fold.querySelectorAll(".katex").length;
    fold.open = true;
    await new Promise((r) => requestAnimationFrame(r));
    result.push({lazy, before, after: fold.querySelectorAll(".katex").length,
                 left: fold.querySelectorAll("noscript.math-lazy").length});
  }
  return result;
}"""
FORMULAS = "[...document.querySelectorAll('article .katex')].map(k => k.textContent)"
ELEMENTS = "document.querySelectorAll('*').length"
# What an exercise page gives the browser to parse on load (influence functions: 16,000
# with its folds' formulas as HTML, 6,600 without).
MAX_ELEMENTS_ON_LOAD = 7_000


@needs_chromium
@pytest.mark.parametrize("name", sorted(SOLUTION_TEXT))
def test_a_folds_formulas_become_html_when_it_opens_and_without_javascript(
    browser, server, visit, name
):
    context = browser.new_context(java_script_enabled=False)
    try:
        plain = context.new_page()
        plain.goto(server + "/" + url(name), wait_until="load")
        without_js = plain.evaluate(FORMULAS)  # the noscript content, read as HTML
        elements_without_js = plain.evaluate(ELEMENTS)
    finally:
        context.close()

    page = visit(url(name))
    elements = page.evaluate(ELEMENTS)
    assert elements <= MAX_ELEMENTS_ON_LOAD, f"{name}: {elements} elements on load"
    folds = page.evaluate(OPEN_EACH_FOLD)
    lazy = sum(f["lazy"] for f in folds)
    assert lazy >= 3, f"{name}: {lazy} formulas are left for later in its closed folds"
    assert elements < elements_without_js - 10 * lazy, (name, elements, elements_without_js)
    for i, fold in enumerate(folds):
        assert fold["before"] == 0, f"{name}, fold {i + 1}: a formula parsed as HTML on load"
        assert fold["left"] == 0 and fold["after"] >= fold["lazy"], (
            f"{name}, fold {i + 1}: its formulas were not HTML when it was first drawn: {fold}"
        )
    assert page.evaluate(FORMULAS) == without_js, f"{name}: formulas differ from the HTML"
    assert len(without_js) >= lazy


@needs_chromium
def test_printing_turns_every_folded_formula_into_html(visit):
    page = visit("exercises/mle-exponential/")
    assert page.evaluate("document.querySelectorAll('noscript.math-lazy').length") > 0
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert page.evaluate("document.querySelectorAll('noscript.math-lazy').length") == 0


@needs_chromium
def test_search_finds_text_that_only_a_solution_holds(visit):
    page = visit("")
    search = page.locator("input.md-search__input")
    search.click()
    search.press_sequentially("Cholesky", delay=30)  # only in the influence page's solution
    hit = page.locator(".md-search-result__item a[href*='/exercises/influence-functions/']")
    hit.first.wait_for(state="visible", timeout=15_000)


# --- "Check your answer" -------------------------------------------------------------------


def matrix_text(rows: list[list[float]], sep: str = " ") -> str:
    return "\n".join(sep.join(str(v) for v in row) for row in rows)


def mle_answer(page) -> float:
    """λ̂ = N / Σx for the data the page shows (the sheet's estimator, computed here)."""
    intro = page.inner_text(".self-check")
    data = re.search(r"x\s*=\s*\(([0-9., ]+)\)", intro.replace("\n", ""))
    assert data, intro
    values = [float(v) for v in data.group(1).split(",")]
    return len(values) / sum(values)


# (page, box key, right answer, a wrong answer, what the message must name)
def cases(page) -> dict:
    wrong_a = [row[:] for row in CONV["a"]]
    wrong_a[1][2] += 1
    return {
        "conv-a": (matrix_text(CONV["a"]), matrix_text(wrong_a), "row 2, column 3"),
        "conv-b": (matrix_text(CONV["b"], ", "), "3 1\n5 −2", "row 2, column 2"),
        "conv-c": (
            matrix_text(CONV["c"]).replace("-", "\u2212"),
            "1 3 2\n0 2 4\n0 1 1",
            "row 3, column 3",
        ),  # fmt: skip
        "vgg-total": ("132,863,336", "132,863,337", "Not yet"),
        "vgg-layer": ("73 856", str(VGG_FEATURES_3 - 128), "Not yet"),
        "mle": (f"{mle_answer(page):.3g}", f"{mle_answer(page) * 1.02:.3g}", "Not yet")
        if page.locator("#check-mle").count()
        else None,
        "influence": (f"{MEAN_RATE:g}", f"{-MEAN_RATE:g}", "Not yet"),
    }


BOXES = {
    "exercises/convolution": ["conv-a", "conv-b", "conv-c"],
    "exercises/vgg11-parameters": ["vgg-total", "vgg-layer"],
    "exercises/mle-exponential": ["mle"],
    "exercises/influence-functions": ["influence"],
}


def submit(page, key: str, text: str) -> str:
    field = page.locator(f"#check-{key}")
    field.fill(text)
    page.locator(f"form:has(#check-{key}) button[type=submit]").click()
    return page.locator(f"form:has(#check-{key}) [aria-live=polite]").inner_text()


@needs_chromium
@pytest.mark.parametrize("name,key", [(name, key) for name, keys in BOXES.items() for key in keys])
def test_self_check_box(visit, name, key):
    page = visit(url(name))
    right, wrong, named = cases(page)[key]
    field = page.locator(f"#check-{key}")
    label = page.locator(f"label[for='check-{key}']")
    assert label.count() == 1 and label.inner_text().strip(), "every input has a label"
    assert page.locator(f"form:has(#check-{key}) [aria-live=polite]").count() == 1

    assert submit(page, key, right).startswith("Correct"), right
    message = submit(page, key, wrong)
    assert named in message and "Correct" not in message, message
    assert "Type your answer first" in submit(page, key, "")
    assert "is not a number" in submit(page, key, "abc" if "conv" not in key else "1 x 2")
    if key.startswith("conv"):
        assert "Wrong shape" in submit(page, key, "1 2\n3 4 5")
        assert "Wrong shape" in submit(page, key, "1")
    else:
        assert "is not a number" in submit(page, key, "12 apples")
    assert field.get_attribute("aria-invalid") == "true"

    # Keyboard alone: Tab into the field from the text before it, type, check.
    field.fill("")
    page.locator(f"form:has(#check-{key}) .self-check__help").click()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == f"check-{key}"
    page.keyboard.type(right)
    if key.startswith("conv"):  # Enter starts a new row in a matrix: Tab to the button
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
    else:
        page.keyboard.press("Enter")
    feedback = page.locator(f"form:has(#check-{key}) [aria-live=polite]")
    assert feedback.inner_text().startswith("Correct")
    if key.startswith("conv"):  # Ctrl+Enter checks from inside the matrix
        field.fill(wrong)
        field.press("Control+Enter")
        assert named in feedback.inner_text()


@needs_chromium
def test_numbers_are_read_as_people_write_them(visit):
    page = visit("exercises/vgg11-parameters/")
    for typed in ("132863336", "132,863,336", "132 863 336", "132\u202f863\u202f336"):
        assert submit(page, "vgg-total", typed).startswith("Correct"), typed
    parse = "t => window.selfCheck.parseNumber(t)"
    assert page.evaluate(parse, "\u22121,234") == {"value": -1234}
    assert page.evaluate(parse, "-0.5") == {"value": -0.5}
    assert page.evaluate(parse, "10/4") == {"value": 2.5}
    assert page.evaluate(parse, "2,5") == {"error": "decimal comma"}
    assert page.evaluate(parse, "1+1") == {"error": "not a number"}  # no eval
    assert "point" in submit(page, "vgg-total", "2,5")


@needs_chromium
def test_a_matrix_pasted_from_python_is_read(visit):
    """What NumPy and PyTorch print, or a nested list, pasted into a matrix box."""
    import numpy as np
    import torch

    page = visit("exercises/convolution/")
    a = CONV["a"]
    pasted = [
        str(np.array(a)),  # [[ 3  3  1]\n [ 2  2  3]...]]
        repr(np.array(a, dtype=float)),  # array([[ 3.,  3.,  1.], ...])
        repr(torch.tensor(a, dtype=torch.float64)),  # tensor([[...]], dtype=torch.float64)
        str(a),  # [[3, 3, 1], [2, 2, 3], [5, 3, -1]]: one line
    ]
    for text in pasted:
        assert submit(page, "conv-a", text).startswith("Correct"), text
    wrong = str(np.array(a) + np.eye(3, dtype=int))
    assert "row 1, column 1" in submit(page, "conv-a", wrong), wrong


def test_expected_values_come_from_the_build_not_the_markdown(built_site):
    """The forms carry the sheet's answers, and no page source types them."""
    html = (built_site / "exercises/convolution/index.html").read_text(encoding="utf-8")
    expected = [json.loads(v.replace("&quot;", '"')) for v in re.findall(
        r'data-expected="([^"]+)"', html)]  # fmt: skip
    assert expected == [CONV["a"], CONV["b"], CONV["c"]]
    vgg = (built_site / "exercises/vgg11-parameters/index.html").read_text(encoding="utf-8")
    assert re.findall(r'data-expected="([^"]+)"', vgg) == [str(VGG_TOTAL), str(VGG_FEATURES_3)]
    for page in (ROOT / "docs").rglob("*.md"):
        source = page.read_text(encoding="utf-8")
        assert "132,863,336" not in source and "132863336" not in source, page
        assert "data-expected" not in source, page


# --- PDFs ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pdfs(built_site, tmp_path_factory) -> dict[str, str]:
    """sheet.pdf and solutions.pdf printed from the built site; their text (pypdf)."""
    if not HAVE_CHROMIUM:
        pytest.fail(f"Chromium not found at {CHROMIUM}", pytrace=False)
    from pypdf import PdfReader

    out = tmp_path_factory.mktemp("pdf")
    script = [sys.executable, str(ROOT / "scripts/make_pdf.py")]
    result = subprocess.run(
        [*script, "--site", str(built_site), "--out", str(out)],
        capture_output=True, text=True, env=build_env(), timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    texts = {}
    for name in ("sheet.pdf", "solutions.pdf"):
        reader = PdfReader(out / name)
        texts[name] = "\n".join(p.extract_text() for p in reader.pages)
        texts[name + ":pages"] = str(len(reader.pages))
    return texts


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@needs_chromium
def test_sheet_pdf_has_every_problem_and_no_answer(pdfs):
    sheet = flat(pdfs["sheet.pdf"])
    for problem in PROBLEMS:
        assert problem in sheet, problem
    assert "Hint 1" in sheet
    for answer in ("132,863,336", "132863336", "102,764,544", "L-BFGS", "True convolution",
                   "Show all solutions"):  # fmt: skip
        assert answer not in sheet, answer
    # The convolution answers: solutions.pdf prints each as "(a) stride 1, no padding:".
    assert "stride 1, no padding:" not in sheet


@needs_chromium
def test_solutions_pdf_has_the_answers(pdfs):
    solutions = flat(pdfs["solutions.pdf"])
    for problem in PROBLEMS:
        assert problem in solutions, problem
    for answer in ("132,863,336", "102,764,544", "stride 1, no padding:", "Which patch gives"):
        assert answer in solutions, answer
    assert int(pdfs["solutions.pdf:pages"]) > int(pdfs["sheet.pdf:pages"]) >= 4
    for code in ("def conv2d(", "import torch", "print(f"):  # code is left out of print
        assert code not in solutions, code


# --- the problems-only site: SOLUTIONS=off -------------------------------------------------


def build_problems_only(project: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=project,
        env=build_env() | {"SOLUTIONS": "off"},
        capture_output=True,
        text=True,
        timeout=1800,
    )


@pytest.fixture(scope="module")
def problems_only(tmp_path_factory) -> Path:
    project = copy_project(tmp_path_factory.mktemp("off") / "project")
    site = project.parent / "site"
    result = build_problems_only(project, site)
    assert result.returncode == 0, result.stdout + result.stderr
    return site


def test_problems_only_site_has_no_solution_text(problems_only):
    # the solved notebooks hold the answers; the worksheets (tests/test_notebooks.py shows
    # they hold none) stay, linked from the home page
    published = sorted(p.name for p in (problems_only / "notebooks").rglob("*") if p.is_file())
    assert published and all(n.endswith("-worksheet.ipynb") for n in published), published
    assert len(published) == 4, published
    worksheet_links = 0
    everything = ""
    for page in problems_only.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert 'class="success solution"' not in html and "data-expected" not in html, page
        assert not re.search(r"<button[^>]*solutions-toggle", html), page  # no folds to open
        assert not re.search(r'href="[^"]*solutions\.pdf', html), page
        for link in re.findall(r'href="([^"]*notebooks/[^"]*)"', html):
            assert link.endswith("-worksheet.ipynb"), (page, link)
            worksheet_links += 1
        article = re.search(r"<article\b.*?</article>", html, re.DOTALL)
        everything += article.group() if article else ""  # (not the page's description)
    index = (problems_only / "search/search_index.json").read_text(encoding="utf-8")
    for text in (everything, index):
        for hidden in [t for ts in SOLUTION_TEXT.values() for t in ts] + ["Pearlmutter"]:
            assert hidden not in text, hidden
    conv = (problems_only / "exercises/convolution/index.html").read_text(encoding="utf-8")
    assert "Hint 1" in conv and "zero-padding of size 1" in conv, "problems and hints stay"
    assert "sheet.pdf" in (problems_only / "index.html").read_text(encoding="utf-8")
    assert worksheet_links >= 4, worksheet_links


def test_problems_only_build_still_fails_on_a_wrong_number(tmp_path):
    """A check inside a solution fold still runs, and stops the problems-only build."""
    project = copy_project(tmp_path / "project")
    path = project / "snippets/conv2d.py"
    text = path.read_text(encoding="utf-8")
    old = "    return (n + 2 * padding - k) // stride + 1"
    assert old in text
    path.write_text(text.replace(old, "    return (n + padding - k) // stride + 1"))
    result = build_problems_only(project, tmp_path / "site")
    output = result.stdout + result.stderr
    assert result.returncode != 0, "the problems-only build passed despite the fault"
    assert "output-size formula gives" in output
    assert "docs/exercises/convolution.md" in output
