"""How fast the checks are: issue 11's figures, side by side in one run (`make bench-tests`).

In a fresh clone of HEAD whose .venv and node_modules are links to this project's (so the
package install is left out, as the goals say), it times, in this order:

  T_clean_build   `mkdocs build --strict` with no .cache: every page and notebook executed
  T_warm_rebuild  the same build again after a prose edit to one page (a new process, as a
                  fault-injection test runs it): what one fault costs at least
  T_browser       the browser tests alone (tests/test_browser.py) on that site
  T_make_clean    `make test` with no site and no .cache (the clean clone, install excluded)
  T_make_warm     `make test` again, with the site and the caches present

and reads every test's time from pytest's JUnit report. The goals (issue 11):

  T_make_warm / T_clean_build                    <= 4
  each fault-injection test / T_warm_rebuild     <= 3
  T_make_clean / (T_clean_build + T_browser)     <= 2

Prints a table and writes bench-tests.json. About half an hour on 2 cores: the suite runs
twice. Timings are only comparable within one run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOALS = {"warm_over_build": 4.0, "fault_over_rebuild": 3.0, "clean_over_build_browser": 2.0}
ENV = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONHASHSEED="0",
           SOURCE_DATE_EPOCH="1767225600", CI="true")  # fmt: skip


def timed(cmd: list[str], cwd: Path, env: dict | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env or ENV, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return elapsed


def test_times(report: Path) -> dict[str, float]:
    times = {}
    for case in ET.parse(report).iter("testcase"):
        times[f"{case.get('classname')}::{case.get('name')}"] = float(case.get("time", 0))
    return times


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        for link in (".venv", "node_modules"):
            (clone / link).symlink_to(ROOT / link)
        for lock in ("requirements.lock", "pyproject.toml", "package.json", "package-lock.json"):
            os.utime(clone / lock, (0, 0))  # older than the install stamps: make installs nothing
        py = str(clone / ".venv" / "bin" / "python")
        build = [py, "-m", "mkdocs", "build", "--strict", "-q"]

        t_build = timed(build, clone)
        page = clone / "docs" / "exercises" / "convolution.md"
        original = page.read_text()
        page.write_text(original + "\n\nA prose-only edit.\n")
        t_rebuild = timed(build, clone)
        page.write_text(original)
        timed(build, clone)  # back to the committed text, so make test starts from it
        browser_env = ENV | {"BUILT_SITE": "site"}
        t_browser = timed([py, "-m", "pytest", "-q", "-n", "2", "tests/test_browser.py"],
                          clone, browser_env)  # fmt: skip

        shutil.rmtree(clone / "site")
        shutil.rmtree(clone / ".cache")
        figures = {}
        for name in ("clean", "warm"):
            report = Path(tmp) / f"{name}.xml"
            env = ENV | {"PYTEST_ADDOPTS": f"--junitxml={report}"}
            figures[f"T_make_{name}_s"] = timed(["make", "test"], clone, env)
            figures[f"tests_{name}"] = test_times(report)

    faults = {k.split("::")[-1]: v for k, v in figures["tests_warm"].items() if "test_fault_" in k}
    figures |= {
        "T_clean_build_s": t_build,
        "T_warm_rebuild_s": t_rebuild,
        "T_browser_s": t_browser,
        "warm_over_build": figures["T_make_warm_s"] / t_build,
        "worst_fault_over_rebuild": max(faults.values()) / t_rebuild,
        "faults_over_rebuild": {k: v / t_rebuild for k, v in sorted(faults.items())},
        "clean_over_build_browser": figures["T_make_clean_s"] / (t_build + t_browser),
        "machine": f"{os.cpu_count()} cores, load before: {os.getloadavg()[0]:.1f}",
    }
    (ROOT / "bench-tests.json").write_text(json.dumps(figures, indent=2) + "\n")

    rows = [
        ("clean strict build", f"{t_build:.1f} s", ""),
        ("warm rebuild after a prose edit", f"{t_rebuild:.1f} s", ""),
        ("browser tests alone", f"{t_browser:.1f} s", ""),
        ("make test, clean (install excluded)", f"{figures['T_make_clean_s']:.1f} s", ""),
        ("make test, warm", f"{figures['T_make_warm_s']:.1f} s", ""),
        ("warm make test / clean build", f"{figures['warm_over_build']:.2f}",
         f"<= {GOALS['warm_over_build']}"),
        ("slowest fault test / warm rebuild", f"{figures['worst_fault_over_rebuild']:.2f}",
         f"<= {GOALS['fault_over_rebuild']}"),
        ("clean make test / (build + browser)", f"{figures['clean_over_build_browser']:.2f}",
         f"<= {GOALS['clean_over_build_browser']}"),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    print(f"\n{'figure':<{width}}  {'measured':<12} goal")
    for name, value, goal in rows:
        print(f"{name:<{width}}  {value:<12} {goal}")
    print("\nfault-injection tests / warm rebuild:")
    for name, ratio in figures["faults_over_rebuild"].items():
        print(f"  {name:<55} {ratio:5.2f}")
    slowest = sorted(figures["tests_warm"].items(), key=lambda kv: -kv[1])[:15]
    print("\nslowest tests (warm make test, s):")
    for name, seconds in slowest:
        print(f"  {seconds:6.1f}  {name}")
    print("\nfigures written to bench-tests.json")


if __name__ == "__main__":
    main()
