"""Build benchmark: `make bench`. Prints a table and writes bench.json (gitignored).

Figures (median of REPS runs each):
  T_build    clean `mkdocs build --strict`, everything executed, caches emptied first
  T_floor    the same pages built by plain Material with execution off (no markdown-exec,
             notebooks rendered but not executed: SITE_EXECUTE=0), caches emptied as for
             T_build, plus `python -c "import torch, torchvision, sympy, numpy, matplotlib"`
  T_rebuild  in-process, as `mkdocs serve` does it: after a prose-only edit to one page,
             the time until the site (and so that page) is written again
  memory     peak RSS of the clean build / peak RSS of the bare imports
  weight     bytes Chromium fetches to show each page (HTML, CSS, JS, the fonts in use,
             the search index), raw and gzip-compressed: scripts/page_weight.py
  lighthouse Lighthouse (mobile) on every page and on a plain Material page: see
             scripts/lighthouse_bench.py. Only that part: `scripts/bench.py --lighthouse-only`
             (`make bench-lighthouse`); `--pages REGEX` measures only the pages matching it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lighthouse_bench
import page_weight
from floor import floor_config_text

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
REPS = int(os.environ.get("BENCH_REPS", "3"))
IMPORTS = "import torch, torchvision, sympy, numpy, matplotlib"
ENV = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONHASHSEED="0")
GOALS = {"ratio": 1.5, "rebuild": 1.0, "memory": 1.2, "weight_kb": 250}


def run(cmd: list[str], cwd: Path = ROOT, env: dict | None = None) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak RSS in MiB of it and its waited children)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=ENV | (env or {}), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{stderr[-3000:]}")
    return elapsed, usage.ru_maxrss / 1024


def clean_caches() -> None:
    shutil.rmtree(ROOT / ".cache", ignore_errors=True)


def floor_config() -> Path:
    """mkdocs.yml with markdown-exec removed and notebook execution off."""
    path = ROOT / ".bench-floor.yml"
    path.write_text(floor_config_text((ROOT / "mkdocs.yml").read_text()))
    return path


def median_runs(fn) -> list[float]:
    return [fn() for _ in range(REPS)]


def bench_builds(site: Path) -> dict:
    def build():
        clean_caches()
        return run([PY, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site)])

    builds = median_runs(build)
    config = floor_config()

    def floor():
        clean_caches()
        cmd = [PY, "-m", "mkdocs", "build", "-q", "-f", str(config), "-d", f"{site}-floor"]
        return run(cmd, env={"SITE_EXECUTE": "0"})

    try:
        floors = median_runs(floor)
    finally:
        config.unlink()
        shutil.rmtree(str(site) + "-floor", ignore_errors=True)
    imports = median_runs(lambda: run([PY, "-c", IMPORTS]))
    build()  # leave a full site behind for the page weights
    t_build = statistics.median(t for t, _ in builds)
    t_floor_build = statistics.median(t for t, _ in floors)
    t_imports = statistics.median(t for t, _ in imports)
    mem_build = statistics.median(m for _, m in builds)
    mem_imports = statistics.median(m for _, m in imports)
    return {
        "T_build_s": t_build,
        "T_floor_s": t_floor_build + t_imports,
        "T_floor_build_s": t_floor_build,
        "T_imports_s": t_imports,
        "build_over_floor": t_build / (t_floor_build + t_imports),
        "peak_rss_build_MiB": mem_build,
        "peak_rss_imports_MiB": mem_imports,
        "memory_ratio": mem_build / mem_imports,
    }


REBUILD = """
import json, os, sys, time
from pathlib import Path
from mkdocs.commands.build import build
from mkdocs.config import load_config

page = Path("docs/exercises/convolution.md")
original = page.read_text()
times = []
try:
    build(load_config("mkdocs.yml", site_dir=sys.argv[1]))  # warm, as a running serve is
    for k in range(int(sys.argv[2])):
        page.write_text(original + f"\\n\\nA prose-only edit, number {k}.\\n")
        start = time.perf_counter()
        build(load_config("mkdocs.yml", site_dir=sys.argv[1]))
        times.append(time.perf_counter() - start)
        written = Path(sys.argv[1], "exercises/convolution/index.html").read_text()
        assert f"A prose-only edit, number {k}." in written
finally:
    page.write_text(original)
print(json.dumps(times))
"""


def bench_rebuild(site: Path) -> dict:
    out = subprocess.run([PY, "-c", REBUILD, str(site) + "-serve", str(REPS)], cwd=ROOT,
                         env=ENV, capture_output=True, text=True)  # fmt: skip
    shutil.rmtree(str(site) + "-serve", ignore_errors=True)
    if out.returncode != 0:
        sys.exit("rebuild benchmark failed:\n" + out.stderr[-3000:])
    times = json.loads(out.stdout.strip().splitlines()[-1])
    return {"T_rebuild_s": statistics.median(times), "T_rebuild_runs_s": times}


def lighthouse_only(pages: str | None) -> None:
    """Build the site as `make build` does (caches kept), measure it, update bench.json."""
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        run([PY, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site)])
        figures = lighthouse_bench.run(site, REPS, pages)
    path = ROOT / "bench.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps(old | figures, indent=2) + "\n")
    print("figures written to bench.json (key: lighthouse)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lighthouse-only", action="store_true", help="only the Lighthouse part")
    parser.add_argument("--pages", help="Lighthouse: only the pages whose URL matches this regex")
    args = parser.parse_args()
    if args.lighthouse_only:
        return lighthouse_only(args.pages)
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        figures = bench_builds(site)
        figures["page_weight"] = page_weight.page_weights(site)
        figures.update(bench_rebuild(site))
        figures.update(lighthouse_bench.run(site, REPS, args.pages))
    figures["reps"] = REPS
    figures["machine"] = f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
    (ROOT / "bench.json").write_text(json.dumps(figures, indent=2) + "\n")

    worst = max(w["gzip_KB"] for w in figures["page_weight"].values())
    worst_raw = max(w["raw_KB"] for w in figures["page_weight"].values())
    rows = [
        ("T_build (clean, strict)", f"{figures['T_build_s']:.1f} s", ""),
        ("T_floor (plain build + imports)",
         f"{figures['T_floor_s']:.1f} s ({figures['T_floor_build_s']:.1f} + "
         f"{figures['T_imports_s']:.1f})", ""),
        ("T_build / T_floor", f"{figures['build_over_floor']:.2f}", f"<= {GOALS['ratio']}"),
        ("T_rebuild (prose edit)", f"{figures['T_rebuild_s']:.2f} s", f"<= {GOALS['rebuild']} s"),
        ("peak RSS build / imports",
         f"{figures['memory_ratio']:.2f} ({figures['peak_rss_build_MiB']:.0f} / "
         f"{figures['peak_rss_imports_MiB']:.0f} MiB)", f"<= {GOALS['memory']}"),
        ("heaviest page, gzip (raw)", f"{worst:.0f} KB ({worst_raw:.0f} KB)",
         f"<= {GOALS['weight_kb']} KB"),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    print(f"\n{'figure':<{width}}  {'measured':<32} goal")
    for name, value, goal in rows:
        print(f"{name:<{width}}  {value:<32} {goal}")
    print("\nper page (KB, gzip / raw):")
    for url, w in figures["page_weight"].items():
        print(f"  {url:<40} {w['gzip_KB']:7.1f} / {w['raw_KB']:7.1f}")
    print(f"\nmedian of {REPS} runs; figures written to bench.json")


if __name__ == "__main__":
    main()
