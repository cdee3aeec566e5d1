"""Publish every snippet as a solved notebook and a worksheet; make build failures name their file.

Each `snippets/<name>.py` is written in jupytext "percent" format, so it is a plain
script and a notebook at once. Two cell tags (jupytext writes them in the cell's
header line) say which cells belong to which download:

    # %% tags=["solution"]            solution code (or, on a [markdown] cell, the
                                      derivation): left out of the worksheet
    # %% tags=["your-turn"]           what the student is asked to write, as comments
                                      only: in the worksheet, left out of the rest

Untagged cells (the problem, the imports, the data) are in both. The snippet is
ordered problem, data, your-turn cells, then the solution, so the worksheet runs top
to bottom up to its first "your turn". The pymdownx.snippets build markers
(`# --8<-- [start:x]` / `[end:x]`) stay in the snippet for the pages' includes and are
stripped from every download and from the rendered notebook.

For each snippet this hook

1. executes the solved notebook, cell by cell, in this process (the way
   `python snippets/<name>.py` runs it, so `__name__ == "__main__"`), recording what
   each cell prints. A cell that raises stops the build with an error naming the
   snippet and the cell. Running in this process, rather than starting a Jupyter
   kernel per notebook, saves a kernel start and a fresh `import torch` for each
   notebook (tests/test_notebooks.py runs both downloads in a real kernel);
2. writes the executed notebook to `.cache/notebooks/`, named by a key over everything
   the outputs depend on: the snippet, requirements.lock (every pinned version), this
   hook, and the Python version. A later build with the same key reuses it; any change
   gives a new key, so a stale notebook is never served;
3. adds it to the site as the page `notebooks/<name>/`, rendered by mkdocs-jupyter, with
   the downloads `notebooks/<name>/<name>.ipynb` (solved, executed),
   `<name>-worksheet.ipynb` (not executed, no outputs) and `<name>.py` (the solved
   script).

It also prefixes markdown-exec's failure warnings with the page and the snippets it
includes: markdown-exec itself names only the code block.
"""

from __future__ import annotations

import builtins
import codeop
import hashlib
import io
import itertools
import logging
import os
import re
import sys
import traceback
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import jupytext
import nbformat
import nbformat.v4.nbbase
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.hooks.notebooks")
INCLUDE = re.compile(r"""--8<--\s+["']([^"':]+)""")
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
MARKER = re.compile(r"^[ \t]*# --8<-- \[(?:start|end):[^\]]*\][ \t]*\n?", re.MULTILINE)
CELL = re.compile(r"^# %%.*$", re.MULTILINE)
TAGS = {"solution", "your-turn"}


def _number_cells_from_zero() -> None:
    """Give the next notebook's cells the ids cell-0, cell-1, ... instead of random ones,
    so that two builds of the same commit write identical files."""
    counter = itertools.count()
    nbformat.v4.nbbase.random_cell_id = lambda: f"cell-{next(counter)}"


def project_root(config) -> Path:
    return Path(config.config_file_path).parent


def snippet_paths(config) -> list[Path]:
    snippets = project_root(config) / "snippets"
    return sorted(p for p in snippets.glob("*.py") if not p.name.startswith("_"))


