"""Rate limits against real `wordcrowd serve`: one count across gunicorn's workers, on SQLite and Redis."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from api_helpers import recording
from click.testing import CliRunner

from collector.server import worker_count
from tests.conftest import free_port
from tests.test_cli_collector import failed_with
from wordcrowd.cli import main

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379"
ENROLMENTS, UPLOADS = 8, 5  # lowered limits, so the test is quick
BOOT_S = 2.0


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {"WORDCROWD_DATA_DIR": str(tmp_path / "instance"), "WORDCROWD_SECRET_KEY": uuid.uuid4().hex,
           "WORDCROWD_RATELIMIT_CONTRIBUTORS": f"{ENROLMENTS} per hour",
           "WORDCROWD_RATELIMIT_UPLOADS": f"{UPLOADS} per minute"}
    env.update({f"WORDCROWD_{key}": value for key, value in settings.items()})
    return env


def _serve(env: dict[str, str]) -> Iterator[str]:
    """Run `wordcrowd serve` with its default worker count; yield its base URL."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("WORDCROWD_")}
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "wordcrowd", "serve", "--port", str(port)], cwd=ROOT,
                            env={**inherited, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        if not _answers(f"{base}/api/v1/campaigns", proc):
            proc.kill()
            pytest.fail(f"serve did not answer:\n{proc.communicate(timeout=30)[0]}")
        _wait_for_workers(proc.pid, worker_count(0))
        yield base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        output = proc.communicate(timeout=30)[0]
    assert output.count("Booting worker") == worker_count(0) >= 2, output


def _answers(url: str, proc: subprocess.Popen, seconds: float = 60) -> bool:
    """Return True once url answers 200; False if the server exits or stays silent."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            return requests.get(url, timeout=10).status_code == 200
        except requests.RequestException:
            time.sleep(0.2)
    return False


def _wait_for_workers(master: int, workers: int, seconds: float = 30) -> None:
    """Wait until gunicorn's master has all its workers, and give the last one time to load the app."""
    children = Path(f"/proc/{master}/task/{master}/children")
    deadline = time.monotonic() + seconds
    while len(children.read_text().split()) < workers and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(BOOT_S)  # a worker imports the app after it forks; requests must find every worker ready


def _need_redis() -> None:
    """Skip without the Redis server on 127.0.0.1:6379 (fail under CI, which must run it)."""
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        if os.environ.get("CI"):
            pytest.fail("Redis is not running on 127.0.0.1:6379 (CI must run it)")
        pytest.skip("Redis is not running on 127.0.0.1:6379")


@pytest.fixture(params=["sqlite", "redis"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """`wordcrowd serve` on the embedded default storage (a SQLite file), then on the local Redis."""
    extra = {}
    if request.param == "redis":
        _need_redis()
        extra = {"RATELIMIT_STORAGE_URL": REDIS_URL}
    yield from _serve(_env(tmp_path, **extra))


def _statuses(calls: int, call) -> Counter[int]:
    """Make `calls` requests from 8 threads (new connections, so every worker takes some); count statuses."""
    with ThreadPoolExecutor(8) as pool:
        return Counter(pool.map(lambda _: call().status_code, range(calls)))


def test_enrolment_limit_holds_across_workers(served: str) -> None:
    statuses = _statuses(3 * ENROLMENTS, lambda: requests.post(f"{served}/api/v1/contributors", timeout=10))
    assert statuses == {201: ENROLMENTS, 429: 2 * ENROLMENTS}


def test_upload_limit_holds_across_workers(served: str) -> None:
    token = requests.post(f"{served}/api/v1/contributors", timeout=10).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    version = requests.get(f"{served}/api/v1/campaigns/yes-no/consent", timeout=10).json()["version"]
    consent = {"consent_version": version, "license": "CC0-1.0", "age_confirmed": True}
    assert requests.post(f"{served}/api/v1/campaigns/yes-no/consent", json=consent, headers=auth,
                         timeout=10).status_code == 201
    wav = recording("yes", 3)

    def upload() -> requests.Response:
        return requests.post(f"{served}/api/v1/campaigns/yes-no/clips", headers=auth, timeout=30,
                             data={"keyword": "yes"}, files={"audio": ("take.wav", wav, "audio/wav")})

    statuses = _statuses(3 * UPLOADS, upload)  # one new clip, then duplicates (409), then 429
    assert statuses[429] == 2 * UPLOADS and statuses[201] == 1, statuses


@pytest.mark.parametrize(("setting", "value", "words"), [
    ("RATELIMIT_STORAGE_URL", "redis://127.0.0.1:1", ["cannot be reached"]),
    ("RATELIMIT_STORAGE_URL", "memory://", ["multiply every limit"]),
    ("RATELIMIT_STORAGE_URL", "bogus://somewhere", ["redis"]),
    ("RATELIMIT_STORAGE_URL", "sqlite:////proc/no-such-dir/limits.db", ["not usable"]),
    ("RATELIMIT_UPLOADS", "lots", ["a rate limit"]),
    ("VOTER_MIN_CLIPS", "-1", ["negative"]),
    ("VOTER_MIN_AGE_HOURS", "inf", ["finite"]),
])
def test_misconfigured_setting_stops_serve_in_one_line(tmp_path: Path, setting: str, value: str,
                                                        words: list[str]) -> None:
    result = CliRunner().invoke(main, ["serve"], env=_env(tmp_path, **{setting: value}))
    assert failed_with(result, f"WORDCROWD_{setting}", *words), result.output


def test_memory_storage_is_fine_for_one_process(tmp_path: Path) -> None:
    from collector.ratelimit import storage_problem

    assert storage_problem("memory://", 1) is None
    assert storage_problem(REDIS_URL, 4) is None
    assert storage_problem(f"sqlite:///{tmp_path}/limits.db", 4) is None
