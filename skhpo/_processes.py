"""Trials in local worker processes that skhpo starts, watches and replaces itself.

``scheduler="processes"``: a private ``distributed.LocalCluster`` of single-threaded
worker processes, started at ``fit`` and closed when it ends, runs the trials through
:class:`~skhpo._dask.DaskExecutor` (models resident on the worker that trains them, the
data sent once to each worker, a lost worker's trials recomputed). A trial that kills
its process (a segfault, ``os._exit``, the kernel's out-of-memory killer) takes only
that worker down: the nanny starts it again, and dask gives up on a task after
``distributed.scheduler.allowed-failures`` deaths (the trial is recorded as failed).

A worker whose resident memory passes ``memory_limit`` after a task is retired
gracefully: a replacement is started first, no new task goes to the old worker, the
trials whose models it holds continue on the others (the model travels once, pickled,
when its next task runs elsewhere, or when the old worker is retired), and once it runs
nothing, the cluster's own scale-down moves what it still holds and stops its process.
No model restarts from scratch: TensorFlow never gives back the few MiB it keeps per
Keras model built (TF issue 61791), so a long search stays within its memory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import heapq
import itertools
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import dask
import psutil
from dask.utils import parse_bytes
from distributed import Client, LocalCluster, WorkerPlugin, get_worker
from distributed.system import MEMORY_LIMIT

from . import _worker
from ._dask import DaskExecutor, _Completed, _DaskStep
from ._records import StepRecord
from .exceptions import TrialLostError

__all__ = ["ProcessesExecutor", "memory_limit_bytes"]

logger = logging.getLogger("skhpo")

# The workers' dask configuration. Offload off: a worker's event loop then seldom draws
# from Python's global ``random``, which scikeras seeds for each fit (the cluster guide
# says why); dask's own memory management off: it would spill live models to disk,
# pause, or kill a worker with its models, where skhpo retires it gracefully.
#: Seconds to wait for a replacement worker to start.
_START_TIMEOUT = 120

_WORKER_CONFIG = {
    "distributed.comm.offload": False,
    "distributed.worker.memory.target": False,
    "distributed.worker.memory.spill": False,
    "distributed.worker.memory.pause": False,
    "distributed.worker.memory.terminate": False,
}

# A task that killed its worker this many times is not run again: its trial fails.
_MAX_STARTS = 2

# dask's own count of the deaths of workers that had a task (skhpo's count above is
# the one that decides): high, since dask also counts the tasks that only waited there,
# recomputing the models the crash took with it.
_ALLOWED_FAILURES = 50

# Environment of the worker processes: dask's nanny sets one BLAS/OpenMP thread per
# worker by default; skhpo's workers share the machine's cores between them instead.
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def memory_limit_bytes(limit: float | int | str | None, n_workers: int) -> int:
    """``worker_memory_limit`` in bytes: a fraction of the machine's memory (None: half
    of it, shared by the workers), a number of bytes, or a string such as ``"4GiB"``."""
    if limit is None:
        return int(MEMORY_LIMIT * 0.5 / n_workers)
    if isinstance(limit, str):
        return parse_bytes(limit)
    if limit <= 1:
        return int(MEMORY_LIMIT * limit)
    return int(limit)


def _worker_env(n_workers: int) -> dict[str, str]:
    share = str(max(1, (os.cpu_count() or 1) // n_workers))
    return {name: os.environ.get(name, share) for name in _THREAD_VARIABLES}


class ProcessesExecutor(DaskExecutor):
    """A :class:`~skhpo._dask.DaskExecutor` on a private ``LocalCluster`` of
    ``n_workers`` single-threaded worker processes, each replaced when its resident
    memory passes ``memory_limit`` bytes after a task."""

    def __init__(self, n_workers: int = 1, memory_limit: int | None = None) -> None:
        # LocalCluster closes the nanny of a worker that has been gone for
        # ``lost-worker-timeout`` (read when the worker leaves): a nanny restarting a
        # worker that a trial crashed again and again would be closed, leaving no
        # worker. skhpo's nannies stay until the search ends.
        # What is started here is undone, in reverse order, if a later start fails.
        with contextlib.ExitStack() as undo:
            self._config = dask.config.set(
                {
                    "distributed.deploy.lost-worker-timeout": "1 day",
                    "distributed.scheduler.allowed-failures": _ALLOWED_FAILURES,
                }
            )
            undo.callback(self._config.__exit__, None, None, None)
            self._starts = tempfile.mkdtemp(prefix="skhpo-starts-")
            undo.callback(shutil.rmtree, self._starts, ignore_errors=True)
            self.cluster = LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                # no dashboard; the scheduler's HTTP routes (health, metrics) on a free port
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                host="127.0.0.1",
                memory_limit=0,  # dask's limit off; skhpo's is memory_limit
                config=_WORKER_CONFIG,
                env=_worker_env(n_workers),
                silence_logs=logging.ERROR,
            )
            undo.callback(self.cluster.close)
            client = Client(self.cluster, set_as_default=False)
            undo.pop_all()
        super().__init__(client, own_client=True)
        client.register_plugin(_OwnRandom())
        self.n_workers = n_workers
        self.memory_limit = memory_limit
        self._draining: dict[str, Any] = {}  # address -> worker name, no new tasks
        self._retired: set[str] = set()
        self.recycled = 0  # workers replaced for memory (diagnostics, tests)
        self._in_flight = 0  # training tasks launched whose records were not taken yet
        self._waiting: dict[_DaskStep, tuple] = {}  # steps not launched yet, in order

    def put(self, obj: Any) -> Any:
        """Send ``obj`` to every worker as a worker plugin, which dask sets up again on
        a worker that its nanny restarts (a trial killed it): the data outlives the
        workers, and no task is forgotten with it. Tasks get a small reference."""
        ref = _DataRef(f"skhpo-data-{self._token}-{len(self._data)}")
        self.client.register_plugin(_HoldData(ref.name, obj))
        self._data.append(ref)
        return ref

    def _submit_pair(self, recipe: Any, args: tuple, workers: list | None) -> Any:
        guarded = dataclasses.replace(recipe, fn=partial(_guarded, recipe.fn, self._starts))
        return super()._submit_pair(guarded, args, workers)

    # -- one training task per worker at a time ---------------------------------------

    def submit(
        self, fn: Callable[..., tuple[Any, Any]], *args: Any, key: str = "", priority: int = 0
    ) -> _DaskStep:
        """Launch the task if a worker is free, else keep it here until one is.

        dask would queue every task on a worker at once, and a worker that dies counts
        against every task queued on it (``allowed-failures``): a trial that crashes its
        worker would fail the trials queued behind it too. So skhpo hands each worker
        one training task at a time, the highest ``priority`` first, then in submission
        order (as the in-process executor runs them).
        """
        if self._in_flight < self.n_workers:
            self._in_flight += 1
            return super().submit(fn, *args, key=key, priority=priority)
        step = _DaskStep(self, None, None, None)
        self._waiting[step] = (fn, args, key, priority)
        return step

    def _launch_waiting(self, step: _DaskStep) -> None:
        fn, args, key, priority = self._waiting.pop(step)
        launched = super().submit(fn, *args, key=key, priority=priority)
        step.pair, step.record_future, step.recipe = (
            launched.pair,
            launched.record_future,
            launched.recipe,
        )
        self._in_flight += 1

    def as_completed(self, steps: Iterable[_DaskStep]) -> _OneAtATime:
        return _OneAtATime(steps, self)

    def release(self, step: _DaskStep) -> None:
        if self._waiting.pop(step, None) is None and step.pair is not None:
            super().release(step)

    def _placement(self, workers: list | None) -> tuple[list | None, bool]:
        if not self._draining:
            return super()._placement(workers)
        # asked again each time: a worker that a trial crashed comes back at another address
        healthy = [a for a in self._workers() if a not in self._draining and a not in self._retired]
        return healthy, False

    def _recorded(self, record: StepRecord) -> None:
        if self._draining:
            self._retire_idle()
        if self.memory_limit is None or record.pid is None or record.worker is None:
            return
        if record.worker in self._draining or record.worker in self._retired:
            return
        try:
            rss = psutil.Process(record.pid).memory_info().rss
        except psutil.Error:  # the worker is gone already
            return
        if rss > self.memory_limit:
            self._replace(record.worker, rss)

    def _workers(self) -> dict[str, dict]:
        return self.client.scheduler_info(n_workers=-1)["workers"]

    def _replace(self, address: str, rss: int) -> None:
        """Start a worker to replace ``address``, and send no new task to ``address``."""
        workers = self._workers()
        if address not in workers:
            return
        logger.info(
            "skhpo: worker %s holds %.0f MiB, over worker_memory_limit=%.0f MiB: "
            "replacing it; its models continue on the other workers",
            address,
            rss / 2**20,
            self.memory_limit / 2**20,
        )
        self.cluster.scale(len(self.cluster.worker_spec) + 1)
        running = [a for a in workers if a not in self._retired]
        try:
            self.client.wait_for_workers(len(running) + 1, timeout=_START_TIMEOUT)
        except TimeoutError:  # no new worker: keep this one rather than wait forever
            logger.warning(
                "skhpo: no new worker started within %d s; %s stays in use", _START_TIMEOUT, address
            )
            return
        self._draining[address] = workers[address]["name"]
        self.recycled += 1
        self._retire_idle()

    def _retire_idle(self) -> None:
        """Close the draining workers that run nothing any more: the cluster's scale-down
        moves what they hold (models of trials waiting for their next rung) first."""
        processing = self.client.processing(list(self._draining))
        idle = [a for a in self._draining if not processing.get(a)]
        if not idle:
            return
        self._retired.update(idle)
        self.client.retire_workers(idle, close_workers=True)
        for address in idle:
            self.cluster.worker_spec.pop(self._draining.pop(address), None)
        self.cluster.scale(len(self.cluster.worker_spec))  # forgets the retired ones

    def close(self) -> None:
        self._data = []
        try:
            super().close()
        finally:
            try:
                self.cluster.close()
            finally:
                self._config.__exit__(None, None, None)
                shutil.rmtree(self._starts, ignore_errors=True)


class _OneAtATime(_Completed):
    """``as_completed`` of :class:`ProcessesExecutor`: a step kept waiting is launched,
    the highest priority first, each time a launched one is taken."""

    def __init__(self, steps: Iterable[_DaskStep], executor: ProcessesExecutor) -> None:
        self._executor = executor
        self._queue: list[tuple[int, int, _DaskStep]] = []
        self._count = itertools.count()
        super().__init__(steps, executor.client)

    def add(self, step: _DaskStep) -> None:
        if step in self._executor._waiting:
            priority = self._executor._waiting[step][3]
            heapq.heappush(self._queue, (-priority, next(self._count), step))
        else:
            super().add(step)

    def __next__(self) -> _DaskStep:
        step = super().__next__()
        executor = self._executor
        executor._in_flight -= 1
        while self._queue and executor._in_flight < executor.n_workers:
            waiting = heapq.heappop(self._queue)[2]
            if waiting in executor._waiting:  # not released meanwhile
                executor._launch_waiting(waiting)
                super().add(waiting)
        return step


@dataclasses.dataclass(frozen=True)
class _DataRef:
    """Stands, in a task's arguments, for the data a :class:`_HoldData` plugin holds."""

    name: str


