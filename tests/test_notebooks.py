"""The notebook downloads of each exercise, run in a real Jupyter kernel.

Each snippet is published as a worksheet (`<name>-worksheet.ipynb`: the problem and the
data, then "your turn" cells; no outputs, no solution), a solved notebook
(`<name>.ipynb`, executed) and a script (`<name>.py`). hooks/notebooks.py executes the
solved notebook in the build's own process; here both notebooks run in a fresh kernel,
as a student would open them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from conftest import SNIPPETS, load_hook
from nbclient import NotebookClient
from test_conv2d import SHEET_ANSWERS
from test_exercise_first import MEAN_RATE
from test_vgg11_parameters import TOTAL

NAMES = [p.stem for p in sorted(SNIPPETS.glob("*.py")) if not p.name.startswith("_")]

# What a worksheet must not give away, beyond its solution cells: the sheet's answers as
# the tests type them, in the forms a notebook would show them.
ANSWERS = {
    "conv2d": [
        form
        for matrix in SHEET_ANSWERS.values()
        for row in matrix
        for form in (str(row), " ".join(f"{v:2d}" for v in row), " & ".join(map(str, row)))
        if len(row) > 2  # a row of two numbers also occurs in X
    ],
    "vgg11_parameters": [str(TOTAL), f"{TOTAL:,}", f"{TOTAL:_}"],
    "mle_exponential": ["N/Sum(x[i]", r"\frac{N}{\sum", "N / sum(x)", "len(x) /"],
    "influence_functions": [r"-H^{-1}", "H^{-1}", f"rate {MEAN_RATE:g}", "z - mean"],
}


def load(site: Path, name: str, kind: str) -> dict:
    suffix = "-worksheet.ipynb" if kind == "worksheet" else ".ipynb"
    return json.loads((site / "notebooks" / name / f"{name}{suffix}").read_text())


def text_of(notebook: dict, sources: bool = True) -> str:
    """Every source (unless ``sources`` is false) and output text of a notebook."""
    parts = []
    for cell in notebook["cells"]:
        if sources:
            parts.append("".join(cell["source"]))
        for output in cell.get("outputs", []):
            parts.append("".join(output.get("text", "")))
            parts.extend("".join(v) for v in output.get("data", {}).values())
    return "\n".join(parts)


def first_turn(notebook: dict) -> int:
    """The index of the first cell tagged "your-turn"."""
    turns = [
        i for i, c in enumerate(notebook["cells"]) if "your-turn" in c["metadata"].get("tags", [])
    ]
    assert turns, "the worksheet has no your-turn cell"
    return turns[0]


def run_in_kernel(notebook: dict, cwd: Path) -> None:
    """Execute ``notebook`` in a fresh python3 kernel; raises CellExecutionError if a cell does."""
    node = nbformat.reads(json.dumps(notebook), as_version=4)
    NotebookClient(
        node, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(cwd)}}
    ).execute()


@pytest.mark.parametrize("name", NAMES)
def test_worksheet_runs_to_its_first_turn(built_site, name, tmp_path):
    worksheet = load(built_site, name, "worksheet")
    turn = first_turn(worksheet)
    code = [c for c in worksheet["cells"][:turn] if c["cell_type"] == "code"]
    assert code, f"{name}: no code (imports, data) before the first your-turn cell"
    # The problem and the data come first: the cells before the first turn, and the turn.
    run_in_kernel({**worksheet, "cells": worksheet["cells"][: turn + 1]}, tmp_path)


@pytest.mark.parametrize("name", NAMES)
def test_solved_notebook_runs_to_the_end(built_site, name, tmp_path):
    solved = load(built_site, name, "solved")
    assert any(c.get("outputs") for c in solved["cells"]), f"{name}: solved but not executed"
    run_in_kernel(solved, tmp_path)


@pytest.mark.parametrize("name", NAMES)
def test_no_download_has_build_markers(built_site, name):
    folder = built_site / "notebooks" / name
    downloads = [f"{name}.py", f"{name}.ipynb", f"{name}-worksheet.ipynb", "index.html"]
    for download in downloads:
        assert "--8<--" not in (folder / download).read_text(), f"{name}: --8<-- in {download}"
    # The markers are still in the snippet, for the pages' includes.
    assert "# --8<-- [start:" in (SNIPPETS / f"{name}.py").read_text()


@pytest.mark.parametrize("name", NAMES)
def test_worksheet_holds_no_answer(built_site, name):
    worksheet, solved = load(built_site, name, "worksheet"), load(built_site, name, "solved")
    assert not any(c.get("outputs") for c in worksheet["cells"]), f"{name}: worksheet outputs"
    text = text_of(worksheet)
    for answer in ANSWERS[name]:
        assert answer not in text, f"{name}: the worksheet gives away {answer!r}"
    for cell in solved["cells"]:
        if "solution" in cell["metadata"].get("tags", []):
            source = "".join(cell["source"]).strip()
            assert source not in text, f"{name}: the worksheet holds a solution cell: {source[:60]}"
    for line in text_of(solved, sources=False).splitlines():
        if len(line.strip()) > 8:
            assert line.strip() not in text, f"{name}: the worksheet shows the output {line!r}"
    defined = re.findall(r"^def (\w+)", text_of(solved), re.MULTILINE)
    assert defined and not re.search(rf"^def ({'|'.join(defined)})\(", text, re.MULTILINE)


def test_the_solved_script_is_the_snippet_without_markers_and_turns(built_site):
    py = (built_site / "notebooks/conv2d/conv2d.py").read_text()
    snippet = (SNIPPETS / "conv2d.py").read_text()
    assert "def conv2d(" in py and "your-turn" in snippet and "your-turn" not in py
    kept = [line for line in snippet.splitlines() if "--8<--" not in line]
    assert set(py.splitlines()) <= set(kept)


# --- the hook's rules for tags and markers ---

hook = load_hook("notebooks")


def test_strip_markers_closes_the_gap():
    text = "a = 1\n\n\n# --8<-- [start:x]\ndef f():\n    pass\n\n\n# --8<-- [end:x]\n\n\nb = 2\n"
    assert hook.strip_markers(text) == "a = 1\n\n\ndef f():\n    pass\n\n\nb = 2\n"
    with pytest.raises(TypeError, match="text must be a str"):
        hook.strip_markers(b"a")


SHEET = """# %% [markdown]
# # Problem

