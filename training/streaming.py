"""Long recordings made from a split's clips, scored by the int8 model the way the firmware runs it."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from training.dataset import ReleaseDir, load_clip, silence_clips
from training.features import FeatureParams, micro_features, quantize_features
from training.native_output import captured_output

GAP_MS = 1000  # background between two spoken words of the keyword stream
BACKGROUND_CHUNKS_MIN = 30  # at least this many seconds of background noise in the non-keyword stream
STREAM_SCORED_BY = "TFLite int8, optimised kernels"


@dataclass(frozen=True)
class Occurrence:
    """A keyword spoken in a stream: where (ms), which class, and the release clip it came from."""

    start_ms: int
    end_ms: int
    category: int
    path: str


@dataclass(frozen=True)
class Stream:
    """A long int16 recording and the keywords spoken in it."""

    samples: np.ndarray
    occurrences: tuple[Occurrence, ...]
    sample_rate_hz: int

    @property
    def seconds(self) -> float:
        """Length of the recording in seconds."""
        return len(self.samples) / self.sample_rate_hz


@dataclass(frozen=True)
class ScoredStream:
    """The int8 scores of the model at every inference over a stream, and the inference times (ms)."""

    stream: Stream
    scores: np.ndarray
    times_ms: np.ndarray


def keyword_stream(release: ReleaseDir, labels: list[str], split: str, rng: np.random.Generator,
                   params: FeatureParams) -> Stream:
    """The split's keyword clips one after another, each followed by a second of background noise."""
    index = {label: i for i, label in enumerate(labels)}
    clips = [clip for clip in release.clips if clip.split == split and clip.word in index]
    clips = [clips[i] for i in rng.permutation(len(clips))]
    gap = int(params.sample_rate_hz * GAP_MS / 1000)
    gaps = [clip[:gap] for clip in silence_clips(release.noise_files, len(clips) + 1, rng, params)]
    pieces, occurrences, position = [gaps[0]], [], len(gaps[0])
    for clip, after in zip(clips, gaps[1:], strict=True):
        samples = load_clip(release.root / clip.path, params)
        start_ms = position * 1000 // params.sample_rate_hz
        occurrences.append(Occurrence(start_ms, start_ms + params.clip_ms, index[clip.word], clip.path))
        pieces.extend([samples, after])
        position += len(samples) + len(after)
    return Stream(np.concatenate(pieces), tuple(occurrences), params.sample_rate_hz)


def background_stream(release: ReleaseDir, labels: list[str], split: str, rng: np.random.Generator,
                      params: FeatureParams) -> Stream:
    """Non-keyword audio: the split's other (auxiliary) words and crops of background noise, shuffled."""
    others = [clip for clip in release.clips if clip.split == split and clip.word not in labels]
    pieces = [load_clip(release.root / clip.path, params) for clip in others]
    pieces += silence_clips(release.noise_files, max(len(others), BACKGROUND_CHUNKS_MIN), rng, params)
    order = rng.permutation(len(pieces))
    return Stream(np.concatenate([pieces[i] for i in order]), (), params.sample_rate_hz)


def inference_times(frames: int, params: FeatureParams, interval_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """Last frame of each inference's window and the time (ms) its audio ends; one inference per interval."""
    step = max(1, interval_ms // params.stride_ms)
    last = np.arange(params.frames - 1, frames, step)
    return last, last * params.stride_ms + params.window_ms


def score_stream(int8_tflite: bytes, stream: Stream, params: FeatureParams, interval_ms: int) -> ScoredStream:
    """Run the int8 model on the last second of features every interval_ms, as the firmware does."""
    features = quantize_features(micro_features(stream.samples, params))
    last, times = inference_times(len(features), params, interval_ms)
    run = fast_interpreter(int8_tflite)
    scores = np.zeros((len(last), run.get_output_details()[0]["shape"][-1]), dtype=np.int8)
    for i, end in enumerate(last):
        window = features[np.newaxis, end - params.frames + 1:end + 1]
        run.set_tensor(run.get_input_details()[0]["index"], window)
        run.invoke()
        scores[i] = run.get_tensor(run.get_output_details()[0]["index"])[0]
    return ScoredStream(stream, scores, times)


def fast_interpreter(int8_tflite: bytes):
    """TFLite with its optimised kernels: some 30 times faster than the reference kernels on long streams,
    and within a few int8 steps of them and of TFLM (the accuracy figures use those two)."""
    import tensorflow as tf

    with warnings.catch_warnings(), captured_output():
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated", category=UserWarning)
        interpreter = tf.lite.Interpreter(model_content=int8_tflite)
        interpreter.allocate_tensors()
    return interpreter


def split_streams(int8_tflite: bytes, release: ReleaseDir, labels: list[str], split: str,
                  params: FeatureParams, interval_ms: int,
                  seed: int = 0) -> tuple[ScoredStream, ScoredStream]:
    """Scored keyword and non-keyword streams of one split (the same seed gives the same recordings)."""
    rng = np.random.default_rng(seed)
    keywords = keyword_stream(release, labels, split, rng, params)
    background = background_stream(release, labels, split, rng, params)
    return (score_stream(int8_tflite, keywords, params, interval_ms),
            score_stream(int8_tflite, background, params, interval_ms))
