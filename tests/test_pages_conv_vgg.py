"""The student's path on Exercises 2 and 3 (issue 16), read back from the built HTML.

"Remember" opens each solution and "Common mistakes" ends its worked part; each wrong
number a mistake gives is shown (the build computes it, the values below are typed by
hand); case (c) of the convolution is worked like case (a); the VGG solution leads with
the sheet's plain code and keeps the machinery under "Beyond the sheet"; and no exec block
that only formats LaTeX shows its code. The last test breaks a copy and watches the build fail.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import ROOT, mkdocs_build
from test_pages_mle_influence import blocks_in_order
from test_site import edit, matrices

pytestmark = pytest.mark.site

CONV_PAGE = "exercises/convolution/index.html"
VGG_PAGE = "exercises/vgg11-parameters/index.html"
SOURCES = ["docs/exercises/convolution.md", "docs/exercises/vgg11-parameters.md"]

# The sheet's data and answers, typed by hand (as in tests/test_conv2d.py).
CONV_A = [[3, 3, 1], [2, 2, 3], [5, 3, -1]]
CONV_B = [[3, 1], [5, -1]]
CONV_C = [[1, 3, 2], [0, 2, 4], [0, 1, -1]]
TRUE_CONV_A = [[5, 1, 1], [2, 2, 3], [3, 1, 3]]  # K flipped: [[1, 2], [0, 1]]

# VGG11 by hand: 8 convolutions (3x3) and 3 linear layers.
CONV_CHANNELS = [(3, 64), (64, 128), (128, 256), (256, 256), (256, 512)] + [(512, 512)] * 3
LINEARS = [(7 * 7 * 512, 4096), (4096, 4096), (4096, 1000)]
TOTAL = 132_863_336
BIASES = sum(c_out for _, c_out in CONV_CHANNELS) + sum(n_out for _, n_out in LINEARS)
FEATURES = sum(9 * c_in * c_out + c_out for c_in, c_out in CONV_CHANNELS)


def soup(site: Path, path: str) -> BeautifulSoup:
    return BeautifulSoup((site / path).read_text(encoding="utf-8"), "html.parser")


def text_of(tag) -> str:
    """What the reader reads: KaTeX's HTML, not its MathML copy; whitespace collapsed."""
    tag = BeautifulSoup(str(tag), "html.parser")
    for hidden in tag.select(".katex-mathml"):
        hidden.decompose()
    text = tag.get_text("").replace("\u2212", "-").replace("\u200b", "")  # KaTeX's strut
    return re.sub(r"\s+", " ", text)


def solution(page: BeautifulSoup):
    folds = page.select("article details.solution")
    assert len(folds) == 1, "one solution fold per exercise page"
    return folds[0]


def boxes_in_order(fold) -> list[str]:
    """The solution's boxes and h2/h3 headings, in reading order."""
    return blocks_in_order(fold, headings=("h2", "h3"))


@pytest.mark.parametrize("path", [CONV_PAGE, VGG_PAGE])
def test_remember_opens_the_solution_and_mistakes_end_its_worked_part(built_site, path):
    fold = solution(soup(built_site, path))
    order = boxes_in_order(fold)
    assert order[0] == "remember", order
    assert order.count("remember") == 1 and order.count("mistakes") == 1, order
    mistakes = order.index("mistakes")
    assert order[mistakes + 1] in ("Beyond the sheet", "Copy this"), order
    assert order.index("Copy this") > mistakes
    assert fold.select_one(".remember .admonition-title").get_text(strip=True) == "Remember"
    title = fold.select_one(".mistakes .admonition-title").get_text(strip=True)
    assert title == "Common mistakes"
    assert "abstract" in fold.select_one(".remember")["class"]
    assert "bug" in fold.select_one(".mistakes")["class"]


