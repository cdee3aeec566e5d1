"""Say, in one line, which address the site is built for (site_url, from SITE_URL).

The address decides the canonical links, the sitemap and where the 404 page loads its
CSS and JavaScript from, so a build for the wrong address is easy to spot in the log.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger("mkdocs.hooks.publish")


def on_config(config):
    source = "SITE_URL" if os.environ.get("SITE_URL") else "the default in mkdocs.yml"
    log.info("Building for %s (from %s)", config.site_url, source)
    return config
