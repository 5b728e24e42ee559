"""Cost of the detection view: scoring streams (three runtimes) and the recognizer (streaming and batch).

Usage: python benchmarks/evaluation.py MODEL_DIR RELEASE_DIR [--split testing]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def main() -> None:
    """Print seconds and rates per stage for one split of a release."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir")
    parser.add_argument("release_dir")
    parser.add_argument("--split", default="testing")
    args = parser.parse_args()

    from training.dataset import read_release
    from training.detection import prepare, sweep
    from training.features import micro_features, quantize_features
    from training.model_dir import read_model_dir
    from training.quantize import tflite_scores
    from training.recognizer import Recognizer, recognize
    from training.streaming import inference_times, score_stream, split_streams
    from training.tflm import tflm_scores

    model = read_model_dir(args.model_dir)
    release, labels, params = read_release(args.release_dir), list(model.labels), model.feature_params
    (keywords, background), seconds = _timed(split_streams, model.int8_tflite(), release, labels, args.split,
                                             params, params.stride_ms)
    audio = keywords.stream.seconds + background.stream.seconds
    inferences = len(keywords.scores) + len(background.scores)
    print(f"streams + features + scoring (optimised TFLite): {seconds:.2f} s for {audio:.0f} s of audio, "
          f"{inferences} inferences ({audio / seconds:.0f}× real time)")
    features, seconds = _timed(lambda: quantize_features(micro_features(keywords.stream.samples, params)))
    print(f"micro frontend alone: {seconds:.2f} s for {keywords.stream.seconds:.0f} s of audio")
    _, seconds = _timed(score_stream, model.int8_tflite(), keywords.stream, params, params.stride_ms)
    print(f"keyword stream, optimised TFLite: {len(keywords.scores) / seconds:.0f} inferences/s")
    last, _ = inference_times(len(features), params, params.stride_ms)
    windows = np.stack([features[end - params.frames + 1:end + 1] for end in last[:500]])
    for name, run in (("TFLite reference kernels", tflite_scores), ("TFLM interpreter", tflm_scores)):
        _, seconds = _timed(run, model.int8_tflite(), windows)
        print(f"{name}: {len(windows) / seconds:.0f} inferences/s")
    recognizer = Recognizer()
    _, seconds = _timed(lambda: [recognizer.process(row, int(t))
                                 for row, t in zip(keywords.scores, keywords.times_ms, strict=True)])
    print(f"Recognizer.process (streaming): {len(keywords.scores) / seconds:.0f} steps/s")
    _, seconds = _timed(recognize, keywords.scores, keywords.times_ms)
    print(f"recognize (batch): {len(keywords.scores) / seconds:.0f} steps/s")
    data = prepare(keywords, background)
    points, seconds = _timed(sweep, data, labels)
    print(f"threshold sweep: {len(points)} thresholds over {inferences} inferences in {seconds:.2f} s")


if __name__ == "__main__":
    main()
