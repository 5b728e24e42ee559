"""Where the checks' pure steps run: a pool of worker processes kept for a whole run (map and reduce), or
the calling process alone."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

# Imported once in the fork server, so each worker starts as a fork of a process that has them (a spawned
# worker pays ~1.5 s of CPU importing scipy.signal, scikit-learn and the store's models).
PRELOAD = ["curation.checks.runner", "sklearn.linear_model", "faiss"]


def _ready() -> bool:
    return True


class Workers:
    """`count` worker processes started on entry and kept until exit; with a count of 1, this process."""

    def __init__(self, count: int) -> None:
        self.count = max(1, count)
        self._pool: ProcessPoolExecutor | None = None

    @property
    def parallel(self) -> bool:
        """Say whether work goes to other processes."""
        return self._pool is not None

    def __enter__(self) -> Workers:
        if self.count > 1:
            self._pool = ProcessPoolExecutor(max_workers=self.count, mp_context=_context())
            for _ in range(self.count):  # start every worker now, while the caller reads the store
                self._pool.submit(_ready)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def submit(self, function: Callable[..., Any], *args: Any) -> Future:
        """Run function(*args) in a worker (here, at once, without a pool); return its future."""
        if self._pool is not None:
            return self._pool.submit(function, *args)
        future: Future = Future()
        try:
            future.set_result(function(*args))
        except Exception as exc:  # noqa: BLE001 - handed to the caller through the future, as a pool does
            future.set_exception(exc)
        return future

    def map(self, function: Callable[..., Any], *iterables: Iterable[Any]) -> Iterator[Any]:
        """Return function's results over the iterables, in order (lazily without a pool)."""
        if self._pool is not None:
            return self._pool.map(function, *iterables)
        return map(function, *iterables)


SERIAL = Workers(1)  # the calling process: the default of every step that can use a pool


def _context() -> multiprocessing.context.BaseContext:
    """A fork server with the checks' modules loaded where the platform has one (fresh workers, no
    inherited database engine or threads, no import each); else spawned workers."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)  # no effect once this process's fork server runs
    return context
