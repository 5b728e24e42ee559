"""The TFLM op resolver a model needs: MicroMutableOpResolver with exactly the model's builtin ops."""

from __future__ import annotations

# Where TFLM's method name is not the CamelCase of the builtin's name.
SPECIAL_METHODS = {"UNIDIRECTIONAL_SEQUENCE_LSTM": "AddUnidirectionalSequenceLSTM"}


def resolver_method(op: str) -> str:
    """TFLM's MicroMutableOpResolver method for a builtin op name, e.g. CONV_2D -> AddConv2D."""
    if op in SPECIAL_METHODS:
        return SPECIAL_METHODS[op]
    parts = op.split("_")  # "2D" stays "2D", "RELU6" becomes "Relu6", "N1" stays "N1"
    return "Add" + "".join(part if part[:1].isdigit() else part[:1] + part[1:].lower() for part in parts)


def op_resolver_lines(ops: list[str], variable: str = "op_resolver") -> list[str]:
    """C++ statements declaring the resolver and registering each op (checked, in model order)."""
    lines = [f"static tflite::MicroMutableOpResolver<{len(ops)}> {variable};"]
    lines += [f"if ({variable}.{resolver_method(op)}() != kTfLiteOk) return false;" for op in ops]
    return lines
