"""Reference recipes run beside wordcrowd on the benchmark crowd: MLPerf Tiny KWS `ds_cnn`, TF's tiny_conv.

The recipe's own code is not part of wordcrowd: fetch mlcommons/tiny and point --mlperf at its
benchmark/training/keyword_spotting folder. This script imports its model builder (keras_model.get_model)
and learning-rate schedule (kws_util.get_callbacks) unchanged and feeds them the crowd's micro features:
the same clips, unknown and silence shares as wordcrowd, one copy of each training clip with background
noise in 80 % of them (the recipe's noise draw is made once per clip), no other augmentation, its batch
size and epochs. The int8 model is made and judged as wordcrowd's are (full-integer post-training
quantization calibrated on training features, TFLM on the unseen test speakers). It prints a table row.

    python benchmarks/references.py --mlperf /tmp/mlperf-kws/benchmark/training/keyword_spotting

TensorFlow's `speech_commands/train.py` is a TF1 script that reads folders and splits them by a hash of
the speaker's name, so it is run by hand: `--speech-commands-data DIR` writes the crowd without its test
speakers as symlinks (train.py's own validation split then comes from the training and validation
speakers); after train.py has run on DIR, `--speech-commands TRAIN_DIR` loads the last checkpoint's weights
into wordcrowd's tiny_conv (the same graph, with freeze.py's softmax) and judges it as above, on the
features it was trained on (a frontend started on each clip, "cold") and on the device's (warm-up).

    python benchmarks/references.py --crowd /tmp/crowd160 --speech-commands-data /tmp/tf_data
    python train.py --data_dir=/tmp/tf_data --data_url='' --preprocess=micro --window_stride_ms=20 \
        --model_architecture=tiny_conv --validation_percentage=14 --testing_percentage=0 \
        --train_dir=/tmp/tf_run/train --summaries_dir=/tmp/tf_run/logs     # in TF's speech_commands
    python benchmarks/references.py --crowd /tmp/crowd160 --speech-commands /tmp/tf_run/train
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import types
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.crowd import KEYWORDS  # noqa: E402

# the recipe mixes noise at a volume up to 0.1 of full scale into peak-normalised speech: about 20 dB below
# the speech at its loudest; drawn here as an SNR over the clip
MLPERF_AUGMENTATION = {"copies": 1, "time_shift_ms": 0, "speed_range": (1.0, 1.0),
                       "gain_db_range": (0.0, 0.0), "background_frequency": 0.8,
                       "snr_db_range": (10.0, 30.0), "time_masks": 0, "frequency_masks": 0}


def crowd_features(crowd: Path, folder: Path, augmentation: dict) -> dict:
    """The crowd's feature caches (training with the given augmentation) and labels, via training.pipeline."""
    from training.augment import NO_AUGMENTATION, Augmentation
    from training.dataset import choose_labels, read_release
    from training.features import FeatureParams
    from training.pipeline import build_cache, release_noises

    release = read_release(crowd)
    labels = choose_labels(release, KEYWORDS)
    params = FeatureParams()
    noises, _ = release_noises(release, params, 0)
    caches = {split: build_cache(release, labels, split, params, noises, folder, 0,
                                 Augmentation(**augmentation) if split == "training" else NO_AUGMENTATION)
              for split in ("training", "validation", "testing")}
    return {"labels": labels, "caches": caches}


def speech_commands_data(crowd: Path, out: Path) -> int:
    """The crowd minus its test speakers as symlinks in Speech Commands folders, for TF's train.py."""
    testing = set((crowd / "testing_list.txt").read_text().split())
    linked = 0
    for path in sorted(crowd.glob("*/*.wav")):
        name = f"{path.parent.name}/{path.name}"
        if name in testing:
            continue
        (out / path.parent.name).mkdir(parents=True, exist_ok=True)
        (out / name).symlink_to(path.resolve())
        linked += 1
    return linked


