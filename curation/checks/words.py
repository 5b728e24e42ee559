"""Wrong words and outliers per keyword: each clip's word embedding against its keyword's typical clips
(a trimmed centroid), as MSWC ranked clips by embedding distance."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from curation.checks.records import ClipRecord, Finding
from curation.checks.vectors import FeatureBlock

WRONG_WORD = "wrong_word"
OUTLIER = "outlier"
MIN_CLIPS = 5  # a keyword with fewer clips has no "typical clip" to compare with
TRIM_SHARE = 0.2  # the centroid is recomputed without this share of the clips farthest from the first mean
# A clip is a wrong word when another keyword's centroid is nearer (cosine) than its own by this margin.
WRONG_WORD_MARGIN = 0.0
# An outlier: its distance to its keyword's centroid is this many robust standard deviations (MAD) above the
# keyword's median distance.
OUTLIER_Z = 5.0
MAD_TO_SIGMA = 1.4826
# Scores lie in [0, 1] like every check's: wrong_word is a two-way softmax of the two cosine similarities at
# this temperature (0.5 = equally near, 1 = only like the other word); outlier is z / (z + OUTLIER_Z).
SOFTMAX_TEMPERATURE = 0.05


def centroids(labels: Sequence[str], vectors: np.ndarray) -> dict[str, np.ndarray]:
    """Return a unit trimmed-mean vector per label that has at least MIN_CLIPS clips."""
    rows: dict[str, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        rows[label].append(index)
    result = {}
    for label, index in rows.items():
        if len(index) < MIN_CLIPS:
            continue
        members = vectors[index]
        mean = members.mean(axis=0)
        keep = np.argsort(-(members @ mean))[:max(MIN_CLIPS, int(len(index) * (1 - TRIM_SHARE)))]
        centre = members[keep].mean(axis=0)
        result[label] = centre / max(float(np.linalg.norm(centre)), 1e-12)
    return result


def word_findings(records: Sequence[ClipRecord], block: FeatureBlock) -> list[Finding]:
    """Return wrong-word findings (another keyword is nearer) and outlier findings (far from its own)."""
    keyword = {r.clip_id: r.keyword for r in records}
    labels = [keyword[cid] for cid in block.clip_ids]
    centres = centroids(labels, block.embeddings)
    if not centres:
        return []
    names = sorted(centres)
    similarity = block.embeddings @ np.stack([centres[n] for n in names]).T
    findings = _wrong_words(block.clip_ids, labels, names, similarity) if len(names) > 1 else []
    return findings + _outliers(block.clip_ids, labels, names, similarity)


def _wrong_words(clip_ids: Sequence[str], labels: Sequence[str], names: list[str],
                 similarity: np.ndarray) -> list[Finding]:
    findings = []
    for row, (clip_id, label) in enumerate(zip(clip_ids, labels, strict=True)):
        if label not in names:
            continue
        own = similarity[row, names.index(label)]
        others = similarity[row].copy()
        others[names.index(label)] = -np.inf
        best = int(np.argmax(others))
        margin = float(others[best] - own)
        if margin > WRONG_WORD_MARGIN:
            score = 1.0 / (1.0 + float(np.exp(-margin / SOFTMAX_TEMPERATURE)))
            findings.append(Finding(clip_id, WRONG_WORD, "sounds_like_other_keyword", score,
                                    f"sounds more like {names[best]!r} than like {label!r}"))
    return findings


def _outliers(clip_ids: Sequence[str], labels: Sequence[str], names: list[str],
              similarity: np.ndarray) -> list[Finding]:
    distance = np.array([1.0 - similarity[row, names.index(label)] if label in names else np.nan
                         for row, label in enumerate(labels)])
    findings = []
    for name in names:
        rows = [row for row, label in enumerate(labels) if label == name]
        values = distance[rows]
        median = float(np.median(values))
        spread = max(MAD_TO_SIGMA * float(np.median(np.abs(values - median))), 1e-6)
        for row, value in zip(rows, values, strict=True):
            z = (float(value) - median) / spread
            if z > OUTLIER_Z:
                findings.append(Finding(clip_ids[row], OUTLIER, "far_from_keyword", z / (z + OUTLIER_Z),
                                        f"unlike the typical {name!r} clip ({z:.1f} robust deviations)"))
    return findings
