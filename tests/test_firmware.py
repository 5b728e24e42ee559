"""Firmware from a real trained model directory: C arrays, settings, size report; compiled with g++."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from firmware.carray import CArrayError, model_data_header, model_data_source, read_c_array
from firmware.op_resolver import resolver_method
from firmware.settings_header import arena_with_margin, model_settings_header
from tests.release_fixture import write_release
from training.features import FeatureParams
from wordcrowd.cli import main

GXX = shutil.which("g++")
CXXFLAGS = ["-std=c++17", "-Wall", "-Werror"]
needs_gxx = pytest.mark.skipif(GXX is None and not os.environ.get("CI"), reason="g++ is not installed")


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """A model directory trained (2 epochs) on a small synthetic release."""
    root = tmp_path_factory.mktemp("firmware")
    release = write_release(root / "release", per_split={"training": 10, "validation": 2, "testing": 3})
    result = CliRunner().invoke(main, ["train", str(release), "--out", str(root / "model"), "--epochs", "2"])
    assert result.exit_code == 0, result.output
    return root / "model"


@pytest.fixture(scope="module")
def host(model) -> Path:
    """`wordcrowd firmware MODEL --target host --out FW`."""
    out = model.parent / "fw"
    result = CliRunner().invoke(main, ["firmware", str(model), "--target", "host", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


SIMPLE_ESCAPES = {b"n": b"\n", b"t": b"\t", b'"': b'"', b"\\": b"\\", b"?": b"?", b"'": b"'"}


def c_unescape(match: re.Match) -> bytes:
    """One C escape sequence as its byte(s)."""
    code = match.group(1)
    return bytes([int(code, 8)]) if code[:1].isdigit() else SIMPLE_ESCAPES[code]


def c_strings(header: str, array: str) -> list[str]:
    """Decode the string literals of a C array initialiser (escapes included) back to text."""
    body = re.search(rf"{array}\[\w*\]\s*=\s*\{{(.*?)\}};", header, re.S).group(1)
    literals = re.findall(r'"((?:[^"\\]|\\.)*)"', body)
    return [re.sub(rb"\\([0-7]{1,3}|.)", c_unescape, literal.encode("ascii")).decode("utf-8")
            for literal in literals]


def compile_and_run(folder: Path, main_source: str) -> str:
    """Compile the folder's model_data.cc and a main with the house flags, link, run, return stdout."""
    (folder / "check_main.cc").write_text(main_source)
    for source in ("model_data.cc", "check_main.cc"):
        subprocess.run([GXX, *CXXFLAGS, "-c", source, "-o", f"{source}.o"], cwd=folder, check=True,
                       capture_output=True, timeout=120)
    subprocess.run([GXX, "model_data.cc.o", "check_main.cc.o", "-o", "check"], cwd=folder, check=True,
                   capture_output=True, timeout=60)
    return subprocess.run([str(folder / "check")], check=True, capture_output=True, text=True).stdout


CHECK_MAIN = r"""
#include <cstdio>
#include "model_data.h"
#include "model_settings.h"

int main() {
  unsigned long sum = 0;
  for (unsigned int i = 0; i < g_model_data_len; ++i) sum += g_model_data[i];
  std::printf("%u %lu %d %d\n", g_model_data_len, sum, kTensorArenaSize, kFeatureElementCount);
  for (int i = 0; i < kCategoryCount; ++i) std::printf("%s\n", kCategoryLabels[i]);
  return reinterpret_cast<unsigned long>(g_model_data) % 16 == 0 ? 0 : 1;
}
"""


HOST_FILES = ("model_data.h", "model_data.cc", "model_settings.h", "size_report.json", "README.md")


def test_host_firmware_has_the_binding_files(host):
    assert sorted(p.name for p in host.iterdir()) == sorted(HOST_FILES)


