"""Every page in every shipped language, in real Chromium: no axe-core violation, a moving level meter, and
screenshots of the recorder, Listen and My data at phone and desktop sizes (test-artifacts/screenshots/).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from collector.pages import compiled_languages
from tests.chromium import (
    DESKTOP,
    PHONE,
    Server,
    axe_violations,
    chromium_saying,
    consenting_contributor,
    load_axe,
    new_page,
    playwright_or_skip,
    seed_other_contributor,
    served_collector,
    shoot,
)
from tests.speech import speech_wav

pytestmark = pytest.mark.browser

CAMPAIGN = "yes-no"
LANGUAGES = compiled_languages(Path(__file__).resolve().parent.parent / "collector" / "translations")
PAGES = ["/", f"/c/{CAMPAIGN}/", f"/c/{CAMPAIGN}/consent", f"/c/{CAMPAIGN}/profile", f"/c/{CAMPAIGN}/record",
         f"/c/{CAMPAIGN}/listen", "/my-data", "/recover"]
NEW_VISITOR_PAGES = [f"/c/{CAMPAIGN}/listen", "/my-data"]  # pages that look different without a key

playwright_or_skip()
pytest.importorskip("axe_playwright_python")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One served collector for the module: a contributor with a clip, and others' clips to listen to."""
    with served_collector(tmp_path_factory.mktemp("served"), CAMPAIGN) as served:
        seed_other_contributor(served, CAMPAIGN, ("no", "up"))
        yield served


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    """A contributor who consented and recorded one clip (so My data has something to show)."""
    token = consenting_contributor(server, CAMPAIGN)
    answer = requests.post(f"{server.url}/api/v1/campaigns/{CAMPAIGN}/clips", timeout=30,
                           headers={"Authorization": f"Bearer {token}"}, data={"keyword": "yes"},
                           files={"audio": ("yes.wav", speech_wav("yes", seed=11))})
    assert answer.status_code == 201, answer.text
    return token


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """One Chromium for the module, its fake microphone saying "yes" once a loop."""
    with chromium_saying("yes", tmp_path_factory.mktemp("mic")) as chromium:
        yield chromium


def page_with_key(browser, viewport: dict, token: str | None, *, axe: bool = False):
    """A fresh page whose browser holds the contributor's key (or none: a new visitor), axe-core loaded."""
    page = new_page(browser, viewport)
    if token:
        page.context.add_init_script(f"localStorage.setItem('wordcrowd.token', {json.dumps(token)})")
    if axe:
        load_axe(page.context)
    return page


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_accessibility_violation_on_any_page(server: Server, browser, token: str, language: str) -> None:
    """axe-core finds nothing on any page, with a key and (where it differs) without one."""
    found: dict[str, list[str]] = {}
    for key, paths in ((token, PAGES), (None, NEW_VISITOR_PAGES)):
        page = page_with_key(browser, PHONE, key, axe=True)
        for path in paths:
            page.goto(f"{server.url}{path}?lang={language}")
            page.wait_for_load_state("networkidle")
            assert page.evaluate("document.documentElement.lang") == language
            found.update({f"{path} ({'key' if key else 'new'})": v for v in [axe_violations(page)] if v})
        assert not page.errors, page.errors
        # the engine does find things: an image without a text alternative is a violation
        page.evaluate("document.querySelector('main').append(Object.assign(document.createElement('img'), "
                      "{src: '/static/favicon.svg'}))")
        assert any(violation.startswith("image-alt") for violation in axe_violations(page))
        page.context.close()
    assert found == {}, found


def meter_trace(page, milliseconds: int) -> list[dict[str, float]]:
    """Sample the level meter's drawn bar every 40 ms: share of the track, distance to each end, time."""
    return page.evaluate("""async (ms) => {
      const track = document.getElementById("meter"), bar = document.getElementById("meter-fill");
      const samples = [];
      for (const end = performance.now() + ms; performance.now() < end;) {
        const t = track.getBoundingClientRect(), b = bar.getBoundingClientRect();
        samples.push({ share: b.width / t.width, left: b.left - t.left, right: t.right - b.right,
                       ms: performance.now() });
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
      return samples;
    }""", milliseconds)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("size", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)],
                         ids=["phone", "desktop"])
def test_recorder_listen_and_my_data_in_every_language(server: Server, browser, token: str, language: str,
                                                       size: str, viewport: dict) -> None:
    """The level meter follows the fake microphone (from the start edge of the language); screenshots."""
    page = page_with_key(browser, viewport, token)
    page.goto(f"{server.url}/c/{CAMPAIGN}/record?lang={language}")
    page.wait_for_function("() => document.getElementById('prompt').textContent.trim() !== ''")
    page.keyboard.press("Space")
    page.wait_for_function("() => document.getElementById('record-btn').classList.contains('recording')")
    trace = meter_trace(page, 2000)
    page.wait_for_function("() => document.getElementById('meter').getAttribute('aria-valuenow') > 50")
    shoot(page, f"record-{language}-{size}")
    page.keyboard.press("Space")
    shares = [round(sample["share"], 2) for sample in trace]
    assert max(shares) > 0.6, f"the meter stayed low while the word played: {shares}"
    assert max(shares) - min(shares) > 0.3, f"the meter did not move with the microphone: {shares}"
    # the bar jumps up with a word and falls back slowly (peak-programme ballistics), so a word stays
    # visible for a moment, in a glance or a screenshot, instead of flashing for a block or two
    loudest = max(trace, key=lambda sample: sample["share"])
    after = [sample["share"] for sample in trace if 250 <= sample["ms"] - loudest["ms"] <= 400]
    assert after and min(after) > loudest["share"] - 0.2, f"the word's level vanished at once: {shares}"
    start_edge = "right" if language == "ar" else "left"
    assert all(sample[start_edge] < 2 for sample in trace), "the bar does not grow from the start edge"
    page.wait_for_function("() => document.getElementById('meter').getAttribute('aria-valuenow') === '0'")

    page.goto(f"{server.url}/c/{CAMPAIGN}/listen?lang={language}")
    page.wait_for_function("() => document.getElementById('review').dataset.clipId")
    shoot(page, f"listen-{language}-{size}")
    page.goto(f"{server.url}/my-data?lang={language}")
    page.locator("#clips li").first.wait_for()
    shoot(page, f"my-data-{language}-{size}")
    assert not page.errors, page.errors
    page.context.close()
