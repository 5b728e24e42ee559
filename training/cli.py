"""`wordcrowd train`: a thin command over training.fit; TensorFlow loads only when it runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from training.models import DEFAULT_EPOCHS, DEFAULT_MODEL, MODELS


def _quiet_tensorflow() -> None:
    """Keep TensorFlow's C++ start-up chatter off the terminal (set before TensorFlow is imported)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # oneDNN's start-up notice bypasses the log level; without its custom ops results are also repeatable
    # for a given --seed (they reorder float sums)
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def _keywords(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    words = tuple(word.strip() for word in value.split(",") if word.strip())
    if not words:
        raise click.BadParameter("give at least one keyword, e.g. --keywords yes,no")
    return words


@click.command()
@click.argument("release_dir", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Model directory to write (must not exist, or be empty).")
@click.option("--model", "model_name", default=DEFAULT_MODEL, show_default=True,
              help="Architecture: "
              + "; ".join(f"{name}: {spec.description}" for name, spec in MODELS.items()) + ".")
@click.option("--epochs", type=click.IntRange(min=1), default=DEFAULT_EPOCHS, show_default=True,
              help="Training epochs (at most: early stopping ends a run when validation stops improving).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for splits' extras and weights.")
@click.option("--keywords",
              help="Comma-separated keywords to recognise; the release's other words become _unknown_.")
@click.option("--force", is_flag=True, help="Replace an existing model directory.")
@click.option("--base", "base_dir", type=click.Path(path_type=Path),
              help="Model directory whose feature layers to reuse (frozen, then fine-tuned) under a new "
                   "head; its architecture replaces --model.")
def train(release_dir: Path, out_dir: Path, model_name: str, epochs: int, seed: int, keywords: str | None,
          force: bool, base_dir: Path | None) -> None:
    """Train a keyword model from RELEASE_DIR and write the model directory.

    Features are the TFLM micro frontend; the model is quantized to int8 and checked on the TFLM
    interpreter. The directory holds model.keras, float.tflite, int8.tflite, labels.txt,
    feature_params.json, metrics.json and model_card.md.
    """
    from training.dataset import ReleaseError, choose_labels, read_release

    try:  # fail fast on a wrong release, before TensorFlow loads
        choose_labels(read_release(release_dir), _keywords(keywords))
    except ReleaseError as error:
        raise click.ClickException(f"{error}.") from None
    _quiet_tensorflow()
    from training.fit import ModelDirExists, TrainConfig
    from training.fit import train as train_model
    from training.model_dir import ModelDirError
    from training.quantize import QuantizationError
    from training.tflm import TflmError

    if model_name not in MODELS:
        raise click.ClickException(f"unknown model {model_name!r}; known: {', '.join(MODELS)}")
    config = TrainConfig(model=model_name, epochs=epochs, seed=seed, keywords=_keywords(keywords),
                         base=base_dir)
    try:
        metrics = train_model(release_dir, out_dir, config, report=lambda line: click.echo(line, err=True),
                              force=force)
    except (ReleaseError, ModelDirExists, ModelDirError) as error:
        raise click.ClickException(f"{error}.") from None
    except (QuantizationError, TflmError) as error:
        raise click.ClickException(f"the model could not be exported: {error}") from None
    except OSError as error:
        raise click.ClickException(f"could not write {out_dir}: {error.strerror or error}.") from None
    accuracy = metrics["accuracy"]["tflm"]
    click.echo(f"{out_dir}: TFLM accuracy {accuracy:.3f} on {metrics['evaluation_examples']} "
               f"{metrics['evaluation_split']} examples, {metrics['sizes']['int8_tflite_bytes']:,} bytes, "
               f"arena {metrics['sizes']['arena_bytes']:,} bytes")


@click.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.argument("release_dir", type=click.Path(path_type=Path))
@click.option("--split", type=click.Choice(["testing", "validation", "training"]), default="testing",
              show_default=True, help="Which split of the release to score.")
def evaluate(model_dir: Path, release_dir: Path, split: str) -> None:
    """Score MODEL_DIR on a split of RELEASE_DIR: float, int8 TFLite and TFLM accuracy, as JSON.

    The release may be newer than the one the model was trained on; its speaker-disjoint splits stay
    stable as data grows, so the testing split still holds only unseen speakers.
    """
    _quiet_tensorflow()
    from training.dataset import ReleaseError
    from training.evaluate import evaluate_model_dir
    from training.model_dir import ModelDirError
    from training.tflm import TflmError

    try:
        metrics = evaluate_model_dir(model_dir, release_dir, split)
    except (ReleaseError, ModelDirError, TflmError) as error:
        raise click.ClickException(f"{error}.") from None
    click.echo(json.dumps(metrics, indent=2))
