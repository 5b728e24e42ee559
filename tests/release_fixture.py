"""A small synthetic release directory (DESIGN §7) spoken by espeak-ng voices, for training tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import soundfile as sf

from collector.canonical import canonical_window
from curation.release_format import (
    ReleasedClip,
    which_set,
    write_checksums,
    write_clips_tsv,
    write_release_json,
    write_split_lists,
)
from licenses import get_license
from tests.speech import espeak_samples

RATE = 16000
KEYWORDS = ("yes", "no", "stop")
VOICES = ("en", "en-us", "en-gb-x-rp", "en-gb-scotland", "en-029", "en+f3", "en+m3", "en-us+f2",
          "en+m5", "en-gb-x-gbclan", "en+f4", "en-us+m2")


def speaker_ids(per_split: dict[str, int]) -> dict[str, list[str]]:
    """Pick stable 8-hex speaker ids until each split (by the Speech Commands hash rule) has its share."""
    chosen: dict[str, list[str]] = {split: [] for split in per_split}
    counter = 0
    while any(len(chosen[split]) < count for split, count in per_split.items()):
        speaker = hashlib.sha256(f"fixture-speaker-{counter}".encode()).hexdigest()[:8]
        split = which_set(f"{speaker}_nohash_0.wav")
        if len(chosen[split]) < per_split[split]:
            chosen[split].append(speaker)
        counter += 1
    return chosen


def spoken_clip(word: str, speaker: int, take: int, seed: int) -> np.ndarray:
    """One canonical 1 s int16 clip of a word in a speaker's voice, with faint unique noise."""
    voice = VOICES[speaker % len(VOICES)]
    pitch = 30 + (speaker * 17) % 45 + 5 * take
    speed = 130 + (speaker * 23) % 50 + 15 * take
    samples = espeak_samples(word, RATE, voice=voice, pitch=pitch, speed=speed)
    noise = np.random.default_rng(seed).normal(0.0, 10 ** (-55 / 20), samples.shape).astype(np.float32)
    # cut as the collector cuts every upload, so the fixture is what a real release holds
    return canonical_window(np.clip(samples + noise, -1, 1)).pcm.astype(np.int16)


def write_release(root: Path, keywords: tuple[str, ...] = KEYWORDS, takes: int = 2,
                  per_split: dict[str, int] | None = None, noise_seconds: float = 5.0) -> Path:
    """Write a release: clips, background noise, list files, clips.tsv, release.json, licences, SHA256SUMS."""
    per_split = per_split or {"training": 16, "validation": 4, "testing": 4}
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    speaker_number = 0
    for split, speakers in speaker_ids(per_split).items():
        for speaker in speakers:
            licence = "CC-BY-4.0" if speaker_number % 2 else "CC0-1.0"
            for word in keywords:
                for take in range(takes):
                    path = f"{word}/{speaker}_nohash_{take}.wav"
                    clip = spoken_clip(word, speaker_number, take, seed=len(rows))
                    (root / word).mkdir(exist_ok=True)
                    sf.write(root / path, clip, RATE, subtype="PCM_16")
                    rows.append(_row(path, word, speaker, split, licence, clip, speaker_number))
            speaker_number += 1
    _write_noise(root, noise_seconds)
    clips = (ReleasedClip(row["path"], row["keyword"], row["split"]) for row in rows)
    write_split_lists(root, sorted(clips, key=lambda clip: clip.path))
    _write_metadata(root, rows, keywords)
    write_checksums(root)
    return root


def demographics(speaker_number: int) -> dict[str, str]:
    """Common Voice codes by speaker, so every split has two genders and two age bands; accent not given."""
    return {"age": ("twenties", "forties")[speaker_number // 2 % 2],
            "gender": ("female_feminine", "male_masculine")[speaker_number % 2], "accent": ""}


def _row(path: str, word: str, speaker: str, split: str, licence: str, clip: np.ndarray,
         speaker_number: int) -> dict:
    rms = float(np.sqrt(np.mean((clip / 32768.0) ** 2)))
    return {"path": path, "keyword": word, "speaker_id": speaker, "split": split, "license": licence,
            "consent_version": "1", **demographics(speaker_number), "language": "en",
            "up_votes": 2, "down_votes": 0, "status": "validated", "duration_ms": 1000, "snr_db": 40.0,
            "rms_dbfs": round(20 * np.log10(max(rms, 1e-9)), 1),
            "sha256": hashlib.sha256(clip.tobytes()).hexdigest(), "source": "espeak-ng"}


def _write_noise(root: Path, seconds: float) -> None:
    folder = root / "_background_noise_"
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(7)
    white = rng.normal(0.0, 0.05, int(seconds * RATE))
    brown = np.cumsum(rng.normal(0.0, 0.002, int(seconds * RATE)))
    for name, noise in (("white_noise.wav", white), ("brown_noise.wav", brown - brown.mean())):
        sf.write(folder / name, np.clip(noise, -1, 1), RATE, subtype="PCM_16")


def _write_metadata(root: Path, rows: list[dict], keywords: tuple[str, ...]) -> None:
    write_clips_tsv(root, rows)
    licences = sorted({row["license"] for row in rows})
    (root / "LICENSES").mkdir(exist_ok=True)
    for spdx in licences:
        (root / "LICENSES" / f"{spdx}.txt").write_text(get_license(spdx).text())
    (root / "ATTRIBUTION.md").write_text(
        "# Attribution\n\nClips under CC-BY-4.0 are by the wordcrowd fixture speakers "
        f"({sum(row['license'] == 'CC-BY-4.0' for row in rows)} clips).\n")
    release = {  # the shape curation writes
        "campaign": {"slug": "fixture", "title": "Fixture", "language": "en"},
        "version": "1", "created": "2025-01-01T00:00:00Z", "clips": len(rows),
        "speakers": len({row["speaker_id"] for row in rows}),
        "counts": {"keywords": {word: sum(row["keyword"] == word for row in rows) for word in keywords},
                   "licenses": {spdx: sum(row["license"] == spdx for row in rows) for spdx in licences}},
        "licenses": [{"spdx": spdx, "name": get_license(spdx).name, "url": get_license(spdx).url}
                     for spdx in licences],
    }
    write_release_json(root, release)
