"""Render the LaTeX in the pages at build time with KaTeX: HTML for the eye, MathML for
screen readers.

pymdownx.arithmatex (generic mode) marks the math in each page. At ``on_env`` this hook
sends every formula of the site to one Node process (hooks/katex_render.cjs), which
renders each with KaTeX, the npm package pinned in package-lock.json (``make`` runs
``npm ci``). KaTeX lays formulas out in HTML and CSS with its own fonts, so aligned
derivations, operator spacing and accents look the same in every browser. Its fonts are
copied into the site (``assets/katex/fonts/``) and its CSS goes into the pages with math,
only those: no CDN, no request to another host.

Each page with math also carries the glyphs its formulas draw: per face (roman, math
italic, blackboard bold, big operators), a subset cut with fontTools, added by a script in
the head as a font that is ready at once. The formulas are drawn in their own fonts at the
first paint, with no font file fetched: before, KaTeX's fonts swapped in after the first
paint of a first visit and moved the text (a layout shift of 0.06-0.11). A character in
another face (bold, calligraphic) still loads KaTeX's file, and so does every formula
without JavaScript.

A formula inside a closed fold (a hint or a solution, ``<details>`` without ``open``) is
written inside ``<noscript class="math-lazy">``. With JavaScript on, the browser keeps it
as one piece of text instead of a hundred elements, and the page's script
(overrides/main.html) makes it HTML when the fold opens, before the fold is drawn. Without
JavaScript the browser reads it as HTML at once. A closed fold holds most of an exercise
page's math: the influence-functions page loads 6,600 elements instead of 16,000.

What fails the build (under ``mkdocs build --strict``, where errors count), naming the page:
- TeX that KaTeX does not accept (unknown commands; ``strict: "error"`` also refuses
  input that LaTeX would reject);
- a backslash left in the MathML text (a command that slipped through as text);
- raw TeX left in a page's text outside code (``$$``, ``\\(``, ``\\[``, ``\\begin{``,
  ``\\frac``), and math in a heading (the table of contents would show raw TeX).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import io
import json
import logging
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

from fontTools import subset as font_subset
from fontTools.ttLib import TTFont
from mkdocs.utils import get_relative_url

log = logging.getLogger("mkdocs.hooks.katex_math")
logging.getLogger("fontTools").setLevel(logging.ERROR)  # KaTeX's fonts' early dates

ROOT = Path(__file__).resolve().parents[1]
RENDERER = Path(__file__).with_name("katex_render.cjs")
KATEX_DIST = ROOT / "node_modules" / "katex" / "dist"
CSS_SOURCE = "katex-swap.min.css"  # KaTeX's CSS with font-display: swap
FONTS_URL = "assets/katex/fonts"

MATH = re.compile(r'<(?P<tag>span|div) class="arithmatex">(?P<tex>.*?)</(?P=tag)>', re.DOTALL)
MATHML = re.compile(r'<span class="katex-mathml">(.*?)</span>', re.DOTALL)
ANNOTATION = re.compile(r"<annotation encoding=\"application/x-tex\">.*?</annotation>", re.DOTALL)
TAGS = re.compile(r"<[^>]+>")
# Parts of a page whose text may legitimately contain TeX: code and scripts.
CODE = re.compile(
    r"<(pre|code|script|style|textarea)\b.*?</\1>"
    r'|<div [^>]*class="clipboard-copy-txt"[^>]*>.*?</div>',  # a notebook cell's hidden copy
    re.DOTALL | re.IGNORECASE,
)
RAW_TEX = re.compile(r"\$\$|\\\(|\\\[|\\begin\{|\\frac")
# KaTeX's faces that plain formulas draw with, and the classes of KaTeX's HTML that pick
# each (its CSS: `.katex .mathnormal {font-family: KaTeX_Math}` ...). Each page carries
# the glyphs of these faces that its formulas draw (FONTS_SCRIPT): a formula is drawn in
# its own font at the first paint, and nothing moves when a font file arrives. A span in
# none of these classes draws with its parent's face (KaTeX_Main at the top) unless a class
# picks another face (bold, calligraphic, ...), whose file is then fetched as before.
EMBEDDED_FACES = {  # face: (family, style, classes that pick it)
    "Main-Regular": ("KaTeX_Main", "normal", {"mathrm", "textrm", "mainrm"}),
    "Math-Italic": ("KaTeX_Math", "italic", {"mathnormal"}),
    "AMS-Regular": ("KaTeX_AMS", "normal", {"amsrm", "mathbb", "textbb"}),
    "Size1-Regular": ("KaTeX_Size1", "normal", {"small-op", "size1", "delim-size1"}),
    "Size2-Regular": ("KaTeX_Size2", "normal", {"large-op", "size2"}),
    "Size3-Regular": ("KaTeX_Size3", "normal", {"size3"}),
    "Size4-Regular": ("KaTeX_Size4", "normal", {"size4", "delim-size4"}),
}
ZWSP = 0x200B
# classes that pick a face not carried in the page
OTHER_FACES = {
    "mathit", "textit", "mathbf", "textbf", "boldsymbol", "mathcal", "mathfrak", "textfrak",
    "mathboldfrak", "textboldfrak", "mathtt", "texttt", "mathscr", "textscr", "mathsf",
    "textsf", "mathboldsf", "textboldsf", "mathitsf", "mathsfit", "textitsf",
}  # fmt: skip

# (tex, display) -> (html or None, error). Kept across rebuilds of `mkdocs serve`, and
# on disk in .cache/katex/ (successes only), keyed on the pinned KaTeX and this hook.
_cache: dict[tuple[str, bool], tuple[str | None, str]] = {}
_math_pages: set[str] = set()  # src_uri of this build's pages with math
_pages: list = []
_css: list[str] = []  # KaTeX's CSS, read once per build


def _split(raw: str) -> tuple[str, bool]:
    tex = html.unescape(raw).strip()
    for left, right, display in ((r"\(", r"\)", False), (r"\[", r"\]", True)):
        if tex.startswith(left) and tex.endswith(right):
            return tex[2:-2].strip(), display
    return tex, True


def render(items: list[tuple[str, bool]]) -> list[tuple[str | None, str]]:
    """Render formulas with one KaTeX process: a list of (HTML, "") or (None, error)."""
    if not items:
        return []
    node = shutil.which("node")
    if node is None or not (KATEX_DIST / "katex.js").is_file():
        missing = "Node.js (node on PATH)" if node is None else "node_modules/katex"
        reason = f"{missing} is missing: run `make` (it runs `npm ci`), or see the README"
        return [(None, reason)] * len(items)
    proc = subprocess.run(
        [node, str(RENDERER)],
        input=json.dumps(items).encode(),
        capture_output=True,
        cwd=ROOT,
        timeout=300,
    )
    if proc.returncode != 0:
        reason = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["failed"]
        return [(None, f"the KaTeX process failed: {reason[0]}")] * len(items)
    results = []
    for result in json.loads(proc.stdout)["results"]:
        if "error" in result:
            results.append((None, result["error"]))
            continue
        rendered = ANNOTATION.sub("", result["html"])  # the TeX source, kept out of the page
        mathml = " ".join(MATHML.findall(rendered))
        if "\\" in html.unescape(TAGS.sub(" ", mathml)):
            results.append((None, "a TeX command was left as text in the MathML"))
        else:
            results.append((rendered, ""))
    return results


def on_config(config):
    _pages.clear()
    path = KATEX_DIST / CSS_SOURCE  # missing: on_post_build says so
    _css[:] = [path.read_text(encoding="utf-8") if path.is_file() else ""]
    _math_pages.clear()
    return config


def on_page_content(html_text: str, page, config, files) -> str:
    """Note the page's formulas; they are rendered for the whole site at once in on_env."""
    if MATH.search(html_text):
        _pages.append(page)
        _math_pages.add(page.file.src_uri)
    check_headings(page.toc, page.file.src_uri)
    return html_text


