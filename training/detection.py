"""Detection view: false rejects versus false accepts per hour per keyword, and the chosen operating point."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from training.recognizer import DEFAULT_RECOGNITION, Averages, Recognition, detections, window_averages
from training.streaming import ScoredStream

# Edge Impulse's performance calibration picks the post-processing that keeps false accepts under a
# budget; at most one false accept every two hours of non-keyword audio is the default here.
DEFAULT_FALSE_ACCEPT_BUDGET_PER_HOUR = 0.5
# thresholds swept (of 255, the averaged int8 score + 128); 255 can never be exceeded
THRESHOLDS = tuple(sorted({*range(0, 255, 5), DEFAULT_RECOGNITION.detection_threshold, 254}))


@dataclass(frozen=True)
class DetectionResult:
    """At one threshold: which keyword occurrences were recognised, and false accepts per keyword."""

    threshold: int
    hits: np.ndarray  # one bool per occurrence of the keyword stream
    false_accepts: dict[int, int]  # category -> detections in the non-keyword stream


@dataclass(frozen=True)
class DetectionData:
    """A split's scored streams reduced to window averages, ready for any threshold."""

    keywords: ScoredStream
    background: ScoredStream
    keyword_averages: Averages
    background_averages: Averages
    settings: Recognition

    @property
    def background_hours(self) -> float:
        """Hours of non-keyword audio the false accepts are counted on."""
        return self.background.stream.seconds / 3600


def prepare(keywords: ScoredStream, background: ScoredStream,
            settings: Recognition = DEFAULT_RECOGNITION) -> DetectionData:
    """Average both streams' scores once; thresholds only change what follows the averaging."""
    return DetectionData(keywords, background, _averages(keywords, settings), _averages(background, settings),
                         settings)


def _averages(scored: ScoredStream, settings: Recognition) -> Averages:
    if len(scored.scores) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Averages(empty, empty.astype(bool), empty, empty)
    return window_averages(scored.scores, scored.times_ms, settings)


def at_threshold(data: DetectionData, threshold: int) -> DetectionResult:
    """Run thresholding and suppression at one threshold over both streams."""
    settings = replace(data.settings, detection_threshold=threshold)
    found = detections(data.keyword_averages, settings)
    occurrences = data.keywords.stream.occurrences
    hits = np.zeros(len(occurrences), dtype=bool)
    by_category: dict[int, list[int]] = {}
    for detection in found:
        by_category.setdefault(detection.category, []).append(detection.time_ms)
    for i, occurrence in enumerate(occurrences):
        times = np.asarray(by_category.get(occurrence.category, []))
        # recognised while the word is heard or within one averaging window after it ends
        hits[i] = np.any((times >= occurrence.start_ms)
                         & (times <= occurrence.end_ms + settings.average_window_ms))
    false_accepts: dict[int, int] = {}
    for detection in detections(data.background_averages, settings):
        false_accepts[detection.category] = false_accepts.get(detection.category, 0) + 1
    return DetectionResult(threshold, hits, false_accepts)


def keyword_rates(data: DetectionData, result: DetectionResult, labels: list[str]) -> dict:
    """Per keyword: occurrences, false-reject rate and false accepts per hour of non-keyword audio."""
    categories = np.array([occurrence.category for occurrence in data.keywords.stream.occurrences])
    rates = {}
    for category, label in enumerate(labels[2:], start=2):
        spoken = categories == category
        count = int(spoken.sum())
        accepts = result.false_accepts.get(category, 0)
        rates[label] = {
            "occurrences": count,
            "false_reject_rate": float(1 - result.hits[spoken].mean()) if count else None,
            "false_accepts": accepts,
            "false_accepts_per_hour": accepts / data.background_hours if data.background_hours else None,
        }
    return rates


def sweep(data: DetectionData, labels: list[str]) -> dict[int, dict]:
    """Per-keyword rates at every swept threshold (the DET curve's points)."""
    return {threshold: keyword_rates(data, at_threshold(data, threshold), labels) for threshold in THRESHOLDS}


def total_false_accepts_per_hour(rates: dict) -> float:
    """False accepts per hour of all keywords together (what a listener experiences)."""
    return sum(row["false_accepts_per_hour"] or 0.0 for row in rates.values())


def choose_threshold(points: dict[int, dict], budget_per_hour: float) -> int:
    """The lowest threshold (fewest false rejects) whose false accepts of all keywords fit the budget."""
    for threshold in sorted(points):
        if total_false_accepts_per_hour(points[threshold]) <= budget_per_hour:
            return threshold
    return max(points)
