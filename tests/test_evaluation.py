"""Evaluation: confusion matrix, detection on streams, operating point, fairness, cost, cross-validation."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.release_fixture import write_release
from tests.test_recognizer import READ_SCORES
from training.crossval import predictions_tsv, speaker_folds
from training.detection import DetectionData, at_threshold, choose_threshold, keyword_rates, prepare, sweep
from training.evaluate import classification
from training.fairness import NOT_GIVEN, fairness_report
from training.model_dir import OOF_PREDICTIONS_FILE, PLOT_FILES, read_model_dir
from training.operating_point import recorded_recognition
from training.recognizer import DEFAULT_RECOGNITION, Detection, Recognition
from training.streaming import Occurrence, ScoredStream, Stream, inference_times
from wordcrowd.cli import main

LABELS = ["_silence_", "_unknown_", "yes", "no"]


def test_confusion_matrix_precision_and_recall():
    truth = np.array([2, 2, 2, 3, 3, 0])
    predicted = np.array([2, 2, 3, 3, 3, 1])
    result = classification(np.eye(4)[predicted], truth, LABELS)
    assert result["matrix"] == [[0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 2, 1], [0, 0, 0, 2]]
    assert result["per_class"]["yes"] == {"precision": 1.0, "recall": 2 / 3}
    assert result["per_class"]["no"] == {"precision": 2 / 3, "recall": 1.0}
    assert result["per_class"]["_unknown_"] == {"precision": 0.0, "recall": None}


def test_inference_every_stride_ends_where_the_window_ends():
    last, times = inference_times(100, read_params(), 20)
    assert last[0] == 48 and times[0] == 48 * 20 + 30 and np.all(np.diff(times) == 20)
    assert inference_times(100, read_params(), 60)[1][1] - inference_times(100, read_params(), 60)[1][0] == 60


def read_params():
    from training.features import DEFAULT_PARAMS

    return DEFAULT_PARAMS


def synthetic_streams() -> DetectionData:
    """Keywords: 'yes' at 1-2 s (strong), 'no' at 4-5 s (weaker); background: two 'no'-like blips."""
    times = np.arange(0, 8000, 20)
    scores = np.full((len(times), 4), -128, dtype=np.int8)
    scores[:, 0] = 100
    for start, category, level in ((1000, 2, 120), (4000, 3, 70)):
        spoken = (times >= start + 300) & (times < start + 1400)
        scores[spoken, 0], scores[spoken, category] = -128, level
    keywords = Stream(np.zeros(8 * 16000, np.int16), (Occurrence(1000, 2000, 2, "yes/a_nohash_0.wav"),
                                                       Occurrence(4000, 5000, 3, "no/b_nohash_0.wav")), 16000)
    background_times = np.arange(0, 36000, 20)
    noise = np.full((len(background_times), 4), -128, dtype=np.int8)
    noise[:, 0] = 100
    for start, level in ((5000, 60), (20000, 30)):  # 'no' sounding somewhat like background twice
        blip = (background_times >= start) & (background_times < start + 1200)
        noise[blip, 0], noise[blip, 3] = -128, level
    return prepare(ScoredStream(keywords, scores, times),
                   ScoredStream(Stream(np.zeros(36 * 16000, np.int16), (), 16000), noise, background_times))


def test_detection_rates_and_the_budgeted_threshold():
    """Hits and false accepts move with the threshold; the budget picks the lowest threshold that fits it."""
    data = synthetic_streams()
    assert data.background_hours == pytest.approx(0.01)
    loose = keyword_rates(data, at_threshold(data, 150), LABELS)
    assert loose["yes"]["false_reject_rate"] == 0.0 and loose["no"]["false_reject_rate"] == 0.0
    assert loose["no"]["false_accepts"] == 2 and loose["no"]["false_accepts_per_hour"] == pytest.approx(200)
    strict = keyword_rates(data, at_threshold(data, 230), LABELS)
    assert strict["yes"]["false_reject_rate"] == 0.0 and strict["no"]["false_reject_rate"] == 1.0
    points = sweep(data, LABELS)
    chosen = choose_threshold(points, 0.5)
    assert all(row["false_accepts"] == 0 for row in points[chosen].values())
    below = max(t for t in points if t < chosen)
    assert sum(row["false_accepts"] for row in points[below].values()) > 0
    assert choose_threshold(points, 150.0) < chosen  # one false accept per hour of budget is 100/h here


def test_fairness_averages_per_speaker_and_flags_a_large_gap():
    """A speaker with many clips counts once; the gap between groups is flagged; intervals hold the value."""
    def row(path: str, speaker: str, gender: str) -> dict:
        return {"path": path, "speaker_id": speaker, "gender": gender, "age": "", "accent": ""}

    rows = ([row(f"yes/a_{i}.wav", "a", "female_feminine") for i in range(10)]
            + [row("yes/b_0.wav", "b", "female_feminine")]
            + [row(f"yes/{s}_0.wav", s, "male_masculine") for s in "cde"])
    accuracy = [(f"yes/a_{i}.wav", 1.0) for i in range(10)] + [("yes/b_0.wav", 0.0)]
    accuracy += [("yes/c_0.wav", 1.0), ("yes/d_0.wav", 1.0), ("yes/e_0.wav", 1.0)]
    missed = [(path, 1.0 - value) for path, value in accuracy]
    report = fairness_report(rows, accuracy, missed, seed=3)
    gender = report["gender"]
    female, male = gender["groups"]["female_feminine"], gender["groups"]["male_masculine"]
    assert female["speakers"] == 2 and female["accuracy"] == 0.5  # not 10/11: speakers are averaged
    assert male["accuracy"] == 1.0 and male["false_reject_rate"] == 0.0
    assert gender["accuracy_gap"] == 0.5 and gender["accuracy_ratio"] == 0.5
    assert gender["flagged"] == ["accuracy", "false_reject_rate"]
    low, high = female["accuracy_ci"]
    assert low <= 0.5 <= high and (low, high) != (0.5, 0.5)
    assert list(report["age"]["groups"]) == [NOT_GIVEN] and report["age"]["accuracy_gap"] is None
    assert report["age"]["flagged"] == []


def test_speaker_folds_are_disjoint_and_balanced():
    speakers = [f"{n:08x}" for n in range(9) for _ in range(1 + n % 3)]
    folds = speaker_folds(speakers, 3, seed=1)
    assert set(folds) == set(speakers) and set(folds.values()) == {0, 1, 2}
    sizes = [sum(folds[s] == fold for s in speakers) for fold in range(3)]
    assert max(sizes) - min(sizes) <= 1
    from training.crossval import CrossValidationError

    with pytest.raises(CrossValidationError, match="at least 4 speakers"):
        speaker_folds(["aaaaaaaa", "bbbbbbbb", "cccccccc"], 4, seed=0)


def test_predictions_file_rows_add_up_to_one():
    rows = [{"sha256": "ab" * 32, "keyword": "yes"}, {"sha256": "cd" * 32, "keyword": "go"}]
    text = predictions_tsv(rows, np.array([[0.1, 0.2, 0.3333333, 0.3666667], [0.7, 0.1, 0.1, 0.1]]), LABELS)
    table = list(csv.reader(text.splitlines(), delimiter="\t"))
    assert table[0] == ["sha256", "label", *LABELS]
    assert [row[1] for row in table[1:]] == ["yes", "_unknown_"]  # other words are trained as _unknown_
    assert all(abs(sum(map(float, row[2:])) - 1) <= 0.001 for row in table[1:])


def test_recorded_operating_point_falls_back_to_the_defaults():
    assert recorded_recognition({}) == DEFAULT_RECOGNITION
    assert recorded_recognition({"operating_point": {"recognition": {"detection_threshold": 170}}}) == \
        Recognition(detection_threshold=170)
    assert recorded_recognition({"operating_point": {"recognition": {"detection_threshold": "x"}}}) == \
        DEFAULT_RECOGNITION


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path, Path]:
    """A model trained on yes/no/stop with 'go' as an auxiliary word, cross-validated with K=2."""
    root = tmp_path_factory.mktemp("evaluation")
    release = write_release(root / "release", keywords=("yes", "no", "stop", "go"), takes=1,
                            per_split={"training": 8, "validation": 3, "testing": 4})
    predictions = root / "predictions.tsv"
    result = CliRunner().invoke(main, ["train", str(release), "--out", str(root / "model"), "--epochs", "3",
                                       "--model", "tiny_conv", "--keywords", "yes,no,stop",
                                       "--cross-validate", "2",
                                       "--predictions", str(predictions)])
    assert result.exit_code == 0, result.output
    return release, root / "model", predictions


@pytest.mark.slow
def test_training_records_the_operating_point_detection_and_fairness(trained):
    release, model, _ = trained
    for name in PLOT_FILES:
        assert (model / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = read_model_dir(model).metrics
    point = metrics["operating_point"]
    assert point["chosen_on"] == "validation" and point["inference_interval_ms"] == 20
    assert point["false_accept_budget_per_hour"] == 0.5 and point["non_keyword_seconds"] >= 30
    threshold = point["recognition"]["detection_threshold"]
    assert 0 <= threshold <= 254 and point["within_budget"]
    detection = metrics["detection"]
    assert detection["split"] == "testing" and detection["recognition"] == point["recognition"]
    assert {row["occurrences"] for row in detection["at_operating_point"].values()} == {4}
    assert len(detection["curves"]["yes"]) > 50
    assert metrics["confusion_matrix"]["labels"] == ["_silence_", "_unknown_", "yes", "no", "stop"]
    assert sum(map(sum, metrics["confusion_matrix"]["matrix"])) == metrics["evaluation_examples"]
    gender = metrics["fairness"]["by"]["gender"]["groups"]
    assert set(gender) == {"female_feminine", "male_masculine"}
    assert sum(row["speakers"] for row in gender.values()) == 4
    assert metrics["cost"]["macs"] == 25 * 20 * 8 * 10 * 8 + 4000 * 5  # conv 25×20×8 outputs × 10×8, dense
    assert metrics["cost"]["cycles_per_mac"] > 0 and metrics["cost"]["estimated_latency_ms"] > 0
    card = (model / "model_card.md").read_text()
    for heading in ("## Intended use", "## Operating point and detection", "## Fairness", "### By gender",
                    "## Data licences and attribution", "## Limits"):
        assert heading in card
    assert f"**{threshold} of 255**" in card and "multiply-accumulates" in card


@pytest.mark.slow
def test_firmware_ships_the_operating_point(trained, tmp_path):
    _, model, _ = trained
    threshold = json.loads((model / "metrics.json").read_text())["operating_point"]["recognition"]
    out = tmp_path / "fw"
    result = CliRunner().invoke(main, ["firmware", str(model), "--target", "host", "--out", str(out)])
    assert result.exit_code == 0, result.output
    header = (tmp_path / "fw" / "model_settings.h").read_text()
    assert f"constexpr int kDetectionThreshold = {threshold['detection_threshold']};" in header


@pytest.mark.slow
def test_cross_validation_scores_every_clip_out_of_fold(trained):
    release, model, predictions = trained
    text = (model / OOF_PREDICTIONS_FILE).read_text()
    assert predictions.read_text() == text
    table = list(csv.DictReader(text.splitlines(), delimiter="\t"))
    clips = list(csv.DictReader((release / "clips.tsv").read_text().splitlines(), delimiter="\t"))
    assert sorted(row["sha256"] for row in table) == sorted(row["sha256"] for row in clips)
    expected = {row["sha256"]: row["keyword"] if row["keyword"] != "go" else "_unknown_" for row in clips}
    assert all(row["label"] == expected[row["sha256"]] for row in table)
    assert list(table[0])[2:] == ["_silence_", "_unknown_", "yes", "no", "stop"]
    for row in table:
        values = [float(row[label]) for label in list(row)[2:]]
        assert all(0 <= v <= 1 for v in values) and abs(sum(values) - 1) <= 0.001


@pytest.mark.slow
def test_evaluate_reports_detection_at_the_recorded_operating_point(trained):
    release, model, _ = trained
    result = CliRunner().invoke(main, ["evaluate", str(model), str(release)])
    assert result.exit_code == 0, result.output
    scored = json.loads(result.stdout)
    recorded = json.loads((model / "metrics.json").read_text())
    assert scored["detection"]["recognition"] == recorded["operating_point"]["recognition"]
    assert scored["detection"]["at_operating_point"] == recorded["detection"]["at_operating_point"]
    assert "operating_point" not in scored  # evaluate uses the model's, it does not choose another
    assert scored["sizes"] == recorded["sizes"] and scored["cost"] == recorded["cost"]
    assert set(scored["agreement"]) == {"float_int8_tflite", "float_tflm", "int8_tflite_tflm"}


def test_cross_validate_mistakes_fail_before_training(tmp_path):
    release = write_release(tmp_path / "release", keywords=("yes",), takes=1,
                            per_split={"training": 2, "validation": 0, "testing": 0})
    out = tmp_path / "model"
    result = CliRunner().invoke(main, ["train", str(release), "--out", str(out), "--cross-validate", "3"])
    assert result.exit_code == 1 and "at least 3 speakers" in result.output and not out.exists()
    result = CliRunner().invoke(main, ["train", str(release), "--out", str(out), "--predictions", "p.tsv"])
    assert result.exit_code == 2 and "--predictions needs --cross-validate" in result.output


def test_model_card_sections_flag_gaps_and_a_missed_budget():
    """The card says when no threshold met the budget and flags a large fairness gap, from metrics alone."""
    from training.model_card_views import detection_section, fairness_section

    rates = {"yes": {"occurrences": 4, "false_reject_rate": 0.25, "false_accepts": 1,
                     "false_accepts_per_hour": 36.0}}
    metrics = {
        "operating_point": {"recognition": Recognition(detection_threshold=254).as_dict(),
                            "inference_interval_ms": 20, "false_accept_budget_per_hour": 0.5,
                            "chosen_on": "validation", "non_keyword_seconds": 100.0,
                            "false_accepts_per_hour_resolution": 36.0, "within_budget": False,
                            "at_chosen_threshold": rates},
        "detection": {"split": "testing", "keyword_seconds": 9.0, "non_keyword_seconds": 100.0,
                      "at_operating_point": rates},
        "fairness": {"split": "testing", "detection_threshold": 254, "large_gap": 0.1,
                     "by": fairness_report(
                         [{"path": "a.wav", "speaker_id": "a", "gender": "male_masculine"},
                          {"path": "b.wav", "speaker_id": "b", "gender": "female_feminine"}],
                         [("a.wav", 1.0), ("b.wav", 0.5)], [("a.wav", 0.0), ("b.wav", 0.0)])},
    }
    detection = detection_section(metrics)
    assert "**254 of 255**" in detection and "no threshold met the budget" in detection
    assert "| `yes` | 4 | 25.0 % | 1 | 36.00 |" in detection
    fairness = fairness_section(metrics)
    assert "**Flagged:** the accuracy gap between gender groups is large" in fairness
    assert "false-reject-rate gap between gender" not in fairness
    assert "| male_masculine | 1 | 100.0 % [100.0 % – 100.0 %] | 0.0 % [0.0 % – 0.0 %] |" in fairness
    assert "No operating point was chosen" in detection_section({})


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("g++") is None, reason="g++ is not installed")
def test_firmware_recognizer_agrees_on_the_model_stream(trained, tmp_path):
    """The trained model's scores over the testing keyword stream: the generated firmware's recognizer.cpp,
    with the model's model_settings.h (and lower thresholds), reports what training.recognizer reports."""
    from training.dataset import read_release
    from training.recognizer import recognize
    from training.streaming import split_streams

    release, model, _ = trained
    sketch = tmp_path / "sketch"
    result = CliRunner().invoke(main, ["firmware", str(model), "--target", "arduino", "--out", str(sketch)])
    assert result.exit_code == 0, result.output
    model_dir = read_model_dir(model)
    keywords, _ = split_streams(model_dir.int8_tflite(), read_release(release), list(model_dir.labels),
                                "testing", model_dir.feature_params, 20)
    lines = "".join(f"{t} {' '.join(map(str, row))}\n"
                    for t, row in zip(keywords.times_ms, keywords.scores, strict=True))
    (sketch / "main.cc").write_text(READ_SCORES)
    header = (sketch / "model_settings.h").read_text()
    chosen = recorded_recognition(model_dir.metrics)
    assert f"kDetectionThreshold = {chosen.detection_threshold};" in header
    found = 0
    for threshold in (chosen.detection_threshold, 120, 60):
        (sketch / "model_settings.h").write_text(
            header.replace(f"kDetectionThreshold = {chosen.detection_threshold};",
                           f"kDetectionThreshold = {threshold};"))
        build = ["g++", "-std=c++17", "-Wall", "-Werror", "recognizer.cpp", "main.cc", "-o", "recognize"]
        subprocess.run(build, cwd=sketch, check=True, capture_output=True, timeout=120)
        output = subprocess.run([str(sketch / "recognize")], input=lines, check=True, capture_output=True,
                                text=True, timeout=60).stdout
        from_cpp = [Detection(*map(int, line.split())) for line in output.splitlines()]
        settings = Recognition(**{**chosen.as_dict(), "detection_threshold": threshold})
        assert from_cpp == recognize(keywords.scores, keywords.times_ms, settings), threshold
        found += len(from_cpp)
    assert found >= 3  # the lower thresholds make the comparison non-trivial
