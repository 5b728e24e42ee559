"""Time the consent check an upload makes inside its insert transaction (clips.store_clip).

The check (is the contributor erased, the consent withdrawn?) is one extra single-row query per upload;
this measures its CPU and wall time in-process on a fresh SQLite and PostgreSQL database.

    .venv/bin/python benchmarks/consent_check.py [--checks 3000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import database, drop_database  # noqa: E402


def time_checks(url: str, checks: int) -> tuple[float, float]:
    """Return (CPU ms, wall ms) per consent check on a fresh store at url."""
    from collector.campaigns import create_campaign
    from collector.consents import refuse_if_withdrawn
    from collector.db import make_engine, session_scope
    from collector.migrate import upgrade
    from collector.models import Consent, Contributor

    upgrade(url)
    with session_scope(url) as session:
        campaign = create_campaign(session, "bench", ["yes"], title="Bench")
        who = Contributor()
        session.add(who)
        session.flush()
        consent = Consent(contributor_id=who.id, campaign_id=campaign.id, consent_version="1",
                          consent_sha256="0" * 64, license="CC0-1.0", age_confirmed=True)
        session.add(consent)
    engine = make_engine(url)
    try:
        with Session(bind=engine) as session:
            consent = session.get(Consent, consent.id)
            for _ in range(200):  # warm the statement cache and the connection
                refuse_if_withdrawn(session, consent)
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(checks):
                refuse_if_withdrawn(session, consent)
            return (1000 * (time.process_time() - cpu) / checks, 1000 * (time.perf_counter() - wall) / checks)
    finally:
        engine.dispose()


def main() -> None:
    """Print one Markdown table row per database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=3000)
    args = parser.parse_args()
    print("| database | CPU ms per check | wall ms per check |\n|---|---|---|")
    for kind in ("sqlite", "postgresql"):
        with tempfile.TemporaryDirectory() as data_dir:
            url, name = database(kind, Path(data_dir))
            try:
                cpu, wall = time_checks(url, args.checks)
            finally:
                drop_database(name)
        print(f"| {kind} | {cpu:.3f} | {wall:.3f} |")


if __name__ == "__main__":
    main()
