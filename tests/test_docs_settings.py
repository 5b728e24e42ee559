"""docs/settings.md is the settings reference: generated from SETTINGS and identical to what the code says."""

from __future__ import annotations

from pathlib import Path

from collector.settings import SETTINGS
from collector.settings_page import main, settings_markdown

PAGE = Path(__file__).resolve().parent.parent / "docs" / "settings.md"


def test_settings_page_matches_the_code() -> None:
    """Regenerate with `python -m collector.settings_page docs/settings.md` when this fails."""
    assert PAGE.read_text("utf-8") == settings_markdown(), (
        "docs/settings.md is out of date: run `python -m collector.settings_page docs/settings.md`")


def test_settings_page_has_one_row_per_setting_with_its_default() -> None:
    rows = [line for line in settings_markdown().splitlines() if line.startswith("| `WORDCROWD_")]
    assert [row.split("`")[1] for row in rows] == [setting.name for setting in SETTINGS]
    for row, setting in zip(rows, SETTINGS, strict=True):
        assert row.split(" | ")[1] == ("unset" if setting.default is None else f"`{setting.default}`")


def test_settings_page_generator_writes_the_file(tmp_path: Path) -> None:
    assert main([str(tmp_path / "settings.md")]) == 0
    assert (tmp_path / "settings.md").read_text("utf-8") == settings_markdown()
    assert main(["a", "b"]) == 2
