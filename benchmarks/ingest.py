"""Ingest benchmark: many contributors upload 1-second 48 kHz WAVs over HTTP to `wordcrowd serve` (gunicorn).

For each database (SQLite, PostgreSQL) it starts the real server in a fresh data directory, creates the
contributors and their consents through the API, then uploads unique clips from client processes with
keep-alive connections for a fixed time. It reports clips/s, p50/p99 latency and errors, then reconciles:
every acknowledged clip must be in the database and both of its blobs in the blob store.

    .venv/bin/python benchmarks/ingest.py [--db sqlite,postgresql] [--seconds 20] [--contributors 32]
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import multiprocessing as mp
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from speech import espeak_samples  # noqa: E402

WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
VOICES = ("en", "en-us", "en+f3", "en+m3", "en-gb-x-rp")
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    """Return a free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_clips() -> dict[str, list[np.ndarray]]:
    """Speak every keyword in several voices, 1 s at 48 kHz, as float32 arrays."""
    clips: dict[str, list[np.ndarray]] = {}
    for word in WORDS:
        clips[word] = []
        for voice in VOICES:
            samples = espeak_samples(word, rate=48000, voice=voice)[:48000]
            clips[word].append(np.pad(samples, (0, 48000 - len(samples))))
    return clips


def unique_wav(samples: np.ndarray, rng: np.random.Generator) -> bytes:
    """Encode one clip as 16-bit WAV with its own faint noise, so no two uploads are duplicates."""
    noisy = samples + rng.normal(0, 10 ** (-55 / 20), samples.shape).astype(np.float32)
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(noisy, -1, 1), 48000, subtype="PCM_16", format="WAV")
    return buffer.getvalue()


def multipart(keyword: str, wav: bytes) -> tuple[bytes, str]:
    """Build a multipart/form-data body with `keyword` and `audio` parts."""
    boundary = uuid.uuid4().hex
    head = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"keyword\"\r\n\r\n{keyword}\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"clip.wav\"\r\n"
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    return head + wav + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def api(conn: http.client.HTTPConnection, method: str, path: str, body=None, token=None, ctype=None):
    """Call the API on a keep-alive connection and return (status, parsed JSON or None)."""
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if isinstance(body, dict):
        body, ctype = json.dumps(body).encode(), "application/json"
    if ctype:
        headers["Content-Type"] = ctype
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    raw = response.read()
    return response.status, (json.loads(raw) if raw and response.getheader("Content-Type", "").startswith(
        "application/json") else None)


