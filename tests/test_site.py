"""Site tests: read answers back from the built HTML, and prove that faults stop the build."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from bs4 import BeautifulSoup
from conftest import ROOT, SNIPPETS, build_env, copy_project, load_hook, mkdocs_build

pytestmark = pytest.mark.site

SHEET_ANSWERS = [
    [[3, 3, 1], [2, 2, 3], [5, 3, -1]],
    [[3, 1], [5, -1]],
    [[1, 3, 2], [0, 2, 4], [0, 1, -1]],
]


def page(site: Path, path: str) -> BeautifulSoup:
    return BeautifulSoup((site / path).read_text(encoding="utf-8"), "html.parser")


def matrices(soup: BeautifulSoup) -> list[list[list[float]]]:
    """Every matrix the reader sees: the MathML tables, read cell by cell."""
    found = []
    for table in soup.find_all("mtable"):
        rows = []
        for tr in table.find_all("mtr"):
            cells = [td.get_text("").replace("\u2212", "-").strip() for td in tr.find_all("mtd")]
            try:
                rows.append([float(c) for c in cells])
            except ValueError:
                break
        else:
            found.append(rows)
    return found


def test_convolution_page_shows_the_three_answers(built_site):
    shown = matrices(page(built_site, "exercises/convolution/index.html"))
    for answer in SHEET_ANSWERS:
        assert answer in shown, f"answer {answer} not on the page"


def test_convolution_page_shows_input_kernel_and_padded_input(built_site):
    shown = matrices(page(built_site, "exercises/convolution/index.html"))
    assert [[1, 2, -1, 1], [1, 0, 1, 0], [0, 1, 0, 2], [2, 1, 0, -1]] in shown
    assert [[1, 0], [2, 1]] in shown
    assert [
        [0] * 6,
        [0, 1, 2, -1, 1, 0],
        [0, 1, 0, 1, 0, 0],
        [0, 0, 1, 0, 2, 0],
        [0, 2, 1, 0, -1, 0],
        [0] * 6,
    ] in shown
    assert [[5, 1, 1], [2, 2, 3], [3, 1, 3]] in shown  # the true convolution, for contrast


def test_convolution_page_shows_the_patch_view_and_sizes(built_site):
    text = page(built_site, "exercises/convolution/index.html").get_text(" ")
    assert "Y[1,1]" in text and "Y[3,3]" in text
    assert "⌊(n + 2p − k)/s⌋ + 1" in text


def test_home_page_links_the_exercises_and_shows_computed_answers(built_site):
    soup = page(built_site, "index.html")
    hrefs = {a.get("href") for a in soup.find_all("a")}
    for name in ("mle-exponential", "convolution", "vgg11-parameters", "influence-functions"):
        assert f"exercises/{name}/" in hrefs
    assert SHEET_ANSWERS[0] in matrices(soup)
    assert "132,863,336" in soup.get_text()


def test_notebook_is_executed_and_downloadable(built_site):
    soup = page(built_site, "notebooks/conv2d/index.html")
    outputs = soup.select(".jp-OutputArea-output")
    assert any("(a) stride=1, padding=0" in o.get_text() for o in outputs), "no executed output"
    links = {a.get("href") for a in soup.select(".notebook-downloads a")}
    assert links == {"conv2d-worksheet.ipynb", "conv2d.ipynb", "conv2d.py"}
    py = (built_site / "notebooks/conv2d/conv2d.py").read_text()
    assert "def conv2d(" in py and "--8<--" not in py  # the rest: tests/test_notebooks.py
    notebook = json.loads((built_site / "notebooks/conv2d/conv2d.ipynb").read_text())
    code = "".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code")
    assert "def conv2d(" in code and notebook["metadata"]["kernelspec"]["name"] == "python3"


PAGES = sorted(
    str(p.relative_to(ROOT / "docs").with_suffix("")) for p in (ROOT / "docs").rglob("*.md")
) + [f"notebooks/{p.stem}" for p in sorted(SNIPPETS.glob("*.py"))]


def html_path(page_name: str) -> str:
    return "index.html" if page_name == "index" else f"{page_name}/index.html"


@pytest.mark.parametrize("path", [html_path(p) for p in PAGES])
def test_pages_have_math_no_raw_tex_and_no_outside_requests(built_site, path):
    soup = page(built_site, path)
    for tag in soup(["script", "style", "pre", "code"]) + soup.select(".clipboard-copy-txt"):
        tag.decompose()  # code may hold TeX; .clipboard-copy-txt is a hidden copy of a cell
    text = soup.get_text(" ")
    for raw in ("$$", r"\frac", r"\begin", r"\("):
        assert raw not in text, f"raw TeX {raw!r} in {path}"
    html = (built_site / path).read_text(encoding="utf-8")
    outside = re.findall(r'(?:src|href)="(https?://[^"]+)"', html)
    assert [u for u in outside if "127.0.0.1" not in u and "squidfunk" not in u] == []
    assert "mathjax" not in html.lower() and "fonts.googleapis" not in html


def test_each_face_carries_the_glyphs_its_formulas_draw():
    """hooks/katex_math.py reads which face draws each character from KaTeX's classes
    (its CSS), and cuts each face down to those: the same bytes on every call."""
    hook = load_hook("katex_math")
    drawn = hook._DrawnText(
        '<p>x</p><span class="katex"><span class="katex-mathml"><math><mi>y</mi></math></span>'
        '<span class="katex-html" aria-hidden="true"><span class="base">'
        '<span class="mord mathnormal">f</span><span class="mopen">(</span>'
        '<span class="mord mathbf">v</span><span class="mord mathbb">R</span>'
        '<span class="mop op-symbol small-op">\u2211</span>'
        '<span class="sizing reset-size6 size3 mtight katex-sizing">'
        '<span class="mord">2</span></span>'
        '<span class="vlist-s">\u200b</span></span></span></span>'
        '<noscript class="math-lazy"><span class="katex-html" aria-hidden="true">'
        '<span class="mord mathnormal">g</span></span></noscript>'
    ).chars
    assert drawn["Math-Italic"] == {"f", "g"}  # also in a folded formula
    assert drawn["Main-Regular"] == {"(", "2", "\u200b"}  # bold v: its own face, a file
    assert drawn["AMS-Regular"] == {"R"} and drawn["Size1-Regular"] == {"\u2211"}
    assert not drawn["Size3-Regular"]  # `size3` under katex-sizing is a font size
    data, codes = hook.embedded_face("Main-Regular", "(2\u200b")
    assert codes == (0x28, 0x32, 0x200B)  # the zero-width space: no font has it
    assert hook.embedded_face("Main-Regular", "(2\u200b")[0] == data and data[:4] == b"wOFF"
    assert hook.embedded_face("Size4-Regular", "x") is None


# --- fault injection: each test breaks one thing in a copy and runs the real build ---


def break_and_build(project: Path, tmp_path: Path, name: str, old: str, new: str) -> str:
    """Replace ``old`` by ``new`` in one file, build strictly, return the (failing) output."""
    edit(project, name, old, new)
    result = mkdocs_build(project, tmp_path / "broken-site")
    output = result.stdout + result.stderr
    assert result.returncode != 0, "the strict build passed despite the fault:\n" + output
    return output


def test_the_build_talks_once_in_the_footer_and_its_page_comes_last(built_site):
    """Issue 16: the machinery stays out of the student's path. Every page's footer says
    once that the numbers are checked and links to the page that says how; that page is
    the last entry of the navigation; the page text itself does not open with it."""
    pages = sorted(built_site.rglob("index.html"))
    assert len(pages) >= 10
    for html in pages:
        soup = page(built_site, str(html.relative_to(built_site)))
        footer = soup.select_one(".md-copyright")
        assert footer and "computed and checked" in footer.get_text(), html
        link = footer.find("a", string=re.compile("how it is checked"))
        assert link, html
        target = (html.parent / link["href"]).resolve() / "index.html"
        assert target == (built_site / "verification" / "index.html").resolve(), html
        article = soup.select_one("article").get_text(" ")
        assert "computed while the site is built" not in article, html
    nav = page(built_site, "index.html").select(".md-nav--primary > .md-nav__list > li")
    assert "How it is checked" in nav[-1].get_text(), [li.get_text(" ", strip=True) for li in nav]


@pytest.mark.parametrize(
    "name", ["mle-exponential", "convolution", "vgg11-parameters", "influence-functions"]
)
def test_exercise_page_offers_its_worksheet_before_the_solution(built_site, name):
    """Issue 16: the worksheet is offered with the problem, outside every fold, and is there."""
    html = built_site / "exercises" / name / "index.html"
    soup = page(built_site, f"exercises/{name}/index.html")
    links = [a for a in soup.select("article a[download]") if "-worksheet.ipynb" in a["href"]]
    assert len(links) == 1, name
    assert links[0].find_parent("details") is None, f"{name}: the worksheet link is folded"
    assert (html.parent / links[0]["href"]).resolve().is_file(), links[0]["href"]


def test_mle_page_shows_derivation_table_and_plot(built_site):
    soup = page(built_site, "exercises/mle-exponential/index.html")
    assert len(soup.find_all("math")) >= 10  # the derivation is rendered math
    tables = [t for t in soup.find_all("table") if "λ̂ = N / Σx" in t.get_text()]
    assert len(tables) == 1
    rows = [[td.get_text().strip() for td in tr.find_all("td")] for tr in tables[0].find_all("tr")]
    rows = [r for r in rows if r]
    assert [r[0] for r in rows] == ["10", "100", "1,000", "10,000", "100,000"]
    assert abs(float(rows[-1][1]) - 2.5) < 0.05
    svgs = soup.find_all("svg")
    assert any(svg.find("g", id="figure_1") for svg in svgs), "no matplotlib plot"
    text = soup.get_text(" ")
    assert "L-BFGS maximiser" in text and "Monte Carlo mean" in text


def test_vgg_page_shows_the_table_and_the_total(built_site):
    soup = page(built_site, "exercises/vgg11-parameters/index.html")
    text = soup.get_text(" ")
    assert "132,863,336" in text
    layer_tables = [t for t in soup.find_all("table") if "formula" in t.get_text()]
    cells = [td.get_text().strip() for td in layer_tables[0].find_all("td")]
    for count in ("1,792", "73,856", "102,764,544", "16,781,312", "4,097,000"):
        assert count in cells
    assert "25088·4096 + 4096" in cells and "1×512×7×7" in cells
    assert "143,678,248" in text  # vgg19_bn, from the table of all eight
    assert any(svg.find("g", id="figure_1") for svg in soup.find_all("svg")), "no bar chart"


def test_influence_page_shows_slope_correlation_and_plots(built_site):
    soup = page(built_site, "exercises/influence-functions/index.html")
    text = soup.get_text(" ")
    slope = re.search(r"log\(ε\):\s*([0-9.]+)", text)
    assert slope and abs(float(slope.group(1)) - 2) < 0.05
    corr = re.search(r"prediction and the actual change:\s*([0-9]\.[0-9]+)", text)
    assert corr and float(corr.group(1)) > 0.99
    loo = [t for t in soup.find_all("table") if "largest error" in t.get_text()]
    rows = [[td.get_text().strip() for td in tr.find_all("td")] for tr in loo[0].find_all("tr")]
    scale = {r[0][:12]: (float(r[2]), float(r[3])) for r in rows if r and "usual" not in r[1]}
    assert abs(scale["first order,"][0] - 1) < 0.1 and scale["first order,"][1] < 0.1
    assert abs(scale["second order"][0] - 1) < 0.006 and scale["second order"][1] < 0.015
    plots = [svg for svg in soup.find_all("svg") if svg.find("g", id="figure_1")]
    assert len(plots) == 2, "expected the eps^2 plot and the leave-one-out scatter plot"
    assert "Cook & Weisberg (1982" in text and "Koh & Liang (2017" in text


def edit(project: Path, name: str, old: str, new: str) -> None:
    path = project / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {name}: the fault could not be injected"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def run_tests(project: Path, *args: str) -> str:
    """Run pytest in the copy, as `make test` would; return its output (it must fail)."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=project,
        env=build_env() | {"BUILT_SITE": ""},
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, "the tests passed despite the fault:\n" + output
    return output