# %%
DATA = 1

# %% tags=["your-turn"]
# Write f.

# %% tags=["solution"]
def f():
    return DATA
"""


def test_split_keeps_each_cell_in_its_download(tmp_path):
    snippet = tmp_path / "s.py"
    snippet.write_text(SHEET)
    solved, worksheet = hook.split(snippet)
    assert "def f" in solved and "Write f" not in solved
    assert "def f" not in worksheet and "Write f" in worksheet and "DATA = 1" in worksheet


@pytest.mark.parametrize(
    "change, message",
    [
        (('tags=["solution"]', 'tags=["answer"]'), "unknown cell tag"),
        (('tags=["your-turn"]', ""), "no cell tagged"),
        (("# Write f.", "f = None"), "only comments"),
    ],
)
def test_split_refuses_a_bad_snippet(tmp_path, change, message):
    snippet = tmp_path / "s.py"
    snippet.write_text(SHEET.replace(*change))
    with pytest.raises(ValueError, match=message) as error:
        hook.split(snippet)
    assert "snippets/s.py" in str(error.value)


CODE_CELL = (
    '<div class="highlight-ipynb hl-python"><pre><span></span><span class="k">def</span>'
    '<span class="w"> </span><span class="nf">fit</span><span class="p">(</span>'
    '<span class="n">x</span><span class="p">):</span> <span class="nb">len</span>'
    '<span class="p">(</span><span class="n">x</span><span class="p">)</span></pre></div>'
)


def test_plain_token_spans_are_unwrapped_and_the_code_reads_the_same():
    style = "<style>.highlight-ipynb .k{color: blue}</style>"
    page = f'{style}<p><span class="n">a</span></p>{CODE_CELL}'
    out = hook.unwrap_plain_tokens(page)
    before, after = BeautifulSoup(page, "html.parser"), BeautifulSoup(out, "html.parser")
    assert after.get_text() == before.get_text()
    assert [s["class"] for s in after.pre.select("span[class]")] == [
        ["k"],
        ["w"],
        ["p"],
        ["p"],
        ["p"],
        ["p"],
    ]
    assert after.p.span is not None, "a span outside a code cell was unwrapped"


@pytest.mark.parametrize(
    "css", [".highlight-ipynb .nf { color: red }", "@media print { pre .n, x { x: y } }"]
)
def test_the_build_stops_when_the_notebook_styles_a_plain_token_class(css):
    with pytest.raises(
        hook.PluginError, match=r"docs/x\.ipynb: .*Pygments token class.*PLAIN_TOKENS"
    ):
        hook.unwrap_plain_tokens(f"<style>{css}</style>{CODE_CELL}", where="docs/x.ipynb")


def test_unwrap_plain_tokens_refuses_bytes():
    with pytest.raises(TypeError, match="html_text"):
        hook.unwrap_plain_tokens(b"<pre></pre>")


@pytest.mark.parametrize("name", NAMES)
def test_no_plain_token_span_is_left_in_a_notebook_page(built_site, name):
    page = BeautifulSoup(
        (built_site / "notebooks" / name / "index.html").read_text(), "html.parser"
    )
    cells = page.select(".highlight-ipynb pre")
    assert cells, f"notebooks/{name}: no code cell found"
    left = [
        s
        for cell in cells
        for s in cell.select("span[class]")
        if set(s["class"]) & set(hook.PLAIN_TOKENS)
    ]
    assert not left, f"notebooks/{name}: {len(left)} spans of plain token classes, e.g. {left[0]}"
    assert any(cell.select("span.k, span.p") for cell in cells), "no highlighted code at all"
