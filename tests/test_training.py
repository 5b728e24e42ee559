"""Training on a real (synthetic, espeak-ng) release: micro frontend, int8 mapping, model dir, TFLM."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.release_fixture import KEYWORDS, spoken_clip, write_release
from training.dataset import (
    SILENCE_LABEL,
    UNKNOWN_LABEL,
    ReleaseError,
    build_split,
    choose_labels,
    read_release,
    which_set,
)
from training.features import (
    INPUT_SCALE,
    INPUT_ZERO_POINT,
    FeatureParams,
    FeatureParamsError,
    micro_features,
    quantize_features,
)
from training.model_dir import MODEL_FILES, PLOT_FILES, read_model_dir
from wordcrowd.cli import main

BIN = Path(sys.executable).parent
EPOCHS = 3
ONE_EPOCH = ("--epochs", "1", "--model", "tiny_conv")  # the quick training of the error-path tests


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    """A release of 24 espeak-ng speakers (16/4/4 by the hash rule), 3 keywords, 2 takes each."""
    return write_release(tmp_path_factory.mktemp("release") / "release")


@pytest.fixture(scope="module")
def model(release, tmp_path_factory) -> Path:
    """A model directory trained by `wordcrowd train` on the release."""
    out = tmp_path_factory.mktemp("model") / "model"
    result = CliRunner().invoke(main, ["train", str(release), "--out", str(out), "--epochs", str(EPOCHS),
                                       "--model", "tiny_conv"])
    assert result.exit_code == 0, result.output
    return out


def device_formula(raw: int) -> int:
    """micro_speech's integer mapping, written out independently: trunc((f*256 + 333) / 666) - 128."""
    return max(-128, min(127, int((raw * 256 + 333) / 666) - 128))


def test_feature_params_round_trip():
    params = FeatureParams()
    assert (params.frames, params.channels, params.clip_samples) == (49, 40, 16000)
    document = json.loads(params.to_json())
    assert document["frames"] == 49 and document["int8_input"] == {"scale": INPUT_SCALE, "zero_point": -128}
    assert FeatureParams.from_json(params.to_json()) == params
    with pytest.raises(FeatureParamsError):
        FeatureParams.from_json(json.dumps({**document, "frames": 50}))
    with pytest.raises(FeatureParamsError):
        FeatureParams(window_ms=0)


def test_micro_frontend_gives_49_by_40():
    """A spoken word gives a (49, 40) float matrix; the word's frames carry more energy than silence."""
    word = micro_features(spoken_clip("yes", speaker=0, take=0, seed=1))
    silence = micro_features(np.zeros(16000, dtype=np.int16))
    assert word.shape == silence.shape == (49, 40) and word.dtype == np.float32
    assert 0.0 <= word.min() and word.max() < 30.0
    assert word.mean() > silence.mean() + 1.0


def test_frontend_float_is_the_integer_output_scaled():
    """Float features are the frontend's uint16 output × 10/256 exactly: the device mapping is recoverable."""
    import tensorflow as tf
    from tensorflow.lite.experimental.microfrontend.python.ops import audio_microfrontend_op

    clip = spoken_clip("stop", speaker=3, take=1, seed=2)
    raw = audio_microfrontend_op.audio_microfrontend(
        tf.constant(clip), sample_rate=16000, window_size=30, window_step=20, num_channels=40,
        out_scale=1, out_type=tf.uint16).numpy()
    assert np.array_equal(micro_features(clip), raw * np.float32(10 / 256))
    expected = np.vectorize(device_formula)(raw.astype(np.int64))
    assert np.array_equal(quantize_features(micro_features(clip)), expected)


def test_int8_mapping_matches_device_formula_on_edge_values():
    """quantize_features is the device formula, and it equals the int8 input quantization (scale, -128)."""
    edges = [0, 1, 2, 332, 333, 334, 665, 666, 667, 998, 999, 662, 663, 664, 665, 670, 1000, 65535]
    raw = np.array(edges + list(range(0, 2000)), dtype=np.int64)
    features = (raw * 10 / 256).astype(np.float32)
    quantized = quantize_features(features)
    assert quantized.dtype == np.int8
    assert quantized.tolist() == [device_formula(int(value)) for value in raw]
    assert quantized[:3].tolist() == [-128, -128, -127] and quantized[edges.index(663)] == 127
    as_input_quantization = np.clip(np.floor(features / np.float32(INPUT_SCALE) + 0.5) + INPUT_ZERO_POINT,
                                    -128, 127)
    assert np.array_equal(quantized, as_input_quantization.astype(np.int8))


