"""Output directories of train and firmware: only a directory holding the marker file is ever replaced."""

from __future__ import annotations

import pytest

from training.output_dir import OutputDirError, building_dir, check_output_dir, publish_dir


def test_new_and_empty_directories_are_accepted(tmp_path):
    check_output_dir(tmp_path / "new", "marker.json", "model", force=False)
    (tmp_path / "empty").mkdir()
    check_output_dir(tmp_path / "empty", "marker.json", "model", force=False)


@pytest.mark.parametrize(("case", "message"), [
    ("not_empty", "add --force"),
    ("not_ours", "is not a model directory (it has no marker.json)"),
    ("cwd", "holds the working directory"),
    ("parent_of_cwd", "holds the working directory"),
    ("symlink", "is not a directory"),
    ("file", "is not a directory"),
])
def test_what_is_not_ours_is_refused(case, message, tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "README.md").write_text("mine")
    (out / "sub").mkdir()
    force = case != "not_empty"
    if case == "cwd":
        (out / "marker.json").write_text("{}")
        monkeypatch.chdir(out)
    elif case == "parent_of_cwd":
        (out / "marker.json").write_text("{}")
        monkeypatch.chdir(out / "sub")
    elif case == "symlink":
        (tmp_path / "link").symlink_to(out)
        out = tmp_path / "link"
    elif case == "file":
        out = out / "README.md"
    with pytest.raises(OutputDirError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_output_dir(out, "marker.json", "model", force=force)


def test_publish_replaces_a_marked_directory_whole(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "marker.json").write_text("old")
    (out / "stale.txt").write_text("old")
    check_output_dir(out, "marker.json", "model", force=True)
    built = building_dir(out)
    (built / "marker.json").write_text("new")
    publish_dir(built, out)
    assert [p.name for p in out.iterdir()] == ["marker.json"] and (out / "marker.json").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out"] and oct(out.stat().st_mode & 0o777) != "0o700"
