"""The floor every build figure is compared with: this site's mkdocs.yml for plain MkDocs.

markdown-exec is removed (the `exec` blocks show as code) and the notebooks are rendered
without being executed (the hook reads SITE_EXECUTE=0, which the caller sets).
"""

from __future__ import annotations

import re


def floor_config_text(config: str) -> str:
    """mkdocs.yml's text with markdown-exec removed and notebook execution off."""
    config = re.sub(r"\n  - markdown-exec[^\n]*(\n      [^\n]*)*", "", config)
    return config.replace("execute: true", "execute: false")
