"""Detection quality on a simulated crowd: what ingestion and `curate check` catch of each injected defect.

A crowd with every defect kind goes through a served collector (`wordcrowd simulate --serve --truth`); then
`wordcrowd curate check --findings` runs on its store. A defective upload counts as caught when ingestion
refused it (4xx) or stored it flagged for review, or when a check found something on it; clean takes at
≥ 10 dB SNR count as wrongly flagged when either did. Figures go to RESULTS.md.

    .venv/bin/python benchmarks/checks_crowd.py [--speakers 30] [--takes 20] [--defect-rate 0.3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

from machine import load_note, record_results

ROOT = Path(__file__).resolve().parent.parent
WORDCROWD = Path(sys.executable).parent / "wordcrowd"


def simulate(data: Path, truth: Path, args: argparse.Namespace) -> None:
    """Run the crowd into a fresh store."""
    command = [str(WORDCROWD), "simulate", "--serve", "--data-dir", str(data),
               "--speakers", str(args.speakers), "--takes", str(args.takes),
               "--defect-rate", str(args.defect_rate), "--votes", "0",
               "--seed", str(args.seed), "--pool", "holdout", "--truth", str(truth), "--quiet"]
    subprocess.run(command, check=True, capture_output=True, text=True)


def check(data: Path, findings: Path) -> dict[str, list[dict]]:
    """Run every check on the store; return the findings by clip id."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORDCROWD_")}
    env["WORDCROWD_DATA_DIR"] = str(data)
    command = [str(WORDCROWD), "curate", "check", "yes-no", "--findings", str(findings), "--no-progress"]
    subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    found = defaultdict(list)
    for line in findings.read_text().splitlines():
        finding = json.loads(line)
        found[finding["clip_id"]].append(finding)
    return found


def caught(upload: dict, found: dict[str, list[dict]]) -> tuple[bool, str]:
    """Say whether an upload was caught, and by what (ingestion's refusal or flag, or a check)."""
    if upload["http_status"] >= 400:
        return True, f"refused {upload['answer']['error']['code']}"
    if found.get(upload["clip_id"]):
        return True, found[upload["clip_id"]][0]["check"]
    if upload["answer"].get("flags"):
        return True, f"flagged {upload['answer']['flags'][0]}"
    return False, "missed"


def main() -> None:
    """Simulate, check, score per defect kind, append to RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speakers", type=int, default=30)
    parser.add_argument("--takes", type=int, default=20)
    parser.add_argument("--defect-rate", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep the simulated store in DIR (and reuse it when DIR already holds one)")
    parser.add_argument("--print-only", action="store_true", help="print the table; leave RESULTS.md alone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        where = args.keep or Path(folder)
        data, truth = where / "store", where / "truth.jsonl"
        if not truth.exists():
            simulate(data, truth, args)
        found = check(data, where / "findings.jsonl")
        uploads = [json.loads(line) for line in truth.read_text().splitlines()]
    uploads = [u for u in uploads if u["kind"] == "upload"]
    totals, hits, ways = Counter(), Counter(), defaultdict(Counter)
    for upload in uploads:
        defect = upload["defect"] if upload["defect"] not in (None, "", "clean") else None
        kind = defect or ("clean ≥ 10 dB" if upload["snr_db"] >= 10 else "clean < 10 dB")
        hit, way = caught(upload, found)
        totals[kind] += 1
        hits[kind] += hit
        ways[kind][way] += 1
    lines = [f"## Detection on a simulated crowd — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "",
             f"`python benchmarks/checks_crowd.py --speakers {args.speakers} --takes {args.takes} "
             f"--defect-rate {args.defect_rate} --seed {args.seed}` (held-out voices; ingestion, then "
             "`curate check` with every check)", "",
             "| kind | uploads | caught (clean: flagged) | share | caught by |", "|---|---|---|---|---|"]
    for kind in sorted(totals):
        share = hits[kind] / totals[kind]
        by = ", ".join(f"{way} {n}" for way, n in ways[kind].most_common(4))
        lines.append(f"| {kind} | {totals[kind]} | {hits[kind]} | {share:.2f} | {by} |")
    lines += ["", load_note(), ""]
    if args.print_only:
        print("\n".join(lines))
    else:
        record_results(lines)


if __name__ == "__main__":
    main()
