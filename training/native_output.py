"""Capture what native code (the TFLite converter, the TFLM interpreter) writes to stdout and stderr."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from collections.abc import Iterator


class Captured:
    """Text written while a capture was active; filled in when the capture ends."""

    def __init__(self) -> None:
        self.text = ""


@contextlib.contextmanager
def captured_output() -> Iterator[Captured]:
    """Redirect file descriptors 1 and 2 (and Python's streams) into a buffer for the block's duration."""
    # Converter and interpreter log from C++ straight to the descriptors, so sys.stdout redirection alone
    # would miss them; their chatter must not reach the CLI user, but print_allocations() is data we parse.
    result = Captured()
    python_streams = io.StringIO()
    with tempfile.TemporaryFile(mode="w+b") as sink:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(AttributeError, ValueError, OSError):
                stream.flush()
        saved = [os.dup(1), os.dup(2)]
        try:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            with contextlib.redirect_stdout(python_streams), contextlib.redirect_stderr(python_streams):
                yield result
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for descriptor in saved:
                os.close(descriptor)
            sink.seek(0)
            result.text = sink.read().decode("utf-8", "replace") + python_streams.getvalue()
