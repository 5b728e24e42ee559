"""`--serve`: a local `wordcrowd serve` on its own data directory, with limits raised for a crowd."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from simulation.client import SimulationError

# A crowd comes from one address and enrols, uploads and votes far faster than people: these settings
# lift the per-address and per-contributor limits (docs/simulate.md lists what a test crowd must change).
CROWD_SETTINGS = {
    "WORDCROWD_RATELIMIT_CONTRIBUTORS": "1000000 per hour",
    "WORDCROWD_RATELIMIT_UPLOADS": "1000000 per minute",
    "WORDCROWD_RATELIMIT_DEFAULT": "1000000 per minute",
    # every simulated voter is minutes old and may vote before recording: let their votes count
    "WORDCROWD_VOTER_MIN_AGE_HOURS": "0",
    "WORDCROWD_VOTER_MIN_CLIPS": "0",
}
START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 30


def free_port() -> int:
    """Return a TCP port on loopback that is free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_environment(data_dir: Path, extra: Mapping[str, str]) -> dict[str, str]:
    """Return the server's environment: none of the caller's WORDCROWD_* settings, the crowd's, then extra."""
    import wordcrowd

    env = {k: v for k, v in os.environ.items() if not k.startswith("WORDCROWD_")}
    # the server runs the same wordcrowd as this process, wherever it is imported from
    root = str(Path(wordcrowd.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    return {**env, "WORDCROWD_DATA_DIR": str(data_dir), **CROWD_SETTINGS, **extra}


def _wait_until_ready(url: str, process: subprocess.Popen, log: Path) -> None:
    """Poll the API until it answers; raise if the server exits or never answers."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise SimulationError(f"the local collector stopped at start: {tail[0]}")
        try:
            with urllib.request.urlopen(f"{url}/api/v1/campaigns", timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise SimulationError(f"the local collector did not answer within {START_TIMEOUT_S} s (log: {log})")


def _stop(process: subprocess.Popen) -> None:
    """Stop the server gracefully, killing it after STOP_TIMEOUT_S."""
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def create_campaign(directory: Path, extra: Mapping[str, str], arguments: list[str]) -> None:
    """Run `wordcrowd campaign create ARGUMENTS` on the local store (one that exists already is kept)."""
    command = [sys.executable, "-m", "wordcrowd", "campaign", "create", *arguments]
    result = subprocess.run(command, env=server_environment(directory, extra), cwd=directory, text=True,
                            capture_output=True, timeout=START_TIMEOUT_S, check=False)
    if result.returncode != 0 and "already exists" not in result.stderr:
        lines = result.stderr.strip().splitlines() or ["no output"]
        raise SimulationError(f"the local collector's campaign could not be made: {lines[-1]}")


@contextmanager
def local_collector(data_dir: Path | None = None, workers: int = 2, extra: Mapping[str, str] | None = None,
                    campaign: list[str] | None = None) -> Iterator[str]:
    """Run `wordcrowd serve` on a free port (data in data_dir, else a temporary one); yield its URL.

    `campaign` holds `wordcrowd campaign create` arguments for a campaign made before the server starts.
    """
    temporary = data_dir is None
    directory = Path(tempfile.mkdtemp(prefix="wordcrowd-crowd-")) if temporary else Path(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    if campaign:
        try:
            create_campaign(directory, extra or {}, campaign)
        except (SimulationError, subprocess.TimeoutExpired):
            if temporary:
                shutil.rmtree(directory, ignore_errors=True)
            raise
    port = free_port()
    log = directory / "serve.log"
    command = [sys.executable, "-m", "wordcrowd", "serve", "--port", str(port), "--workers", str(workers)]
    with log.open("ab") as output:
        process = subprocess.Popen(command, env=server_environment(directory, extra or {}), stdout=output,
                                   stderr=subprocess.STDOUT, cwd=directory)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(url, process, log)
        yield url
    finally:
        _stop(process)
        if temporary:
            shutil.rmtree(directory, ignore_errors=True)
