"""The `wordcrowd curate` commands: thin wrappers that turn library errors into one-sentence CLI errors."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def curate() -> None:
    """Curate a campaign's clips: automatic checks, bias and balance reports, releases, imports."""


def _split_licenses(values: tuple[str, ...]) -> list[str]:
    # --license may repeat and may hold a comma-separated list, like `campaign create --licenses`
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


@curate.command()
@click.argument("slug")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory to create; it must not exist or be empty.")
@click.option("--validated-only", is_flag=True, help="Keep only clips the peer votes validated.")
@click.option("--license", "licenses", multiple=True, metavar="SPDX",
              help="Keep only clips under this licence (repeatable; default: all the campaign allows).")
@click.option("--version", help='Release version (default: the next integer, "1", "2", …).')
@click.option("--max-per-speaker", type=click.IntRange(min=1), metavar="N",
              help="Keep at most N clips per speaker per word (chosen by a hash of each clip's id).")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar on a terminal.")
def release(slug: str, out_dir: Path, validated_only: bool, licenses: tuple[str, ...],
            version: str | None, max_per_speaker: int | None, progress: bool) -> None:
    """Write a release of campaign SLUG in the Speech Commands layout into OUT."""
    from botocore.exceptions import BotoCoreError, ClientError
    from sqlalchemy.exc import SQLAlchemyError

    from collector.blobs import open_blob_store
    from collector.campaigns import get_campaign
    from collector.db import session_scope
    from collector.migrate import SchemaNotCurrent, require_current_schema
    from collector.privacy import MissingKey
    from collector.settings import load_settings
    from curation.release import ReleaseError, build_release

    try:
        settings = load_settings()
        require_current_schema(str(settings["DATABASE_URL"]))
        store = open_blob_store(str(settings["STORAGE_URL"]), settings["S3_ENDPOINT_URL"])
        with session_scope(str(settings["DATABASE_URL"])) as session:
            campaign = get_campaign(session, slug)
            if campaign is None:
                raise ReleaseError(f"no campaign {slug!r}; `wordcrowd campaign list` shows them")
            summary = build_release(
                session, store, campaign, out_dir, validated_only=validated_only,
                licenses=_split_licenses(licenses), version=version, progress=progress,
                max_per_speaker=max_per_speaker,
            )
    except (ReleaseError, SchemaNotCurrent, ValueError, MissingKey) as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"cannot read the store ({type(exc).__name__}); is the database up and migrated "
            "(`wordcrowd db upgrade`)?"
        ) from None
    except (BotoCoreError, ClientError) as exc:
        raise click.ClickException(f"cannot read clips from the blob store: {exc}") from None
    except OSError as exc:
        raise click.ClickException(f"cannot write the release: {exc.strerror or exc}") from None
    for warning in summary.warnings:
        click.echo(f"Warning: {warning}.", err=True)
    if summary.skipped:
        click.echo(f"skipped {len(summary.skipped)} clip(s) deleted while the release ran: "
                   f"{', '.join(summary.skipped)}", err=True)
    click.echo(f"release {summary.version} of {slug}: {summary.clip_count} clips from "
               f"{summary.speaker_count} speakers and {summary.noise_files} background noise files in "
               f"{summary.out_dir} (SHA256SUMS {summary.checksum[:12]}…)")


@curate.command()
@click.argument("slug")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for report.json and report.html (created; the two files are replaced).")
@click.option("--reference", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON {field: {group: share}} to compare the crowd with (e.g. a census).")
def report(slug: str, out_dir: Path, reference: Path | None) -> None:
    """Write the bias and balance report of campaign SLUG into OUT and summarise it here."""
    from sqlalchemy.exc import SQLAlchemyError

    from collector.campaigns import get_campaign
    from collector.db import session_scope
    from collector.privacy import MissingKey
    from collector.settings import load_settings
    from curation.report import terminal_summary, write_report
    from curation.report.campaign import ReportError, campaign_report, load_reference

    try:
        distribution = load_reference(reference) if reference else None
        settings = load_settings()
        with session_scope(str(settings["DATABASE_URL"])) as session:
            campaign = get_campaign(session, slug)
            if campaign is None:
                raise ReportError(f"no campaign {slug!r}; `wordcrowd campaign list` shows them")
            made = campaign_report(session, campaign, reference=distribution)
        written = write_report(made, out_dir)
    except (ReportError, ValueError, MissingKey) as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"cannot read the store ({type(exc).__name__}); is the database up and "
                                   "migrated (`wordcrowd db upgrade`)?") from None
    except OSError as exc:
        raise click.ClickException(f"cannot write the report: {exc.strerror or exc}") from None
    click.echo(terminal_summary(made))
    click.echo(f"wrote {', '.join(str(path) for path in written)}")


@curate.command()
@click.argument("slug")
@click.option("--findings", "findings_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write every finding to this file, one JSON object per line.")
@click.option("--predictions", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Out-of-fold model predictions (TSV, docs/checks.md): enables the label_issue check.")
@click.option("--workers", type=click.IntRange(0, 64), default=0, show_default=True,
              help="Processes that decode and compare clips in parallel (0: one per core; a campaign of "
                   "fewer than two chunks of clips per worker runs in one).")
@click.option("--only", metavar="CHECK,...", help="Run only these checks (comma-separated; default: all).")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar on a terminal.")
def check(slug: str, findings_file: Path | None, predictions: Path | None, workers: int, only: str | None,
          progress: bool) -> None:
    """(Re)run the automatic checks over campaign SLUG and store their findings per clip."""
    from curation.checks.command import run_check_command

    names = [name.strip() for name in only.split(",") if name.strip()] if only else None
    summary = run_check_command(slug, findings_file=findings_file, predictions=predictions, workers=workers,
                                only=names, progress=progress)
    click.echo(summary)


@curate.command("import")
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--format", "fmt", required=True, metavar="speech-commands|common-voice",
              help="The source's layout: a Speech Commands folder, or a Common Voice TSV with clips/.")
@click.option("--campaign", "slug", required=True, help="Campaign to import into (its words are matched).")
@click.option("--license", "spdx", required=True, metavar="SPDX",
              help="Licence the source's clips are under; the campaign must allow it.")
@click.option("--source", "source_name",
              help="Name recorded on every clip and consent (default: the format).")
@click.option("--terms", "terms_url", metavar="URL",
              help="Where the source's terms are (default: per format).")
@click.option("--keywords", metavar="WORD,...",
              help="Import only these campaign words (default: all its keywords and auxiliary words).")
@click.option("--tsv", metavar="NAME", help="common-voice: the TSV in SRC to read (default: validated.tsv).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Processes that decode and measure files in parallel.")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar on a terminal.")
def import_(src: Path, fmt: str, slug: str, spdx: str, source_name: str | None, terms_url: str | None,
            keywords: str | None, tsv: str | None, workers: int, progress: bool) -> None:
    """Import the clips of an existing dataset at SRC into a campaign (idempotent)."""
    from curation.imports.command import ImportRequest, run_import_command

    words = tuple(word.strip() for word in keywords.split(",") if word.strip()) if keywords else ()
    summary = run_import_command(ImportRequest(
        src, fmt, slug, spdx, source_name=source_name, terms_url=terms_url, words=words, tsv=tsv,
        workers=workers, progress=progress))
    for line in summary.lines():
        click.echo(line)
    if summary.imported:
        click.echo(f"next: `wordcrowd curate check {slug}` runs the batch checks over them with the rest")
