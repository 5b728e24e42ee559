"""PNG figures of a model directory: the confusion matrix and the per-keyword DET curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _figure(width: float, height: float):
    from matplotlib.figure import Figure  # a Figure without pyplot draws with Agg and keeps no global state

    return Figure(figsize=(width, height), dpi=100)


def plot_confusion_matrix(matrix: list[list[int]], labels: list[str], title: str, path: Path) -> None:
    """Counts of true class (rows) against predicted class (columns), each cell written in."""
    counts = np.asarray(matrix)
    figure = _figure(1.2 + 0.8 * len(labels), 1.0 + 0.8 * len(labels))
    axes = figure.add_subplot()
    axes.imshow(counts, cmap="Blues")
    axes.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    for (row, column), value in np.ndenumerate(counts):
        dark = value > counts.max() / 2
        axes.text(column, row, str(value), ha="center", va="center", color="white" if dark else "black")
    figure.tight_layout()
    figure.savefig(path)


def plot_det_curves(curves: dict[str, list[list[float]]], chosen: dict[str, list[float]], title: str,
                    path: Path) -> None:
    """False-reject rate against false accepts per hour, one line per keyword, the operating point marked."""
    figure = _figure(6.4, 4.8)
    axes = figure.add_subplot()
    for keyword, points in curves.items():
        # from the highest threshold down: false accepts rise as false rejects fall
        ordered = [(fa, frr) for _, frr, fa in sorted(points, reverse=True)
                   if frr is not None and fa is not None]
        if ordered:
            line = axes.plot(*zip(*ordered, strict=True), marker=".", label=keyword)[0]
            if keyword in chosen:
                axes.plot(*chosen[keyword], marker="o", markersize=10, fillstyle="none",
                          color=line.get_color())
    axes.set_xscale("symlog", linthresh=0.1)
    axes.set_xlabel("false accepts per hour of non-keyword audio")
    axes.set_ylabel("false-reject rate")
    axes.set_ylim(-0.02, 1.02)
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    if curves:
        axes.legend(loc="upper right")
    figure.tight_layout()
    figure.savefig(path)
