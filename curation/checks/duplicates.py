"""Exact duplicates (same canonical PCM or same upload, across contributors and campaigns) and
near-duplicates (re-uploads and replays with another gain or added noise: fingerprints in a faiss HNSW
index for candidates, then a normalised cross-correlation of the two waveforms to confirm)."""

from __future__ import annotations

from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import scipy.fft
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from collector.canonical import CANONICAL_RATE_HZ, CANONICAL_SAMPLES
from collector.models import Campaign, Clip, as_utc
from curation.checks.ambience import LENGTH_SLACK_S, MAX_SECONDS
from curation.checks.pool import SERIAL, Workers
from curation.checks.records import CheckContext, ClipRecord, Finding, Stage, load_audio, unmeasured
from curation.checks.vectors import FeatureBlock

EXACT = "duplicate"
NEAR = "near_duplicate"
NEIGHBOURS = 2  # candidates per clip: a replay is its original's nearest (8 cost 2x for no gain)
# A pair is a candidate when its fingerprints' cosine similarity reaches this: replays (20–35 dB SNR,
# −10…+4 dB gain) measured 0.5–1.0, distinct takes of one voice up to 0.75; on 10.5k clips 0.6 left a
# fifth fewer pairs than 0.55 for the same replays found (benchmarks/RESULTS.md), and with NEIGHBOURS = 2
# the waveform check below runs less than once per clip …
CANDIDATE_SIMILARITY = 0.6
# … and a near-duplicate when the waveforms' peak normalised cross-correlation within ±MAX_LAG_MS reaches
# this (replays 0.95–1.0; different takes of the same word by the same voice at most 0.75).
MIN_CORRELATION = 0.9
MAX_LAG_MS = 100
AUDIO_CACHE_CLIPS = 2048  # clip spectra kept while confirming pairs (a clip is often in several)
# Ambience clips are compared at any alignment, over their whole length (up to the longest ambience asked
# for, and its slack); their spectra are 8 MB each, so few are kept.
AMBIENCE_SAMPLES = int((MAX_SECONDS + LENGTH_SLACK_S) * CANONICAL_RATE_HZ)
AMBIENCE_CACHE_CLIPS = 16
# Candidate pairs go to the workers in about PARTS_PER_WORKER parts each, ordered by connected component of
# the pair graph so that a clip's pairs share a part and its spectrum is computed once (on 10.6k clips: 1.05
# spectra per clip in parts of ~1,000 pairs, against 1.7 with pairs in index order); never fewer than
# MIN_PAIR_PART pairs a part (a room recording is ~30× longer, so its pairs go one by one if need be).
PARTS_PER_WORKER = 4
MIN_PAIR_PART = 256
MIN_AMBIENCE_PAIR_PART = 1
# faiss IndexHNSWFlat M and efSearch: 16 and 32 found the same replays as 32 and 64, in half the time
HNSW_LINKS = 16
HNSW_SEARCH_DEPTH = 32


def _earliest_key(row: tuple) -> tuple:
    return as_utc(row[3]), row[4]


def _stored_twins(session: Session) -> list[tuple]:
    """Return (public id, sha256, original sha256, created, row id, campaign slug) of every stored clip,
    in any campaign, whose canonical or original hash another clip shares (two grouping scans)."""
    shared_audio = select(Clip.sha256).group_by(Clip.sha256).having(func.count() > 1)
    shared_upload = select(Clip.original_sha256).group_by(Clip.original_sha256).having(func.count() > 1)
    columns = (Clip.public_id, Clip.sha256, Clip.original_sha256, Clip.created_at, Clip.id, Campaign.slug)
    query = (select(*columns)
             .join(Campaign, Clip.campaign_id == Campaign.id)
             .where(or_(Clip.sha256.in_(shared_audio), Clip.original_sha256.in_(shared_upload))))
    return [tuple(row) for row in session.execute(query)]


def exact_duplicates(session: Session, records: Sequence[ClipRecord]) -> list[Finding]:
    """Flag every clip of the records whose upload or canonical audio an earlier stored clip already has."""
    mine = {r.clip_id for r in records}
    groups: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    for row in _stored_twins(session):
        groups["same_upload", row[2]].append(row)
        groups["same_audio", row[1]].append(row)
    found: dict[str, Finding] = {}
    for (reason, _digest), rows in sorted(groups.items()):  # "same_audio" < "same_upload": upload wins
        if len(rows) < 2:
            continue
        first, *later = sorted(rows, key=_earliest_key)
        for row in later:
            if row[0] in mine:
                what = "upload" if reason == "same_upload" else "canonical audio"
                found[row[0]] = Finding(row[0], EXACT, reason, 1.0,
                                        f"the same {what} as clip {first[0]} (campaign {first[5]})", first[0])
    return list(found.values())