class _OwnRandom(WorkerPlugin):
    """Give dask's modules in the worker a ``random.Random`` of their own.

    scikeras seeds Python's global ``random`` for each fit and Keras draws its layer
    seeds from it; the worker's event loop draws from the same generator when it backs
    off a connection, jitters a retry or samples a message's size, at times that vary
    from run to run. Its own generator keeps those draws out of the trials' seeds.
    """

    name = "skhpo-own-random"
    idempotent = True

    def setup(self, worker: Any) -> None:
        import random
        import sys

        for module in _RANDOM_USERS:
            mod = sys.modules.get(module)
            if mod is not None and getattr(mod, "random", None) is random:
                mod.random = random.Random()


_RANDOM_USERS = (
    "dask.sizeof",
    "distributed.comm.core",
    "distributed.utils_comm",
    "distributed.worker",
    "distributed.worker_state_machine",
)


class _HoldData(WorkerPlugin):
    """Holds one object of :meth:`ProcessesExecutor.put` in each worker process."""

    def __init__(self, name: str, obj: Any) -> None:
        self.name = name
        self.obj = obj


def _guarded(fn: Callable[..., Any], starts: str, *args: Any) -> Any:
    """``fn(*args)``, each :class:`_DataRef` replaced by the data this worker holds;
    :class:`~skhpo.exceptions.TrialLostError` instead when this task started
    ``_MAX_STARTS`` times already and never ended: it killed its worker process each
    time (a segfault, ``os._exit``, the kernel's out-of-memory killer).

    Each start of the task is a line in a file of ``starts`` (a folder of the driver's
    machine, which the local workers share), removed when the task ends. A trial still
    running past its ``timeout`` in code that does not return to Python ends the process
    (:data:`skhpo._worker.hard_stop`), noting it there: its next start fails the trial
    with the timeout's message.
    """
    worker = get_worker()
    key = str(worker.get_current_task())
    path = os.path.join(starts, hashlib.sha1(key.encode()).hexdigest())
    with open(path, "a+") as f:
        f.seek(0)
        lines = f.read().splitlines()
        n_starts = len(lines)
        f.write(f"{os.getpid()}\n")
    timed_out = [line[len("timeout ") :] for line in lines if line.startswith("timeout ")]
    if timed_out:
        os.remove(path)
        raise TrialLostError(
            f"TrialTimeoutError: {timed_out[0]}, and its worker process was ended: the "
            "trial was running code that did not return to Python"
        )
    if n_starts >= _MAX_STARTS:
        os.remove(path)
        raise TrialLostError(
            f"the trial's task ended its worker process {n_starts} times (a crash such as "
            "a segfault, os._exit, or the kernel's out-of-memory killer); see the "
            "workers' log"
        )
    _worker.hard_stop = partial(_end_process, path)
    try:
        plugins = worker.plugins
        return fn(*(plugins[a.name].obj if isinstance(a, _DataRef) else a for a in args))
    finally:
        _worker.hard_stop = None
        with contextlib.suppress(OSError):
            os.remove(path)


def _end_process(path: str, message: str) -> None:
    """End this worker process: its task is stuck past its timeout in code that does
    not return to Python. The task's next start reads why, and fails its trial."""
    with open(path, "a") as f:
        f.write(f"timeout {message}\n")
    os._exit(70)
