"""The dask.distributed executor: trials train on the cluster's workers.

Public dask API only: ``Client.submit``, ``Client.scatter``, ``distributed.as_completed``,
a worker plugin. A trial's model lives on the worker that trains it: each task returns
``(state, record)``; the driver keeps the future of that pair and hands it to the
trial's next task, which dask runs where the pair already is (the state is declared
large to dask's ``sizeof``, and the task names the worker that holds it), and only the
small record is gathered. The search's data is scattered once, to every worker.

If a worker dies, dask recomputes the lost pairs from their lineage on another worker,
and the records already gathered are not gathered again. Without storage, the trial
restarts from scratch and trains back to where it was; with ``storage=`` (a file the
workers can read), each recomputed task reads its rung back from the stored checkpoint
and only the tasks that were running are trained again.

Where dask cannot recompute (the scattered data was on no other worker, so every task
that needs it is forgotten; or the scheduler forgot a key while its result was being
gathered), the step's future comes back cancelled. The executor keeps each live step's
recipe (its function and arguments, a previous step's pair replaced by that step's
recipe) and the objects it scattered, and submits a cancelled step again from its
trial's first task, scattering the data again if it is gone: the trial costs a retry,
not the search. A step cancelled more than ``_MAX_RESUBMITS`` times, or one on which
dask gave up (``KilledWorker``: it was on more than
``distributed.scheduler.allowed-failures`` workers when they died) is reported as a
:class:`~skhpo.exceptions.TrialLostError`, which the driver records as a failed trial.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from dask.sizeof import sizeof
from distributed import Client, Future, Status, WorkerPlugin, as_completed, get_worker
from distributed.client import FutureCancelledError
from distributed.scheduler import KilledWorker

from ._records import StepRecord
from ._worker import SearchData, TrialState
from .exceptions import TrialLostError

__all__ = ["DaskExecutor", "ExitPromptly", "PrepareKerasBackend", "check_picklable"]

# A trial's state holds a live model: moving it means pickling weights and compiling
# again. Declaring it large makes the scheduler run the trial's next task where it is
# (64 MiB is 0.6 s at dask's default bandwidth estimate). Not larger: the scheduler
# refuses a task whose inputs exceed a worker's memory limit (1 GiB made every task
# fail on workers with a smaller limit), and dask spills managed memory to disk from
# 60 % of the limit, which would pickle live models.
_STATE_NOMINAL_BYTES = 64 << 20


# Added to a record task's priority: above every training task's (their priority is a rung).
_RECORD_PRIORITY = 1 << 20

# How many times one step is submitted again after its future came back cancelled, and
# how many times the search's data is scattered again after the cluster lost it.
_MAX_RESUBMITS = 3
_MAX_RESCATTERS = 10


@sizeof.register(TrialState)
def _sizeof_state(state: TrialState) -> int:
    return _STATE_NOMINAL_BYTES


def _record_of(pair: tuple) -> StepRecord:
    try:
        worker = get_worker().address
    except ValueError:  # pragma: no cover - not on a worker
        worker = None
    return dataclasses.replace(pair[1], worker=worker, pid=os.getpid())


def _apply(fn: Callable[..., Any], args: tuple) -> Any:
    return fn(*args)


def _with_fit_params(data: SearchData, params: dict) -> SearchData:
    return dataclasses.replace(data, fit_params={**data.fit_params, **params})


@dataclasses.dataclass(eq=False)
class _Recipe:
    """How to run a step again: ``fn(*args)``, where an argument that is a ``_Recipe``
    stands for the pair of that (previous) step and a :class:`_Put` for scattered data."""

    fn: Callable[..., tuple[Any, Any]]
    args: tuple
    key: str
    priority: int


@dataclasses.dataclass(eq=False)
class _Put:
    """An object :meth:`DaskExecutor.put` sent to the workers, and its current future."""

    obj: Any
    future: Any
    rescatters: int = 0


# The status of a future whose key the cluster forgot.
_GONE = ("cancelled", "error")


class _DaskStep:
    __slots__ = ("_executor", "pair", "recipe", "record_future", "resubmits")

    def __init__(
        self, executor: DaskExecutor, pair: Any, record_future: Any, recipe: _Recipe
    ) -> None:
        self._executor = executor
        self.pair = pair
        self.record_future = record_future
        self.recipe = recipe
        self.resubmits = 0

    @property
    def handle(self) -> Any:
        return self.pair

    def record(self) -> StepRecord:
        while True:
            try:
                record = self.record_future.result()
                break
            except FutureCancelledError as exc:
                # forgotten by the scheduler while gathered (lost with its worker)
                self._executor._resubmit(self, exc)
            except KilledWorker as exc:  # dask gave up on it: no retry of ours
                raise TrialLostError(f"KilledWorker: {exc}") from exc
        self._executor._where[self.pair.key] = record.worker
        self._executor._recorded(record)
        return record


class _Completed:
    """``distributed.as_completed`` over record futures, yielding their steps.

    A step whose future comes back cancelled is submitted again and waited for anew.
    """

    def __init__(self, steps: Iterable[_DaskStep], client: Client) -> None:
        self._by_future: dict[Any, _DaskStep] = {}
        self._ac = as_completed(loop=client.loop, raise_errors=False)
        for step in steps:
            self.add(step)

    def __iter__(self) -> _Completed:
        return self

    def __next__(self) -> _DaskStep:
        while True:
            future = next(self._ac)
            step = self._by_future.pop(future)
            if not future.cancelled():
                return step
            try:
                step._executor._resubmit(step, future.exception())
            except TrialLostError:
                return step  # its record() raises
            self.add(step)

    def add(self, step: _DaskStep) -> None:
        self._by_future[step.record_future] = step
        self._ac.add(step.record_future)


class DaskExecutor:
    """Run trial tasks on a ``distributed.Client``'s workers.

    Parameters
    ----------
    client : distributed.Client
        The cluster to use.
    resources : dict, optional
        Worker resources every training task asks for, e.g. ``{"GPU": 1}`` or
        ``{"GPU": 0.25}`` to pack four trials on one GPU.
    own_client : bool, default=False
        Close the client in :meth:`close` (skhpo connected it from an address).
    """

    # dask recomputes the results a lost worker held, from their lineage
    reruns_tasks = True

    def __init__(
        self, client: Client, resources: dict | None = None, *, own_client: bool = False
    ) -> None:
        self.client = client
        self._own_client = own_client
        self.resources = dict(resources) if resources else None
        self._token = uuid.uuid4().hex[:8]
        self._data: list = []
        self._puts: dict[str, _Put] = {}  # key of a put's first future -> the put
        self._where: dict[str, str | None] = {}  # pair key -> worker that holds it
        self._recipes: dict[str, _Recipe] = {}  # pair key of a live step -> its recipe
        client.register_plugin(ExitPromptly())
        if self.resources and "GPU" in self.resources:
            client.register_plugin(PrepareKerasBackend())

    def check_resources(self) -> None:
        """Raise ``ValueError`` when no worker offers the resources the tasks ask for."""
        if not self.resources:
            return
        workers = self.client.scheduler_info(n_workers=-1)["workers"]
        offered = [w.get("resources", {}) for w in workers.values()]
        fits = [
            all(res.get(name, 0) >= amount for name, amount in self.resources.items())
            for res in offered
        ]
        if not any(fits):
            have = sorted({f"{k}={v}" for res in offered for k, v in res.items()}) or ["none"]
            raise ValueError(
                f"No worker of the dask cluster offers resources={self.resources}; the "
                f"workers offer: {', '.join(have)}. Start workers with e.g. "
                "`dask worker ... --resources GPU=1` or "
                "LocalCluster(resources={'GPU': 1})."
            )

    def put(self, obj: Any) -> Any:
        future = self._scatter(obj)
        self._puts[future.key] = _Put(obj, future)
        return future

    def _scatter(self, obj: Any) -> Any:
        futures = {}
        if isinstance(obj, SearchData):
            futures = {k: v for k, v in obj.fit_params.items() if isinstance(v, Future)}
            if futures:  # resolved on the workers, never fetched here
                obj = dataclasses.replace(
                    obj, fit_params={k: v for k, v in obj.fit_params.items() if k not in futures}
                )
        future = self.client.scatter(obj, broadcast=True, hash=False)
        self._data.append(future)
        if futures:
            # dask resolves the futures of a task's dict argument where the task runs
            future = self.client.submit(_with_fit_params, future, futures, pure=False)
            self.client.replicate([future])
            self._data.append(future)
        return future

    def _live_data(self, put: _Put) -> Any:
        """The put's future; scattered again when the cluster lost it (no worker held it)."""
        if put.future.status in _GONE:
            if put.rescatters == _MAX_RESCATTERS:
                raise RuntimeError(
                    f"The dask cluster lost the search's data {put.rescatters + 1} times: "
                    "every worker that held it died. Check the workers' logs (memory "
                    "limits, a trial that crashes its process)."
                )
            put.rescatters += 1
            put.future = self._scatter(put.obj)
        return put.future

    def submit(
        self, fn: Callable[..., tuple[Any, Any]], *args: Any, key: str = "", priority: int = 0
    ) -> _DaskStep:
        recipe_args = tuple(
            self._recipes.get(a.key) or self._puts.get(a.key) or a if isinstance(a, Future) else a
            for a in args
        )
        held = [self._where.pop(a.key, None) for a in args if isinstance(a, Future)]
        recipe = _Recipe(fn, recipe_args, key or fn.__name__, priority)
        args = tuple(
            self._live_data(r) if isinstance(r, _Put) else a
            for a, r in zip(args, recipe_args, strict=True)
        )
        pair, record = self._launch(recipe, args, [w for w in held if w] or None)
        return _DaskStep(self, pair, record, recipe)

    def _launch(self, recipe: _Recipe, args: tuple, workers: list | None) -> tuple[Any, Any]:
        """Submit the recipe's task and its record task; ``args`` as the task takes them."""
        pair = self._submit_pair(recipe, args, workers)
        # The record goes first: on a busy worker it would otherwise wait behind training
        # tasks queued earlier, and the driver would learn of the result late.
        record = self.client.submit(
            _record_of,
            pair,
            key=pair.key + "-record",
            priority=recipe.priority + _RECORD_PRIORITY,
            pure=False,
        )
        self._recipes[pair.key] = recipe
        return pair, record

    def _submit_pair(self, recipe: _Recipe, args: tuple, workers: list | None) -> Any:
        workers, allow_other_workers = self._placement(workers)
        return self.client.submit(
            recipe.fn,
            *args,
            key=f"skhpo-{recipe.key}-{self._token}-{uuid.uuid4().hex[:6]}",
            resources=self.resources,
            workers=workers,
            allow_other_workers=allow_other_workers,
            priority=recipe.priority,
            pure=False,
        )

    def _placement(self, workers: list | None) -> tuple[list | None, bool]:
        """``(workers, allow_other_workers)`` of a training task whose input state is
        held by ``workers`` (None: a new trial, or no preference)."""
        return workers, workers is not None

    def _recorded(self, record: StepRecord) -> None:
        """Told of each record gathered (a subclass watches its workers here)."""

    def _fresh_args(self, recipe: _Recipe) -> tuple:
        """The recipe's arguments, its previous steps submitted again, its data alive."""
        return tuple(
            self._submit_pair(a, self._fresh_args(a), None)
            if isinstance(a, _Recipe)
            else self._live_data(a)
            if isinstance(a, _Put)
            else a
            for a in recipe.args
        )

    def _resubmit(self, step: _DaskStep, cause: BaseException) -> None:
        """Submit a step whose future came back cancelled again, from its trial's first
        task; after ``_MAX_RESUBMITS`` times, raise :class:`~skhpo.exceptions.TrialLostError`.
        """
        if step.resubmits == _MAX_RESUBMITS:
            raise TrialLostError(
                f"{type(cause).__name__}: {cause} (the task was submitted "
                f"{step.resubmits + 1} times)"
            ) from cause
        step.resubmits += 1
        self._recipes.pop(step.pair.key, None)
        self._where.pop(step.pair.key, None)
        step.pair.release()
        step.record_future.release()
        step.pair, step.record_future = self._launch(
            step.recipe, self._fresh_args(step.recipe), None
        )

    def fetch(self, state: Any) -> Any:
        recipe = self._recipes.get(state.key)
        for attempt in range(_MAX_RESUBMITS + 1):
            try:
                return state.result()[0]
            except FutureCancelledError:
                if recipe is None or attempt == _MAX_RESUBMITS:
                    raise
                state = self._submit_pair(recipe, self._fresh_args(recipe), None)

    def call(self, fn: Callable[..., Any], *args: Any, key: str = "") -> Any:
        """Run ``fn(*args)`` as one task on a worker, asking for ``resources`` as the
        trial tasks do, and gather its result. The arguments travel together, scattered
        to one worker (:meth:`put` sends to every worker)."""
        [packed] = self.client.scatter([args], hash=False)
        name = f"skhpo-{key or fn.__name__}-{self._token}-{uuid.uuid4().hex[:6]}"
        workers, allow_other_workers = self._placement(None)
        future = self.client.submit(
            _apply,
            fn,
            packed,
            key=name,
            resources=self.resources,
            workers=workers,
            allow_other_workers=allow_other_workers,
            pure=False,
        )
        try:
            return future.result()
        finally:
            future.release()
            packed.release()

    def as_completed(self, steps: Iterable[_DaskStep]) -> _Completed:
        return _Completed(steps, self.client)

    def release(self, step: _DaskStep) -> None:
        self._where.pop(step.pair.key, None)
        self._recipes.pop(step.pair.key, None)
        step.pair.release()
        step.record_future.release()

    def close(self) -> None:
        for future in self._data:
            future.release()
        self._data = []
        self._puts.clear()
        self._recipes.clear()
        if self._own_client:
            self.client.close()


