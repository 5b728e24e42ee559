"""The recorder's room step and auxiliary prompts in real Chromium with a fake microphone, served."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
from collections.abc import Iterator

import pytest
import requests
import soundfile as sf
from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.campaigns import create_campaign
from collector.models import AMBIENCE_WORD, Clip, Keyword
from tests.chromium import (
    BIN,
    DESKTOP,
    PHONE,
    Server,
    axe_violations,
    chromium_saying,
    contributor_of,
    new_page,
    playwright_or_skip,
    served_collector,
    shoot,
    stored_token,
)
from tests.speech import room_wav

pytestmark = pytest.mark.browser

CAMPAIGN = "room"
TAKE_MS = 2000
PASSWORD = "a long curator password"

expect = playwright_or_skip().expect


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A served collector with a campaign of one keyword, one auxiliary word and room ambience; a curator."""
    with served_collector(tmp_path_factory.mktemp("served"), "yes-no") as served:
        with Session(served.engine()) as session:
            create_campaign(session, CAMPAIGN, ["yes"], title="Room", auxiliary_words=["house"],
                            ambience=True)
        env = {**os.environ, "WORDCROWD_DATA_DIR": str(served.data_dir)}
        subprocess.run([str(BIN / "wordcrowd"), "curator", "add", "ada", "--password-stdin"], env=env,
                       input=f"{PASSWORD}\n", text=True, check=True, capture_output=True)
        yield served


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """Chromium whose microphone says "yes" in a quiet room, over and over."""
    with chromium_saying("yes", tmp_path_factory.mktemp("mic")) as chromium:
        yield chromium


def consent_and_open_recorder(page, server: Server) -> None:
    page.goto(f"{server.url}/c/{CAMPAIGN}/consent")
    page.get_by_label("Creative Commons Attribution 4.0").check()
    page.get_by_label("I am at least 18 years old").check()
    page.get_by_label("The voice I record is my own").check()
    page.get_by_role("button", name="I agree, start recording").click()
    page.wait_for_url(re.compile(r"/record$"))  # no demographics offered: straight to the recorder
    page.wait_for_function("() => document.getElementById('prompt').textContent.trim() !== ''")


def record_set(page) -> list[str]:
    """Record the five prompts with the buttons; return the words prompted."""
    prompts = []
    for index in range(5):
        expect(page.locator("#progress-text")).to_have_text(f"Word {index + 1} of 5", timeout=20000)
        prompts.append(page.locator("#prompt").inner_text())
        page.get_by_role("button", name="Record", exact=True).click()
        page.wait_for_timeout(TAKE_MS)
        page.get_by_role("button", name="Stop").click()
        expect(page.locator("#record-btn")).to_have_text("Record again")
        page.get_by_role("button", name="Submit").click()
    return prompts


def test_room_step_after_a_set_skip_then_record_play_and_send(server: Server, browser) -> None:
    """Auxiliary words come up as prompts; the room step follows the set, can be skipped and come back."""
    page = new_page(browser, PHONE)
    consent_and_open_recorder(page, server)
    prompts = record_set(page)
    assert sorted(set(prompts)) == ["house", "yes"], prompts  # mixed by need: both come up in five

    step = page.locator("#ambience-step")
    step.wait_for(state="visible", timeout=20000)
    assert page.locator("#set-done").is_hidden() and page.locator("#recorder-body").is_hidden()
    shoot(page, "ambience-01-offered-phone")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Skip").click()
    page.locator("#set-done").wait_for(state="visible")
    offer = page.get_by_role("button", name="Record your room's sound")
    offer.click()
    step.wait_for(state="visible")

    page.get_by_role("button", name="Record 15 seconds").click()
    expect(page.locator("#ambience-status")).to_contain_text("please stay quiet: 1")  # 15 … 10 s left
    assert page.get_by_role("button", name="Send").is_disabled()
    shoot(page, "ambience-02-recording-phone")
    expect(page.locator("#ambience-status")).to_have_text(
        "Listen to the recording if you like, then send it or record again.", timeout=25000)
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("() => !document.getElementById('ambience-playback').paused")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#set-done-status")).to_have_text("The sound of your room was saved. Thank you!",
                                                          timeout=20000)
    assert offer.is_hidden()
    shoot(page, "ambience-03-sent-phone")

    with Session(server.engine()) as session:
        contributor = contributor_of(session, stored_token(page))
        clips = session.scalars(select(Clip).join(Keyword).where(Clip.contributor_id == contributor.id,
                                                                  Keyword.kind == "ambience")).all()
        assert len(clips) == 1
        room = clips[0]
        assert room.keyword.word == AMBIENCE_WORD and 14990 <= room.duration_ms <= 16500
        # the fake microphone loops a spoken "yes": the room sound is rightly flagged as holding speech
        assert room.flags == ["speech_in_ambience"] and room.auto_verdict == "review"
        samples, rate = sf.read(io.BytesIO(server.blob(room.canonical_key).read_bytes()), dtype="int16")
        assert rate == 16000 and abs(len(samples) - room.duration_ms * 16) <= 16

    page.goto(f"{server.url}/my-data")
    items = page.locator("#clips li")
    items.nth(5).wait_for()
    room_item = page.locator("#clips li[data-kind=ambience]")
    expect(room_item.locator(".clip-word")).to_have_text("Room sound")
    expect(room_item.locator(".hint")).to_have_text("speech in the room sound")
    shoot(page, "ambience-04-my-data-phone")

    page.goto(f"{server.url}/c/{CAMPAIGN}/record")  # one room recording is enough: not asked again
    page.wait_for_function("() => document.getElementById('prompt').textContent.trim() !== ''")
    record_set(page)
    page.locator("#set-done").wait_for(state="visible", timeout=20000)
    assert step.is_hidden() and page.get_by_role("button", name="Record your room's sound").is_hidden()
    assert not page.errors, page.errors
    page.context.close()