def cache_key(snippet: Path, root: Path) -> str:
    """Everything an executed notebook depends on, hashed."""
    digest = hashlib.sha256()
    for part in (snippet, root / "requirements.lock", Path(__file__)):
        digest.update(part.read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()[:16]


def strip_markers(text: str) -> str:
    """``text`` without its `# --8<-- [start:x]` / `[end:x]` lines; the blank lines they
    leave are closed up to two, as ruff format would."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return re.sub(r"\n{4,}", "\n\n\n", MARKER.sub("", text))


def _cells(text: str) -> list[str]:
    """The snippet's text cut before each `# %%` line (the first piece is the header)."""
    starts = [m.start() for m in CELL.finditer(text)]
    return [text[a:b] for a, b in zip([0, *starts], [*starts, len(text)], strict=True)]


def _tags(cell: str) -> set[str]:
    header = cell.split("\n", 1)[0]
    found = re.search(r"tags=(\[[^\]]*\])", header) if header.startswith("# %%") else None
    return set(re.findall(r'"([^"]*)"', found[1])) if found else set()


def split(snippet: Path) -> tuple[str, str]:
    """The snippet's (solved script, worksheet script), both without build markers.

    The solved script leaves out the "your-turn" cells, the worksheet the "solution"
    cells. Refuses (``ValueError``, naming the snippet) an unknown tag, a snippet with
    no "your-turn" cell, and a "your-turn" cell with anything but comments in it (it
    runs with the script, so it must do nothing).
    """
    where = f"snippets/{snippet.name}"
    cells = _cells(strip_markers(snippet.read_text(encoding="utf-8")))
    solved, worksheet, turns = [], [], 0
    for cell in cells:
        tags = _tags(cell)
        if tags - TAGS:
            raise ValueError(f"{where}: unknown cell tag(s) {sorted(tags - TAGS)}; use {TAGS}")
        if "your-turn" in tags:
            turns += 1
            body = cell.split("\n", 1)[1] if "\n" in cell else ""
            code = [
                line
                for line in body.splitlines()
                if line.strip() and not line.lstrip().startswith("#")
            ]
            if code:
                raise ValueError(
                    f"{where}: a your-turn cell must hold only comments, got {code[0]!r}"
                )
        if "your-turn" not in tags:
            solved.append(cell)
        if "solution" not in tags:
            worksheet.append(cell)
    if not turns:
        raise ValueError(f'{where}: no cell tagged "your-turn", so the worksheet asks nothing')
    return "".join(solved), "".join(worksheet)


def as_notebook(script: str) -> nbformat.NotebookNode:
    """A percent-format script as a notebook with cell ids cell-0, cell-1, ... and the
    python3 kernel."""
    _number_cells_from_zero()
    notebook = jupytext.reads(script, fmt="py:percent")
    notebook.metadata.pop("jupytext", None)
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    return notebook


def execute(snippet: Path) -> tuple[nbformat.NotebookNode, str | None]:
    """Run the solved notebook's cells in order in a fresh namespace; record their output.

    Returns the notebook and, if a cell raised, an error message naming the snippet
    and the cell (that cell then shows the traceback, and later cells do not run).
    """
    notebook = as_notebook(split(snippet)[0])
    compiler = codeop.Compile()  # keeps `from __future__` imports across cells, as IPython does
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    count = 0
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        count += 1
        cell.execution_count = count
        out, err = io.StringIO(), io.StringIO()
        failure = None
        try:
            with redirect_stdout(out), redirect_stderr(err):
                where = f"snippets/{snippet.name}, cell {count}"
                exec(compiler(cell.source, where, "exec"), namespace)
        except Exception as error:
            failure = error
        cell.outputs = [
            nbformat.v4.new_output("stream", name=name, text=stream.getvalue())
            for name, stream in (("stdout", out), ("stderr", err))
            if stream.getvalue()
        ]
        if failure is not None:
            trace = traceback.format_exception(failure, limit=-8)
            cell.outputs.append(
                nbformat.v4.new_output(
                    "error", ename=type(failure).__name__, evalue=str(failure), traceback=trace
                )
            )
            message = f"notebook from snippets/{snippet.name} failed in cell {count}:\n"
            return notebook, message + "".join(trace)
    return notebook, None


def executed_notebook(snippet: Path, root: Path) -> Path:
    """The executed notebook for ``snippet``, from the cache or freshly run.

    A notebook whose cell raised is logged as an error (which stops a strict build),
    shown with its traceback, and never cached.
    """
    key = cache_key(snippet, root)
    folder = root / ".cache" / "notebooks"
    if os.environ.get("SITE_EXECUTE") == "0":  # execution off (scripts/bench.py's floor)
        path = folder / f"{snippet.stem}-unexecuted.ipynb"
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(nbformat.writes(as_notebook(split(snippet)[0])) + "\n", encoding="utf-8")
        return path
    path = folder / f"{snippet.stem}-{key}.ipynb"
    if path.exists():
        return path
    notebook, failure = execute(snippet)
    notebook.metadata["site_cache_key"] = key  # so mkdocs-jupyter's own cache keys on it too
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"{snippet.stem}-*.ipynb"):
        old.unlink()
    if failure:
        log.error(failure)
        path = folder / f"{snippet.stem}-failed.ipynb"
    path.write_text(nbformat.writes(notebook) + "\n", encoding="utf-8")
    return path


