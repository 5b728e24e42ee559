"""The collector's admin commands: serve, db, campaign, curator (thin wrappers over the store)."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from alembic.util import CommandError
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, NoSuchModuleError
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from collector.campaigns import (
    CampaignError,
    asks_for_ambience,
    create_campaign,
    ensure_default_campaign,
    list_campaigns,
    words_of_kind,
)
from collector.db import session_scope
from collector.migrate import (
    UPGRADE_COMMAND,
    SchemaNotCurrent,
    current_revision,
    require_current_schema,
    upgrade,
)
from collector.models import Clip, Contributor, Curator
from collector.ratelimit import storage_problem
from collector.server import worker_count
from collector.settings import load_settings

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MIN_PASSWORD_LENGTH = 8


def _settings() -> dict[str, Any]:
    try:
        return load_settings()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


def _masked(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparsable URL)"


@contextmanager
def store_errors(url: str) -> Iterator[None]:
    """Turn the database's own failures (bad URL, server down, unknown revision) into one sentence."""
    try:
        yield
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:  # ImportError: a driver not installed
        raise click.ClickException(f"WORDCROWD_DATABASE_URL {_masked(url)!r} is not usable: {exc}") from None
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise click.ClickException(f"cannot use the database {_masked(url)}: {reason}") from None
    except CommandError as exc:
        raise click.ClickException(f"cannot migrate the database {_masked(url)}: {exc}") from None


def _migrated_url(settings: dict[str, Any]) -> str:
    # every admin command may be the first one run on a fresh data directory; upgrade is idempotent
    url = settings["DATABASE_URL"]
    with store_errors(url):
        upgrade(url)
    return url


def _current_url(settings: dict[str, Any]) -> str:
    # reads never change the schema: a database behind the code is reported, with the command that fixes it
    url = settings["DATABASE_URL"]
    with store_errors(url):
        try:
            require_current_schema(url)
        except SchemaNotCurrent as exc:
            raise click.ClickException(f"{exc} ({_masked(url)})") from None
    return url


def _browser_url(host: str, port: int) -> str:
    # a wildcard address is where the server listens, not something a browser can open
    shown = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"


def serve_command(factory: str) -> click.Command:
    """Return a `serve` command for the app that `factory` ("module:function") builds."""

    @click.command()
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
    @click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
    @click.option(
        "--workers",
        type=click.IntRange(min=0),
        help="gunicorn worker processes (default: WORDCROWD_WORKERS; 0: one per core, at least 2).",
    )
    @click.option("--dev", is_flag=True, help="Use Flask's development server (debugger, reloader) instead.")
    def serve(host: str, port: int, workers: int | None, dev: bool) -> None:
        """Migrate the database, seed the default campaign and serve the collector."""
        settings = _settings()
        workers = 1 if dev else worker_count(settings["WORKERS"] if workers is None else workers)
        problem = storage_problem(str(settings["RATELIMIT_STORAGE_URL"]), workers)
        if problem:
            raise click.ClickException(problem)
        url = _migrated_url(settings)
        with store_errors(url), session_scope(url) as session:
            try:
                ensure_default_campaign(session, settings["DEFAULT_CAMPAIGN"])
            except CampaignError as exc:
                raise click.ClickException(f"WORDCROWD_DEFAULT_CAMPAIGN: {exc}") from None
        click.echo(f"wordcrowd collector: open {_browser_url(host, port)}")
        from collector.server import app_factory
        from collector.server import serve as serve_with_gunicorn

        if dev:
            app_factory(factory)().run(host=host, port=port, debug=True)
            return
        serve_with_gunicorn(host, port, workers, factory)

    return serve


serve = serve_command("collector:create_app")


@click.group()
def db() -> None:
    """Manage the database schema (Alembic migrations shipped with wordcrowd)."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (safe to repeat)."""
    url = _migrated_url(_settings())
    with store_errors(url):
        click.echo(f"database {_masked(url)} is at revision {current_revision(url)}")