def test_fault_exercise_data_changed(project_copy):
    # One kernel entry: the page still agrees with torch, but no longer with the sheet.
    edit(project_copy, "snippets/conv2d.py", "        [2, 1],\n", "        [2, 2],\n")
    out = run_tests(project_copy, "tests/test_conv2d.py")
    assert "snippets/conv2d.py: K is not the sheet's" in out
    assert "snippets/conv2d.py: case (a)" in out


def test_fault_typed_answer_changed(project_copy):
    edit(project_copy, "tests/test_conv2d.py", "[[3, 3, 1], [2, 2, 3], [5, 3, -1]]",
         "[[3, 3, 1], [2, 2, 3], [5, 3, -2]]")  # fmt: skip
    out = run_tests(project_copy, "tests/test_conv2d.py")
    assert "FAILED tests/test_conv2d.py::test_sheet_answers[a]" in out


def test_fault_snippet_raises(project_copy, tmp_path):
    out = break_and_build(
        project_copy,
        tmp_path,
        "snippets/conv2d.py",
        "    padded = np.pad(x, padding,",
        "    raise RuntimeError('injected fault')\n    padded = np.pad(x, padding,",
    )
    assert "injected fault" in out
    assert "docs/exercises/convolution.md" in out and "snippets/conv2d.py" in out


