"""Label issues by confident learning (cleanlab) over a model's out-of-fold predictions read from a file.

The predictions file (docs/checks.md): tab-separated, a header `clip_id<TAB>label<TAB><class>…` (or `sha256`
instead of `clip_id`, the canonical-audio hash a release's clips.tsv carries), then one row per clip: its id,
the label it was trained under, and one probability per class, in the header's order.
"""

from __future__ import annotations

import csv
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from curation.checks.records import CheckError, ClipRecord, Finding

CHECK = "label_issue"
ID_COLUMNS = ("clip_id", "sha256")
SUM_TOLERANCE = 1e-3  # each row's probabilities must add up to 1 within this


@dataclass(frozen=True)
class Predictions:
    """Out-of-fold predictions: per clip (public id) its given label and class probabilities."""

    classes: list[str]
    clip_ids: list[str]
    labels: list[str]
    probabilities: np.ndarray  # clips × classes
    unmatched: int  # rows whose clip is not in the campaign


def _header(path: Path, header: list[str]) -> tuple[str, list[str]]:
    if len(header) < 4 or header[0] not in ID_COLUMNS or header[1] != "label":
        raise CheckError(f"{path}: the header must be `clip_id` (or `sha256`), `label`, then two or more "
                         "class names, tab-separated")
    classes = header[2:]
    if len(set(classes)) != len(classes):
        raise CheckError(f"{path}: the header names a class twice")
    return header[0], classes


def _probabilities(path: Path, line: int, cells: list[str], width: int) -> list[float]:
    if len(cells) != width:
        raise CheckError(f"{path}, line {line}: {len(cells)} probabilities for {width} classes")
    try:
        values = [float(cell) for cell in cells]
    except ValueError:
        raise CheckError(f"{path}, line {line}: a probability is not a number") from None
    if not all(0.0 <= v <= 1.0 for v in values) or not math.isclose(sum(values), 1.0, abs_tol=SUM_TOLERANCE):
        raise CheckError(f"{path}, line {line}: probabilities must lie in [0, 1] and add up to 1")
    return values


def read_predictions(path: Path, records: Sequence[ClipRecord]) -> Predictions:
    """Read and check a predictions file; keep the rows of the campaign's clips."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle, delimiter="\t"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckError(f"cannot read the predictions file {path}: {exc}") from None
    if not rows:
        raise CheckError(f"{path} is empty; it needs a header and one row per clip")
    id_column, classes = _header(path, rows[0])
    lookup = {(r.clip_id if id_column == "clip_id" else r.sha256): r.clip_id for r in records}
    clip_ids, labels, probabilities, unmatched, seen = [], [], [], 0, set()
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) < 2 or row[1] not in classes:
            raise CheckError(f"{path}, line {line}: the label must be one of the header's classes")
        values = _probabilities(path, line, row[2:], len(classes))
        if row[0] not in lookup:
            unmatched += 1
            continue
        if lookup[row[0]] in seen:
            raise CheckError(f"{path}, line {line}: clip {row[0]} appears a second time")
        seen.add(lookup[row[0]])
        clip_ids.append(lookup[row[0]])
        labels.append(row[1])
        probabilities.append(values)
    matrix = np.array(probabilities, dtype=np.float64).reshape(-1, len(classes))
    return Predictions(classes, clip_ids, labels, matrix, unmatched)


def label_issues(predictions: Predictions) -> tuple[list[Finding], list[str]]:
    """Return a finding per clip confident learning calls mislabelled (score: 1 − label quality), and
    cleanlab's warnings (e.g. a class with too few clips) as notes for the summary."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    if len(set(predictions.labels)) < 2:
        raise CheckError("the predictions cover fewer than two labels; confident learning needs at least two")
    index = {name: i for i, name in enumerate(predictions.classes)}
    labels = np.array([index[label] for label in predictions.labels])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        issues = find_label_issues(labels, predictions.probabilities, filter_by="prune_by_noise_rate")
        quality = get_label_quality_scores(labels, predictions.probabilities, method="self_confidence")
    notes = sorted({f"cleanlab: {warning.message}" for warning in caught})
    findings = []
    for row in np.flatnonzero(issues):
        guess = int(np.argmax(predictions.probabilities[row]))
        findings.append(Finding(
            predictions.clip_ids[row], CHECK, "likely_mislabelled", float(1.0 - quality[row]),
            f"labelled {predictions.labels[row]!r}, the model says {predictions.classes[guess]!r} "
            f"({predictions.probabilities[row, guess]:.2f})"))
    return findings, notes