def test_c_array_decodes_to_exactly_int8_tflite(host, model):
    source = (host / "model_data.cc").read_text()
    assert "alignas(16) const unsigned char g_model_data[] = {" in source
    rows = [line for line in source.splitlines() if line.startswith("    0x")]
    assert all(line.count("0x") == 12 for line in rows[:-1]) and 1 <= rows[-1].count("0x") <= 12
    assert read_c_array(host / "model_data.cc") == (model / "int8.tflite").read_bytes()


@pytest.mark.parametrize("length", [1, 11, 12, 13, 25])
def test_c_array_round_trips_any_length(length, tmp_path):
    data = bytes((7 * i + 3) % 256 for i in range(length))
    (tmp_path / "a.cc").write_text(model_data_source(data, name="g_blob"))
    assert read_c_array(tmp_path / "a.cc") == data


def test_read_c_array_rejects_what_is_not_a_byte_array(tmp_path):
    cases = {"none.cc": "int x = 3;\n", "word.cc": "const unsigned char a[] = {0x01, two};\n",
             "short.cc": "const unsigned char g_a[] = {0x01, 0x02};\nconst unsigned int g_a_len = 3;\n"}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(CArrayError):
            read_c_array(tmp_path / name)


def test_settings_labels_match_labels_txt(host, model):
    header = (host / "model_settings.h").read_text()
    labels = (model / "labels.txt").read_text().split()
    assert c_strings(header, "kCategoryLabels") == labels
    assert f"constexpr int kCategoryCount = {len(labels)};" in header
    threshold = json.loads((model / "metrics.json").read_text())["operating_point"]["recognition"]
    for constant in ("kAudioSampleFrequency = 16000", "kFeatureSize = 40", "kFeatureCount = 49",
                     f"kDetectionThreshold = {threshold['detection_threshold']}", "kSuppressionMs = 1500",
                     "kAverageWindowMs = 1000", "kMinimumCount = 3"):
        assert f"constexpr int {constant};" in header


def test_arena_setting_is_the_measurement_plus_a_margin(host, model):
    measured = json.loads((model / "metrics.json").read_text())["sizes"]["arena_bytes"]
    header = (host / "model_settings.h").read_text()
    arena = int(re.search(r"kTensorArenaSize = (\d+);", header).group(1))
    assert arena == arena_with_margin(measured) and measured + 1024 <= arena < measured + 2048
    assert arena % 1024 == 0


@needs_gxx
def test_generated_sources_compile_with_werror_and_run(host, model):
    for header in ("model_data.h", "model_settings.h"):
        subprocess.run([GXX, *CXXFLAGS, "-x", "c++", "-fsyntax-only", header], cwd=host, check=True,
                       capture_output=True)
    output = compile_and_run(host, CHECK_MAIN).splitlines()
    tflite = (model / "int8.tflite").read_bytes()
    length, total, arena, elements = map(int, output[0].split())
    assert (length, total, elements) == (len(tflite), sum(tflite), 49 * 40) and arena > 0
    assert output[1:] == (model / "labels.txt").read_text().split()


@needs_gxx
def test_awkward_labels_survive_the_c_string_escapes(tmp_path):
    labels = ("_silence_", "_unknown_", "café", 'say "hi"', "a??=b\\c", "ja\u0308")
    (tmp_path / "model_settings.h").write_text(model_settings_header(labels, FeatureParams(), 8192))
    (tmp_path / "model_data.h").write_text(model_data_header())
    (tmp_path / "model_data.cc").write_text(model_data_source(b"\x00\x01\x02"))
    assert c_strings((tmp_path / "model_settings.h").read_text(), "kCategoryLabels") == list(labels)
    assert compile_and_run(tmp_path, CHECK_MAIN).splitlines()[1:] == list(labels)


