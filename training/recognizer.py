"""The firmware's post-processing in Python: micro_speech's RecognizeCommands, as recognizer.cpp runs it."""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass

import numpy as np

SILENCE_INDEX = 0  # labels.txt starts with _silence_, _unknown_ (training.dataset)
UNKNOWN_INDEX = 1
MAX_RESULTS = 64  # recognizer.h's kMaxResults: the queue keeps at most this many inferences
SCORE_OFFSET = 128  # int8 score + 128 = the 0-255 score the threshold is compared with


@dataclass(frozen=True)
class Recognition:
    """RecognizeCommands settings: micro_speech's defaults until an operating point is chosen."""

    detection_threshold: int = 200  # of 255: the averaged int8 score + 128 must be above it
    suppression_ms: int = 1500
    average_window_ms: int = 1000
    minimum_count: int = 3

    def as_dict(self) -> dict:
        """The settings as a JSON object (the operating point's `recognition` field)."""
        return asdict(self)


DEFAULT_RECOGNITION = Recognition()


@dataclass(frozen=True)
class Detection:
    """A keyword the recognizer newly reports: when, which class and its averaged 0-255 score."""

    time_ms: int
    category: int
    score: int


class Recognizer:
    """A streaming recognizer, step for step the C++ Recognizer::Process of the generated firmware."""

    def __init__(self, settings: Recognition = DEFAULT_RECOGNITION) -> None:
        self.settings = settings
        self.results: deque[tuple[int, np.ndarray]] = deque()
        self.previous_top: int | None = None
        self.previous_top_ms = 0

    def process(self, scores: np.ndarray, now_ms: int) -> Detection | None:
        """Add one inference's int8 scores made at now_ms (non-decreasing); return a new detection or None."""
        window = self.settings.average_window_ms
        while self.results and (self.results[0][0] < now_ms - window or len(self.results) == MAX_RESULTS):
            self.results.popleft()
        self.results.append((now_ms, np.asarray(scores, dtype=np.int32) + SCORE_OFFSET))
        span_ms = now_ms - self.results[0][0]
        if len(self.results) < self.settings.minimum_count or span_ms < window // 4:
            return None
        averages = sum(values for _, values in self.results) // len(self.results)
        top = int(np.argmax(averages))  # the first of equal averages, as the C++ loop's strict '>'
        return self._decide(now_ms, top, int(averages[top]))

    def _decide(self, now_ms: int, top: int, top_score: int) -> Detection | None:
        if top_score <= self.settings.detection_threshold:
            return None
        if top == self.previous_top and now_ms - self.previous_top_ms <= self.settings.suppression_ms:
            return None
        self.previous_top, self.previous_top_ms = top, now_ms
        if top in (SILENCE_INDEX, UNKNOWN_INDEX):
            return None
        return Detection(now_ms, top, top_score)


@dataclass(frozen=True)
class Averages:
    """Per inference: whether the window's average is usable, its top class and that class's 0-255 score."""

    times_ms: np.ndarray
    valid: np.ndarray
    top: np.ndarray
    top_score: np.ndarray


def window_averages(scores: np.ndarray, times_ms: np.ndarray,
                    settings: Recognition = DEFAULT_RECOGNITION) -> Averages:
    """The averages Recognizer.process computes at every step, for a whole score sequence at once."""
    scores = np.asarray(scores, dtype=np.int64) + SCORE_OFFSET
    times = np.asarray(times_ms, dtype=np.int64)
    steps = np.arange(len(times))
    window = settings.average_window_ms
    first = np.maximum(np.searchsorted(times, times - window, side="left"), steps - (MAX_RESULTS - 1))
    sums = np.vstack([np.zeros((1, scores.shape[1]), np.int64), np.cumsum(scores, axis=0)])
    counts = steps + 1 - first
    averages = (sums[steps + 1] - sums[first]) // counts[:, None]
    valid = (counts >= settings.minimum_count) & (times - times[first] >= window // 4)
    top = np.argmax(averages, axis=1)
    return Averages(times, valid, top, averages[steps, top])


def detections(averages: Averages, settings: Recognition = DEFAULT_RECOGNITION) -> list[Detection]:
    """Threshold and suppress precomputed averages: the detections Recognizer would report, in order."""
    found, previous_top, previous_ms = [], None, 0
    over = np.flatnonzero(averages.valid & (averages.top_score > settings.detection_threshold))
    for step in over:
        now, top = int(averages.times_ms[step]), int(averages.top[step])
        if top == previous_top and now - previous_ms <= settings.suppression_ms:
            continue
        previous_top, previous_ms = top, now
        if top not in (SILENCE_INDEX, UNKNOWN_INDEX):
            found.append(Detection(now, top, int(averages.top_score[step])))
    return found


def recognize(scores: np.ndarray, times_ms: np.ndarray,
              settings: Recognition = DEFAULT_RECOGNITION) -> list[Detection]:
    """All detections of a score sequence (int8 scores, one row per inference at times_ms)."""
    return detections(window_averages(scores, times_ms, settings), settings)
