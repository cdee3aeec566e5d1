"""Cache each page's rendered HTML, keyed on everything that could change it.

markdown-exec runs every code block on every build, and `mkdocs serve` rebuilds
the whole site after each save. So a prose edit to one page would re-run every
computation on every page. This hook stores what `page.render()` produced (the
HTML before the math is rendered, the table of contents, and the anchors used for
link checks) under a key made of:

- the page's own Markdown;
- every file the page includes with ``--8<--`` (snippets in `snippets/`, page code in
  `docs/_includes/`): the page runs them. A page that includes nothing of a snippet is
  not re-run when that snippet changes;
- `requirements.lock` (every pinned version), `mkdocs.yml`, every hook, the Python
  version;
- the list of all files of the site (so a deleted link target re-checks links).

Any change to any of these gives a new key, so a cached page is never stale. A page
is stored only if rendering it logged no warning, so a failing block is never
hidden: it runs, and fails, on every build. Notebook pages are left to
hooks/notebooks.py and mkdocs-jupyter's own cache. Set SITE_PAGE_CACHE=0 to turn
this off. Old entries are deleted at the end of each build.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sys
from pathlib import Path

from markdown_exec import MarkdownConverter
from mkdocs.structure.toc import get_toc

INCLUDE = re.compile(r"""--8<--\s+["']([^"':]+)""")  # the file part of an include line
_used: set[Path] = set()
_site_digest: list = []  # the build-wide part of the key, computed once per build


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


_warnings = _Counter()


def _folder(config) -> Path:
    return Path(config.config_file_path).parent / ".cache" / "pages"


def _site_key(config, files) -> hashlib._Hash:
    root = Path(config.config_file_path).parent
    digest = hashlib.sha256(sys.version.encode())
    parts = [root / "requirements.lock", root / "mkdocs.yml"]
    parts += sorted((root / "hooks").glob("*.py"))
    for path in parts:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    digest.update("\0".join(sorted(f.src_uri for f in files)).encode())
    return digest


def _included(config, name: str) -> bytes:
    """The bytes of an included file, looked up as pymdownx.snippets does (base_path)."""
    root = Path(config.config_file_path).parent
    for base in ("snippets", "docs"):
        if (root / base / name).is_file():
            return (root / base / name).read_bytes()
    return b"<missing>"  # the build reports the missing include itself


def _toc_tokens(items) -> list[dict]:
    return [
        {"level": i.level, "id": i.id, "name": i.title, "children": _toc_tokens(i.children)}
        for i in items
    ]


def on_config(config):
    logger = logging.getLogger("mkdocs")
    if _warnings not in logger.handlers:
        logger.addHandler(_warnings)
    _used.clear()
    _site_digest.clear()
    return config


def on_pre_page(page, config, files):
    # markdown-exec numbers its blocks' ids (exec-N--) across the whole build, so a page's
    # HTML would depend on which pages before it came from the cache: number per page.
    MarkdownConverter.counter = 0
    if os.environ.get("SITE_PAGE_CACHE") == "0" or getattr(page, "nb_url", None):
        return page
    if not _site_digest:
        _site_digest.append(_site_key(config, files))
    digest = _site_digest[0].copy()
    digest.update(page.file.src_uri.encode() + b"\0" + page.file.content_bytes)
    for name in sorted(set(INCLUDE.findall(page.file.content_string))):
        digest.update(b"\0" + name.encode() + b"\0" + _included(config, name))
    path = _folder(config) / f"{digest.hexdigest()}.json"
    _used.add(path)
    render = page.render

    def cached_render(config, files):
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))
            page.content = data["content"]
            page.toc = get_toc(data["toc"])
            page.present_anchor_ids = set(data["anchors"])
            links = {}
            for src_uri, anchors in data["links_to_anchors"].items():
                target = files.get_file_from_path(src_uri)
                if target is not None:
                    links[target] = anchors
            page.links_to_anchors = links or None
            return
        before = _warnings.count
        render(config, files)
        if _warnings.count != before:
            return  # never cache a page that warned: let it fail again next time
        data = {
            "content": page.content,
            "toc": _toc_tokens(page.toc),
            "anchors": sorted(page.present_anchor_ids or ()),
            "links_to_anchors": {
                f.src_uri: anchors for f, anchors in (page.links_to_anchors or {}).items()
            },
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data), encoding="utf-8")

    page.render = cached_render
    return page


def on_post_build(config):
    folder = _folder(config)
    if folder.is_dir():
        for old in folder.glob("*.json"):
            if old not in _used:
                old.unlink()
