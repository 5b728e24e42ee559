"""Where the checks' pure steps run: a pool of worker processes kept for a whole run (map and reduce), or
the calling process alone."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from curation.checks.records import CheckError

# Imported once in the fork server, so each worker starts as a fork of a process that has them (a spawned
# worker pays ~1.5 s of CPU importing scipy and the store's models).
PRELOAD = ["curation.checks.runner"]


def _ready() -> bool:
    return True


class Workers:
    """`count` worker processes, started in the background on entry and kept until exit; with a count of
    1, this process alone."""

    def __init__(self, count: int) -> None:
        self.count = max(1, count)
        self._pool: ProcessPoolExecutor | None = None
        self._started = threading.Event()
        self._starter: threading.Thread | None = None
        self._failure: BaseException | None = None

    @property
    def parallel(self) -> bool:
        """Say whether work goes to other processes."""
        return self.count > 1

    def __enter__(self) -> Workers:
        if self.parallel:  # the fork server imports for a second or two: the caller goes on meanwhile
            self._starter = threading.Thread(target=self._start, name="check-workers", daemon=True)
            self._starter.start()
        return self

    def _start(self) -> None:
        try:
            self._pool = ProcessPoolExecutor(max_workers=self.count, mp_context=_context())
            for started in [self._pool.submit(_ready) for _ in range(self.count)]:
                started.result()
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread by _ready_pool
            self._failure = exc
        finally:
            self._started.set()

    def _ready_pool(self) -> ProcessPoolExecutor:
        self._started.wait()
        if self._failure is not None or self._pool is None:
            raise CheckError(f"the check workers did not start ({self._failure})") from self._failure
        return self._pool

    def __exit__(self, *exc_info: object) -> None:
        if self._starter is not None:
            self._starter.join()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def map(self, function: Callable[..., Any], *iterables: Iterable[Any]) -> Iterator[Any]:
        """Return function's results over the iterables, in order (lazily without a pool)."""
        if self.parallel:
            return self._ready_pool().map(function, *iterables)
        return map(function, *iterables)

    def share(self, function: Callable[..., Any], items: Sequence[Any], *args: Any) -> Iterator[Any]:
        """Return function(item, *args) for each item, in order. Until the workers have started, this
        process works through items from the end itself; the workers get the rest."""
        if not self.parallel:
            return (function(item, *args) for item in items)
        here: dict[int, Any] = {}
        rest = len(items)
        while rest > 1 and not self._started.is_set():
            rest -= 1
            here[rest] = function(items[rest], *args)
        pool = self._ready_pool()
        futures = [pool.submit(function, item, *args) for item in items[:rest]]
        return (here[index] if index in here else futures[index].result() for index in range(len(items)))


SERIAL = Workers(1)  # the calling process: the default of every step that can use a pool


def _context() -> multiprocessing.context.BaseContext:
    """A fork server with the checks' modules loaded where the platform has one (fresh workers, no
    inherited database engine or threads, no import each); else spawned workers."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)  # no effect once this process's fork server runs
    return context
