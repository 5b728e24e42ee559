"""Training benchmark: wordcrowd's models side by side on a held-out synthetic crowd, int8 on TFLM.

Writes the crowd (benchmarks/crowd.py) unless it exists, trains each model with `training.fit.train` (the
code behind `wordcrowd train`), scores the int8 model on the TFLM interpreter per voice group of the unseen
test speakers, and appends a dated record to benchmarks/RESULTS.md.

    python benchmarks/train.py [--crowd DIR] [--models ds_cnn,res_ds_cnn] [--epochs 20] [--no-augmentation]
      [--keep DIR]   # keep the model directories (metrics.json, confusion matrix) in DIR
    python benchmarks/train.py --throughput 10000   # feature cache rate and epoch time on N clips
    python benchmarks/train.py --models res_ds_cnn --set label_smoothing=0.1 --set copies=8 --label v2
      (--set NAME=VALUE overrides a TrainConfig or Augmentation field for a screening run)
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import os
import resource
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.crowd import KEYWORDS, write_crowd  # noqa: E402
from curation.release_format import read_clips_tsv  # noqa: E402

RESULTS = ROOT / "benchmarks" / "RESULTS.md"


def group_accuracy(model_dir: Path, release: Path) -> dict[str, float]:
    """TFLM accuracy per voice group (clips.tsv's source) on the test split's word clips."""
    from training.dataset import build_split, choose_labels, read_release
    from training.features import device_features, quantize_features
    from training.model_dir import read_model_dir
    from training.tflm import tflm_scores

    model = read_model_dir(model_dir)
    indexed = read_release(release)
    examples = build_split(indexed, choose_labels(indexed, model.labels[2:]), "testing",
                           np.random.default_rng(0))
    predicted = np.argmax(tflm_scores(model.int8_tflite(), quantize_features(device_features(
        examples.samples))), axis=1)
    source = {row["path"]: row["source"] for row in read_clips_tsv(release)}
    hits: dict[str, list[bool]] = defaultdict(list)
    for path, truth, guess in zip(examples.paths, examples.labels, predicted, strict=True):
        if path in source:
            hits[source[path]].append(bool(truth == guess))
            hits[source[path].split(":")[0]].append(bool(truth == guess))  # the engine as a whole
    return {group: float(np.mean(values)) for group, values in sorted(hits.items())}


def configured(name: str, epochs: int, settings: dict[str, object], seed: int = 0):
    """The recipe's TrainConfig for a model, with `settings` replacing TrainConfig or Augmentation fields."""
    from training.fit import TrainConfig

    config = TrainConfig(model=name, epochs=epochs, keywords=KEYWORDS, seed=seed)
    augmentation_fields = {field.name for field in dataclasses.fields(config.augmentation)}
    augmentation = {key: value for key, value in settings.items() if key in augmentation_fields}
    rest = {key: value for key, value in settings.items() if key not in augmentation_fields}
    return dataclasses.replace(config, augmentation=dataclasses.replace(config.augmentation, **augmentation),
                               **rest)


def parse_settings(pairs: list[str]) -> dict[str, object]:
    """NAME=VALUE pairs (values as Python literals) from --set."""
    settings = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        settings[key.strip()] = ast.literal_eval(value.strip())
    return settings


def train_one(release: Path, name: str, epochs: int, augment: bool, out: Path,
              settings: dict[str, object] | None = None, label: str = "", seed: int = 0) -> dict:
    """Train one model on the crowd; return its figures."""
    from training.augment import NO_AUGMENTATION
    from training.fit import train

    config = configured(name, epochs, settings or {}, seed)
    if not augment:
        config = dataclasses.replace(config, augmentation=NO_AUGMENTATION)
    load, started, cpu = os.getloadavg()[0], time.perf_counter(), time.process_time()
    metrics = train(release, out, config, report=lambda line: print(f"  {name}: {line}", flush=True))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    groups = group_accuracy(out, release)
    voices = {group: value for group, value in groups.items() if ":" in group}
    accuracy = metrics["accuracy"]
    return {"model": name + ("" if augment else " (no augmentation)") + (f" [{label}]" if label else ""),
            "tflm": accuracy["tflm"],
            "float": accuracy["float"], "int8_tflite": accuracy["int8_tflite"],
            "agreement": metrics["tflm_tflite_agreement"], "bytes": metrics["sizes"]["int8_tflite_bytes"],
            "arena": metrics["sizes"]["arena_bytes"], "params": metrics["params"],
            "fit_s": metrics["training"]["seconds"], "wall_s": wall, "cpu_s": cpu, "load": load,
            "best_epoch": metrics["training"]["final"]["best_epoch"],
            "epochs_run": metrics["training"]["final"]["epochs_run"],
            "worst_group": min(voices.items(), key=lambda item: item[1]),
            "best_group": max(voices.items(), key=lambda item: item[1]),
            "engines": {group: value for group, value in groups.items() if ":" not in group},
            "examples": metrics["evaluation_examples"]}


def table(rows: list[dict]) -> str:
    lines = ["| model | TFLM int8 | float | int8 TFLite | TFLM/TFLite agree | worst group | best group | "
             "per engine | int8 bytes | arena bytes | params | fit s | wall s | CPU s | best epoch | "
             "load at start |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['tflm']:.1%} | {r['float']:.1%} | {r['int8_tflite']:.1%} | "
            f"{r['agreement']:.1%} | {r['worst_group'][0]} {r['worst_group'][1]:.0%} | "
            f"{r['best_group'][0]} {r['best_group'][1]:.0%} | "
            + ", ".join(f"{engine} {value:.1%}" for engine, value in r["engines"].items())
            + f" | {r['bytes']:,} | {r['arena']:,} | "
            f"{r['params']:,} | {r['fit_s']:.0f} | {r['wall_s']:.0f} | {r['cpu_s']:.0f} | "
            f"{r['best_epoch']}/{r['epochs_run']} | {r['load']:.1f} |")
    return "\n".join(lines)


def throughput(crowd: Path, clips: int, work: Path) -> dict:
    """Feature cache rate (4 augmented copies) and one epoch of the default model on `clips` hard links."""
    import keras

    from training.architectures import DEFAULT_ARCHITECTURE
    from training.augment import Augmentation
    from training.dataset import choose_labels, read_release
    from training.features import FeatureParams
    from training.models import build_model
    from training.pipeline import build_cache, class_weights, release_noises, training_dataset

    big = _linked_release(crowd, clips, work / "big")
    release = read_release(big)
    labels = choose_labels(release, KEYWORDS)
    params = FeatureParams()
    noises, _ = release_noises(release, params, 0)
    started = time.perf_counter()
    cache = build_cache(release, labels, "training", params, noises, work, 0, Augmentation())
    cache_s = time.perf_counter() - started
    model = build_model(DEFAULT_ARCHITECTURE, params.shape, len(labels))
    model.compile(optimizer=keras.optimizers.Adam(0.002), loss="sparse_categorical_crossentropy")
    steps = cache.clean // 32
    dataset = training_dataset(cache, 32, 0, class_weights(cache.labels, len(labels)), Augmentation())
    started = time.perf_counter()
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
    epoch_s = time.perf_counter() - started
    return {"clips": len(release.clips), "rows": len(cache), "clean": cache.clean, "cache_s": cache_s,
            "rows_per_s": len(cache) / cache_s, "epoch_s": epoch_s, "steps": steps,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "cache_mb": cache.features.nbytes / 1e6, "load": os.getloadavg()[0]}


def _linked_release(crowd: Path, clips: int, out: Path) -> Path:
    """A release of `clips` training clips: the crowd's training clips hard-linked under new speaker ids."""
    from curation.release_format import ReleasedClip, write_release_json, write_split_lists
    from training.dataset import read_release

    source = read_release(crowd)
    training = [clip for clip in source.clips if clip.split == "training"]
    (out / "_background_noise_").mkdir(parents=True, exist_ok=True)
    for noise in source.noise_files:
        os.link(noise, out / "_background_noise_" / noise.name)
    written = []
    for index in range(clips):
        clip = training[index % len(training)]
        path = f"{clip.word}/{index // len(training):04x}{clip.path.split('/')[1]}"
        (out / clip.word).mkdir(exist_ok=True)
        os.link(crowd / clip.path, out / path)
        written.append(ReleasedClip(path, clip.word, "training"))
    write_split_lists(out, [])
    write_release_json(out, {"campaign": {"slug": "big"}, "version": "1", "clips": len(written)})
    return out


BASE_KEYWORDS = KEYWORDS[:6]  # transfer: a base trained on these ...
NEW_KEYWORDS = KEYWORDS[6:]  # ... then given these with few clips each


def _subset_release(crowd: Path, out: Path, per_keyword: int) -> Path:
    """The crowd with only `per_keyword` training clips of each new keyword (hard links)."""
    from curation.release_format import LIST_FILES, RELEASE_JSON
    from training.dataset import read_release

    rng = np.random.default_rng(per_keyword)
    release = read_release(crowd)
    keep = []
    for word in release.words:
        clips = [clip for clip in release.clips if clip.word == word]
        training = [clip for clip in clips if clip.split == "training"]
        if word in NEW_KEYWORDS and len(training) > per_keyword:
            chosen = set(rng.choice(len(training), per_keyword, replace=False).tolist())
            training = [clip for index, clip in enumerate(training) if index in chosen]
        keep += training + [clip for clip in clips if clip.split != "training"]
    for path in [RELEASE_JSON, *LIST_FILES.values(), *(n.relative_to(crowd) for n in release.noise_files),
                 *(clip.path for clip in keep)]:
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        os.link(crowd / path, out / path)
    return out


def transfer(crowd: Path, epochs: int, work: Path, sizes: tuple[int, ...] = (10, 50, 200)) -> str:
    """TFLM accuracy on the new keywords: from scratch versus --base, at a few clips per keyword."""
    from training.dataset import read_release
    from training.fit import TrainConfig, train

    base = work / "base"
    train(crowd, base, TrainConfig(epochs=epochs, keywords=BASE_KEYWORDS),
          report=lambda line: print(f"  base: {line}", flush=True))
    lines = ["| training clips per new keyword | from scratch (TFLM int8) | --base, fine-tuned (TFLM int8) |",
             "|---|---|---|"]
    for size in sizes:
        release = _subset_release(crowd, work / f"subset{size}", size)
        scores = []
        for label, base_dir in (("scratch", None), ("transfer", base)):
            metrics = train(release, work / f"{label}{size}",
                            TrainConfig(epochs=epochs, keywords=NEW_KEYWORDS, base=base_dir),
                            report=lambda line, tag=f"{label} {size}": print(f"  {tag}: {line}", flush=True))
            scores.append(metrics["accuracy"]["tflm"])
        clips = sum(1 for clip in read_release(release).clips
                    if clip.split == "training" and clip.word == NEW_KEYWORDS[0])  # fewer on a small crowd
        lines.append(f"| {clips} | {scores[0]:.1%} | {scores[1]:.1%} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crowd", type=Path, default=Path(tempfile.gettempdir()) / "wordcrowd-crowd")
    parser.add_argument("--models", default="tiny_conv,ds_cnn_small,ds_cnn,res_ds_cnn")
    parser.add_argument("--epochs", type=int, help="Epochs (default: the recipe's, DEFAULT_EPOCHS).")
    parser.add_argument("--no-augmentation", action="store_true", help="Also train the default without it.")
    parser.add_argument("--throughput", type=int, help="Measure the feature cache and an epoch on N clips.")
    parser.add_argument("--transfer", action="store_true", help="Measure --base against scratch.")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="NAME=VALUE",
                        help="Override a TrainConfig or Augmentation field (repeatable).")
    parser.add_argument("--label", default="", help="A name for this variant in the table.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--keep", type=Path, help="Keep the model directories in this folder.")
    args = parser.parse_args()
    if args.epochs is None:
        from training.architectures import DEFAULT_EPOCHS

        args.epochs = DEFAULT_EPOCHS
    if not (args.crowd / "release.json").is_file():
        started = time.perf_counter()
        write_crowd(args.crowd, {"training": 120, "validation": 20, "testing": 40}, takes=2, jobs=2)
        print(f"crowd written in {time.perf_counter() - started:.0f} s", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        work = str(args.keep) if args.keep else scratch
        if args.transfer:
            text = transfer(args.crowd, args.epochs, Path(work))
        elif args.throughput:
            figures = throughput(args.crowd, args.throughput, Path(work))
            text = ", ".join(f"{key} {value:.1f}" if isinstance(value, float) else f"{key} {value}"
                             for key, value in figures.items())
        else:
            settings = parse_settings(args.settings)
            rows = [train_one(args.crowd, name, args.epochs, True, Path(work) / name, settings, args.label,
                              args.seed) for name in args.models.split(",")]
            if args.no_augmentation:
                from training.architectures import DEFAULT_ARCHITECTURE

                rows.append(train_one(args.crowd, DEFAULT_ARCHITECTURE, args.epochs, False,
                                      Path(work) / "plain"))
            text = table(rows)
    print(text)
    if not args.no_record:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        command = "python benchmarks/train.py " + " ".join(sys.argv[1:])
        with RESULTS.open("a", encoding="utf-8") as handle:
            handle.write(f"\n## Training — {stamp}\n\nCommand: `{command}`; 2 shared cores (load average "
                         f"{os.getloadavg()[0]:.1f} at the end).\n\n{text}\n")


if __name__ == "__main__":
    main()
