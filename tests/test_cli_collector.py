"""The collector's admin commands through `wordcrowd`, on real temporary databases."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner, Result
from sqlalchemy import inspect, text
from werkzeug.security import check_password_hash

from collector.db import make_engine, session_scope
from collector.migrate import head_revision, upgrade
from collector.models import Curator
from collector.server import ACCESS_LOG_FORMAT, gunicorn_options, worker_count
from tests.conftest import free_port
from wordcrowd.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    """Invoke `wordcrowd ARGS` in-process with these environment variables."""
    return CliRunner().invoke(main, list(args), env=env, input=stdin)


def failed_with(result: Result, *words: str) -> bool:
    """True when the command failed with one line on stderr naming every word, and no traceback."""
    lines = result.stderr.strip().splitlines()
    return (result.exit_code != 0 and isinstance(result.exception, SystemExit) and len(lines) == 1
            and lines[0].startswith("Error: ") and all(w in lines[0] for w in words)
            and "Traceback" not in result.output)


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    """Settings for a fresh SQLite data directory."""
    return {"WORDCROWD_DATA_DIR": str(tmp_path / "instance"), "WORDCROWD_SECRET_KEY": "cli-secret",
            "WORDCROWD_DATABASE_URL": f"sqlite:///{tmp_path / 'instance' / 'wordcrowd.db'}"}


def test_db_upgrade_and_current(env: dict[str, str], db_url: str) -> None:
    env = {**env, "WORDCROWD_DATABASE_URL": db_url}
    assert "never migrated" in run(env, "db", "current").output
    first, again = run(env, "db", "upgrade"), run(env, "db", "upgrade")
    assert first.exit_code == again.exit_code == 0, first.output
    assert f"revision {head_revision()}" in again.output
    assert run(env, "db", "current").output.strip() == head_revision()


def test_db_sweep_removes_only_old_orphans(env: dict[str, str], tmp_path) -> None:
    """Blobs with no clip row are deleted once old enough; young ones and foreign names are kept."""
    from collector.blobs import open_blob_store
    from collector.clips import new_clip_id

    store = open_blob_store(f"file://{tmp_path / 'instance' / 'blobs'}")
    orphan = f"clips/kws/{new_clip_id()}.wav"
    foreign = "clips/kws/not-a-clip-id.wav"
    store.put(orphan, b"RIFF")
    store.put(foreign, b"RIFF")
    young = run(env, "db", "sweep")
    assert young.exit_code == 0 and "removed 0 orphan" in young.output and store.exists(orphan)
    time.sleep(0.01)
    swept = run(env, "db", "sweep", "--older-than", "0")
    assert swept.exit_code == 0 and "removed 1 orphan" in swept.output, swept.output
    assert not store.exists(orphan) and store.exists(foreign)


def test_db_sweep_removes_old_temp_files_of_interrupted_writes(env: dict[str, str], tmp_path) -> None:
    """Temp files a crashed blob write left behind go once older than the cutoff; young ones stay."""
    blobs = tmp_path / "instance" / "blobs" / "clips" / "kws"
    blobs.mkdir(parents=True)
    old, young = blobs / ".tmp-crashed", blobs / ".tmp-writing"
    for path in (old, young):
        path.write_bytes(b"RIFF half a clip")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    swept = run(env, "db", "sweep")
    assert swept.exit_code == 0 and "1 temporary file(s)" in swept.output, swept.output
    assert not old.exists() and young.exists()


def test_campaign_create_and_list(env: dict[str, str], db_url: str) -> None:
    env = {**env, "WORDCROWD_DATABASE_URL": db_url}
    created = run(env, "campaign", "create", "kws", "--keywords", "Yes, no ,stop", "--title", "Yes, no, stop",
                  "--language", "en-gb", "--licenses", "CC0-1.0", "--target", "20")
    assert created.exit_code == 0, created.output
    assert created.output.strip() == "created campaign kws (en-GB; CC0-1.0): yes, no, stop"
    assert run(env, "campaign", "create", "other", "--keywords", "on,off").exit_code == 0
    listed = run(env, "campaign", "list")
    assert listed.exit_code == 0, listed.output
    header, *rows = listed.output.splitlines()
    assert header.split() == ["SLUG", "LANGUAGE", "LICENSES", "CLIPS", "KEYWORDS", "AUXILIARY", "AMBIENCE",
                              "TITLE"]
    assert rows[0].split() == ["kws", "en-GB", "CC0-1.0", "0", "yes,no,stop", "-", "no", "Yes,", "no,",
                               "stop"]
    assert rows[1].split() == ["other", "en", "CC0-1.0,CC-BY-4.0", "0", "on,off", "-", "no", "other"]


def test_campaign_create_with_auxiliary_words_and_ambience(env: dict[str, str], db_url: str) -> None:
    """--auxiliary-words and --ambience make rows of those kinds; the list shows them apart."""
    env = {**env, "WORDCROWD_DATABASE_URL": db_url}
    created = run(env, "campaign", "create", "kws", "--keywords", "yes,no", "--auxiliary-words",
                  "Bird, house", "--ambience")
    assert created.exit_code == 0, created.output
    assert created.output.strip() == ("created campaign kws (en; CC0-1.0, CC-BY-4.0): yes, no; "
                                      "auxiliary words: bird, house; room ambience")
    listed = run(env, "campaign", "list")
    assert listed.output.splitlines()[1].split() == ["kws", "en", "CC0-1.0,CC-BY-4.0", "0", "yes,no",
                                                     "bird,house", "yes", "kws"]
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT word, kind FROM keywords ORDER BY position")).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [("yes", "keyword"), ("no", "keyword"), ("bird", "auxiliary"),
                                            ("house", "auxiliary"), ("_ambience_", "ambience")]
    clash = run(env, "campaign", "create", "two", "--keywords", "yes", "--auxiliary-words", "yes")
    assert failed_with(clash, "both a keyword and an auxiliary word"), clash.output


def test_campaign_list_reads_and_never_migrates(env: dict[str, str], db_url: str) -> None:
    """A read on a database behind the code says so, names `wordcrowd db upgrade` and changes no schema."""
    env = {**env, "WORDCROWD_DATABASE_URL": db_url}
    result = run(env, "campaign", "list")
    assert failed_with(result, "never migrated", "`wordcrowd db upgrade`"), result.output
    assert run(env, "db", "current").output.startswith("none")
    engine = make_engine(db_url)
    try:
        assert inspect(engine).get_table_names() == []
        upgrade(db_url, "0001")
        if head_revision() != "0001":  # once later migrations exist: a database one step behind
            assert failed_with(run(env, "campaign", "list"), "behind", "`wordcrowd db upgrade`")
            assert run(env, "db", "current").output.strip() == "0001"
            upgrade(db_url)
        assert run(env, "campaign", "list").exit_code == 0
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
        assert failed_with(run(env, "campaign", "list"), "f00d", "does not know")
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["campaign", "create", "Bad_Slug", "--keywords", "yes"], ["slug", "Bad_Slug"]),
        (["campaign", "create", "ok", "--keywords", "yes", "--licenses", "CC0-1.0,WTFPL"], ["WTFPL"]),
        (["campaign", "create", "ok", "--keywords", "yes,,no"], ["keyword"]),
        (["campaign", "create", "ok", "--keywords", "yes", "--language", "English"], ["BCP-47"]),
        (["campaign", "create", "ok", "--keywords", "yes", "--target", "0"], ["target"]),
        (["curator", "add", "bad name", "--password-stdin"], ["username"]),
    ],
)
def test_bad_input_is_one_sentence(env: dict[str, str], args: list[str], words: list[str]) -> None:
    result = run(env, *args, stdin="long-enough\n")
    assert failed_with(result, *words), (result.exit_code, result.output)


def test_duplicate_campaign_is_refused(env: dict[str, str]) -> None:
    assert run(env, "campaign", "create", "twice", "--keywords", "yes").exit_code == 0
    result = run(env, "campaign", "create", "twice", "--keywords", "no")
    assert failed_with(result, "twice", "already exists"), result.output


def test_curator_add_with_stdin_and_prompt(env: dict[str, str]) -> None:
    assert run(env, "curator", "add", "ada", "--password-stdin", stdin="correct horse\n").exit_code == 0
    prompted = run(env, "curator", "add", "grace", stdin="battery staple\nbattery staple\n")
    assert prompted.exit_code == 0, prompted.output
    duplicate = run(env, "curator", "add", "ada", "--password-stdin", stdin="another one\n")
    assert failed_with(duplicate, "ada", "already exists"), duplicate.output
    assert failed_with(run(env, "curator", "add", "bob", "--password-stdin", stdin="short\n"), "8 characters")
    assert failed_with(run(env, "curator", "add", "bob", "--password-stdin", stdin=""), "standard input")
    with session_scope(env["WORDCROWD_DATABASE_URL"]) as session:
        hashes = {c.username: c.password_hash for c in session.query(Curator)}
    assert set(hashes) == {"ada", "grace"}
    assert check_password_hash(hashes["ada"], "correct horse")
    assert check_password_hash(hashes["grace"], "battery staple")


def test_unreachable_database_is_one_sentence(env: dict[str, str]) -> None:
    bad = {**env, "WORDCROWD_DATABASE_URL": "postgresql+psycopg://nobody:secret@127.0.0.1:1/none"}
    result = run(bad, "campaign", "list")
    assert failed_with(result, "cannot use the database"), result.output
    assert "secret" not in result.output  # the password is masked
    for url in ("nonsense://", "mysql://u@127.0.0.1/db"):  # unknown dialect; a driver not installed
        result = run({**env, "WORDCROWD_DATABASE_URL": url}, "db", "upgrade")
        assert failed_with(result, "WORDCROWD_DATABASE_URL"), result.output


def test_bad_default_campaign_stops_serve(env: dict[str, str]) -> None:
    result = run({**env, "WORDCROWD_DEFAULT_CAMPAIGN": "No Good"}, "serve")
    assert failed_with(result, "WORDCROWD_DEFAULT_CAMPAIGN"), result.output


@pytest.mark.parametrize("path", [("serve",), ("db", "upgrade"), ("db", "current"), ("campaign", "create"),
                                  ("campaign", "list"), ("curator", "add")], ids=" ".join)
def test_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0 and "Usage: " in result.output and len(result.output.splitlines()) > 3


def test_gunicorn_options_keep_addresses_out_of_the_log() -> None:
    options = gunicorn_options("127.0.0.1", 8000, 0)
    assert options["workers"] == worker_count(0) == max(2, os.cpu_count() or 1)
    assert gunicorn_options("127.0.0.1", 8000, 3)["workers"] == 3
    assert options["timeout"] == 60 and options["preload_app"] is False
    assert options["worker_class"] == "collector.buffered_worker.BufferedThreadWorker"  # gthread, reads ahead
    assert "%(h)s" not in ACCESS_LOG_FORMAT and "%(a)s" not in ACCESS_LOG_FORMAT


def test_serve_and_db_upgrade_import_no_tensorflow(tmp_path) -> None:
    """The web side never pays for TensorFlow: serve's app and `db upgrade` import none of it."""
    code = ("import sys; from click.testing import CliRunner; from wordcrowd.cli import main; "
            "from collector import create_app; "
            f"create_app({{'DATA_DIR': {str(tmp_path)!r}, 'SECRET_KEY': 'k', 'TESTING': True}}); "
            f"env = {{'WORDCROWD_DATA_DIR': {str(tmp_path)!r}, 'WORDCROWD_SECRET_KEY': 'k'}}; "
            "assert CliRunner().invoke(main, ['db', 'upgrade'], env=env).exit_code == 0; "
            "assert CliRunner().invoke(main, ['serve', '--help']).exit_code == 0; "
            "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("mode", [["--workers", "1"], ["--dev"]], ids=["gunicorn", "dev"])
def test_serve_migrates_seeds_and_answers(env: dict[str, str], mode: list[str]) -> None:
    """`wordcrowd serve` migrates, seeds the default campaign and answers over HTTP (gunicorn, or Flask's)."""
    port = free_port()
    command = [sys.executable, "-m", "wordcrowd", "serve", "--port", str(port), *mode]
    proc = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        answer = _wait_for(f"http://127.0.0.1:{port}/api/v1/campaigns", proc)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        output = proc.communicate(timeout=30)[0]
    if answer is None:
        pytest.fail(f"serve did not answer:\n{output}")
    assert answer.status_code == 200
    assert "yes-no" in [c["slug"] for c in answer.json()["campaigns"]]
    assert f"open http://127.0.0.1:{port}/" in output
    if mode[0] == "--workers":
        assert proc.returncode == 0, output  # a clean shutdown on SIGTERM
        assert "Booting worker" in output and "127.0.0.1 - -" not in output  # no client address logged
        assert '"GET /api/v1/campaigns" 200' in output


def _wait_for(url: str, proc: subprocess.Popen, seconds: float = 30) -> requests.Response | None:
    """Return the first answer from url, or None if the server exits or stays silent."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            return requests.get(url, timeout=5)
        except (requests.ConnectionError, requests.Timeout):  # not up yet, or slow on a loaded machine
            time.sleep(0.2)
    return None
