"""Bias and balance report benchmark: how long `curate report` takes on a campaign of N clips.

It fills a SQLite store with a synthetic campaign (rows only: the report reads metrics, votes and
demographics, never audio), then times the three steps of `wordcrowd curate report`: reading the store,
building the report, writing report.json and report.html with their charts. Figures go to RESULTS.md.

    .venv/bin/python benchmarks/report.py [--clips 100000] [--speakers 5000]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from machine import load_note, record_results  # noqa: E402

KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
AGES = ("teens", "twenties", "thirties", "fourties", "fifties", "sixties")
GENDERS = ("female_feminine", "male_masculine", "non-binary")


def fill_store(url: str, clips: int, speakers: int, seed: int = 0) -> None:
    """Insert a campaign with `speakers` consenting contributors and `clips` clips (Core inserts, fast)."""
    from sqlalchemy import insert

    from collector.campaigns import create_campaign
    from collector.db import session_scope
    from collector.migrate import upgrade
    from collector.models import Clip, Consent, Contributor, Demographics, utcnow

    upgrade(url)
    rng = random.Random(seed)
    with session_scope(url) as session:
        campaign = create_campaign(session, "bench", list(KEYWORDS), title="Benchmark")
        session.flush()
        keyword_ids = [k.id for k in campaign.keywords]
        now = utcnow()
        session.execute(insert(Contributor), [{"id": n + 1, "public_id": f"{n:032x}", "created_at": now}
                                              for n in range(speakers)])
        session.execute(insert(Consent), [dict(
            id=n + 1, public_id=f"c{n:031x}", contributor_id=n + 1, campaign_id=campaign.id,
            consent_version="1", consent_sha256="0" * 64, license="CC0-1.0", age_confirmed=True,
            demographics_opt_in=True, granted_at=now) for n in range(speakers)])
        session.execute(insert(Demographics), [dict(
            contributor_id=n + 1, age=rng.choice(AGES), gender=rng.choice(GENDERS),
            accent=rng.choice(("", "scottish", "irish", "us south")) or None, native_language="en",
            updated_at=now) for n in range(speakers)])
        weights = [1 / (n + 1) ** 0.8 for n in range(speakers)]  # a long tail, as real crowds have
        owners = rng.choices(range(speakers), weights=weights, k=clips)
        rows = [clip_row(n, owner + 1, campaign.id, rng.choice(keyword_ids), now, rng)
                for n, owner in enumerate(owners)]
        session.execute(insert(Clip), rows)


def clip_row(n: int, contributor: int, campaign: int, keyword: int, now, rng: random.Random) -> dict:
    """One synthetic clip row with plausible metrics."""
    return dict(
        public_id=f"{n:032x}", campaign_id=campaign, keyword_id=keyword, contributor_id=contributor,
        consent_id=contributor, source="web", canonical_key=f"k{n}", original_key=f"o{n}",
        original_format="wav", original_bytes=32044, original_sha256=f"{n:064x}", sha256=f"{n:064x}",
        duration_ms=rng.randint(800, 3000),
        sample_rate_hz=48000, channels=1, peak_dbfs=rng.uniform(-30, -1), rms_dbfs=rng.uniform(-45, -15),
        clipped_fraction=0.0, dc_offset=0.0, snr_db=rng.uniform(5, 50), speech_ms=rng.randint(250, 900),
        speech_segments=1, speech_at_edge=False, silent_fraction=0.2, auto_verdict="accept", flags=[],
        status=rng.choice(("pending", "validated", "invalidated")), up_votes=rng.randint(0, 3),
        down_votes=rng.randint(0, 1), created_at=now,
    )


def main() -> None:
    """Fill a store, time the report's steps, and append the figures to RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=100_000)
    parser.add_argument("--speakers", type=int, default=5_000)
    args = parser.parse_args()
    from collector.db import session_scope
    from collector.models import Campaign
    from collector.privacy import speaker_id
    from curation.report import write_report
    from curation.report.campaign import campaign_report
    from curation.report.records import load_clips

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        started = time.perf_counter()
        fill_store(url, args.clips, args.speakers)
        filled = time.perf_counter() - started
        with session_scope(url) as session:
            campaign = session.query(Campaign).one()
            t0 = time.perf_counter()
            records = load_clips(session, campaign, lambda public_id: speaker_id("bench", public_id))
            t1 = time.perf_counter()
            made = campaign_report(session, campaign, lambda public_id: speaker_id("bench", public_id))
            t2 = time.perf_counter()
        write_report(made, Path(folder) / "report")
        t3 = time.perf_counter()
    steps = {"read the store": t1 - t0, "read + build (campaign_report)": t2 - t1,
             "build alone": (t2 - t1) - (t1 - t0), "write json + html with charts": t3 - t2}
    lines = [f"## Bias and balance report — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "",
             f"`python benchmarks/report.py --clips {args.clips} --speakers {args.speakers}` "
             f"({len(records)} clips, SQLite; store filled in {filled:.1f} s)", "",
             "| step | seconds | clips/s |", "|---|---|---|"]
    steps["whole `curate report` (read, build, write)"] = t3 - t1
    lines += [f"| {name} | {took:.2f} | {len(records) / took:,.0f} |" for name, took in steps.items()]
    flags = ", ".join(flag["code"] for flag in made["flags"]) or "none"
    lines += ["", f"Flags raised: {flags}. {load_note()}", ""]
    record_results(lines)


if __name__ == "__main__":
    main()
