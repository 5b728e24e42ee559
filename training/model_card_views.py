"""Model card sections for the detection view, the operating point and fairness (from metrics.json)."""

from __future__ import annotations

from training.model_dir import DET_CURVE_FILE
from training.operating_point import OPERATING_POINT_KEY


def percent(value: float | None) -> str:
    """A share as a percentage with one decimal, or a dash when unknown."""
    return "–" if value is None else f"{100 * value:.1f} %"


def _per_hour(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _interval(values: list | None) -> str:
    if not values or values[0] is None:
        return ""
    return f" [{percent(values[0])} – {percent(values[1])}]"


def detection_section(metrics: dict) -> str:
    """The operating point the firmware ships with, and false rejects / false accepts per keyword."""
    point, detection = metrics.get(OPERATING_POINT_KEY), metrics.get("detection")
    if not point or not detection:
        return ("## Operating point and detection\n\nNo operating point was chosen: the firmware uses "
                "micro_speech's defaults.\n")
    recognition = point["recognition"]
    budget = "" if point["within_budget"] else " (no threshold met the budget: the highest was taken)"
    rows = "\n".join(f"| `{label}` | {row['occurrences']} | {percent(row['false_reject_rate'])} | "
                     f"{row['false_accepts']} | {_per_hour(row['false_accepts_per_hour'])} |"
                     for label, row in detection["at_operating_point"].items())
    return (
        "## Operating point and detection\n\n"
        "The firmware's recognizer (micro_speech's RecognizeCommands) averages the int8 scores of the last "
        f"{recognition['average_window_ms']} ms (inference every {point['inference_interval_ms']} ms, at "
        "least "
        f"{recognition['minimum_count']} results), reports a keyword when its average exceeds "
        f"**{recognition['detection_threshold']} of 255** and suppresses repeats for "
        f"{recognition['suppression_ms']} ms. The threshold is the lowest that kept false accepts of all "
        f"keywords at or under {point['false_accept_budget_per_hour']} per hour on the {point['chosen_on']} "
        f"split's non-keyword audio ({point['non_keyword_seconds']} s; one false accept there is "
        f"{point['false_accepts_per_hour_resolution']} per hour){budget}. It is written into the firmware's "
        "`model_settings.h`.\n\n"
        f"On the {detection['split']} split streamed through that recognizer "
        f"({detection['keyword_seconds']} s "
        f"of keywords, {detection['non_keyword_seconds']} s of other words and background noise):\n\n"
        "| keyword | spoken | false-reject rate | false accepts | false accepts per hour |\n"
        "|---|---|---|---|---|\n" + rows + "\n\n"
        f"DET curves over thresholds: `{DET_CURVE_FILE}`.\n"
    )


def fairness_section(metrics: dict) -> str:
    """Per demographic column: a table of groups, the gap and ratio, and a flag when the gap is large."""
    fairness = metrics.get("fairness")
    if not fairness:
        return "## Fairness\n\nNo fairness breakdown was computed.\n"
    parts = [
        "## Fairness\n\n"
        f"On the {fairness['split']} split, per speaker and then averaged over the speakers of each group "
        f"(so a talkative speaker does not dominate), with 95 % bootstrap intervals over speakers. Accuracy "
        f"is TFLM top-1; the false-reject rate is at the operating point (threshold "
        f"{fairness['detection_threshold']}). A gap above {percent(fairness['large_gap'])} is flagged.\n"
    ]
    for column, report in fairness["by"].items():
        parts.append(_fairness_table(column, report))
    return "\n".join(parts)


def _fairness_table(column: str, report: dict) -> str:
    rows = "\n".join(
        f"| {group} | {row['speakers']} | {percent(row['accuracy'])}{_interval(row['accuracy_ci'])} | "
        f"{percent(row['false_reject_rate'])}{_interval(row['false_reject_rate_ci'])} |"
        for group, row in report["groups"].items())
    summary = []
    for metric, name in (("accuracy", "accuracy"), ("false_reject_rate", "false-reject rate")):
        gap, ratio = report[f"{metric}_gap"], report[f"{metric}_ratio"]
        if gap is not None:
            ratio_text = "–" if ratio is None else f"{ratio:.2f}"
            summary.append(f"{name} gap {percent(gap)} (smallest/largest group ratio {ratio_text})")
    flags = "".join(f"\n**Flagged:** the {metric.replace('_', '-')} gap between {column} groups is large; "
                    "check the data before relying on the model for every group.\n"
                    for metric in report["flagged"])
    gaps = ("; ".join(summary) + ".") if summary else "Fewer than two groups have a value: no gap to report."
    return (f"### By {column}\n\n| group | speakers | accuracy | false-reject rate |\n|---|---|---|---|\n"
            f"{rows}\n\n{gaps}\n{flags}")
