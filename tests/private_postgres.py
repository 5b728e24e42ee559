"""A private PostgreSQL server for one test (initdb + pg_ctl on a free port), to stop and start at will."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import free_port


def postgres_bin() -> Path | None:
    """Return the directory of the newest installed PostgreSQL server programs, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster in a temporary directory, run as the postgres user when started by root."""

    bin: Path
    data: Path
    port: int

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of its postgres database (trust authentication)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, program: str, *args: str) -> None:
        """Run a server program (as postgres when we are root: the server refuses to run as root)."""
        command = [str(self.bin / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run("pg_ctl", "-D", str(self.data / "db"), "-l", str(self.data / "log"), "-o", options, "-w",
                 "start")

    def stop(self) -> None:
        """Stop the server at once (fast mode: open sessions are terminated, as in a restart)."""
        self.run("pg_ctl", "-D", str(self.data / "db"), "-m", "fast", "-w", "stop")


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """Create, start and finally remove a private PostgreSQL cluster."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL server programs are not installed (/usr/lib/postgresql/*/bin)")
    data = Path(tempfile.mkdtemp(prefix="wc-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    server = PrivatePostgres(bin_dir, data, free_port())
    try:
        server.run("initdb", "-D", str(data / "db"), "-A", "trust", "-U", "postgres", "--no-sync")
        server.start()
        yield server
    finally:
        try:
            server.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(data, ignore_errors=True)