def enrol(port: int, campaign: str, count: int) -> list[str]:
    """Create contributors and give each one a consent; return their tokens."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    _, consent = api(conn, "GET", f"/api/v1/campaigns/{campaign}/consent")
    tokens = []
    for _ in range(count):
        status, body = api(conn, "POST", "/api/v1/contributors")
        assert status == 201, (status, body)
        token = body["token"]
        status, body = api(conn, "POST", f"/api/v1/campaigns/{campaign}/consent", {
            "consent_version": consent["version"], "license": "CC0-1.0",
            "age_confirmed": True, "demographics_opt_in": False}, token)
        assert status == 201, (status, body)
        tokens.append(token)
    return tokens


def client_process(port, campaign, tokens, bodies, deadline, queue) -> None:
    """Upload pre-built bodies round-robin over the given contributors until the deadline; report results."""
    import threading

    results: list[tuple[float, int, str | None]] = []
    lock = threading.Lock()

    def run(token: str, my_bodies: list[tuple[bytes, str]]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        local = []
        for body, ctype in my_bodies:
            if time.time() > deadline:
                break
            start = time.perf_counter()
            try:
                status, answer = api(conn, "POST", f"/api/v1/campaigns/{campaign}/clips", body, token, ctype)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                status, answer = 0, None
            clip_id = answer.get("clip_id") if status == 201 and answer else None
            local.append((time.perf_counter() - start, status, clip_id))
        with lock:
            results.extend(local)

    threads = [threading.Thread(target=run, args=(t, bodies[i::len(tokens)])) for i, t in enumerate(tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(results)


def start_server(env: dict[str, str], port: int, workers: int) -> subprocess.Popen:
    """Start `wordcrowd serve` and wait until the API answers."""
    wordcrowd = str(Path(sys.executable).with_name("wordcrowd"))
    proc = subprocess.Popen([wordcrowd, "serve", "--port", str(port), "--workers", str(workers)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    for _ in range(300):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            if api(conn, "GET", "/api/v1/campaigns")[0] == 200:
                return proc
        except OSError:
            time.sleep(0.2)
        if proc.poll() is not None:
            raise RuntimeError("server exited: " + proc.stderr.read().decode()[-2000:])
    raise RuntimeError("server did not answer within 60 s")


def reconcile(env: dict[str, str], acknowledged: list[str]) -> dict[str, int]:
    """Count acknowledged clips missing from the database or the blob store."""
    from sqlalchemy import select

    from collector.blobs import open_blob_store
    from collector.db import session_scope
    from collector.models import Clip

    store = open_blob_store(env["WORDCROWD_STORAGE_URL"], env.get("WORDCROWD_S3_ENDPOINT_URL"))
    with session_scope(env["WORDCROWD_DATABASE_URL"]) as session:
        rows = {c.public_id: c for c in session.scalars(select(Clip))}
        missing_rows = [cid for cid in acknowledged if cid not in rows]
        missing_blobs = sum(
            1 for cid in acknowledged if cid in rows
            and not (store.exists(rows[cid].canonical_key) and store.exists(rows[cid].original_key)))
        total_rows = len(rows)
    return {"acknowledged": len(acknowledged), "rows": total_rows,
            "missing_rows": len(missing_rows), "missing_blobs": missing_blobs}


def database(kind: str, data_dir: Path) -> tuple[str, str | None]:
    """Return (URL, PostgreSQL database name to drop) for a fresh database of the given kind."""
    if kind == "sqlite":
        return f"sqlite:///{data_dir / 'wordcrowd.db'}", None
    from sqlalchemy import create_engine, text

    name = f"wc_bench_{uuid.uuid4().hex[:10]}"
    with create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", name


def drop_database(name: str | None) -> None:
    """Drop a benchmark PostgreSQL database."""
    if name:
        from sqlalchemy import create_engine, text

        with create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def run_one(kind: str, args: argparse.Namespace, clips: dict[str, list[np.ndarray]]) -> dict:
    """Benchmark one database kind and return its figures."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"wc-bench-{kind}-"))
    url, pg_name = database(kind, data_dir)
    port = free_port()
    env = {**os.environ, "WORDCROWD_DATA_DIR": str(data_dir), "WORDCROWD_DATABASE_URL": url,
           "WORDCROWD_STORAGE_URL": f"file://{data_dir / 'blobs'}", "WORDCROWD_SECRET_KEY": "bench",
           "WORDCROWD_DEFAULT_CAMPAIGN": "bench", "WORDCROWD_RATELIMIT_UPLOADS": "1000000 per minute",
           "WORDCROWD_RATELIMIT_DEFAULT": "1000000 per minute"}
    rng = np.random.default_rng(7)
    total = int(args.seconds * args.target_rate * 1.5)
    print(f"[{kind}] encoding {total} unique 1-second 48 kHz clips …", flush=True)
    bodies = []
    for i in range(total):
        word = WORDS[i % len(WORDS)]
        bodies.append(multipart(word, unique_wav(clips[word][i % len(VOICES)], rng)))
    server = start_server(env, port, args.workers)
    try:
        tokens = enrol(port, "bench", args.contributors)
        deadline = time.time() + args.seconds
        queue: mp.Queue = mp.Queue()
        shares = [tokens[i::args.clients] for i in range(args.clients)]
        body_shares = [bodies[i::args.clients] for i in range(args.clients)]
        procs = [mp.Process(target=client_process, args=(port, "bench", s, b, deadline, queue))
                 for s, b in zip(shares, body_shares, strict=True)]
        started = time.perf_counter()
        for proc in procs:
            proc.start()
        results = [r for _ in procs for r in queue.get()]
        elapsed = time.perf_counter() - started
        for proc in procs:
            proc.join()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    ok = [r for r in results if r[1] == 201]
    latencies = np.array([r[0] for r in ok]) * 1000 if ok else np.array([0.0])
    errors: dict[str, int] = {}
    for _, status, _ in results:
        if status != 201:
            errors[str(status)] = errors.get(str(status), 0) + 1
    figures = {"db": kind, "clips": len(ok), "seconds": round(elapsed, 1),
               "clips_per_s": round(len(ok) / elapsed, 1),
               "p50_ms": round(float(np.percentile(latencies, 50)), 1),
               "p99_ms": round(float(np.percentile(latencies, 99)), 1), "errors": errors,
               **reconcile(env, [r[2] for r in ok])}
    drop_database(pg_name)
    shutil.rmtree(data_dir, ignore_errors=True)
    return figures


def record(results: list[dict], args: argparse.Namespace) -> None:
    """Append the figures to benchmarks/RESULTS.md."""
    command = "python benchmarks/ingest.py " + " ".join(sys.argv[1:])
    lines = [
        f"\n## Ingest over HTTP — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n",
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}; "
        f"command: `{command}`; gunicorn workers: {args.workers}; {args.contributors} contributors in "
        f"{args.clients} client processes on the same machine; 1-second 48 kHz 16-bit WAV uploads.\n",
        "| database | clips | clips/s | p50 ms | p99 ms | errors | acknowledged | missing rows "
        "| missing blobs |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(f"| {r['db']} | {r['clips']} | {r['clips_per_s']} | {r['p50_ms']} | {r['p99_ms']} | "
                     f"{r['errors'] or 0} | {r['acknowledged']} | {r['missing_rows']} "
                     f"| {r['missing_blobs']} |")
    with open(ROOT / "benchmarks" / "RESULTS.md", "a") as out:
        out.write("\n".join(lines) + "\n")


def main() -> None:
    """Parse arguments, run each database, print and record the figures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the timed load")
    parser.add_argument("--contributors", type=int, default=32, help="concurrent contributors")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--target-rate", type=float, default=600.0, help="clips/s to pre-encode for")
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args()
    clips = base_clips()
    results = []
    for kind in args.db.split(","):
        figures = run_one(kind.strip(), args, clips)
        print(json.dumps(figures), flush=True)
        results.append(figures)
    if not args.no_record:
        record(results, args)


if __name__ == "__main__":
    main()
