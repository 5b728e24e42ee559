"""The ingestion rules as tuned on a simulated crowd (docs/quality.md): real voices in noisy rooms get in,
silence, noise, clipping and cut words are still caught. Every case here but the cut-off guard failed with
the starting thresholds of DESIGN §5 (senselab's SNR flags, a 150 ms minimum, webrtcvad mode 3, any speech
at an edge).
"""

from __future__ import annotations

import dataclasses

import pytest
from test_quality import GOOD, recording, spoken

from collector import quality as q
from collector.ingest import IngestError, ingest, reject_reason
from simulation.plan import CrowdSpec, plan_takes
from simulation.takes import CLEAN, TakePlan, render
from simulation.voices import Speaker

KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")


def speaker(voice: str = "en-us", variant: str = "m1", noise: str = "pink", speed: int = 150) -> Speaker:
    """A speaker with a 16 kHz microphone peaking at -12 dBFS in a room with this noise."""
    return Speaker(0, voice, variant, 50, speed, "male_masculine", "thirties", "test", "en", 16000, -12.0,
                   noise)


def verdict(plan: TakePlan, seed: int = 0,
            plans: dict[int, TakePlan] | None = None) -> tuple[str, list[str]]:
    """Ingest a rendered take: (verdict, flags), or ("reject", [code])."""
    try:
        clip = ingest(render(plan, seed, plans))
    except IngestError as exc:
        return "reject", [exc.code]
    return clip.verdict, clip.flags


@pytest.mark.parametrize("noise, index", [("brown", 0), ("brown", 1), ("brown", 2), ("brown", 3), ("hum", 1),
                                          ("pink", 3)])
def test_room_noise_alone_is_no_speech(noise: str, index: int) -> None:
    # webrtcvad calls rumble and hum speech; the old rules accepted these with a flag
    take = TakePlan(index, speaker(noise=noise), "yes", "", 0.0, "noise_only")
    assert verdict(take, index) == ("reject", ["no_speech"])


@pytest.mark.parametrize("noise, snr_db", [("pink", 8.0), ("white", 12.0)])
def test_a_word_in_a_noisy_room_is_accepted_without_flags(noise: str, snr_db: float) -> None:
    # 8 and 12 dB SNR were very_low_snr and low_snr under senselab's 10 / 20 dB
    take = TakePlan(0, speaker(noise=noise), "stop", "stop", snr_db, CLEAN)
    assert verdict(take) == ("accept", [])


@pytest.mark.parametrize("variant, speed", [("f3", 189), ("f4", 136)])
def test_a_voice_webrtcvad_mode_3_missed_is_heard(variant: str, speed: int) -> None:
    # a French speaker's nasal "on" at 30 dB SNR was rejected as no_speech: mode 3 heard nothing in it
    take = TakePlan(0, speaker("fr-fr", variant, "pink", speed), "on", "on", 30.0, CLEAN)
    assert verdict(take) == ("accept", [])


def test_a_short_word_is_enough_speech() -> None:
    # "up" or "off" said fast is 90-150 ms of speech frames; 150 ms was the minimum
    assert reject_reason(dataclasses.replace(GOOD, speech_ms=q.MIN_SPEECH_MS)) is None
    assert q.MIN_SPEECH_MS <= 90


def test_a_word_whose_quiet_tail_ends_the_recording_is_not_cut_off() -> None:
    # the word is whole (its fading "s" is the last sound); only loud speech at an edge is a cut
    assert ingest(recording(0.5, spoken("yes"))).flags == []


def test_a_recording_stopped_inside_the_word_is_still_cut_off() -> None:
    # a guard: the loud-edge rule must still see a word cut in the middle (seeds 3-8 stay over 0.4 s)
    plans = [TakePlan(i, speaker(noise="white"), "stop", "stop", 25.0, "truncation") for i in range(3, 9)]
    assert [verdict(plan, plan.index) for plan in plans] == [("review", ["cut_off"])] * len(plans)


def test_a_small_held_out_crowd_meets_the_aims() -> None:
    """A seeded crowd of voices the rules were not tuned on: the aims of docs/quality.md hold."""
    plans = plan_takes(CrowdSpec(speakers=8, takes=80, keywords=KEYWORDS, seed=5, pool="holdout",
                                 defect_rate=0.3))
    by_index = {plan.index: plan for plan in plans}
    results = [(plan, verdict(plan, 5, by_index)) for plan in plans]
    clean = [(plan, result) for plan, result in results if plan.defect == CLEAN]
    assert all(result[0] != "reject" for _, result in clean)
    over_10 = [result for plan, result in clean if plan.snr_db >= 10]
    assert sum(result[0] == "review" for result in over_10) <= 0.05 * len(over_10)
    for plan, result in results:
        if plan.defect in ("silence", "noise_only"):
            assert result[0] == "reject", (plan, result)
        if plan.defect == "clipping":
            assert result[0] == "reject" or "clipping" in result[1], (plan, result)
