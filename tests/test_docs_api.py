"""docs/api.md stays true to the code: every call in the OpenAPI document and every error code is there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from collector.errors import HTTP_CODES
from collector.openapi import openapi_document

ROOT = Path(__file__).resolve().parent.parent
PAGE = (ROOT / "docs" / "api.md").read_text("utf-8")
CALLS = [(method.upper(), path) for path, item in openapi_document()["paths"].items() for method in item]
_PARAMETER = re.compile(r"\{(\w+)\}")
# an error raised in the collector: ApiError's subclasses and IngestError take the code first
_ERROR_CLASSES = "ApiError|BadRequest|Unauthorized|Forbidden|NotFound|Conflict|IngestError"
_RAISED = re.compile(rf"\b(?:{_ERROR_CLASSES})\(\s*\"(\w+)\"")


def raised_codes() -> list[str]:
    """Every error code the collector's source raises by name."""
    codes = {"validation_error", "internal_error", *HTTP_CODES.values()}
    for source in sorted((ROOT / "collector").glob("*.py")):
        codes.update(_RAISED.findall(source.read_text("utf-8")))
    return sorted(codes)


@pytest.mark.parametrize(("method", "path"), CALLS, ids=[f"{m} {p}" for m, p in CALLS])
def test_every_call_has_a_section(method: str, path: str) -> None:
    """A section headed `METHOD /path` per call, path parameters written <name>."""
    heading = "### `{} {}`".format(method, _PARAMETER.sub(r"<\1>", path))
    assert heading in PAGE.splitlines(), f"docs/api.md has no section {heading}"


@pytest.mark.parametrize("code", raised_codes())
def test_every_error_code_is_documented(code: str) -> None:
    assert f"`{code}`" in PAGE, f"docs/api.md does not mention the error code {code}"