def test_convolution_remember_has_the_formula_and_both_words(built_site):
    box = solution(soup(built_site, CONV_PAGE)).select_one(".remember")
    words = text_of(box)
    assert "o=⌊(n+2p-k)/s⌋+1" in words
    assert "Padding" in words and "stride" in words and "no flip" in words


def test_vgg_remember_has_both_formulas(built_site):
    words = text_of(solution(soup(built_site, VGG_PAGE)).select_one(".remember"))
    assert "k⋅k⋅Cin⋅Cout+Cout" in words and "nin⋅nout+nout" in words
    assert "sum(p.numel() for p in model.parameters())" in words


def test_convolution_mistakes_show_the_wrong_numbers(built_site):
    box = solution(soup(built_site, CONV_PAGE)).select_one(".mistakes")
    words = text_of(box)
    # Flipping the kernel: the true convolution's first entry, and how many entries differ.
    pairs = zip(sum(TRUE_CONV_A, []), sum(CONV_A, []), strict=True)
    differ = sum(t != y for t, y in pairs)
    assert f"starts with {TRUE_CONV_A[0][0]} instead of {CONV_A[0][0]}" in words
    assert f"{differ} of the 9 entries" in words and differ == 5
    # Padding forgotten in (c): (b)'s 2x2; one side only: floor((4 + 1 - 2)/2) + 1 = 2, not 3.
    assert "2×2 matrix of (b), not a 3×3" in words
    assert "⌊(4+1-2)/2⌋+1=2 instead of 3" in words
    # The window moved by one cell: (b) becomes the top-left corner of (a).
    shown = matrices(box)
    assert [row[:2] for row in CONV_A[:2]] in shown and CONV_B in shown
    # "Padding keeps the size": stride 1, padding 1, 2x2 kernel -> 5x5, not 4x4.
    assert "5×5, not 4×4" in words


def test_vgg_mistakes_show_the_wrong_numbers(built_site):
    words = text_of(solution(soup(built_site, VGG_PAGE)).select_one(".mistakes"))
    assert f"gives {TOTAL - BIASES:,} instead of {TOTAL:,}: the {BIASES:,} biases" in words
    assert TOTAL - BIASES == 132_851_392 and BIASES == 11_944
    no_c_in = sum(9 * c_out + c_out for _, c_out in CONV_CHANNELS)
    assert f"hold {no_c_in:,} parameters instead of {FEATURES:,}" in words
    assert no_c_in == 27_520 and FEATURES == 9_220_480
    assert "Of the 29 modules" in words and "11 have parameters" in words
    assert "8 convolutions and 3 linear layers" in words
    big = 224 * 224 * 512 * 4096 + 4096
    assert f"would have {big:,} parameters instead of {LINEARS[0][0] * 4096 + 4096:,}" in words
    assert "nin=7⋅7⋅512=25,088." in words  # 25{,}088: no space after the comma


def test_case_c_is_worked_like_case_a(built_site):
    page = soup(built_site, CONV_PAGE)
    fold = solution(page)
    headings = boxes_in_order(fold)
    assert (
        headings.index("Which patch gives which entry, case (a)")
        < headings.index("Case (c), worked the same way")
        < headings.index("Which patch gives which entry, case (c)")
        < headings.index("The answers")
    )
    intro = [h for h in fold.find_all("h3") if h.get_text().startswith("Case (c)")][0]
    words = text_of(intro.find_next("p"))
    assert "becomes 6×6" in words and "jumping 2 cells" in words
    assert "rows and columns 1, 3 and 5 of the padded grid, so the output is 3×3" in words
    # The picture: the padded 6x6 grid, every window labelled with the entry it gives.
    pictures = [s for s in fold.find_all("svg") if s.find("g", id="figure_1")]
    assert len(pictures) == 1
    labels = [t.get_text().replace("\u2212", "-") for t in pictures[0].find_all("text")]
    for i, row in enumerate(CONV_C):
        for j, value in enumerate(row):
            assert f"Y[{i + 1},{j + 1}] = {value}" in labels, (i, j)
    assert "column of the padded input" in labels and "row of the padded input" in labels
    # Its patch table: one row per output entry, rows and columns of the padded grid.
    table = [t for t in fold.find_all("table") if "Y[1,1]" in t.get_text()][1]
    rows = [[td.get_text(" ", strip=True) for td in tr.find_all("td")] for tr in table("tr")]
    rows = [r for r in rows if r]
    assert [r[0] for r in rows] == [f"Y[{i},{j}]" for i in (1, 2, 3) for j in (1, 2, 3)]
    assert rows[0][1] == "1–2, 1–2" and rows[-1][1] == "5–6, 5–6"
    assert rows[0][2] == "0 0 ; 0 1"  # the top-left window: three zeros of padding and X[1,1]
    sums = [int(r[3].split("=")[-1].replace("\u2212", "-")) for r in rows]
    assert sums == [v for row in CONV_C for v in row]


