"""The production server: gunicorn workers, each building its own app with `collector.create_app()`."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

# No %(h)s (client address), user agent or referrer: the access log carries no personal data.
ACCESS_LOG_FORMAT = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
THREADS_PER_WORKER = 4  # gthread: uploads wait on disk and database, so a few threads keep a core busy
TIMEOUT_S = 60
COLLECTOR_APP = "collector:create_app"  # the collector alone; `wordcrowd serve` composes more on top


def worker_count(requested: int) -> int:
    """Return the worker count: as requested, or for 0 one per core and at least two."""
    return requested if requested > 0 else max(2, os.cpu_count() or 1)


def gunicorn_options(host: str, port: int, workers: int) -> dict[str, Any]:
    """Return gunicorn settings for serving on host:port with this many workers (0: per core)."""
    return {
        "bind": f"{host}:{port}",
        "workers": worker_count(workers),
        # gthread whose event loop reads each whole request first: slow clients hold no thread
        "worker_class": "collector.buffered_worker.BufferedThreadWorker",
        "threads": THREADS_PER_WORKER,
        "timeout": TIMEOUT_S,
        "graceful_timeout": 30,
        # each worker opens its own engine and blob client: no connections shared across fork
        "preload_app": False,
        "accesslog": "-",
        "errorlog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "proc_name": "wordcrowd",
        # gunicorn ≥ 25.1 opens a control socket at one path per user, which two servers on the same
        # machine would fight over; wordcrowd is managed by signals, so it goes without
        "control_socket_disable": True,
    }


def app_factory(spec: str) -> Callable[[], Any]:
    """Return the app factory named "module:function"."""
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


class CollectorServer(BaseApplication):
    """A gunicorn application serving the app that `factory` ("module:function") builds."""

    def __init__(self, options: dict[str, Any], factory: str = COLLECTOR_APP) -> None:
        self.options = options
        self.factory = factory
        super().__init__()

    def load_config(self) -> None:
        """Apply our options to gunicorn's config (those this gunicorn version knows)."""
        for key, value in self.options.items():
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self) -> Any:
        """Build the WSGI app (in each worker, since preload is off)."""
        return app_factory(self.factory)()


def serve(host: str, port: int, workers: int, factory: str = COLLECTOR_APP) -> None:
    """Run gunicorn in the foreground until it is stopped."""
    CollectorServer(gunicorn_options(host, port, workers), factory).run()
