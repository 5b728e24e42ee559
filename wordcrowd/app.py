"""The web app as served: the collector with the later stages' pages (curator review) on top."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the collector app and add curation's review pages (the collector never imports curation)."""
    import collector
    import curation.review

    app = collector.create_app(test_config)
    curation.review.init_app(app)
    return app
