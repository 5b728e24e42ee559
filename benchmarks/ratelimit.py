"""Rate-limit storage benchmark: CPU per request spent counting, and exact counts across processes.

For each storage (per-process memory, the default SQLite file, Redis if it answers) it times what
Flask-Limiter does per request (a fixed-window hit plus the window statistics for the X-RateLimit headers),
then lets several processes hit one key together and checks that not one hit was lost.

    .venv/bin/python benchmarks/ratelimit.py [--hits 5000] [--processes 4] [--redis redis://127.0.0.1:6379]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import tempfile
import time
import uuid

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

import collector.ratelimit_storage  # noqa: F401  (registers sqlite://)

LIMIT = parse("1000000000 per hour")


def cpu_us_per_request(url: str, hits: int) -> float:
    """Return the CPU microseconds one request's counting costs on the storage at url."""
    limiter = FixedWindowRateLimiter(storage_from_string(url))
    prefix = uuid.uuid4().hex
    started = time.process_time()
    for index in range(hits):
        key = f"{prefix}:{index % 64}"
        limiter.hit(LIMIT, key)
        limiter.get_window_stats(LIMIT, key)
    return (time.process_time() - started) / hits * 1e6


def _hammer(url: str, key: str, hits: int) -> None:
    limiter = FixedWindowRateLimiter(storage_from_string(url))
    for _ in range(hits):
        limiter.hit(LIMIT, key)


def lost_hits(url: str, processes: int, hits: int) -> int:
    """Let `processes` processes hit one key `hits` times each; return how many hits the count lacks."""
    key = uuid.uuid4().hex
    workers = [mp.Process(target=_hammer, args=(url, key, hits)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    counted = storage_from_string(url).get(LIMIT.key_for(key))
    return processes * hits - counted


def main() -> None:
    """Measure every storage and print one line per storage."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hits", type=int, default=5000, help="requests timed per storage")
    parser.add_argument("--processes", type=int, default=4, help="processes hitting one key together")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379", help="a Redis to include ('' to skip)")
    args = parser.parse_args()
    urls = ["memory://", f"sqlite:///{tempfile.mkdtemp()}/ratelimits.db"]
    if args.redis and storage_from_string(args.redis).check():
        urls.append(args.redis)
    for url in urls:
        cpu = cpu_us_per_request(url, args.hits)
        lost = "n/a (per process)" if url.startswith("memory") else lost_hits(url, args.processes, 2000)
        print(f"{url.split(':')[0]:7} CPU per request {cpu:6.1f} µs; hits lost across "
              f"{args.processes} processes: {lost}")


if __name__ == "__main__":
    main()
