"""A held-out synthetic crowd as a release: TTS voices (espeak-ng, flite, festival) speaking words.

Each speaker is one TTS voice at its own pitch and rate; speakers of a split never speak in another split
(ids chosen so the Speech Commands hash rule agrees with the list files). Clips get room noise at a random
SNR, and _background_noise_/ holds generated noise, so training sees noise it can mix in.

    python benchmarks/crowd.py OUT [--train 120 --validation 20 --test 40 --takes 2 --seed 0 --jobs 2]

Voices are assigned per split from one interleaved cycle of every installed engine's voices, so each split
holds the engines in the same proportion (with 40 test speakers: 9 flite, 6 festival, 25 espeak-ng).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import multiprocessing
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from collector.canonical import canonical_window  # noqa: E402
from curation.release_format import (  # noqa: E402
    ReleasedClip,
    clip_path,
    which_set,
    write_checksums,
    write_clips_tsv,
    write_release_json,
    write_split_lists,
)
from licenses import get_license  # noqa: E402

RATE = 16000
KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
OTHER_WORDS = ("bed", "bird", "cat", "dog", "house", "tree", "wow", "happy")
ESPEAK_VOICES = ("en", "en-us", "en-gb-x-rp", "en-gb-scotland", "en-029", "en-gb-x-gbclan", "en-us-nyc",
                 "en+f3", "en+m3", "en-us+f2", "en+f4", "en-us+m2", "en-gb-x-gbcwmd", "en+klatt")
FLITE_VOICES = ("kal", "kal16", "awb", "rms", "slt")
# Debian's festival with festvox-kallpc16k, festvox-kdlpc16k and festvox-us-slt-hts
FESTIVAL_VOICES = ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")


def voice_cycle() -> list[tuple[str, str]]:
    """Every installed (engine, voice), interleaved so that any run of the cycle keeps the engines' shares."""
    engines = [("flite", FLITE_VOICES)] if shutil.which("flite") else []
    engines += [("festival", FESTIVAL_VOICES)] if shutil.which("festival") else []
    engines += [("espeak-ng", ESPEAK_VOICES)]
    placed = [((index + 0.5) / len(voices), order, engine, voice)
              for order, (engine, voices) in enumerate(engines) for index, voice in enumerate(voices)]
    return [(engine, voice) for _, _, engine, voice in sorted(placed)]


def speakers(per_split: dict[str, int], seed: int) -> list[tuple[str, str, dict]]:
    """(speaker id, split, voice) of every speaker, stratified: each split walks the voice cycle alone."""
    rng = np.random.default_rng(seed)
    cycle = voice_cycle()
    chosen, counts, counter = [], dict.fromkeys(per_split, 0), 0
    while any(counts[split] < n for split, n in per_split.items()):
        speaker = hashlib.sha256(f"crowd-{seed}-{counter}".encode()).hexdigest()[:8]
        split = which_set(f"{speaker}_nohash_0.wav")
        counter += 1
        if counts[split] >= per_split[split]:
            continue
        engine, voice = cycle[counts[split] % len(cycle)]
        chosen.append((speaker, split, {"engine": engine, "voice": voice, "pitch": int(rng.integers(25, 75)),
                                        "rate": float(rng.uniform(0.8, 1.25))}))
        counts[split] += 1
    return chosen


def synthesise(word: str, voice: dict, take: int) -> np.ndarray:
    """Float samples at RATE of one word in one voice (each take a little faster)."""
    import soxr

    rate = voice["rate"] * (1 + 0.08 * take)
    if voice["engine"] == "festival":
        return _festival(word, voice, rate)
    if voice["engine"] == "flite":
        with tempfile.NamedTemporaryFile(suffix=".wav") as out:
            subprocess.run(["flite", "-voice", voice["voice"], "-t", word, "-o", out.name,
                            "--setf", f"duration_stretch={1 / rate:.3f}",
                            "--setf", f"int_f0_target_mean={70 + 2 * voice['pitch']}"],
                           check=True, capture_output=True, timeout=30)
            data, source_rate = sf.read(out.name, dtype="float32")
    else:
        command = ["espeak-ng", "--stdout", "-v", voice["voice"], "-p", str(voice["pitch"]),
                   "-s", str(int(160 * rate)), word]
        result = subprocess.run(command, check=True, capture_output=True, timeout=30)
        data, source_rate = sf.read(io.BytesIO(result.stdout), dtype="float32")
    if data.ndim > 1:
        data = data[:, 0]
    return soxr.resample(data, source_rate, RATE)


