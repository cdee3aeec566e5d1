"""Lighthouse (mobile) on every page of the built site and on a plain Material page.

Part of `make bench`; alone: `make bench-lighthouse` (= `scripts/bench.py --lighthouse-only`).

The plain page is the MLE exercise's prose built by plain Material: the same theme and
Markdown settings, no hooks, no plugins but search, no custom_dir or extra CSS, and every
executed block (```python exec=...) removed; its LaTeX stays as arithmatex leaves it (text).
Both sites are served by one local server (127.0.0.1, HTTP/1.1, gzip as GitHub Pages sends
it) and measured in one run, interleaved: round 1 measures every page once, then round 2...
so that a slow moment on the machine does not fall on one page only. Each figure is the
median over the rounds; the report of the median run (by performance score) of each page is
kept in .bench-lighthouse/ for digging (open it at https://googlechrome.github.io/lighthouse/viewer/
or read its audits).

Lighthouse is pinned in scripts/lighthouse/package-lock.json (12.8.2: 12.2.x crashes on
Chromium >= 13x traces; 13 needs Node 22). `npm ci --prefix scripts/lighthouse` installs it.
"""

from __future__ import annotations

import gzip
import http.server
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from functools import partial
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
LH_DIR = ROOT / "scripts" / "lighthouse"
LH_BIN = LH_DIR / "node_modules" / ".bin" / "lighthouse"
REPORTS = ROOT / ".bench-lighthouse"
CHROME = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-background-networking "
    "--disable-component-update --disable-sync --no-first-run"
)
PLAIN_PAGE = "exercises/mle-exponential.md"
# a fenced block with exec= in its first line, down to its closing fence (also when indented)
EXEC_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,})[a-z]+[^\n]*\bexec=[^\n]*\n"
    r".*?^(?P=indent)(?P=fence)[ \t]*\n",
    re.M | re.S,
)
GOALS = {"perf_within": 5, "accessibility": 100, "lcp_ratio": 1.2}
# LH_CPU_SLOWDOWN=8: Lighthouse's simulated phone at twice its CPU cost (its default is 4), for
# every page and the plain page alike: what a slower machine would measure, since Lighthouse
# multiplies the durations it observes on this one.
CPU_SLOWDOWN = float(os.environ.get("LH_CPU_SLOWDOWN") or 0)
# Headless Chromium under Lighthouse sometimes leaves the first frame of a page undrawn until
# about 1.2 s, on the plain page as on ours (its trace: the frame is ready at about 0.3 s);
# the table counts those runs per page.
LATE_PAINT_S = 1.0
COMPRESSIBLE = {".html", ".css", ".js", ".json", ".svg", ".xml", ".txt", ".map", ".py", ".ipynb"}


# --- the plain page ---------------------------------------------------------------------------
class _ConfigLoader(yaml.SafeLoader):
    """mkdocs.yml's YAML: `!ENV [NAME, default]` reads the variable, as MkDocs does."""


_ConfigLoader.add_constructor(
    "!ENV",
    lambda loader, node: os.environ.get(
        loader.construct_sequence(node)[0], loader.construct_sequence(node)[-1]
    ),
)


def plain_config(docs: Path) -> dict:
    """mkdocs.yml reduced to plain Material: same theme and Markdown, search only."""
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=_ConfigLoader)
    config["theme"].pop("custom_dir", None)
    for key in ("hooks", "watch", "extra_css", "extra_javascript", "validation"):
        config.pop(key, None)
    config["plugins"] = ["search"]
    config["nav"] = [{"1. MLE of an exponential": PLAIN_PAGE}]
    config["docs_dir"] = str(docs)
    for ext in config["markdown_extensions"]:
        if isinstance(ext, dict) and "pymdownx.snippets" in ext:
            opts = ext["pymdownx.snippets"]
            opts["base_path"] = [str(ROOT / p) for p in opts.get("base_path", [])]
    return config


def build_plain(out: Path, work: Path) -> None:
    docs = work / "docs"
    (docs / "exercises").mkdir(parents=True)
    source = (ROOT / "docs" / PLAIN_PAGE).read_text()
    stripped, count = EXEC_FENCE.subn("", source)
    assert count and "exec=" not in stripped, "could not remove the executed blocks"
    (docs / PLAIN_PAGE).write_text(stripped)
    (docs / "index.md").write_text("# Plain\n")  # MkDocs wants a home page; not measured
    config = work / "mkdocs.yml"
    config.write_text(yaml.safe_dump(plain_config(docs), sort_keys=False))
    out_ = subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(config),
                           "-d", str(out)], cwd=work, capture_output=True, text=True,
                          env=dict(os.environ, NO_MKDOCS_2_WARNING="1"))  # fmt: skip
    if out_.returncode:
        sys.exit("plain page build failed:\n" + out_.stderr[-3000:])


