"""Erasure against uploads in flight, over HTTP to `wordcrowd serve` (gunicorn), SQLite and PostgreSQL."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import requests
import soundfile as sf
from sqlalchemy import func, select

from collector.db import session_scope
from collector.models import Clip
from tests.conftest import free_port
from tests.speech import espeak_samples

ROOT = Path(__file__).resolve().parent.parent
UPLOADS = 4  # fewer than the served threads: the erasure must not wait for a free thread


def slow_ogg(seed: int, seconds: float = 14.0, rate: int = 48000) -> bytes:
    """A long stereo Ogg Vorbis with one spoken word: a valid upload that takes a while to ingest."""
    word = espeak_samples("yes", rate, voice="en")
    samples = np.random.default_rng(seed).normal(0, 1e-3, int(seconds * rate)).astype(np.float32)
    samples[len(samples) // 2 : len(samples) // 2 + len(word)] += word
    buffer = io.BytesIO()
    sf.write(buffer, np.repeat(np.clip(samples, -1, 1)[:, None], 2, axis=1), rate, format="OGG",
             subtype="VORBIS")
    return buffer.getvalue()


@pytest.fixture
def served(tmp_path, db_url):
    """`wordcrowd serve` with two gunicorn workers on the test database; yields (base URL, blob dir)."""
    port = free_port()
    env = {**os.environ, "WORDCROWD_DATA_DIR": str(tmp_path / "instance"), "WORDCROWD_DATABASE_URL": db_url,
           "WORDCROWD_SECRET_KEY": "race-secret", "WORDCROWD_DEFAULT_CAMPAIGN": "yes-no"}
    log = open(tmp_path / "server.log", "wb")  # closed in finally
    command = [sys.executable, "-m", "wordcrowd", "serve", "--port", str(port), "--workers", "2"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if requests.get(f"{base}/api/v1/campaigns", timeout=2).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or a worker still booting
                time.sleep(0.1)
        else:
            pytest.fail("the server did not come up:\n" + (tmp_path / "server.log").read_text())
        yield base, tmp_path / "instance" / "blobs"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


def erase_during_uploads(base: str) -> tuple[int, list[tuple[int, float]], float]:
    """Enrol and consent, start slow uploads, erase while they run; return the answers and when."""
    token = requests.post(f"{base}/api/v1/contributors", timeout=10).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    version = requests.get(f"{base}/api/v1/campaigns/yes-no/consent", timeout=10).json()["version"]
    consent = {"consent_version": version, "license": "CC0-1.0", "age_confirmed": True}
    assert requests.post(f"{base}/api/v1/campaigns/yes-no/consent", json=consent, headers=auth,
                         timeout=10).status_code == 201
    bodies = [slow_ogg(seed + int(time.time() * 1000)) for seed in range(UPLOADS)]

    def upload(body: bytes) -> tuple[int, float]:
        answer = requests.post(f"{base}/api/v1/campaigns/yes-no/clips", headers=auth, data={"keyword": "yes"},
                               files={"audio": ("take.ogg", body, "audio/ogg")}, timeout=120)
        return answer.status_code, time.monotonic()

    with ThreadPoolExecutor(UPLOADS) as pool:
        uploads = [pool.submit(upload, body) for body in bodies]
        time.sleep(0.05)  # the uploads have been sent and are being ingested
        erasure = requests.delete(f"{base}/api/v1/contributors/me", headers=auth, timeout=120)
        erased_at = time.monotonic()
        return erasure.status_code, [future.result() for future in uploads], erased_at


def test_no_upload_in_flight_outlives_the_erasure(served, db_url):
    """Slow uploads, then DELETE /contributors/me: 204, and afterwards no clip row or blob of theirs."""
    base, blobs = served
    for _attempt in range(6):  # a loaded machine may finish every upload first: then try again
        erasure, answers, erased_at = erase_during_uploads(base)
        assert erasure == 204
        assert {status for status, _ in answers} <= {201, 401, 403}, answers
        with session_scope(db_url) as session:
            assert session.scalar(select(func.count()).select_from(Clip)) == 0
        assert [path for path in blobs.rglob("*") if path.is_file()] == []
        if any(done > erased_at for _, done in answers):
            break
    else:
        pytest.fail("no upload was still in flight when the erasure answered: nothing was tested")
