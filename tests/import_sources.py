"""Existing datasets made here for import tests and benchmarks: Speech Commands and Common Voice folders."""

from __future__ import annotations

import csv
import hashlib
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from tests.speech import espeak_samples, wav_bytes

RATE = 16000
VOICES = ("en", "en-us", "en-gb-scotland", "en+f3", "en-us+m2", "en-029")
CV_COLUMNS = ("client_id", "path", "sentence_id", "sentence", "sentence_domain", "up_votes", "down_votes",
              "age", "gender", "accents", "variant", "locale", "segment")


def spoken(word: str, speaker: int, take: int, rate: int = RATE, seconds: float | None = 1.0,
           voices: int | None = None) -> np.ndarray:
    """A word in a speaker's voice with faint noise unique to (speaker, take), cut or padded to `seconds`.

    voices: how many distinct renderings speakers share (None: one each), so large sets synthesise fast.
    """
    rendering = speaker if voices is None else speaker % voices
    step = take % 3  # takes differ a little in pitch and speed, and in noise
    pitch, speed = 35 + (rendering * 13) % 40 + 3 * step, 140 + (rendering * 7) % 30 + 5 * step
    samples = espeak_samples(word, rate, voice=VOICES[rendering % len(VOICES)], pitch=pitch, speed=speed)
    seed = int(hashlib.sha256(f"{word}/{speaker}/{take}".encode()).hexdigest()[:8], 16)
    samples = samples + np.random.default_rng(seed).normal(0, 10 ** (-50 / 20), samples.shape)
    if seconds is not None:
        length = int(rate * seconds)
        samples = np.pad(samples, (0, max(0, length - len(samples))))[:length]
    return np.clip(samples, -1, 1).astype(np.float32)


def sc_speaker(speaker: int) -> str:
    """The 8-hex Speech Commands speaker id of test speaker n."""
    return hashlib.sha256(f"sc-speaker-{speaker}".encode()).hexdigest()[:8]


def write_speech_commands(root: Path, words: Sequence[str], speakers: int, takes: int = 1,
                          noise_seconds: Iterable[float] = (), voices: int | None = None) -> Path:
    """Write `<word>/<speaker>_nohash_<n>.wav` (1 s, 16 kHz PCM16) and `_background_noise_/` files."""
    for word in words:
        (root / word).mkdir(parents=True, exist_ok=True)
        for speaker in range(speakers):
            for take in range(takes):
                data = wav_bytes(spoken(word, speaker, take, voices=voices), RATE)
                (root / word / f"{sc_speaker(speaker)}_nohash_{take}.wav").write_bytes(data)
    for index, seconds in enumerate(noise_seconds):
        (root / "_background_noise_").mkdir(parents=True, exist_ok=True)
        noise = np.random.default_rng(index).normal(0, 0.05, int(RATE * seconds))
        (root / "_background_noise_" / f"noise_{index}.wav").write_bytes(wav_bytes(noise, RATE))
    return root


def mp3_bytes(samples: np.ndarray, rate: int) -> bytes:
    """Encode samples as MP3 with ffmpeg (Common Voice ships MP3)."""
    return subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "wav", "-i", "-", "-codec:a", "libmp3lame",
         "-b:a", "64k", "-f", "mp3", "-"],
        input=wav_bytes(samples, rate), capture_output=True, check=True, timeout=60).stdout


def cv_client(speaker: int) -> str:
    """A Common Voice client_id (128 hex, as Common Voice publishes them) for test speaker n."""
    return hashlib.sha512(f"cv-client-{speaker}".encode()).hexdigest()


def write_common_voice(root: Path, rows: Sequence[dict[str, str]], columns: Sequence[str] = CV_COLUMNS,
                       tsv: str = "validated.tsv", voices: int | None = None) -> Path:
    """Write a TSV of `rows` (speaker number in "speaker", the sentence spoken) and their MP3s in clips/."""
    (root / "clips").mkdir(parents=True, exist_ok=True)
    with (root / tsv).open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\",
                            lineterminator="\n")
        writer.writerow(columns)
        for index, row in enumerate(rows):
            speaker = int(row["speaker"])
            name = f"common_voice_en_{index:06d}.mp3"
            word = row["sentence"].strip(" .!?,").lower()
            audio = spoken(word, speaker, index, rate=48000, seconds=None, voices=voices)
            (root / "clips" / name).write_bytes(mp3_bytes(audio, 48000))
            values = {"client_id": cv_client(speaker), "path": name, "sentence_id": str(index),
                      "up_votes": "2", "down_votes": "0", "locale": "en", "segment": "", **row}
            writer.writerow([values.get(column, "") for column in columns])
    return root