def on_files(files: Files, config) -> Files:
    jupyter = config.plugins["mkdocs-jupyter"]
    root = project_root(config)
    for snippet in snippet_paths(config):
        try:
            solved, worksheet = split(snippet)
        except ValueError as error:
            raise PluginError(str(error)) from None
        notebook = str(executed_notebook(snippet, root))
        page = File.generated(config, f"notebooks/{snippet.name}", abs_src_path=notebook)
        for wrapped in jupyter.on_files(Files([page]), config=config):
            # mkdocs-jupyter's wrapper does not forward cached properties.
            wrapped.abs_src_path = notebook
            files.append(wrapped)
        stem = snippet.stem
        files.append(
            File.generated(config, f"notebooks/{stem}/{stem}.ipynb", abs_src_path=notebook)
        )
        sheet = nbformat.writes(as_notebook(worksheet)) + "\n"
        files.append(
            File.generated(config, f"notebooks/{stem}/{stem}-worksheet.ipynb", content=sheet)
        )
        files.append(File.generated(config, f"notebooks/{stem}/{snippet.name}", content=solved))
    return files


class _NameThePage(logging.Filter):
    """Prefix markdown-exec's failure warnings with the page (and snippets) they come from."""

    page: str | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            self.page
            and record.levelno >= logging.WARNING
            and "markdown_exec" in record.name
            and not getattr(record, "page_named", False)
        ):
            record.msg = f"{self.page}: {record.msg}"
            record.page_named = True
        return True


_name_the_page = _NameThePage()


def on_config(config):
    # On MkDocs' handlers, so it sees the records that propagate from markdown-exec's loggers.
    for handler in logging.getLogger("mkdocs").handlers:
        if _name_the_page not in handler.filters:
            handler.addFilter(_name_the_page)
    return config


def on_page_markdown(markdown: str, page, config, files) -> str:
    included = sorted(set(INCLUDE.findall(markdown)))
    where = f"docs/{page.file.src_uri}"
    if included:
        where += " (includes " + ", ".join(f"snippets/{name}" for name in included) + ")"
    _name_the_page.page = where
    return markdown


def on_page_content(html_text: str, page, config, files) -> str:
    _name_the_page.page = None
    if getattr(page, "nb_url", None):
        # nbconvert's template loads MathJax and mermaid from a CDN. The site renders
        # math itself and the notebooks have no diagrams: drop both, so that a page
        # never asks another host for anything.
        html_text = re.sub(
            r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->",
            "",
            html_text,
            flags=re.DOTALL,
        )
        html_text = re.sub(
            r'<script type="module">(?:(?!</script>).)*mermaid.*?</script>',
            "",
            html_text,
            flags=re.DOTALL,
        )
        html_text = unwrap_plain_tokens(html_text, where=f"docs/{page.file.src_uri}")
        html_text = _prune_page_styles(html_text)
        html_text = _styles_to_head(html_text, page)
        html_text = mark_math(html_text)
        # Code cells and their printed output stay out of the search index: the
        # exercise pages teach the same words ("padding", "stride", "bias"), and a
        # reader searching them should land there, not in a notebook's helpers. It
        # also keeps the index, which every page downloads, small.
        html_text = html_text.replace("<pre>", "<pre data-search-exclude>")
        html_text = html_text.replace(
            '<div class="clipboard-copy-txt"', '<div data-search-exclude class="clipboard-copy-txt"'
        )
    return html_text


MARKDOWN_CELL = re.compile(
    r'(<div class="jp-RenderedHTMLCommon jp-RenderedMarkdown[^>]*>)(.*?)(</div>)', re.DOTALL
)
CODE_SPAN = re.compile(r"<(pre|code)\b.*?</\1>", re.DOTALL)
DISPLAY_MATH = re.compile(r"<p>\s*\$\$(.+?)\$\$\s*</p>|\$\$(.+?)\$\$", re.DOTALL)
INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\$)(.+?)(?<![\\$])\$", re.DOTALL)


def mark_math(html_text: str) -> str:
    """Mark the math of a notebook's Markdown cells as pymdownx.arithmatex does, so that
    hooks/katex_math.py renders it like the pages' math: `$$...$$` becomes a display
    block, `$...$` inline. Code in a cell is left alone."""
    if not isinstance(html_text, str):
        raise TypeError(f"html_text must be a str, got {type(html_text).__name__}")

    def text(part: str) -> str:
        part = DISPLAY_MATH.sub(
            lambda m: f'<div class="arithmatex">\\[{m[1] or m[2]}\\]</div>', part
        )
        return INLINE_MATH.sub(lambda m: f'<span class="arithmatex">\\({m[1]}\\)</span>', part)

    def cell(match: re.Match) -> str:
        body, out, last = match[2], [], 0
        for code in CODE_SPAN.finditer(body):
            out += [text(body[last : code.start()]), code[0]]
            last = code.end()
        return match[1] + "".join(out) + text(body[last:]) + match[3]

    return MARKDOWN_CELL.sub(cell, html_text)


