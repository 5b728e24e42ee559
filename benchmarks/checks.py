"""Automatic-checks benchmark: throughput of `curate check` and detection of generated defects.

It builds a campaign of real stored clips (espeak-ng words and numpy noise, through collector.ingest and
store_clip, SQLite and local blobs in a temporary directory) with known defects, then times
run_checks (what `wordcrowd curate check` runs) from stored metrics only (`--only quality,duplicate`) and with
every audio check (decode, fingerprints, faiss index, word embeddings), with 1 and 2 workers, and reports
recall per defect kind and the share of clean clips flagged.

    PYTHONPATH=. .venv/bin/python benchmarks/checks.py [--speakers 500] [--per-defect 40] [--workers 1,2]
                                                      [--store DIR]

With --store DIR the generated store is kept in DIR (and reused when DIR already holds one), so the checks
can be timed again without building the clips again. CPU seconds are this process's and its worker
processes' (user + system), so they say what the checks cost whatever else the machine is doing.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing.forkserver
import os
import platform
import resource
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from collector.blobs import open_blob_store  # noqa: E402
from collector.campaigns import create_campaign, get_campaign  # noqa: E402
from collector.db import session_scope  # noqa: E402
from collector.migrate import upgrade  # noqa: E402
from collector.models import AMBIENCE_WORD  # noqa: E402
from curation.checks import CheckContext, load_records, run_checks  # noqa: E402
from curation.checks.records import decode_canonical  # noqa: E402
from tests.defects import RATE, Builder, Corpus, build, ingest_unchecked  # noqa: E402
from tests.rooms import build_rooms  # noqa: E402

KEYWORDS = ("yes", "no", "up", "down", "left", "right", "stop", "go")
AUXILIARY = ("bed", "tree")  # prompted like keywords; takes and wrong words land under them too
ROOMS_EVERY = 25  # one clean ambience clip per this many speakers (each 10–30 s)
# which checks count as finding each defect kind
EXPECTED = {
    "silence": {"quality"}, "noise_only": {"quality"}, "clipping": {"quality"},
    "truncation": {"quality", "outlier", "wrong_word"}, "duplicate": {"duplicate"},
    "near_duplicate": {"near_duplicate"}, "wrong_word": {"wrong_word", "outlier"},
    "dropouts": {"ambience"}, "speech": {"ambience"},
}
REASONS = {"clipping": {"clipping"}, "silence@ambience": {"silent"}, "dropouts": {"dropouts"},
           "speech": {"speech_in_ambience"}}  # kinds whose finding must carry this reason


def populate(directory: Path, speakers: int, per_defect: int) -> tuple[str, str, Corpus, float]:
    """Build the store (or reuse one); return its database URL, storage URL, ground truth, build seconds.
    Ambience clips are added to a store built before they existed."""
    url, storage = f"sqlite:///{directory / 'wordcrowd.db'}", f"file://{directory / 'blobs'}"
    truth = directory / "truth.json"
    start = time.perf_counter()
    if truth.exists():
        saved = json.loads(truth.read_text())
        corpus = Corpus(saved["truth"], saved["words"])
    else:
        upgrade(url)
        with session_scope(url) as session:
            campaign, other = (create_campaign(session, slug, list(KEYWORDS), title=slug.title(),
                                               licenses=["CC0-1.0"], auxiliary_words=list(AUXILIARY),
                                               ambience=True) for slug in ("bench", "other"))
            corpus = build(Builder(session, open_blob_store(storage, None), campaign, other),
                           KEYWORDS + AUXILIARY, speakers, per_defect, seed=7)
        saved = {"truth": corpus.truth, "words": corpus.words}
        truth.write_text(json.dumps(saved))
    if not saved.get("rooms"):
        with session_scope(url) as session:
            builder = Builder(session, open_blob_store(storage, None), get_campaign(session, "bench"),
                              get_campaign(session, "other"))
            builder.corpus = corpus
            build_rooms(builder, speakers, max(1, speakers // ROOMS_EVERY), max(1, per_defect // 8), seed=7)
        saved = {"truth": corpus.truth, "words": corpus.words, "rooms": True}
        truth.write_text(json.dumps(saved))
        return url, storage, corpus, time.perf_counter() - start
    return url, storage, corpus, 0.0


def scale_up(url: str, storage: str, corpus: Corpus, target: int, seed: int = 7) -> float:
    """Add clean takes until the campaign holds `target` clips: each a stored clean take of the corpus
    resampled by 3–10 % (another pitch and pace: no replay of its source), with a new gain and faint noise,
    recorded by a new speaker (the source's speaker number plus a multiple of the corpus's speakers).
    Return the seconds it took. Building espeak-ng takes is what makes the base corpus slow."""
    import soxr

    rng = np.random.default_rng([seed, 30])
    sources = [c for c in corpus.of(None) if corpus.words[c] != AMBIENCE_WORD]
    start, count = time.perf_counter(), len(corpus.truth)
    with session_scope(url) as session:
        builder = Builder(session, open_blob_store(storage, None), get_campaign(session, "bench"),
                          get_campaign(session, "other"))
        builder.corpus = corpus
        store = open_blob_store(storage, None)
        keys = {r.clip_id: (r.canonical_key, r.contributor) for r in load_records(session, builder.campaign)}
        speakers = {contributor: n for n, contributor in enumerate(sorted({v[1] for v in keys.values()}))}
        for n in range(target - count):
            source = sources[n % len(sources)]
            key, contributor = keys[source]
            samples = decode_canonical(store.get(key)).astype(np.float32) / 32768
            factor = (1 + rng.uniform(0.03, 0.1) * rng.choice([-1, 1]))
            stretched = soxr.resample(samples, RATE, RATE * factor) * 10 ** (rng.uniform(-4, 4) / 20)
            stretched = stretched + rng.normal(0, 10 ** (-65 / 20), stretched.shape)
            speaker = speakers[contributor] + len(speakers) * (1 + n // len(sources))
            builder.put(ingest_unchecked(stretched), corpus.words[source], speaker, None)
    return time.perf_counter() - start


def timed(url: str, storage: str, only: list[str] | None, workers: int):
    """Run the checks once, from a cold start of the workers; return (wall seconds, CPU seconds of this
    process and its workers, run)."""
    start, cpu = time.perf_counter(), _cpu_seconds()
    with session_scope(url) as session:
        run = run_checks(session, get_campaign(session, "bench"), CheckContext(storage), only=only,
                         workers=workers, progress=False)
    seconds = time.perf_counter() - start
    # The workers are the fork server's children, reaped by it: stopping it (a private call of the standard
    # library, made for its own tests) adds their CPU to this process's children, and the next run pays the
    # fork server's start again, as a `curate check` command does.
    multiprocessing.forkserver._forkserver._stop()
    return seconds, _cpu_seconds() - cpu, run


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _counts(kind: str, where: str, check: str, reason: str) -> bool:
    wanted = REASONS.get(f"{kind}@{where}", REASONS.get(kind))
    return check in EXPECTED[kind] and (wanted is None or reason in wanted)


def detection(corpus: Corpus, run) -> dict[tuple[str, str], tuple[int, int]]:
    """Return per (word kind, defect or "clean") how many clips were found (clean: flagged) of how many."""
    found = defaultdict(set)
    for finding in run.findings:
        found[finding.clip_id].add((finding.check, finding.reason))
    kinds = {word: "auxiliary" for word in AUXILIARY} | {AMBIENCE_WORD: "ambience"}
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for clip, defect in corpus.truth.items():
        groups[kinds.get(corpus.words[clip], "keyword"), defect or "clean"].append(clip)
    result = {}
    for (where, kind), clips in sorted(groups.items()):
        if kind == "clean":
            result[where, "clean flagged (any check)"] = (sum(bool(found[c]) for c in clips), len(clips))
            for check in sorted({ch for c in clips for ch, _ in found[c]}):
                flagged = sum(any(ch == check for ch, _ in found[c]) for c in clips)
                result[where, f"clean flagged by {check}"] = (flagged, len(clips))
            continue
        hits = [c for c in clips if any(_counts(kind, where, check, reason) for check, reason in found[c])]
        result[where, kind] = (len(hits), len(clips))
    return result


def main() -> None:
    """Parse arguments, build, time and report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speakers", type=int, default=500)
    parser.add_argument("--per-defect", type=int, default=40)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--store", type=Path, help="keep (or reuse) the generated store in this directory")
    parser.add_argument("--scale-to", type=int, metavar="N",
                        help="first grow the campaign to N clips with resampled copies of its clean takes")
    args = parser.parse_args()
    if args.store is not None:
        args.store.mkdir(parents=True, exist_ok=True)
        report(args, args.store)
        return
    with tempfile.TemporaryDirectory(prefix="wc-checks-bench-") as temp:
        report(args, Path(temp))


