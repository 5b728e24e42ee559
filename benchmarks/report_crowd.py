"""Does the bias report flag what it should, and only that? Three simulated crowds through a served collector.

Each crowd (`wordcrowd simulate --serve`, its own data directory) is reported with `wordcrowd curate report`:
a balanced crowd must raise no flag, a crowd where women say 90 % of 'stop' must raise a keyword × gender
flag, and a crowd where one speaker records 30 % of everything must raise a dominant-speaker flag.

    .venv/bin/python benchmarks/report_crowd.py [--speakers 40] [--takes 30]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from machine import load_note, record_results

ROOT = Path(__file__).resolve().parent.parent
WORDCROWD = Path(sys.executable).parent / "wordcrowd"
CROWDS = {"balanced": [], "stop:female:0.9": ["--skew", "stop:female:0.9"],
          "speaker:0.3": ["--skew", "speaker:0.3"]}


def run_crowd(folder: Path, name: str, extra: list[str], speakers: int, takes: int) -> dict:
    """Simulate one crowd into its own store, report on it; return the report and timings."""
    data = folder / name.replace(":", "_")
    started = time.perf_counter()
    command = [str(WORDCROWD), "simulate", "--serve", "--data-dir", str(data), "--speakers", str(speakers),
               "--takes", str(takes), "--votes", "0", "--profile-share", "1", "--seed", "7", "--quiet",
               *extra]
    subprocess.run(command, check=True, capture_output=True, text=True)
    simulated = time.perf_counter() - started
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORDCROWD_")}
    env["WORDCROWD_DATA_DIR"] = str(data)
    campaign = "yes-no"
    started = time.perf_counter()
    subprocess.run([str(WORDCROWD), "curate", "report", campaign, "--out", str(data / "report")], env=env,
                   check=True, capture_output=True, text=True)
    reported = time.perf_counter() - started
    report = json.loads((data / "report" / "report.json").read_text())
    return {"report": report, "simulate_s": simulated, "report_s": reported}


def main() -> None:
    """Run the three crowds and append what the report flagged to RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speakers", type=int, default=40)
    parser.add_argument("--takes", type=int, default=30)
    args = parser.parse_args()
    lines = [f"## Bias report on simulated crowds — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "",
             f"`python benchmarks/report_crowd.py --speakers {args.speakers} --takes {args.takes}` "
             "(`wordcrowd simulate --serve`, every speaker declares a profile, no votes; then "
             "`curate report`)", "", "| crowd | clips | speakers | flags raised | simulate s | report s |",
             "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as folder:
        for name, extra in CROWDS.items():
            outcome = run_crowd(Path(folder), name, extra, args.speakers, args.takes)
            report = outcome["report"]
            flags = "; ".join(flag["message"] for flag in report["flags"]) or "none"
            lines.append(f"| {name} | {report['totals']['usable_clips']} | {report['totals']['speakers']} | "
                         f"{flags} | {outcome['simulate_s']:.0f} | {outcome['report_s']:.1f} |")
    lines += ["", load_note(), ""]
    record_results(lines)


if __name__ == "__main__":
    main()
