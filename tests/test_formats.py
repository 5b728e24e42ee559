"""The on-disk formats say what they are: integer major versions, checked by every reader in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import curation.release as release_writer
import curation.release_format as release_format
import training.dataset as release_reader
from curation.format_version import FormatVersionError, check_format_version
from curation.release_format import (
    FORMAT_VERSION,
    TSV_COLUMNS,
    ReleasedClip,
    ReleaseError,
    read_clips_tsv,
    read_release,
    read_release_json,
    read_split_lists,
    write_checksums,
    write_clips_tsv,
    write_release_json,
    write_split_lists,
)
from training.features import FeatureParams, FeatureParamsError
from training.model_dir import MODEL_FILES, ModelDirError, read_model_dir, write_model_files
from wordcrowd.cli import main

LABELS = ["_silence_", "_unknown_", "yes"]


def tiny_release(root: Path, format_version: object = FORMAT_VERSION) -> Path:
    """A release directory with two (empty) clip files: enough for the reader, which does not decode."""
    (root / "yes").mkdir(parents=True)
    for name in ("aaaaaaaa_nohash_0.wav", "bbbbbbbb_nohash_0.wav"):
        (root / "yes" / name).write_bytes(b"")
    write_release_json(root, {"version": "1"})
    document = json.loads((root / "release.json").read_text())
    (root / "release.json").write_text(json.dumps({**document, "format_version": format_version}))
    return root


def tiny_model_dir(root: Path) -> Path:
    """A model directory whose text files are real and whose model files are placeholders."""
    root.mkdir()
    for name in ("model.keras", "float.tflite", "int8.tflite"):
        (root / name).write_bytes(b"placeholder")
    write_model_files(root, LABELS, FeatureParams(), {"labels": LABELS}, "# card\n")
    return root


def rewrite_version(path: Path, version: object) -> None:
    document = json.loads(path.read_text())
    document["format_version"] = version
    path.write_text(json.dumps(document))


def assert_one_line_refusal(message: str, path: Path, found: str) -> None:
    """The refusal names the file, the version found and the versions understood, in one line."""
    assert "\n" not in message and str(path) in message, message
    assert found in message and "reads format version 1 only" in message, message


def test_release_writer_and_reader_share_one_format_module():
    """curation's writer and training's reader use the same error, splits and reader: one definition."""
    assert release_writer.ReleaseError is release_reader.ReleaseError is ReleaseError
    assert release_writer.SPLITS is release_reader.SPLITS is release_format.SPLITS
    assert release_reader.read_release is read_release
    assert not hasattr(release_writer, "TSV_COLUMNS") and not hasattr(release_writer, "FORMAT_VERSION")
    assert not hasattr(release_reader, "LIST_FILES") and not hasattr(release_reader, "BACKGROUND_NOISE_DIR")


@pytest.mark.parametrize("version", [1, "1"])
def test_release_reader_accepts_major_1(tmp_path, version):
    """Version 1, and the string "1" that releases said before versions were integers."""
    release = read_release(tiny_release(tmp_path / "r", version))
    assert release.info["format_version"] == 1 and release.words == ("yes",) and len(release.clips) == 2


@pytest.mark.parametrize(("version", "found"), [(2, "format_version 2"), ("2", "format_version '2'"),
                                                 (1.0, "format_version 1.0"), (True, "format_version True"),
                                                 (None, "no format_version")])
def test_release_reader_refuses_other_versions(tmp_path, version, found):
    root = tiny_release(tmp_path / "r", version)
    with pytest.raises(ReleaseError) as refused:
        read_release(root)
    assert_one_line_refusal(str(refused.value), root / "release.json", found)


def test_train_refuses_a_newer_release_in_one_line(tmp_path):
    """`wordcrowd train` on a release of format 2 ends with the one-line refusal, before any training."""
    root = tiny_release(tmp_path / "r", 2)
    result = CliRunner().invoke(main, ["train", str(root), "--out", str(tmp_path / "model")])
    assert result.exit_code == 1 and not (tmp_path / "model").exists()
    assert "has format_version 2; this wordcrowd reads format version 1 only" in result.output


def test_release_json_is_written_with_an_integer_version_and_extra_fields(tmp_path):
    warnings = ["the testing split is empty"]
    written = write_release_json(tmp_path, {"version": "3"}, {"warnings": warnings})
    on_disk = json.loads((tmp_path / "release.json").read_text())
    expected = {"format_version": 1, "format_minor": 1, "version": "3", "warnings": warnings}
    assert on_disk == written == expected
    assert read_release_json(tmp_path) == on_disk
    with pytest.raises(ValueError, match="'version' would replace"):
        write_release_json(tmp_path, {"version": "3"}, {"version": "4"})
    with pytest.raises(ValueError, match="FORMAT_VERSION only"):
        write_release_json(tmp_path, {"format_version": 2})


def test_clips_tsv_and_split_lists_round_trip(tmp_path):
    row = {column: f"{column}-value" for column in TSV_COLUMNS}
    write_clips_tsv(tmp_path, [row])
    assert (tmp_path / "clips.tsv").read_text().splitlines()[0] == "\t".join(TSV_COLUMNS)
    assert read_clips_tsv(tmp_path) == [row]
    clips = [ReleasedClip("yes/a_nohash_0.wav", "yes", "validation"),
             ReleasedClip("yes/b_nohash_0.wav", "yes", "testing"),
             ReleasedClip("yes/c_nohash_0.wav", "yes", "training")]
    write_split_lists(tmp_path, clips)
    known = {clip.path for clip in clips}
    assert read_split_lists(tmp_path, known) == {"validation": {clips[0].path}, "testing": {clips[1].path}}
    (tmp_path / "clips.tsv").write_text("path\tkeyword\nyes/a_nohash_0.wav\tyes\n")
    with pytest.raises(ReleaseError, match="lacks the column 'speaker_id'"):
        read_clips_tsv(tmp_path)


def test_metrics_json_version_is_checked(tmp_path):
    root = tiny_model_dir(tmp_path / "model")
    assert sorted(path.name for path in root.iterdir()) == sorted(MODEL_FILES)
    assert read_model_dir(root).metrics["format_version"] == 1
    rewrite_version(root / "metrics.json", 2)
    with pytest.raises(ModelDirError) as refused:
        read_model_dir(root)
    assert_one_line_refusal(str(refused.value), root / "metrics.json", "format_version 2")


def test_feature_params_json_version_is_checked(tmp_path):
    root = tiny_model_dir(tmp_path / "model")
    path = root / "feature_params.json"
    assert json.loads(path.read_text())["format_version"] == 1
    rewrite_version(path, 2)
    with pytest.raises(FeatureParamsError) as refused:
        FeatureParams.from_json(path.read_text(), source=str(path))
    assert_one_line_refusal(str(refused.value), path, "format_version 2")
    with pytest.raises(ModelDirError) as through_model_dir:
        read_model_dir(root)
    assert_one_line_refusal(str(through_model_dir.value), path, "format_version 2")


def test_firmware_refuses_a_model_dir_of_another_version(tmp_path):
    """`wordcrowd firmware` reads the model directory through the same check: one line, no output."""
    root = tiny_model_dir(tmp_path / "model")
    rewrite_version(root / "metrics.json", "1")
    out = tmp_path / "fw"
    result = CliRunner().invoke(main, ["firmware", str(root), "--target", "host", "--out", str(out)])
    assert result.exit_code == 1 and not (tmp_path / "fw").exists()
    assert "metrics.json has format_version '1'; this wordcrowd reads format version 1 only" in result.output


def test_check_format_version_is_shared():
    assert check_format_version({"format_version": 3}, "x.json", (1, 3)) == 3
    with pytest.raises(FormatVersionError, match=r"^x\.json has format_version 4; .* version 1, 3 only$"):
        check_format_version({"format_version": 4}, "x.json", (1, 3))


def test_sha256sums_lists_every_other_file_and_is_the_release_checksum(tmp_path):
    root = tiny_release(tmp_path / "r")
    first = write_checksums(root)
    assert write_checksums(root) == first  # rewriting never lists SHA256SUMS itself
    lines = (root / "SHA256SUMS").read_text().splitlines()
    assert [line.split("  ")[1] for line in lines] == ["release.json", "yes/aaaaaaaa_nohash_0.wav",
                                                       "yes/bbbbbbbb_nohash_0.wav"]
    assert read_release(root).checksum == first
