"""The `wordcrowd` command: a lazily loaded group, so `serve` never imports TensorFlow."""

from __future__ import annotations

import importlib

import click

from wordcrowd import __version__

# command name -> "module:attribute"; a command's module is imported only when it runs (or shows help)
COMMANDS: dict[str, str] = {
    "serve": "wordcrowd.serve:serve",
    "db": "collector.cli:db",
    "campaign": "collector.cli:campaign",
    "curator": "collector.cli:curator",
    "contributor": "collector.cli:contributor",
    "curate": "curation.cli:curate",
    "train": "training.cli:train",
    "evaluate": "training.cli:evaluate",
    "firmware": "firmware.cli:firmware",
    "simulate": "simulation.cli:simulate",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def __init__(self, *args, lazy: dict[str, str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module_name, attribute = self.lazy[name].split(":")
            return getattr(importlib.import_module(module_name), attribute)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wordcrowd")
def main() -> None:
    """wordcrowd: collect, curate, train and deploy keyword-spotting data and models.

    Settings come from WORDCROWD_* environment variables (see README); the defaults keep everything
    in ./instance (SQLite and local files).
    """