def test_fault_include_missing(project_copy, tmp_path):
    out = break_and_build(
        project_copy,
        tmp_path,
        "docs/exercises/convolution.md",
        '--8<-- "conv2d.py:conv2d"',
        '--8<-- "gone.py:conv2d"',
    )
    assert "gone.py" in out and "exercises/convolution.md" in out


def test_fault_internal_link_broken(project_copy, tmp_path):
    out = break_and_build(
        project_copy,
        tmp_path,
        "docs/index.md",
        "(exercises/convolution.md)",
        "(exercises/convolutoin.md)",
    )
    assert "convolutoin.md" in out and "index.md" in out


def test_fault_anchor_broken(project_copy, tmp_path):
    out = break_and_build(
        project_copy, tmp_path, "docs/exercises/convolution.md", "(#copy-this)", "(#copy-that)"
    )
    assert "copy-that" in out and "exercises/convolution.md" in out


def test_fault_notebook_cell_raises(project_copy, tmp_path):
    out = break_and_build(
        project_copy,
        tmp_path,
        "snippets/conv2d.py",
        'if __name__ == "__main__":\n',
        'if __name__ == "__main__":\n    raise RuntimeError("cell fault")\n',
    )
    assert "cell fault" in out and "snippets/conv2d.py" in out


def test_fault_tex_cannot_be_rendered(project_copy, tmp_path):
    out = break_and_build(
        project_copy,
        tmp_path,
        "docs/exercises/convolution.md",
        "## The problem\n",
        "## The problem\n\n$\\notacommand x$\n",
    )
    assert "notacommand" in out and "exercises/convolution.md" in out


