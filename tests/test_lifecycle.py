"""The walking skeleton end to end: a served collector, a crowd over HTTP, release, model, firmware."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import requests

from tests.conftest import free_port
from tests.speech import speech_wav

pytestmark = pytest.mark.slow

KEYWORDS = ("yes", "no", "stop")
VOICES = ("en", "en-us", "en-gb-x-rp", "en-gb-scotland", "en-029", "en+f3", "en+m3", "en-us+f2",
          "en+m5", "en-gb-x-gbclan", "en+f4", "en-us+m2")
BIN = Path(sys.executable).parent


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run the wordcrowd command and fail with its output if it does not succeed."""
    result = subprocess.run([str(BIN / "wordcrowd"), *args], env=env, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, f"wordcrowd {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture
def served(tmp_path):
    """`wordcrowd serve` (gunicorn) on a free port with a fresh data directory; yields (base URL, env)."""
    port = free_port()
    env = {**os.environ, "WORDCROWD_DATA_DIR": str(tmp_path / "instance"),
           "WORDCROWD_SECRET_KEY": "lifecycle-secret", "WORDCROWD_DEFAULT_CAMPAIGN": "yes-no"}
    run_cli("campaign", "create", "skeleton", "--keywords", ",".join(KEYWORDS), "--title", "Skeleton",
            env={**env})
    log = open(tmp_path / "server.log", "wb")  # closed in finally
    proc = subprocess.Popen([str(BIN / "wordcrowd"), "serve", "--port", str(port), "--workers", "2"],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if requests.get(f"{base}/api/v1/campaigns", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        else:
            pytest.fail("the server did not come up")
        yield base, env
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


def contribute(base: str, voice: int) -> tuple[str, list[str]]:
    """One synthetic contributor: enrol, consent, declare a profile, record every keyword twice."""
    contributor = requests.post(f"{base}/api/v1/contributors", timeout=10).json()
    auth = {"Authorization": f"Bearer {contributor['token']}"}
    consent = requests.get(f"{base}/api/v1/campaigns/skeleton/consent", timeout=10).json()
    licence = "CC-BY-4.0" if voice % 3 == 0 else "CC0-1.0"
    answer = requests.post(f"{base}/api/v1/campaigns/skeleton/consent", headers=auth, timeout=10, json={
        "consent_version": consent["version"], "license": licence, "age_confirmed": True,
        "demographics_opt_in": True})
    assert answer.status_code == 201, answer.text
    profile = {"age": "twenties" if voice % 2 else "fifties",
               "gender": "female_feminine" if "+f" in VOICES[voice] else "male_masculine"}
    assert requests.put(f"{base}/api/v1/contributors/me/profile", headers=auth, json=profile,
                        timeout=10).status_code == 200
    clip_ids = []
    for take in range(2):
        for word in KEYWORDS:
            wav = speech_wav(word, rate=48000, voice=VOICES[voice], pitch=40 + 10 * take,
                             seed=voice * 10 + take)
            answer = requests.post(f"{base}/api/v1/campaigns/skeleton/clips", headers=auth, timeout=30,
                                   data={"keyword": word}, files={"audio": ("take.wav", wav, "audio/wav")})
            assert answer.status_code == 201, answer.text
            clip_ids.append(answer.json()["clip_id"])
    return contributor["token"], clip_ids


def test_collect_release_train_and_export(served, tmp_path):
    """Several contributors upload over HTTP; the release trains a model whose C array is int8.tflite."""
    base, env = served
    tokens = [contribute(base, voice)[0] for voice in range(len(VOICES))]
    for token in tokens[:4]:  # a few peer votes, so the release carries vote counts
        auth = {"Authorization": f"Bearer {token}"}
        queue = requests.get(f"{base}/api/v1/campaigns/skeleton/review?count=5", headers=auth,
                             timeout=10).json()
        for clip in queue["clips"]:
            vote = requests.post(f"{base}/api/v1/clips/{clip['clip_id']}/votes", json={"valid": True},
                                 headers=auth, timeout=10)
            assert vote.status_code == 201, vote.text

    release, model, firmware = tmp_path / "release", tmp_path / "model", tmp_path / "fw"
    run_cli("curate", "release", "skeleton", "--out", str(release), env=env)
    for name in ("clips.tsv", "release.json", "validation_list.txt", "testing_list.txt", "SHA256SUMS",
                 "LICENSES/CC0-1.0.txt", "LICENSES/CC-BY-4.0.txt"):
        assert (release / name).is_file(), name
    assert len(list(release.glob("*/*_nohash_*.wav"))) == len(VOICES) * len(KEYWORDS) * 2
    subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=release, check=True)

    run_cli("train", str(release), "--out", str(model), "--epochs", "3", "--model", "tiny_conv", env=env)
    labels = (model / "labels.txt").read_text().split()
    assert labels == ["_silence_", "_unknown_", *sorted(KEYWORDS)] or labels[:2] == ["_silence_", "_unknown_"]
    assert set(labels[2:]) == set(KEYWORDS)

    run_cli("firmware", str(model), "--target", "host", "--out", str(firmware), env=env)
    from firmware.carray import read_c_array

    tflite = (model / "int8.tflite").read_bytes()
    assert read_c_array(firmware / "model_data.cc") == tflite

    from tflite_micro.python.tflite_micro import runtime

    interpreter = runtime.Interpreter.from_bytes(tflite)
    features = np.full((1, 49, 40), -128, dtype=np.int8)
    interpreter.set_input(features.reshape(interpreter.get_input_details(0)["shape"]), 0)
    interpreter.invoke()
    scores = interpreter.get_output(0)
    assert scores.dtype == np.int8 and scores.size == len(labels)