@db.command("current")
def db_current() -> None:
    """Show the database's schema revision."""
    url = _settings()["DATABASE_URL"]
    with store_errors(url):
        revision = current_revision(url)
    click.echo(revision or f"none: the database was never migrated (run `{UPGRADE_COMMAND}`)")


@db.command("sweep")
@click.option("--older-than", "older_than_s", default=3600, show_default=True, type=click.IntRange(0),
              help="Only orphans and temp files at least this old (younger ones may be uploads in flight).")
def db_sweep(older_than_s: int) -> None:
    """Finish interrupted deletions; delete orphan blobs and temp files a crash left in the blob store."""
    from collector.blobs import open_blob_store
    from collector.clips import DeletionIncomplete, sweep

    settings = _settings()
    url = _migrated_url(settings)
    store = open_blob_store(settings["STORAGE_URL"], settings["S3_ENDPOINT_URL"])
    try:
        with store_errors(url), session_scope(url) as session:
            report = sweep(session, store, older_than_s=older_than_s)
    except DeletionIncomplete:
        raise click.ClickException("cannot delete blobs from the blob store; run the sweep again later") \
            from None
    click.echo(f"finished {report.deletions_finished} deletion(s); removed {len(report.orphans)} orphan "
               f"blob(s) and {len(report.temp_files)} temporary file(s)")


@click.group()
def campaign() -> None:
    """Create and list campaigns."""


def _split(values: str | None) -> list[str] | None:
    return None if values is None else [value.strip() for value in values.split(",")]


@campaign.command("create")
@click.argument("slug")
@click.option("--keywords", required=True, help="Comma-separated keywords, e.g. yes,no,stop.")
@click.option("--title", help="Title shown to contributors (default: the slug).")
@click.option("--language", default="en", show_default=True, help="BCP-47 language tag, e.g. en-GB.")
@click.option("--licenses", "spdx_ids", help="Comma-separated SPDX ids allowed (default: all known).")
@click.option("--target", default=1000, show_default=True, type=int, help="Clips wanted per keyword.")
@click.option("--description", default="", help="A longer description for contributors.")
@click.option("--auxiliary-words", help="Comma-separated other words prompted like keywords (the release's "
              "_unknown_ class), e.g. bird,house,nine.")
@click.option("--ambience", is_flag=True, help="Also ask each contributor for 10-30 s of their room's sound "
              "(the release's _background_noise_).")
def campaign_create(
    slug: str,
    keywords: str,
    title: str | None,
    language: str,
    spdx_ids: str | None,
    target: int,
    description: str,
    auxiliary_words: str | None,
    ambience: bool,
) -> None:
    """Create a campaign SLUG asking for the given keywords (and auxiliary words, ambience)."""
    url = _migrated_url(_settings())
    with store_errors(url), session_scope(url) as session:
        try:
            made = create_campaign(session, slug, _split(keywords) or [], title=title, language=language,
                                   licenses=_split(spdx_ids), target_count=target, description=description,
                                   auxiliary_words=_split(auxiliary_words), ambience=ambience)
        except CampaignError as exc:
            raise click.ClickException(str(exc)) from None
        words = ", ".join(words_of_kind(made, "keyword"))
        extra = ", ".join(words_of_kind(made, "auxiliary"))
        asked = asks_for_ambience(made)
    click.echo(f"created campaign {made.slug} ({made.language}; {', '.join(made.licenses)}): {words}"
               + (f"; auxiliary words: {extra}" if extra else "") + ("; room ambience" if asked else ""))


@campaign.command("list")
def campaign_list() -> None:
    """List campaigns with their language, licences, clip counts and keywords (never migrates)."""
    url = _current_url(_settings())
    with store_errors(url), session_scope(url) as session:
        per_campaign = select(Clip.campaign_id, func.count()).group_by(Clip.campaign_id)
        counts = dict(session.execute(per_campaign).all())
        rows = [
            (c.slug, c.language, ",".join(c.licenses), str(counts.get(c.id, 0)),
             ",".join(words_of_kind(c, "keyword")), ",".join(words_of_kind(c, "auxiliary")) or "-",
             "yes" if asks_for_ambience(c) else "no", c.title)
            for c in list_campaigns(session)
        ]
    _echo_table(("SLUG", "LANGUAGE", "LICENSES", "CLIPS", "KEYWORDS", "AUXILIARY", "AMBIENCE", "TITLE"), rows)


