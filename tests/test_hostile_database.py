"""A database that blinks: `wordcrowd serve` answers 503 + Retry-After while PostgreSQL is down, not 500."""

from __future__ import annotations

import gc
import threading
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from private_postgres import PrivatePostgres, private_postgres
from served import Served, consenting_token, serving
from speech import speech_wav

CAMPAIGN = "yes-no"


@pytest.fixture
def database() -> Iterator[PrivatePostgres]:
    """A private PostgreSQL server (not the shared one), for this test to stop and start."""
    with private_postgres() as server:
        yield server


@pytest.fixture
def served(database: PrivatePostgres, tmp_path: Path) -> Iterator[Served]:
    """`wordcrowd serve` on the private database."""
    with serving(tmp_path / "served", workers=1, DATABASE_URL=database.url) as server:
        yield server


def assert_unavailable(answer: requests.Response) -> None:
    """Assert the API's 503: code unavailable, a sentence, and Retry-After in seconds."""
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "unavailable"
    assert int(answer.headers["Retry-After"]) > 0


def upload(url: str, token: str) -> requests.Response:
    """Upload a spoken "yes" through the HTTP API."""
    return requests.post(f"{url}/api/v1/campaigns/{CAMPAIGN}/clips", data={"keyword": "yes"}, timeout=30,
                         headers={"Authorization": f"Bearer {token}"},
                         files={"audio": ("take.wav", speech_wav("yes"))})


def test_requests_while_the_database_is_down_get_503(database: PrivatePostgres, served: Served) -> None:
    token = consenting_token(served.url, CAMPAIGN)
    database.stop()
    assert_unavailable(requests.get(f"{served.url}/api/v1/campaigns", timeout=30))
    assert_unavailable(requests.post(f"{served.url}/api/v1/contributors", timeout=30))
    assert_unavailable(upload(served.url, token))
    page = requests.get(f"{served.url}/c/{CAMPAIGN}/", timeout=30)
    assert page.status_code == 503 and int(page.headers["Retry-After"]) > 0
    database.start()
    answer = upload(served.url, token)
    assert answer.status_code == 201, answer.text  # the pool reconnects by itself


def test_a_restart_under_load_answers_only_200_or_503(database: PrivatePostgres, served: Served) -> None:
    """Requests in flight while PostgreSQL restarts (sessions terminated) never see a 500."""
    statuses: Counter[int] = Counter()
    stop = threading.Event()

    def hammer() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                statuses[session.get(f"{served.url}/api/v1/campaigns", timeout=30).status_code] += 1

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(3):
            database.stop()
            database.start()
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[200] > 0
    assert requests.get(f"{served.url}/api/v1/campaigns", timeout=30).status_code == 200


def test_only_connection_and_busy_errors_are_unavailable() -> None:
    """A broken query stays a bug (500); a dead connection, a full pool or a locked SQLite is a 503."""
    import sqlite3

    import psycopg
    from sqlalchemy.exc import OperationalError, ProgrammingError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from collector.errors import database_unreachable

    def failed(kind, orig: Exception) -> Exception:
        return kind("SELECT 1", {}, orig)

    assert database_unreachable(failed(OperationalError, psycopg.OperationalError("connection failed")))
    assert database_unreachable(failed(OperationalError, sqlite3.OperationalError("database is locked")))
    assert database_unreachable(PoolTimeout("QueuePool limit of size 5 overflow 10 reached"))
    assert not database_unreachable(failed(OperationalError, sqlite3.OperationalError("no such table: x")))
    assert not database_unreachable(failed(ProgrammingError, psycopg.ProgrammingError("syntax error")))
    assert not database_unreachable(ValueError("not a database error"))


def test_a_connection_killed_after_the_answer_does_not_turn_it_into_a_500(postgres_url: str) -> None:
    """The request's session is closed after the view: a server gone by then is logged, never raised."""
    from flask import Flask
    from sqlalchemy import create_engine, text

    from collector import db

    app = Flask(__name__)
    app.config["DATABASE_URL"] = postgres_url
    db.init_app(app)
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with app.app_context():
            session = db.get_session()
            pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
            with admin.connect() as connection:  # as a restart does: terminate the backend mid-transaction
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        # leaving the context closed the session: its rollback met the dead connection and was absorbed
        with app.app_context():
            assert db.get_session().execute(text("SELECT 1")).scalar_one() == 1  # the pool reconnects
            db.get_engine().dispose()
    finally:
        admin.dispose()
        # psycopg warns when the dead connection's object is collected: collect it here, not in a later test
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
