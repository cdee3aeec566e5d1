"""Render the LaTeX in the pages to MathML at build time, with KaTeX.

Why: readers may be offline, so the site loads no math JavaScript and no fonts
from anywhere. pymdownx.arithmatex (generic mode) marks the math in each page;
this hook sends every formula through the KaTeX command-line binary that the
`markdown-katex` package ships, asks for MathML only (browsers render MathML
natively), and puts the result in the page.

What fails the build (under `mkdocs build --strict`, where errors count):
- TeX that KaTeX does not know (KaTeX throws on an undefined control sequence);
- any backslash left in the MathML text (a command that slipped through);
- raw TeX left in a page's text outside code: ``$$``, ``\\(``, ``\\[``,
  ``\\begin{``, ``\\frac``. A formula that fails is shown as a marked error,
  never as raw TeX.
"""

from __future__ import annotations

import hashlib
import html
import importlib.util
import io
import logging
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont
from markdown_katex.wrapper import _get_pkg_bin_path

log = logging.getLogger("mkdocs.hooks.tex_to_mathml")

MATH = re.compile(r'<(?P<tag>span|div) class="arithmatex">(?P<tex>.*?)</(?P=tag)>', re.DOTALL)
ANNOTATION = re.compile(r"<annotation encoding=\"application/x-tex\">.*?</annotation>", re.DOTALL)
TAGS = re.compile(r"<[^>]+>")
# Parts of a page whose text may legitimately contain TeX: code and scripts.
CODE = re.compile(
    r"<(pre|code|script|style|textarea)\b.*?</\1>"
    r'|<div class="clipboard-copy-txt"[^>]*>.*?</div>',  # a notebook cell's hidden copy
    re.DOTALL | re.IGNORECASE,
)
RAW_TEX = re.compile(r"\$\$|\\\(|\\\[|\\begin\{|\\frac")

_cache: dict[tuple[str, bool], tuple[str | None, str]] = {}
_chars: set[str] = set()  # every character the site's math uses, for the font subset
_pages: list = []  # the pages of this build that have math
# Always in the font: delimiters and big operators, whose stretched forms need it most.
BASE_CHARS = "()[]{}|‖⌊⌋⌈⌉∑∏∫√=+−<>≤≥"
FONT_URL = "assets/fonts/stix-two-math-subset.woff"


def _katex() -> str:
    """The KaTeX binary the markdown-katex wheel ships, or a `katex` on PATH elsewhere."""
    try:
        path = str(_get_pkg_bin_path())
    except NotImplementedError:  # no bundled binary for this platform
        found = shutil.which("katex")
        if found is None:
            raise RuntimeError(
                "no KaTeX binary: npm install -g katex, and put it on PATH"
            ) from None
        return found
    if not os.access(path, os.X_OK):
        os.chmod(path, 0o755)
    return path


MATHML_NS = "http://www.w3.org/1998/Math/MathML"
SPLIT = "@@katex-split@@"


def _run_katex(tex: str, display: bool) -> tuple[str | None, str]:
    """One KaTeX process: (MathML, "") or (None, error message)."""
    cmd = [_katex(), "--format", "mathml"] + (["--display-mode"] if display else [])
    proc = subprocess.run(cmd, input=tex.encode(), capture_output=True, timeout=120)
    if proc.returncode != 0 or b"ParseError" in proc.stderr:
        lines = proc.stderr.decode(errors="replace").splitlines()
        reason = [ln for ln in lines if "ParseError:" in ln] or [
            ln for ln in lines if "Error" in ln
        ]
        return None, (reason[0].strip() if reason else f"katex exited with {proc.returncode}")
    mathml = ANNOTATION.sub("", proc.stdout.decode().strip())
    return re.sub(r'^<span class="katex">(.*)</span>$', r"\1", mathml, flags=re.DOTALL), ""


def _checked(mathml: str | None, error: str) -> tuple[str | None, str]:
    """Refuse MathML whose text still holds a backslash: a TeX command slipped through."""
    if mathml is not None and "\\" in html.unescape(TAGS.sub(" ", mathml)):
        return None, "a TeX command was left as text in the MathML"
    return mathml, error


def _render_one(item: tuple[str, bool]) -> tuple[str | None, str]:
    return _checked(*_run_katex(*item))


def _render_many(items: list[tuple[str, bool]]) -> list[tuple[str | None, str]]:
    """Render many formulas with one KaTeX process (each start costs about 0.1 s).

    The formulas are joined into one expression, each in its own group with its own
    style, separated by a marker; the MathML is then cut at the markers. If anything
    fails, every formula is rendered on its own, so that an error names its formula.
    """
    if len(items) < 2:
        return [_render_one(item) for item in items]
    parts = [("{\\displaystyle " if display else "{\\textstyle ") + tex + "}"
             for tex, display in items]  # fmt: skip
    mathml, _ = _run_katex(f"\\text{{{SPLIT}}}".join(parts), True)
    chunks: list[list[ET.Element]] = [[]]
    try:
        row = ET.fromstring(mathml).find(f".//{{{MATHML_NS}}}semantics/{{{MATHML_NS}}}mrow")
        for child in row:
            if child.tag == f"{{{MATHML_NS}}}mtext" and child.text == SPLIT:
                chunks.append([])
            else:
                chunks[-1].append(child)
    except (TypeError, ET.ParseError):
        chunks = []
    if len(chunks) != len(items):
        return [_render_one(item) for item in items]
    ET.register_namespace("", MATHML_NS)
    results = []
    for (_, display), elements in zip(items, chunks, strict=True):
        inner = "".join(ET.tostring(e, encoding="unicode") for e in elements)
        inner = inner.replace(f' xmlns="{MATHML_NS}"', "")
        block = ' display="block"' if display else ""
        mathml = (
            f'<math xmlns="{MATHML_NS}"{block}><semantics><mrow>{inner}</mrow></semantics></math>'
        )
        results.append(_checked(mathml, ""))
    return results


