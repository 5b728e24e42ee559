"""Ingest benchmark: many contributors upload 1-second 48 kHz WAVs over HTTP to `wordcrowd serve` (gunicorn).

For each database (SQLite, PostgreSQL) it starts the real server in a fresh data directory, creates the
contributors and their consents through the API, then uploads unique clips from client processes for a
fixed time. It reports clips/s, p50/p99 latency and errors, and the CPU the server, PostgreSQL, the clients
and everything else on the machine spent per clip; then it reconciles: every acknowledged clip must be in
the database and both of its blobs in the blob store. `--stages` also times the stages of an upload inside
the workers (benchmarks/stages.py); benchmarks/ceiling.py measures the same machine without the platform.

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
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from machine import DATA_PARENT, CpuMeter, fresh_data_dir, topdir_parent  # noqa: E402
from speech import espeak_samples  # noqa: E402

WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
VOICES = ("en", "en-us", "en+f3", "en+m3", "en-gb-x-rp")
# `wordcrowd serve` with THREADS_PER_WORKER from `--threads N` (0: unchanged), nothing else altered
STAGELESS = ("import sys, collector.server as s, wordcrowd.cli as c; a = sys.argv[1:]; "
             "i = a.index('--threads'); s.THREADS_PER_WORKER = int(a[i + 1]) or s.THREADS_PER_WORKER; "
             "del a[i:i + 2]; c.main(a)")
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


def client_process(port, campaign, tokens, bodies, deadline, queue, reconnect_every=0) -> None:
    """Upload pre-built bodies round-robin over the given contributors until the deadline; report results.

    reconnect_every=N opens a new connection after every N uploads (0: one keep-alive connection each).
    """
    import threading

    results: list[tuple[float, int | str, str | None]] = []
    lock = threading.Lock()
    cpu_start = os.times()

    def run(token: str, my_bodies: list[tuple[bytes, str]]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        local = []
        for n, (body, ctype) in enumerate(my_bodies, 1):
            if time.time() > deadline:
                break
            start = time.perf_counter()
            try:
                status, answer = api(conn, "POST", f"/api/v1/campaigns/{campaign}/clips", body, token, ctype)
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                status, answer = f"no answer ({type(exc).__name__})", None
            clip_id = answer.get("clip_id") if status == 201 and answer else None
            local.append((time.perf_counter() - start, status, clip_id))
            if reconnect_every and n % reconnect_every == 0:
                conn.close()  # http.client connects again on the next request
        conn.close()
        with lock:
            results.extend(local)

    threads = [threading.Thread(target=run, args=(t, bodies[i::len(tokens)])) for i, t in enumerate(tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu_end = os.times()
    queue.put((results, cpu_end.user - cpu_start.user + cpu_end.system - cpu_start.system))


def start_server(env: dict[str, str], port: int, workers: int, threads: int = 0,
                 stages: bool = False) -> subprocess.Popen:
    """Start `wordcrowd serve` (its log in the data directory) and wait until the API answers."""
    command = [str(Path(sys.executable).with_name("wordcrowd")), "serve"]
    if threads or stages:  # an experiment: the same server, timing its stages or with another thread count
        command = [sys.executable, str(ROOT / "benchmarks" / "stages.py"), "serve", "--threads", str(threads)]
        command = command if stages else command[:1] + ["-c", STAGELESS] + command[2:]
    log_path = Path(env["WORDCROWD_DATA_DIR"]) / "server.log"
    # a file, not a pipe: a pipe nobody reads during the run would fill and stall the server
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([*command, "--port", str(port), "--workers", str(workers)], env=env,
                                stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    for _ in range(300):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            if api(conn, "GET", "/api/v1/campaigns")[0] == 200:
                return proc
        except OSError:
            time.sleep(0.2)
        if proc.poll() is not None:
            raise RuntimeError("server exited: " + log_path.read_text(errors="replace")[-2000:])
    os.killpg(proc.pid, signal.SIGTERM)
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


def encode_bodies(count: int, clips: dict[str, list[np.ndarray]]) -> list[tuple[bytes, str]]:
    """Encode `count` unique multipart upload bodies, cycling through the words and voices."""
    rng = np.random.default_rng(7)
    bodies = []
    for i in range(count):
        word = WORDS[i % len(WORDS)]
        bodies.append(multipart(word, unique_wav(clips[word][i % len(VOICES)], rng)))
    return bodies


def load(port: int, tokens: list[str], bodies: list[tuple[bytes, str]], args: argparse.Namespace,
         server_pgid: int) -> tuple[list[tuple[float, int, str | None]], float, dict[str, float]]:
    """Run the client processes until the deadline; return their results, the elapsed time and CPU use."""
    deadline = time.time() + args.seconds
    queue: mp.Queue = mp.Queue()
    shares = [tokens[i::args.clients] for i in range(args.clients)]
    body_shares = [bodies[i::args.clients] for i in range(args.clients)]
    procs = [mp.Process(target=client_process,
                        args=(port, "bench", s, b, deadline, queue, args.reconnect_every))
             for s, b in zip(shares, body_shares, strict=True)]
    meter = CpuMeter(server_pgid)
    started = time.perf_counter()
    for proc in procs:
        proc.start()
    reports = [queue.get() for _ in procs]
    elapsed = time.perf_counter() - started
    cpu = meter.stop()
    for proc in procs:
        proc.join()
    cpu["client_cpu_s"] = sum(report[1] for report in reports)
    return [r for report in reports for r in report[0]], elapsed, cpu


def summarise(kind: str, results: list[tuple[float, int, str | None]], elapsed: float,
              cpu: dict[str, float]) -> dict:
    """Turn the raw results into clips/s, latency percentiles, errors and CPU per clip."""
    ok = [r for r in results if r[1] == 201]
    latencies = np.array([r[0] for r in ok]) * 1000 if ok else np.array([0.0])
    errors: dict[str, int] = {}
    for _, status, _ in results:
        if status != 201:
            errors[str(status)] = errors.get(str(status), 0) + 1
    per_clip = 1000 / max(len(ok), 1)
    return {"db": kind, "clips": len(ok), "seconds": round(elapsed, 1),
            "clips_per_s": round(len(ok) / elapsed, 1),
            "p50_ms": round(float(np.percentile(latencies, 50)), 1),
            "p99_ms": round(float(np.percentile(latencies, 99)), 1), "errors": errors,
            "server_cpu_ms_per_clip": round(cpu["server_cpu_s"] * per_clip, 2),
            "server_kernel_pct": round(100 * cpu["server_system_s"] / max(cpu["server_cpu_s"], 1e-9), 1),
            "client_cpu_ms_per_clip": round(cpu["client_cpu_s"] * per_clip, 2),
            "postgres_cpu_ms_per_clip": round(cpu["postgres_cpu_s"] * per_clip, 2),
            "machine_busy_pct": round(100 * cpu["machine_busy_s"] / cpu["machine_cpu_s"], 1),
            "other_cpu_s": round(cpu["machine_busy_s"] - cpu["server_cpu_s"] - cpu["client_cpu_s"]
                                 - cpu["postgres_cpu_s"], 1),
            "load_before": round(os.getloadavg()[0], 2)}


def bench_env(data_dir: Path, url: str, args: argparse.Namespace) -> dict[str, str]:
    """Return the server's environment: a fresh data directory and limits raised for 32 busy contributors."""
    # 32 contributors stand for thousands of people: their per-contributor limit is raised, limiting stays on
    return {**os.environ, "WORDCROWD_DATA_DIR": str(data_dir), "WORDCROWD_DATABASE_URL": url,
            "WORDCROWD_STORAGE_URL": f"file://{data_dir / 'blobs'}", "WORDCROWD_SECRET_KEY": "bench",
            "WORDCROWD_DEFAULT_CAMPAIGN": "bench", "WORDCROWD_RATELIMIT_UPLOADS": "1000000 per minute",
            "WORDCROWD_RATELIMIT_DEFAULT": "1000000 per minute",
            "WORDCROWD_RATELIMIT_CONTRIBUTORS": "1000000 per hour"}


