"""Wrong words and outliers per keyword, from each clip's word embedding.

Wrong words: a classifier of the campaign's own keywords (logistic regression, scikit-learn) scores every
clip out of fold, with folds split by speaker, so no clip is judged by a model that heard its voice; a clip
whose label the model finds far less likely than another keyword is flagged. Outliers: distance to the
keyword's typical clips (a trimmed centroid), as MSWC ranked clips by embedding distance."""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from curation.checks.records import ClipRecord, Finding, Stage, unmeasured
from curation.checks.vectors import FeatureBlock

WRONG_WORD = "wrong_word"
OUTLIER = "outlier"
MIN_CLIPS = 5  # a keyword with fewer clips has no "typical clip" to compare with
TRIM_SHARE = 0.2  # the centroid is recomputed without this share of the clips farthest from the first mean
# A clip is a wrong word when, out of fold, another word is this many times likelier than its own label.
# Tuned on simulated crowds of seed 11 only (benchmarks/checks_crowd.py; 60 speakers × 30 takes for the
# choice, 30 × 20 to check it): with C = 1 and odds 5, recall 0.61 at 2.5 % of clean takes ≥ 10 dB flagged by
# the word checks; C = 3, odds 7 and a 20 dB span 0.71 at the same share (LDA: 0.67; more folds: no gain).
WRONG_WORD_ODDS = 7.0
WORD_FOLDS = 5
WORD_C = 3.0  # the classifier's inverse regularisation strength (1: recall 0.61, 3: 0.66, 10: 0.63)
WORD_TOL, WORD_MAX_ITER = 1e-3, 300  # the same flags as a tight fit, at a fifth of the time
# An outlier: its distance to its keyword's centroid is this many robust standard deviations (MAD) above the
# keyword's median distance. 6 rather than 5 halved the clean takes ≥ 10 dB it flagged on the seed-11 crowds
# (11 → 5 of 1,087) and lost no wrong word there (benchmarks/checks_crowd.py).
OUTLIER_Z = 6.0
MAD_TO_SIGMA = 1.4826
# Scores lie in [0, 1] like every check's: wrong_word is p(other) / (p(other) + p(own)); outlier is
# z / (z + OUTLIER_Z).


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


def word_findings(records: Sequence[ClipRecord], block: FeatureBlock,
                  checks: Sequence[str] = (WRONG_WORD, OUTLIER), stage: Stage = unmeasured) -> list[Finding]:
    """Return wrong-word findings (another word is likelier) and outlier findings (far from its own)."""
    keyword = {r.clip_id: r.keyword for r in records}
    labels = [keyword[cid] for cid in block.clip_ids]
    findings: list[Finding] = []
    with stage("outliers"):
        centres = centroids(labels, block.embeddings)
        if not centres:
            return []
        names = sorted(centres)
        if OUTLIER in checks:
            similarity = block.embeddings @ np.stack([centres[n] for n in names]).T
            findings += _outliers(block.clip_ids, labels, names, similarity)
    if WRONG_WORD in checks and len(names) > 1:
        speaker = {r.clip_id: r.contributor for r in records}
        with stage("wrong words (classifier folds)"):
            findings += _wrong_words(block.clip_ids, labels, [speaker[c] for c in block.clip_ids],
                                     block.embeddings)
    return findings


def out_of_fold(labels: Sequence[str], speakers: Sequence[str], vectors: np.ndarray,
                classes: list[str]) -> np.ndarray | None:
    """Return each clip's class probabilities from a model trained on other speakers (None: too few)."""
    from sklearn.model_selection import GroupKFold

    folds = min(WORD_FOLDS, len(set(speakers)))
    if folds < 2:
        return None
    target = np.asarray(labels)
    column = {name: index for index, name in enumerate(classes)}
    probabilities = np.zeros((len(target), len(classes)))
    splits = [(train, test) for train, test in GroupKFold(folds).split(vectors, target, np.asarray(speakers))
              if len(set(target[train])) > 1]
    fitted = map(fold_probabilities, [vectors[train] for train, _ in splits],
                      [target[train] for train, _ in splits], [vectors[test] for _, test in splits])
    for (_train, test), (fold_classes, predicted) in zip(splits, fitted, strict=True):
        probabilities[np.ix_(test, [column[c] for c in fold_classes])] = predicted
    return probabilities


def fold_probabilities(train: np.ndarray, labels: np.ndarray,
                       test: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Fit the word classifier on one fold's training rows; return its classes and the test rows'
    probabilities (pure: runs in any worker)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    model = LogisticRegression(C=WORD_C, tol=WORD_TOL, max_iter=WORD_MAX_ITER)
    with warnings.catch_warnings(), threadpool_limits(limits=1):  # loosely converged ranks as well (above)
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(train, labels)
    return [str(c) for c in model.classes_], model.predict_proba(test)


def _wrong_words(clip_ids: Sequence[str], labels: Sequence[str], speakers: Sequence[str],
                 vectors: np.ndarray) -> list[Finding]:
    classes = sorted(set(labels))
    probabilities = out_of_fold(labels, speakers, vectors, classes)
    if probabilities is None:
        return []
    findings = []
    for row, (clip_id, label) in enumerate(zip(clip_ids, labels, strict=True)):
        own = float(probabilities[row, classes.index(label)])
        others = probabilities[row].copy()
        others[classes.index(label)] = -1.0
        best = int(np.argmax(others))
        if others[best] > WRONG_WORD_ODDS * own:
            score = float(others[best] / (others[best] + own))  # > 7/8 here; 1 when the label has no chance
            findings.append(Finding(clip_id, WRONG_WORD, "sounds_like_other_keyword", score,
                                    f"sounds more like {classes[best]!r} than like {label!r}"))
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
