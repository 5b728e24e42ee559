"""Fairness: accuracy and false rejects per demographic group, averaged per speaker, bootstrap intervals."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

import numpy as np

GROUP_COLUMNS = ("gender", "age", "accent")  # clips.tsv's demographic columns
NOT_GIVEN = "(not given)"  # speakers who did not share the value; shown, but left out of gaps
LARGE_GAP = 0.10  # a gap of more than 10 points between groups is flagged in the model card
BOOTSTRAP_SAMPLES = 1000
CONFIDENCE = 0.95
METRICS = ("accuracy", "false_reject_rate")


def per_speaker(outcomes: Iterable[tuple[str, float]], speaker_of: Mapping[str, str]) -> dict[str, float]:
    """Mean outcome per speaker from (clip path, outcome) pairs; clips without a speaker are skipped."""
    values: dict[str, list[float]] = defaultdict(list)
    for path, outcome in outcomes:
        if path in speaker_of:
            values[speaker_of[path]].append(float(outcome))
    return {speaker: float(np.mean(items)) for speaker, items in values.items()}


def bootstrap_interval(values: np.ndarray, rng: np.random.Generator) -> list[float]:
    """A percentile bootstrap interval of the mean over speakers (speakers resampled with replacement)."""
    if len(values) < 2:
        return [float(values.mean()), float(values.mean())] if len(values) else [None, None]
    means = values[rng.integers(0, len(values), size=(BOOTSTRAP_SAMPLES, len(values)))].mean(axis=1)
    tail = (1 - CONFIDENCE) / 2 * 100
    return [float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))]


def group_rows(speaker_values: Mapping[str, Mapping[str, float]], group_of: Mapping[str, str],
               rng: np.random.Generator) -> dict[str, dict]:
    """Per group: speakers, and each metric's speaker-averaged value with its bootstrap interval."""
    members: dict[str, list[str]] = defaultdict(list)
    for speaker in sorted(set().union(*(values.keys() for values in speaker_values.values()))):
        members[group_of.get(speaker) or NOT_GIVEN].append(speaker)
    rows = {}
    for group, speakers in sorted(members.items()):
        row: dict = {"speakers": len(speakers)}
        for metric, values in speaker_values.items():
            chosen = np.array([values[s] for s in speakers if s in values])
            row[metric] = float(chosen.mean()) if len(chosen) else None
            row[f"{metric}_ci"] = bootstrap_interval(chosen, rng)
        rows[group] = row
    return rows


def gaps(rows: Mapping[str, dict]) -> dict:
    """Per metric: gap (largest minus smallest group value) and min/max ratio, over the groups given."""
    summary: dict = {"flagged": []}
    for metric in METRICS:
        values = [row[metric] for group, row in rows.items()
                  if group != NOT_GIVEN and row.get(metric) is not None]
        if len(values) < 2:
            summary[f"{metric}_gap"] = summary[f"{metric}_ratio"] = None
            continue
        low, high = min(values), max(values)
        summary[f"{metric}_gap"] = high - low
        summary[f"{metric}_ratio"] = low / high if high else None
        if high - low > LARGE_GAP:
            summary["flagged"].append(metric)
    return summary


def fairness_report(rows: Iterable[Mapping[str, str]], accuracy: Iterable[tuple[str, float]],
                    false_rejects: Iterable[tuple[str, float]], seed: int = 0) -> dict:
    """For each demographic column of clips.tsv: per-group rows, gaps and flags (METRICS per speaker)."""
    rows = list(rows)
    speaker_of = {row["path"]: row["speaker_id"] for row in rows}
    speaker_values = {"accuracy": per_speaker(accuracy, speaker_of),
                      "false_reject_rate": per_speaker(false_rejects, speaker_of)}
    rng = np.random.default_rng(seed)
    report = {}
    for column in GROUP_COLUMNS:
        group_of = {row["speaker_id"]: row.get(column, "") for row in rows}
        groups = group_rows(speaker_values, group_of, rng)
        report[column] = {"groups": groups, **gaps(groups)}
    return report
