"""Run int8 models on the real TFLM interpreter (tflite-micro's Python package) and measure the arena."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from training.native_output import captured_output

ARENA_ALIGNMENT = 16
ARENA_TOTAL = re.compile(r"Arena allocation total (\d+) bytes")


class TflmError(RuntimeError):
    """The TFLM interpreter could not load or run the model."""


@dataclass(frozen=True)
class ArenaSize:
    """Arena needs of a model: what the recording allocator reports and the smallest arena that runs it."""

    recorded_bytes: int
    minimal_bytes: int


def _interpreter(flatbuffer: bytes, arena_size: int | None = None):
    from tflite_micro.python.tflite_micro import runtime

    return runtime.Interpreter.from_bytes(flatbuffer, arena_size=arena_size or _generous_arena(flatbuffer))


def _generous_arena(flatbuffer: bytes) -> int:
    return 10 * len(flatbuffer) + 64 * 1024


def tflm_scores(flatbuffer: bytes, inputs: np.ndarray) -> np.ndarray:
    """Run a batch of int8 inputs through TFLM one example at a time; return the int8 scores."""
    try:
        with captured_output() as log:
            interpreter = _interpreter(flatbuffer)
            shape = interpreter.get_input_details(0)["shape"]
            scores = []
            for example in inputs:
                interpreter.set_input(np.asarray(example, dtype=np.int8).reshape(shape), 0)
                interpreter.invoke()
                scores.append(np.array(interpreter.get_output(0)).reshape(-1))
    except (RuntimeError, ValueError) as error:
        raise TflmError(f"TFLM could not run the model: {error} {log.text.strip()}") from None
    return np.stack(scores) if scores else np.zeros((0, 0), dtype=np.int8)


def _runs_with(flatbuffer: bytes, example: np.ndarray, arena_size: int) -> bool:
    try:
        interpreter = _interpreter(flatbuffer, arena_size)
        interpreter.set_input(example.reshape(interpreter.get_input_details(0)["shape"]), 0)
        interpreter.invoke()
    except RuntimeError:
        return False
    return True


def measure_arena(flatbuffer: bytes, example: np.ndarray) -> ArenaSize:
    """Read the recording allocator's total, then search the smallest arena (16-byte steps) that runs."""
    example = np.asarray(example, dtype=np.int8)
    with captured_output() as log:
        interpreter = _interpreter(flatbuffer)
        interpreter.set_input(example.reshape(interpreter.get_input_details(0)["shape"]), 0)
        interpreter.invoke()
        interpreter.print_allocations()
    match = ARENA_TOTAL.search(log.text)
    if match is None:
        raise TflmError("TFLM did not report its arena allocations")
    recorded = int(match.group(1))
    # The host interpreter also places its own bookkeeping in the arena (64-bit pointers), so the smallest
    # working arena is a little above the recorded total: an upper bound for a 32-bit microcontroller.
    # Failures below the recorded total can crash the interpreter, so the search starts there.
    low, high = recorded // ARENA_ALIGNMENT, -(-_generous_arena(flatbuffer) // ARENA_ALIGNMENT)
    with captured_output():
        if not _runs_with(flatbuffer, example, high * ARENA_ALIGNMENT):
            raise TflmError("TFLM cannot run the model even with a generous arena")
        while low + 1 < high:  # invariant: high runs, low does not (or is the recorded floor)
            middle = (low + high) // 2
            if _runs_with(flatbuffer, example, middle * ARENA_ALIGNMENT):
                high = middle
            else:
                low = middle
    return ArenaSize(recorded_bytes=recorded, minimal_bytes=high * ARENA_ALIGNMENT)


def top1_agreement(first: np.ndarray, second: np.ndarray) -> float:
    """Share of examples on which two sets of scores pick the same class."""
    if len(first) == 0:
        return 1.0
    return float(np.mean(np.argmax(first, axis=1) == np.argmax(second, axis=1)))
