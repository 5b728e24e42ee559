"""The docs stay true to the code: every command has --help and a README line; every setting is documented."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from collector.settings import SETTINGS
from wordcrowd.cli import COMMANDS, main

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def all_command_paths() -> list[tuple[str, ...]]:
    """Every command and subcommand of `wordcrowd`, as argument tuples."""
    paths: list[tuple[str, ...]] = []
    ctx = click.Context(main)

    def walk(group: click.Group, prefix: tuple[str, ...]) -> None:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            paths.append((*prefix, name))
            if isinstance(command, click.Group):
                walk(command, (*prefix, name))

    walk(main, ())
    return paths


@pytest.mark.parametrize("path", all_command_paths(), ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    """`wordcrowd … --help` succeeds and says something."""
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and len(result.output.splitlines()) > 3


@pytest.mark.parametrize("path", all_command_paths(), ids=" ".join)
def test_every_command_is_in_the_readme(path: tuple[str, ...]) -> None:
    """The README's command table names every command."""
    assert f"wordcrowd {' '.join(path)}" in README


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_in_the_readme(setting) -> None:
    """The README's settings table names every setting."""
    assert f"`{setting.name}`" in README


def test_lazy_commands_resolve() -> None:
    """Each lazily loaded command points at a real click command."""
    ctx = click.Context(main)
    for name in COMMANDS:
        assert isinstance(main.get_command(ctx, name), click.Command), name