def test_which_set_is_the_speech_commands_rule():
    for name in ("0a1b2c3d_nohash_0.wav", "yes/ffffffff_nohash_3.wav", "deadbeef_nohash_12.wav"):
        base = Path(name).name.split("_nohash_")[0]
        percentage = (int(hashlib.sha1(base.encode()).hexdigest(), 16) % 2**27) * 100 / (2**27 - 1)
        expected = "validation" if percentage < 10 else "testing" if percentage < 20 else "training"
        assert which_set(name) == expected
        assert which_set(name.replace("_nohash_", "_nohash_9")) == expected  # only the speaker counts


def test_read_release_takes_splits_from_the_list_files(release):
    indexed = read_release(release)
    assert indexed.words == tuple(sorted(KEYWORDS)) and len(indexed.clips) == 24 * 3 * 2
    listed = {split: set((release / f"{split}_list.txt").read_text().split())
              for split in ("validation", "testing")}
    for clip in indexed.clips:
        expected = next((split for split, paths in listed.items() if clip.path in paths), "training")
        assert clip.split == expected == which_set(clip.path)
    assert len(indexed.noise_files) == 2
    assert indexed.checksum == hashlib.sha256((release / "SHA256SUMS").read_bytes()).hexdigest()


def test_labels_put_silence_and_unknown_first(release):
    indexed = read_release(release)
    assert choose_labels(indexed) == [SILENCE_LABEL, UNKNOWN_LABEL, "no", "stop", "yes"]
    assert choose_labels(indexed, ["yes", "no"]) == [SILENCE_LABEL, UNKNOWN_LABEL, "yes", "no"]
    with pytest.raises(ReleaseError, match="'maybe' is not in the release"):
        choose_labels(indexed, ["yes", "maybe"])


def test_split_adds_ten_percent_unknown_and_silence(release):
    """Other words become _unknown_ and noise crops become _silence_, each 10 % of the keyword clips."""
    indexed = read_release(release)
    labels = choose_labels(indexed, ["yes", "no"])
    examples = build_split(indexed, labels, "training", np.random.default_rng(0))
    keyword_count = 16 * 2 * 2
    counts = np.bincount(examples.labels, minlength=len(labels))
    assert counts.tolist() == [math.ceil(keyword_count / 10), math.ceil(keyword_count / 10), 32, 32]
    assert examples.samples.shape == (len(examples), 16000) and examples.samples.dtype == np.int16
    unknown_paths = [p for p, label in zip(examples.paths, examples.labels, strict=True) if label == 1]
    assert all(path.startswith("stop/") for path in unknown_paths)
    silence = examples.samples[examples.labels == 0]
    assert np.all(np.abs(silence).max(axis=1) < 0.5 * 32768) and np.any(silence != 0)


