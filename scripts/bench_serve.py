"""Live reload as an author meets it: a real `mkdocs serve`, then edits to docs/index.md.

Measures, in a throw-away copy of the project that starts from the project's .cache/:
- start: from launching `mkdocs serve` to the home page being served;
- first edit: from saving a prose edit to docs/index.md to the new text being served;
- later edit: the same for a second edit.
The author saves the first edit WAIT seconds after the site is served (reading time).
Run with the warm-up hook on and off (SITE_SERVE_WARMUP=0), and as the floor: the same
`mkdocs serve` of plain MkDocs with execution off (markdown-exec removed, notebooks not
executed; bench.floor_config). Issue 11's goal: first edit <= 1.5 x the floor's.
Prints JSON on stdout.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from floor import floor_config_text

ROOT = Path(__file__).resolve().parents[1]
WAIT = float(os.environ.get("BENCH_SERVE_WAIT", "8"))
IGNORE = shutil.ignore_patterns(".venv", "site", ".git", "screenshots", "__pycache__",
                                ".pytest_cache", ".hypothesis", ".ruff_cache")  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()
    except OSError:
        return None


def wait_for(url: str, needle: str, timeout: float = 180) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        body = fetch(url)
        if body is not None and needle in body:
            return time.perf_counter()
        time.sleep(0.05)
    raise TimeoutError(f"{needle!r} never served at {url}")


def session(warmup: bool, floor: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "project"
        shutil.copytree(ROOT, copy, ignore=IGNORE, symlinks=True)
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        env = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONHASHSEED="0",
                   SITE_SERVE_WARMUP="1" if warmup else "0")  # fmt: skip
        mkdocs = [sys.executable, "-m", "mkdocs", "serve", "--dev-addr", f"127.0.0.1:{port}"]
        if floor:
            config = copy / "mkdocs-floor.yml"
            config.write_text(floor_config_text((copy / "mkdocs.yml").read_text()))
            mkdocs += ["-f", str(config)]
            env["SITE_EXECUTE"] = "0"
        t0 = time.perf_counter()
        server = subprocess.Popen(mkdocs, cwd=copy, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            served = wait_for(url, "</html>")
            time.sleep(WAIT)
            times = []
            index = copy / "docs" / "index.md"
            for n in (1, 2):
                marker = f"Edit number {n} of this benchmark."
                index.write_text(index.read_text() + f"\n{marker}\n")
                saved = time.perf_counter()
                times.append(wait_for(url, marker) - saved)
                time.sleep(2)
        finally:
            server.terminate()
            server.wait(timeout=30)
    return {"start_s": served - t0, "first_edit_s": times[0], "later_edit_s": times[1]}


def main() -> None:
    if not (ROOT / ".cache" / "pages").is_dir():
        sys.exit("build the site once first (make build): the bench starts from .cache/")
    result = {"wait_before_first_edit_s": WAIT, "warmup_on": session(True),
              "warmup_off": session(False), "floor": session(False, floor=True)}  # fmt: skip
    result["first_edit_over_floor"] = (
        result["warmup_on"]["first_edit_s"] / result["floor"]["first_edit_s"]
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
