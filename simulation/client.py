"""A small client of the collector's HTTP API v1 (JSON and multipart over urllib; nothing else imported)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

TIMEOUT_S = 60
MAX_RETRY_AFTER_S = 10  # a 429 asking for a longer wait means the server's limits are not raised for a crowd
RETRIES = 3


class SimulationError(RuntimeError):
    """The crowd cannot go on (server unreachable, limits too low, an unexpected answer): one sentence."""


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status and the JSON body (None when there is none)."""

    status: int
    body: dict[str, Any] | None

    def error_code(self) -> str | None:
        """Return the API error code of a 4xx answer, or None."""
        error = (self.body or {}).get("error")
        return error.get("code") if isinstance(error, dict) else None


def _multipart(fields: dict[str, str], filename: str, audio: bytes) -> tuple[bytes, str]:
    """Encode text fields and one audio file as multipart/form-data; return body and content type."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="audio"; filename="{filename}"\r\n'
                 f"Content-Type: audio/wav\r\n\r\n".encode() + audio + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class ApiClient:
    """Calls the API at a base URL, waiting out short rate limits."""

    def __init__(self, base_url: str, timeout_s: float = TIMEOUT_S) -> None:
        self.base = base_url.rstrip("/") + "/api/v1"
        self.timeout_s = timeout_s

    def call(self, method: str, path: str, token: str | None = None, payload: dict | None = None,
             upload: tuple[dict[str, str], bytes] | None = None) -> Answer:
        """Send one request (JSON payload or multipart upload) and return the answer."""
        headers = {"Accept": "application/json"}
        data = None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if payload is not None:
            data, headers["Content-Type"] = json.dumps(payload).encode(), "application/json"
        elif upload is not None:
            data, headers["Content-Type"] = _multipart(upload[0], "take.wav", upload[1])
        for _ in range(RETRIES):
            status, body, retry_after = self._send(method, path, headers, data)
            if status != 429:
                return Answer(status, body)
            if retry_after > MAX_RETRY_AFTER_S:
                raise SimulationError(
                    f"the server rate-limits {method} {path} for {retry_after:.0f} s: run the crowd "
                    "against a server with raised limits (docs/simulate.md) or use --serve")
            time.sleep(retry_after)
        raise SimulationError(f"the server kept rate-limiting {method} {path} (docs/simulate.md)")

    def _send(self, method: str, path: str, headers: dict[str, str],
              data: bytes | None) -> tuple[int, dict | None, float]:
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return response.status, _json(response.read()), 0.0
        except urllib.error.HTTPError as exc:
            retry_after = exc.headers.get("Retry-After", "1")
            return exc.code, _json(exc.read()), float(retry_after) if retry_after.isdigit() else 1.0
        except (urllib.error.URLError, OSError) as exc:
            raise SimulationError(f"cannot reach the collector at {self.base}: {exc}") from None

    def expect(self, answer: Answer, *statuses: int, what: str) -> dict[str, Any]:
        """Return the body of an answer with an expected status, or raise SimulationError."""
        if answer.status not in statuses:
            raise SimulationError(f"{what} answered {answer.status} {answer.error_code() or ''}".rstrip())
        return answer.body or {}


def _json(raw: bytes) -> dict | None:
    """Parse a JSON object body, or return None."""
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