def check_picklable(estimator: Any) -> None:
    """Raise ``TypeError`` when ``estimator`` cannot be sent to dask workers."""
    import cloudpickle

    try:
        cloudpickle.dumps(estimator)
    except Exception as exc:
        raise TypeError(
            f"The estimator cannot be pickled, so it cannot be sent to the dask workers: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


class PrepareKerasBackend(WorkerPlugin):
    """Let several worker processes share one GPU.

    Registered on the cluster by skhpo when ``resources`` names a GPU: it sets
    ``XLA_PYTHON_CLIENT_PREALLOCATE=false`` (JAX would otherwise take most of the GPU
    memory in the first process) and ``TF_FORCE_GPU_ALLOW_GROWTH=true`` (TensorFlow's
    memory growth) in each worker, before Keras is imported there by a task, and points
    JAX at a shared persistent compilation cache when ``cache_dir`` is given.
    """

    name = "skhpo-prepare-keras-backend"

    def __init__(self, cache_dir: str | None = None) -> None:
        self.cache_dir = cache_dir

    def setup(self, worker: Any) -> None:
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
        os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
        if self.cache_dir:
            os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", self.cache_dir)


class ExitPromptly(WorkerPlugin):
    """Let a worker process that trained Keras models exit within the nanny's timeout.

    A process that built Keras models holds hundreds of thousands of Python objects
    (traced functions, graphs, layers) until it exits, and the interpreter's shutdown
    runs the cyclic garbage collector over all of them: with TensorFlow and 20 small
    models that took over 4 s on a 2-core machine, so closing a ``LocalCluster`` logged
    ``Worker process still alive after 4.0 seconds, killing`` and the nanny killed it.
    When the worker is closing, this plugin calls :func:`gc.freeze`, which moves every
    object out of the collector's reach; the interpreter's shutdown then frees them by
    reference counting alone, and the process exits in a fraction of a second.
    Registered by skhpo on every cluster it runs on (once: ``idempotent``).
    """

    name = "skhpo-exit-promptly"
    idempotent = True

    def teardown(self, worker: Any) -> None:
        if worker.status in (Status.closing, Status.closing_gracefully):
            gc.freeze()
