"""The student's path on Exercises 1 and 4 (issue 16), read back from the built HTML.

Each page's solution opens with a "Remember" box and ends its worked part with a "Common
mistakes" box whose wrong numbers the build computed. This file recomputes them here, by
hand from the data the page shows (MLE) or from the sheet's example (influence: the mean
of 1, 2, 6 with z = 6), and checks the order of the solution, the folds that hold what is
beyond the course, and that no block which only formats LaTeX shows a "Code" tab. Two
fault tests break a wrong-number check in a copy and watch the real build stop.
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import pytest
from bs4 import BeautifulSoup, Tag
from conftest import mkdocs_build

pytestmark = pytest.mark.site

MLE = "exercises/mle-exponential/index.html"
INFLUENCE = "exercises/influence-functions/index.html"

# The sheet's hand example for Exercise 4, typed here: the mean of (1, 2, 6), z = 6.
HAND, Z = [1, 2, 6], 6
MEAN = Fraction(sum(HAND), len(HAND))  # 3
RATE = Z - MEAN  # z − x̄ = 3
LEFT_OUT = Fraction(sum(HAND) - Z, len(HAND) - 1)  # the mean of (1, 2): 3/2
FIRST_ORDER = MEAN - RATE / len(HAND)  # ε = −1/N: 2
WRONG_SIGN = MEAN + RATE / len(HAND)  # +H⁻¹∇L, or ε = +1/N: 4
DOUBLED = Fraction(sum(HAND) + Z, len(HAND) + 1)  # ε = +1/N exactly: the mean of (1, 2, 6, 6)


def page(site: Path, path: str) -> BeautifulSoup:
    return BeautifulSoup((site / path).read_text(encoding="utf-8"), "html.parser")


def solution(soup: BeautifulSoup) -> Tag:
    folds = soup.select("article details.solution")
    assert len(folds) == 1, "expected one solution fold"
    return folds[0]


def text(tag: Tag) -> str:
    """What a reader reads: rendered math as its MathML text, no KaTeX HTML twice."""
    tag = BeautifulSoup(str(tag), "html.parser")
    for hidden in tag.select(".katex-html"):
        hidden.decompose()
    return re.sub(r"\s+", " ", tag.get_text(" ")).replace("\u2212", "-")


def number(label: str, s: str) -> float:
    found = re.search(label + r"\s*=?\s*(-?[0-9]+(?:\.[0-9]+)?)", s)
    assert found, f"{label!r} not followed by a number in: {s[:400]}"
    return float(found.group(1))


def blocks_in_order(fold: Tag, headings: tuple[str, ...] = ("h2",)) -> list[str]:
    """The solution's top-level parts, in reading order: boxes, headings, folds."""
    names = []
    for child in fold.find_all(recursive=False):
        classes = child.get("class") or []
        if "remember" in classes:
            names.append("remember")
        elif "mistakes" in classes:
            names.append("mistakes")
        elif child.name in headings:
            names.append(child.get_text().strip("¶").strip())
        elif child.name == "details":
            names.append("fold: " + child.summary.get_text().strip())
    return names


def no_stray_tex(tag: Tag) -> None:
    shown = text(tag)
    for raw in ("$", "\\frac", "\\lambda", "\\theta", "{{", "}}"):
        assert raw not in shown, f"raw TeX {raw!r} shown: {shown[:300]}"


def in_code_tab(tag: Tag) -> bool:
    return tag.find_parent(class_="tabbed-set") is not None


# --- Exercise 1 ---------------------------------------------------------------------------


def mle_data(soup: BeautifulSoup) -> list[float]:
    intro = text(soup.select_one(".self-check"))
    found = re.search(r"x = \( ?([0-9., ]+?) ?\)", intro)
    assert found, intro
    return [float(v) for v in found.group(1).split(",")]


def test_mle_solution_order(built_site):
    fold = solution(page(built_site, MLE))
    order = blocks_in_order(fold)
    assert order[0] == "remember", order
    assert order[-2:] == ["mistakes", "Copy this"], order