def test_vgg_solution_leads_with_the_sheets_plain_code(built_site):
    fold = solution(soup(built_site, VGG_PAGE))
    order = boxes_in_order(fold)
    assert order[1] == "The answer, the sheet's way", order
    code, output = (pre.get_text() for pre in fold.find_all("pre")[:2])
    assert "torchvision.models.vgg11(weights=None)" in code and "meta" not in code
    assert "sum(p.numel() for p in vgg11.parameters())" in code
    assert "for layer in vgg11.features:" in code and "for layer in vgg11.classifier:" in code
    assert output.startswith(f"total: {TOTAL}\n")
    assert "Conv2d(64, 128, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)) 73856" in output
    assert "Linear(in_features=25088, out_features=4096, bias=True) 102764544" in output
    assert "ReLU(inplace=True) 0" in output
    # The machinery comes after the worked part, under "Beyond the sheet".
    beyond = order.index("Beyond the sheet")
    machinery = ["pretrained=False and weights=None", "Counting without weights: the meta device",
                 "Tied and frozen weights", "All eight VGGs"]  # fmt: skip
    for heading in machinery:
        assert order.index(heading) > beyond, heading
    assert order.index("Copy this") > order.index("All eight VGGs")


def formatting_only(code: str) -> bool:
    """Whether a block's code only prints (LaTeX or Markdown): every statement a print()."""
    code = "\n".join(line for line in code.splitlines() if not line.startswith("--8<--"))
    statements = ast.parse(code).body
    return bool(statements) and all(
        isinstance(s, ast.Expr)
        and isinstance(s.value, ast.Call)
        and getattr(s.value.func, "id", None) == "print"
        for s in statements
    )


EXEC_BLOCK = re.compile(r"^```python exec=\"1\"([^\n]*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize("source", SOURCES)
def test_blocks_that_only_format_latex_show_no_code(source):
    blocks = EXEC_BLOCK.findall((ROOT / source).read_text(encoding="utf-8"))
    assert blocks, source
    for options, code in blocks:
        if formatting_only(code):
            assert "source=" not in options and "tabs=" not in options, code
    # the rule sees a formatting-only block, and a block that computes
    assert formatting_only('print(f"$$X = {to_latex(X)}$$")\n')
    assert not formatting_only('y = conv2d(X, K)\nprint(f"$${to_latex(y)}$$")\n')


def test_fault_case_c_window_moved_by_one_cell_fails_the_build(project_copy, tmp_path):
    # Draw the windows with stride-1 steps: the picture would no longer match the output.
    edit(
        project_copy,
        "docs/exercises/convolution.md",
        "r, c = i * s, j * s  # the window's top-left cell",
        "r, c = i, j  # the window's top-left cell",
    )
    result = mkdocs_build(project_copy, tmp_path / "broken-site")
    output = result.stdout + result.stderr
    assert result.returncode != 0, "the build passed despite the fault:\n" + output
    assert "np.sum(window * K) == y[i, j]" in output and "exercises/convolution.md" in output
