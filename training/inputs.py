"""What `evaluate` reads, checked without TensorFlow, so a mistake is reported in a moment, not seconds."""

from __future__ import annotations

from pathlib import Path

from training.dataset import ReleaseDir, ReleaseError, choose_labels, read_release
from training.model_dir import ModelDir, read_model_dir


class EmptySplit(ReleaseError):
    """The chosen split of the release holds no clip of the model's keywords."""

    def __init__(self, split: str, keywords: list[str]) -> None:
        super().__init__(f"the release has no {split} clips for {', '.join(keywords)}")
        self.split = split


def evaluation_inputs(model_dir: Path | str, release_dir: Path | str,
                      split: str) -> tuple[ModelDir, ReleaseDir, list[str]]:
    """Read the model directory and the release; return them and the labels, or raise for an empty split."""
    model = read_model_dir(model_dir)
    release = read_release(release_dir)
    labels = choose_labels(release, model.labels[2:])
    if not any(clip.split == split and clip.word in labels for clip in release.clips):
        raise EmptySplit(split, labels[2:])
    return model, release, labels
