"""Profile the upload request path in-process: where do the milliseconds of one POST .../clips go?

It builds the app on a fresh SQLite or PostgreSQL database, enrols contributors through the API with
Flask's test client, then times N uploads three ways: the whole request through the test client, each
stage alone (multipart parsing, ingest, blob writes, database store), and a cProfile of the whole request.

    .venv/bin/python benchmarks/profile_upload.py [--db sqlite|postgresql] [--uploads 400] [--top 30]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stages  # noqa: E402
from ingest import VOICES, WORDS, base_clips, database, drop_database, multipart, unique_wav  # noqa: E402
from machine import DATA_PARENT, fresh_data_dir, topdir_parent  # noqa: E402


def make_app(url: str, data_dir: Path):
    """Return a migrated app on this database, a local blob store and the benchmark's raised limits."""
    from collector import create_app
    from collector.campaigns import ensure_default_campaign
    from collector.db import session_scope
    from collector.migrate import upgrade

    upgrade(url)
    with session_scope(url) as session:
        ensure_default_campaign(session, "bench")
    return create_app({
        "DATA_DIR": str(data_dir), "DATABASE_URL": url, "STORAGE_URL": f"file://{data_dir / 'blobs'}",
        "SECRET_KEY": "bench", "RATELIMIT_UPLOADS": "1000000 per minute",
        "RATELIMIT_DEFAULT": "1000000 per minute", "RATELIMIT_CONTRIBUTORS": "1000000 per hour",
    })


def enrol(client, count: int) -> list[str]:
    """Create consenting contributors through the API; return their tokens."""
    version = client.get("/api/v1/campaigns/bench/consent").get_json()["version"]
    tokens = []
    for _ in range(count):
        token = client.post("/api/v1/contributors").get_json()["token"]
        answer = client.post("/api/v1/campaigns/bench/consent", headers={"Authorization": f"Bearer {token}"},
                             json={"consent_version": version, "license": "CC0-1.0", "age_confirmed": True})
        assert answer.status_code == 201, answer.get_json()
        tokens.append(token)
    return tokens


def bodies(count: int, seed: int) -> list[tuple[str, bytes, tuple[bytes, str]]]:
    """Return (keyword, wav, multipart body) for `count` unique clips."""
    clips, rng = base_clips(), np.random.default_rng(seed)
    out = []
    for i in range(count):
        word = WORDS[i % len(WORDS)]
        wav = unique_wav(clips[word][i % len(VOICES)], rng)
        out.append((word, wav, multipart(word, wav)))
    return out


def per_call_ms(calls: list[Callable[[], object]]) -> float:
    """Run each call once and return the mean wall time in milliseconds."""
    start = time.perf_counter()
    for call in calls:
        call()
    return (time.perf_counter() - start) * 1000 / len(calls)


def upload_calls(client, tokens: list[str], items) -> list[Callable[[], object]]:
    """Return one callable per upload through the test client, checking for 201."""
    def call(i: int, body: bytes, ctype: str) -> Callable[[], object]:
        def run() -> None:
            answer = client.post("/api/v1/campaigns/bench/clips", data=body, content_type=ctype,
                                 headers={"Authorization": f"Bearer {tokens[i % len(tokens)]}"})
            assert answer.status_code == 201, answer.get_json()
        return run
    return [call(i, body, ctype) for i, (_, _, (body, ctype)) in enumerate(items)]


def stage_times(app, items) -> dict[str, float]:
    """Time the stages of an upload separately, in ms per upload."""
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from collector.ingest import ingest

    def parse(body: bytes, ctype: str) -> None:
        env = EnvironBuilder(method="POST", data=body, content_type=ctype).get_environ()
        Request(env).files["audio"].read()

    times = {
        "multipart parse (werkzeug)": per_call_ms([lambda b=b: parse(*b) for _, _, b in items]),
        "ingest (decode, canonical, quality)": per_call_ms([lambda w=w: ingest(w, "clip.wav", "audio/wav")
                                                            for _, w, _ in items]),
    }
    store = app.extensions["wordcrowd.blobs"]
    wav = items[0][1]
    times["one blob put (write, fsync, rename, dir fsync)"] = per_call_ms(
        [lambda i=i: store.put(f"probe/{i}.wav", wav, "audio/wav") for i in range(len(items))])
    return times


def main() -> None:
    """Set up, time each stage, profile and print."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--uploads", type=int, default=400)
    parser.add_argument("--contributors", type=int, default=32)
    parser.add_argument("--top", type=int, default=30, help="functions to show from cProfile (0: none)")
    parser.add_argument("--sort", default="tottime", help="pstats sort key: tottime or cumulative")
    args = parser.parse_args()
    data_dir, create_ms = fresh_data_dir(topdir_parent(DATA_PARENT), "profile")
    url, pg_name = database(args.db, data_dir)
    try:
        totals = stages.instrument()
        app = make_app(url, data_dir)
        client = app.test_client()
        tokens = enrol(client, args.contributors)
        items = bodies(args.uploads * 3, seed=11)
        warm, timed, profiled = (items[i::3] for i in range(3))
        per_call_ms(upload_calls(client, tokens, warm))  # first requests pay for imports and caches
        stages.reset(totals)
        cpu = time.process_time()
        whole_ms = per_call_ms(upload_calls(client, tokens, timed))
        cpu_ms = (time.process_time() - cpu) * 1000 / len(timed)
        print(f"one upload through the test client, one thread: {whole_ms:.2f} ms wall, {cpu_ms:.2f} ms CPU "
              f"(creating a file: {create_ms:.3f} ms)")
        print("\n".join(stages.table(totals, len(timed))))
        print("stages alone:")
        for name, ms in stage_times(app, timed).items():
            print(f"  {name}: {ms:.2f} ms")
        if args.top:
            profiler = cProfile.Profile()
            profiler.runcall(per_call_ms, upload_calls(client, tokens, profiled))
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
            print(out.getvalue())
        with app.app_context():
            from collector.db import get_engine

            get_engine().dispose()
    finally:
        drop_database(pg_name)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
