"""Compute cost of an int8 model: multiply-accumulates per inference and an estimated Cortex-M4 latency."""

from __future__ import annotations

import numpy as np

# An assumption, not a measurement: CMSIS-NN's int8 inner loops do two 16-bit MACs per SMLAD on a
# Cortex-M4, and im2col, requantization and loop overheads add to that; 3 cycles per MAC is taken as a
# round, deliberately unoptimistic figure. Replace it with a measurement on the board when there is one.
CYCLES_PER_MAC = 3.0
CLOCK_HZ = 64_000_000  # the Nano 33 BLE Sense's nRF52840 runs at 64 MHz
TARGET = "Cortex-M4 at 64 MHz"


def _op_macs(name: str, shapes: list[tuple[int, ...]], output: tuple[int, ...]) -> int:
    """MACs of one operator from its input (data, weights) and output shapes; 0 for what has no weights."""
    if name == "CONV_2D":  # filter (out_channels, height, width, in_channels)
        return int(np.prod(output)) * int(np.prod(shapes[1][1:]))
    if name == "DEPTHWISE_CONV_2D":  # filter (1, height, width, channels): one input channel per output
        return int(np.prod(output)) * shapes[1][1] * shapes[1][2]
    if name == "FULLY_CONNECTED":  # weights (units, inputs)
        return int(np.prod(output)) * shapes[1][1]
    return 0


def model_macs(int8_tflite: bytes) -> dict[str, int]:
    """Multiply-accumulates per inference, per operator kind (convolutions and dense layers only)."""
    from training.quantize import _interpreter

    interpreter = _interpreter(int8_tflite)
    shapes = {tensor["index"]: tuple(int(d) for d in tensor["shape"])
              for tensor in interpreter.get_tensor_details()}
    totals: dict[str, int] = {}
    for op in interpreter._get_ops_details():
        inputs = [shapes.get(int(index), ()) for index in op["inputs"] if index >= 0]
        macs = _op_macs(op["op_name"], inputs, shapes[int(op["outputs"][0])])
        if macs:
            totals[op["op_name"]] = totals.get(op["op_name"], 0) + macs
    return totals


def compute_cost(int8_tflite: bytes) -> dict:
    """MACs per inference and the latency they suggest on the target (stated assumption, not measured)."""
    per_op = model_macs(int8_tflite)
    macs = sum(per_op.values())
    return {"macs": macs, "macs_per_op": per_op, "target": TARGET, "cycles_per_mac": CYCLES_PER_MAC,
            "estimated_latency_ms": round(macs * CYCLES_PER_MAC / CLOCK_HZ * 1000, 2),
            "estimated_by": "MACs × cycles_per_mac / clock (assumed CMSIS-NN int8 kernels); the frontend "
                            "and operators without weights are not counted"}
