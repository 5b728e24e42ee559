"""`wordcrowd train`: a thin command over training.fit; TensorFlow loads only when it runs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from training.architectures import ARCHITECTURES, DEFAULT_ARCHITECTURE, DEFAULT_EPOCHS
from training.detection import DEFAULT_FALSE_ACCEPT_BUDGET_PER_HOUR


def _quiet_tensorflow() -> None:
    """Import TensorFlow with its C++ start-up chatter kept off the terminal.

    The log level hides TensorFlow's own C++ lines; oneDNN's notice and absl's "before InitializeLog"
    warning are written to stderr before that level applies, so stderr is pointed at /dev/null while
    TensorFlow loads (Python errors are raised after it is restored). oneDNN's kernels stay on: on this
    machine they train the DS-CNNs about 1.5× faster and a seed still repeats exactly on the same CPU.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        click.echo(f"Warning: {warning}.", err=True)


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
@click.option("--model", "model_name", type=click.Choice(list(ARCHITECTURES)), default=DEFAULT_ARCHITECTURE,
              show_default=True,
              help="Architecture: "
              + "; ".join(f"{name}: {arch.description}" for name, arch in ARCHITECTURES.items()) + ".")
@click.option("--epochs", type=click.IntRange(min=1), default=DEFAULT_EPOCHS, show_default=True,
              help="Training epochs (at most: early stopping ends a run when validation stops improving).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for splits' extras and weights.")
@click.option("--keywords",
              help="Comma-separated keywords to recognise; the release's other words become _unknown_.")
@click.option("--force", is_flag=True,
              help="Replace an existing model directory (one holding feature_params.json); nothing else.")
@click.option("--base", "base_dir", type=click.Path(path_type=Path),
              help="Model directory whose feature layers to reuse (frozen, then fine-tuned) under a new "
                   "head; its architecture replaces --model.")
@click.option("--false-accept-budget", "budget", type=click.FloatRange(min=0),
              default=DEFAULT_FALSE_ACCEPT_BUDGET_PER_HOUR, show_default=True,
              help="False accepts per hour of non-keyword audio the operating point may allow (validation).")
@click.option("--cross-validate", "folds", type=click.IntRange(min=2),
              help="Also train K speaker-disjoint folds and write every clip's out-of-fold probabilities to "
                   "MODEL/oof_predictions.tsv (for `curate check`).")
@click.option("--predictions", type=click.Path(path_type=Path, dir_okay=False),
              help="With --cross-validate: also write the out-of-fold predictions file here.")
def train(release_dir: Path, out_dir: Path, model_name: str, epochs: int, seed: int, keywords: str | None,
          force: bool, base_dir: Path | None, budget: float, folds: int | None,
          predictions: Path | None) -> None:
    """Train a keyword model from RELEASE_DIR and write the model directory.

    Features are the TFLM micro frontend; the model is quantized to int8 and checked on the TFLM
    interpreter. The directory holds model.keras, float.tflite, int8.tflite, labels.txt,
    feature_params.json, metrics.json, model_card.md, confusion_matrix.png and det_curve.png.
    The recognizer's threshold is chosen on validation streams for at most 0.5 false accepts per hour
    and recorded in metrics.json (operating_point) for the firmware.
    """
    from training.dataset import ReleaseError, choose_labels, read_release
    from training.model_dir import ModelDirError, read_model_dir
    from training.output_dir import OutputDirError, check_model_out_dir

    try:  # fail fast on a wrong release, output or base directory, before TensorFlow loads
        choose_labels(read_release(release_dir), _keywords(keywords))
        check_model_out_dir(out_dir, force)
        if base_dir is not None:
            read_model_dir(base_dir)
    except (ReleaseError, OutputDirError, ModelDirError) as error:
        raise click.ClickException(f"{error}.") from None
    _check_predictions_path(predictions, folds)
    if folds:
        from training.crossval import CrossValidationError, check_folds

        try:
            check_folds(read_release(release_dir), folds)
        except (CrossValidationError, ReleaseError) as error:
            raise click.ClickException(f"--cross-validate: {error}.") from None
    _quiet_tensorflow()
    from training.fit import TrainConfig
    from training.fit import train as train_model
    from training.quantize import QuantizationError
    from training.tflm import TflmError

    config = TrainConfig(model=model_name, epochs=epochs, seed=seed, keywords=_keywords(keywords),
                         false_accept_budget_per_hour=budget, base=base_dir)
    try:
        metrics = train_model(release_dir, out_dir, config, report=lambda line: click.echo(line, err=True),
                              force=force)
    except (ReleaseError, OutputDirError, ModelDirError) as error:
        raise click.ClickException(f"{error}.") from None
    except (QuantizationError, TflmError) as error:
        raise click.ClickException(f"the model could not be exported: {error}") from None
    except OSError as error:
        raise click.ClickException(f"could not write {out_dir}: {error.strerror or error}.") from None
    _warn(metrics["warnings"])
    if folds:
        _cross_validate(release_dir, out_dir, config, folds, predictions)
    accuracy = metrics["accuracy"]["tflm"]
    click.echo(f"{out_dir}: TFLM accuracy {accuracy:.3f} on {metrics['evaluation_examples']} "
               f"{metrics['evaluation_split']} examples, {metrics['sizes']['int8_tflite_bytes']:,} bytes, "
               f"arena {metrics['sizes']['arena_bytes']:,} bytes")