def run_one(kind: str, args: argparse.Namespace, bodies: list[tuple[bytes, str]], data_dir: Path,
            create_ms: float) -> dict:
    """Benchmark one database kind in a fresh data directory and return its figures."""
    url, pg_name = database(kind, data_dir)
    env = bench_env(data_dir, url, args)
    try:
        port = free_port()
        load_before = os.getloadavg()[0]
        server = start_server(env, port, args.workers, args.threads, args.stages)
        try:
            tokens = enrol(port, "bench", args.contributors)
            results, elapsed, cpu = load(port, tokens, bodies, args, server.pid)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        figures = summarise(kind, results, elapsed, cpu)
        if figures["errors"]:  # the server's own account of what went wrong, before the directory goes
            log = (data_dir / "server.log").read_text(errors="replace")
            print(f"[{kind}] server log, last 4000 characters:\n{log[-4000:]}", flush=True)
        figures.update(load_before=round(load_before, 2), file_create_ms=round(create_ms, 3))
        figures.update(reconcile(env, [r[2] for r in results if r[1] == 201]))
        if args.stages:
            import stages

            figures["stages"] = stages.merge(sorted(data_dir.glob("stages-*.json")))
        return figures
    finally:
        drop_database(pg_name)


def record(results: list[dict], args: argparse.Namespace) -> None:
    """Append the figures to benchmarks/RESULTS.md."""
    from collector.server import THREADS_PER_WORKER, worker_count

    command = " ".join(["python benchmarks/ingest.py", *sys.argv[1:]])
    connections = (f"a new connection every {args.reconnect_every} uploads" if args.reconnect_every
                   else "one keep-alive connection per contributor")
    lines = [
        f"\n## Ingest over HTTP — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n",
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}; "
        f"command: `{command}`; gunicorn: {worker_count(args.workers)} workers × "
        f"{args.threads or THREADS_PER_WORKER} threads; {args.contributors} contributors in "
        f"{args.clients} client processes on the same machine, {connections}; 1-second 48 kHz 16-bit "
        "WAV uploads.\n",
        "| database | clips | clips/s | p50 ms | p99 ms | errors | acknowledged | missing rows "
        "| missing blobs | server CPU ms/clip | PostgreSQL CPU ms/clip | client CPU ms/clip | machine busy % "
        "| others' CPU s | load before |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['db']} | {r['clips']} | {r['clips_per_s']} | {r['p50_ms']} | {r['p99_ms']} "
            f"| {r['errors'] or 0} | {r['acknowledged']} | {r['missing_rows']} | {r['missing_blobs']} "
            f"| {r['server_cpu_ms_per_clip']} | {r['postgres_cpu_ms_per_clip']} "
            f"| {r['client_cpu_ms_per_clip']} | {r['machine_busy_pct']} | {r['other_cpu_s']} "
            f"| {r['load_before']} |")
    for r in results:
        if "stages" in r:
            import stages

            lines += ["", f"Stages inside the workers ({r['db']}, per stored clip):", "",
                      *stages.table(r["stages"], r["clips"])]
    with open(ROOT / "benchmarks" / "RESULTS.md", "a") as out:
        out.write("\n".join(lines) + "\n")