def on_env(env, config, files):
    """Render every formula of the site with one KaTeX process, then check every page."""
    found = {_split(m.group("tex")) for page in _pages for m in MATH.finditer(page.content)}
    disk = _disk_cache(config)
    if not _cache and disk.is_file():
        _cache.update(
            {tuple(json.loads(k)): (v, "") for k, v in json.loads(disk.read_text()).items()}
        )
    todo = sorted(found - _cache.keys())
    for item, result in zip(todo, render(todo), strict=True):
        _cache[item] = result
    if todo:
        ok = {json.dumps(k): v for k, (v, _) in sorted(_cache.items()) if k in found and v}
        disk.parent.mkdir(parents=True, exist_ok=True)
        for old in disk.parent.glob("*.json"):
            old.unlink()
        disk.write_text(json.dumps(ok), encoding="utf-8")
    for page in _pages:
        folded = closed_folds(page.content)
        page.content = MATH.sub(
            lambda match, page=page, folded=folded: _replace(
                match, page, _inside(match.start(), folded)
            ),
            page.content,
        )
    for file in files.documentation_pages():
        if file.page is not None and file.page.content is not None:
            check_no_raw_tex(file.page.content, file.page.file.src_uri)
    return env


def _disk_cache(config) -> Path:
    key = hashlib.sha256()
    for path in (ROOT / "package-lock.json", RENDERER, Path(__file__)):
        key.update(path.read_bytes())
    folder = Path(config.config_file_path).parent / ".cache" / "katex"
    return folder / f"{key.hexdigest()[:16]}.json"


