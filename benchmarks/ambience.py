"""Room ambience ingestion on simulated rooms, in-process: speech_in_ambience by how loud the talking is.

Rooms come from `wordcrowd simulate`'s generator (simulation.ambience: the speakers' noise kinds and device
rates, 10-30 s, -60 to -30 dBFS); half have 2-4 words said in them, their peak a drawn number of dB over the
room's RMS. Each goes through collector.ingest.ingest_ambience, without HTTP or a database.

    python benchmarks/ambience.py --rooms 400 --seed 1
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import record_results  # noqa: E402
from collector.ingest import IngestError, ingest_ambience  # noqa: E402
from simulation.ambience import plan_ambience, render_ambience  # noqa: E402
from simulation.voices import make_crowd  # noqa: E402

OVER_BANDS_DB = ((0, 10), (10, 20), (20, 30), (30, 40.01))  # word peak over the room's RMS


def band_of(over_db: float) -> str:
    """Return the label of the loudness band of the talking in a room."""
    for low, high in OVER_BANDS_DB:
        if low <= over_db < high:
            return f"{low:g}–{round(high):g} dB"
    return "other"


def run(rooms: int, seed: int) -> tuple[collections.Counter, float, float, int]:
    """Ingest the rooms; return outcomes by (band or 'quiet', noise, verdict), CPU s, audio s, rejects."""
    crowd = make_crowd(rooms, seed, "all")
    rng = np.random.default_rng([seed, 8])
    plans = [dataclasses.replace(plan, speech_over_room_db=round(float(rng.uniform(0, 40)), 1))
             if plan.spoken else plan for plan in plan_ambience(crowd, 1.0, 0.5, seed)]
    outcomes: collections.Counter = collections.Counter()
    cpu = audio = 0.0
    rejected = 0
    for plan in plans:
        wav = render_ambience(plan, seed)
        started = time.process_time()
        try:
            made = ingest_ambience(wav, "room.wav", "audio/wav")
        except IngestError:
            rejected += 1
            continue
        finally:
            cpu += time.process_time() - started
        audio += plan.seconds
        band = band_of(plan.speech_over_room_db) if plan.spoken else "no speech"
        outcomes[(band, "speech_in_ambience" in made.flags)] += 1
    return outcomes, cpu, audio, rejected


def table(outcomes: collections.Counter) -> list[str]:
    """Return the Markdown rows: rooms and the share flagged speech_in_ambience, per band."""
    rows = ["| talking in the room (word peak over room RMS) | rooms | flagged speech_in_ambience |",
            "|---|---|---|"]
    for band in ["no speech", *(band_of(low) for low, _ in OVER_BANDS_DB)]:
        flagged, total = outcomes[(band, True)], outcomes[(band, True)] + outcomes[(band, False)]
        if total:
            rows.append(f"| {band} | {total} | {100 * flagged / total:.1f} % |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    began = time.monotonic()
    outcomes, cpu, audio, rejected = run(args.rooms, args.seed)
    wall = time.monotonic() - began
    record_results([
        f"## Room ambience ingestion — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "",
        f"`python benchmarks/ambience.py --rooms {args.rooms} --seed {args.seed}`; load average {load:.1f} "
        f"before; {wall:.0f} s wall. {args.rooms} simulated rooms (simulation/ambience.py), half with 2–4 "
        "words said at a drawn level; `ingest_ambience` in-process.", "",
        *table(outcomes), "",
        f"Refused: {rejected}. ingest_ambience CPU: {1000 * cpu / max(1, args.rooms - rejected):.1f} ms a "
        f"recording, {1000 * cpu / max(audio, 1e-9):.2f} ms per second of audio "
        f"({audio / 60:.0f} min of room sound).", "",
    ])


if __name__ == "__main__":
    main()
