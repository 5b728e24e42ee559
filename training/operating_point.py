"""The operating point: recognizer settings chosen on validation streams for a false-accept budget."""

from __future__ import annotations

from dataclasses import fields, replace

from training.dataset import ReleaseDir
from training.detection import (
    DEFAULT_FALSE_ACCEPT_BUDGET_PER_HOUR,
    DetectionData,
    choose_threshold,
    prepare,
    sweep,
    total_false_accepts_per_hour,
)
from training.features import FeatureParams
from training.recognizer import DEFAULT_RECOGNITION, Recognition
from training.streaming import STREAM_SCORED_BY, split_streams

OPERATING_POINT_KEY = "operating_point"  # the section of metrics.json the firmware reads


def has_keyword_clips(release: ReleaseDir, labels: list[str], split: str) -> bool:
    """Whether a split holds any clip of the model's keywords."""
    return any(clip.split == split and clip.word in labels[2:] for clip in release.clips)


def detection_data(int8_tflite: bytes, release: ReleaseDir, labels: list[str], split: str,
                   params: FeatureParams, interval_ms: int, seed: int = 0,
                   settings: Recognition = DEFAULT_RECOGNITION) -> DetectionData:
    """Streams of one split scored by the model, averaged with the recognizer's window settings."""
    return prepare(*split_streams(int8_tflite, release, labels, split, params, interval_ms, seed), settings)


def choose_operating_point(data: DetectionData, labels: list[str], split: str, interval_ms: int,
                           budget_per_hour: float = DEFAULT_FALSE_ACCEPT_BUDGET_PER_HOUR) -> dict:
    """Sweep the threshold on a split's streams; keep the lowest whose false accepts fit the budget."""
    points = sweep(data, labels)
    threshold = choose_threshold(points, budget_per_hour)
    hours = data.background_hours
    return {
        "recognition": replace(data.settings, detection_threshold=threshold).as_dict(),
        "inference_interval_ms": interval_ms,
        "false_accept_budget_per_hour": budget_per_hour,
        "chosen_on": split,
        "non_keyword_seconds": round(hours * 3600, 1),
        # with little non-keyword audio one false accept is already many per hour: the budget then means none
        "false_accepts_per_hour_resolution": round(1 / hours, 2) if hours else None,
        "within_budget": total_false_accepts_per_hour(points[threshold]) <= budget_per_hour,
        "at_chosen_threshold": points[threshold],
        "scored_by": STREAM_SCORED_BY,
    }


def recorded_recognition(metrics: dict) -> Recognition:
    """The recognizer settings of a model directory's operating point, or micro_speech's defaults."""
    section = metrics.get(OPERATING_POINT_KEY)
    values = section.get("recognition") if isinstance(section, dict) else None
    if not isinstance(values, dict):
        return DEFAULT_RECOGNITION
    known = {field.name: values[field.name] for field in fields(Recognition)
             if isinstance(values.get(field.name), int) and not isinstance(values.get(field.name), bool)}
    return replace(DEFAULT_RECOGNITION, **known)