def test_the_copy_holds_every_tracked_file(project_copy):
    """The fault tests break a faithful copy: every file git tracks is in it, unchanged.
    (The cache test's first build shows that the unbroken copy builds.)"""
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert tracked, "no tracked files"
    for name in tracked:
        if (ROOT / name).is_file():
            assert (project_copy / name).read_bytes() == (ROOT / name).read_bytes(), name


def test_fault_derivation_step_changed(project_copy, tmp_path):
    out = break_and_build(
        project_copy,
        tmp_path,
        "snippets/mle_exponential.py",
        '("derivative", N / lam - SUM_X,',
        '("derivative", N / lam + SUM_X,',
    )
    assert "step 'derivative'" in out
    assert "docs/exercises/mle-exponential.md" in out and "snippets/mle_exponential.py" in out


# --- fault injection for the browser gate: the build passes, the gate must not ---


def gate_fails(project: Path, tmp_path: Path, page_name: str, check: str) -> str:
    """Build the broken copy (strictly: it must pass), then run the browser gate of
    tests/test_browser.py on that one page, for that one check; return its output."""
    site = tmp_path / "site"
    built = mkdocs_build(project, site)
    assert built.returncode == 0, "the build failed, so the gate is not tested:\n" + (
        built.stdout + built.stderr
    )
    node = f"tests/test_browser.py::test_browser_gate[{page_name}]"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", node],
        cwd=project,
        env=build_env() | {"BUILT_SITE": str(site), "GATE_CHECKS": check},
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = result.stdout + result.stderr
    if result.returncode == 0 and " skipped" in output and os.environ.get("CI") != "true":
        pytest.skip("the browser gate skipped (no Chromium)")
    assert result.returncode == 1 and "1 failed" in output, "the gate passed:\n" + output
    return output