def _replace(match: re.Match, page, lazy: bool) -> str:
    tex, display = _split(match.group("tex"))
    rendered, error = _cache[(tex, display)]
    if rendered is None:
        log.error("%s: cannot render TeX %r: %s", page.file.src_uri, tex, error)
        return '<span class="math-error">[math error: see the build log]</span>'
    if lazy:
        rendered = f'<noscript class="math-lazy">{rendered}</noscript>'
    if display:
        return f'<div class="math-display">{rendered}</div>'
    return rendered


class _Folds(HTMLParser):
    """The spans of a page's HTML that are inside a closed <details>."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.lines = [0] + [m.end() for m in re.finditer("\n", text)]
        self.stack: list[tuple[int, bool]] = []  # (start, closed) of each open <details>
        self.spans: list[tuple[int, int]] = []
        self.feed(text)
        self.close()

    def _at(self) -> int:
        line, column = self.getpos()
        return self.lines[line - 1] + column

    def handle_starttag(self, tag, attrs):
        if tag == "details":
            self.stack.append((self._at(), not any(name == "open" for name, _ in attrs)))

    def handle_endtag(self, tag):
        if tag == "details" and self.stack:
            start, closed = self.stack.pop()
            if closed:
                self.spans.append((start, self._at()))


def closed_folds(text: str) -> list[tuple[int, int]]:
    return _Folds(text).spans


def _inside(position: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < position < end for start, end in spans)


@functools.cache
def embedded_face(stem: str, chars: str) -> tuple[bytes, tuple[int, ...]] | None:
    """KaTeX's face `stem` cut down to the characters of `chars` it has: a WOFF file (zlib,
    the same bytes on every build) and the code points it stands for; None if none.

    Those code points include the zero-width space KaTeX puts in every stacked box
    (`vlist-s`), which no KaTeX font has: outside the unicode-range of the subset, it made
    the browser fetch the whole font to look for it (a shaper draws it as nothing)."""
    font = TTFont(KATEX_DIST / "fonts" / f"KaTeX_{stem}.ttf", recalcTimestamp=False)
    cmap = font.getBestCmap()
    codes = tuple(sorted({ord(c) for c in chars} & set(cmap)))
    if not codes:
        return None
    stands_for = tuple(sorted(set(codes) | ({ZWSP} & {ord(c) for c in chars})))
    options = font_subset.Options()
    options.flavor = "woff"
    options.recalc_timestamp = False
    options.hinting = False  # smaller; browsers draw these sizes unhinted as well
    subsetter = font_subset.Subsetter(options)
    subsetter.populate(unicodes=codes)
    subsetter.subset(font)
    out = io.BytesIO()
    font.flavor = "woff"
    font.save(out)
    return out.getvalue(), stands_for


def _face(classes: set[str]) -> str | None:
    """The face a span's own classes pick: one of EMBEDDED_FACES, "" for a face the page
    does not carry (its characters are left out), None to leave it to the parent span."""
    if "katex-sizing" in classes:  # size1..size11 there are font sizes, not faces
        classes = classes - {"size1", "size2", "size3", "size4"}
    if classes & OTHER_FACES:
        return ""
    for face, (_, _, picks) in EMBEDDED_FACES.items():
        if classes & picks:
            return face
    return None


class _DrawnText(HTMLParser):
    """The characters each face draws in the formulas' drawn part (`katex-html`), also
    inside a <noscript class="math-lazy">, whose content this parser reads as HTML."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.faces: list[str | None] = []  # per open span inside katex-html: its face
        self.chars: dict[str, set[str]] = {face: set() for face in EMBEDDED_FACES}
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        if tag != "span":
            return
        classes = set((dict(attrs).get("class") or "").split())
        if self.faces:
            self.faces.append(_face(classes))
        elif "katex-html" in classes:
            self.faces.append("Main-Regular")  # .katex {font: ... KaTeX_Main}

    def handle_endtag(self, tag):
        if tag == "span" and self.faces:
            self.faces.pop()

    def handle_data(self, data):
        face = next((f for f in reversed(self.faces) if f is not None), None)
        if face:
            self.chars[face].update(data)