def test_size_report_compares_with_the_board_budget(host, model):
    report = json.loads((host / "size_report.json").read_text())
    metrics = json.loads((model / "metrics.json").read_text())
    assert report["model_bytes"] == len((model / "int8.tflite").read_bytes())
    assert report["arena_measured_bytes"] == metrics["sizes"]["arena_bytes"] < report["arena_bytes"]
    assert report["board"] == {"name": "Arduino Nano 33 BLE Sense (nRF52840)", "flash_bytes": 1048576,
                               "ram_bytes": 262144}
    assert report["estimated_flash_bytes"] > report["model_bytes"]
    assert report["estimated_ram_bytes"] > report["arena_bytes"]
    # the default model (res_ds_cnn): the resolver registers exactly the ops the model uses
    assert report["fits"] is True and report["ops"] == ["RESHAPE", "CONV_2D", "DEPTHWISE_CONV_2D", "ADD",
                                                        "AVERAGE_POOL_2D", "FULLY_CONNECTED", "SOFTMAX"]


def test_readme_carries_the_data_licences_of_the_model_card(host, model):
    readme = (host / "README.md").read_text()
    card = (model / "model_card.md").read_text()
    section = card[card.index("## Data licences and attribution"):card.index("\n## Metrics")].strip()
    assert section in readme and "CC-BY-4.0" in section and "g++ -std=c++17" in readme
    assert all(f"{resolver_method(op)}()" in readme for op in ("CONV_2D", "FULLY_CONNECTED", "RESHAPE"))


def test_resolver_method_names():
    ops = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "SOFTMAX", "RELU6")
    assert [resolver_method(op) for op in ops] == [
        "AddConv2D", "AddDepthwiseConv2D", "AddFullyConnected", "AddAveragePool2D", "AddSoftmax", "AddRelu6"]


@pytest.mark.parametrize("problem", ["missing", "incomplete", "not_tflite", "not_empty"])
def test_firmware_mistakes_exit_with_one_line(problem, model, tmp_path):
    source, out = model, tmp_path / "fw"
    if problem == "missing":
        source = tmp_path / "nowhere"
    elif problem in ("incomplete", "not_tflite"):
        source = tmp_path / "partial"
        shutil.copytree(model, source)
        (source / "int8.tflite").unlink()
        if problem == "not_tflite":
            (source / "int8.tflite").write_bytes(b"not a flatbuffer at all")
    else:
        out.mkdir()
        (out / "keep.txt").write_text("mine")
    result = CliRunner().invoke(main, ["firmware", str(source), "--target", "host", "--out", str(out)])
    assert result.exit_code == 1 and result.output.startswith("Error: ")
    assert len(result.output.strip().splitlines()) == 1 and result.exception is not None
    assert problem != "not_empty" or (out / "keep.txt").read_text() == "mine"


def run_firmware(model: Path, target: str, out: Path, *extra: str):
    return CliRunner().invoke(main, ["firmware", str(model), "--target", target, "--out", str(out), *extra])


def test_firmware_not_empty_error_names_force(model, tmp_path):
    (tmp_path / "fw").mkdir()
    (tmp_path / "fw" / "keep.txt").write_text("mine")
    result = run_firmware(model, "host", tmp_path / "fw")
    assert result.exit_code == 1 and "already exists and is not empty" in result.output
    assert "--force" in result.output


