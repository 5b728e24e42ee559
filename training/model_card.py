"""The model card (model_card.md): data release, licence obligations, metrics and limits of a model."""

from __future__ import annotations

from curation.release_format import ATTRIBUTION
from licenses import UnknownLicense, get_license
from training.dataset import ReleaseDir, licence_counts
from training.model_dir import LICENCE_HEADING


def render_model_card(release: ReleaseDir, metrics: dict) -> str:
    """Write the model card of a model trained on a release, from its metrics."""
    labels = metrics["labels"]
    sections = [
        f"# Keyword model: {', '.join(labels[2:])}\n\n"
        f"A `{metrics['model']}` keyword-spotting model ({metrics['params']:,} parameters) trained by "
        "`wordcrowd train` on micro-frontend features, quantized to int8 and checked on the TFLM "
        "interpreter. "
        f"Classes in output order: {', '.join(f'`{label}`' for label in labels)}.\n" + _lineage(metrics),
        _data_section(release, metrics),
        _licence_section(release),
        _metrics_section(metrics),
        _limits_section(metrics),
    ]
    return "\n".join(sections)


def _lineage(metrics: dict) -> str:
    """Where the feature layers came from, for a model trained by transfer (`train --base`)."""
    base = metrics.get("base")
    if not base:
        return ""
    release = base.get("release") or {}
    return (f"\nTransfer: feature layers from the `{base['model']}` model at `{base['path']}` (classes "
            f"{', '.join(f'`{label}`' for label in base['labels'])}; release campaign "
            f"`{release.get('campaign')}`, version `{release.get('version')}`, checksum "
            f"`{release.get('sha256sums_sha256')}`), frozen, then fine-tuned for "
            f"{base.get('fine_tune_epochs', 0)} epochs with a new head.\n")


def _data_section(release: ReleaseDir, metrics: dict) -> str:
    info, examples = metrics["release"], metrics["examples"]
    return (
        "## Data\n\n"
        f"- Release: campaign `{info.get('campaign')}`, version `{info.get('version')}`, "
        f"created {info.get('created')}\n"
        f"- Release checksum (SHA-256 of its SHA256SUMS): `{info.get('sha256sums_sha256') or 'none'}`\n"
        f"- Examples: {examples['training']} training, {examples['validation']} validation, "
        f"{examples['testing']} testing (keywords, a 10 % share of other words as `_unknown_`, "
        "10 % `_silence_` from the release's background noise)\n"
        f"- Speakers are disjoint across splits (the release's list files, else the Speech Commands hash).\n"
    )


def _licence_section(release: ReleaseDir) -> str:
    rows, obligations = [], []
    for spdx, clips in licence_counts(release).items():
        try:
            licence = get_license(spdx)
        except UnknownLicense:
            rows.append(f"| {spdx} | {clips} | unknown licence: see the release's LICENSES/ |")
            continue
        rows.append(f"| [{spdx}]({licence.url}) {licence.name} | {clips} | "
                    f"{'yes' if licence.requires_attribution else 'no'} |")
        if licence.requires_attribution:
            obligations.append(f"- {spdx}: give credit as in the attribution below, name the licence with a "
                               f"link ({licence.url}) and say that the model was trained on the clips.")
    attribution = release.root / ATTRIBUTION
    quoted = ""
    if attribution.is_file():  # quoted, so its headings do not end this section
        text = attribution.read_text("utf-8").strip()
        quoted = "\n### Attribution (the release's ATTRIBUTION.md)\n\n" + "\n".join(
            f"> {line}".rstrip() for line in text.splitlines()) + "\n"
    return (
        f"{LICENCE_HEADING}\n\n"
        "The model is derived from clips that contributors licensed individually:\n\n"
        "| licence | clips | attribution required |\n|---|---|---|\n" + "\n".join(rows) + "\n\n"
        + ("Obligations when you share this model or firmware built from it:\n\n" + "\n".join(obligations)
           if obligations else "No licence of the data requires attribution.") + "\n" + quoted
    )


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def _metrics_section(metrics: dict) -> str:
    accuracy, sizes = metrics["accuracy"], metrics["sizes"]
    per_class = "\n".join(
        f"| `{label}` | {row['examples']} | {_percent(row['float'])} | {_percent(row['int8_tflite'])} | "
        f"{_percent(row['tflm'])} |" for label, row in metrics["per_class"].items())
    return (
        f"## Metrics\n\nOn the {metrics['evaluation_split']} split "
        f"({metrics['evaluation_examples']} examples):\n\n"
        "| | float (Keras) | int8 (TFLite) | int8 (TFLM) |\n|---|---|---|---|\n"
        f"| accuracy | {_percent(accuracy['float'])} | {_percent(accuracy['int8_tflite'])} | "
        f"{_percent(accuracy['tflm'])} |\n\n"
        "| class | examples | float | int8 TFLite | TFLM |\n|---|---|---|---|---|\n" + per_class + "\n\n"
        f"TFLM and TFLite pick the same class on {_percent(metrics['tflm_tflite_agreement'])} "
        "of the examples.\n\n"
        f"Sizes: int8 model {sizes['int8_tflite_bytes']:,} bytes, float model "
        f"{sizes['float_tflite_bytes']:,} bytes, tensor arena {sizes['arena_bytes']:,} bytes "
        f"({sizes['arena_measured_by']}).\n"
    )


def _limits_section(metrics: dict) -> str:
    examples, split = metrics["evaluation_examples"], metrics["evaluation_split"]
    fallback = "" if split == "testing" else (
        f"- The release has no test speakers for these keywords, so the metrics come from the {split} "
        + ("split: the model has seen these clips, so they overstate accuracy.\n" if split == "training"
           else "split (unseen speakers, but not a held-out test).\n"))
    return (
        "## Limits\n\n" + fallback +
        f"- Accuracy comes from {examples} examples of one release: a small test set gives a wide margin "
        "of error, and speakers, microphones and rooms outside the release may do worse.\n"
        "- No fairness breakdown (per age, gender, accent) and no operating-point calibration yet: the "
        "firmware uses micro_speech's defaults (threshold 200 of 255, 1 s average, 1.5 s suppression).\n"
        "- `_unknown_` only learns the release's other words; words never heard may trigger a keyword.\n"
    )
