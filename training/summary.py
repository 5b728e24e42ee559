"""The table `wordcrowd train` prints at the end: accuracy per class and runtime, sizes and time."""

from __future__ import annotations

RUNTIMES = ("float", "int8_tflite", "tflm")


def _cell(value: float | None) -> str:
    return "    -" if value is None else f"{value:5.3f}"


def summary_table(metrics: dict) -> list[str]:
    """Lines of a plain-text table from a model's metrics (per class, overall, then one line of facts)."""
    width = max(len(label) for label in [*metrics["per_class"], "all"])
    lines = [f"summary on {metrics['evaluation_split']}:",
             f"  {'class':<{width}}  examples  float  int8   TFLM"]
    for label, row in metrics["per_class"].items():
        lines.append(f"  {label:<{width}}  {row['examples']:8d}  "
                     + "  ".join(_cell(row[kind]) for kind in RUNTIMES))
    accuracy = metrics["accuracy"]
    lines.append(f"  {'all':<{width}}  {metrics['evaluation_examples']:8d}  "
                 + "  ".join(_cell(accuracy[kind]) for kind in RUNTIMES))
    sizes, training = metrics["sizes"], metrics["training"]
    loss = (accuracy["float"] - accuracy["tflm"]) * 100 if accuracy["tflm"] is not None else 0.0
    final = training["final"]
    lines.append(f"  {metrics['model']}: int8 {sizes['int8_tflite_bytes']:,} bytes, arena "
                 f"{sizes['arena_bytes']:,} bytes; float→int8 loss {loss:.1f} points; TFLM/TFLite agreement "
                 f"{metrics['tflm_tflite_agreement'] * 100:.1f} %; trained {training['seconds']:.0f} s, "
                 f"best epoch {final['best_epoch']} of {final['epochs_run']}")
    return lines