_FESTIVAL_CACHE: dict[tuple[str, int, float], dict[str, np.ndarray]] = {}


def _festival(word: str, voice: dict, rate: float) -> np.ndarray:
    """Festival: every word of a voice and rate in one text2wave run (start-up dominates), then cut."""
    key = (voice["voice"], voice["pitch"], round(rate, 4))
    if key not in _FESTIVAL_CACHE:
        if len(_FESTIVAL_CACHE) > 8:  # a speaker's takes alternate word by word: keep a few rates
            _FESTIVAL_CACHE.clear()
        _FESTIVAL_CACHE[key] = _festival_words(KEYWORDS + OTHER_WORDS, voice, rate)
    return _FESTIVAL_CACHE[key][word]


def _festival_words(words: tuple[str, ...], voice: dict, rate: float) -> dict[str, np.ndarray]:
    """Festival's voices: rate by duration stretch; pitch by reading the output at a shifted rate."""
    import soxr

    shift = 0.85 + 0.006 * voice["pitch"]  # pitch 25-75 -> 1.0-1.3 times the voice's own
    with tempfile.TemporaryDirectory() as folder:
        script = [f"(voice_{voice['voice']})", f"(Parameter.set 'Duration_Stretch {shift / rate:.3f})"]
        script += [f'(utt.save.wave (utt.synth (Utterance Text "{word}")) "{folder}/{word}.wav" \'riff)'
                   for word in words]
        subprocess.run(["festival", "--pipe"], input="\n".join(script).encode(), check=True,
                       capture_output=True, timeout=120)
        spoken = {}
        for word in words:
            data, source_rate = sf.read(f"{folder}/{word}.wav", dtype="float32")
            data = data[:, 0] if data.ndim > 1 else data
            loud = np.flatnonzero(np.abs(data) > 0.02 * (np.max(np.abs(data)) + 1e-9))  # festival pads
            data = data[loud[0]:loud[-1] + 1] if len(loud) else data
            spoken[word] = soxr.resample(data, source_rate * shift, RATE)
    return spoken


def room_noise(length: int, rng: np.random.Generator) -> np.ndarray:
    """A mix of hum and coloured noise, different for every clip."""
    t = np.arange(length) / RATE
    hum = np.sin(2 * np.pi * rng.choice([50, 60]) * t) * rng.uniform(0, 1)
    white = rng.normal(0, 1, length)
    brown = np.cumsum(rng.normal(0, 1, length))
    brown = (brown - np.linspace(brown[0], brown[-1], length)) / (np.std(brown) + 1e-9)
    noise = hum + white * rng.uniform(0.2, 1) + brown * rng.uniform(0, 1)
    return noise / (np.std(noise) + 1e-9)


def clip_of(word: str, voice: dict, take: int, rng: np.random.Generator) -> np.ndarray:
    """One canonical 1 s int16 clip: the word, placed at random, with room noise at 5-30 dB SNR."""
    speech = synthesise(word, voice, take)
    padded = np.zeros(RATE + len(speech), dtype=np.float32)
    start = int(rng.integers(0, max(1, RATE - len(speech)))) if len(speech) < RATE else 0
    padded[start:start + len(speech)] = speech
    padded = padded[:max(RATE, len(speech))] * rng.uniform(0.2, 0.9) / (np.max(np.abs(speech)) + 1e-9)
    power = np.mean(np.square(padded[start:start + len(speech)]))
    snr_db = rng.uniform(5, 30)
    noisy = padded + room_noise(len(padded), rng) * np.sqrt(power / 10 ** (snr_db / 10))
    return canonical_window(np.clip(noisy, -1, 1).astype(np.float32)).pcm.astype(np.int16)