def test_fault_gate_display_math_inline_in_a_sentence(project_copy, tmp_path):
    # An answer printed as `text $$Y = ...$$ text`: the build passes (no `$$` is left,
    # arithmatex takes the inner `$...$`), but the reader sees a `$` on each side.
    edit(
        project_copy,
        "docs/exercises/convolution.md",
        'print(f"**({case})** {label}:\\n\\n$$\\n{formula}\\n$$\\n")',
        'print(f"**({case})** {label}: $${formula}$$ in a sentence.\\n")',
    )
    out = gate_fails(project_copy, tmp_path, "exercises/convolution", "tex")
    assert "exercises/convolution fails tex" in out
    assert re.search(r"exercises/convolution \[1280 light[^\]]*\]: \"\$\" in \"[^\"]*stride 1", out)


def test_fault_gate_aligned_line_loses_its_ampersand(project_copy, tmp_path):
    # One continuation line of the derivation without `&`: it is still valid TeX, but its
    # `=` is no longer under the others.
    edit(
        project_copy,
        "docs/exercises/mle-exponential.md",
        "print(f\"&= {tex(steps['log of a product'])}\"",
        "print(f\"= {tex(steps['log of a product'])}\"",
    )
    out = gate_fails(project_copy, tmp_path, "exercises/mle-exponential", "alignment")
    assert "exercises/mle-exponential fails alignment" in out
    assert re.search(r"exercises/mle-exponential \[1280 light[^\]]*\]: display formula #\d+", out)
    assert "continuation rows disagree" in out


def test_fault_gate_plot_black_text_on_transparent(project_copy, tmp_path):
    # The VGG chart's labels drawn in black on its transparent background: fine in the
    # light palette, unreadable in the dark one.
    edit(
        project_copy,
        "docs/exercises/vgg11-parameters.md",
        'ax.set_xlabel("parameters (millions)")',
        'ax.set_xlabel("parameters (millions)", color="black")',
    )
    out = gate_fails(project_copy, tmp_path, "exercises/vgg11-parameters", "plots")
    assert "exercises/vgg11-parameters fails plots" in out
    assert re.search(r"\[1280 dark[^\]]*\]: plot text 'parameters \(millions\)': contrast", out)


