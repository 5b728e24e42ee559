"""The pages in real Chromium: a person's whole path from landing to withdrawal, on a served collector.

Chromium records through getUserMedia from a WAV file (its fake capture device), so the pages capture,
check, encode and upload real synthesized speech; the store is then read directly to see what it holds.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests
import soundfile as sf
from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.campaigns import create_campaign
from collector.models import Clip, Consent, Contributor, Demographics, Erasure, Vote
from licenses import consent_sha256
from tests.chromium import (
    DESKTOP,
    FAKE_RATE,
    PHONE,
    Server,
    axe_violations,
    best_match,
    consenting_contributor,
    contributor_of,
    count,
    fake_microphone,
    launch,
    new_page,
    playwright_or_skip,
    seed_other_contributor,
    served_collector,
    shoot,
    spoken_word_with_quiet,
    stored_token,
)
from tests.speech import espeak_samples, speech_wav

pytestmark = pytest.mark.browser

WORD = "yes"
CAMPAIGN = "yes-no"
TAKE_SECONDS = 2.0  # longer than a loop of the fake microphone's file plus a word: a whole word in each take

playwright_api = playwright_or_skip()
expect, sync_playwright = playwright_api.expect, playwright_api.sync_playwright


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The collector served by `wordcrowd serve` on a fresh data directory, for this module's tests."""
    with served_collector(tmp_path_factory.mktemp("served"), CAMPAIGN) as served:
        yield served


@pytest.fixture(scope="module")
def playwright_driver() -> Iterator:
    """The Playwright driver, shared by the tests (each launches its own Chromium with its microphone)."""
    with sync_playwright() as driver:
        yield driver


def give_consent(page, server: Server, *, opt_in: bool) -> None:
    """Walk landing → consent as a person: read, choose CC-BY-4.0 explicitly, confirm age, agree."""
    page.goto(f"{server.url}/c/{CAMPAIGN}/")
    page.get_by_role("link", name="Take part").click()
    page.wait_for_url(re.compile(r"/consent$"))
    page.get_by_label("Creative Commons Attribution 4.0").check()
    page.get_by_label("I am at least 18 years old").check()
    page.get_by_label("The voice I record is my own").check()
    if opt_in:
        page.get_by_label("I would also like to tell you").check()
    page.get_by_role("button", name="I agree, start recording").click()


def record_take(page, *, keys: bool, screenshot: str | None = None) -> None:
    """Record one take of TAKE_SECONDS, with the keyboard or the buttons, and wait for the checks."""
    if keys:
        page.keyboard.press("Space")
    else:
        page.get_by_role("button", name="Record", exact=True).click()
    expect(page.locator("#record-btn")).to_have_text("Stop")
    started = time.monotonic()
    if screenshot:
        page.wait_for_function("() => document.getElementById('meter').getAttribute('aria-valuenow') > 30")
        shoot(page, screenshot)
    page.wait_for_timeout(max(0, TAKE_SECONDS - (time.monotonic() - started)) * 1000)
    if keys:
        page.keyboard.press("Space")
    else:
        page.get_by_role("button", name="Stop").click()
    expect(page.locator("#record-btn")).to_have_text("Record again")


