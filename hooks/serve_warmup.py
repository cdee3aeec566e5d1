"""`mkdocs serve`: import the heavy libraries in the background once the site is served.

The first build of `mkdocs serve` takes every page from the cache (hooks/page_cache.py),
so it never imports torch, torchvision or sympy. Without this hook the author's first
edit would pay for those imports (about 5 s here); with it they are already loaded by
the time the author has saved a change. Plain `mkdocs build` is not affected.
SITE_SERVE_WARMUP=0 turns it off (scripts/bench_serve.py measures both).
"""

from __future__ import annotations

import importlib
import logging
import os
import threading

log = logging.getLogger("mkdocs.hooks.serve_warmup")
MODULES = ("numpy", "sympy", "torch", "torchvision", "matplotlib.pyplot", "jupytext")
_state = {"command": None, "started": False}


def on_startup(command: str, dirty: bool) -> None:
    _state["command"] = command


def _warm() -> None:
    for name in MODULES:
        try:
            importlib.import_module(name)
        except ImportError as error:  # a page that needs it will report it properly
            log.debug("warm-up could not import %s: %s", name, error)
    log.info("serve: imports warmed up (%s)", ", ".join(MODULES))


def on_post_build(config) -> None:
    """After the first build of `mkdocs serve`, warm the imports in a daemon thread."""
    if os.environ.get("SITE_SERVE_WARMUP") == "0":
        return
    if _state["command"] == "serve" and not _state["started"]:
        _state["started"] = True
        threading.Thread(target=_warm, name="import-warmup", daemon=True).start()