def test_firmware_force_refuses_a_directory_that_is_not_firmware(model, tmp_path):
    """A project's README.md and Makefile are never replaced: no size_report.json, no --force."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "README.md").write_text("my project")
    (project / "Makefile").write_text("all:\n")
    result = run_firmware(model, "host", project, "--force")
    assert result.exit_code == 1 and "is not a firmware directory" in result.output, result.output
    assert sorted(p.name for p in project.iterdir()) == ["Makefile", "README.md"]
    assert (project / "README.md").read_text() == "my project"


def test_firmware_force_replaces_a_firmware_dir_as_a_whole(model, tmp_path):
    """An arduino directory regenerated for the host target keeps no sketch file of the old one."""
    out = tmp_path / "fw"
    assert run_firmware(model, "arduino", out).exit_code == 0
    result = run_firmware(model, "host", out, "--force")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(HOST_FILES)
    assert [p.name for p in tmp_path.iterdir()] == ["fw"]  # nothing left beside it


def test_firmware_help():
    result = CliRunner().invoke(main, ["firmware", "--help"])
    assert result.exit_code == 0 and "--target" in result.output


@pytest.fixture(scope="module")
def arduino(model) -> Path:
    """`wordcrowd firmware MODEL --target arduino --out kws_sketch`."""
    out = model.parent / "kws_sketch"
    result = CliRunner().invoke(main, ["firmware", str(model), "--target", "arduino", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_arduino_sketch_is_complete_and_registers_exactly_the_model_ops(arduino, host):
    names = {p.name for p in arduino.iterdir()}
    assert {"kws_sketch.ino", "audio_provider.cpp", "feature_provider.cpp", "recognizer.cpp", "model_data.cc",
            "model_settings.h", "size_report.json", "README.md"} <= names
    for shared in ("model_data.cc", "model_settings.h"):
        assert (arduino / shared).read_text() == (host / shared).read_text()
    sketch = (arduino / "kws_sketch.ino").read_text()
    assert "${" not in sketch and "MicroMutableOpResolver<7> op_resolver;" in sketch
    added = re.findall(r"op_resolver\.(Add\w+)\(\)", sketch)
    assert added == ["AddReshape", "AddConv2D", "AddDepthwiseConv2D", "AddAdd", "AddAveragePool2D",
                     "AddFullyConnected", "AddSoftmax"]  # the default model, res_ds_cnn
    assert "kFeatureValueDiv" in (arduino / "feature_provider.cpp").read_text()
    readme = (arduino / "README.md").read_text()
    assert "arduino-cli compile --fqbn arduino:mbed_nano:nano33ble" in readme and "CC-BY-4.0" in readme


RECOGNIZER_MAIN = r"""
#include <cstdio>
#include "recognizer.h"

// A timeline of one inference every 100 ms: which category is "hot" and how strongly (0-255).
int main() {
  Recognizer recognizer;
  int8_t scores[kCategoryCount];
  for (int32_t t = 0; t < 8000; t += 100) {
    int hot = kSilenceIndex, level = 255;
    if (t >= 1000 && t < 3000) hot = 2;
    if (t >= 4000 && t < 5000) hot = 3;
    if (t >= 6000 && t < 7500) { hot = 4; level = 190; }  // confident, but below the threshold
    for (int i = 0; i < kCategoryCount; ++i) scores[i] = static_cast<int8_t>((i == hot ? level : 0) - 128);
    int category = -1;
    uint8_t score = 0;
    if (recognizer.Process(scores, t, &category, &score)) std::printf("%d %d %d\n", t, category, score);
  }
  return 0;
}
"""


@needs_gxx
def test_arduino_recognizer_averages_thresholds_and_suppresses(arduino, tmp_path):
    """The sketch's recognizer, compiled with -Wall -Werror and run on a scripted timeline of scores."""
    folder = tmp_path / "sketch"
    shutil.copytree(arduino, folder)
    # the timeline below is written for micro_speech's default threshold, not the model's operating point
    settings = folder / "model_settings.h"
    header = re.sub(r"kDetectionThreshold = \d+;", "kDetectionThreshold = 200;", settings.read_text())
    settings.write_text(header)
    (folder / "check_main.cc").write_text(RECOGNIZER_MAIN)
    for source in ("recognizer.cpp", "check_main.cc"):
        subprocess.run([GXX, *CXXFLAGS, "-c", source, "-o", f"{source}.o"], cwd=folder, check=True,
                       capture_output=True, timeout=60)
    subprocess.run([GXX, "recognizer.cpp.o", "check_main.cc.o", "-o", "recognize"], cwd=folder, check=True,
                   capture_output=True, timeout=60)
    output = subprocess.run([str(folder / "recognize")], check=True, capture_output=True, text=True).stdout
    detections = [tuple(map(int, line.split())) for line in output.splitlines()]
    first = [t for t, category, _ in detections if category == 2]
    assert first and 1000 < first[0] < 2000  # once the window's average passes 200
    assert all(later - earlier > 1500 for earlier, later in zip(first, first[1:], strict=False))
    assert any(category == 3 and 4000 < t < 5100 for t, category, _ in detections)
    assert all(category in (2, 3) and score > 200 for _, category, score in detections)