def _echo_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header) - 1)]
    for row in (header, *rows):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        click.echo("  ".join([*cells, row[-1]]).rstrip())


@click.group()
def curator() -> None:
    """Manage curator accounts (people who review clips and publish releases)."""


def check_username(username: str) -> str:
    """Return username if it is 1–64 of letters, digits, '.', '_' or '-' (letter or digit first)."""
    if not USERNAME.fullmatch(username):
        raise ValueError(f"username {username!r} must be 1 to 64 of letters, digits, '.', '_' or '-'")
    return username


def add_curator(session: Session, username: str, password: str) -> Curator:
    """Add a curator with a salted password hash; commit; raise ValueError for a bad or taken name."""
    check_username(username)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalars(select(Curator).where(Curator.username == username)).first() is not None:
        raise ValueError(f"curator {username!r} already exists")
    added = Curator(username=username, password_hash=generate_password_hash(password))
    session.add(added)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # only a concurrent add of the same name gets here
        raise ValueError(f"curator {username!r} already exists") from None
    return added


def _read_password(from_stdin: bool) -> str:
    if not from_stdin:
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise click.ClickException("no password on standard input (expected one line)")
    return line


@curator.command("add")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def curator_add(username: str, password_stdin: bool) -> None:
    """Add a curator USERNAME (asks for the password twice unless --password-stdin)."""
    try:
        check_username(username)  # before asking for a password that would be wasted
        password = _read_password(password_stdin)
        url = _migrated_url(_settings())
        with store_errors(url), session_scope(url) as session:
            add_curator(session, username, password)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"added curator {username}")


@click.group()
def contributor() -> None:
    """Act for a contributor who cannot use the API themselves (imported speakers)."""


def _erasure_target(session: Session, source: str | None, speaker: str | None,
                    speaker_id: str | None) -> Contributor:
    from collector.contributors import contributor_with_speaker_id, imported_contributor

    by_import = (source, speaker) != (None, None)
    if by_import == (speaker_id is not None) or (by_import and None in (source, speaker)):
        raise click.ClickException("name the contributor by --source and --speaker, or by --speaker-id")
    if speaker_id is not None:
        found = contributor_with_speaker_id(session, speaker_id)
        what = f"speaker id {speaker_id!r}"
    else:
        found = imported_contributor(session, source, speaker)
        what = f"speaker {speaker!r} of source {source!r}"
    if found is None or found.erased_at is not None:
        raise click.ClickException(f"no contributor with {what} (or already erased)")
    return found


@contributor.command("erase")
@click.option("--source", help="Source an imported speaker came from (clips.source, e.g. speech-commands).")
@click.option("--speaker", help="That source's own id of the speaker (e.g. a Common Voice client_id).")
@click.option("--speaker-id", help="The 8-hex speaker id a release shows (any contributor).")
def contributor_erase(source: str | None, speaker: str | None, speaker_id: str | None) -> None:
    """Withdraw a contributor's consents; erase their clips, blobs and profile (DELETE /contributors/me)."""
    from collector.blobs import open_blob_store
    from collector.clips import DeletionIncomplete
    from collector.contributors import erase_contributor

    settings = _settings()
    url = _current_url(settings)
    store = open_blob_store(settings["STORAGE_URL"], settings["S3_ENDPOINT_URL"])
    with store_errors(url), session_scope(url) as session:
        target = _erasure_target(session, source, speaker, speaker_id)
        try:
            erasure = erase_contributor(session, store, target)
        except DeletionIncomplete:
            raise click.ClickException("the contributor is erased, but some audio could not be deleted yet; "
                                       "run `wordcrowd db sweep` later") from None
        session.refresh(erasure)  # its own deletions' rollback expired it
        click.echo(f"erased speaker {erasure.speaker_id}: {erasure.clips_erased} clip(s)")
