"""docs/settings.md, generated from SETTINGS so the reference cannot drift from the code.

Regenerate after changing a setting:  python -m collector.settings_page docs/settings.md
"""

from __future__ import annotations

import sys
from pathlib import Path

from collector.settings import SETTINGS, Setting

KIND_NAMES = {str: "text", int: "integer", float: "number"}
INTRO = """\
# Settings

wordcrowd reads its settings from environment variables and nothing else: there is no configuration file
and no `.env` file (twelve-factor style). Every command that touches the store (`wordcrowd serve`,
`db`, `campaign`, `curator`, `curate`) reads the same variables.

- A variable that is unset or empty takes its default.
- `$DATA_DIR` in a default stands for the value of `WORDCROWD_DATA_DIR`, made absolute.
- A value that does not parse as the setting's type (integer, number) stops the command with a
  one-line error naming the variable.
- `WORDCROWD_SECRET_KEY`, when unset, is generated once into `$DATA_DIR/secret_key` (mode 0600) and read
  from there afterwards: keep that file with the data directory.
- S3 credentials are not wordcrowd settings: boto3 reads the usual `AWS_ACCESS_KEY_ID`,
  `AWS_SECRET_ACCESS_KEY` and `AWS_DEFAULT_REGION` (or its other sources).
- Rate limits use Flask-Limiter's syntax: `N per second|minute|hour|day`, several separated by `;`.

This page is generated from `collector/settings.py` (`SETTINGS`) by
`python -m collector.settings_page docs/settings.md`; a test fails when it differs from the code.

| variable | default | type | meaning |
|---|---|---|---|
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def setting_row(setting: Setting) -> str:
    """One table row: name, default (or unset), type and help."""
    default = "unset" if setting.default is None else f"`{_cell(setting.default)}`"
    kind = KIND_NAMES.get(setting.kind, setting.kind.__name__)
    return f"| `{setting.name}` | {default} | {kind} | {_cell(setting.help)} |\n"


def settings_markdown() -> str:
    """Return the whole of docs/settings.md."""
    return INTRO + "".join(setting_row(setting) for setting in SETTINGS)


def main(argv: list[str]) -> int:
    """Write the page to the path given (or print it)."""
    if len(argv) > 1:
        print("usage: python -m collector.settings_page [docs/settings.md]", file=sys.stderr)
        return 2
    if argv:
        Path(argv[0]).write_text(settings_markdown(), "utf-8")
    else:
        sys.stdout.write(settings_markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