# Adds the page's glyphs as fonts before anything is drawn. A font made from bytes in a
# script is ready at once; the same bytes as a data: URL in @font-face load a moment after
# the first paint (measured: the same layout shift as a font file). Faces added this way
# come before KaTeX's own @font-face rules for the characters in their unicode-range (CSS
# Font Loading: faces not connected to CSS are matched first). Without JavaScript the page
# uses KaTeX's font files, as before. The bytes are decoded by the browser's own base64
# decoder where it has one (Uint8Array.fromBase64), else by a plain loop: the influence
# exercise's 16 KB took Uint8Array.from(atob(d), mapping function) 4.5-6.4 ms, a loop
# 0.8 ms, fromBase64 0.14 ms (Chromium, unthrottled), before the first paint.
FONTS_SCRIPT = (
    '<script class="katex-glyphs">{{const bytes=Uint8Array.fromBase64?'
    "(d)=>Uint8Array.fromBase64(d):(d)=>{{const b=atob(d),u=new Uint8Array(b.length);"
    "for(let i=0;i<b.length;i++)u[i]=b.charCodeAt(i);return u}};"
    "for(const[f,s,r,d]of {faces})try{{document.fonts.add(new FontFace(f,bytes(d),"
    '{{style:s,weight:"400",unicodeRange:r}}))}}catch(e){{}}}}</script>'
)


def embedded_fonts_script(page_html: str) -> str:
    """A <script> that adds the glyphs the page's formulas draw, one subset per face: for
    a character in a subset the browser needs no font file; a character outside (KaTeX's
    bold, say) still loads its file."""
    drawn = _DrawnText(page_html).chars
    faces = []
    for stem, (family, style, _) in EMBEDDED_FACES.items():
        face = drawn[stem] and embedded_face(stem, "".join(sorted(drawn[stem])))
        if face:
            data, codes = face
            ranges = ",".join(f"U+{c:X}" for c in codes)
            faces.append([family, style, ranges, base64.b64encode(data).decode()])
    return FONTS_SCRIPT.format(faces=json.dumps(faces, separators=(",", ":"))) if faces else ""


def on_post_page(output: str, page, config) -> str:
    """Put KaTeX's CSS into the <head> of the pages that have math, and only of those: a
    linked style sheet is one more request that the first paint waits for. The glyphs the
    page's formulas draw come with it (embedded_fonts_script); the rest of KaTeX's fonts
    stay files, fetched only when drawn (url(fonts/...) made relative to the page)."""
    if page.file.src_uri not in _math_pages:
        return output
    fonts = get_relative_url(FONTS_URL, page.url)
    css = _css[0].replace("url(fonts/", f"url({fonts}/")
    script = embedded_fonts_script(output)
    return output.replace("</head>", f"<style>{css}</style>\n{script}</head>", 1)


def on_post_build(config) -> None:
    """Serve KaTeX's fonts from the site itself (its CSS is in each page with math)."""
    if not (KATEX_DIST / CSS_SOURCE).is_file():
        log.error("node_modules/katex is missing: run `make` (it runs `npm ci`)")
        return
    shutil.copytree(KATEX_DIST / "fonts", Path(config.site_dir) / FONTS_URL, dirs_exist_ok=True)


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