def test_no_style_sheet_in_a_page_body(built_site):
    """Each <style> that Chromium's parser meets in the body restyles every element it has
    styled so far (on the influence exercise, two of matplotlib's per-plot style sheets;
    on the notebooks, nbconvert's, one of them after the first paint). Every page keeps
    its style sheets in the <head>: the plots carry their two stroke properties on their
    root <svg>, and the notebooks' style sheets are at the end of the <head>."""
    pages = sorted(built_site.rglob("*.html"))
    assert len(pages) >= 10
    for path in pages:
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        in_body = [str(tag)[:80] for tag in soup.body.find_all("style")] if soup.body else []
        assert in_body == [], f"{path.relative_to(built_site)}: <style> in the body: {in_body}"
    for name in ("mle-exponential", "convolution", "vgg11-parameters", "influence-functions"):
        plots = page(built_site, f"exercises/{name}/index.html").select("svg[stroke-linejoin]")
        assert plots and all(
            svg["stroke-linejoin"] == "round" and svg["stroke-linecap"] == "butt" for svg in plots
        ), name
    for name in sorted(p.stem for p in SNIPPETS.glob("*.py")):
        head = page(built_site, f"notebooks/{name}/index.html").head
        sheets = [tag.get_text() for tag in head.find_all("style")]
        # nbconvert's (code colours, JupyterLab's) come last, after KaTeX's
        assert ".highlight-ipynb" in sheets[-3] and ".jupyter-wrapper" in sheets[-1], name
        assert any(".katex" in css for css in sheets[:-3]), name
        assert not any(css.lstrip().startswith("[") for css in sheets), name


# --- reproducibility: two builds of the same sources are byte-identical ---


def test_materials_restyling_rule_is_gone_and_fixes_say_when_they_no_longer_apply(
    built_site, caplog, tmp_path
):
    """hooks/theme_fixes.py: the built palette sheet has no [data-md-color-switching] rule
    (it restyled every element twice per page load), the bundle adds no <meta
    name="color-scheme"> (twice more), and the 404 page's search dialog has
    a name too. If Material's markup changes so that a fix no longer applies, the build
    says so."""
    hook = load_hook("theme_fixes")
    sheets = list((built_site / "assets" / "stylesheets").glob("palette.*.min.css"))
    assert sheets and not any("data-md-color-switching" in p.read_text() for p in sheets)
    assert 'role="dialog" aria-label="Search"' in (built_site / "404.html").read_text()
    # the bundle puts no <meta name="color-scheme"> in the page (a whole-page restyle)
    bundles = list((built_site / "assets" / "javascripts").glob("bundle.*.min.js"))
    assert len(bundles) == 1
    assert hook.COLOR_SCHEME_META not in bundles[0].read_text()
    assert hook.DETACHED_META in bundles[0].read_text()
    # ... and fetches the search index when the search form gets the focus, not on load
    assert hook.EAGER_INDEX not in bundles[0].read_text()
    assert hook.LAZY_INDEX in bundles[0].read_text()

    # run again on the built site (as `mkdocs build --dirty` does): the same files, not
    # fixed twice (two compile hints, a doubly wrapped DOMContentLoaded)
    import material

    material_theme = Path(material.__file__).parent / "templates"
    again = tmp_path / "again"
    for folder in ("javascripts", "stylesheets"):
        shutil.copytree(built_site / "assets" / folder, again / "assets" / folder)
    hook.on_post_build(SimpleNamespace(theme=SimpleNamespace(dirs=[str(material_theme)]),
                                       site_dir=str(again)))  # fmt: skip
    for built in [*bundles, *sheets]:
        rel = built.relative_to(built_site)
        assert (again / rel).read_text() == built.read_text(), rel

    theme = tmp_path / "theme"
    (theme / "assets" / "javascripts").mkdir(parents=True)
    (theme / "assets" / "javascripts" / "bundle.0.min.js").write_text("let o=1;")
    config = SimpleNamespace(theme=SimpleNamespace(dirs=[str(theme)]), site_dir=str(tmp_path))
    with caplog.at_level("ERROR"):
        hook.on_post_build(config)
    assert "Material's bundle: the <meta name=color-scheme> it adds changed" in caplog.text
    assert "Material's palette style sheet" in caplog.text  # none in this theme at all
    assert "Material's bundle: how it loads the search index changed" in caplog.text
    assert "Material's bundle: how it waits for DOMContentLoaded changed" in caplog.text
    assert "Material's bundle: how it begins changed" in caplog.text
    caplog.clear()
    page_ = SimpleNamespace(file=SimpleNamespace(src_uri="x.md"))
    with caplog.at_level("ERROR"):
        hook.on_post_page("<body><div class='md-search'></div></body>", page_, None)
    assert "x.md: Material's search dialog markup changed" in caplog.text
    assert "x.md: Material's <script> for its bundle changed (found 0)" in caplog.text