def speech_commands(crowd: Path, train_dir: Path, work: Path) -> dict:
    """Judge the last tiny_conv checkpoint of TF's train.py on cold and warm features (int8, TFLM)."""
    import tensorflow as tf

    from training.features import FeatureParams

    checkpoint = tf.train.latest_checkpoint(str(train_dir))
    if checkpoint is None:
        raise SystemExit(f"references: no train.py checkpoint in {train_dir}")
    labels = (train_dir / "tiny_conv_labels.txt").read_text().split()
    model = _tiny_conv(tf.train.load_checkpoint(checkpoint), labels)
    row = {"recipe": f"TF speech_commands tiny_conv, {Path(checkpoint).name}", "params": model.count_params()}
    for name in ("cold", "warm"):
        folder = work / name
        folder.mkdir()
        with _cold_frontend(name == "cold"):
            data = crowd_features(crowd, folder, {"copies": 0}) | {"crowd": crowd}
        if data["labels"] != labels:
            raise SystemExit(f"references: train.py's labels {labels} are not the crowd's {data['labels']}")
        row[name] = judge(model, data, FeatureParams().shape)
    return row


def _tiny_conv(checkpoint, labels: list[str]):
    """wordcrowd's tiny_conv (TF's graph, with freeze.py's softmax) holding train.py's weights."""
    from training.features import FeatureParams
    from training.models import HEAD_LAYER, build_tiny_conv

    model = build_tiny_conv(FeatureParams().shape, len(labels))
    model.get_layer("conv").set_weights([checkpoint.get_tensor("first_weights"),
                                         checkpoint.get_tensor("first_bias")])
    model.get_layer(HEAD_LAYER).set_weights([checkpoint.get_tensor("final_fc_weights"),
                                             checkpoint.get_tensor("final_fc_bias")])
    return model


@contextmanager
def _cold_frontend(cold: bool):
    """Within: the feature cache starts the frontend on each clip alone, as TF's input_data.py does."""
    import training.pipeline as pipeline
    from training.features import frontend

    saved = pipeline.clip_frontend
    if cold:
        pipeline.clip_frontend = lambda warmed, params: frontend(warmed[params.warmup_samples:], params)
    try:
        yield
    finally:
        pipeline.clip_frontend = saved


def judge(model, data: dict, shape: tuple[int, ...]) -> dict:
    """int8 TFLM accuracy on the test speakers, per voice group and engine; bytes and arena."""
    from curation.release_format import read_clips_tsv
    from training.features import dequantize_features
    from training.quantize import to_int8_tflite
    from training.tflm import measure_arena, tflm_scores

    training, testing = data["caches"]["training"], data["caches"]["testing"]
    calibration = dequantize_features(training.features[:training.clean][:1000]).reshape(-1, *shape)
    int8 = to_int8_tflite(model, calibration)
    predicted = np.argmax(tflm_scores(int8, testing.features[:testing.clean]), axis=1)
    truth = testing.labels[:testing.clean]
    source = {row["path"]: row["source"] for row in read_clips_tsv(data["crowd"])}
    hits: dict[str, list[bool]] = defaultdict(list)
    for path, label, guess in zip(testing.paths[:testing.clean], truth, predicted, strict=True):
        if path in source:
            hits[source[path]].append(bool(label == guess))
            hits[source[path].split(":")[0]].append(bool(label == guess))
    groups = {group: float(np.mean(values)) for group, values in sorted(hits.items())}
    voices = {group: value for group, value in groups.items() if ":" in group}
    arena = measure_arena(int8, testing.features[0])
    inputs = dequantize_features(testing.features[:testing.clean]).reshape(-1, *shape)
    floats = np.argmax(model.predict(inputs, verbose=0), axis=1)
    return {"tflm": float(np.mean(predicted == truth)), "float": float(np.mean(floats == truth)),
            "bytes": len(int8), "arena": arena.minimal_bytes,
            "worst": min(voices.items(), key=lambda item: item[1]),
            "best": max(voices.items(), key=lambda item: item[1]),
            "engines": {group: value for group, value in groups.items() if ":" not in group}}