CLASS = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")
BRACE = re.compile(r"[{}]")
COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")  # a rule with no block inside: selectors, body
# nbconvert's `.jupyter-wrapper *:before, .jupyter-wrapper *:after {box-sizing: ...}` (set to
# inherit, then unset: content-box, the initial value, which a pseudo-element has anyway).
# A ::before rule that matches every element makes Chromium compute a ::before style for
# every element of the notebook (and the same for ::after), though none has content.
EVERY_PSEUDO = re.compile(r"\.jupyter-wrapper \*::?(before|after)")


# Pygments' token classes that nothing styles in a notebook's code: names (n), built-ins
# (nb, bp), function, exception, module and class names (nf, ne, nn, nc), magic names
# (vm, fm). nbconvert's Pygments CSS has no rule for them, and Material's (`.highlight .n`
# ...) needs a `.highlight` ancestor, which notebook code does not have. Their spans draw
# exactly as the text around them (tests/test_browser.py checks each class against every
# style sheet of a notebook page, in both palettes), and they are a quarter of a long
# notebook's elements (2,101 of 8,375 on the influence notebook), each one parsed, styled
# and laid out on every load.
PLAIN_TOKENS = ("n", "nb", "bp", "nf", "ne", "nn", "nc", "vm", "fm")
PLAIN_SPAN = re.compile(r'<span class="(?:' + "|".join(PLAIN_TOKENS) + r')">([^<]*)</span>')
CODE_CELL = re.compile(
    r'(<div class="highlight-ipynb[^"]*">\s*<pre\b[^>]*>)(.*?)(</pre>)', re.DOTALL
)


def unwrap_plain_tokens(html_text: str, where: str = "a notebook page") -> str:
    """Replace each span of a PLAIN_TOKENS class in a notebook's code cells by its text.

    The page's own style sheets (nbconvert's, before they are pruned) must not name any
    of those classes: if one does, the build stops with an error naming the class and the
    page, rather than drawing that code in another colour."""
    if not isinstance(html_text, str):
        raise TypeError(f"html_text must be a str, got {type(html_text).__name__}")
    plain = set(PLAIN_TOKENS)
    for sheet in STYLE.finditer(html_text):
        for selectors, _ in RULE.findall(COMMENT.sub("", sheet[1])):
            styled = plain & set(CLASS.findall(selectors))
            if styled:
                raise PluginError(
                    f"{where}: the notebook's CSS styles the Pygments token class(es) "
                    f"{sorted(styled)} ({selectors.strip()[:80]}), so their spans cannot be "
                    "unwrapped: take them out of PLAIN_TOKENS in hooks/notebooks.py"
                )
    return CODE_CELL.sub(lambda m: m[1] + PLAIN_SPAN.sub(r"\1", m[2]) + m[3], html_text)


def prune_css(css: str, used: set[str]) -> str:
    """Keep only the CSS rules whose selectors can match: every class they name is used.

    nbconvert inlines ~570 KB of JupyterLab CSS into each notebook page; a rendered
    notebook uses a small part of it. Selectors with parentheses are kept whole;
    @media and @supports blocks are pruned inside; other at-rules are kept.
    """
    return _prune(COMMENT.sub("", css), used)


def _prune(css: str, used: set[str]) -> str:
    out, i = [], 0
    while (start := css.find("{", i)) >= 0:
        prelude = css[i:start].rsplit(";", 1)[-1].strip()  # drop statements like @charset
        depth, end = 1, start + 1
        while depth:
            brace = BRACE.search(css, end)
            if brace is None:  # unbalanced: keep the rest as it is
                return "".join(out) + css[i:]
            depth += 1 if brace.group() == "{" else -1
            end = brace.end()
        body = css[start + 1 : end - 1]
        if prelude.startswith(("@media", "@supports")):
            inner = _prune(body, used)
            if inner:
                out.append(f"{prelude}{{{inner}}}")
        elif prelude.startswith("@"):
            out.append(f"{prelude}{{{body}}}")
        else:
            selectors = [prelude] if "(" in prelude else prelude.split(",")
            kept = [sel for sel in selectors if set(CLASS.findall(sel)) <= used]
            if kept:
                out.append(",".join(kept) + "{" + body + "}")
        i = end
    return "".join(out)


