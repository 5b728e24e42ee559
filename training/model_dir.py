"""The model directory (DESIGN §8): the one reader and writer of its files; no TensorFlow here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from curation.format_version import FORMAT_VERSION_KEY, check_format_version
from training.features import FEATURE_PARAMS_FILE, FeatureParams, FeatureParamsError

MODEL_DIR_FORMAT_VERSION = 1  # integer major version of the model directory, carried by metrics.json
READABLE_MODEL_DIR_VERSIONS = (1,)
LABELS_FILE = "labels.txt"
METRICS_FILE = "metrics.json"
MODEL_CARD_FILE = "model_card.md"
INT8_MODEL_FILE = "int8.tflite"
MODEL_FILES = ("model.keras", "float.tflite", INT8_MODEL_FILE, LABELS_FILE, FEATURE_PARAMS_FILE,
               METRICS_FILE, MODEL_CARD_FILE)
# written by `wordcrowd train` since the detection and fairness views; optional for readers (an addition)
CONFUSION_MATRIX_FILE = "confusion_matrix.png"
DET_CURVE_FILE = "det_curve.png"
PLOT_FILES = (CONFUSION_MATRIX_FILE, DET_CURVE_FILE)
OOF_PREDICTIONS_FILE = "oof_predictions.tsv"  # only with `train --cross-validate K`
# the file that makes a directory recognisably a model directory (`train --force` replaces only those)
MARKER_FILE = FEATURE_PARAMS_FILE
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
        return (self.root / INT8_MODEL_FILE).read_bytes()

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
    metrics = read_metrics(root / METRICS_FILE)
    lines = (root / LABELS_FILE).read_text("utf-8").splitlines()
    labels = tuple(line.strip() for line in lines if line.strip())
    if len(labels) < 3 or labels[:2] != ("_silence_", "_unknown_"):
        raise ModelDirError(f"{LABELS_FILE} must list _silence_, _unknown_ and at least one keyword")
    path = root / FEATURE_PARAMS_FILE
    try:
        params = FeatureParams.from_json(path.read_text("utf-8"), source=str(path))
    except FeatureParamsError as error:
        raise ModelDirError(str(error)) from None
    return ModelDir(root, labels, params, metrics, (root / MODEL_CARD_FILE).read_text("utf-8"))


def read_metrics(path: Path) -> dict:
    """Read metrics.json, the model directory's version carrier; refuse a version this code cannot read."""
    try:
        metrics = json.loads(path.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelDirError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(metrics, dict):
        raise ModelDirError(f"{path} must hold a JSON object")
    check_format_version(metrics, path, READABLE_MODEL_DIR_VERSIONS, ModelDirError)
    return metrics


def write_model_files(root: Path, labels: list[str], params: FeatureParams, metrics: dict, card: str) -> None:
    """Write the text files of a model directory (the model files are written by whoever made them)."""
    (root / LABELS_FILE).write_text("".join(f"{label}\n" for label in labels), "utf-8")
    (root / FEATURE_PARAMS_FILE).write_text(params.to_json(), "utf-8")
    document = {FORMAT_VERSION_KEY: MODEL_DIR_FORMAT_VERSION, **metrics}
    document[FORMAT_VERSION_KEY] = MODEL_DIR_FORMAT_VERSION
    (root / METRICS_FILE).write_text(json.dumps(document, indent=2) + "\n", "utf-8")
    (root / MODEL_CARD_FILE).write_text(card, "utf-8")
