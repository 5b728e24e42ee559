"""Curator review in real Chromium: log in, work the queue by keyboard alone, reject a whole speaker."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.models import Clip
from curation.review.decisions import REJECT_REASONS
from tests.chromium import (
    BIN,
    DESKTOP,
    Server,
    fake_microphone,
    launch,
    new_page,
    playwright_or_skip,
    seed_other_contributor,
    served_collector,
    shoot,
    spoken_word_with_quiet,
)

pytestmark = pytest.mark.browser

CAMPAIGN = "yes-no"
PASSWORD = "a long curator password"

playwright_api = playwright_or_skip()
expect, sync_playwright = playwright_api.expect, playwright_api.sync_playwright


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A served app (`wordcrowd serve`) with a curator account made by the CLI."""
    with served_collector(tmp_path_factory.mktemp("review"), CAMPAIGN) as served:
        env = {**os.environ, "WORDCROWD_DATA_DIR": str(served.data_dir)}
        subprocess.run([str(BIN / "wordcrowd"), "curator", "add", "ada", "--password-stdin"], env=env,
                       input=f"{PASSWORD}\n", text=True, check=True, capture_output=True)
        yield served


@pytest.fixture(scope="module")
def playwright_driver() -> Iterator:
    """The Playwright driver for this module's tests."""
    with sync_playwright() as driver:
        yield driver


def microphone(tmp_path: Path) -> str:
    """A fake microphone (curators only listen; Chromium wants one all the same)."""
    return fake_microphone(tmp_path / "mic.wav", spoken_word_with_quiet("yes"))


def decisions(server: Server, clip_ids: list[str]) -> list[str | None]:
    """Return the curator decision of each clip, in order."""
    with Session(server.engine()) as session:
        found = dict(session.execute(select(Clip.public_id, Clip.curator_decision)
                                     .where(Clip.public_id.in_(clip_ids))).all())
    return [found[clip_id] for clip_id in clip_ids]


def played(page, seconds: float = 20) -> bool:
    """Wait until the clip's player has moved past its start (it plays); generous for a loaded machine."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if page.evaluate("document.getElementById('review-audio').currentTime") > 0:
            return True
        time.sleep(0.05)
    return False


def player_state(page) -> dict:
    """What the clip's player and the status line say: the message when a clip did not play."""
    return page.evaluate("""() => { const a = document.getElementById('review-audio');
        return {currentTime: a.currentTime, paused: a.paused, readyState: a.readyState,
                networkState: a.networkState, error: a.error && a.error.code, src: Boolean(a.src),
                status: document.getElementById('review-status').textContent}; }""")


def log_in(page, server: Server, path: str) -> None:
    """Open a review page, be sent to the login, log in and land back on it."""
    page.goto(f"{server.url}{path}")
    page.fill("#username", "ada")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}{path}")


def test_queue_by_keyboard_whatever_was_clicked(server: Server, playwright_driver, tmp_path: Path) -> None:
    """p plays, a approves, r + digit rejects with that reason, s skips, u undoes, after any click."""
    ids = seed_other_contributor(server, CAMPAIGN, ("yes", "no", "up", "down"))
    with launch(playwright_driver, microphone(tmp_path)) as browser:
        page = new_page(browser, DESKTOP)
        log_in(page, server, f"/review/c/{CAMPAIGN}/")
        card = page.locator("body")
        expect(card).to_have_attribute("data-clip", ids[0])
        page.keyboard.press("p")
        assert played(page), player_state(page)
        shoot(page, "review-queue-desktop")
        page.keyboard.press("a")
        expect(card).to_have_attribute("data-clip", ids[1])
        page.click("#review-skip")  # focus now sits on a button: the keys must still work
        expect(card).to_have_attribute("data-clip", ids[2])
        page.keyboard.press("r")
        expect(page.locator("#review-reject-reasons")).to_be_visible()
        page.keyboard.press("2")
        expect(card).to_have_attribute("data-clip", ids[3])
        assert decisions(server, ids[:3]) == ["approve", None, "reject"]
        with Session(server.engine()) as session:
            reason = session.scalar(select(Clip.curator_reason).where(Clip.public_id == ids[2]))
        assert reason == REJECT_REASONS[1]
        page.keyboard.press("u")
        expect(card).to_have_attribute("data-clip", ids[2])
        expect(page.locator("#review-status")).to_contain_text("Undone")
        assert decisions(server, ids[:3]) == ["approve", None, None]
        assert page.errors == []


def test_play_pressed_while_the_clip_loads_plays_it_when_it_arrives(server: Server, playwright_driver,
                                                                     tmp_path: Path) -> None:
    """p pressed as soon as the card shows, before its audio has arrived, plays the clip once it has."""
    seed_other_contributor(server, CAMPAIGN, ("go",))
    held = []
    with launch(playwright_driver, microphone(tmp_path)) as browser:
        page = new_page(browser, DESKTOP)
        page.route("**/api/v1/clips/*/audio", lambda route: held.append(route))
        log_in(page, server, f"/review/c/{CAMPAIGN}/")
        expect(page.locator("body")).to_have_attribute("data-clip", re.compile(".+"))
        while not held:
            page.wait_for_timeout(50)
        page.keyboard.press("p")
        page.wait_for_timeout(300)
        for route in held:
            route.continue_()
        assert played(page), player_state(page)
        expect(page.locator("#review-status")).not_to_contain_text("did not play")
        assert page.errors == []


def test_reject_a_whole_speaker_after_seeing_the_count(server: Server, playwright_driver,
                                                       tmp_path: Path) -> None:
    """The speaker page shows how many clips a rejection takes, asks, then rejects them all."""
    ids = seed_other_contributor(server, CAMPAIGN, ("left", "right", "stop"))
    with launch(playwright_driver, microphone(tmp_path)) as browser:
        page = new_page(browser, DESKTOP)
        log_in(page, server, f"/review/clips/{ids[0]}/speaker")
        page.select_option("#speaker-reason", "spam")
        page.click("#speaker-reject-start")
        expect(page.locator("#speaker-confirm-text")).to_contain_text("Reject all 3 clips")
        shoot(page, "review-speaker-desktop")
        page.click("#speaker-confirm-yes")
        expect(page.locator("#speaker-result")).to_have_text("Rejected 3 clips.")
        assert decisions(server, ids) == ["reject"] * 3
        assert page.errors == []