def report(figures: dict) -> dict:
    """Print one database's figures (and its stage table) as they come; return them."""
    print(json.dumps({k: v for k, v in figures.items() if k != "stages"}), flush=True)
    if "stages" in figures:
        import stages

        print("\n".join(stages.table(figures["stages"], figures["clips"])), flush=True)
    return figures


def main() -> None:
    """Parse arguments, run each database, print and record the figures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the timed load")
    parser.add_argument("--contributors", type=int, default=32, help="concurrent contributors")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    # people record a clip every few seconds, longer than gunicorn's 2 s keep-alive, so each upload comes on
    # a new connection; 32 everlasting connections would also split unevenly between the workers
    parser.add_argument("--reconnect-every", type=int, default=1,
                        help="open a new connection after this many uploads (0: keep one per contributor)")
    parser.add_argument("--workers", type=int, default=0,
                        help="gunicorn workers (0: the server's own default, one per core and at least two)")
    parser.add_argument("--threads", type=int, default=0, help="threads per worker (0: the server's own)")
    parser.add_argument("--stages", action="store_true", help="time the upload's stages inside the workers")
    parser.add_argument("--target-rate", type=float, default=600.0, help="clips/s to pre-encode for")
    parser.add_argument("--data-parent", type=Path, default=DATA_PARENT,
                        help="where the data directories go (made an ext4 top directory)")
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args()
    bodies = encode_bodies(int(args.seconds * args.target_rate * 1.5), base_clips())
    print(f"encoded {len(bodies)} unique 1-second 48 kHz clips", flush=True)
    results = []
    parent = topdir_parent(args.data_parent)
    data_dirs: list[Path] = []
    try:
        for kind in (name.strip() for name in args.db.split(",")):
            data_dir, create_ms = fresh_data_dir(parent, kind)
            data_dirs.append(data_dir)
            results.append(report(run_one(kind, args, bodies, data_dir, create_ms)))
    finally:
        # deleted only now: thousands of fresh deletions would slow file creation in the next run
        for data_dir in data_dirs:
            shutil.rmtree(data_dir, ignore_errors=True)
    if not args.no_record:
        record(results, args)


if __name__ == "__main__":
    main()