def test_every_pages_scripts_are_loaded_after_the_first_frame(built_site):
    """hooks/theme_fixes.py: no page has a <script src> of its own. One inline script loads
    Material's bundle, then mkdocs.yml's extra_javascript in their order, after the first
    frame; every address it names is a file of the site; the built bundle starts when the
    document has already been parsed (DOMContentLoaded has fired by then)."""
    hook = load_hook("theme_fixes")
    config = (ROOT / "mkdocs.yml").read_text()
    section = config.split("\nextra_javascript:")[1].split("\n\n")[0]
    extra = re.findall(r"^  - path: (\S+)", section, re.M)
    assert extra, "mkdocs.yml: no extra_javascript"
    bundles = list((built_site / "assets" / "javascripts").glob("bundle.*.min.js"))
    assert len(bundles) == 1 and hook.DOM_READY_LATE in bundles[0].read_text()
    # compiled off the main thread, in full, while it downloads
    assert bundles[0].read_text().startswith(hook.COMPILE_HINT + hook.BUNDLE_START)
    pages = sorted(built_site.rglob("*.html"))
    assert len(pages) > 10
    for html in pages:
        soup = BeautifulSoup(html.read_text(), "html.parser")
        where = html.relative_to(built_site).as_posix()
        assert not soup.select("script[src]"), f"{where}: {soup.select('script[src]')}"
        loaders = [s.string for s in soup.find_all("script") if "__md_loaded" in (s.string or "")]
        assert len(loaders) == 1, f"{where}: {len(loaders)} script loaders"
        urls = json.loads(re.search(r"\[[^\]]*\]", loaders[0]).group(0))
        assert [Path(u).name for u in urls] == [bundles[0].name] + [Path(e).name for e in extra]
        for url in urls:
            if url.startswith("/"):  # 404.html: from the site's root (site_url's path)
                url = url.split("/", 2)[2]
                assert (built_site / url).is_file(), f"{where}: {url}"
            else:
                assert (html.parent / url).resolve().is_file(), f"{where}: {url}"


def test_two_builds_are_byte_identical(built_site, tmp_path):
    """The site `make test` built, and one more built from scratch: no cache, another path."""
    cold = copy_project(tmp_path / "cold", warm=False)
    again = tmp_path / "site-again"
    result = mkdocs_build(cold, again)
    assert result.returncode == 0, result.stdout + result.stderr
    first = {p.relative_to(built_site): p for p in built_site.rglob("*") if p.is_file()}
    second = {p.relative_to(again): p for p in again.rglob("*") if p.is_file()}
    assert sorted(first) == sorted(second)
    differ = [str(name) for name in first if first[name].read_bytes() != second[name].read_bytes()]
    assert differ == [], f"files that differ between two builds: {differ}"


# --- caches: a changed input is never served from the cache; an unrelated one is kept ---


def cache_entries(project: Path, *kinds: str) -> set[str]:
    """The cache entries of the given kinds (pages, notebooks, katex, ...), or all."""
    return {
        f"{p.parent.name}/{p.name}"
        for p in (project / ".cache").rglob("*")
        if p.is_file() and (not kinds or p.parent.name in kinds)
    }