def test_mle_remember_box_has_the_method(built_site):
    box = solution(page(built_site, MLE)).select_one(".admonition.abstract.remember")
    shown = text(box)
    assert box.select_one(".admonition-title").get_text().strip() == "Remember"
    for step in ("Log", "Differentiate", "set to zero", "second derivative", "support"):
        assert step in shown, step
    assert 3 <= len(box.find_all("li")) <= 5
    no_stray_tex(box)


def test_mle_mistakes_show_the_wrong_numbers(built_site):
    soup = page(built_site, MLE)
    x = mle_data(soup)
    n, total = len(x), sum(x)
    box = solution(soup).select_one(".admonition.bug.mistakes")
    assert box.select_one(".admonition-title").get_text().strip() == "Common mistakes"
    items = {li.strong.get_text(" ").strip(): text(li) for li in box.find_all("li")}
    assert len(items) == 4, list(items)
    support, n_minus_1, dropped, sign = items.values()
    negated = total - 2 * x[-1]  # the last point negated
    assert number("it gives", support) == pytest.approx(n / negated, abs=6e-4)
    shown = re.findall(r"= (-?[0-9]+\.[0-9]{3})", n_minus_1)
    assert [float(v) for v in shown] == pytest.approx([n / total, (n - 1) / total], abs=6e-4)
    shown = re.findall(r"= (-?[0-9]+\.[0-9]{3})", dropped)
    assert [float(v) for v in shown] == pytest.approx([1 / total, 1 / x[0]], abs=6e-4)
    assert number(r"x i = ", sign) == pytest.approx(-n / total, abs=6e-4)
    no_stray_tex(box)


def test_mle_latex_only_blocks_show_no_code_tab(built_site):
    fold = solution(page(built_site, MLE))
    for marker in ("independence: a product", "E [ N S ]"):
        found = [m for m in fold.find_all("math") if marker in text(m)]
        assert found, marker
        assert not any(in_code_tab(m) for m in found), f"{marker!r} sits in a Code|… tab"
    # Blocks that compute keep theirs: the simulation table and the PyTorch checks.
    tables = [t for t in fold.find_all("table") if "λ̂ = N / Σx" in t.get_text()]
    assert tables and in_code_tab(tables[0])


# --- Exercise 4 ---------------------------------------------------------------------------


def test_influence_solution_order_and_folds(built_site):
    fold = solution(page(built_site, INFLUENCE))
    order = blocks_in_order(fold)
    assert order[:3] == ["remember", "Start with the mean", "Part 1: what the sheet asks"], order
    assert order[3] == "mistakes", order
    assert order[4] == "Beyond the course", order
    beyond = [o for o in order if o.startswith("fold: ")]
    assert beyond and all(o.startswith("fold: Beyond the course") for o in beyond), order
    assert order[-1] == "Copy this", order
    # The folds are closed until the reader opens them, and hold Part 2 and the checks.
    folds = [d for d in fold.find_all("details", recursive=False)]
    assert all(not d.has_attr("open") for d in folds)
    inside = " ".join(text(d) for d in folds)
    for part in ("implicit function theorem", "Leave-one-out", "largest error", "HessianFree"):
        assert part in inside, part


def test_influence_remember_box_has_the_formula_and_removal(built_site):
    box = solution(page(built_site, INFLUENCE)).select_one(".admonition.abstract.remember")
    shown = text(box)
    assert "- H - 1 ∇ θ L ( z ; θ ^ )" in shown  # −H⁻¹∇L(z; θ̂), as MathML text
    assert "ϵ = - 1 N removes z" in shown
    assert 3 <= len(box.find_all("li")) <= 5
    no_stray_tex(box)


