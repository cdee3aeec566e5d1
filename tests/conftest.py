"""Shared fixtures: load a snippet by path, build the site once, copy the project."""

from __future__ import annotations

import functools
import http.server
import importlib.util
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from chromium import ARGS, CHROMIUM  # noqa: E402, F401  (one definition for every browser run)

SNIPPETS = ROOT / "snippets"
MKDOCS = [sys.executable, "-m", "mkdocs"]
# What a copy of the project leaves out: build output, environments, caches.
_IGNORE = shutil.ignore_patterns(
    ".venv",
    "site",
    ".git",
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    ".ruff_cache",
    ".cache",
    "screenshots",
    "node_modules",
    ".bench-lighthouse",
)


HAVE_CHROMIUM = Path(CHROMIUM).exists() or shutil.which("chromium") is not None


def scripts_loaded(page) -> None:
    """Wait until the page's scripts have run: Material's bundle and the site's own come after
    the first contentful paint (hooks/theme_fixes.py): the load event does not wait for them."""
    page.evaluate("async () => { await window.__md_loaded; }")


@pytest.fixture(scope="session")
def browser():
    """One Chromium for every browser test in this process; each test opens its own context."""
    if not HAVE_CHROMIUM:
        pytest.fail(f"Chromium not found at {CHROMIUM}", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def COPY_IGNORE(folder: str, names: list[str]) -> set[str]:
    """What the project copy leaves out; also `make bench`'s Lighthouse install."""
    ignored = _IGNORE(folder, names)
    if Path(folder) == ROOT / "scripts" / "lighthouse":
        ignored.add("node_modules")
    return ignored


def _load(path: Path, module_name: str):
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def load_snippet(name: str):
    """Import snippets/<name>.py as a module, the way a reader would run the file."""
    return _load(SNIPPETS / f"{name}.py", f"snippet_{name}")


def load_hook(name: str):
    """Import hooks/<name>.py as a module, to call its functions directly."""
    return _load(ROOT / "hooks" / f"{name}.py", f"{name}_hook")


def run_snippet(name: str) -> str:
    """Run `python snippets/<name>.py` as a reader would; return what it prints."""
    return subprocess.run(
        [sys.executable, str(SNIPPETS / f"{name}.py")], capture_output=True, text=True, check=True
    ).stdout


def build_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("NO_MKDOCS_2_WARNING", "1")
    env.setdefault("PYTHONHASHSEED", "0")
    env.setdefault("SOURCE_DATE_EPOCH", "1767225600")
    return env


def mkdocs_build(project: Path, site_dir: Path) -> subprocess.CompletedProcess:
    """Run the real strict build of ``project`` into ``site_dir``."""
    return subprocess.run(
        [*MKDOCS, "build", "--strict", "--site-dir", str(site_dir)],
        cwd=project,
        env=build_env(),
        capture_output=True,
        text=True,
        timeout=1800,
    )


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """The built site: the one `make test` just built, or a fresh build."""
    given = os.environ.get("BUILT_SITE")
    if given:
        site = (ROOT / given).resolve()
        assert (site / "index.html").is_file(), f"BUILT_SITE={given} holds no built site"
        return site
    site = tmp_path_factory.mktemp("site")
    result = mkdocs_build(ROOT, site)
    assert result.returncode == 0, result.stdout + result.stderr
    return site


def copy_project(target: Path, warm: bool = True) -> Path:
    """Copy the project's sources to ``target``; ``warm`` also copies its build caches.

    The caches are keyed on everything their entries depend on (tests/test_site.py proves
    that edits invalidate them), so a warm copy re-executes only what a fault touches.
    node_modules (KaTeX) is linked, not copied.
    """
    shutil.copytree(ROOT, target, ignore=COPY_IGNORE)
    if warm and (ROOT / ".cache").is_dir():
        shutil.copytree(ROOT / ".cache", target / ".cache")
    if (ROOT / "node_modules").is_dir():
        (target / "node_modules").symlink_to((ROOT / "node_modules").resolve())
    return target


@pytest.fixture
def project_copy(tmp_path) -> Path:
    """A throw-away copy of the project with warm caches, to break things in."""
    return copy_project(tmp_path / "project")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def end_headers(self):
        # as GitHub Pages sends it: a second visit takes the fonts from the cache instead of
        # asking again (an answer that can come after the first paint)
        self.send_header("Cache-Control", "max-age=600")
        super().end_headers()


@pytest.fixture(scope="module")
def server(built_site):
    """The built site, served from 127.0.0.1 for the browser tests."""
    handler = functools.partial(_Quiet, directory=str(built_site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
