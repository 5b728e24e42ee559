"""Curator review: login, a queue ordered by suspicion, decisions with undo, and a per-speaker view.

These pages belong to curation; the web app that serves them beside the collector is composed above
both stages (wordcrowd.app), so the collector never imports curation.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the review pages and their JSON calls on a collector app."""
    from curation.review.views import bp

    app.register_blueprint(bp)
