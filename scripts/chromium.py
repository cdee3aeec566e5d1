"""Debian's Chromium, as every browser run of the project starts it (tests, PDFs, bench).

The flags keep it headless and quiet: no GPU, no sandbox (root in a container), and no
background connections, which this machine's closed network would refuse.
"""

import os

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