def test_train_writes_every_file_of_the_model_dir(model, release):
    assert sorted(p.name for p in model.iterdir()) == sorted(MODEL_FILES + PLOT_FILES)
    model_dir = read_model_dir(model)
    assert model_dir.labels == (SILENCE_LABEL, UNKNOWN_LABEL, "no", "stop", "yes")
    assert model_dir.feature_params == FeatureParams()
    metrics = model_dir.metrics
    assert metrics["labels"] == list(model_dir.labels) and metrics["model"] == "tiny_conv"
    assert metrics["params"] == 648 + 4000 * 5 + 5  # conv 10×8×8 + 8, dense 4000×5 + 5
    assert set(metrics["accuracy"]) == {"float", "int8_tflite", "tflm"}
    assert set(metrics["per_class"]) == set(model_dir.labels)
    assert metrics["evaluation_split"] == "testing" and metrics["evaluation_examples"] == 4 * 3 * 2 + 3
    assert metrics["sizes"]["int8_tflite_bytes"] == len(model_dir.int8_tflite())
    checksum = hashlib.sha256((release / "SHA256SUMS").read_bytes()).hexdigest()
    card = model_dir.model_card
    assert checksum in card and "version `1`" in card and "campaign `fixture`" in card
    assert "CC-BY-4.0" in card and "CC0-1.0" in card
    assert "wordcrowd fixture speakers" in model_dir.licence_section()
    assert metrics["accuracy"]["tflm"] >= 0.6, metrics  # well above chance (1/5) after 3 epochs
    quantization = metrics["quantization"]  # whether quantization-aware fine-tuning was used, and why
    assert isinstance(quantization["quantization_aware"], bool)
    assert "validation_int8_post_training" in quantization
    assert "Quantization: full-integer post-training quantization" in card
    assert ("quantization-aware fine-tuning was used" in card) == quantization["quantization_aware"]


def test_int8_model_has_int8_input_and_output_with_the_device_mapping(model):
    from training.quantize import _interpreter

    interpreter = _interpreter((model / "int8.tflite").read_bytes())
    (inputs,), (outputs,) = interpreter.get_input_details(), interpreter.get_output_details()
    assert inputs["dtype"] == np.int8 and outputs["dtype"] == np.int8
    assert tuple(inputs["shape"]) == (1, 49, 40) and tuple(outputs["shape"]) == (1, 5)
    assert inputs["quantization"] == (INPUT_SCALE, INPUT_ZERO_POINT)
    ops = {op["op_name"] for op in interpreter._get_ops_details()}
    assert ops == {"RESHAPE", "CONV_2D", "FULLY_CONNECTED", "SOFTMAX"}  # no dynamic-shape ops for TFLM


def test_tflm_runs_the_model_and_agrees_with_tflite(model, release):
    """The real TFLM interpreter picks the same class as TFLite on at least 95 % of the test clips."""
    from training.features import device_features
    from training.quantize import tflite_scores
    from training.tflm import tflm_scores, top1_agreement

    indexed = read_release(release)
    examples = build_split(indexed, choose_labels(indexed), "testing", np.random.default_rng(5))
    inputs = quantize_features(device_features(examples.samples))
    flatbuffer = (model / "int8.tflite").read_bytes()
    on_tflm, on_tflite = tflm_scores(flatbuffer, inputs), tflite_scores(flatbuffer, inputs)
    assert on_tflm.shape == (len(examples), 5) and on_tflm.dtype == np.int8
    assert top1_agreement(on_tflm, on_tflite) >= 0.95
    assert json.loads((model / "metrics.json").read_text())["tflm_tflite_agreement"] >= 0.95


def test_measured_arena_runs_the_model(model):
    from tflite_micro.python.tflite_micro import runtime

    sizes = json.loads((model / "metrics.json").read_text())["sizes"]
    assert 4_000 < sizes["arena_recorded_bytes"] <= sizes["arena_bytes"] < 64_000
    interpreter = runtime.Interpreter.from_bytes((model / "int8.tflite").read_bytes(),
                                                 arena_size=sizes["arena_bytes"])
    interpreter.set_input(np.full((1, 49, 40), -128, dtype=np.int8), 0)
    interpreter.invoke()
    assert interpreter.get_output(0).shape == (1, 5)


def test_a_release_without_validation_or_test_speakers_still_trains(tmp_path):
    """Few speakers can leave splits empty: train without validation, evaluate on training, and say so."""
    small = write_release(tmp_path / "small", keywords=("yes", "no"), takes=1,
                          per_split={"training": 4, "validation": 0, "testing": 0})
    out = tmp_path / "model"
    result = CliRunner().invoke(main, ["train", str(small), "--out", str(out), *ONE_EPOCH])
    assert result.exit_code == 0, result.output
    assert "training without validation" in result.output
    metrics = json.loads((tmp_path / "model" / "metrics.json").read_text())
    assert metrics["evaluation_split"] == "training" and metrics["examples"]["testing"] == 0
    assert "On the training split" in (tmp_path / "model" / "model_card.md").read_text()
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning: ")]
    assert len(warnings) == len(metrics["warnings"]) == 3, result.stderr
    assert "testing split has no clips" in warnings[0] and "too few speakers" in warnings[0]
    assert "the training split, which the model learnt from" in warnings[1]
    assert f"only {metrics['evaluation_examples']} examples" in warnings[2]


