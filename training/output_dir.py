"""Output directories of `train` and `firmware`: replace only what is recognisably ours, and atomically."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from training.model_dir import MARKER_FILE as MODEL_MARKER


class OutputDirError(ValueError):
    """The output directory is in the way: not empty, not ours, or not replaceable."""


def check_output_dir(out_dir: Path, marker: str, kind: str, force: bool) -> None:
    """Accept a new or empty directory, or (with force) a `kind` directory holding its marker; else raise.

    A marker file, not a guess from the contents: `--force` must never delete a working directory, a
    project or a home directory that merely happens to be named on the command line.
    """
    if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
        raise OutputDirError(f"{out_dir} exists and is not a directory; choose another --out")
    if not out_dir.exists():
        return
    target, here = out_dir.resolve(), Path.cwd().resolve()
    if target == here or target in here.parents:
        raise OutputDirError(f"{out_dir} holds the working directory; choose a new directory for --out")
    if not any(out_dir.iterdir()):
        return
    if not force:
        raise OutputDirError(f"{out_dir} already exists and is not empty; choose another --out, "
                             f"or add --force to replace the {kind} directory there")
    if not (out_dir / marker).is_file():
        raise OutputDirError(f"{out_dir} is not a {kind} directory (it has no {marker}), so --force will "
                             f"not replace it; choose a new directory for --out")


def check_model_out_dir(out_dir: Path, force: bool) -> None:
    """Raise OutputDirError unless `train` may write out_dir (new, empty, or with force a model directory)."""
    check_output_dir(out_dir, MODEL_MARKER, "model", force)


def building_dir(out_dir: Path) -> Path:
    """A fresh hidden directory beside out_dir to build into (same file system: the last move is a rename)."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}."))


def publish_dir(built: Path, out_dir: Path) -> None:
    """Move a finished directory to out_dir (checked by the caller); an old one goes aside, deleted after."""
    os.chmod(built, 0o777 & ~_umask())  # mkdtemp makes it private; the result is ordinary output
    aside = None
    if out_dir.exists():
        aside = building_dir(out_dir)
        os.rename(out_dir, aside / "replaced")
    try:
        os.rename(built, out_dir)
    except OSError:
        if aside is not None:
            os.rename(aside / "replaced", out_dir)
        raise
    finally:
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
