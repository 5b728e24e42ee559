"""The model directory (DESIGN §8): the one reader and writer of its files; no TensorFlow here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from training.features import FeatureParams, FeatureParamsError

MODEL_DIR_FORMAT_VERSION = 1
MODEL_FILES = ("model.keras", "float.tflite", "int8.tflite", "labels.txt", "feature_params.json",
               "metrics.json", "model_card.md")
# the file that makes a directory recognisably a model directory (`train --force` replaces only those)
MARKER_FILE = "feature_params.json"
LICENCE_HEADING = "## Data licences and attribution"


class ModelDirError(ValueError):
    """The model directory is missing, incomplete or inconsistent."""


@dataclass(frozen=True)
class ModelDir:
    """A model directory as read from disk."""

    root: Path
    labels: tuple[str, ...]
    feature_params: FeatureParams
    metrics: dict
    model_card: str

    def int8_tflite(self) -> bytes:
        """The full-integer model the firmware runs."""
        return (self.root / "int8.tflite").read_bytes()

    def licence_section(self) -> str:
        """The model card's data licence and attribution section, heading included."""
        return licence_section(self.model_card)


def licence_section(model_card: str) -> str:
    """Cut the data licence section out of a model card (up to the next second-level heading)."""
    start = model_card.find(LICENCE_HEADING)
    if start < 0:
        raise ModelDirError("model_card.md has no data licence section")
    end = model_card.find("\n## ", start + len(LICENCE_HEADING))
    return model_card[start:end if end >= 0 else None].strip() + "\n"


def read_model_dir(root: Path | str) -> ModelDir:
    """Read and check a model directory written by `wordcrowd train`."""
    root = Path(root)
    if not root.is_dir():
        raise ModelDirError(f"{root} is not a directory")
    missing = [name for name in MODEL_FILES if not (root / name).is_file()]
    if missing:
        raise ModelDirError(f"{root} is not a model directory: {', '.join(missing)} missing")
    lines = (root / "labels.txt").read_text("utf-8").splitlines()
    labels = tuple(line.strip() for line in lines if line.strip())
    if len(labels) < 3 or labels[:2] != ("_silence_", "_unknown_"):
        raise ModelDirError("labels.txt must list _silence_, _unknown_ and at least one keyword")
    try:
        params = FeatureParams.from_json((root / "feature_params.json").read_text("utf-8"))
        metrics = json.loads((root / "metrics.json").read_text("utf-8"))
    except (FeatureParamsError, json.JSONDecodeError) as error:
        raise ModelDirError(f"{root}: {error}") from None
    if not isinstance(metrics, dict):
        raise ModelDirError(f"{root / 'metrics.json'} must hold a JSON object")
    return ModelDir(root, labels, params, metrics, (root / "model_card.md").read_text("utf-8"))


def write_model_files(root: Path, labels: list[str], params: FeatureParams, metrics: dict, card: str) -> None:
    """Write the text files of a model directory (the model files are written by whoever made them)."""
    (root / "labels.txt").write_text("".join(f"{label}\n" for label in labels), "utf-8")
    (root / "feature_params.json").write_text(params.to_json(), "utf-8")
    document = {"format_version": MODEL_DIR_FORMAT_VERSION, **metrics}
    (root / "metrics.json").write_text(json.dumps(document, indent=2) + "\n", "utf-8")
    (root / "model_card.md").write_text(card, "utf-8")
