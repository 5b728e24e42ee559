"""Write a firmware directory (DESIGN §9) from a model directory, and nothing else."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from firmware.carray import model_data_header, model_data_source
from firmware.readme import firmware_readme
from firmware.settings_header import arena_with_margin, model_settings_header
from firmware.size_report import model_ops, size_report
from training.model_dir import ModelDir, read_model_dir
from training.operating_point import recorded_recognition
from training.output_dir import building_dir, check_output_dir, publish_dir

TARGETS = ("host", "arduino")
# the file that makes a directory recognisably a firmware directory (`firmware --force` replaces only those)
MARKER_FILE = "size_report.json"


class FirmwareError(ValueError):
    """The firmware cannot be generated (unknown target, output in the way)."""


def firmware_files(model: ModelDir, target: str, sketch_name: str = "wordcrowd_kws") -> dict[str, str]:
    """Render every file of a firmware directory for a target: name -> text."""
    if target not in TARGETS:
        raise FirmwareError(f"unknown target {target!r}; known: {', '.join(TARGETS)}")
    flatbuffer = model.int8_tflite()
    if flatbuffer[4:8] != b"TFL3":  # the TFLite flatbuffer file identifier
        raise FirmwareError(f"{model.root / 'int8.tflite'} is not a TFLite model")
    sizes = model.metrics.get("sizes")
    measured = sizes.get("arena_bytes") if isinstance(sizes, dict) else None
    if not isinstance(measured, int) or measured <= 0:
        raise FirmwareError("metrics.json has no measured arena size (sizes.arena_bytes)")
    arena = arena_with_margin(measured)
    ops = model_ops(flatbuffer)
    report = size_report(target, len(flatbuffer), arena, measured, ops)
    files = {
        "model_data.h": model_data_header(),
        "model_data.cc": model_data_source(flatbuffer),
        "model_settings.h": model_settings_header(model.labels, model.feature_params, arena,
                                                  recorded_recognition(model.metrics)),
        MARKER_FILE: json.dumps(report, indent=2) + "\n",
        "README.md": firmware_readme(model, target, report, sketch_name),
    }
    if target == "arduino":
        from firmware.arduino import sketch_files

        files.update(sketch_files(sketch_name, ops))
    return files


def check_firmware_out_dir(out_dir: Path, force: bool) -> None:
    """Raise OutputDirError unless out_dir is new, empty, or (with force) a firmware directory."""
    check_output_dir(out_dir, MARKER_FILE, "firmware", force)


def generate_firmware(model_dir: Path | str, target: str, out_dir: Path | str, force: bool = False) -> dict:
    """Write the firmware directory (built beside it, moved into place when complete); return its size report.

    With force, an existing firmware directory (one holding size_report.json) is replaced as a whole;
    any other non-empty directory is refused (OutputDirError).
    """
    out_dir = Path(out_dir)
    check_firmware_out_dir(out_dir, force)
    model = read_model_dir(model_dir)
    files = firmware_files(model, target, sketch_name=_sketch_name(out_dir))
    building = building_dir(out_dir)
    try:
        for name, text in files.items():
            path = building / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, "utf-8")
        check_firmware_out_dir(out_dir, force)
        publish_dir(building, out_dir)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return json.loads(files[MARKER_FILE])


def _sketch_name(out_dir: Path) -> str:
    """Arduino wants the sketch's .ino named after its folder; keep the characters it accepts."""
    name = "".join(c if c.isascii() and (c.isalnum() or c in "_-") else "_" for c in out_dir.resolve().name)
    return name if name and name[0].isalnum() else f"kws_{name}"