def _split(raw: str) -> tuple[str, bool]:
    tex = html.unescape(raw).strip()
    for left, right, display in ((r"\(", r"\)", False), (r"\[", r"\]", True)):
        if tex.startswith(left) and tex.endswith(right):
            return tex[2:-2].strip(), display
    return tex, True


def on_page_content(html_text: str, page, config, files) -> str:
    """Note the page's formulas; they are rendered for the whole site at once in on_env."""
    if MATH.search(html_text):
        _pages.append(page)
    check_headings(page.toc, page.file.src_uri)
    return html_text


def on_env(env, config, files):
    """Render every formula of the site with one KaTeX process, then check every page."""
    found = {_split(m.group("tex")) for page in _pages for m in MATH.finditer(page.content)}
    todo = sorted(found - _cache.keys())
    for item, result in zip(todo, _render_many(todo), strict=True):
        _cache[item] = result
    for page in _pages:
        page.content = MATH.sub(lambda match, page=page: _replace(match, page), page.content)
    for file in files.documentation_pages():
        if file.page is not None and file.page.content is not None:
            check_no_raw_tex(file.page.content, file.page.file.src_uri)
    _start_font_subset(config)
    return env


def _replace(match: re.Match, page) -> str:
    tex, display = _split(match.group("tex"))
    mathml, error = _cache[(tex, display)]
    if mathml is None:
        log.error("%s: cannot render TeX %r: %s", page.file.src_uri, tex, error)
        return '<span class="math-error">[math error: see the build log]</span>'
    _chars.update(html.unescape(TAGS.sub("", mathml)))
    if display:
        return f'<div class="math-display">{mathml}</div>'
    return mathml


def check_headings(toc, where: str) -> None:
    """Math in a heading reaches the table of contents as raw TeX: refuse it."""
    for item in toc:
        if RAW_TEX.search(html.unescape(item.title)):
            log.error(
                "%s: heading %r has math, which the table of contents shows as raw TeX",
                where,
                item.title,
            )
        check_headings(item.children, where)


def check_no_raw_tex(html_text: str, where: str) -> None:
    """Log an error if TeX is left as text outside code, scripts and styles."""
    text = html.unescape(TAGS.sub(" ", CODE.sub(" ", html_text)))
    match = RAW_TEX.search(text)
    if match:
        context = text[max(0, match.start() - 40) : match.end() + 40].replace("\n", " ")
        log.error("%s: raw TeX left in the page text: ...%s...", where, context)


# --- a math font, served with the site ---------------------------------------------
# Browsers lay out MathML with a font that has an OpenType MATH table (for stretchy
# brackets, big operators, fractions). Many systems have one, many Linux desktops do
# not. The site serves STIX Two Math (SIL Open Font License), which the ziamath wheel
# ships, cut down to the characters its pages use: about 40 KB instead of 1.5 MB.


_font_job: dict = {}


def on_config(config):
    _chars.clear()
    _pages.clear()
    _font_job.clear()
    return config


def _start_font_subset(config) -> None:
    """Subset the font in a second process, while this one writes the pages."""
    font_path = Path(importlib.util.find_spec("ziamath").origin).parent / "fonts"
    font_path = font_path / "STIXTwoMath-Regular.ttf"
    chars = "".join(sorted(set(BASE_CHARS) | {c for c in _chars if not c.isspace()}))
    # Keyed on the font, the characters, this file (which sets the subsetting options)
    # and the pinned versions (fontTools does the subsetting).
    lock = Path(config.config_file_path).parent / "requirements.lock"
    key = font_path.read_bytes() + chars.encode() + Path(__file__).read_bytes() + lock.read_bytes()
    key = hashlib.sha256(key).hexdigest()[:16]
    cached = Path(config.config_file_path).parent / ".cache" / "fonts" / f"{key}.woff"
    _font_job["cached"] = cached
    if not cached.exists():
        cached.parent.mkdir(parents=True, exist_ok=True)
        for old in cached.parent.glob("*.woff"):
            old.unlink()
        _font_job["process"] = subprocess.Popen(
            [sys.executable, __file__, str(font_path), chars, str(cached)],
            stderr=subprocess.PIPE,
        )


def subset_font(font_path: str, chars: str, out: str) -> None:
    options = subset.Options()
    options.layout_features = ["ssty", "flac", "dtls"]  # the ones MathML layout uses
    options.hinting = False  # browsers rasterise MathML text well without hints
    options.flavor = "woff"
    font = TTFont(font_path, recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in chars])
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.save(buffer)
    Path(out).write_bytes(buffer.getvalue())


def on_post_build(config) -> None:
    process = _font_job.get("process")
    if process is not None:
        _, stderr = process.communicate(timeout=300)
        if process.returncode != 0:
            log.error("subsetting the math font failed:\n%s", stderr.decode(errors="replace"))
            return
    target = Path(config.site_dir) / FONT_URL
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(_font_job["cached"].read_bytes())


if __name__ == "__main__":  # the font-subsetting process started by _start_font_subset
    subset_font(*sys.argv[1:4])
