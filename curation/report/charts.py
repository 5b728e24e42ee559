"""The report's charts as PNG bytes (matplotlib, no screen): keywords, groups, speakers, metrics."""

from __future__ import annotations

import io
from typing import Any

BLUE, ORANGE, GREY = "#2f6db5", "#d9822b", "#9aa5b1"


def _figure(width: float, height: float):
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib import pyplot

    return pyplot, pyplot.figure(figsize=(width, height), dpi=100)


def _png(pyplot, figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png")
    pyplot.close(figure)
    return buffer.getvalue()


def keyword_chart(section: dict[str, Any]) -> bytes:
    """Clips per keyword as bars, each keyword's target as a tick."""
    pyplot, figure = _figure(7, 3)
    axes = figure.add_subplot()
    rows = section["rows"]
    names = [row["keyword"] for row in rows]
    axes.bar(names, [row["clips"] for row in rows], color=BLUE, label="clips")
    axes.scatter(names, [row["target"] for row in rows], marker="_", s=400, color=ORANGE, label="target")
    axes.set_ylabel("clips")
    axes.legend(loc="upper right")
    axes.tick_params(axis="x", rotation=45)
    return _png(pyplot, figure)


def group_chart(field: str, section: dict[str, Any]) -> bytes | None:
    """Each keyword's clips split by the field's groups, as stacked shares."""
    table = section["keyword_by_group"]
    if len(table["columns"]) < 2 or not table["rows"]:
        return None
    pyplot, figure = _figure(7, 3)
    axes = figure.add_subplot()
    names = [row["keyword"] for row in table["rows"]]
    bottom = [0.0] * len(names)
    for index, group in enumerate(table["columns"]):
        shares = [row["shares"][index] for row in table["rows"]]
        axes.bar(names, shares, bottom=bottom, label=group)
        bottom = [b + s for b, s in zip(bottom, shares, strict=True)]
    axes.set_ylabel(f"share of clips by {field}")
    axes.set_ylim(0, 1)
    axes.legend(loc="upper left", bbox_to_anchor=(1, 1), fontsize="small")
    axes.tick_params(axis="x", rotation=45)
    return _png(pyplot, figure)


def lorenz_chart(section: dict[str, Any]) -> bytes:
    """Lorenz curves of clips over speakers, overall and per split (the diagonal is perfect equality)."""
    pyplot, figure = _figure(4.5, 4)
    axes = figure.add_subplot()
    for name, style in (("all", "-"), ("training", "--"), ("validation", ":"), ("testing", "-.")):
        points = section[name]["lorenz"]
        if section[name]["clips"]:
            xs = [i / (len(points) - 1) for i in range(len(points))]
            axes.plot(xs, points, style, label=f"{name} (Gini {section[name]['gini']:.2f})")
    axes.plot([0, 1], [0, 1], color=GREY, linewidth=0.8)
    axes.set_xlabel("share of speakers (fewest clips first)")
    axes.set_ylabel("share of clips")
    axes.legend(fontsize="small")
    return _png(pyplot, figure)


def metric_chart(metrics: dict[str, Any]) -> bytes:
    """A histogram per quality metric."""
    shown = [(name, m) for name, m in metrics.items() if m.get("count")]
    pyplot, figure = _figure(9, 1.9 * ((len(shown) + 2) // 3))
    for index, (name, metric) in enumerate(shown, start=1):
        axes = figure.add_subplot((len(shown) + 2) // 3, 3, index)
        edges, counts = metric["histogram"]["edges"], metric["histogram"]["counts"]
        axes.stairs(counts, edges, fill=True, color=BLUE)
        axes.set_title(name, fontsize="small")
        axes.tick_params(labelsize="x-small")
    return _png(pyplot, figure)
