"""The model card (model_card.md): data release, licence obligations, metrics and limits of a model."""

from __future__ import annotations

from curation.release_format import ATTRIBUTION
from licenses import UnknownLicense, get_license
from training.dataset import ReleaseDir, licence_counts
from training.model_card_views import detection_section, fairness_section, percent
from training.model_dir import CONFUSION_MATRIX_FILE, LICENCE_HEADING

MOSTLY_MISSED = 0.5  # a false-reject rate above this is named among the limits


def render_model_card(release: ReleaseDir, metrics: dict) -> str:
    """Write the model card of a model trained on a release, from its metrics."""
    labels = metrics["labels"]
    sections = [
        f"# Keyword model: {', '.join(labels[2:])}\n\n"
        f"A `{metrics['model']}` keyword-spotting model ({metrics['params']:,} parameters) trained by "
        "`wordcrowd train` on micro-frontend features, quantized to int8 and checked on the TFLM "
        "interpreter. "
        f"Classes in output order: {', '.join(f'`{label}`' for label in labels)}.\n" + _lineage(metrics),
        _intended_use_section(metrics),
        _data_section(release, metrics),
        _licence_section(release),
        _metrics_section(metrics),
        detection_section(metrics),
        fairness_section(metrics),
        _limits_section(metrics),
    ]
    return "\n".join(sections)


def _intended_use_section(metrics: dict) -> str:
    keywords = ", ".join(f"`{label}`" for label in metrics["labels"][2:])
    return (
        "## Intended use\n\n"
        f"Spotting the spoken keywords {keywords} in a continuous 16 kHz audio stream on a microcontroller "
        "(TFLM, e.g. the Arduino Nano 33 BLE Sense), with the firmware's post-processing at the operating "
        "point below; a starting point for hobby, teaching and prototype devices in the campaign's "
        "language.\n\n"
        "Not intended for: identifying or verifying speakers, safety-critical or security controls (a "
        "keyword can be missed or falsely heard), always-on recording, or languages, accents and devices "
        "the data does not cover (see Fairness and Limits).\n"
    )


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


def _metrics_section(metrics: dict) -> str:
    accuracy, sizes = metrics["accuracy"], metrics["sizes"]
    per_class = "\n".join(
        f"| `{label}` | {row['examples']} | {percent(row['float'])} | {percent(row['int8_tflite'])} | "
        f"{percent(row['tflm'])} | {percent(row.get('precision'))} | {percent(row.get('recall'))} |"
        for label, row in metrics["per_class"].items())
    return (
        f"## Metrics\n\nOn the {metrics['evaluation_split']} split "
        f"({metrics['evaluation_examples']} examples):\n\n"
        "| | float (Keras) | int8 (TFLite) | int8 (TFLM) |\n|---|---|---|---|\n"
        f"| accuracy | {percent(accuracy['float'])} | {percent(accuracy['int8_tflite'])} | "
        f"{percent(accuracy['tflm'])} |\n\n"
        "| class | examples | float | int8 TFLite | TFLM | precision (TFLM) | recall (TFLM) |\n"
        "|---|---|---|---|---|---|---|\n" + per_class + "\n\n"
        + _agreement(metrics) + f"Confusion matrix (TFLM): `{CONFUSION_MATRIX_FILE}`.\n\n"
        f"Sizes: int8 model {sizes['int8_tflite_bytes']:,} bytes, float model "
        f"{sizes['float_tflite_bytes']:,} bytes, tensor arena {sizes['arena_bytes']:,} bytes "
        f"({sizes['arena_measured_by']}).\n" + _quantization(metrics) + _cost(metrics)
    )


def _quantization(metrics: dict) -> str:
    facts = metrics.get("quantization")
    if not facts:
        return ""
    before, after = facts["validation_float"], facts["validation_int8_post_training"]
    line = (f"\nQuantization: {facts['method']}; on validation it lost {(before - after) * 100:.1f} points "
            f"(float {percent(before)}, int8 {percent(after)})")
    if facts["quantization_aware"]:
        line += (f"; quantization-aware fine-tuning was used (int8 "
                 f"{percent(facts['validation_int8_after_qat'])} on validation after it)")
    elif "qat_discarded" in facts:
        line += f"; quantization-aware fine-tuning was tried and discarded ({facts['qat_discarded']})"
    else:
        line += "; no quantization-aware fine-tuning (used when post-training loses more than a point)"
    return line + ".\n"


def _agreement(metrics: dict) -> str:
    pairs = metrics.get("agreement") or {"int8_tflite_tflm": metrics["tflm_tflite_agreement"]}
    names = {"float_int8_tflite": "float and int8 TFLite", "float_tflm": "float and TFLM",
             "int8_tflite_tflm": "int8 TFLite and TFLM"}
    return "Top-1 agreement: " + ", ".join(f"{names[pair]} {percent(value)}" for pair, value in pairs.items()
                                           ) + " of the examples.\n\n"


def _cost(metrics: dict) -> str:
    cost = metrics.get("cost")
    if not cost:
        return ""
    return (f"\nCompute: {cost['macs']:,} multiply-accumulates per inference; estimated "
            f"{cost['estimated_latency_ms']} ms per inference on a {cost['target']}, assuming "
            f"{cost['cycles_per_mac']} cycles per MAC (CMSIS-NN int8 kernels; an estimate, not a "
            "measurement; the audio frontend is not counted).\n")


def _missed_keywords(metrics: dict) -> str:
    rates = (metrics.get("detection") or {}).get("at_operating_point", {})
    missed = [label for label, row in rates.items() if (row["false_reject_rate"] or 0) > MOSTLY_MISSED]
    if not missed:
        return ""
    words = ", ".join(f"`{label}`" for label in missed)
    return (f"- In streams the recognizer misses most occurrences of {words} at the operating point: "
            "often a model that scores a word highly only when it is centred in the window, which keeps "
            "the one-second average low (time-shift augmentation, more data or epochs help).\n")


def _limits_section(metrics: dict) -> str:
    examples, split = metrics["evaluation_examples"], metrics["evaluation_split"]
    fallback = "" if split == "testing" else (
        f"- The release has no test speakers for these keywords, so the metrics come from the {split} "
        + ("split: the model has seen these clips, so they overstate accuracy.\n" if split == "training"
           else "split (unseen speakers, but not a held-out test).\n"))
    return (
        "## Limits\n\n" + fallback + _missed_keywords(metrics) +
        f"- Accuracy comes from {examples} examples of one release: a small test set gives a wide margin "
        "of error, and speakers, microphones and rooms outside the release may do worse.\n"
        "- False accepts per hour are counted on the release's own non-keyword audio (other words and "
        "background noise), minutes rather than hours: a budget under one false accept per hour then means "
        "none were heard; "
        "real rooms, music and conversation will trigger more.\n"
        "- Demographic groups come only from speakers who chose to share them; groups with fewer than five "
        "speakers are blanked in releases, so small groups are unseen here.\n"
        "- `_unknown_` only learns the release's other words; words never heard may trigger a keyword.\n"
    )