# --- the server -------------------------------------------------------------------------------
class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files over HTTP/1.1 with keep-alive and gzip (compressed once, kept in memory)."""

    protocol_version = "HTTP/1.1"
    cache: dict[Path, bytes] = {}

    def log_message(self, *args) -> None:  # quiet
        pass

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            if not self.path.split("?")[0].endswith("/"):
                return super().send_head()  # the redirect to .../
            path = path / "index.html"
        gzip_ok = "gzip" in self.headers.get("Accept-Encoding", "")
        if not path.is_file() or path.suffix not in COMPRESSIBLE or not gzip_ok:
            return super().send_head()
        body = self.cache.get(path)
        if body is None:
            body = self.cache[path] = gzip.compress(path.read_bytes(), 6, mtime=0)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=600")  # as GitHub Pages
        self.end_headers()
        return io.BytesIO(body)


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = partial(Handler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


# --- lighthouse -------------------------------------------------------------------------------
def ensure_lighthouse() -> None:
    """`npm ci` when node_modules is missing or older than the lockfile."""
    lock = LH_DIR / "package-lock.json"
    stamp = LH_DIR / "node_modules" / ".package-lock.json"  # npm writes it on install
    if LH_BIN.exists() and stamp.exists() and stamp.stat().st_mtime >= lock.stat().st_mtime:
        return
    if not shutil.which("npm"):
        sys.exit("Lighthouse needs Node >= 18.20 and npm: npm ci --prefix scripts/lighthouse")
    print("installing Lighthouse: npm ci --prefix scripts/lighthouse", flush=True)
    subprocess.run(["npm", "ci", "--prefix", str(LH_DIR), "--no-audit", "--no-fund"], check=True)


def lighthouse(url: str, out: Path) -> dict:
    cmd = [str(LH_BIN), url, f"--chrome-flags={CHROME_FLAGS}", "--form-factor=mobile",
           "--only-categories=performance,accessibility", "--output=json",
           f"--output-path={out}", "--quiet", "--no-enable-error-reporting"]  # fmt: skip
    if CPU_SLOWDOWN:
        cmd.append(f"--throttling.cpuSlowdownMultiplier={CPU_SLOWDOWN:g}")
    env = dict(os.environ, CHROME_PATH=CHROME)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode or not out.exists():
        sys.exit(f"lighthouse failed on {url}:\n{proc.stderr[-3000:]}")
    report = json.loads(out.read_text())
    if report.get("runtimeError"):
        sys.exit(f"lighthouse: {url}: {report['runtimeError']}")
    return report


def figures(report: dict) -> dict:
    audits, cats = report["audits"], report["categories"]
    return {
        "performance": round(cats["performance"]["score"] * 100),
        "accessibility": round(cats["accessibility"]["score"] * 100),
        "LCP_s": audits["largest-contentful-paint"]["numericValue"] / 1000,
        "TBT_ms": audits["total-blocking-time"]["numericValue"],
        "FCP_s": audits["first-contentful-paint"]["numericValue"] / 1000,
        "SI_s": audits["speed-index"]["numericValue"] / 1000,
        "CLS": audits["cumulative-layout-shift"]["numericValue"],
        "transfer_KB": audits["total-byte-weight"]["numericValue"] / 1000,
        # when Chromium really painted, unthrottled (the figures above are simulated from it)
        "observed_FCP_s": audits["metrics"]["details"]["items"][0]["observedFirstContentfulPaint"]
        / 1000,
    }


def diagnose(report: dict) -> dict:
    """What the page pays for, from one report: the audits that name a cost."""
    audits = report["audits"]

    def items(audit_id: str, *keys: str, limit: int = 6) -> list:
        details = audits.get(audit_id, {}).get("details") or {}
        rows = details.get("items", [])
        return [{k: row.get(k) for k in keys if k in row} for row in rows[:limit]]

    lcp_el = items("largest-contentful-paint-element", "items")
    lcp_node = (lcp_el[0].get("items") or [{}])[0].get("node", {}) if lcp_el else {}
    lcp_phases = (lcp_el[1].get("items") if len(lcp_el) > 1 else None) or []
    return {
        "lcp_element": lcp_node.get("snippet", "")[:160],
        "lcp_phases_ms": {p.get("phase"): round(p.get("timing", 0)) for p in lcp_phases},
        "render_blocking": items("render-blocking-resources", "url", "totalBytes", "wastedMs"),
        "unused_css": items("unused-css-rules", "url", "totalBytes", "wastedBytes"),
        "unused_js": items("unused-javascript", "url", "totalBytes", "wastedBytes"),
        "font_display": items("font-display", "url", "wastedMs"),
        "main_thread_ms": {
            r["group"]: round(r["duration"])
            for r in items("mainthread-work-breakdown", "group", "duration", limit=10)
        },  # fmt: skip
        "bootup_ms": items("bootup-time", "url", "total", "scripting"),
        "bytes": items("total-byte-weight", "url", "totalBytes", limit=12),
        "dom_elements": audits.get("dom-size", {}).get("numericValue"),
        "a11y_failures": sorted(
            k
            for k, a in audits.items()
            if a.get("scoreDisplayMode") == "binary"
            and a.get("score") == 0
            and k in _a11y_ids(report)
        ),  # fmt: skip
    }


def _a11y_ids(report: dict) -> set[str]:
    return {ref["id"] for ref in report["categories"]["accessibility"]["auditRefs"]}


def site_pages(site: Path) -> list[str]:
    """URL paths of every page of the built site (404.html and redirects excluded)."""
    pages = []
    for html in sorted(site.rglob("index.html")):
        rel = html.parent.relative_to(site).as_posix()
        pages.append("/" if rel == "." else f"/{rel}/")
    return pages


def run(site: Path, reps: int, only: str | None = None) -> dict:
    """Measure; return the figures for bench.json and print the table."""
    ensure_lighthouse()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        build_plain(tmp / "serve" / "plain", tmp / "plain-src")
        shutil.copytree(site, tmp / "serve" / "site")
        plain_url = "/" + PLAIN_PAGE.removesuffix(".md") + "/"
        targets = {f"plain: {plain_url}": "/plain" + plain_url}
        targets |= {
            page: "/site" + page for page in site_pages(site) if re.search(only or "", page)
        }
        server, base = serve(tmp / "serve")
        runs: dict[str, list[dict]] = {name: [] for name in targets}
        try:
            for rep in range(reps):
                for i, (name, path) in enumerate(targets.items()):
                    print(f"\rlighthouse round {rep + 1}/{reps}, page {i + 1}/{len(targets)} ",
                          end="", file=sys.stderr, flush=True)  # fmt: skip
                    out = tmp / f"r{rep}-{i}.json"
                    report = lighthouse(base + path, out)
                    runs[name].append({"figures": figures(report), "file": out})
        finally:
            server.shutdown()
        print(file=sys.stderr)
        shutil.rmtree(REPORTS, ignore_errors=True)
        REPORTS.mkdir()
        result = {}
        for name, rs in runs.items():
            med = {k: statistics.median(r["figures"][k] for r in rs) for k in rs[0]["figures"]}
            # the median run by performance, for the diagnosis and the saved report
            by_perf = sorted(rs, key=lambda r: r["figures"]["performance"])
            mid = by_perf[len(by_perf) // 2]
            report = json.loads(mid["file"].read_text())
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "home"
            shutil.copy(mid["file"], REPORTS / f"{slug}.json")
            result[name] = med | {"runs": [r["figures"] for r in rs], "diagnosis": diagnose(report)}
    plain_name = next(iter(result))
    plain = result[plain_name]
    for r in result.values():
        r["pass"] = {
            "performance": r["performance"] >= plain["performance"] - GOALS["perf_within"],
            "accessibility": r["accessibility"] >= GOALS["accessibility"],
            "LCP": r["LCP_s"] <= GOALS["lcp_ratio"] * plain["LCP_s"],
        }
    print_table(result, plain_name, reps)
    return {"lighthouse": {"pages": result, "goals": GOALS, "reps": reps,
                           "lighthouse": "12.8.2 (mobile, simulated throttling)",
                           "cpu_slowdown": CPU_SLOWDOWN or 4,
                           "reports": str(REPORTS.relative_to(ROOT))}}  # fmt: skip


def print_table(result: dict, plain_name: str, reps: int) -> None:
    plain = result[plain_name]
    width = max(len(n) for n in result)
    head = f"{'page':<{width}}  perf  a11y    LCP     TBT    FCP  transfer  late paints"
    cpu = f", CPU slowdown {CPU_SLOWDOWN:g} (LH_CPU_SLOWDOWN)" if CPU_SLOWDOWN else ""
    print(f"\nLighthouse, mobile, median of {reps}{cpu}\n{head}")

    def mark(ok: bool) -> str:
        return " " if ok else "!"

    def late(r: dict) -> int:
        return sum(run["observed_FCP_s"] > LATE_PAINT_S for run in r["runs"])

    for name, r in result.items():
        p = r["pass"]
        print(f"{name:<{width}}  {r['performance']:>3}{mark(p['performance'])} "
              f"{r['accessibility']:>4}{mark(p['accessibility'])} "
              f"{r['LCP_s']:5.2f} s{mark(p['LCP'])}{r['TBT_ms']:5.0f} ms {r['FCP_s']:4.2f} s "
              f"{r['transfer_KB']:6.0f} KB  {late(r)}/{len(r['runs'])}")  # fmt: skip
    ok = all(all(r["pass"].values()) for n, r in result.items() if n != plain_name)
    print(f"\ngoals (! = missed): performance >= {plain['performance'] - GOALS['perf_within']} "
          f"(plain - {GOALS['perf_within']}), accessibility {GOALS['accessibility']}, "
          f"LCP <= {GOALS['lcp_ratio'] * plain['LCP_s']:.2f} s ({GOALS['lcp_ratio']} x plain)  "
          f"-> {'PASS' if ok else 'FAIL'}")  # fmt: skip
    print(
        f"late paints: runs in which Chromium first painted after {LATE_PAINT_S} s "
        "(unthrottled); Lighthouse then counts the work before it into FCP and LCP"
    )
    print(f"median-run reports: {REPORTS.relative_to(ROOT)}/")
