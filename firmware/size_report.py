"""size_report.json: does the model fit the board? Model and arena are measured, the runtime estimated."""

from __future__ import annotations

from dataclasses import dataclass

SIZE_REPORT_VERSION = 1


@dataclass(frozen=True)
class Board:
    """A target board's memory budget."""

    name: str
    flash_bytes: int
    ram_bytes: int


NANO_33_BLE_SENSE = Board("Arduino Nano 33 BLE Sense (nRF52840)",
                          flash_bytes=1024 * 1024, ram_bytes=256 * 1024)
# Rough allowances for what is not the model: Mbed OS core, TFLM interpreter and kernels, micro frontend,
# PDM audio buffers. To be replaced by the linker's figures once the sketch is built in CI.
RUNTIME_FLASH_ESTIMATE_BYTES = 320 * 1024
RUNTIME_RAM_ESTIMATE_BYTES = 64 * 1024


def model_ops(flatbuffer: bytes) -> list[str]:
    """Builtin operator names a .tflite model uses (what the op resolver must register)."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    names = {code: name for name, code in vars(schema.BuiltinOperator).items() if not name.startswith("_")}
    model = schema.Model.GetRootAsModel(flatbuffer, 0)
    codes = []
    for index in range(model.OperatorCodesLength()):
        operator = model.OperatorCodes(index)
        codes.append(max(operator.BuiltinCode(), operator.DeprecatedBuiltinCode()))
    return [names.get(code, f"BUILTIN_{code}") for code in codes]


def size_report(target: str, model_bytes: int, arena_bytes: int, arena_measured_bytes: int, ops: list[str],
                board: Board = NANO_33_BLE_SENSE) -> dict:
    """Estimate flash and RAM use and compare them with the board's budget."""
    flash = model_bytes + RUNTIME_FLASH_ESTIMATE_BYTES
    ram = arena_bytes + RUNTIME_RAM_ESTIMATE_BYTES
    return {
        "format_version": SIZE_REPORT_VERSION,
        "target": target,
        "model_bytes": model_bytes,
        "arena_bytes": arena_bytes,
        "arena_measured_bytes": arena_measured_bytes,
        "estimated_flash_bytes": flash,
        "estimated_ram_bytes": ram,
        "estimate_basis": {
            "runtime_flash_bytes": RUNTIME_FLASH_ESTIMATE_BYTES,
            "runtime_ram_bytes": RUNTIME_RAM_ESTIMATE_BYTES,
            "note": "model and arena are measured; the runtime (Mbed OS, TFLM, frontend, audio) "
                    "is an allowance",
        },
        "board": {"name": board.name, "flash_bytes": board.flash_bytes, "ram_bytes": board.ram_bytes},
        "fits": flash <= board.flash_bytes and ram <= board.ram_bytes,
        "ops": ops,
    }