def speaker_rows(root: Path, index: int, speaker: str, split: str, voice: dict, takes: int,
                 seed: int) -> list[dict]:
    """Write one speaker's clips (its own random stream, so speakers can be written in parallel)."""
    rng = np.random.default_rng([seed, index])
    source, rows = f"{voice['engine']}:{voice['voice']}", []
    for word in KEYWORDS + OTHER_WORDS:
        for take in range(takes):
            path = clip_path(word, speaker, take)
            clip = clip_of(word, voice, take, rng)
            sf.write(root / path, clip, RATE, subtype="PCM_16")
            rows.append({"path": path, "keyword": word, "speaker_id": speaker, "split": split,
                         "license": "CC0-1.0", "consent_version": "1", "age": "", "gender": "",
                         "accent": "", "language": "en", "up_votes": 2, "down_votes": 0,
                         "status": "validated", "duration_ms": 1000, "snr_db": "", "rms_dbfs": "",
                         "sha256": hashlib.sha256(clip.tobytes()).hexdigest(), "source": source})
    return rows


def write_crowd(root: Path, per_split: dict[str, int], takes: int, seed: int = 0,
                jobs: int = 1) -> dict[str, str]:
    """Write the release; return each speaker's voice group (engine:voice) for per-group accuracy."""
    root.mkdir(parents=True, exist_ok=True)
    for word in KEYWORDS + OTHER_WORDS:
        (root / word).mkdir(exist_ok=True)
    chosen = speakers(per_split, seed)
    groups = {speaker: f"{voice['engine']}:{voice['voice']}" for speaker, _, voice in chosen}
    tasks = [(root, index, speaker, split, voice, takes, seed)
             for index, (speaker, split, voice) in enumerate(chosen)]
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        rows = [row for written in pool.starmap(speaker_rows, tasks, chunksize=1) for row in written]
    _write_noise(root, np.random.default_rng([seed, len(chosen)]))
    write_split_lists(root, sorted((ReleasedClip(r["path"], r["keyword"], r["split"]) for r in rows),
                                   key=lambda clip: clip.path))
    write_clips_tsv(root, rows)
    (root / "LICENSES").mkdir(exist_ok=True)
    (root / "LICENSES" / "CC0-1.0.txt").write_text(get_license("CC0-1.0").text())
    licence = get_license("CC0-1.0")
    write_release_json(root, {
        "campaign": {"slug": "crowd", "title": "Synthetic crowd", "language": "en"}, "version": "1",
        "created": "2026-12-01T00:00:00Z", "clips": len(rows), "speakers": len(groups),
        "counts": {"keywords": {w: sum(r["keyword"] == w for r in rows) for w in KEYWORDS + OTHER_WORDS},
                   "licenses": {"CC0-1.0": len(rows)}},
        "licenses": [{"spdx": "CC0-1.0", "name": licence.name, "url": licence.url}]})
    write_checksums(root)
    return groups


def _write_noise(root: Path, rng: np.random.Generator) -> None:
    folder = root / "_background_noise_"
    folder.mkdir(exist_ok=True)
    for index in range(4):
        noise = room_noise(20 * RATE, rng)
        sf.write(folder / f"room_{index}.wav", np.clip(noise * 0.1, -1, 1), RATE, subtype="PCM_16")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--train", type=int, default=120)
    parser.add_argument("--validation", type=int, default=20)
    parser.add_argument("--test", type=int, default=40)
    parser.add_argument("--takes", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="Speakers written in parallel.")
    args = parser.parse_args()
    per_split = {"training": args.train, "validation": args.validation, "testing": args.test}
    started = time.perf_counter()
    groups = write_crowd(args.out, per_split, args.takes, args.seed, args.jobs)
    print(f"{args.out}: {len(groups)} speakers in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