def candidate_pairs(prints: np.ndarray, neighbours: int = NEIGHBOURS,
                    threshold: float = CANDIDATE_SIMILARITY) -> list[tuple[int, int, float]]:
    """Return (i, j, similarity), i < j, for fingerprint pairs at or above threshold (an HNSW index)."""
    import faiss

    count = len(prints)
    if count < 2:
        return []
    index = faiss.IndexHNSWFlat(prints.shape[1], HNSW_LINKS, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efSearch = max(HNSW_SEARCH_DEPTH, neighbours)
    index.add(np.ascontiguousarray(prints, dtype=np.float32))
    similarity, found = index.search(np.ascontiguousarray(prints, dtype=np.float32),
                                     min(neighbours + 1, count))
    pairs = {}
    for i, (row_sims, row_ids) in enumerate(zip(similarity, found, strict=True)):
        for sim, j in zip(row_sims, row_ids, strict=True):
            if j >= 0 and j != i and sim >= threshold:
                pairs[min(i, j), max(i, j)] = float(sim)
    return [(i, j, sim) for (i, j), sim in sorted(pairs.items())]


@dataclass(frozen=True)
class Spectrum:
    """A signal's zero-padded FFT and its energy: computed once per clip, used in each of its pairs."""

    fft: np.ndarray
    size: int  # of the padded signal
    energy: float


def spectrum(signal: np.ndarray, size: int | None = None) -> Spectrum:
    """Return the FFT, padded to `size` (default: room for a linear correlation with an equally long
    signal), and the energy."""
    values = signal.astype(np.float32)
    size = size or scipy.fft.next_fast_len(2 * len(values), real=True)
    return Spectrum(scipy.fft.rfft(values, size), size, float(np.dot(values, values)))


def peak_correlation(a: np.ndarray | Spectrum, b: np.ndarray | Spectrum, max_lag: int | None) -> float:
    """Return the largest normalised cross-correlation of two signals (or their spectra of one size)
    within ±max_lag samples (None: at any lag)."""
    if not isinstance(a, Spectrum) or not isinstance(b, Spectrum):
        size = scipy.fft.next_fast_len(len(a) + len(b), real=True)  # arrays here
        a, b = spectrum(a, size), spectrum(b, size)
    energy = float(np.sqrt(a.energy * b.energy))
    if energy == 0.0:
        return 0.0
    full = scipy.fft.irfft(a.fft * np.conj(b.fft), a.size)
    around = full if max_lag is None else np.concatenate([full[-max_lag:], full[:max_lag + 1]])
    return float(np.abs(around).max() / energy)


@dataclass(frozen=True)
class Comparison:
    """How two recordings are compared: their first `samples`, FFTs of `size`, lags within ±max_lag
    (None: any), and how many spectra a worker keeps."""

    samples: int
    size: int
    max_lag: int | None
    cache: int

    def spectrum(self, samples: np.ndarray) -> Spectrum:
        """Return the spectrum of the recording's first `samples`."""
        return spectrum(samples[:self.samples], self.size)


def comparisons() -> tuple[Comparison, Comparison]:
    """Return the comparisons of spoken clips and of ambience clips."""
    max_lag = MAX_LAG_MS * CANONICAL_RATE_HZ // 1000
    # circular correlation over L + max_lag samples holds every lag within ±max_lag unwrapped
    spoken = Comparison(CANONICAL_SAMPLES, scipy.fft.next_fast_len(CANONICAL_SAMPLES + max_lag, real=True),
                        max_lag, AUDIO_CACHE_CLIPS)
    rooms = Comparison(AMBIENCE_SAMPLES, scipy.fft.next_fast_len(2 * AMBIENCE_SAMPLES, real=True), None,
                       AMBIENCE_CACHE_CLIPS)
    return spoken, rooms


def near_duplicates(records: Sequence[ClipRecord], block: FeatureBlock, context: CheckContext,
                    stage: Stage = unmeasured, pool: Workers = SERIAL) -> list[Finding]:
    """Flag the later clip of each confirmed near-duplicate pair (exact copies are the other check's):
    spoken clips among themselves, ambience clips among themselves; the waveform checks run in the pool."""
    by_id = {r.clip_id: r for r in records}
    spoken, rooms = comparisons()
    with stage("near duplicates: index"):
        pairs = candidate_pairs(block.fingerprints)
        room_pairs = candidate_pairs(block.ambience_prints)
    with stage("near duplicates: waveform check"):
        found = _confirm_all([by_id[cid] for cid in block.ambience_ids], room_pairs, context, rooms, pool,
                             MIN_AMBIENCE_PAIR_PART)
        return found + _confirm_all([by_id[cid] for cid in block.clip_ids], pairs, context, spoken, pool,
                                    MIN_PAIR_PART)


def by_component(pairs: list[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    """Return the pairs grouped by connected component of the graph they form (in index order within)."""
    if not pairs:
        return []
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    first, second = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    size = int(max(first.max(), second.max())) + 1
    _count, component = connected_components(coo_matrix((np.ones(len(pairs)), (first, second)),
                                                         shape=(size, size)), directed=False)
    return [pairs[k] for k in np.argsort(component[first], kind="stable")]


def _confirm_all(ordered: list[ClipRecord], pairs: list[tuple[int, int, float]], context: CheckContext,
                 comparison: Comparison, pool: Workers, smallest: int) -> list[Finding]:
    """Confirm the pairs in parts (in the pool; in one part without one); keep each later clip's best
    finding. Pairs are confirmed in the same order whatever the parts, so the findings are the same."""
    pairs = by_component(pairs)
    part_size = max(smallest, -(-len(pairs) // (pool.count * PARTS_PER_WORKER))) if pool.parallel \
        else max(1, len(pairs))
    jobs = []
    for start in range(0, len(pairs), part_size):
        part = pairs[start:start + part_size]
        rows = sorted({row for i, j, _sim in part for row in (i, j)})
        local = {row: n for n, row in enumerate(rows)}
        jobs.append(([ordered[row] for row in rows], [(local[i], local[j], sim) for i, j, sim in part]))
    confirm = partial(confirm_pairs, context=context, comparison=comparison)
    found: dict[str, Finding] = {}
    for result in pool.map(confirm, [records for records, _ in jobs], [part for _, part in jobs]):
        for finding in result:
            _keep_best(found, finding)
    return list(found.values())


def _keep_best(found: dict[str, Finding], finding: Finding) -> None:
    """Keep the finding if its clip has none yet or only a lower-scored one (the first of equals stays)."""
    if finding.score > getattr(found.get(finding.clip_id), "score", 0.0):
        found[finding.clip_id] = finding


def confirm_pairs(ordered: list[ClipRecord], pairs: list[tuple[int, int, float]], context: CheckContext,
                  comparison: Comparison) -> list[Finding]:
    """Confirm candidate pairs of these records by waveform correlation; return a finding per later clip
    (pure: runs in any worker)."""
    spectra = _Spectra(pairs, lambda row: comparison.spectrum(load_audio(ordered[row], context)),
                       comparison.cache)
    found: dict[str, Finding] = {}
    for i, j, _sim in pairs:
        first, later = sorted((ordered[i], ordered[j]), key=lambda r: (r.created_at, r.row_id))
        if first.sha256 == later.sha256:
            continue
        score = peak_correlation(spectra.get(i), spectra.get(j), comparison.max_lag)
        if score >= MIN_CORRELATION:
            _keep_best(found, Finding(
                later.clip_id, NEAR, "near_duplicate", score,
                f"the same recording as clip {first.clip_id} with another level or noise", first.clip_id))
    return list(found.values())


class _Spectra:
    """Each clip's spectrum, computed once while pairs still need it and dropped after its last pair (an
    LRU cache of one size decoded a clip about twice: a clip is in about two pairs, far apart)."""

    def __init__(self, pairs: list[tuple[int, int, float]], compute: Callable[[int], Spectrum],
                 limit: int) -> None:
        self.uses = Counter(row for i, j, _sim in pairs for row in (i, j))
        self.compute, self.limit = compute, limit
        self.kept: OrderedDict[int, Spectrum] = OrderedDict()

    def get(self, row: int) -> Spectrum:
        """Return the row's spectrum for one more use."""
        value = self.kept.pop(row, None)
        if value is None:
            value = self.compute(row)
        self.uses[row] -= 1
        if self.uses[row] > 0:
            self.kept[row] = value
            if len(self.kept) > self.limit:
                self.kept.popitem(last=False)
        return value
