"""Balance and concentration measures over counts: pure functions, each with its textbook definition."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np


def gini(counts: Sequence[int]) -> float:
    """Return the Gini coefficient of non-negative counts (0: all equal; near 1: one holds everything)."""
    values = np.sort(np.asarray(counts, dtype=float))
    if len(values) == 0 or values.sum() == 0:
        return 0.0
    ranks = np.arange(1, len(values) + 1)
    n = len(values)
    return float(2 * (ranks * values).sum() / (n * values.sum()) - (n + 1) / n)


def top_share(counts: Sequence[int], fraction: float) -> float:
    """Return the share of the total held by the top `fraction` of holders (at least one holder)."""
    values = sorted(counts, reverse=True)
    total = sum(values)
    if not total:
        return 0.0
    top = max(1, math.ceil(len(values) * fraction))
    return sum(values[:top]) / total


def effective_number(counts: Sequence[int]) -> float:
    """Return the effective number of holders, 1 / Σ p² (inverse Simpson): N when all hold equally."""
    total = sum(counts)
    if not total:
        return 0.0
    return 1.0 / sum((c / total) ** 2 for c in counts)


def imbalance_ratio(counts: Sequence[int]) -> float:
    """Return the largest count over the smallest (inf when one is zero and another is not)."""
    if not counts or max(counts) == 0:
        return 1.0
    return math.inf if min(counts) == 0 else max(counts) / min(counts)


def evenness(counts: Sequence[int]) -> float:
    """Return Pielou's evenness, entropy / log(k): 1 when every category has the same count."""
    total = sum(counts)
    if len(counts) < 2 or not total:
        return 1.0
    entropy = -sum(c / total * math.log(c / total) for c in counts if c)
    return entropy / math.log(len(counts))


def independence(table: Sequence[Sequence[int]]) -> dict[str, float] | None:
    """Pearson's chi-square test of independence of a table, with Cramér's V (None: degenerate)."""
    from scipy.special import chdtrc  # the chi-square survival function; scipy.stats costs seconds to import

    array = np.asarray(table, dtype=float)
    array = array[array.sum(axis=1) > 0][:, array.sum(axis=0) > 0]
    if array.ndim != 2 or min(array.shape) < 2:
        return None
    expected = np.outer(array.sum(axis=1), array.sum(axis=0)) / array.sum()
    statistic = float(((array - expected) ** 2 / expected).sum())
    dof = (array.shape[0] - 1) * (array.shape[1] - 1)
    p_value = float(chdtrc(dof, statistic))
    cramers_v = math.sqrt(statistic / (array.sum() * (min(array.shape) - 1)))
    return {"chi2": round(float(statistic), 3), "dof": int(dof), "p_value": float(p_value),
            "cramers_v": round(cramers_v, 3), "min_expected": round(float(expected.min()), 2)}


def representation(observed: Mapping[str, int], reference: Mapping[str, float]) -> dict[str, float]:
    """Return each reference group's observed share over its reference share (1: as expected)."""
    total = sum(observed.values())
    ref_total = sum(reference.values())
    ratios = {}
    for group, share in reference.items():
        if share > 0 and total and ref_total:
            ratios[group] = round((observed.get(group, 0) / total) / (share / ref_total), 3)
    return ratios
