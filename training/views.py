"""Evaluation beyond accuracy: detection on streams, the operating point, fairness, compute cost, plots."""

from __future__ import annotations

from training.cost import compute_cost
from training.dataset import ReleaseError, read_clips_tsv
from training.detection import (
    DEFAULT_FALSE_ACCEPT_BUDGET_PER_HOUR,
    DetectionData,
    at_threshold,
    keyword_rates,
    sweep,
)
from training.evaluate import ReleaseViews
from training.fairness import LARGE_GAP, fairness_report
from training.model_dir import CONFUSION_MATRIX_FILE, DET_CURVE_FILE
from training.operating_point import (
    OPERATING_POINT_KEY,
    choose_operating_point,
    detection_data,
    has_keyword_clips,
)
from training.plots import plot_confusion_matrix, plot_det_curves
from training.recognizer import Recognition
from training.streaming import STREAM_SCORED_BY


def release_views(int8_tflite: bytes, labels: list[str], split: str, clip_outcomes: list[tuple[str, float]],
                  metrics: dict, views: ReleaseViews) -> dict:
    """The metrics.json sections beyond accuracy; plots into views.plots_dir when given.

    clip_outcomes are (release path, 1.0 if the TFLM top-1 class was right) for the split's clips.
    """
    interval_ms = views.params.stride_ms  # the firmware runs the model after every new feature row
    section: dict = {}
    recognition = views.operating_point
    data = None
    if recognition is None:
        chosen_on = "validation" if has_keyword_clips(views.release, labels, "validation") else split
        data = detection_data(int8_tflite, views.release, labels, chosen_on, views.params, interval_ms,
                              views.seed)
        budget = views.budget_per_hour if views.budget_per_hour is not None else \
            DEFAULT_FALSE_ACCEPT_BUDGET_PER_HOUR
        section[OPERATING_POINT_KEY] = choose_operating_point(data, labels, chosen_on, interval_ms, budget)
        recognition = Recognition(**section[OPERATING_POINT_KEY]["recognition"])
        data = data if chosen_on == split else None
    if data is None:
        data = detection_data(int8_tflite, views.release, labels, split, views.params, interval_ms,
                              views.seed, recognition)
    section["detection"] = detection_section(data, labels, split, recognition, interval_ms)
    hits = at_threshold(data, recognition.detection_threshold).hits
    missed = [(occurrence.path, float(not hit))
              for occurrence, hit in zip(data.keywords.stream.occurrences, hits, strict=True)]
    section["fairness"] = fairness_section(views, split, clip_outcomes, missed, recognition)
    section["cost"] = compute_cost(int8_tflite)
    if views.plots_dir is not None:
        _plots(views, metrics, section["detection"], split)
    return section


def detection_section(data: DetectionData, labels: list[str], split: str, recognition: Recognition,
                      interval_ms: int) -> dict:
    """Per keyword: rates at the operating point and the DET curve [threshold, FRR, FA/h] over thresholds."""
    points = sweep(data, labels)
    curves = {label: [[threshold, rates[label]["false_reject_rate"], rates[label]["false_accepts_per_hour"]]
                      for threshold, rates in points.items()] for label in labels[2:]}
    return {
        "split": split,
        "keyword_seconds": round(data.keywords.stream.seconds, 1),
        "non_keyword_seconds": round(data.background.stream.seconds, 1),
        "inference_interval_ms": interval_ms,
        "scored_by": STREAM_SCORED_BY,
        "recognition": recognition.as_dict(),
        "at_operating_point": keyword_rates(data, at_threshold(data, recognition.detection_threshold),
                                            labels),
        "curves": curves,
    }


def fairness_section(views: ReleaseViews, split: str, accuracy: list[tuple[str, float]],
                     missed: list[tuple[str, float]], recognition: Recognition) -> dict:
    """Accuracy and false-reject rate per demographic group of the split's speakers (clips.tsv)."""
    try:
        rows = read_clips_tsv(views.release.root)
    except ReleaseError:
        rows = []
    return {"split": split, "detection_threshold": recognition.detection_threshold, "large_gap": LARGE_GAP,
            "per_speaker_averaging": True,
            "by": fairness_report(rows, accuracy, missed, views.seed)}


def _plots(views: ReleaseViews, metrics: dict, detection: dict, split: str) -> None:
    confusion = metrics["confusion_matrix"]
    plot_confusion_matrix(confusion["matrix"], confusion["labels"],
                          f"Confusion matrix, {split} split (TFLM int8)",
                          views.plots_dir / CONFUSION_MATRIX_FILE)
    chosen = {label: [rates["false_accepts_per_hour"], rates["false_reject_rate"]]
              for label, rates in detection["at_operating_point"].items()
              if rates["false_reject_rate"] is not None}
    threshold = detection["recognition"]["detection_threshold"]
    plot_det_curves(detection["curves"], chosen,
                    f"DET, {split} split streams (threshold {threshold} marked)",
                    views.plots_dir / DET_CURVE_FILE)