def assert_holds_the_word(wav: bytes) -> None:
    """The canonical clip carries the spoken word: loud against its quiet parts, shaped like espeak's."""
    samples, rate = sf.read(io.BytesIO(wav), dtype="float64")
    assert (rate, len(samples)) == (16000, 16000)
    frames = samples[: len(samples) // 320 * 320].reshape(-1, 320)
    frame_db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    assert frame_db.max() > -30, "the clip holds no loud part"
    assert frame_db.max() - np.percentile(frame_db, 10) > 30, "the word does not stand out from the quiet"
    template = espeak_samples(WORD, 16000).astype(np.float64)
    loud = np.flatnonzero(np.abs(template) > 0.01 * np.abs(template).max())
    template = template[loud[0]: loud[0] + 4000]  # the word's first 250 ms, without the padding
    assert best_match(samples, template) > 0.9  # other words score below 0.5


def test_contributor_path_from_landing_to_withdrawal(server: Server, playwright_driver, tmp_path) -> None:
    """Landing → consent → profile → five prompts → listen and vote → my data → delete one → withdraw."""
    others = seed_other_contributor(server, CAMPAIGN, ("no", "up", "down"))
    browser = launch(playwright_driver, fake_microphone(tmp_path / "yes.wav", spoken_word_with_quiet(WORD)))
    try:
        page = new_page(browser, PHONE)
        page.goto(f"{server.url}/")
        shoot(page, "01-index-phone")
        page.get_by_role("link", name=re.compile("Ten commands")).click()
        shoot(page, "02-landing-phone")
        page.goto(f"{server.url}/c/{CAMPAIGN}/consent")
        # no licence chosen, age not confirmed: the form stays, nothing is stored
        page.get_by_role("button", name="I agree, start recording").click()
        assert page.url.endswith("/consent") and stored_token(page) is None
        shoot(page, "03-consent-phone")
        give_consent(page, server, opt_in=True)
        page.wait_for_url(re.compile(r"/profile$"))
        page.get_by_label("Age", exact=True).select_option("thirties")
        page.get_by_label("Gender", exact=True).select_option("female_feminine")
        page.get_by_label("Accent", exact=True).fill("Scottish English")
        page.get_by_label("Native language").select_option("en")
        shoot(page, "04-profile-phone")
        page.get_by_role("button", name="Save and continue").click()
        page.wait_for_url(re.compile(r"/record$"))
        token = stored_token(page)
        recorded = record_five_prompts(page, server)
        listen_and_vote(page, server, others)
        my_data_delete_and_recover(page, browser, server, token)
        withdraw(page, server, token, recorded)
        assert not page.errors, page.errors
    finally:
        browser.close()
    assert token not in server.log.read_text(), "the bearer token reached the server log"


def record_five_prompts(page, server: Server) -> list[str]:
    """Record the set of five; two uploads fail at first (network reset, 429) and are retried."""
    page.wait_for_function("() => document.getElementById('prompt').textContent.trim() !== ''")
    shoot(page, "05-record-ready-phone")
    slow_down = {"status": 429, "headers": {"Retry-After": "1"},
                 "json": {"error": {"code": "rate_limited", "message": "Too many uploads; wait a second."}}}
    first_try_fails = {2: lambda route: route.abort("connectionreset"),
                       3: lambda route: route.fulfill(**slow_down)}
    attempts: dict[int, list[float]] = {}
    prompts: list[str] = []

    def flaky_network(route) -> None:
        index = len(prompts) - 1
        tries = attempts.setdefault(index, [])
        tries.append(time.monotonic())
        if len(tries) == 1 and index in first_try_fails:
            first_try_fails[index](route)
        else:
            route.continue_()

    page.route("**/api/v1/campaigns/*/clips", flaky_network)
    for index in range(5):
        assert page.locator("#progress-text").inner_text() == f"Word {index + 1} of 5"
        prompts.append(page.locator("#prompt").inner_text())
        assert page.get_by_role("button", name="Submit").is_disabled()
        record_take(page, keys=index % 2 == 1, screenshot="06-record-recording-phone" if index == 0 else None)
        assert page.locator("#warnings").is_hidden(), page.locator("#warnings").inner_text()
        if index == 0:
            shoot(page, "07-record-review-phone")
            page.keyboard.press("p")
            page.wait_for_function("() => !document.getElementById('playback').paused")
        if index % 2:
            page.keyboard.press("Enter")
        else:
            page.get_by_role("button", name="Submit").click()
        if index < 4:
            expect(page.locator("#progress-text")).to_have_text(f"Word {index + 2} of 5", timeout=20000)
    page.locator("#set-done").wait_for(state="visible", timeout=20000)
    page.unroute("**/api/v1/campaigns/*/clips")
    shoot(page, "08-record-set-done-phone")
    assert [len(attempts[index]) for index in range(5)] == [1, 1, 2, 2, 1], "failed uploads were not retried"
    assert attempts[3][1] - attempts[3][0] >= 0.9, "the retry did not wait for Retry-After"
    return assert_recorded(server, stored_token(page), prompts)


def assert_recorded(server: Server, token: str, prompts: list[str]) -> list[str]:
    """The store holds the five clips with the word in them, under the consent and profile given."""
    with Session(server.engine()) as session:
        contributor = contributor_of(session, token)
        clips = session.scalars(select(Clip).where(Clip.contributor_id == contributor.id)
                                .order_by(Clip.created_at)).all()
        assert [clip.keyword.word for clip in clips] == prompts
        consent = session.scalars(select(Consent).where(Consent.contributor_id == contributor.id)).one()
        assert (consent.consent_version, consent.license) == ("1", "CC-BY-4.0")
        assert (consent.consent_language, consent.consent_sha256) == ("en", consent_sha256("1", "en"))
        assert consent.age_confirmed and consent.demographics_opt_in and consent.withdrawn_at is None
        demographics = session.get(Demographics, contributor.id)
        assert (demographics.age, demographics.gender, demographics.accent, demographics.native_language) == (
            "thirties", "female_feminine", "Scottish English", "en")
        for clip in clips:
            assert clip.consent_id == consent.id and clip.source == "web"
            assert clip.original_format == "wav" and clip.channels == 1
            assert clip.sample_rate_hz in (44100, 48000)  # the device's rate: the server resampled
            assert clip.duration_ms >= TAKE_SECONDS * 1000 + 250  # the 300 ms tail after Stop
            assert_holds_the_word(server.blob(clip.canonical_key).read_bytes())
            info = sf.info(io.BytesIO(server.blob(clip.original_key).read_bytes()))
            assert (info.subtype, info.samplerate) == ("PCM_16", clip.sample_rate_hz)
        return [clip.public_id for clip in clips]


def listen_and_vote(page, server: Server, others: list[str]) -> None:
    """Review another contributor's clips: yes only after playing to the end, no with a reason, skip."""
    page.set_viewport_size(DESKTOP)
    page.get_by_role("link", name="Listen to others").click()
    page.wait_for_url(re.compile(r"/listen$"))
    yes = page.get_by_role("button", name="Yes, it is right")
    seen, shown = [], None
    for action in ("yes", "no", "skip"):
        page.wait_for_function("previous => (document.getElementById('review').dataset.clipId || previous)"
                               " !== previous", arg=shown or "")
        shown = page.locator("#review").get_attribute("data-clip-id")
        seen.append(page.locator("#expected").inner_text())
        assert yes.is_disabled()
        if action == "yes":
            page.keyboard.press("y")  # not played yet: nothing happens
            assert yes.is_disabled()
            page.keyboard.press("p")
            page.wait_for_function("() => !document.getElementById('yes-btn').disabled", timeout=10000)
            shoot(page, "09-listen-played-desktop")
            page.keyboard.press("y")
        elif action == "no":
            # after a saved answer the status line says one thing: saved, and what to do with the next clip
            expect(page.locator("#status")).to_have_text(
                "Your answer was saved; play the next recording to the end to answer yes.")
            page.keyboard.press("n")
            page.get_by_label("Too much noise").check()
            shoot(page, "10-listen-reason-desktop")
            page.get_by_role("button", name='Send "no"').click()
        else:
            page.keyboard.press("s")
    page.locator("#empty").wait_for(state="visible")
    expect(page.locator("#empty-text")).to_have_text(
        "That was the last recording to check for now: thank you for your answers!")
    shoot(page, "11-listen-empty-desktop")
    assert sorted(seen) == ["down", "no", "up"]  # the other contributor's clips, never one's own
    with Session(server.engine()) as session:
        voter = contributor_of(session, stored_token(page))
        votes = session.execute(select(Clip.public_id, Vote.valid, Vote.reason)
                                .join(Vote, Vote.clip_id == Clip.id).where(Vote.voter_id == voter.id)).all()
        assert sorted((valid, reason) for _, valid, reason in votes) == [(False, "noise"), (True, None)]
        assert {clip_id for clip_id, _, _ in votes} <= set(others)


def my_data_delete_and_recover(page, browser, server: Server, token: str) -> None:
    """My data lists the five clips; delete one; the recovery link opens them on another device."""
    page.get_by_role("link", name="My data").click()
    page.wait_for_url(re.compile(r"/my-data$"))
    items = page.locator("#clips li")
    items.nth(4).wait_for()
    assert items.count() == 5
    items.first.get_by_role("button", name=re.compile("^Play ")).click()
    page.wait_for_function("() => !document.getElementById('clip-audio').paused")
    page.get_by_role("button", name="Show my recovery link").click()
    link = page.get_by_label("Recovery link", exact=True).input_value()
    assert link == f"{server.url}/recover#token={token}"
    shoot(page, "12-my-data-desktop")
    doomed = items.first.get_attribute("data-clip-id")
    items.first.get_by_role("button", name=re.compile("^Delete ")).click()
    shoot(page, "13-delete-dialog-desktop")
    page.locator("#delete-dialog").get_by_role("button", name="Delete").click()
    page.wait_for_function("() => document.querySelectorAll('#clips li').length === 4")
    with Session(server.engine()) as session:
        assert session.scalars(select(Clip).where(Clip.public_id == doomed)).first() is None
    assert not any(server.data_dir.glob(f"blobs/**/{doomed}.*")), "the deleted clip's blobs remain"

    other_device = new_page(browser, PHONE)
    other_device.goto(link)
    other_device.locator("#ok").wait_for(state="visible")
    assert "token" not in other_device.url  # dropped from the address bar and history
    assert stored_token(other_device) == token
    shoot(other_device, "14-recover-phone")
    other_device.get_by_role("link", name="Go to My data").click()
    other_device.locator("#clips li").nth(3).wait_for()
    assert other_device.locator("#clips li").count() == 4
    shoot(other_device, "15-my-data-phone")
    second_device_records_under_the_first_consent(other_device, server, token)
    assert not other_device.errors, other_device.errors
    other_device.context.close()


def second_device_records_under_the_first_consent(page, server: Server, token: str) -> None:
    """The consent follows the recovered key: the landing leads straight to the recorder, none is asked."""
    page.goto(f"{server.url}/c/{CAMPAIGN}/consent")
    expect(page.locator("#already")).to_contain_text("chose the licence CC-BY-4.0")  # not silently replaced
    assert page.locator("#changed").is_hidden()
    page.goto(f"{server.url}/c/{CAMPAIGN}/")
    page.get_by_role("link", name="Continue recording").click()  # "Take part" once the API answered
    page.wait_for_url(re.compile(r"/record$"))
    page.wait_for_function("() => document.getElementById('prompt').textContent.trim() !== ''")
    assert page.url.endswith("/record")  # the recorder kept it: no detour through the consent page
    assert consents_of(server, token) == [("1", "CC-BY-4.0", True)]  # still the one given on the first


def consents_of(server: Server, token: str) -> list[tuple[str, str, bool]]:
    """Return (version, licence, in force) of each consent the token's contributor gave, oldest first."""
    with Session(server.engine()) as session:
        contributor = contributor_of(session, token)
        consents = session.scalars(select(Consent).where(Consent.contributor_id == contributor.id)
                                   .order_by(Consent.id)).all()
        return [(consent.consent_version, consent.license, consent.active) for consent in consents]


def withdraw(page, server: Server, token: str, recorded: list[str]) -> None:
    """Withdraw and erase everything, confirmed by typing the word; the browser forgets the token."""
    erase = page.get_by_role("button", name="Withdraw and erase everything")
    assert erase.is_disabled()
    page.get_by_label("To confirm, type ERASE").fill("erase")
    shoot(page, "16-withdraw-confirm-desktop")
    erase.click()
    expect(page.locator("#status")).to_contain_text("Everything has been erased")
    shoot(page, "17-withdrawn-desktop")
    assert stored_token(page) is None
    with Session(server.engine()) as session:
        contributor = session.scalars(select(Contributor).where(Contributor.erased_at.is_not(None))).one()
        assert contributor.token_hash is None
        assert count(session, Clip, Clip.contributor_id == contributor.id) == 0
        assert session.get(Demographics, contributor.id) is None
        consents = session.scalars(select(Consent).where(Consent.contributor_id == contributor.id)).all()
        assert consents and all(consent.withdrawn_at is not None for consent in consents)
        assert count(session, Erasure) == 1
        assert count(session, Vote, Vote.voter_id == contributor.id) == 0  # the votes they cast went too
    for clip_id in recorded:
        assert not any(server.data_dir.glob(f"blobs/**/{clip_id}.*")), "an erased clip's blob remains"
    assert requests.get(f"{server.url}/api/v1/contributors/me/clips", timeout=10,
                        headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_consent_to_an_older_text_is_asked_again(server: Server, playwright_driver, tmp_path: Path) -> None:
    """A consent to an earlier text: the recorder sends one to consent again, saying that the text changed."""
    token = consenting_contributor(server, CAMPAIGN)
    with Session(server.engine()) as session:
        contributor = contributor_of(session, token)
        old = session.scalars(select(Consent).where(Consent.contributor_id == contributor.id)).one()
        old.consent_version = "0"  # as if the campaign's text had moved on to version 1 since
        session.commit()
    browser = launch(playwright_driver, fake_microphone(tmp_path / "quiet.wav", np.zeros(FAKE_RATE)))
    try:
        page = new_page(browser, PHONE)
        page.goto(f"{server.url}/recover#token={token}")
        page.locator("#ok").wait_for(state="visible")
        page.goto(f"{server.url}/c/{CAMPAIGN}/record")
        page.wait_for_url(re.compile(r"/consent$"))
        expect(page.locator("#changed")).to_contain_text("The consent text has changed")
        assert page.locator("#already").is_hidden()
        shoot(page, "22-consent-changed-phone")
        give_consent(page, server, opt_in=False)  # the landing's link leads to the consent page too
        page.wait_for_url(re.compile(r"/record$"))
        page.wait_for_function("() => document.getElementById('prompt').textContent.trim() !== ''")
        assert not page.errors, page.errors
    finally:
        browser.close()
    assert consents_of(server, token) == [("0", "CC0-1.0", False), ("1", "CC-BY-4.0", True)]


def clip_count(server: Server, token: str) -> int:
    with Session(server.engine()) as session:
        contributor = contributor_of(session, token)
        return count(session, Clip, Clip.contributor_id == contributor.id)


def test_silent_microphone_warns_no_speech_and_uploads_nothing(server: Server, playwright_driver,
                                                              tmp_path: Path) -> None:
    """A muted microphone: the page says it heard no speech, offers no override and uploads nothing."""
    quiet = np.random.default_rng(2).normal(0, 10 ** (-70 / 20), FAKE_RATE * 2)
    browser = launch(playwright_driver, fake_microphone(tmp_path / "silent.wav", quiet))
    try:
        page = new_page(browser, PHONE)
        page.goto(f"{server.url}/c/{CAMPAIGN}/record")
        page.wait_for_url(re.compile(r"/consent$"))  # nothing is recorded before consent
        give_consent(page, server, opt_in=False)
        page.wait_for_url(re.compile(r"/record$"))
        page.wait_for_function("() => document.getElementById('prompt').textContent.trim() !== ''")
        uploads: list[str] = []
        page.on("request", lambda request: uploads.append(request.url) if "/clips" in request.url else None)
        record_take(page, keys=True)
        warning = page.locator("#warnings")
        assert warning.is_visible() and "could not hear any speech" in warning.inner_text()
        assert page.locator("#override-row").is_hidden()
        assert page.get_by_role("button", name="Submit").is_disabled()
        page.keyboard.press("Enter")
        page.wait_for_timeout(300)
        shoot(page, "18-record-no-speech-phone")
        assert uploads == [] and clip_count(server, stored_token(page)) == 0
        assert not page.errors, page.errors
    finally:
        browser.close()


def test_flagged_take_rejected_by_the_server_shows_one_message_and_one_action(
        server: Server, playwright_driver, tmp_path: Path) -> None:
    """Quiet clicks (a loose cable): the page flags "very quiet", the server rejects it (422).

    Then the rejection replaces the warning, and the one way on is the Record button, now "Record again".
    """
    clicks = np.random.default_rng(3).normal(0, 10 ** (-80 / 20), FAKE_RATE)
    clicks[:240] = np.random.default_rng(4).uniform(-0.02, 0.02, 240)  # 5 ms of crackle at −34 dBFS a second
    browser = launch(playwright_driver, fake_microphone(tmp_path / "clicks.wav", clicks))
    try:
        page = new_page(browser, PHONE)
        give_consent(page, server, opt_in=False)
        page.wait_for_url(re.compile(r"/record$"))
        page.wait_for_function("() => document.getElementById('prompt').textContent.trim() !== ''")
        record_take(page, keys=False)
        assert "very quiet" in page.locator("#warnings").inner_text()
        assert axe_violations(page) == []  # the warning and the override box
        page.get_by_label("Submit it anyway").check()
        page.get_by_role("button", name="Submit").click()
        rejection = page.locator("#rejection")
        rejection.wait_for(state="visible", timeout=20000)
        assert rejection.inner_text() in (  # the server's reason, in plain words
            "The recording is silent. Check your microphone and try again.",
            "We could not hear a spoken word in the recording. Please record it again.")
        assert page.locator("#warnings").is_hidden() and page.locator("#override-row").is_hidden()
        again = page.get_by_role("button", name="Record again")
        assert again.count() == 1 and again.is_visible()
        assert page.evaluate("document.activeElement.id") == "record-btn"
        assert axe_violations(page) == []
        shoot(page, "19-record-rejected-phone")
        assert clip_count(server, stored_token(page)) == 0
        page.keyboard.press("Space")
        expect(page.locator("#record-btn")).to_have_text("Stop")
        assert rejection.is_hidden()
        assert not page.errors, page.errors
    finally:
        browser.close()


def test_recorder_keys_keep_working_after_submit_anyway(server: Server, playwright_driver, tmp_path) -> None:
    """A flagged (too loud) take: after ticking "Submit it anyway", by mouse or keyboard, the keys still work.

    Enter submits, Space records: the documented keys hold whatever was clicked last.
    """
    loud = np.clip(4 * spoken_word_with_quiet(WORD), -1, 1)  # the word clipped hard: flagged, not rejected
    browser = launch(playwright_driver, fake_microphone(tmp_path / "loud.wav", loud))
    try:
        page = new_page(browser, PHONE)
        give_consent(page, server, opt_in=False)
        page.wait_for_url(re.compile(r"/record$"))
        page.wait_for_function("() => document.getElementById('prompt').textContent.trim() !== ''")
        token = stored_token(page)
        record_take(page, keys=True)
        assert "too loud" in page.locator("#warnings").inner_text()
        page.get_by_label("Submit it anyway").click()  # by mouse: the box would keep the focus
        page.keyboard.press("Enter")
        expect(page.locator("#progress-text")).to_have_text("Word 2 of 5", timeout=20000)
        assert clip_count(server, token) == 1
        record_take(page, keys=True)
        page.get_by_label("Submit it anyway").click()
        record_take(page, keys=True)  # Space records again instead of unticking the box
        assert "too loud" in page.locator("#warnings").inner_text()
        override = page.get_by_label("Submit it anyway")
        override.focus()  # by keyboard: Space ticks the focused box, then Enter submits
        page.keyboard.press("Space")
        assert override.is_checked()
        page.keyboard.press("Enter")
        expect(page.locator("#progress-text")).to_have_text("Word 3 of 5", timeout=20000)
        assert clip_count(server, token) == 2
        with Session(server.engine()) as session:
            flags = session.scalars(select(Clip.flags).where(
                Clip.contributor_id == contributor_of(session, token).id)).all()
        assert all("clipping" in clip_flags for clip_flags in flags), flags
        assert not page.errors, page.errors
    finally:
        browser.close()


def test_listen_says_one_sentence_for_each_state(server: Server, playwright_driver, tmp_path) -> None:
    """Nothing to check yet: no thanks for nothing; after answers: thanks; never two messages in one line."""
    with Session(server.engine()) as session:
        create_campaign(session, "quiet-hours", ["yes", "no"], title="Quiet hours")
        session.commit()
    browser = launch(playwright_driver, fake_microphone(tmp_path / "quiet.wav", np.zeros(FAKE_RATE)))
    try:
        page = new_page(browser, DESKTOP)
        page.goto(f"{server.url}/c/quiet-hours/listen")
        page.get_by_role("button", name="Start listening").click()
        page.wait_for_url(re.compile(r"/c/quiet-hours/consent$"))  # judging clips needs a consent first
        token = consenting_contributor(server, "quiet-hours")
        page.evaluate("token => localStorage.setItem('wordcrowd.token', token)", token)
        page.goto(f"{server.url}/c/quiet-hours/listen")  # with a token and a consent it starts at once
        empty = page.locator("#empty-text")
        expect(empty).to_have_text(
            "There is nothing to check right now; come back later, or record some words yourself.")
        assert "Thank" not in page.locator("main").inner_text()
        seed_other_contributor(server, "quiet-hours", ("no",))
        page.get_by_role("button", name="Look again").click()
        expect(page.locator("#status")).to_have_text("Play the recording to the end to answer yes.")
        page.keyboard.press("p")
        expect(page.locator("#status")).to_have_text("Did it say the word clearly?", timeout=10000)
        page.keyboard.press("y")
        expect(empty).to_have_text(
            "That was the last recording to check for now: thank you for your answers!")
        assert page.locator("#status").inner_text() == ""
        assert not page.errors, page.errors
    finally:
        browser.close()


def test_my_data_takes_a_pasted_recovery_link(server: Server, playwright_driver, tmp_path: Path) -> None:
    """A browser without a key: paste the recovery link on My data, and the recordings are there."""
    token = consenting_contributor(server, CAMPAIGN)
    answer = requests.post(f"{server.url}/api/v1/campaigns/{CAMPAIGN}/clips", timeout=30,
                           headers={"Authorization": f"Bearer {token}"}, data={"keyword": "go"},
                           files={"audio": ("go.wav", speech_wav("go", seed=7))})
    assert answer.status_code == 201, answer.text
    browser = launch(playwright_driver, fake_microphone(tmp_path / "quiet.wav", np.zeros(FAKE_RATE)))
    try:
        page = new_page(browser, PHONE)
        requests_seen: list[str] = []
        page.on("request", lambda request: requests_seen.append(request.url))
        page.goto(f"{server.url}/my-data")
        field = page.get_by_role("textbox", name="Your recovery link")
        field.fill(f"{server.url}/recover#token=not-a-valid-token-at-all-here")
        page.get_by_role("button", name="Open my recordings").click()
        expect(page.locator("#paste-error")).to_have_text(
            "This recovery link is not valid any more. The recordings may have been erased.")
        assert stored_token(page) is None
        shoot(page, "23-my-data-paste-link-phone")
        field.fill(f"{server.url}/recover#token={token}")
        page.get_by_role("button", name="Open my recordings").click()
        page.locator("#clips li").first.wait_for()
        assert page.locator("#clips li").count() == 1 and page.locator("#no-token").is_hidden()
        assert stored_token(page) == token
        assert not any(token in url for url in requests_seen), "the token left the page in a URL"
        assert not page.errors, page.errors
    finally:
        browser.close()


def test_right_to_left_and_german_pages(server: Server, playwright_driver, tmp_path: Path) -> None:
    """The browser's language picks the interface: Arabic lays out right to left, German is translated."""
    browser = launch(playwright_driver, fake_microphone(tmp_path / "quiet.wav", np.zeros(FAKE_RATE)))
    try:
        page = new_page(browser, PHONE, locale="ar")
        page.goto(f"{server.url}/c/{CAMPAIGN}/")
        assert page.evaluate("[document.documentElement.dir, getComputedStyle(document.body).direction]") == [
            "rtl", "rtl"]
        assert page.locator("ul.keywords").get_attribute("dir") == "ltr"  # an English campaign inside
        shoot(page, "20-landing-arabic-phone")
        page = new_page(browser, DESKTOP, locale="de-DE")
        page.goto(f"{server.url}/c/{CAMPAIGN}/consent")
        assert page.get_by_role("button", name="Ich stimme zu, Aufnahme beginnen").is_visible()
        expect(page.locator("article.consent-text h2")).to_have_text(  # the consent itself in German too
            "Einwilligung, Ihre Stimme aufzunehmen und zu teilen — Version 1")
        shoot(page, "21-consent-german-desktop")
        agree_by_ids(page)
        page.wait_for_url(re.compile(r"/record$"))
        assert consent_texts_of(server, stored_token(page)) == [("de", consent_sha256("1", "de"))]
    finally:
        browser.close()


def agree_by_ids(page) -> None:
    """Choose CC0, confirm age and own voice, agree: in whatever language the page is in."""
    for box in ("#licence-CC0-1\\.0", "#age-confirmed", "#agree"):
        page.locator(box).check()
    page.locator("#consent-submit").click()


def consent_texts_of(server: Server, token: str) -> list[tuple[str, str]]:
    """Return (language, SHA-256) of the text of each consent the token's contributor gave, oldest first."""
    with Session(server.engine()) as session:
        contributor = contributor_of(session, token)
        return session.execute(select(Consent.consent_language, Consent.consent_sha256).where(
            Consent.contributor_id == contributor.id).order_by(Consent.id)).all()


def test_a_lang_link_keeps_its_language_through_to_the_consent(server: Server, playwright_driver,
                                                               tmp_path: Path) -> None:
    """A campaign shared as ?lang=ar in a German browser: Arabic throughout, the Arabic consent recorded."""
    browser = launch(playwright_driver, fake_microphone(tmp_path / "quiet.wav", np.zeros(FAKE_RATE)))
    try:
        page = new_page(browser, PHONE, locale="de-DE")
        page.goto(f"{server.url}/c/{CAMPAIGN}/?lang=ar")
        page.locator("#take-part").click()  # "Take part", in Arabic
        page.wait_for_url(re.compile(r"/consent$"))
        assert page.evaluate("document.documentElement.lang") == "ar"
        article = page.locator("article.consent-text")
        assert (article.get_attribute("lang"), article.get_attribute("dir")) == ("ar", "rtl")
        expect(article.locator("h2")).to_have_text("الموافقة على تسجيل صوتك ومشاركته — الإصدار 1")
        shoot(page, "24-consent-arabic-phone")
        agree_by_ids(page)
        page.wait_for_url(re.compile(r"/record$"))
        assert page.evaluate("document.documentElement.lang") == "ar"
        assert consent_texts_of(server, stored_token(page)) == [("ar", consent_sha256("1", "ar"))]
        assert not page.errors, page.errors
    finally:
        browser.close()


CHECKS_IN_THE_PAGE = """async () => {
  const { analyse, encodeWav } = await import("/static/js/audio.js");
  const rate = 48000;
  const word = (amplitude, seconds = 1) => Float32Array.from({ length: rate * seconds }, (_, i) => {
    const inWord = i > 0.3 * rate && i < 0.6 * rate;
    return Math.max(-1, Math.min(1, (inWord ? amplitude : 0.0001) * Math.sin(i / 5)));
  });
  const noise = Float32Array.from({ length: rate }, () => 0.1 * (Math.random() * 2 - 1));
  const report = (samples) => {
    const { blocking, warnings } = analyse(samples, rate);
    return [blocking, ...warnings];
  };
  return {
    fine: report(word(0.5)),
    quiet: report(word(0.02)),
    clipping: report(word(1.5)),
    silence: report(new Float32Array(rate)),
    noise: report(noise),
    short: report(word(0.5, 0.3)),
    wav: Array.from(new Uint8Array(await encodeWav(word(0.5), rate).arrayBuffer())),
  };
}"""


def test_recording_checks_and_wav_encoding_in_the_page(server: Server, playwright_driver, tmp_path) -> None:
    """The page's own checks (quiet, clipping, no speech, too short) and its WAV, run in Chromium."""
    browser = launch(playwright_driver, fake_microphone(tmp_path / "quiet.wav", np.zeros(FAKE_RATE)))
    try:
        page = new_page(browser, DESKTOP)
        page.goto(f"{server.url}/")
        results = page.evaluate(CHECKS_IN_THE_PAGE)
    finally:
        browser.close()
    assert results.pop("fine") == [None]
    assert results.pop("quiet") == [None, "too_quiet"]
    assert results.pop("clipping") == [None, "clipping"]
    assert results.pop("silence") == ["no_speech"] and results.pop("noise") == ["no_speech"]
    assert results.pop("short") == ["too_short"]
    wav = bytes(results.pop("wav"))
    info = sf.info(io.BytesIO(wav))
    assert (info.format, info.subtype, info.channels, info.samplerate) == ("WAV", "PCM_16", 1, FAKE_RATE)
    samples, _ = sf.read(io.BytesIO(wav), dtype="float64")
    assert len(samples) == FAKE_RATE
    expected = 0.5 * np.sin(np.arange(FAKE_RATE) / 5)
    assert np.abs(samples[20000:25000] - expected[20000:25000]).max() < 2 / 32767