def test_caches_are_invalidated_by_snippet_and_version_changes(tmp_path):
    project = copy_project(tmp_path / "project")  # warm: starts from the project's caches
    site = tmp_path / "site"
    first = mkdocs_build(project, site)
    assert first.returncode == 0, first.stdout + first.stderr
    filled = cache_entries(project)
    assert any(n.startswith("notebooks/mle_exponential-") for n in filled) and len(filled) > 8
    assert len(cache_entries(project, "pages")) == 6, cache_entries(project, "pages")

    # A warm rebuild with nothing changed reuses every entry.
    assert mkdocs_build(project, site).returncode == 0
    assert cache_entries(project) == filled

    # Change the exercise data in a snippet: its page and notebook must show the new value.
    pages_before = cache_entries(project, "pages")
    edit(project, "snippets/mle_exponential.py", "TRUE_RATE = 2.5", "TRUE_RATE = 3.0")
    second = mkdocs_build(project, site)
    assert second.returncode == 0, second.stdout + second.stderr
    text = page(site, "exercises/mle-exponential/index.html").get_text(" ")
    assert "True rate λ = 3.0" in text and "True rate λ = 2.5" not in text
    notebook = json.loads((site / "notebooks/mle_exponential/mle_exponential.ipynb").read_text())
    sources = "".join("".join(c["source"]) for c in notebook["cells"])
    assert "TRUE_RATE = 3.0" in sources
    assert (site / "notebooks/mle_exponential/index.html").read_text().count("TRUE_RATE = 3.0")
    # Exactly the two pages that include the snippet (home and MLE) were run again; the
    # four others were reused.
    pages_after = cache_entries(project, "pages")
    assert len(pages_after - pages_before) == 2 and len(pages_before & pages_after) == 4

    # Change page-only code that some pages include (the plot style): those pages re-run.
    include = '--8<-- "_includes/plot_style.py"'
    styled = [p for p in (project / "docs").rglob("*.md") if include in p.read_text()]
    assert len(styled) >= 3, styled
    edit(project, "docs/_includes/plot_style.py", "# Plots on the site", "# Plots on this site")
    assert mkdocs_build(project, site).returncode == 0
    assert len(cache_entries(project, "pages") & pages_after) == len(pages_after) - len(styled)

    # Change a pinned version: no cached page or notebook may be reused.
    before_pin = cache_entries(project, "pages", "notebooks")
    edit(project, "requirements.lock", "sympy==1.14.0", "sympy==1.14.0  # re-pinned")
    third = mkdocs_build(project, site)
    assert third.returncode == 0, third.stdout + third.stderr
    after_pin = cache_entries(project, "pages", "notebooks")
    assert after_pin and not (after_pin & before_pin), after_pin & before_pin

    # Change the pinned KaTeX: no cached formula may be reused.
    before_katex = cache_entries(project, "katex")
    edit(project, "package-lock.json", '"lockfileVersion"', '"lockfileVersion" ')
    assert mkdocs_build(project, site).returncode == 0
    after_katex = cache_entries(project, "katex")
    assert after_katex and not (after_katex & before_katex)


def test_fault_leave_one_out_scale(project_copy, tmp_path):
    """1/(N - 1) for 1/N: the correlation is unchanged, the scale check must stop the build."""
    out = break_and_build(
        project_copy,
        tmp_path,
        "snippets/influence_functions.py",
        "    eps = -1 / n  #",
        "    eps = -1 / (n - 1)  #",
    )
    assert "leave-one-out: slope" in out
    assert "docs/exercises/influence-functions.md" in out


def test_fault_output_size_formula(project_copy, tmp_path):
    """A wrong output-size formula must disagree with the shape torch returns."""
    out = break_and_build(
        project_copy,
        tmp_path,
        "snippets/conv2d.py",
        "    return (n + 2 * padding - k) // stride + 1",
        "    return (n + padding - k) // stride + 1",
    )
    assert "output-size formula gives" in out and "case (c)" in out
    assert "docs/exercises/convolution.md" in out