def mlperf(crowd: Path, recipe: Path, work: Path, epochs: int | None) -> dict:
    """Train the MLPerf Tiny ds_cnn with its own builder, optimizer and step schedule on micro features."""
    data = crowd_features(crowd, work, MLPERF_AUGMENTATION) | {"crowd": crowd}
    sys.path.insert(0, str(recipe))
    sys.modules.setdefault("tensorflow_datasets", types.ModuleType("tensorflow_datasets"))  # unused import
    import keras_model  # the recipe's, from --mlperf
    import kws_util

    keras_model.DepthwiseConv2D = _depthwise_conv2d()  # its keyword for Keras 2, under Keras 3's name

    argv = ["--feature_type", "mfcc", "--dct_coefficient_count", "40", "--window_size_ms", "30",
            "--window_stride_ms", "20"] + (["--epochs", str(epochs)] if epochs else [])
    flags, _ = _parse(kws_util, argv)
    model = keras_model.get_model(args=flags)  # compiled by the recipe: Adam, sparse cross-entropy
    training, validation = data["caches"]["training"], data["caches"]["validation"]
    from training.features import dequantize_features

    shape = (49, 40, 1)
    noisy = slice(training.clean, len(training))  # the copy with the recipe's background noise
    x = dequantize_features(training.features[noisy]).reshape(-1, *shape)
    y = training.labels[noisy]
    x_val = dequantize_features(validation.features[:validation.clean]).reshape(-1, *shape)
    started, cpu = time.perf_counter(), time.process_time()
    model.fit(x, y, batch_size=flags.batch_size, epochs=flags.epochs, shuffle=True, verbose=2,
              validation_data=(x_val, validation.labels[:validation.clean]),
              callbacks=kws_util.get_callbacks(args=flags))
    fit_s, fit_cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"recipe": f"MLPerf Tiny ds_cnn, {flags.epochs} epochs, batch {flags.batch_size}, step schedule",
            "fit_s": fit_s, "cpu_s": fit_cpu, "params": model.count_params(), **judge(model, data, shape)}


def _depthwise_conv2d():
    """Keras 3's DepthwiseConv2D taking Keras 2's kernel_regularizer (the recipe passes it)."""
    import keras

    class DepthwiseConv2D(keras.layers.DepthwiseConv2D):
        def __init__(self, *args, kernel_regularizer=None, **kwargs) -> None:
            if kernel_regularizer is not None:  # a clone passes depthwise_regularizer from its config
                kwargs["depthwise_regularizer"] = kernel_regularizer
            super().__init__(*args, **kwargs)

    return DepthwiseConv2D


def _parse(kws_util, argv: list[str]):
    """The recipe's argument parser, on our arguments rather than sys.argv."""
    saved = sys.argv
    sys.argv = ["train.py", *argv]
    try:
        return kws_util.parse_command()
    finally:
        sys.argv = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crowd", type=Path, default=Path(tempfile.gettempdir()) / "wordcrowd-crowd")
    chosen = parser.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--mlperf", type=Path,
                        help="Train the MLPerf recipe: the fetched mlcommons/tiny "
                             "benchmark/training/keyword_spotting folder.")
    chosen.add_argument("--speech-commands-data", type=Path, metavar="DIR",
                        help="Write the crowd without its test speakers to DIR (new) for TF's train.py.")
    chosen.add_argument("--speech-commands", type=Path, metavar="TRAIN_DIR",
                        help="Judge the tiny_conv checkpoint TF's train.py wrote to its --train_dir.")
    parser.add_argument("--epochs", type=int, help="MLPerf epochs (default: the recipe's own).")
    args = parser.parse_args()
    if args.speech_commands_data:
        if args.speech_commands_data.exists():
            parser.error(f"{args.speech_commands_data} exists; give a new folder")
        print(f"{speech_commands_data(args.crowd, args.speech_commands_data)} clips linked")
        return
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as work:
        if args.mlperf:
            rows = [mlperf(args.crowd, args.mlperf.resolve(), Path(work), args.epochs)]
        else:
            both = speech_commands(args.crowd, args.speech_commands, Path(work))
            rows = [both | both[name] | {"recipe": f"{both['recipe']}, {name} features", "fit_s": None,
                                         "cpu_s": None} for name in ("cold", "warm")]
    print(_table(rows, load))  # for the hand-written RESULTS.md section (one block per session)


def _table(rows: list[dict], load: float) -> str:
    """Markdown rows: accuracy, voices, engines, sizes and time (train.py's time is taken by hand)."""
    header = ("recipe", "TFLM int8", "float", "worst voice", "best voice", "per engine", "int8 bytes",
              "arena bytes", "params", "fit s", "CPU s", "load at start")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        engines = ", ".join(f"{engine} {value:.1%}" for engine, value in row["engines"].items())
        seconds = [f"{row[key]:.0f}" if row[key] is not None else "by hand" for key in ("fit_s", "cpu_s")]
        lines.append(f"| {row['recipe']} | {row['tflm']:.1%} | {row['float']:.1%} | "
                     f"{row['worst'][0]} {row['worst'][1]:.0%} | {row['best'][0]} {row['best'][1]:.0%} | "
                     f"{engines} | {row['bytes']:,} | {row['arena']:,} | {row['params']:,} | "
                     f"{seconds[0]} | {seconds[1]} | {load:.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
