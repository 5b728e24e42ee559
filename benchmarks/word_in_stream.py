"""How a model scores test words in a stream: by what the frontend heard before the word, and by where the
word sits in the one-second window.

For each test keyword clip (placed after 3 s of the release's background noise, at a random volume, as the
keyword streams of the detection view are), the int8 model is run on a window ending at a given offset from
the clip's end, with features computed three ways: cold (the frontend started on the window alone, as TF
speech_commands computes clip features), warm (after the clip's own room tone: wordcrowd's clip features),
and streamed (the frontend run over the whole recording, as the firmware does). Prints accuracy and the
mean 0-255 score of the right class.

    python benchmarks/word_in_stream.py MODEL_DIR --crowd /tmp/crowd160 --clips 200
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OFFSETS_MS = (-300, -200, -100, 0, 100, 200, 300)
BEFORE_S = 3


def main() -> None:
    """Parse arguments, score the windows, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="A model directory (wordcrowd train --out).")
    parser.add_argument("--crowd", type=Path, required=True, help="The release the model was trained on.")
    parser.add_argument("--clips", type=int, default=200, help="Test keyword clips to place (default 200).")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows, clips = score(args.model, args.crowd, args.clips, args.seed)
    print(f"{args.model}: {clips} test keyword clips after {BEFORE_S} s of background noise")
    print("| word's offset in the window (ms) | cold | warm (room tone) | streamed |")
    print("|---|---|---|---|")
    for offset, (cold, warm, streamed) in rows.items():
        print(f"| {offset:+d} | " + " | ".join(f"{np.mean(a) * 100:.1f} % ({np.mean(s):.0f})"
                                               for a, s in (cold, warm, streamed)) + " |")


def score(model: Path, crowd: Path, limit: int, seed: int) -> tuple[dict, int]:
    """Per offset: (correct, right-class score) lists for cold, warm and streamed features; clips placed."""
    from curation.release_format import read_release
    from training.dataset import load_clip, silence_clips
    from training.features import clip_features, micro_features, quantize_features
    from training.model_dir import read_model_dir
    from training.streaming import fast_interpreter

    directory = read_model_dir(model)
    params, labels = directory.feature_params, directory.labels
    index = {label: i for i, label in enumerate(labels)}
    run = fast_interpreter(directory.int8_tflite())
    release = read_release(crowd)
    rng = np.random.default_rng(seed)
    clips = [clip for clip in release.clips if clip.split == "testing" and clip.word in index]
    clips = [clips[i] for i in rng.permutation(len(clips))[:limit]]
    frames = params.frames
    results: dict = {offset: (([], []), ([], []), ([], [])) for offset in OFFSETS_MS}

    def infer(features: np.ndarray, truth: int, out: tuple[list, list]) -> None:
        run.set_tensor(run.get_input_details()[0]["index"], quantize_features(features)[np.newaxis])
        run.invoke()
        scores = run.get_tensor(run.get_output_details()[0]["index"])[0].astype(int) + 128
        out[0].append(int(np.argmax(scores)) == truth)
        out[1].append(scores[truth])

    for clip in clips:
        before = np.concatenate(silence_clips(release.noise_files, BEFORE_S, rng, params))
        after = silence_clips(release.noise_files, 1, rng, params)[0]
        recording = np.concatenate([before, load_clip(release.root / clip.path, params), after])
        streamed = micro_features(recording, params)
        truth = index[clip.word]
        for offset in OFFSETS_MS:
            end = len(before) + params.clip_samples + offset * params.sample_rate_hz // 1000
            window = recording[end - params.clip_samples:end]
            last = (end - params.window_samples) // params.stride_samples  # the last frame ending by `end`
            cold, warm, stream = results[offset]
            infer(micro_features(window, params), truth, cold)
            infer(clip_features(window, params), truth, warm)
            infer(streamed[last - frames + 1:last + 1], truth, stream)
    return results, len(clips)


if __name__ == "__main__":
    main()
