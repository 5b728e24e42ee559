"""`wordcrowd firmware`: a thin command over firmware.generate."""

from __future__ import annotations

from pathlib import Path

import click

from firmware.generate import TARGETS


@click.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.option("--target", type=click.Choice(TARGETS), required=True,
              help="host: C arrays and settings for any TFLM build; arduino: a Nano 33 BLE Sense sketch.")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Firmware directory to write (must not exist, or be empty).")
@click.option("--force", is_flag=True,
              help="Replace an existing firmware directory (one holding size_report.json) as a whole.")
def firmware(model_dir: Path, target: str, out_dir: Path, force: bool) -> None:
    """Export MODEL_DIR (from `wordcrowd train`) as a TFLM firmware directory.

    Writes model_data.h/.cc (the int8 model as a C array), model_settings.h, size_report.json and a
    README.md with build steps and the data's licences and attribution.
    """
    from firmware.generate import FirmwareError, generate_firmware
    from training.model_dir import ModelDirError
    from training.output_dir import OutputDirError

    try:
        report = generate_firmware(model_dir, target, out_dir, force=force)
    except (FirmwareError, ModelDirError, OutputDirError) as error:
        raise click.ClickException(f"{error}.") from None
    except OSError as error:
        raise click.ClickException(f"could not write {out_dir}: {error.strerror or error}.") from None
    fits = "fits" if report["fits"] else "does NOT fit"
    click.echo(f"{out_dir}: model {report['model_bytes']:,} bytes, arena {report['arena_bytes']:,} bytes; "
               f"{fits} the {report['board']['name']} (estimated)")
