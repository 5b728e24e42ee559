"""Write a report: report.json, report.html with its charts embedded, and a summary for the terminal."""

from __future__ import annotations

import base64
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from curation.report import charts

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _data_url(png: bytes | None) -> str | None:
    return None if png is None else "data:image/png;base64," + base64.b64encode(png).decode()


def chart_urls(report: dict[str, Any]) -> dict[str, str | None]:
    """Render every chart of the report as a data: URL (None where there is nothing to draw)."""
    urls = {"keywords": _data_url(charts.keyword_chart(report["keywords"])),
            "speakers": _data_url(charts.lorenz_chart(report["concentration"])),
            "metrics": _data_url(charts.metric_chart(report["quality"]["metrics"]))}
    for field, section in report["demographics"].items():
        urls[f"group_{field}"] = _data_url(charts.group_chart(field, section))
    return urls


def html_report(report: dict[str, Any], *, standalone: bool = True) -> str:
    """Return the report as HTML: a whole page, or (standalone=False) the body for another page."""
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    template = environment.get_template("report.html")
    return template.render(report=report, charts=chart_urls(report), standalone=standalone)


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)  # a report is for reading by anyone who may read the directory
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_report(report: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write report.json and report.html into out_dir (each replaced whole); return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "report.json", out_dir / "report.html"]
    _write_atomic(written[0], json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    _write_atomic(written[1], html_report(report))
    return written


def terminal_summary(report: dict[str, Any]) -> str:
    """Return a few lines for the terminal: totals, keywords, concentration, and every flag."""
    totals, keywords = report["totals"], report["keywords"]
    overall = report["concentration"]["all"]
    lines = [
        f"{report['campaign']['slug']}: {totals['usable_clips']} usable of {totals['clips']} clips from "
        f"{totals['speakers']} speakers, {totals['keywords']} keywords",
        "keywords: " + ", ".join(f"{r['keyword']} {r['clips']}/{r['target']}" for r in keywords["rows"]),
        f"speakers: Gini {overall['gini']:.2f}, top 10 % made {100 * overall['top_10pct_share']:.0f} %, "
        f"effective number {overall['effective_speakers']:.1f}",
    ]
    kinds = report.get("kinds", {})
    if kinds.get("auxiliary", {}).get("words"):
        lines.append("auxiliary words: " + ", ".join(f"{r['keyword']} {r['clips']}/{r['target']}"
                                                     for r in kinds["auxiliary"]["words"]))
    if kinds.get("ambience", {}).get("asked"):
        room = kinds["ambience"]
        lines.append(f"room ambience: {room['minutes']:.1f} min from {room['speakers']} contributors")
    flags = report["flags"]
    lines.append(f"{len(flags)} flag{'s' if len(flags) != 1 else ''}" + (":" if flags else ""))
    lines.extend(f"  - {flag['message']}" for flag in flags)
    return "\n".join(lines)
