"""What the benchmark machine spends and where it writes: CPU meters from /proc, fresh data directories.

The CPU meters count user and system time of the server's process group, of PostgreSQL and of the whole
machine over the timed load, so a report can say what each clip cost and how much the rest of the machine
(other people's work on a shared box) took. The data directories are made where creating a file costs
what it costs on a quiet disk (see topdir_parent).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def process_cpu_s(match) -> tuple[float, float]:
    """Sum (user, system) CPU seconds of the live processes whose comm and pgrp satisfy match(comm, pgrp)."""
    user = system = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                stat = handle.read()
        except OSError:  # gone since the listing
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if match(comm, int(fields[2])):
            user, system = user + int(fields[11]), system + int(fields[12])
    return user * TICK_S, system * TICK_S


def machine_cpu_s() -> tuple[float, float]:
    """Return (busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) * TICK_S, sum(values[:8]) * TICK_S


class CpuMeter:
    """CPU seconds spent by the server's process group, PostgreSQL and the whole machine over an interval."""

    def __init__(self, server_pgid: int) -> None:
        self.server = lambda comm, pgrp: pgrp == server_pgid
        self.postgres = lambda comm, pgrp: comm.startswith("postgres")
        self.start = self.read()

    def read(self) -> tuple[float, ...]:
        """Return server user, server system, postgres, machine busy and machine total CPU seconds now."""
        server_user, server_system = process_cpu_s(self.server)
        return (server_user, server_system, sum(process_cpu_s(self.postgres)), *machine_cpu_s())

    def stop(self) -> dict[str, float]:
        """Return the CPU seconds spent since the meter started."""
        spent = [b - a for a, b in zip(self.start, self.read(), strict=True)]
        names = ("server_user_s", "server_system_s", "postgres_cpu_s", "machine_busy_s", "machine_cpu_s")
        return {**dict(zip(names, spent, strict=True)), "server_cpu_s": spent[0] + spent[1]}


FS_IOC_GETFLAGS, FS_IOC_SETFLAGS, FS_TOPDIR_FL = 0x80086601, 0x40086602, 0x00020000
DATA_PARENT = Path("/var/tmp/wordcrowd-bench")
FRESH_CREATE_MS = 0.05  # an empty file's creation on this disk costs 0.015 ms when nothing was just deleted


def topdir_parent(path: Path) -> Path:
    """Create `path` and mark it an ext4 top directory, so each data directory gets its own block group."""
    # Every test run on this machine creates and deletes thousands of files under /tmp; ext4 then skips
    # the recently deleted inodes of that block group on every file creation (0.5 ms of kernel CPU each),
    # which a long-lived blob directory would not pay. With the TOPDIR flag the Orlov allocator spreads
    # new subdirectories over uncrowded block groups instead.
    import array
    import fcntl

    path.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        flags = array.array("i", [0])
        fcntl.ioctl(fd, FS_IOC_GETFLAGS, flags, True)
        flags[0] |= FS_TOPDIR_FL
        fcntl.ioctl(fd, FS_IOC_SETFLAGS, flags)
    except OSError as exc:  # not ext4, or not allowed: the figures then say what file creation cost
        print(f"note: could not mark {path} as a top directory ({exc.strerror})", flush=True)
    finally:
        os.close(fd)
    return path


def file_create_ms(directory: Path, count: int = 200) -> float:
    """Return the CPU milliseconds one empty file creation costs in `directory` (the files stay)."""
    probe = directory / "create-probe"
    probe.mkdir()
    start = time.process_time()
    for i in range(count):
        os.close(os.open(probe / str(i), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return (time.process_time() - start) * 1000 / count


def fresh_data_dir(parent: Path, kind: str, tries: int = 8) -> tuple[Path, float]:
    """Make a data directory where creating a file costs what it does on a quiet disk; return both."""
    # Orlov picks a random uncrowded block group for each new directory under a top directory, but it
    # may still pick one where the last run deleted its files: then try another (FRESH_CREATE_MS).
    for _ in range(tries):
        data_dir = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=parent))
        create_ms = file_create_ms(data_dir)
        if create_ms <= FRESH_CREATE_MS:
            break
        shutil.rmtree(data_dir)
    else:
        data_dir = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=parent))
        create_ms = file_create_ms(data_dir)
        print(f"note: file creation costs {create_ms:.3f} ms in {data_dir}: the disk is busy", flush=True)
    return data_dir, create_ms


def load_note() -> str:
    """Say how busy the machine was when a benchmark ended (above the core count, others shared it)."""
    return f"Load average when done: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores."


def record_results(lines: list[str]) -> None:
    """Print a benchmark's Markdown section and append it to benchmarks/RESULTS.md."""
    text = "\n".join(lines)
    print(text)
    with (Path(__file__).resolve().parent / "RESULTS.md").open("a") as results:
        results.write("\n" + text)