def report(args: argparse.Namespace, directory: Path) -> None:
    """Build or reuse the store, time the checks and print the tables."""
    url, storage, corpus, build_s = populate(directory, args.speakers, args.per_defect)
    if args.scale_to and args.scale_to > len(corpus.truth):
        build_s += scale_up(url, storage, corpus, args.scale_to)
        (directory / "truth.json").write_text(json.dumps({"truth": corpus.truth, "words": corpus.words,
                                                          "rooms": True}))
    clips = len(corpus.truth)
    rooms = sum(word == AMBIENCE_WORD for word in corpus.words.values())
    print(f"# checks benchmark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; {clips} clips ({rooms} ambience)"
          + (f" built and stored in {build_s:.0f} s" if build_s else " (store reused)"))
    print("| run | workers | wall s | clips/s | CPU s | CPU ms per clip |")
    print("|---|---|---|---|---|---|")
    last, stages = None, {}
    for workers in (int(w) for w in args.workers.split(",")):
        for name, only in (("stored metrics (quality, duplicate)", ["quality", "duplicate"]),
                           ("all checks with audio", None)):
            seconds, cpu, run = timed(url, storage, only, workers)
            print(f"| {name} | {workers} | {seconds:.2f} | {clips / seconds:,.0f} | {cpu:.2f} | "
                  f"{cpu * 1000 / clips:.2f} |", flush=True)
            if only is None:
                last = run
                stages[workers] = run.stages
    print("\n| stage (main process) | " + " | ".join(f"{w} worker(s): wall s, CPU s" for w in stages) + " |")
    print("|---|" + "---|" * len(stages))
    for name in next(iter(stages.values())):
        cells = " | ".join(f"{stages[w][name][0]:.2f}, {stages[w][name][1]:.2f}" if name in stages[w] else "–"
                           for w in stages)
        print(f"| {name} | {cells} |")
    print("\n| word kind | defect | found | of | recall (clean: share flagged) |\n|---|---|---|---|---|")
    for (where, kind), (hits, total) in detection(corpus, last).items():
        print(f"| {where} | {kind} | {hits} | {total} | {hits / max(total, 1):.3f} |")


if __name__ == "__main__":
    main()
