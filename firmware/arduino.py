"""The Arduino Nano 33 BLE Sense sketch: PDM audio, micro frontend, the model, a recognizer, serial + LED."""

from __future__ import annotations

from importlib import resources
from string import Template

from firmware.op_resolver import op_resolver_lines

SKETCH_SOURCES = ("audio_provider.h", "audio_provider.cpp", "feature_provider.h", "feature_provider.cpp",
                  "recognizer.h", "recognizer.cpp")


def _template(name: str) -> str:
    return resources.files("firmware").joinpath("templates", "arduino", name).read_text("utf-8")


def sketch_files(sketch_name: str, ops: list[str]) -> dict[str, str]:
    """The sketch's sources: name -> text; the .ino is named after the sketch folder, as Arduino requires."""
    ino = Template(_template("sketch.ino")).substitute(op_resolver="\n  ".join(op_resolver_lines(ops)))
    return {f"{sketch_name}.ino": ino, **{name: _template(name) for name in SKETCH_SOURCES}}