def test_influence_hand_example_shows_z_minus_mean(built_site):
    soup = page(built_site, INFLUENCE)
    start = soup.find(id="start-with-the-mean")
    part = []
    for sibling in start.find_next_siblings():
        if sibling.name == "h2":
            break
        part.append(sibling)
    shown = " ".join(text(tag) for tag in part)
    displays = [text(d) for tag in part for d in tag.select(".katex-display")]
    assert len(displays) == 2 and not any("∑" in d for d in displays), displays  # x̄, not Σx/N
    general, example = displays
    assert "θ ^ ( ϵ ) = x ˉ + ϵ z 1 + ϵ" in general and "ϵ = 0 = z - x ˉ" in general
    assert f"θ ^ ( ϵ ) = {MEAN} + {Z} ϵ 1 + ϵ" in example  # (x̄ + εz)/(1 + ε) for the data
    assert f"ϵ = 0 = {RATE} = z - x ˉ" in example
    assert f"θ ^ - z = - {RATE} , so - H - 1 ∇ θ L ( z ; θ ^ ) = {RATE}" in shown
    left_out = f"{LEFT_OUT.numerator} {LEFT_OUT.denominator} , exactly the mean of ( 1 , 2 )"
    assert left_out in shown
    assert f"= {FIRST_ORDER} , is off by 1 2" in shown


def test_influence_mistakes_show_the_wrong_numbers(built_site):
    box = solution(page(built_site, INFLUENCE)).select_one(".admonition.bug.mistakes")
    items = [text(li) for li in box.find_all("li")]
    assert len(items) == 3
    sign, plus, hessian = items
    moved = f"move the mean to {WRONG_SIGN}, not {FIRST_ORDER}"
    assert moved in sign and f"the true {float(LEFT_OUT):g}" in sign
    assert f"{DOUBLED.numerator} {DOUBLED.denominator} , the mean of ( 1 , 2 , 6 , 6 )" in plus
    assert f"the same wrong {WRONG_SIGN} " in plus
    ratio = re.search(r"([0-9.]+) to ([0-9.]+) times the actual one", hessian)
    assert ratio and float(ratio.group(2)) < 0.5, hessian  # far too small without H⁻¹
    errors = re.search(
        r"median error ([0-9.]+)%\); with H - 1 the median error is ([0-9.]+)%", hessian
    )
    assert errors, hessian
    assert float(errors.group(1)) > 50 and float(errors.group(2)) < 10
    no_stray_tex(box)


def test_influence_latex_only_blocks_show_no_code_tab(built_site):
    fold = solution(page(built_site, INFLUENCE))
    # The hand example computes with SymPy: it keeps its Code tab.
    hand = [m for m in fold.find_all("math") if "3 + 6 ϵ" in text(m)]
    assert hand and in_code_tab(hand[0])
    # The general formula, in x̄, is the snippet's SymPy result and not in a tab of its own.
    assert "Check 1" not in text(fold)


# --- faults: a wrong number that equals the right one stops the build ---------------------


@pytest.mark.parametrize(
    ("name", "old", "new", "culprit"),
    [
        (
            "docs/exercises/influence-functions.md",
            "wrong_sign = mean_hand - removal * rate_hand",
            "wrong_sign = mean_hand + removal * rate_hand",
            "abs(wrong_sign - removed) > abs(mean_hand - removed)",
        ),
        (
            "docs/exercises/mle-exponential.md",
            '"N - 1": unbiased_rate(data),',
            '"N - 1": exponential_mle(data),',
            "each one rejected",
        ),
    ],
    ids=["influence-sign", "mle-n-minus-1"],
)
def test_fault_a_wrong_number_equal_to_the_right_one_fails_the_build(
    project_copy, tmp_path, name, old, new, culprit
):
    path = project_copy / name
    source = path.read_text(encoding="utf-8")
    assert source.count(old) == 1, f"{old!r} not in {name}"
    path.write_text(source.replace(old, new), encoding="utf-8")
    result = mkdocs_build(project_copy, tmp_path / "broken-site")
    output = result.stdout + result.stderr
    assert result.returncode != 0, "the strict build passed despite the fault"
    assert "AssertionError" in output and culprit in output, output[-3000:]
