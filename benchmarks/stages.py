"""Time the stages of an upload (wall and CPU of the thread) inside the real server or in-process.

`instrument()` wraps the functions an upload passes through in timers; `serve` runs `wordcrowd serve`
with them wrapped (in the gunicorn master, so every forked worker inherits the wrappers) and each worker
writes its totals to $WORDCROWD_DATA_DIR/stages-<pid>.json when it exits. The wrappers cost ~2 µs a call.

    python benchmarks/stages.py serve --port 5000 --workers 4 [--threads 4]
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

STAGES = (
    # (label, module, attribute); labels starting with spaces are parts of the stage above them
    ("rate limit check (Flask-Limiter)", "flask_limiter._extension", "Limiter._check_request_limit"),
    ("auth: contributor by token hash", "collector.auth", "current_contributor"),
    ("campaign + consent query", "collector.consents", "campaign_with_consent"),
    ("keyword query", "collector.clips", "keyword_named"),
    ("multipart parse (request.form/files)", "flask.wrappers", "Request._load_form_data"),
    ("ingest (decode, canonical, quality)", "collector.api", "ingest"),
    ("store_clip", "collector.clips", "store_clip"),
    ("  duplicate query", "collector.clips", "_duplicate"),
    ("  blob puts (2, each fsync'd)", "collector.blobs", "LocalBlobStore.put"),
    ("  insert", "collector.clips", "_insert_clip"),
    ("  commit", "sqlalchemy.orm", "Session.commit"),
    ("answer (JSON)", "collector.api", "jsonify"),
    ("whole WSGI request (Flask)", "flask.app", "Flask.wsgi_app"),
)
VIEW = "upload view, all of it"

# label -> [wall seconds, thread CPU seconds, calls]
Totals = dict[str, list[float]]


def instrument() -> Totals:
    """Wrap each stage in a wall and thread-CPU timer; call before any app is built."""
    labels = [label for label, _, _ in STAGES]
    labels.insert(len(labels) - 1, VIEW)  # the view runs inside the WSGI request, last in the table
    totals: Totals = {label: [0.0, 0.0, 0] for label in labels}

    def timed(label: str, func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return func(*args, **kwargs)
            finally:
                entry = totals[label]
                entry[0] += time.perf_counter() - wall
                entry[1] += time.thread_time() - cpu
                entry[2] += 1
        return wrapper

    for label, module_name, attribute in STAGES:
        owner = importlib.import_module(module_name)
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        setattr(owner, name, timed(label, getattr(owner, name)))
    _wrap_view(timed)
    return totals


def _wrap_view(timed: Callable[[str, Callable], Callable]) -> None:
    # the blueprint holds the view it was given at import time, so the view is wrapped in each new app
    import collector

    create_app = collector.create_app

    @functools.wraps(create_app)
    def create_timed_app(*args, **kwargs):
        app = create_app(*args, **kwargs)
        app.view_functions["api.upload_clip"] = timed(VIEW, app.view_functions["api.upload_clip"])
        return app

    collector.create_app = create_timed_app


def reset(totals: Totals) -> None:
    """Zero every counter (after a warm-up)."""
    for entry in totals.values():
        entry[:] = [0.0, 0.0, 0]


def merge(paths: list[Path]) -> Totals:
    """Add up the totals that several workers wrote."""
    merged: Totals = {}
    for path in paths:
        for label, values in json.loads(path.read_text()).items():
            entry = merged.setdefault(label, [0.0, 0.0, 0])
            for i, value in enumerate(values):
                entry[i] += value
    return merged


def table(totals: Totals, clips: int) -> list[str]:
    """Return Markdown rows: stage, wall ms and CPU ms per stored clip, calls per clip."""
    rows = ["| stage | wall ms per clip | CPU ms per clip | calls per clip |", "|---|---|---|---|"]
    for label, (wall, cpu, calls) in totals.items():
        name = f"… {label.strip()}" if label.startswith(" ") else label
        per_clip = (wall * 1000 / clips, cpu * 1000 / clips, calls / clips)
        rows.append("| {} | {:.2f} | {:.2f} | {:.1f} |".format(name, *per_clip))
    return rows


def serve(argv: list[str]) -> None:
    """Run `wordcrowd serve` with the stages wrapped; each worker dumps its totals when it exits."""
    totals = instrument()
    import collector.server as server
    from wordcrowd.cli import main

    if "--threads" in argv:
        at = argv.index("--threads")
        server.THREADS_PER_WORKER = int(argv[at + 1]) or server.THREADS_PER_WORKER
        del argv[at:at + 2]
    out = Path(os.environ.get("WORDCROWD_DATA_DIR", "."))
    options = server.gunicorn_options

    def dump(_arbiter, _worker) -> None:
        (out / f"stages-{os.getpid()}.json").write_text(json.dumps(totals))

    server.gunicorn_options = lambda *a, **k: {**options(*a, **k), "worker_exit": dump}
    main(["serve", *argv])


if __name__ == "__main__":
    if sys.argv[1:2] != ["serve"]:
        sys.exit(__doc__)
    serve(sys.argv[2:])
