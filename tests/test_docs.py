"""The docs stay true to the code: commands and options have --help and README lines; settings too."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from collector.settings import SETTINGS
from wordcrowd.cli import COMMANDS, main

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def command_tree() -> dict[tuple[str, ...], click.Command]:
    """Every command and subcommand of `wordcrowd` (discovered from the click tree), by argument tuple."""
    commands: dict[tuple[str, ...], click.Command] = {}
    ctx = click.Context(main)

    def walk(group: click.Group, prefix: tuple[str, ...]) -> None:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            commands[(*prefix, name)] = command
            if isinstance(command, click.Group):
                walk(command, (*prefix, name))

    walk(main, ())
    return commands


def all_command_paths() -> list[tuple[str, ...]]:
    """Every command and subcommand of `wordcrowd`, as argument tuples."""
    return list(command_tree())


def leaf_commands() -> dict[tuple[str, ...], click.Command]:
    """The commands that run something (not groups): the ones with options of their own."""
    return {path: command for path, command in command_tree().items() if not isinstance(command, click.Group)}


def command_table() -> list[str]:
    """The rows of the README's command table."""
    section = README.split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| `wordcrowd ")]


def names_command(row: str, path: tuple[str, ...]) -> bool:
    """True when a README row names the command (`wordcrowd db sweep …`, not `wordcrowd db sweeping`)."""
    return re.search(rf"`wordcrowd {re.escape(' '.join(path))}(?=[ `])", row) is not None


def long_names(option: click.Option) -> list[str]:
    """An option's long names, e.g. ["--progress", "--no-progress"]."""
    return [name for name in (*option.opts, *option.secondary_opts) if name.startswith("--")]


def mentions(row: str, name: str) -> bool:
    """True when the row names the option as a whole word (`--keywords` does not count for `--keyword`)."""
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", row) is not None


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


@pytest.mark.parametrize("path", list(leaf_commands()), ids=" ".join)
def test_every_option_is_in_the_readme_row_of_its_command(path: tuple[str, ...]) -> None:
    """The command's row in the README's command table names each of its options (any of its long names)."""
    rows = [row for row in command_table() if names_command(row, path)]
    assert rows, f"the README's command table has no row for `wordcrowd {' '.join(path)}`"
    options = [param for param in leaf_commands()[path].params if isinstance(param, click.Option)]
    missing = [names[0] for names in map(long_names, options)
               if names and not any(mentions(row, name) for row in rows for name in names)]
    assert not missing, f"README row of `wordcrowd {' '.join(path)}` does not name {', '.join(missing)}"


def test_readme_rows_name_only_options_that_exist() -> None:
    """Every --option a command row names is an option of a command that row documents."""
    for row in command_table():
        commands = [command for path, command in leaf_commands().items() if names_command(row, path)]
        assert commands, f"README row names no known command: {row}"
        known = {name for command in commands for param in command.params if isinstance(param, click.Option)
                 for name in long_names(param)}
        named = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", row))
        assert named <= known, f"README row names options that do not exist ({named - known}): {row}"


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_in_the_readme(setting) -> None:
    """The README's settings table names every setting."""
    assert f"`{setting.name}`" in README


def test_lazy_commands_resolve() -> None:
    """Each lazily loaded command points at a real click command."""
    ctx = click.Context(main)
    for name in COMMANDS:
        assert isinstance(main.get_command(ctx, name), click.Command), name