def test_train_warns_when_it_scores_the_validation_split(tmp_path):
    """A release whose testing split is empty is scored on validation: said on stderr and in metrics.json."""
    small = write_release(tmp_path / "small", keywords=("yes", "no"), takes=1,
                          per_split={"training": 4, "validation": 1, "testing": 0})
    out = tmp_path / "model"
    result = CliRunner().invoke(main, ["train", str(small), "--out", str(out), *ONE_EPOCH])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["evaluation_split"] == "validation" and metrics["evaluation_examples"] == 3
    assert any("the validation split, which training watched" in w for w in metrics["warnings"])
    assert any("only 3 examples" in w for w in metrics["warnings"])
    assert all(f"Warning: {w}." in result.stderr for w in metrics["warnings"])


def test_train_refuses_to_overwrite_a_model_dir(model, release):
    result = CliRunner().invoke(main, ["train", str(release), "--out", str(model), *ONE_EPOCH])
    assert result.exit_code == 1 and "already exists and is not empty" in result.output
    assert "--force" in result.output
    assert (model / "int8.tflite").is_file()


@pytest.mark.parametrize("target", ["project", "working_dir", "file"])
def test_train_force_replaces_nothing_but_a_model_dir(target, release, tmp_path, monkeypatch):
    """`--force` on a folder without feature_params.json (or the working directory, or a file) is refused."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "README.md").write_text("mine")
    (project / "Makefile").write_text("all:\n")
    monkeypatch.chdir(tmp_path if target == "project" else project)
    out = {"project": str(project), "working_dir": ".", "file": "README.md"}[target]
    result = CliRunner().invoke(main, ["train", str(release), "--out", out, *ONE_EPOCH, "--force"])
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1, result.output
    assert {"project": "is not a model directory", "working_dir": "holds the working directory",
            "file": "is not a directory"}[target] in result.output
    assert sorted(p.name for p in project.iterdir()) == ["Makefile", "README.md"]
    assert (project / "README.md").read_text() == "mine"


def test_train_force_replaces_a_model_dir_as_a_whole(model, tmp_path):
    """An existing model directory is replaced by the new one: no file of the old one survives."""
    small = write_release(tmp_path / "small", keywords=("yes", "no"), takes=1,
                          per_split={"training": 3, "validation": 0, "testing": 0})
    old = tmp_path / "model"
    shutil.copytree(model, old)
    (old / "notes.txt").write_text("stale")
    result = CliRunner().invoke(main, ["train", str(small), "--out", str(old), *ONE_EPOCH, "--force"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in old.iterdir()) == sorted(MODEL_FILES + PLOT_FILES)
    assert read_model_dir(old).labels == (SILENCE_LABEL, UNKNOWN_LABEL, "no", "yes")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


FAILS_FAST = """
import sys
from click.testing import CliRunner
from wordcrowd.cli import main