STYLE = re.compile(r"<style[^>]*>(.*?)</style>\n?", re.DOTALL)
_head_styles: dict[str, list[str]] = {}  # page -> the notebook's style sheets, for its <head>


def _styles_to_head(html_text: str, page) -> str:
    """Take nbconvert's <style> elements out of the page body; on_post_page puts them at
    the end of the <head>, where they keep their place in the cascade (after every other
    style sheet). Each style sheet that the parser meets in the body makes Chromium restyle
    every element it has already styled: on the MLE notebook the last one came after the
    first paint. Two are dropped: an empty one (nbconvert's mermaid set-up) and a Python
    list printed as CSS (['pre{ ... }', ...]), which matches nothing."""
    sheets = [m[1] for m in STYLE.finditer(html_text)]
    _head_styles[page.file.src_uri] = [
        css for css in sheets if css.strip() and not re.match(r"\s*\[\s*'", css)
    ]
    return STYLE.sub("", html_text)


@event_priority(-100)  # after katex_math and inline_css have put their styles in the <head>
def on_post_page(output: str, page, config) -> str:
    sheets = _head_styles.pop(page.file.src_uri, None)
    if sheets is None:
        return output
    styles = "".join(f"<style>{css}</style>\n" for css in sheets)
    return output.replace("</head>", styles + "</head>", 1)


def _prune_page_styles(html_text: str) -> str:
    used = {c for attr in re.findall(r'class="([^"]*)"', html_text) for c in attr.split()}
    used |= {"md-typeset", "md-content", "highlight"}  # added around the content by the theme
    style = re.compile(r"(<style[^>]*>)(.*?)(</style>)", re.DOTALL)
    html_text = style.sub(lambda m: m[1] + prune_css(m[2], used) + m[3], html_text)
    inline = VAR.findall(" ".join(re.findall(r'style="([^"]*)"', html_text)))
    needed = used_properties([m[1] for m in style.findall(html_text)], set(inline))
    return style.sub(lambda m: m[1] + prune_properties(m[2], needed) + m[3], html_text)


VAR = re.compile(r"var\(\s*(--[\w-]+)")
CUSTOM = re.compile(r"\s*(--[\w-]+)\s*:")


def _declarations(body: str) -> list[str]:
    """A rule's body split at its top-level semicolons (not those in strings or brackets)."""
    out, start, depth, quote = [], 0, 0, ""
    for i, char in enumerate(body):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == ";" and depth == 0:
            out.append(body[start:i])
            start = i + 1
    out.append(body[start:])
    return [d for d in out if d.strip()]


def used_properties(sheets: list[str], needed: set[str]) -> set[str]:
    """The custom properties (--x) that a declaration or `needed` reads, directly or not."""
    reads: dict[str, set[str]] = {}  # custom property -> the ones its value reads
    needed = set(needed)
    for css in sheets:
        for body in re.findall(r"\{([^{}]*)\}", css):
            for decl in _declarations(body):
                name = CUSTOM.match(decl)
                if name:
                    reads.setdefault(name[1], set()).update(VAR.findall(decl))
                else:
                    needed.update(VAR.findall(decl))
    todo = list(needed)
    while todo:
        for ref in reads.get(todo.pop(), ()):
            if ref not in needed:
                needed.add(ref)
                todo.append(ref)
    return needed


def prune_properties(css: str, needed: set[str]) -> str:
    """Drop the custom properties nothing reads (nbconvert's CSS defines ~1,000 and the page
    reads ~100: each one is inherited by every element of the notebook), rules left empty,
    rules under `.jupyter-wrapper :root`, which can match no element, and the box-sizing
    of every element's ::before and ::after (EVERY_PSEUDO)."""

    def rule(match: re.Match) -> str:
        selectors = [
            s
            for s in match[1].split(",")
            if not re.search(r"\S\s+:root\b", s) and not EVERY_PSEUDO.fullmatch(s.strip())
        ]
        kept = [
            d
            for d in _declarations(match[2])
            if not (CUSTOM.match(d) and CUSTOM.match(d)[1] not in needed)
        ]
        if not selectors or not kept:
            return ""
        return ",".join(selectors) + "{" + ";".join(kept) + "}"

    return RULE.sub(rule, css)


def on_pre_page(page, config, files):
    """Give a notebook page the links of its downloads."""
    if getattr(page, "nb_url", None):
        stem = Path(page.file.src_uri).stem
        page.ipynb_url = f"{stem}.ipynb"
        page.worksheet_url = f"{stem}-worksheet.ipynb"
        page.py_url = f"{stem}.py"
    return page
