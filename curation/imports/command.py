"""`wordcrowd curate import`: open the store, check what was asked, import, and summarise."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import click

from curation.imports.formats import check_format, import_terms, import_words, scan_source
from curation.imports.run import ImportSummary, run_import
from curation.imports.sources import SourceError


@dataclass(frozen=True)
class ImportRequest:
    """What `curate import` was asked: source, format, campaign, licence and options."""

    source: Path
    fmt: str
    campaign: str
    license: str
    source_name: str | None = None
    terms_url: str | None = None
    words: tuple[str, ...] = ()
    tsv: str | None = None
    workers: int = 1
    progress: bool = True


def run_import_command(request: ImportRequest) -> ImportSummary:
    """Import a source as asked; every user mistake or store failure becomes a one-line ClickException."""
    from botocore.exceptions import BotoCoreError, ClientError
    from sqlalchemy.exc import SQLAlchemyError

    from collector.audio import IngestLimits
    from collector.blobs import open_blob_store
    from collector.campaigns import get_campaign
    from collector.db import session_scope
    from collector.migrate import SchemaNotCurrent, require_current_schema
    from collector.privacy import MissingKey
    from collector.settings import load_settings

    try:
        check_format(request.fmt)
        settings = load_settings()
        require_current_schema(str(settings["DATABASE_URL"]))
        store = open_blob_store(str(settings["STORAGE_URL"]), settings["S3_ENDPOINT_URL"])
        with session_scope(str(settings["DATABASE_URL"])) as session:
            campaign = get_campaign(session, request.campaign)
            if campaign is None:
                raise SourceError(f"no campaign {request.campaign!r}; `wordcrowd campaign list` shows them")
            terms = import_terms(campaign, request.fmt, request.license, request.source_name,
                                 request.terms_url)
            words = import_words(campaign, request.words)
            scan = scan_source(request.fmt, request.source, campaign, words, request.tsv)
            limits = IngestLimits.from_settings(settings)
            return run_import(session, store, campaign, scan, terms, limits=limits, workers=request.workers,
                              progress=request.progress)
    except UnicodeDecodeError as exc:  # before ValueError, of which it is one
        raise click.ClickException(f"the source's TSV is not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:
        raise click.ClickException(f"the source's TSV cannot be read: {exc}") from None
    except (SourceError, SchemaNotCurrent, MissingKey, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"cannot use the store ({type(exc).__name__}); is the database up and "
                                   "migrated (`wordcrowd db upgrade`)?") from None
    except (BotoCoreError, ClientError) as exc:
        raise click.ClickException(f"cannot write clips to the blob store: {exc}") from None
    except OSError as exc:
        raise click.ClickException(f"cannot read the source: {exc.strerror or exc}") from None
