"""A real `wordcrowd serve` (gunicorn) on a free port for tests and benchmarks, and clients that abuse it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.conftest import free_port

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Served:
    """A running `wordcrowd serve`: its URL, port, arbiter process and log."""

    url: str
    port: int
    proc: subprocess.Popen
    log: Path

    def worker_pids(self) -> list[int]:
        """Return the pids of the gunicorn workers (the arbiter's children)."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        return [int(pid) for pid in children]


def answers(url: str) -> bool:
    """Tell whether the collector answers its campaign list."""
    try:
        return requests.get(f"{url}/api/v1/campaigns", timeout=2).status_code == 200
    except requests.RequestException:
        return False


@contextmanager
def serving(data_dir: Path, workers: int = 2, **settings: str) -> Iterator[Served]:
    """Run `wordcrowd serve` on a fresh data directory until the block ends (settings: WORDCROWD_* values)."""
    port = free_port()
    env = {**os.environ, "WORDCROWD_DATA_DIR": str(data_dir), "WORDCROWD_SECRET_KEY": "served-test-secret",
           "PYTHONPATH": str(ROOT), **{f"WORDCROWD_{k}": v for k, v in settings.items()}}
    log = data_dir / "server.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        command = [str(BIN / "wordcrowd"), "serve", "--port", str(port), "--workers", str(workers)]
        proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not answers(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield Served(url, port, proc, log)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def consenting_token(url: str, campaign: str) -> str:
    """Enrol a contributor through the HTTP API and consent to the campaign; return its bearer token."""
    token = requests.post(f"{url}/api/v1/contributors", timeout=10).json()["token"]
    version = requests.get(f"{url}/api/v1/campaigns/{campaign}/consent", timeout=10).json()["version"]
    consent = {"consent_version": version, "license": "CC0-1.0", "age_confirmed": True}
    answer = requests.post(f"{url}/api/v1/campaigns/{campaign}/consent", json=consent, timeout=10,
                           headers={"Authorization": f"Bearer {token}"})
    answer.raise_for_status()
    return token


def peak_rss_bytes(pid: int) -> int:
    """Return a process's peak resident set size (VmHWM) in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


@dataclass
class SlowClients:
    """Connections that send a request one byte per interval and never finish it (slowloris)."""

    port: int
    count: int
    interval_s: float = 1.0
    prefix: bytes = b""  # sent at once on connecting
    request: bytes = b"GET /api/v1/campaigns HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 4000
    sockets: list[socket.socket] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> SlowClients:
        for _ in range(self.count):
            self.sockets.append(socket.create_connection(("127.0.0.1", self.port), timeout=5))
            if self.prefix:
                self.sockets[-1].sendall(self.prefix)
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()
        return self

    def _trickle(self) -> None:
        for byte in self.request:
            for sock in self.sockets:
                try:
                    sock.send(bytes([byte]))
                except OSError:
                    pass  # the server closed it: that is its right
            if self._stop.wait(self.interval_s):
                return

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for sock in self.sockets:
            sock.close()
