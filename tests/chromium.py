"""Real Chromium and a served collector for the browser tests: fake microphones, pages, screenshots."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import requests
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session

from collector.models import Contributor
from collector.privacy import token_hash
from tests.conftest import free_port
from tests.speech import espeak_samples, speech_wav, wav_bytes

CHROMIUM = Path("/usr/bin/chromium")
BIN = Path(sys.executable).parent
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}
FAKE_RATE = 48000


def playwright_or_skip():
    """Return playwright.sync_api, or skip the calling module where Chromium is missing (never in CI)."""
    if not CHROMIUM.exists() and not os.environ.get("CI"):  # in CI a missing browser is a failure
        pytest.skip("Debian's chromium is not installed (make test installs it)", allow_module_level=True)
    return pytest.importorskip("playwright.sync_api")


@contextmanager
def chromium_saying(word: str, mic_dir: Path) -> Iterator:
    """One Chromium whose fake microphone says `word` once a loop, in a quiet room."""
    from playwright.sync_api import sync_playwright

    microphone = fake_microphone(mic_dir / f"{word}.wav", spoken_word_with_quiet(word))
    with sync_playwright() as driver:
        browser = launch(driver, microphone)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Server:
    """A served collector: its URL, data directory and server log."""

    url: str
    data_dir: Path
    log: Path

    def engine(self) -> Engine:
        """Open the store's SQLite database (the server keeps running: WAL lets both read)."""
        return create_engine(f"sqlite:///{self.data_dir / 'wordcrowd.db'}")

    def blob(self, key: str) -> Path:
        """Return where the local blob store keeps a key."""
        return self.data_dir / "blobs" / key


@contextmanager
def served_collector(data_dir: Path, default_campaign: str) -> Iterator[Server]:
    """Run `wordcrowd serve` (gunicorn, one worker) on a free port until the block ends."""
    port = free_port()
    env = {**os.environ, "WORDCROWD_DATA_DIR": str(data_dir), "WORDCROWD_SECRET_KEY": "browser-test-secret",
           "WORDCROWD_DEFAULT_CAMPAIGN": default_campaign}
    log = data_dir / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(BIN / "wordcrowd"), "serve", "--port", str(port), "--workers", "1"],
                                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield Server(url, data_dir, log)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/api/v1/campaigns", timeout=2).status_code == 200
    except (requests.ConnectionError, requests.Timeout):  # a starting server on a loaded machine is slow
        return False


def fake_microphone(path: Path, samples: np.ndarray) -> str:
    """Write a 48 kHz 16-bit mono WAV for Chromium's fake capture device (it loops the file)."""
    path.write_bytes(wav_bytes(np.clip(samples, -1, 1), FAKE_RATE))
    return str(path)


def spoken_word_with_quiet(word: str) -> np.ndarray:
    """The word from espeak-ng at half scale, 0.5 s of quiet each side, light noise (−60 dBFS)."""
    speech = espeak_samples(word, FAKE_RATE)  # already 250 ms of quiet each side
    speech = 0.5 * speech / np.abs(speech).max()
    quarter = np.zeros(FAKE_RATE // 4, dtype=np.float32)
    samples = np.concatenate([quarter, speech, quarter])
    return samples + np.random.default_rng(1).normal(0, 10 ** (-60 / 20), samples.shape)


def launch(driver, microphone: str):
    """Launch Debian's Chromium headless, with a fake microphone that plays `microphone`."""
    return driver.chromium.launch(executable_path=str(CHROMIUM), args=[
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone}",
    ])


def new_page(browser, viewport: dict, locale: str = "en-GB"):
    """A page in a fresh browser context (its own localStorage: another person or device)."""
    context = browser.new_context(viewport=viewport, locale=locale)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # script errors and CSP violations; a failed request is the test's own doing (or asserted on)
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    page.errors = errors
    return page


def shoot(page, name: str) -> None:
    """Save a full-page screenshot as a test artifact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def axe_violations(page) -> list[str]:
    """Run axe-core on the page as it stands; describe each violation by rule and element.

    The engine ships inside axe-playwright-python (nothing is downloaded); it is added to the page unless an
    init script (load_axe) already did.
    """
    from axe_playwright_python.sync_playwright import Axe

    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(Axe().axe_script)
    violations = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']}))"
        ".violations.map(rule => rule.nodes.map(node => `${rule.id}: ${node.target}`))")
    return [node for rule in violations for node in rule]


def load_axe(context) -> None:
    """Load axe-core into every page of a browser context before the page's own scripts."""
    from axe_playwright_python.sync_playwright import Axe

    context.add_init_script(Axe().axe_script)


def stored_token(page) -> str | None:
    """Return the bearer token the page keeps in localStorage."""
    return page.evaluate("localStorage.getItem('wordcrowd.token')")


def count(session: Session, model, *where) -> int:
    """Count a model's rows that match the conditions."""
    return session.scalar(select(func.count()).select_from(model).where(*where))


def contributor_of(session: Session, token: str) -> Contributor:
    """Return the contributor a bearer token belongs to."""
    return session.scalars(select(Contributor).where(Contributor.token_hash == token_hash(token))).one()


def consenting_contributor(server: Server, campaign: str, license: str = "CC0-1.0") -> str:
    """Enrol a contributor through the HTTP API and consent to the campaign; return its bearer token."""
    api = f"{server.url}/api/v1"
    token = requests.post(f"{api}/contributors", timeout=10).json()["token"]
    consent = {"consent_version": "1", "license": license, "age_confirmed": True}
    answer = requests.post(f"{api}/campaigns/{campaign}/consent", json=consent, timeout=10,
                           headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 201, answer.text
    return token


def seed_other_contributor(server: Server, campaign: str, words: tuple[str, ...]) -> list[str]:
    """Another contributor, through the HTTP API: consent and one clip per word; return the clip ids."""
    api = f"{server.url}/api/v1"
    auth = {"Authorization": f"Bearer {consenting_contributor(server, campaign)}"}
    ids = []
    for seed, word in enumerate(words):
        audio = {"audio": ("word.wav", speech_wav(word, seed=seed))}
        answer = requests.post(f"{api}/campaigns/{campaign}/clips", headers=auth, timeout=30,
                               data={"keyword": word}, files=audio)
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["clip_id"])
    return ids


def best_match(signal: np.ndarray, template: np.ndarray) -> float:
    """Return the highest normalised cross-correlation of `template` anywhere in `signal` (0 to 1)."""
    n = len(signal) + len(template)
    size = 1 << (n - 1).bit_length()
    correlation = np.fft.irfft(np.fft.rfft(signal, size) * np.conj(np.fft.rfft(template, size)), size)
    correlation = correlation[: len(signal) - len(template) + 1]
    window_energy = np.convolve(signal**2, np.ones(len(template)), "valid")
    score = np.abs(correlation) / (np.sqrt(window_energy * np.sum(template**2)) + 1e-12)
    return float(score.max())
