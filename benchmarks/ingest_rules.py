"""Ingestion rules on a simulated crowd, in-process: rejected and flagged shares by SNR band, defect recall.

Takes come from the same generator as `wordcrowd simulate` (simulation.takes) and go through the
collector's one pure entry point (collector.ingest.ingest), without HTTP or a database.

    python benchmarks/ingest_rules.py --pool tune --seed 1 --speakers 40 --takes 1500 --defect-rate 0.25
    python benchmarks/ingest_rules.py --pool holdout --seed 2 ...      # report on voices never tuned on
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collector.ingest import IngestError, ingest  # noqa: E402
from simulation.plan import CrowdSpec, plan_takes  # noqa: E402
from simulation.takes import CLEAN, DEFECTS, TakePlan, render  # noqa: E402

KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
SNR_BANDS_DB = ((-5, 0), (0, 5), (5, 10), (10, 15), (15, 20), (20, 30), (30, 40.01))
TOTALS_DB = (5, 10)  # summary rows: every clean take at or above these
# what counts as "caught" for each defect ingestion can see
CAUGHT = {
    "silence": lambda outcome: outcome[0] == "reject",
    "noise_only": lambda outcome: outcome[0] == "reject",
    "clipping": lambda outcome: outcome[0] == "reject" or "clipping" in outcome[1],
    "truncation": lambda outcome: outcome[0] == "reject" or "cut_off" in outcome[1],
}


def outcome(plan: TakePlan, seed: int, plans: dict[int, TakePlan]) -> tuple[str, tuple[str, ...], str]:
    """Ingest one take: ("reject", (), code) or ("accept"|"review", flags, "")."""
    try:
        clip = ingest(render(plan, seed, plans), "take.wav", "audio/wav")
    except IngestError as exc:
        return "reject", (), exc.code
    return clip.verdict, tuple(clip.flags), ""


def _run(args: tuple[list[TakePlan], int]) -> list[tuple[str, tuple[str, ...], str]]:
    chunk, seed = args
    plans = {p.index: p for p in chunk}
    return [outcome(plan, seed, plans) for plan in chunk]


def band_of(snr_db: float) -> str:
    """Return the label of the SNR band a take falls in."""
    for low, high in SNR_BANDS_DB:
        if low <= snr_db < high:
            return f"{low:g}–{round(high):g} dB"
    return "other"


def clean_table(rows: list[tuple[TakePlan, tuple]]) -> list[str]:
    """Markdown table of clean takes by SNR band: rejected and flagged shares, flags by reason."""
    lines = ["| SNR band | clean takes | rejected | flagged | flags (share of takes) |",
             "|---|---|---|---|---|"]
    bands: dict[str, list[tuple]] = collections.defaultdict(list)
    for plan, result in rows:
        if plan.defect == CLEAN:
            bands[band_of(plan.snr_db)].append(result)
            for low in TOTALS_DB:
                if plan.snr_db >= low:
                    bands[f"all ≥ {low} dB"].append(result)
            bands["all"].append(result)
    order = [band_of(low) for low, _ in SNR_BANDS_DB] + [f"all ≥ {low} dB" for low in TOTALS_DB] + ["all"]
    for label in order:
        results = bands.get(label, [])
        if not results:
            continue
        n = len(results)
        rejected = sum(r[0] == "reject" for r in results)
        flagged = sum(r[0] == "review" for r in results)
        reasons = collections.Counter(f for r in results for f in r[1])
        codes = collections.Counter(r[2] for r in results if r[2])
        detail = ", ".join(f"{k} {v / n:.1%}" for k, v in (reasons + codes).most_common())
        lines.append(f"| {label} | {n} | {rejected / n:.1%} | {flagged / n:.1%} | {detail or '–'} |")
    return lines


def defect_table(rows: list[tuple[TakePlan, tuple]]) -> list[str]:
    """Markdown table of defective takes: how many were caught, and what ingestion said."""
    lines = ["| defect | takes | caught (recall) | outcomes |", "|---|---|---|---|"]
    for defect in DEFECTS:
        results = [r for p, r in rows if p.defect == defect]
        if not results:
            continue
        said = collections.Counter(r[2] or (",".join(r[1]) or r[0]) for r in results)
        caught = f"{sum(CAUGHT[defect](r) for r in results) / len(results):.1%}" if defect in CAUGHT else "–"
        detail = ", ".join(f"{k} {v}" for k, v in said.most_common(6))
        lines.append(f"| {defect} | {len(results)} | {caught} | {detail} |")
    return lines


def main() -> None:
    """Plan a crowd, ingest every take, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pool", default="tune", choices=("tune", "holdout", "all"))
    parser.add_argument("--speakers", type=int, default=40)
    parser.add_argument("--takes", type=int, default=1500)
    parser.add_argument("--defect-rate", type=float, default=0.25)
    parser.add_argument("--snr", default="5:40", help="LOW:HIGH dB of clean takes")
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    low, high = (float(x) for x in args.snr.split(":"))
    spec = CrowdSpec(speakers=args.speakers, takes=args.takes, keywords=KEYWORDS, seed=args.seed,
                     pool=args.pool, snr_db=(low, high), defect_rate=args.defect_rate)
    plans = plan_takes(spec)
    started = time.perf_counter()
    # replays render from their source, so a speaker's takes stay in one chunk
    by_speaker: dict[int, list[TakePlan]] = collections.defaultdict(list)
    for plan in plans:
        by_speaker[plan.speaker.index].append(plan)
    chunks = [(chunk, args.seed) for chunk in by_speaker.values()]
    with ProcessPoolExecutor(args.processes) as pool:
        results = [r for chunk_results in pool.map(_run, chunks) for r in chunk_results]
    rows = list(zip([p for chunk, _ in chunks for p in chunk], results, strict=True))
    print(f"seed {args.seed}, pool {args.pool}, {args.speakers} speakers, {len(plans)} takes, "
          f"defect rate {args.defect_rate}, SNR {args.snr} dB; {time.perf_counter() - started:.0f} s\n")
    print("\n".join(clean_table(rows)))
    if any(plan.defect != CLEAN for plan in plans):
        print()
        print("\n".join(defect_table(rows)))


if __name__ == "__main__":
    main()
