"""Import throughput: a generated Speech Commands folder and a Common Voice folder into a fresh store.

Generates, in a temporary directory, a Speech Commands folder (1 s 16 kHz WAVs of ten words by espeak-ng
voices, faint noise unique per file) and a Common Voice folder (validated.tsv and 48 kHz MP3s made by
ffmpeg), then imports each into a fresh store (SQLite, and PostgreSQL with --postgres) with each worker
count, and again to time the idempotent re-import. Reports clips/s and CPU ms per clip: this process and
its worker processes, and PostgreSQL's server processes. Appends a section to RESULTS.md.

    nice -n 5 .venv/bin/python benchmarks/imports.py [--sc-clips 2000] [--cv-clips 500] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import load_note, machine_cpu_s, process_cpu_s, record_results  # noqa: E402
from collector.blobs import open_blob_store  # noqa: E402
from collector.campaigns import DEFAULT_KEYWORDS, create_campaign  # noqa: E402
from collector.db import session_scope  # noqa: E402
from collector.migrate import upgrade  # noqa: E402
from curation.imports.formats import import_terms, import_words, scan_source  # noqa: E402
from curation.imports.run import ImportSummary, run_import  # noqa: E402
from tests.import_sources import write_common_voice, write_speech_commands  # noqa: E402

PG_ADMIN_URL = os.environ.get("WORDCROWD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
VOICES = 24  # distinct espeak renderings the generated speakers share (the noise makes every file unique)
AGES = ("twenties", "thirties", "fourties", "fifties", "")
GENDERS = ("male", "female", "female_feminine", "male_masculine", "other", "")
CREATED: list[str] = []  # PostgreSQL databases to drop at the end


@dataclass(frozen=True)
class Run:
    """One timed import."""

    database: str
    fmt: str
    workers: int
    files: int
    summary: ImportSummary
    wall_s: float
    cpu_s: float
    postgres_cpu_s: float
    others_cpu_s: float
    again_s: float
    again_skipped: int


def cpu_s() -> float:
    """CPU seconds of this process and of its reaped children (the worker processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def postgres_cpu_s() -> float:
    """CPU seconds of PostgreSQL's server processes alive now."""
    return sum(process_cpu_s(lambda comm, _pgrp: comm.startswith("postgres")))


def generate(root: Path, sc_clips: int, cv_clips: int) -> dict[str, Path]:
    """Write the two source folders."""
    words = list(DEFAULT_KEYWORDS)
    sc = write_speech_commands(root / "sc", words, max(1, sc_clips // len(words)), voices=VOICES)
    rows = [{"speaker": str(i % max(1, cv_clips // 5)), "sentence": words[i % len(words)].title() + ".",
             "age": AGES[i % len(AGES)], "gender": GENDERS[i % len(GENDERS)], "accents": ""}
            for i in range(cv_clips)]
    cv = write_common_voice(root / "cv", rows, voices=VOICES)
    return {"speech-commands": sc, "common-voice": cv}


def fresh_store(kind: str, root: Path) -> tuple[str, str]:
    """Return a migrated database URL (a new SQLite file or PostgreSQL database) and a blob store URL."""
    name = uuid.uuid4().hex[:10]
    if kind == "sqlite":
        url = f"sqlite:///{root / f'{name}.db'}"
    else:
        from sqlalchemy import create_engine, text

        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "wc_bench_{name}"'))
        admin.dispose()
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/wc_bench_{name}"
        CREATED.append(f"wc_bench_{name}")
    upgrade(url)
    with session_scope(url) as session:
        create_campaign(session, "kws", list(DEFAULT_KEYWORDS), licenses=["CC0-1.0", "CC-BY-4.0"])
    return url, f"file://{root / f'blobs-{name}'}"


def timed_import(url: str, storage: str, fmt: str, source: Path, workers: int) -> tuple[ImportSummary, float]:
    """Import one source; return its summary and wall seconds."""
    licence = "CC-BY-4.0" if fmt == "speech-commands" else "CC0-1.0"
    started = time.perf_counter()
    with session_scope(url) as session:
        from collector.campaigns import get_campaign

        campaign = get_campaign(session, "kws")
        terms = import_terms(campaign, fmt, licence, None, None)
        scan = scan_source(fmt, source, campaign, import_words(campaign, None))
        summary = run_import(session, open_blob_store(storage), campaign, scan, terms, workers=workers,
                             progress=False)
    return summary, time.perf_counter() - started


def measure(database: str, fmt: str, source: Path, workers: int, root: Path) -> Run:
    """Import a source into a fresh store and again; return the figures of both."""
    url, storage = fresh_store(database, root)
    cpu0, pg0, (busy0, _total0) = cpu_s(), postgres_cpu_s(), machine_cpu_s()
    summary, wall = timed_import(url, storage, fmt, source, workers)
    cpu, pg = cpu_s() - cpu0, postgres_cpu_s() - pg0
    others = machine_cpu_s()[0] - busy0 - cpu - (pg if database == "postgresql" else 0)
    again, again_wall = timed_import(url, storage, fmt, source, workers)
    files = summary.imported + summary.held + sum(summary.rejected.values())
    return Run(database, fmt, workers, files, summary, wall, cpu, pg if database == "postgresql" else 0.0,
               max(0.0, others), again_wall, again.held)


def drop_databases() -> None:
    """Drop the PostgreSQL databases this run created."""
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in CREATED:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def report(runs: list[Run], command: str, generated_s: float) -> list[str]:
    """Return the Markdown section of RESULTS.md."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"## Import throughput (curate import) — {now}", "",
             f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}; "
             f"command: `{command}`; sources generated in {generated_s:.0f} s (espeak-ng, ffmpeg MP3). "
             "CPU is this process plus its worker processes; PostgreSQL's is its server processes'; "
             "others' is the rest of the machine during the import (other people's work).", "",
             "| database | format | workers | files | imported | rejected | wall s | clips/s | CPU ms/clip "
             "| PostgreSQL CPU ms/clip | others' CPU s | re-import s (all skipped) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        clips = max(1, run.summary.imported)
        rejected = sum(run.summary.rejected.values())
        lines.append(f"| {run.database} | {run.fmt} | {run.workers} | {run.files} | {run.summary.imported} | "
                     f"{rejected} | {run.wall_s:.1f} | {run.summary.imported / run.wall_s:.1f} | "
                     f"{run.cpu_s * 1000 / clips:.1f} | {run.postgres_cpu_s * 1000 / clips:.2f} | "
                     f"{run.others_cpu_s:.1f} | {run.again_s:.1f} ({run.again_skipped}) |")
    return [*lines, "", load_note(), ""]


def main() -> None:
    """Generate the sources, run every import, append the figures to RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sc-clips", type=int, default=2000, help="Speech Commands files to generate.")
    parser.add_argument("--cv-clips", type=int, default=500, help="Common Voice rows (MP3s) to generate.")
    parser.add_argument("--workers", default="1,2", help="Worker counts to run, comma-separated.")
    parser.add_argument("--postgres", action="store_true", help="Also import into PostgreSQL.")
    parser.add_argument("--no-record", action="store_true", help="Print, do not append to RESULTS.md.")
    args = parser.parse_args()
    databases = ["sqlite", "postgresql"] if args.postgres else ["sqlite"]
    with tempfile.TemporaryDirectory(prefix="wc-imports-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        sources = generate(root, args.sc_clips, args.cv_clips)
        generated_s = time.perf_counter() - started
        print(f"generated sources in {generated_s:.0f} s", flush=True)
        runs = []
        try:
            for database in databases:
                for fmt, source in sources.items():
                    for workers in (int(n) for n in args.workers.split(",")):
                        runs.append(measure(database, fmt, source, workers, root))
                        print(runs[-1].summary.lines()[0], f"in {runs[-1].wall_s:.1f} s", flush=True)
        finally:
            if CREATED:
                drop_databases()
    lines = report(runs, "python benchmarks/imports.py " + " ".join(sys.argv[1:]), generated_s)
    if args.no_record:
        print("\n".join(lines))
    else:
        record_results(lines)


if __name__ == "__main__":
    main()
