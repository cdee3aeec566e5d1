"""Publish every snippet as a notebook, and make build failures name their file.

Each `snippets/<name>.py` is written in jupytext "percent" format, so it is a
plain script and a notebook at once. This hook adds it to the site as the page
`notebooks/<name>/` (rendered and executed by mkdocs-jupyter) and adds a
downloadable `notebooks/<name>/<name>.ipynb` generated from the same file. No
copy is kept by hand.

It also attaches the file's name to the two kinds of failure that would not
otherwise name it: a markdown-exec block that raises (the warning names only
the code block) and a notebook cell that raises.
"""

from __future__ import annotations

import itertools
import logging
import re
from pathlib import Path

import jupytext
import nbformat.v4.nbbase
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.hooks.notebooks")
INCLUDE = re.compile(r"""--8<--\s+["']([^"':]+)""")


def _number_cells_from_zero() -> None:
    """Give the next notebook's cells the ids cell-0, cell-1, ... instead of random ones,
    so that two builds of the same commit write identical files."""
    counter = itertools.count()
    nbformat.v4.nbbase.random_cell_id = lambda: f"cell-{next(counter)}"


def _snippets_dir(config) -> Path:
    return Path(config.config_file_path).parent / "snippets"


def snippet_paths(config) -> list[Path]:
    return sorted(p for p in _snippets_dir(config).glob("*.py") if not p.name.startswith("_"))


def on_files(files: Files, config) -> Files:
    jupyter = config.plugins["mkdocs-jupyter"]
    for path in snippet_paths(config):
        page = File.generated(config, f"notebooks/{path.name}", abs_src_path=str(path))
        for wrapped in jupyter.on_files(Files([page]), config=config):
            # mkdocs-jupyter's wrapper does not forward cached properties.
            wrapped.abs_src_path = str(path)
            files.append(wrapped)
        _number_cells_from_zero()
        notebook = jupytext.read(path, fmt="py:percent")
        notebook.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        notebook.metadata.pop("jupytext", None)
        content = jupytext.writes(notebook, fmt="ipynb")
        files.append(
            File.generated(config, f"notebooks/{path.stem}/{path.stem}.ipynb", content=content)
        )
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
    return html_text


def on_pre_page(page, config, files):
    """Make a failing notebook name its snippet, and give the page its .ipynb link."""
    if not getattr(page, "nb_url", None):
        return page
    _number_cells_from_zero()  # mkdocs-jupyter reads the notebook while rendering this page
    source = page.file.abs_src_path
    stem = Path(source).stem
    page.ipynb_url = f"{stem}.ipynb"
    page.py_url = f"{stem}.py"
    render = page.render

    def render_naming_the_source(*args, **kwargs):
        try:
            return render(*args, **kwargs)
        except Exception as error:  # nbclient.CellExecutionError and friends
            raise PluginError(
                f"notebook from snippets/{Path(source).name} failed:\n{error}"
            ) from error

    page.render = render_naming_the_source
    return page