result = CliRunner().invoke(main, sys.argv[1:])
print(result.output, end="")
sys.exit(3 if "tensorflow" in sys.modules else result.exit_code)
"""


def test_path_mistakes_fail_before_tensorflow_loads(model, release, tmp_path):
    """Wrong paths, a used --out, an unknown --model and an empty split are reported without TensorFlow."""
    no_testing = write_release(tmp_path / "no_testing", keywords=("yes", "no", "stop"), takes=1,
                               per_split={"training": 1, "validation": 1, "testing": 0})
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("mine")
    cases = [
        (["evaluate", str(tmp_path / "nowhere"), str(release)], "is not a directory"),
        (["evaluate", str(model), str(tmp_path / "nowhere")], "is not a directory"),
        (["evaluate", str(model), str(no_testing)], "--split validation"),
        (["train", str(tmp_path / "nowhere"), "--out", str(tmp_path / "m")], "is not a directory"),
        (["train", str(release), "--out", str(used)], "--force"),
        (["train", str(release), "--out", str(used), "--force"], "is not a model directory"),
        (["train", str(release), "--out", str(tmp_path / "m"), "--model", "resnet"], "'resnet' is not"),
        (["firmware", str(tmp_path / "nowhere"), "--target", "host", "--out", str(tmp_path / "fw")],
         "is not a directory"),
    ]
    for args, message in cases:
        result = subprocess.run([sys.executable, "-c", FAILS_FAST, *args], capture_output=True, text=True,
                                timeout=60)
        assert result.returncode in (1, 2) and message in result.stdout, (args, result.returncode,
                                                                          result.stdout)
    assert (used / "keep.txt").read_text() == "mine" and not (tmp_path / "m").exists()


def test_evaluate_on_a_release_without_testing_clips_suggests_validation(model, tmp_path):
    """No testing speakers: evaluate names --split validation, which then scores and warns on stderr."""
    no_testing = write_release(tmp_path / "no_testing", takes=1,
                               per_split={"training": 1, "validation": 2, "testing": 0})
    result = CliRunner().invoke(main, ["evaluate", str(model), str(no_testing)])
    assert result.exit_code == 1 and "too few speakers" in result.output
    assert "--split validation" in result.output
    result = CliRunner().invoke(main, ["evaluate", str(model), str(no_testing), "--split", "validation"])
    assert result.exit_code == 0, result.output
    scored = json.loads(result.stdout)
    assert scored["evaluation_split"] == "validation" and len(scored["warnings"]) == 2
    assert "Warning: accuracy is measured on the validation split" in result.stderr


def run_wordcrowd(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "wordcrowd"), *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


@pytest.mark.parametrize("problem", ["missing", "empty", "no_release_json", "unknown_keyword"])
def test_train_on_a_bad_release_exits_with_one_line(problem, release, tmp_path):
    """Each user mistake ends as one sentence on stderr, a non-zero exit and no model directory."""
    target = {"missing": tmp_path / "nowhere", "empty": tmp_path, "unknown_keyword": release}.get(problem)
    if problem == "no_release_json":
        target = tmp_path / "raw"
        (target / "yes").mkdir(parents=True)
        (target / "yes" / "abc_nohash_0.wav").write_bytes(next((release / "yes").glob("*.wav")).read_bytes())
    extra = ["--keywords", "yes,maybe"] if problem == "unknown_keyword" else []
    result = run_wordcrowd("train", str(target), "--out", str(tmp_path / "model"), *extra)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "model").exists()


def test_evaluate_scores_a_model_dir_on_a_release(model, release):
    """`wordcrowd evaluate` re-scores the model: same keyword clips, same per-keyword accuracy as training."""
    result = CliRunner().invoke(main, ["evaluate", str(model), str(release)])
    assert result.exit_code == 0, result.output
    scored = json.loads(result.stdout)
    trained = json.loads((model / "metrics.json").read_text())
    assert scored["evaluation_split"] == "testing" and scored["evaluation_examples"] == 27
    assert scored["tflm_tflite_agreement"] >= 0.95
    for word in KEYWORDS:
        assert scored["per_class"][word] == trained["per_class"][word]
    missing = CliRunner().invoke(main, ["evaluate", str(model), str(release / "nowhere")])
    assert missing.exit_code == 1 and "is not a directory" in missing.output


def test_train_help():
    result = CliRunner().invoke(main, ["train", "--help"])
    assert result.exit_code == 0 and "--keywords" in result.output and "--epochs" in result.output
    from training.architectures import ARCHITECTURES

    # --model lists the architectures it knows, with their descriptions
    help_text = " ".join(result.output.split())
    assert "[" + "|".join(ARCHITECTURES) + "]" in help_text
    assert all(architecture.description in help_text for architecture in ARCHITECTURES.values())


def test_every_architecture_builds():
    """Each name --model offers resolves to a builder that makes a model of the asked shape."""
    from training.architectures import ARCHITECTURES
    from training.models import build_model

    for name in ARCHITECTURES:
        assert build_model(name, (49, 40), 4).output_shape == (None, 4)