def test_review_draws_30_s_of_room_sound_whole_and_labels_it(server: Server, browser) -> None:
    """A curator sees the kind, and the waveform and spectrogram span the whole half minute."""
    api = f"{server.url}/api/v1"
    token = requests.post(f"{api}/contributors", timeout=10).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    version = requests.get(f"{api}/campaigns/{CAMPAIGN}/consent", timeout=10).json()["version"]
    assert version == "2"  # the text that names the room recording
    consent = {"consent_version": version, "license": "CC0-1.0", "age_confirmed": True}
    assert requests.post(f"{api}/campaigns/{CAMPAIGN}/consent", json=consent, headers=auth,
                         timeout=10).status_code == 201
    # quiet for 25 s, then loud: drawn whole, the loud part fills the last sixth of the waveform
    audio = room_wav(30, rate=16000, level=0.002, seed=5)
    samples, rate = sf.read(io.BytesIO(audio), dtype="float32")
    samples[25 * rate:] *= 50
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    answer = requests.post(f"{server.url}/api/v1/campaigns/{CAMPAIGN}/clips", headers=auth, timeout=30,
                           data={"keyword": AMBIENCE_WORD}, files={"audio": ("room.wav", buffer.getvalue())})
    assert answer.status_code == 201, answer.text
    page = new_page(browser, DESKTOP)
    page.goto(f"{server.url}/review/c/{CAMPAIGN}/")
    page.fill("#username", "ada")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/review/c/{CAMPAIGN}/")
    clip_id = answer.json()["clip_id"]
    for _ in range(20):  # the other test's clips may come first: skip to this one
        expect(page.locator("#review-card")).to_be_visible()
        if page.locator("body").get_attribute("data-clip") == clip_id:
            break
        shown = page.locator("body").get_attribute("data-clip")
        page.keyboard.press("s")
        page.wait_for_function("shown => document.body.dataset.clip !== shown", arg=shown)
    assert page.locator("body").get_attribute("data-kind") == "ambience"
    expect(page.locator("#review-kind")).to_have_text("Room sound")
    expect(page.locator("#review-keyword")).to_have_text("30.0 s, no one should speak")
    heights = page.evaluate("""() => {
        const canvas = document.getElementById('review-wave');
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        const lit = (x) => { let n = 0; for (let y = 0; y < canvas.height; y++)
            if (data[4 * (y * canvas.width + x) + 2] === 255) n++; return n; };
        return [lit(100), lit(400), lit(790)];
    }""")
    assert heights[2] > 5 * max(heights[0], heights[1], 1), heights
    spectrum_end = page.evaluate("""() => {
        const canvas = document.getElementById('review-spec');
        const data = canvas.getContext('2d').getImageData(canvas.width - 5, 0, 1, canvas.height).data;
        let sum = 0; for (let i = 0; i < data.length; i += 4) sum += data[i]; return sum / (data.length / 4);
    }""")
    assert spectrum_end > 40, spectrum_end  # drawn to the right edge, not the dark background (16)
    shoot(page, "ambience-05-review-desktop")
    assert not page.errors, page.errors
    page.context.close()


@pytest.mark.parametrize(("language", "title", "direction"), [
    ("de", "Noch eine, wenn Sie möchten: der Klang Ihres Raums", "ltr"),
    ("ar", "تسجيل آخر إن شئت: صوت غرفتك", "rtl"),
])
def test_room_step_is_translated(server: Server, language: str, title: str, direction: str) -> None:
    """The step's texts, and the scripts' messages for it, come in the page's language."""
    page = requests.get(f"{server.url}/c/{CAMPAIGN}/record?lang={language}", timeout=10).text
    assert f'<h2 id="ambience-title">{title}</h2>' in page and f'dir="{direction}"' in page
    messages = json.loads(re.search(r'id="wc-messages">(.*?)</script>', page, re.S).group(1))
    assert "{seconds}" in messages["ambience_recording"] and messages["kind_ambience"] != "Room sound"
