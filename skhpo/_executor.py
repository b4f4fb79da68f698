"""The executor protocol, and the in-process executor that runs when no cluster is there.

The driver never calls a task body itself: it asks an executor to run it. A task body
returns a pair ``(state, record)``: ``state`` is the trial's live object (its model),
which stays where the task ran and is only passed, as an opaque handle, to the next task
of the same trial; ``record`` is a small value that travels back to the driver. An
executor for a cluster keeps ``state`` on the worker; the in-process executor simply
holds it. One task that is not a trial's, the refit, goes through :meth:`Executor.call`,
so that it runs where the trials run.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

__all__ = ["Completed", "Executor", "InProcessExecutor", "Step"]


class Step(Protocol):
    """A submitted task: its trial's live state stays remote, its record comes back."""

    @property
    def handle(self) -> Any:
        """Opaque handle of the trial's live state (a :class:`~skhpo._worker.TrialState`),
        to pass to the trial's next task or to :meth:`Executor.fetch`."""

    def record(self) -> Any:
        """The task's small record; re-raises the task's exception if it raised."""


class Completed(Protocol):
    """Iterator over finished steps, to which new steps can be added while iterating."""

    def __iter__(self) -> Iterator[Step]: ...

    def __next__(self) -> Step: ...

    def add(self, step: Step) -> None: ...


class Executor(Protocol):
    """What the driver and the search classes need from a place that runs tasks."""

    #: Whether a task may run again after it finished (a cluster recomputes what a lost
    #: worker held); the trial tasks then read back what the storage holds.
    reruns_tasks: bool

    def put(self, obj: Any) -> Any:
        """Make ``obj`` (data shared by every task) available to tasks; return a handle."""

    def submit(
        self, fn: Callable[..., tuple[Any, Any]], *args: Any, key: str = "", priority: int = 0
    ) -> Step:
        """Run ``fn(*args)`` (state handles and ``put`` handles resolved) somewhere.

        Higher ``priority`` runs first where tasks queue.
        """

    def fetch(self, state: Any) -> Any:
        """Bring a trial's live state (a :class:`~skhpo._worker.TrialState`) here."""

    def call(self, fn: Callable[..., Any], *args: Any, key: str = "") -> Any:
        """Run ``fn(*args)`` once, where (and as) trial tasks run; return its result here."""

    def as_completed(self, steps: Iterable[Step]) -> Completed:
        """An iterator yielding the steps as they finish; ``add`` more while iterating."""

    def release(self, step: Step) -> None:
        """Forget a step's state: its trial will not be advanced again."""

    def close(self) -> None:
        """Release what the executor holds."""


class _LazyStep:
    """A task of the in-process executor: run when the driver takes it, not at submit.

    So the driver records (and stores) each task as soon as it has run, and callbacks
    see trials one by one, rather than after a whole rung was trained.
    """

    __slots__ = ("_args", "_error", "_fn", "_record", "_state", "priority")

    def __init__(self, fn: Callable[..., tuple[Any, Any]], args: tuple, priority: int = 0) -> None:
        self._fn: Callable[..., tuple[Any, Any]] | None = fn
        self._args = args
        self.priority = priority
        self._state = self._record = None
        self._error: BaseException | None = None

    def run(self) -> None:
        fn, self._fn = self._fn, None
        if fn is None:  # ran already, or released before it ran
            return
        args, self._args = self._args, ()
        try:
            self._state, self._record = fn(*args)
        except Exception as exc:  # handed to the driver through record()
            self._error = exc

    @property
    def handle(self) -> Any:
        self.run()
        return self._state

    def record(self) -> Any:
        self.run()
        if self._error is not None:
            raise self._error
        return self._record

    def take_back(self) -> Any:
        """Forget the task before it ran; its first argument (the trial's state)."""
        source = self._args[0] if self._args else None
        self.release()
        return source

    def release(self) -> None:
        self._fn = None
        self._args = ()
        self._state = None


class _PriorityCompleted:
    """The in-process ``as_completed``: each step runs when it is taken, the highest
    ``priority`` first (a promotion, whose priority is its rung, before a first rung),
    first in, first out among equals: the order a dask scheduler prefers too."""

    def __init__(self, steps: Iterable[_LazyStep]) -> None:
        self._heap: list[tuple[int, int, _LazyStep]] = []
        self._count = itertools.count()
        for step in steps:
            self.add(step)

    def __iter__(self) -> _PriorityCompleted:
        return self

    def __next__(self) -> Step:
        if not self._heap:
            raise StopIteration
        step = heapq.heappop(self._heap)[2]
        step.run()
        return step

    def drop_waiting(self) -> list[tuple[Step, Any]]:
        """Take back the steps not run yet: ``(step, its first argument)``, in order."""
        waiting = [entry[2] for entry in sorted(self._heap, key=lambda e: e[:2])]
        self._heap.clear()
        return [(step, step.take_back()) for step in waiting]

    def add(self, step: Step) -> None:
        heapq.heappush(self._heap, (-getattr(step, "priority", 0), next(self._count), step))


class InProcessExecutor:
    """Run tasks one at a time, in the calling process and thread, by priority.

    The highest ``priority`` first, then in submission order.

    Keras and BLAS already use every core for one model, so running one task at a time
    costs nothing on a single machine, and nothing has to be started.
    """

    reruns_tasks = False

    def put(self, obj: Any) -> Any:
        return obj

    def submit(
        self, fn: Callable[..., tuple[Any, Any]], *args: Any, key: str = "", priority: int = 0
    ) -> Step:
        return _LazyStep(fn, args, priority)

    def fetch(self, state: Any) -> Any:
        return state

    def call(self, fn: Callable[..., Any], *args: Any, key: str = "") -> Any:
        return fn(*args)

    def as_completed(self, steps: Iterable[Step]) -> _PriorityCompleted:
        return _PriorityCompleted(steps)

    def release(self, step: Step) -> None:
        if isinstance(step, _LazyStep):
            step.release()

    def close(self) -> None:
        pass
