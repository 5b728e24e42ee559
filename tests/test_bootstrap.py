"""scripts/bootstrap.sh waits for another package manager's locks instead of failing (real apt-get)."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HOLD_S = 3.0

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("apt-get") is None,
                       reason="needs root and apt-get (the script installs Debian packages only as root)"),
]


def apt_sandbox(root: Path) -> None:
    """An APT_CONFIG whose dpkg status, package lists, cache and lock files live under root.

    apt sees the machine's installed packages (a copy of the dpkg status) but no package sources, so
    `update` reads nothing from the network and `install` of installed packages does nothing; the
    machine's own locks are never touched.
    """
    for folder in ("dpkg", "lists/partial", "sources.list.d", "cache/archives/partial"):
        (root / folder).mkdir(parents=True)
    shutil.copy("/var/lib/dpkg/status", root / "dpkg" / "status")
    for lock in ("dpkg/lock", "dpkg/lock-frontend", "lists/lock"):
        (root / lock).touch()
    (root / "apt.conf").write_text(
        f'Dir::State::status "{root}/dpkg/status";\nDir::State::Lists "{root}/lists";\n'
        f'Dir::Etc::sourcelist "/dev/null";\nDir::Etc::sourceparts "{root}/sources.list.d";\n'
        f'Dir::Cache "{root}/cache";\n')


def fake_tools(root: Path) -> tuple[Path, Path]:
    """A dpkg-query that reports every package missing, and a venv whose python does nothing (no pip)."""
    tools, venv = root / "tools", root / "venv"
    (venv / "bin").mkdir(parents=True)
    tools.mkdir()
    for script in (tools / "dpkg-query", venv / "bin" / "python"):
        script.write_text("#!/bin/sh\nexit 0\n")
        script.chmod(0o755)
    return tools, venv


def hold_locks(paths: list[Path], seconds: float) -> threading.Event:
    """Hold fcntl locks (the kind apt and dpkg take) on paths for a while; the event is set once held."""
    held = threading.Event()

    def run() -> None:
        handles = [path.open("w") for path in paths]
        for handle in handles:
            fcntl.lockf(handle, fcntl.LOCK_EX)
        held.set()
        time.sleep(seconds)
        for handle in handles:
            handle.close()

    threading.Thread(target=run, daemon=True).start()
    return held


def bootstrap(root: Path) -> subprocess.CompletedProcess:
    """Run scripts/bootstrap.sh in the apt sandbox under root, with the fake tools."""
    tools, venv = fake_tools(root)
    env = {**os.environ, "APT_CONFIG": str(root / "apt" / "apt.conf"),
           "PATH": f"{tools}:{os.environ['PATH']}"}
    return subprocess.run(["bash", str(ROOT / "scripts" / "bootstrap.sh"), str(venv), "train"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("lock", ["lists/lock", "dpkg/lock-frontend"])
def test_bootstrap_waits_for_the_package_locks(lock, tmp_path):
    """Another installer holds the lists lock (update) or dpkg's (install): bootstrap waits, then goes on."""
    apt_sandbox(tmp_path / "apt")
    assert hold_locks([tmp_path / "apt" / lock], HOLD_S).wait(5)
    started = time.monotonic()
    result = bootstrap(tmp_path)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert "installing Debian packages" in result.stdout and "installing wordcrowd[train]" in result.stdout
    assert elapsed >= HOLD_S - 0.5, (elapsed, result.stderr)
    if lock == "lists/lock":
        assert "another package manager holds the package lists; waiting" in result.stderr


def test_bootstrap_does_not_retry_other_apt_failures(tmp_path):
    """A broken sources list is not a lock: bootstrap fails at once with apt's own message."""
    apt_sandbox(tmp_path / "apt")
    (tmp_path / "apt" / "sources.list.d" / "broken.list").write_text("this is not a source line\n")
    started = time.monotonic()
    result = bootstrap(tmp_path)
    assert result.returncode != 0 and time.monotonic() - started < 2.0
    assert "broken.list" in result.stderr and "waiting" not in result.stderr
