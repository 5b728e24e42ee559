"""The collector: a Flask app that takes consented keyword recordings and serves the HTTP API v1."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from collector.settings import load_settings


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults and environment first, then the test mapping; then each concern's init_app."""
    app = Flask(__name__)
    app.config.from_mapping(load_settings(overrides=test_config))
    if test_config:
        app.config.from_mapping(test_config)
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_UPLOAD_BYTES"]
    if app.config["TRUSTED_PROXIES"]:
        # behind a TLS-terminating proxy: secure cookies and per-address rate limits need the real scheme/peer
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from collector import api, blobs, db, errors, pages, ratelimit

    errors.init_app(app)
    db.init_app(app)
    blobs.init_app(app)
    ratelimit.init_app(app)
    app.register_blueprint(api.bp)
    pages.init_app(app)
    return app
