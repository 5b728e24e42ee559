"""Run the checks over a campaign: map over chunks of clips (a process pool), reduce, store the findings."""

from __future__ import annotations

import contextlib
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from collector.models import Campaign
from curation.checks import ambience, duplicates, labels, rules, words
from curation.checks.findings import replace_findings
from curation.checks.pool import Workers
from curation.checks.records import (
    CHUNK_SIZE,
    CheckContext,
    CheckError,
    ClipRecord,
    Finding,
    chunks,
    count_records,
    load_records,
)
from curation.checks.vectors import FeatureBlock, feature_chunk, stack

CHECKS = (rules.CHECK, duplicates.EXACT, duplicates.NEAR, words.WRONG_WORD, words.OUTLIER, ambience.CHECK,
          labels.CHECK)
AUDIO_CHECKS = frozenset({duplicates.NEAR, words.WRONG_WORD, words.OUTLIER, ambience.CHECK})


@dataclass
class CheckRun:
    """What a run checked and found."""

    checks: list[str]
    clips: int
    workers: int = 1  # processes that did the work (1: this one alone)
    findings: list[Finding] = field(default_factory=list)
    unmatched_predictions: int = 0
    notes: list[str] = field(default_factory=list)
    stages: dict[str, list[float]] = field(default_factory=dict)  # stage → [wall s, its thread's CPU s]

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Add the wall and CPU seconds of the enclosed step to the stage's account (for benchmarks)."""
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            yield
        finally:
            spent = self.stages.setdefault(name, [0.0, 0.0])
            spent[0] += time.perf_counter() - wall
            spent[1] += time.thread_time() - cpu

    def summary(self) -> dict[str, Counter[str]]:
        """Return, per check that ran, the number of findings per reason."""
        counts: dict[str, Counter[str]] = {check: Counter() for check in self.checks}
        for finding in self.findings:
            counts[finding.check][finding.reason] += 1
        return counts


def choose_checks(only: Sequence[str] | None, predictions: Path | None) -> list[str]:
    """Return the checks to run: those named (validated), or all (label_issue only with predictions)."""
    if not only:
        return [c for c in CHECKS if c != labels.CHECK or predictions is not None]
    unknown = sorted(set(only) - set(CHECKS))
    if unknown:
        raise CheckError(f"unknown check {', '.join(unknown)}; choose from {', '.join(CHECKS)}")
    if labels.CHECK in only and predictions is None:
        raise CheckError("the label_issue check needs --predictions FILE (out-of-fold model predictions)")
    return [c for c in CHECKS if c in only]


@dataclass(frozen=True)
class _Work:
    quality: bool
    features: bool


# A pool pays for its start (~1.5 s of CPU) only with at least this many units of work (chunks) per worker.
MIN_PARTS_PER_WORKER = 2


# An ambience clip (10–30 s: decoding, voicing, a fingerprint) costs about as much as 60 spoken clips; they go
# to the workers first and in small parts, so no worker is left with all of them at the end.
AMBIENCE_PART = 4


def plan_parts(records: Sequence[ClipRecord], chunk_size: int) -> list[list[ClipRecord]]:
    """Split records into units of work: ambience in small parts first, then spoken clips in their order."""
    spoken = [r for r in records if not r.ambience]
    rooms = [r for r in records if r.ambience]
    return list(chunks(rooms, AMBIENCE_PART)) + list(chunks(spoken, chunk_size))


def map_chunk(records: list[ClipRecord], context: CheckContext, work: _Work) -> tuple[list[Finding],
                                                                                      FeatureBlock | None]:
    """The map step: rule findings and feature vectors of one chunk (pure; runs in any worker)."""
    with threadpool_limits(limits=1):  # small matrices: BLAS threads only fight the other workers
        found = rules.check_chunk(records, context) if work.quality else []
        return found, feature_chunk(records, context) if work.features else None


def _mapped(records: Sequence[ClipRecord], context: CheckContext, work: _Work, pool: Workers,
            progress: bool, chunk_size: int) -> Iterator[tuple[list[Finding], FeatureBlock | None]]:
    parts = plan_parts(records, chunk_size)
    bar = tqdm(total=len(records), desc="checking clips", unit="clip", leave=False,
               disable=not (progress and sys.stderr.isatty()))
    with bar:
        results = pool.share(map_chunk, parts, context, work)
        for part, result in zip(parts, results, strict=True):
            bar.update(len(part))
            yield result


def run_checks(session: Session, campaign: Campaign, context: CheckContext, *,
               only: Sequence[str] | None = None, predictions: Path | None = None, workers: int = 1,
               progress: bool = True, chunk_size: int = CHUNK_SIZE) -> CheckRun:
    """Run the chosen checks over every clip of the campaign and store their findings; commit. With
    workers > 1 and audio to read, one pool of worker processes serves the map and the reduce steps."""
    chosen = choose_checks(only, predictions)
    run = CheckRun(chosen, 0)
    work = _Work(rules.CHECK in chosen, bool(AUDIO_CHECKS & set(chosen)))
    read = None
    # metrics alone, or a small campaign: a pool costs more than it saves
    big = workers > 1 and count_records(session, campaign) >= MIN_PARTS_PER_WORKER * workers * chunk_size
    with Workers(workers if work.features and big else 1) as pool:
        run.workers = pool.count
        with run.stage("load records"):
            records = load_records(session, campaign)
        run.clips = len(records)
        if labels.CHECK in chosen:  # read first: a bad file fails before any work is done
            read = labels.read_predictions(predictions, records)
            run.unmatched_predictions = read.unmatched
        blocks = []
        with run.stage("map (rules, decode, features)"):
            for found, block in _mapped(records, context, work, pool, progress, chunk_size):
                run.findings.extend(found)
                if block is not None:
                    blocks.append(block)
        # one thread: faiss's OpenMP threads spin and, on a shared machine, cost more than they bring
        with threadpool_limits(limits=1):
            _reduce(session, records, chosen, blocks, context, run, read, pool)
    with run.stage("store findings"):
        replace_findings(session, campaign, records, chosen, run.findings)
        session.commit()  # one unit: a run that fails before here leaves the earlier findings as they were
    return run


def _reduce(session: Session, records: Sequence[ClipRecord], chosen: list[str], blocks: list[FeatureBlock],
            context: CheckContext, run: CheckRun, predictions: labels.Predictions | None,
            pool: Workers) -> None:
    """The reduce steps: hash lookups, the fingerprint index, keyword centroids, confident learning. The
    near-duplicate waveform checks go to the pool while this process fits the word classifier's folds."""
    if duplicates.EXACT in chosen:
        with run.stage("exact duplicates"):
            run.findings.extend(duplicates.exact_duplicates(session, records))
    if blocks:
        block = stack(blocks)
        if ambience.CHECK in chosen:
            run.findings.extend(block.ambience_findings)
        word_checks = [c for c in (words.WRONG_WORD, words.OUTLIER) if c in chosen]
        # the folds in a thread of this process (the workers need no scikit-learn) while this one indexes
        with ThreadPoolExecutor(max_workers=1) as side:
            word_future = (side.submit(words.word_findings, records, block, word_checks, run.stage)
                           if word_checks else None)
            if duplicates.NEAR in chosen:
                run.findings.extend(duplicates.near_duplicates(records, block, context, run.stage, pool))
            if word_future is not None:
                run.findings.extend(word_future.result())
    if predictions is not None:
        with run.stage("label issues"):
            found, notes = labels.label_issues(predictions)
        run.findings.extend(found)
        run.notes.extend(notes)
