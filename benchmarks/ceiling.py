"""Ceilings for the ingest benchmark: what the same machine does with less than the whole platform.

Each floor uses ingest.py's own clients, bodies and CPU meter, so the figures sit beside its results:

- `http`: the same gunicorn settings (workers, gthread threads, access log) serving a bare WSGI app that
  reads the upload and answers 201 with a small JSON: the cost of HTTP, gunicorn and the clients alone.
- `flask`: the same, with a Flask app whose one view parses the multipart form and answers: the framework.
- `ingest`: `collector.ingest.ingest()` alone, in-process on one core: the audio work per clip.
- `blobs`: two `LocalBlobStore.put()` calls per clip (write, fsync, rename, directory fsync) from as many
  threads as the server has: the disk's durable-write rate.

    .venv/bin/python benchmarks/ceiling.py [--floors http,flask,ingest,blobs] [--seconds 10] [--workers 4]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ingest as bench  # noqa: E402
import machine  # noqa: E402

ANSWER = b'{"clip_id": "0", "status": "pending"}'


def bare_app(environ, start_response):
    """Read the whole request body and answer 201 with a small JSON, as the upload view would."""
    stream, remaining = environ["wsgi.input"], int(environ.get("CONTENT_LENGTH") or 0)
    while remaining > 0:
        chunk = stream.read(min(remaining, 65536))
        if not chunk:
            break
        remaining -= len(chunk)
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(ANSWER)))]
    start_response("201 CREATED", headers)
    return [ANSWER]


def flask_app():
    """Return a Flask app with one view that parses the multipart upload and answers 201."""
    from flask import Flask, jsonify, request

    app = Flask(__name__)

    @app.post("/api/v1/campaigns/<slug>/clips")
    def upload(slug: str):
        data = request.files["audio"].read()
        return jsonify({"clip_id": "0", "keyword": request.form["keyword"], "bytes": len(data)}), 201

    return app


def serve_floor(kind: str, port: int, workers: int, threads: int) -> None:
    """Serve the bare or Flask floor with wordcrowd's own gunicorn settings."""
    import collector.server
    from collector.server import CollectorServer, gunicorn_options

    collector.server.THREADS_PER_WORKER = threads or collector.server.THREADS_PER_WORKER

    class Floor(CollectorServer):
        def load(self):
            return bare_app if kind == "http" else flask_app()

    Floor(gunicorn_options("127.0.0.1", port, workers)).run()


def http_floor(kind: str, args: argparse.Namespace, bodies: list[tuple[bytes, str]]) -> dict:
    """Load a floor server with ingest.py's clients and return its figures."""
    port = bench.free_port()
    log = tempfile.TemporaryFile()
    command = [sys.executable, __file__, "serve-floor", kind, str(port), str(args.workers), str(args.threads)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    try:
        wait_for(port, server)
        tokens = [f"floor-{i}" for i in range(args.contributors)]
        # the floors need no unique bodies (nothing is stored), and they run out of them fast
        results, elapsed, cpu = bench.load(port, tokens, bodies * 20, args, server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return bench.summarise(f"{kind} floor", results, elapsed, cpu)


def wait_for(port: int, server: subprocess.Popen) -> None:
    """Wait until the floor server accepts connections."""
    import socket

    for _ in range(300):
        if server.poll() is not None:
            raise RuntimeError("the floor server exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the floor server did not start")


def ingest_floor(wavs: list[bytes]) -> dict:
    """Time ingest() alone, one thread, and return clips/s on one core."""
    from collector.ingest import ingest

    for wav in wavs[:50]:  # warm-up: imports, caches
        ingest(wav, "clip.wav", "audio/wav")
    cpu, wall = time.process_time(), time.perf_counter()
    for wav in wavs:
        ingest(wav, "clip.wav", "audio/wav")
    per_clip = (time.process_time() - cpu) * 1000 / len(wavs)
    return {"db": "ingest() alone", "clips": len(wavs), "ms_per_clip": round(per_clip, 3),
            "clips_per_s_per_core": round(1000 / per_clip, 1),
            "wall_s": round(time.perf_counter() - wall, 2)}


def blobs_floor(wavs: list[bytes], threads: int, root: Path) -> dict:
    """Write two blobs per clip from `threads` threads with the real local store under root; clips/s."""
    from collector.blobs import LocalBlobStore

    store, cpu, wall = LocalBlobStore(root), time.process_time(), time.perf_counter()

    def writer(share: list[bytes], n: int) -> None:
        for i, wav in enumerate(share):
            store.put(f"clips/bench/{n}-{i}.wav", wav[:32044], "audio/wav")  # a canonical clip's size
            store.put(f"originals/bench/{n}-{i}.wav", wav, "audio/wav")

    workers = [threading.Thread(target=writer, args=(wavs[n::threads], n)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - wall
    return {"db": f"2 blob puts per clip, {threads} threads", "clips": len(wavs),
            "clips_per_s": round(len(wavs) / elapsed, 1),
            "cpu_ms_per_clip": round((time.process_time() - cpu) * 1000 / len(wavs), 3)}


def main() -> None:
    """Measure the chosen floors and print one JSON line each."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--floors", default="http,flask,ingest,blobs")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--contributors", type=int, default=32)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--reconnect-every", type=int, default=1, help="as in ingest.py")
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (0: the server's own)")
    parser.add_argument("--threads", type=int, default=0, help="threads per worker (0: the server's own)")
    parser.add_argument("--bodies", type=int, default=4000, help="unique upload bodies to encode")
    args = parser.parse_args()
    floors = args.floors.split(",")
    clips = bench.base_clips()
    bodies = bench.encode_bodies(args.bodies, clips)
    wavs = [body[body.index(b"RIFF"):body.rindex(b"\r\n--")] for body, _ in bodies[:2000]]
    parent = machine.topdir_parent(machine.DATA_PARENT)
    made: list[Path] = []
    try:
        for floor in floors:
            if floor in ("http", "flask"):
                print(json.dumps(http_floor(floor, args, bodies)), flush=True)
            elif floor == "ingest":
                print(json.dumps(ingest_floor(wavs)), flush=True)
            elif floor == "blobs":
                from collector.server import THREADS_PER_WORKER, worker_count

                threads = worker_count(args.workers) * (args.threads or THREADS_PER_WORKER)
                root, _ = machine.fresh_data_dir(parent, "blobs")
                made.append(root)
                print(json.dumps(blobs_floor(wavs, threads, root)), flush=True)
    finally:
        for root in made:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve-floor"]:
        serve_floor(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        main()
