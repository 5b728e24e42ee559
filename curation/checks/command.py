"""`wordcrowd curate check`: open the store, run the checks, store and optionally write the findings."""

from __future__ import annotations

import os
from pathlib import Path

import click

from curation.checks.findings import write_findings
from curation.checks.records import CheckContext, CheckError
from curation.checks.runner import CheckRun, run_checks


def run_check_command(slug: str, *, findings_file: Path | None, predictions: Path | None, workers: int,
                      only: list[str] | None, progress: bool) -> str:
    """Run the checks of one campaign and return the summary to print; errors become ClickException."""
    from botocore.exceptions import BotoCoreError, ClientError
    from sqlalchemy.exc import SQLAlchemyError

    from collector.audio import IngestLimits
    from collector.campaigns import get_campaign
    from collector.db import session_scope
    from collector.settings import load_settings

    try:
        settings = load_settings()
        limits = IngestLimits(max_bytes=settings["MAX_UPLOAD_BYTES"],
                              min_seconds=settings["MIN_CLIP_SECONDS"],
                              max_seconds=settings["MAX_CLIP_SECONDS"])
        context = CheckContext(str(settings["STORAGE_URL"]), settings["S3_ENDPOINT_URL"], limits)
        with session_scope(str(settings["DATABASE_URL"])) as session:
            campaign = get_campaign(session, slug)
            if campaign is None:
                raise CheckError(f"no campaign {slug!r}; `wordcrowd campaign list` shows them")
            run = run_checks(session, campaign, context, only=only, predictions=predictions,
                             workers=workers or os.cpu_count() or 1, progress=progress)
            if findings_file is not None:  # inside the transaction: a failed write stores nothing
                write_findings(findings_file, run.findings)
    except (CheckError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"cannot read the store ({type(exc).__name__}); is the database up and migrated "
            "(`wordcrowd db upgrade`)?") from None
    except (BotoCoreError, ClientError) as exc:
        raise click.ClickException(f"cannot read clips from the blob store: {exc}") from None
    return format_summary(slug, run, findings_file)


def format_summary(slug: str, run: CheckRun, findings_file: Path | None) -> str:
    """Return one line per check: its number of findings and their reasons."""
    lines = [f"checked {run.clips} clips of {slug}"
             + (f" in {run.workers} processes" if run.workers > 1 else "")]
    for check, reasons in run.summary().items():
        detail = ", ".join(f"{reason} {count}" for reason, count in reasons.most_common())
        lines.append(f"  {check}: {sum(reasons.values())} findings" + (f" ({detail})" if detail else ""))
    if run.unmatched_predictions:
        lines.append(f"  ({run.unmatched_predictions} prediction rows name no clip of {slug}; ignored)")
    lines.extend(f"  note: {note}" for note in run.notes)
    if findings_file is not None:
        lines.append(f"findings written to {findings_file}")
    return "\n".join(lines)