def _check_predictions_path(predictions: Path | None, folds: int | None) -> None:
    if predictions is None:
        return
    if not folds:
        raise click.UsageError("--predictions needs --cross-validate K")
    if not predictions.resolve().parent.is_dir():
        raise click.ClickException(f"cannot write {predictions}: {predictions.parent} is not a directory.")


def _cross_validate(release_dir: Path, out_dir: Path, config, folds: int, predictions: Path | None) -> None:
    from training.crossval import CrossValidationError, cross_validate
    from training.dataset import ReleaseError

    try:
        written = cross_validate(release_dir, out_dir, config, folds, predictions,
                                 report=lambda line: click.echo(line, err=True))
    except (CrossValidationError, ReleaseError) as error:
        raise click.ClickException(f"cross-validation: {error}.") from None
    except OSError as error:
        raise click.ClickException(f"could not write the predictions: {error.strerror or error}.") from None
    copy = f" and {predictions}" if predictions else ""
    click.echo(f"out-of-fold predictions: {written}{copy}", err=True)


@click.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.argument("release_dir", type=click.Path(path_type=Path))
@click.option("--split", type=click.Choice(["testing", "validation", "training"]), default="testing",
              show_default=True, help="Which split of the release to score.")
def evaluate(model_dir: Path, release_dir: Path, split: str) -> None:
    """Score MODEL_DIR on a split of RELEASE_DIR, as JSON.

    Float, int8 TFLite and TFLM accuracy, precision/recall and confusion matrix; false rejects and false
    accepts per hour on streams at the model's operating point; fairness per group; compute cost.

    The release may be newer than the one the model was trained on; its speaker-disjoint splits stay
    stable as data grows, so the testing split still holds only unseen speakers.
    """
    from training.dataset import ReleaseError
    from training.inputs import EmptySplit, evaluation_inputs
    from training.model_dir import ModelDirError

    try:  # fail fast on wrong paths or an empty split, before TensorFlow loads
        evaluation_inputs(model_dir, release_dir, split)
    except EmptySplit as error:
        hint = "; score the validation split with --split validation" if split == "testing" else ""
        raise click.ClickException(f"{error} (too few speakers for the split rule){hint}.") from None
    except (ReleaseError, ModelDirError) as error:
        raise click.ClickException(f"{error}.") from None
    _quiet_tensorflow()
    from training.evaluate import evaluate_model_dir
    from training.tflm import TflmError

    try:
        metrics = evaluate_model_dir(model_dir, release_dir, split)
    except (ReleaseError, ModelDirError, TflmError) as error:
        raise click.ClickException(f"{error}.") from None
    click.echo(json.dumps(metrics, indent=2))
    _warn(metrics["warnings"])
