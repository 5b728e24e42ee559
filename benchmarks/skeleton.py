"""Walking-skeleton benchmark: release building, micro-frontend features and the skeleton's training time.

It builds a synthetic store (espeak-ng clips put through the real ingest and store code), releases it,
extracts features from every clip and trains the skeleton tiny_conv model, timing each step, and appends
the figures to benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/skeleton.py [--speakers 24] [--takes 4] [--epochs 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import soundfile as sf
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.speech import speech_wav  # noqa: E402

KEYWORDS = ("yes", "no", "up", "down", "stop", "go")
VOICES = ("en", "en-us", "en-gb-x-rp", "en-gb-scotland", "en-029", "en+f3", "en+m3", "en-us+f2",
          "en+m5", "en-gb-x-gbclan", "en+f4", "en-us+m2")


def build_store(data_dir: Path, speakers: int, takes: int) -> tuple[str, str, float]:
    """Fill a SQLite store with consented contributors and ingested clips; return URLs and clips/s."""
    from collector.blobs import open_blob_store
    from collector.campaigns import create_campaign
    from collector.clips import store_clip
    from collector.consents import grant_consent
    from collector.contributors import create_contributor
    from collector.db import session_scope
    from collector.ingest import ingest
    from collector.migrate import upgrade

    url, storage = f"sqlite:///{data_dir / 'wordcrowd.db'}", f"file://{data_dir / 'blobs'}"
    upgrade(url)
    store = open_blob_store(storage)
    jobs = [(s, w, t) for s in range(speakers) for w in KEYWORDS for t in range(takes)]
    wavs = [speech_wav(word, rate=48000, voice=VOICES[speaker % len(VOICES)],
                       pitch=30 + (speaker * 7) % 50 + 5 * take, seed=speaker * 100 + take)
            for speaker, word, take in tqdm(jobs, desc="speaking (espeak-ng)", unit="clip")]
    started = time.perf_counter()
    with session_scope(url) as session:
        campaign = create_campaign(session, "bench", list(KEYWORDS), title="Benchmark")
        keywords = {k.word: k for k in campaign.keywords}
        people = []
        for _ in range(speakers):
            contributor, _token = create_contributor(session)
            people.append((contributor, grant_consent(
                session, contributor, campaign, consent_version=campaign.consent_version, license="CC0-1.0",
                age_confirmed=True, demographics_opt_in=False)))
        session.commit()
        for (speaker, word, _take), wav in tqdm(zip(jobs, wavs, strict=True), total=len(jobs),
                                                desc="ingest + store", unit="clip"):
            contributor, consent = people[speaker]
            store_clip(session, store, campaign=campaign, keyword=keywords[word], contributor=contributor,
                       consent=consent, ingested=ingest(wav))
    return url, storage, len(jobs) / (time.perf_counter() - started)


def timed(command: list[str], env: dict[str, str]) -> float:
    """Run a wordcrowd command and return its wall-clock seconds."""
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def feature_rate(release: Path) -> float:
    """Micro-frontend features plus the int8 mapping over every clip of a release, in clips/s."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from training.features import micro_features, quantize_features

    clips = [sf.read(p, dtype="int16")[0] for p in sorted(release.glob("*/*_nohash_*.wav"))]
    micro_features(clips[0])  # warm up TensorFlow
    started = time.perf_counter()
    for samples in clips:
        quantize_features(micro_features(samples))
    return len(clips) / (time.perf_counter() - started)


def main() -> None:
    """Run every step and record the figures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--speakers", type=int, default=24)
    parser.add_argument("--takes", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="wc-skeleton-"))
    url, storage, ingest_rate = build_store(work, args.speakers, args.takes)
    env = {**os.environ, "WORDCROWD_DATA_DIR": str(work), "WORDCROWD_DATABASE_URL": url,
           "WORDCROWD_STORAGE_URL": storage, "WORDCROWD_SECRET_KEY": "bench"}
    wordcrowd = str(Path(sys.executable).with_name("wordcrowd"))
    release, model, fw = work / "release", work / "model", work / "fw"
    clips = args.speakers * len(KEYWORDS) * args.takes
    release_s = timed([wordcrowd, "curate", "release", "bench", "--out", str(release), "--no-progress"], env)
    features = feature_rate(release)
    epochs = str(args.epochs)
    train_s = timed([wordcrowd, "train", str(release), "--out", str(model), "--epochs", epochs], env)
    firmware_s = timed([wordcrowd, "firmware", str(model), "--target", "host", "--out", str(fw)], env)
    metrics = json.loads((model / "metrics.json").read_text())
    figures = {"clips": clips, "ingest_store_clips_per_s": round(ingest_rate, 1),
               "release_s": round(release_s, 2), "release_clips_per_s": round(clips / release_s, 1),
               "features_clips_per_s": round(features, 1), "train_s": round(train_s, 1),
               "firmware_s": round(firmware_s, 2), "metrics": metrics}
    print(json.dumps({k: v for k, v in figures.items() if k != "metrics"}))
    if not args.no_record:
        record(figures, args)


def record(figures: dict, args: argparse.Namespace) -> None:
    """Append the figures to benchmarks/RESULTS.md."""
    metrics = figures["metrics"]
    accuracy = ", ".join(f"{name} {value:.3f}" for name, value in metrics["accuracy"].items())
    sizes = metrics["sizes"]
    lines = [
        f"\n## Walking skeleton — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n",
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, load "
        f"average {os.getloadavg()[0]:.2f}; "
        f"command: `python benchmarks/skeleton.py {' '.join(sys.argv[1:])}`; "
        f"{figures['clips']} clips ({args.speakers} espeak-ng speakers × {len(KEYWORDS)} keywords × "
        f"{args.takes} takes), {args.epochs} epochs.\n",
        "| step | figure |", "|---|---|",
        "| ingest + store in-process (SQLite, local blobs, one thread) | "
        f"{figures['ingest_store_clips_per_s']} clips/s |",
        f"| `wordcrowd curate release` (whole command, incl. start-up) | {figures['release_s']} s "
        f"({figures['release_clips_per_s']} clips/s) |",
        f"| micro frontend + int8 mapping (one thread) | {figures['features_clips_per_s']} clips/s |",
        f"| `wordcrowd train` tiny_conv (whole command: features, fit, int8, TFLM check) | "
        f"{figures['train_s']} s |",
        f"| `wordcrowd firmware --target host` | {figures['firmware_s']} s |",
        f"| accuracy on the {metrics['evaluation_split']} split ({metrics['evaluation_examples']} examples) "
        f"| {accuracy}; TFLM/TFLite agreement {metrics['tflm_tflite_agreement']:.3f} |",
        f"| model | {metrics['params']} parameters, int8 {sizes['int8_tflite_bytes']} bytes, "
        f"arena {sizes['arena_bytes']} bytes |",
    ]
    with open(ROOT / "benchmarks" / "RESULTS.md", "a") as out:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
