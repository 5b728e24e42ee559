"""Shared fixtures: real SQLite and PostgreSQL databases, a real S3 API server, an app on them."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator

import pytest

PG_ADMIN_URL = os.environ.get("WORDCROWD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SECRET = "test-secret-key"
# The longest modules (pytest --durations), longest first: they start first, so that `make test`'s two
# workers (pytest-xdist, --dist loadfile: a module stays on one worker) do not end on one of them alone.
LONGEST_FIRST = ("test_lifecycle.py", "test_browser_ambience.py", "test_browser.py",
                 "test_training_pipeline.py", "test_training_qat.py", "test_training.py", "test_firmware.py",
                 "test_evaluation.py", "test_browser_languages.py", "test_erasure_race.py",
                 "test_review_browser.py", "test_checks_kinds.py", "test_release.py",
                 "test_api_contributors.py", "test_api_upload.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the longest modules first; every module keeps its own order of tests."""
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # a stable sort: the rest stay in collection order


def free_port() -> int:
    """Return a TCP port on loopback that is free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def _need_postgres() -> None:
    if not _postgres_reachable():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not running on 127.0.0.1:5432 (CI must run it)")
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    _need_postgres()
    from sqlalchemy import create_engine, text

    name = f"wc_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """An empty database: a SQLite file, and the same test again on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'wordcrowd.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3 API server (moto's server mode) on loopback for the whole session."""
    from moto.server import ThreadedMotoServer

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_url(s3_endpoint: str) -> str:
    """A fresh bucket on the S3 server, as a storage URL with a prefix."""
    import boto3

    bucket = f"wc-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    return f"s3://{bucket}/clips-store"


@pytest.fixture(params=["file", "s3"])
def storage_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A blob store: a local directory, and the same test again on the S3 server."""
    if request.param == "file":
        return f"file://{tmp_path / 'blobs'}"
    return request.getfixturevalue("s3_url")


def make_test_app(tmp_path, database_url: str, storage_url: str | None = None, *, composed: bool = False,
                  **overrides):
    """Create a migrated app on the given database and blob store (composed: with the review pages)."""
    from collector.migrate import upgrade

    if composed:
        from wordcrowd.app import create_app
    else:
        from collector import create_app

    upgrade(database_url)
    config = {
        "TESTING": True,
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": database_url,
        "STORAGE_URL": storage_url or f"file://{tmp_path / 'blobs'}",
        "S3_ENDPOINT_URL": os.environ.get("WORDCROWD_TEST_S3_ENDPOINT"),
        "SECRET_KEY": SECRET,
        # a test crowd is minutes old: every vote counts unless a test asks for the voter rule's thresholds
        "VOTER_MIN_AGE_HOURS": 0,
        "VOTER_MIN_CLIPS": 0,
        **overrides,
    }
    return create_app(config)


@pytest.fixture
def app(tmp_path, db_url):
    """The collector on a fresh database (SQLite, then PostgreSQL) and a local blob store."""
    app = make_test_app(tmp_path, db_url)
    yield app
    with app.app_context():  # close pooled connections before the test database is dropped
        from collector.db import get_engine

        get_engine().dispose()


@pytest.fixture
def client(app):
    """A Flask test client for the app."""
    return app.test_client()
