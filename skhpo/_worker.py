"""Task bodies: build a trial's model, advance it some epochs, score it.

These functions run where the model lives (in-process, or on a dask worker). Each returns
``(state, record)``: the :class:`TrialState` stays there, the small
:class:`~skhpo._records.StepRecord` goes back to the driver. Nothing here imports Keras;
scikeras is recognised only when the user's estimator already imported it.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import signal
import sys
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import joblib
import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.pipeline import Pipeline
from sklearn.utils import ClassifierTags, RegressorTags, _safe_indexing, get_tags

from ._compat import scikeras_estimator_type, scikeras_fit_epochs
from ._promotion import should_stop_early
from ._records import StepRecord
from ._storage import pack_state, read_stored_step
from .exceptions import TrialTimeoutError

__all__ = [
    "DaskBlocks",
    "FoldsState",
    "SearchData",
    "TrialSpec",
    "TrialState",
    "catch_interrupts",
    "fit_epochs",
    "raise_if_interrupted",
    "refit_task",
    "step_task",
]

_PREP_CACHE_SIZE = 8


def _is_scikeras(model: Any) -> bool:
    wrappers = sys.modules.get("scikeras.wrappers")
    return wrappers is not None and isinstance(model, wrappers.BaseWrapper)


#: Values of ``SKHPO_JAX_CACHE_DIR`` that turn skhpo's compilation cache off.
_OFF = frozenset({"", "0", "off", "false", "no", "none"})


def jax_cache_dir() -> str | None:
    """The folder skhpo points JAX's persistent compilation cache at, or None (off).

    ``SKHPO_JAX_CACHE_DIR`` moves it (or, set to ``off``, turns it off); by default it
    is ``skhpo/jax`` under the user's cache folder (``$XDG_CACHE_HOME``, else
    ``~/.cache``), one folder that every process of the machine shares.
    """
    setting = os.environ.get("SKHPO_JAX_CACHE_DIR")
    if setting is not None:
        return None if setting.strip().lower() in _OFF else os.path.expanduser(setting)
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(home, "skhpo", "jax")


def use_jax_compilation_cache() -> None:
    """Turn on JAX's persistent compilation cache where Keras runs on JAX.

    On the CPU a new Keras model's step functions take ~2.5 s to compile, ~0.4 s when
    read from the cache (bench/fixed_costs.py), so a search whose trials compile the
    same programs (a resumed or repeated search, trials of one architecture) compiles
    each once per machine. Called before a trial's model is built; does nothing when
    Keras is not on JAX, when the cache is off (:func:`jax_cache_dir`), or when the user
    configured JAX's cache already (``JAX_COMPILATION_CACHE_DIR``, ``jax.config``).
    Every compilation is cached, however quick (JAX's default keeps only those over 1 s),
    unless ``JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS`` says otherwise.
    """
    keras = sys.modules.get("keras")
    if keras is None or keras.backend.backend() != "jax":
        return
    import jax

    folder = jax_cache_dir()
    if folder is None or jax.config.jax_compilation_cache_dir is not None:
        return
    os.makedirs(folder, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", folder)
    if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


def final_step(estimator: Any) -> Any:
    """The estimator trained epoch by epoch: a Pipeline's last step, or ``estimator``."""
    return estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator


def estimator_tags(estimator: Any) -> Any:
    """scikit-learn's tags of ``estimator``, with a scikeras wrapper's type declared.

    For a scikeras wrapper (or a Pipeline ending in one), the type comes from
    :func:`skhpo._compat.scikeras_estimator_type`, and ``get_tags`` is not called on the
    wrapper itself:
    on scikit-learn 1.6 it raises ``AttributeError: 'super' object has no attribute
    '__sklearn_tags__'`` for scikeras 0.13 (whose ``ClassifierMixin`` comes after
    ``BaseEstimator``), and from 1.7 on it answers ``estimator_type=None``.
    """
    final = final_step(estimator)
    if not _is_scikeras(final):
        return get_tags(estimator)
    # A Pipeline's tags survive a step whose tags fail; the wrapper's are the defaults.
    tags = get_tags(estimator) if final is not estimator else BaseEstimator.__sklearn_tags__(final)
    kind = scikeras_estimator_type(final)
    tags.estimator_type = kind
    if kind == "classifier":
        tags.classifier_tags = ClassifierTags()
    elif kind == "regressor":
        tags.regressor_tags = RegressorTags()
    tags.target_tags.required = kind in ("classifier", "regressor")
    return tags


def is_classifier_estimator(estimator: Any) -> bool:
    """``is_classifier``, also for scikeras wrappers (see :func:`estimator_tags`)."""
    return estimator_tags(estimator).estimator_type == "classifier"


def is_dask_collection(obj: Any) -> bool:
    """Whether ``obj`` is a dask collection (without importing dask when it is not)."""
    dask = sys.modules.get("dask")
    return dask is not None and dask.is_dask_collection(obj)


def _is_future(obj: Any) -> bool:
    distributed = sys.modules.get("distributed")
    return distributed is not None and isinstance(obj, distributed.Future)


def compute_here(*collections: Any) -> tuple:
    """Compute dask collections for use in this process, one call for all of them.

    In a task on a dask worker, a lazy collection (a graph that references no data held
    on the cluster) is computed right there, in the task's thread, with dask's
    synchronous scheduler: nothing moves between processes and only the blocks asked
    for are ever in memory. A collection that references cluster data (a persisted one)
    is computed through the cluster with :func:`distributed.worker_client` (the task
    leaves the worker's thread pool while it waits, so a one-thread worker cannot
    deadlock) and its blocks are fetched from the workers that hold them. Outside a
    worker, dask's default scheduler computes them.
    """
    import dask

    try:
        from distributed import futures_of, get_worker, worker_client

        get_worker()
    except (ImportError, ValueError):
        return dask.compute(*collections)
    if not futures_of(list(collections)):
        return dask.compute(*collections, scheduler="sync")
    with worker_client() as client:
        return tuple(client.compute(list(collections), sync=True))


@dataclass
class DaskBlocks:
    """Training data kept as dask arrays, read one block (of rows) at a time.

    One epoch is one pass over the blocks: the estimator's ``partial_fit`` is called once
    per block, and a block is computed only when it is trained on, so the data is never
    whole in one process. ``test_size`` holds out that fraction of each block's rows, drawn
    from a random stream seeded by ``seed`` and the block's index: ``part`` is the side
    of that split these blocks are ("train" or "validation"; "all" for no split).
    """

    X: Any
    y: Any
    test_size: float | None = None
    seed: int = 0
    part: str = "all"

    def arrays(self) -> tuple[Any, Any]:
        """The (lazy) dask arrays of this part."""
        if self.part == "all" or self.test_size is None:
            return self.X, self.y
        held_out = self.X.map_blocks(
            _held_out, self.seed, self.test_size, dtype=bool, drop_axis=list(range(1, self.X.ndim))
        )
        keep = held_out if self.part == "validation" else ~held_out
        return self.X[keep], (None if self.y is None else self.y[keep])

    def whole(self) -> DaskBlocks:
        """All the rows, both sides of the split."""
        return DaskBlocks(self.X, self.y)

    def __iter__(self):
        X, y = self.arrays()
        for i in range(X.numblocks[0]):
            if y is None:
                (Xb,) = compute_here(X.blocks[i])
                yb = None
            else:
                Xb, yb = compute_here(X.blocks[i], y.blocks[i])
            if len(Xb):
                yield Xb, yb

    def compute(self) -> tuple[Any, Any]:
        """This part as in-memory arrays (for validation data)."""
        X, y = self.arrays()
        if y is None:
            return compute_here(X)[0], None
        return compute_here(X, y)


def _held_out(block: Any, seed: int, test_size: float, block_id: tuple = (0,)) -> np.ndarray:
    rng = np.random.RandomState([seed, block_id[0]])
    return rng.random_sample(len(block)) < test_size


def fit_epochs(model: Any, X: Any, y: Any, n_epochs: int, fit_params: dict) -> None:
    """Train ``model`` for ``n_epochs`` more epochs, resuming where it stopped.

    This is the one place that knows how to train a model for several epochs. Data given
    as :class:`DaskBlocks` is trained on block by block: an epoch is one ``partial_fit``
    call per block (for scikeras, one Keras epoch per block). A scikeras
    wrapper trains them in one Keras ``fit`` call (:func:`skhpo._compat.scikeras_fit_epochs`);
    its ``history_`` and ``current_epoch`` advance exactly as after ``n_epochs``
    ``partial_fit`` calls (``tests/test_keras.py`` pins this). Any other estimator gets
    ``n_epochs`` calls of ``partial_fit``.
    """
    if n_epochs < 1:
        return
    if isinstance(X, DaskBlocks):
        for _ in range(n_epochs):
            for X_block, y_block in X:
                model.partial_fit(X_block, y_block, **fit_params)
        return
    if (
        n_epochs > 1
        and _is_scikeras(model)
        and getattr(model, "class_weight", None) is None
        and scikeras_fit_epochs(model, X, y, n_epochs, fit_params)
    ):
        return
    for _ in range(n_epochs):
        model.partial_fit(X, y, **fit_params)


@dataclass
class SearchData:
    """What every task of one search shares: the data split, fit parameters, the scorer.

    It is sent once to each place that runs tasks. ``prep_cache`` holds fitted
    pre-processing steps of a Pipeline and the data they transformed, keyed by the
    pre-processing parameters, so that trials sharing them fit them once.
    """

    X_train: Any
    y_train: Any
    X_val: Any
    y_val: Any
    fit_params: dict
    scorer: Any
    error_score: Any = np.nan
    patience: int = 0
    tol: float = 1e-3
    return_train_score: bool = False  # also score each scoring on the training split
    # with a scorer that returns several metrics (a dict): the one that ranks the trials
    # (None: the first)
    metric: str | None = None
    checkpoint: bool = False  # send a pickled TrialState back with each record (storage)
    timeout: float | None = None  # seconds a trial may spend training and scoring
    # where tasks may be recomputed (dask, after a lost worker) read stored steps: a
    # storage's step_reader(); a task whose outcome is stored is read back, not trained
    stored_steps: Any = None
    # with cv: the (train, test) row indices of each fold, into X_train, y_train
    folds: tuple | None = None
    prep_cache: OrderedDict = field(default_factory=OrderedDict, repr=False)
    _fold_views: dict = field(default_factory=dict, repr=False)

    # How many times this process received a SearchData (diagnostics: the data of a
    # search is meant to reach each dask worker once).
    times_received: ClassVar[int] = 0

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["prep_cache"] = OrderedDict()
        state["_fold_views"] = {}
        return state

    @property
    def n_folds(self) -> int:
        """The number of folds (``cv``); 0 with one hold-out split."""
        return 0 if self.folds is None else len(self.folds)

    def fold(self, f: int) -> SearchData:
        """Fold ``f`` as a one-split :class:`SearchData`: its rows sliced once in this
        process and kept, with a pre-processing cache of its own (a Pipeline's
        pre-processing is fitted per fold, once per distinct parameters)."""
        view = self._fold_views.get(f)
        if view is None:
            from ._data import _n_samples as _n_rows  # _data imports this module

            train, test = self.folds[f]
            n = _n_rows(self.X_train)
            fit_params = {
                k: _safe_indexing(v, train)
                if k != "classes" and hasattr(v, "__len__") and _n_rows(v) == n
                else v
                for k, v in self.fit_params.items()
            }
            view = replace(
                self,
                X_train=_safe_indexing(self.X_train, train),
                y_train=None if self.y_train is None else _safe_indexing(self.y_train, train),
                X_val=_safe_indexing(self.X_train, test),
                y_val=None if self.y_train is None else _safe_indexing(self.y_train, test),
                fit_params=fit_params,
                patience=0,  # the folds' mean decides, in _train_folds
                folds=None,
                prep_cache=OrderedDict(),
                _fold_views={},
            )
            self._fold_views[f] = view
        return view

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        type(self).times_received += 1

    def materialize(self) -> None:
        """Bring what tasks need whole into this process, once: the validation data when
        it is dask blocks, and ``fit_params`` values that are ``distributed.Future``.
        """
        if isinstance(self.X_val, DaskBlocks):
            self.X_val, self.y_val = self.X_val.compute()
        if any(_is_future(v) for v in self.fit_params.values()):
            self.fit_params = resolve_futures(self.fit_params)


def resolve_futures(params: dict) -> dict:
    """``params`` with each ``distributed.Future`` value replaced by its result."""
    return {k: v.result() if _is_future(v) else v for k, v in params.items()}


@dataclass(frozen=True)
class TrialSpec:
    """A trial not built yet: the estimator to clone and the parameters to set on it."""

    model_id: str
    estimator: Any
    params: dict


@dataclass
class TrialState:
    """A live trial: the (partly) fitted estimator and what is needed to train it on."""

    model_id: str
    estimator: Any  # the whole estimator: a Pipeline with fitted pre-processing, or the model
    final: Any  # the object trained epoch by epoch (the estimator, or the Pipeline's last step)
    prep: Any  # fitted Pipeline of the pre-processing steps, or None
    prep_key: str | None
    fit_params: dict
    epochs: int = 0
    scores: list = field(default_factory=list)
    elapsed: float = 0.0  # seconds spent in this trial's tasks so far


@dataclass
class FoldsState:
    """A live trial with ``cv``: one :class:`TrialState` per fold, trained in lockstep.

    A fold's model is built when it is first trained (``None`` before: a trial rejected
    after its first folds never builds the others). ``scores`` holds the mean over the
    folds of each scoring.
    """

    model_id: str
    spec: TrialSpec
    folds: list  # TrialState or None, one per fold
    epochs: int = 0
    scores: list = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def fold_epochs(self) -> tuple:
        """The epochs of each fold's model (0 for one not built)."""
        return tuple(0 if f is None else f.epochs for f in self.folds)


def _split_pipeline_params(estimator: Pipeline, params: dict) -> tuple[str, dict]:
    last = estimator.steps[-1][0]
    prep_params = {k: v for k, v in params.items() if not (k == last or k.startswith(last + "__"))}
    return last, prep_params


def _final_fit_params(estimator: Any, fit_params: dict) -> dict:
    if not isinstance(estimator, Pipeline):
        return dict(fit_params)
    prefix = estimator.steps[-1][0] + "__"
    return {k.removeprefix(prefix): v for k, v in fit_params.items()}


def _transformed(state: TrialState, data: SearchData) -> tuple[Any, Any]:
    """The training and validation inputs of the trial's final step."""
    if state.prep is None:
        return data.X_train, data.X_val
    hit = data.prep_cache.get(state.prep_key)
    if hit is not None:
        data.prep_cache.move_to_end(state.prep_key)
        return hit[1], hit[2]
    entry = _prepared(state.prep, data)
    _cache_put(data, state.prep_key, entry)
    return entry[1], entry[2]


def _prepared(prep: Pipeline, data: SearchData) -> tuple:
    Xt_val = None if data.X_val is None else prep.transform(data.X_val)
    return prep, prep.transform(data.X_train), Xt_val


def _cache_put(data: SearchData, key: str, value: tuple) -> None:
    data.prep_cache[key] = value
    while len(data.prep_cache) > _PREP_CACHE_SIZE:
        data.prep_cache.popitem(last=False)


def build_trial(spec: TrialSpec, data: SearchData) -> TrialState:
    """Clone the estimator, set the trial's parameters, fit (or reuse) pre-processing."""
    # The parameters are cloned (as scikit-learn's searches do) so that an estimator
    # drawn from the space is never shared between trials.
    estimator = clone(spec.estimator).set_params(**clone(spec.params, safe=False))
    prep = prep_key = None
    final = estimator
    if _is_scikeras(final_step(estimator)):
        use_jax_compilation_cache()
    if isinstance(estimator, Pipeline):
        _, prep_params = _split_pipeline_params(estimator, spec.params)
        final = estimator.steps[-1][1]
        if len(estimator.steps) > 1:
            prep_key = joblib.hash(prep_params)
            hit = data.prep_cache.get(prep_key)
            if hit is None:
                prep = Pipeline(estimator.steps[:-1]).fit(data.X_train, data.y_train)
                _cache_put(data, prep_key, _prepared(prep, data))
            else:
                prep = hit[0]
                data.prep_cache.move_to_end(prep_key)
            estimator.steps = list(prep.steps) + [estimator.steps[-1]]
    return TrialState(
        model_id=spec.model_id,
        estimator=estimator,
        final=final,
        prep=prep,
        prep_key=prep_key,
        fit_params=_final_fit_params(estimator, data.fit_params),
    )


def _score(state: TrialState, data: SearchData, X: Any, y: Any) -> tuple[float, dict | None]:
    """The score that ranks the trial, and every metric's score (None: one metric)."""
    with _direct_predict(state.final):
        score = data.scorer(state.final, X, y)
    if not isinstance(score, dict):
        return float(score), None
    metrics = {str(name): float(value) for name, value in score.items()}
    if not metrics:
        raise ValueError("scoring returned an empty dict of metrics")
    name = next(iter(metrics)) if data.metric is None else data.metric
    if name not in metrics:
        raise ValueError(
            f"scoring returned the metrics {sorted(metrics)}, and refit={name!r} is none of them"
        )
    return metrics[name], metrics


def _append_metrics(lists: dict, metrics: dict | None) -> None:
    for name, value in (metrics or {}).items():
        lists.setdefault(name, []).append(value)


def _frozen_metrics(lists: dict, n: int, missing: Any = math.nan) -> dict | None:
    """Each metric's scores as a tuple of the last ``n``, one per scoring of the task
    (``missing`` before a metric's first score, if an interruption fell between two
    appends)."""
    return {
        name: tuple([missing] * (n - len(values)) + values[-n:]) for name, values in lists.items()
    } or None


# Above this many batches, Keras' compiled predict function pays for its tracing.
_DIRECT_PREDICT_MAX_BATCHES = 64


def _has_predict_callbacks(model: Any) -> bool:
    """Whether the scikeras wrapper ``model`` hands Keras' ``predict`` any callbacks.

    scikeras 0.13 passes ``predict`` the callbacks of its ``callbacks`` and
    ``predict__callbacks`` parameters (its private ``_predict_callbacks``).
    """
    params = model.get_params(deep=False)
    return bool(params.get("callbacks")) or bool(params.get("predict__callbacks"))


@contextlib.contextmanager
def _direct_predict(model: Any):
    """While scoring, let a scikeras model predict by calling its Keras model directly.

    ``Model.predict`` traces a predict function for every new model and builds a data
    pipeline at every call: 0.05-0.1 s a call for the digits MLP of the benchmarks,
    against 5-30 ms for ``model(batch, training=False)`` over the same batches (what
    Keras' own docs advise for small inputs). A trial is scored once a rung on a
    validation set that is usually small, so the direct call is used there; scikeras
    still validates the input, encodes the targets and the scorer is unchanged. The
    outputs are the same batches through the same layers; Keras' ``predict`` is kept
    for inputs that are not one NumPy array, more than ``_DIRECT_PREDICT_MAX_BATCHES``
    batches, predict callbacks, Keras models with their own ``predict``, and the JAX
    backend, whose op-by-op calls cost more than its compiled predict (0.39 s against
    0.24 s on the CPU, bench/fixed_costs.py).
    """
    keras_model = getattr(model, "model_", None) if _is_scikeras(model) else None
    keras = sys.modules.get("keras")
    if (
        keras_model is None
        or keras is None
        or keras.backend.backend() == "jax"
        or type(keras_model).predict is not keras.Model.predict
        or _has_predict_callbacks(model)
    ):
        yield
        return
    compiled = keras_model.predict
    tree, to_numpy = keras.tree, keras.ops.convert_to_numpy

    def predict(x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        size = batch_size or 32  # Model.predict's default
        if (
            callbacks
            or steps is not None
            or not isinstance(x, np.ndarray)
            or len(x) == 0
            or -(-len(x) // size) > _DIRECT_PREDICT_MAX_BATCHES
        ):
            return compiled(x, batch_size=batch_size, verbose=verbose, steps=steps)
        outs = [
            tree.map_structure(to_numpy, keras_model(x[i : i + size], training=False))
            for i in range(0, len(x), size)
        ]
        return tree.map_structure(lambda *parts: np.concatenate(parts), *outs)

    vars(keras_model)["predict"] = predict
    try:
        yield
    finally:
        vars(keras_model).pop("predict", None)


@dataclass
class _Progress:
    """What one task has done so far; kept when the trial fails midway, for its record."""

    epochs_before: int
    state: TrialState | None = None  # the trial, once built
    fit_time: float = 0.0
    score_time: float = 0.0
    scores: list = field(default_factory=list)  # (epochs, score, wall-clock time) per scoring
    train_scores: list = field(default_factory=list)
    metric_scores: dict = field(default_factory=dict)  # several metrics: name -> scores
    train_metric_scores: dict = field(default_factory=dict)
    stopped: bool = False
    fold_scores: list = field(default_factory=list)  # with cv: per scoring, per fold
    fold_train_scores: list = field(default_factory=list)
    fold_metric_scores: dict = field(default_factory=dict)  # several metrics: name -> folds
    fold_train_metric_scores: dict = field(default_factory=dict)
    rejected: bool = False  # fold_rejection stopped the trial after its first folds

    @property
    def epochs(self) -> int:
        """The trial's epochs now."""
        return self.epochs_before if self.state is None else self.state.epochs


def _train(trial: TrialSpec | TrialState, data: SearchData, n_epochs: int, done: _Progress):
    """Build the trial if needed and train it ``n_epochs`` more epochs, scoring it after
    them (after each one, with ``patience``, stopping early when it no longer improves).

    Returns the trial's state; ``done`` follows the progress, so it survives an error.
    """
    t0 = time.perf_counter()
    data.materialize()
    state = build_trial(trial, data) if isinstance(trial, TrialSpec) else trial
    done.state = state
    Xt_train, Xt_val = _transformed(state, data)
    done.fit_time += time.perf_counter() - t0
    for chunk in [1] * n_epochs if data.patience else [n_epochs]:
        t0 = time.perf_counter()
        fit_epochs(state.final, Xt_train, data.y_train, chunk, state.fit_params)
        state.epochs += chunk
        t1 = time.perf_counter()
        score, metrics = _score(state, data, Xt_val, data.y_val)
        if data.return_train_score:
            train_score, train_metrics = _score(state, data, Xt_train, data.y_train)
            done.train_scores.append(train_score)
            _append_metrics(done.train_metric_scores, train_metrics)
        t2 = time.perf_counter()
        done.fit_time += t1 - t0
        done.score_time += t2 - t1
        state.scores.append(score)
        done.scores.append((state.epochs, score, time.time()))
        _append_metrics(done.metric_scores, metrics)
        if data.patience and should_stop_early(state.scores, data.patience, data.tol):
            done.stopped = True
            break
    return state


def _train_folds(
    trial: TrialSpec | FoldsState, data: SearchData, n_epochs: int, done: _Progress, bar: Any
) -> FoldsState:
    """:func:`_train` with ``cv``: each fold's model trained ``n_epochs`` more epochs on
    its fold, in lockstep (with ``patience``, one epoch of every fold at a time), and
    the mean of the fold scores taken as the trial's score (with several metrics, as
    each metric's score, the one ``data.metric`` names ranking the trial).

    With ``bar`` (``fold_rejection``), the folds of the task's last scoring are trained
    one after the other and the trial stops after fold ``j`` when ``bar.rejects`` the
    scores so far (see :func:`skhpo._promotion.reject_after_folds`).
    """
    data.materialize()
    if isinstance(trial, TrialSpec):
        trial = FoldsState(trial.model_id, trial, [None] * data.n_folds)
    state = done.state = trial
    chunks = [1] * n_epochs if data.patience else [n_epochs]
    for c, chunk in enumerate(chunks):
        scores = np.full(data.n_folds, np.nan)
        train_scores = np.full(data.n_folds, np.nan)
        metrics: dict = {}  # several metrics: name -> per-fold scores
        train_metrics: dict = {}
        for f in range(data.n_folds):
            step = _Progress(state.folds[f].epochs if state.folds[f] is not None else 0)
            try:
                state.folds[f] = _train(state.folds[f] or state.spec, data.fold(f), chunk, step)
            finally:
                done.fit_time += step.fit_time
                done.score_time += step.score_time
            scores[f] = step.scores[-1][1]
            _fold_metrics(metrics, step.metric_scores, f, data.n_folds)
            if data.return_train_score:
                train_scores[f] = step.train_scores[-1]
                _fold_metrics(train_metrics, step.train_metric_scores, f, data.n_folds)
            last = c + 1 == len(chunks)
            if bar is not None and last and f + 1 < data.n_folds and bar.rejects(scores[: f + 1]):
                done.rejected = True
                break
        state.epochs += chunk
        score = float(np.nanmean(scores))
        state.scores.append(score)
        done.scores.append((state.epochs, score, time.time()))
        done.fold_scores.append(tuple(scores.tolist()))
        _append_fold_metrics(done.metric_scores, done.fold_metric_scores, metrics)
        if data.return_train_score:
            done.train_scores.append(float(np.nanmean(train_scores)))
            done.fold_train_scores.append(tuple(train_scores.tolist()))
            _append_fold_metrics(
                done.train_metric_scores, done.fold_train_metric_scores, train_metrics
            )
        if data.patience and should_stop_early(state.scores, data.patience, data.tol):
            done.stopped = True
            break
    return state


def _fold_metrics(folds: dict, scores: dict, f: int, n_folds: int) -> None:
    """Fold ``f``'s last score of each metric into ``folds`` (name -> per-fold array)."""
    for name, values in scores.items():
        folds.setdefault(name, np.full(n_folds, np.nan))[f] = values[-1]


def _append_fold_metrics(means: dict, folds: dict, metrics: dict) -> None:
    """One scoring of every fold, per metric: its mean onto ``means``, the fold scores
    onto ``folds``."""
    _append_metrics(means, {k: float(np.nanmean(v)) for k, v in metrics.items()})
    _append_metrics(folds, {k: tuple(v.tolist()) for k, v in metrics.items()})


def step_task(
    trial: TrialSpec | TrialState | FoldsState | tuple,
    data: SearchData,
    n_epochs: int,
    bar: Any = None,
) -> tuple:
    """Build the trial if needed, train it ``n_epochs`` more epochs, score it.

    Returns ``(state, record)``. A trial that raises is caught here (unless
    ``error_score="raise"``): its state is ``None`` and its record carries the error and
    ``error_score``. With ``patience``, the trial is scored after every epoch and stops
    by itself when its score has not improved by ``tol`` in ``patience`` epochs. With
    ``data.stored_steps``, a task whose outcome the storage already holds (dask runs it
    again to recompute what a lost worker held) returns the stored state and record.
    With ``cv`` (``data.folds``), the trial is one model per fold (:func:`_train_folds`);
    ``bar`` is the rung's :class:`~skhpo._promotion.FoldBar` with ``fold_rejection``.
    """
    if isinstance(trial, tuple):  # the previous task's (state, record), from a cluster
        trial = trial[0]
    live = isinstance(trial, TrialState | FoldsState)
    epochs_before = trial.epochs if live else 0
    elapsed_before = trial.elapsed if live else 0.0
    if data.stored_steps is not None:
        stored = read_stored_step(data.stored_steps, trial.model_id, epochs_before)
        if stored is not None:
            state, record = stored
            return state, replace(record, checkpoint=None, restored=True)
    remaining = None if data.timeout is None else max(data.timeout - elapsed_before, 0.0)
    main_thread = threading.current_thread() is threading.main_thread()
    done = _Progress(epochs_before)
    start = time.perf_counter()
    state: TrialState | None = None
    try:
        with _deadline(remaining, data.timeout):
            if data.folds is None:
                state = _train(trial, data, n_epochs, done)
            else:
                state = _train_folds(trial, data, n_epochs, done, bar)
        state.elapsed = elapsed_before + time.perf_counter() - start
        error = None
    except Exception as exc:
        if main_thread and _interrupted.is_set():
            # Ctrl-C landed in C code (TensorFlow) that turned it into another error
            raise KeyboardInterrupt from exc
        if isinstance(data.error_score, str) and data.error_score == "raise":
            raise
        error = "".join(traceback.format_exception(exc)).rstrip()
        _record_failure(done, data)
        state = None
    if main_thread:
        raise_if_interrupted()  # Ctrl-C swallowed where it landed
    train_scores = done.train_scores[-len(done.scores) :] if data.return_train_score else None
    record = StepRecord(
        model_id=trial.model_id,
        epochs=state.epochs if state is not None else done.scores[-1][0],
        scores=tuple(done.scores),
        train_scores=None if train_scores is None else tuple(train_scores),
        metric_scores=_frozen_metrics(done.metric_scores, len(done.scores)),
        train_metric_scores=_frozen_metrics(done.train_metric_scores, len(done.scores)),
        fit_time=done.fit_time,
        score_time=done.score_time,
        error=error,
        stopped_early=done.stopped,
        checkpoint=pack_state(state) if data.checkpoint and state is not None else None,
        **_fold_fields(done, data, state),
    )
    return state, record


def _record_failure(done: _Progress, data: SearchData) -> None:
    """A failed task's last scores: ``error_score`` for every metric (and every fold,
    as in scikit-learn)."""
    failed = float(data.error_score)
    done.scores.append((done.epochs, failed, time.time()))
    _append_metrics(done.metric_scores, dict.fromkeys(done.metric_scores, failed))
    if data.return_train_score:
        done.train_scores.append(failed)
        _append_metrics(done.train_metric_scores, dict.fromkeys(done.train_metric_scores, failed))
    if data.folds is not None:
        folds = (failed,) * data.n_folds
        done.fold_scores.append(folds)
        _append_metrics(done.fold_metric_scores, dict.fromkeys(done.fold_metric_scores, folds))
        if data.return_train_score:
            done.fold_train_scores.append(folds)
            fold_train = done.fold_train_metric_scores
            _append_metrics(fold_train, dict.fromkeys(fold_train, folds))


def _fold_fields(done: _Progress, data: SearchData, state: Any) -> dict:
    """The ``cv`` fields of a task's :class:`StepRecord` (none without ``cv``)."""
    if data.folds is None:
        return {}
    n, unscored = len(done.scores), (math.nan,) * data.n_folds
    train = data.return_train_score
    return {
        "fold_scores": tuple(done.fold_scores[-n:]),
        "fold_train_scores": tuple(done.fold_train_scores[-n:]) if train else None,
        "fold_epochs": state.fold_epochs if state is not None else None,
        "rejected": done.rejected,
        "fold_metric_scores": _frozen_metrics(done.fold_metric_scores, n, unscored),
        "fold_train_metric_scores": (
            _frozen_metrics(done.fold_train_metric_scores, n, unscored) if train else None
        ),
    }


_interrupted = threading.Event()


@contextlib.contextmanager
def catch_interrupts():
    """While a search runs, remember each SIGINT (Ctrl-C) and raise ``KeyboardInterrupt``.

    Python raises ``KeyboardInterrupt`` at the next bytecode of the main thread; when
    that bytecode runs inside a callback of C code (a TensorFlow step), the C code may
    turn it into another error (``SystemError: ... bad argument to internal function``)
    or drop it. The trial then looks failed, and the search would go on. This handler
    also sets a flag, which :func:`step_task` and the driver check: a task that raised
    anything, or returned, while the flag is set raises ``KeyboardInterrupt``.

    Installed only in the main thread, and only over Python's default handler (a
    handler of the user's, or an ignored SIGINT, is left alone); restored on exit.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return

    def interrupt(signum, frame):
        _interrupted.set()
        raise KeyboardInterrupt

    _interrupted.clear()
    signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _interrupted.clear()


def raise_if_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if a SIGINT came during :func:`catch_interrupts`."""
    if _interrupted.is_set():
        raise KeyboardInterrupt


@contextlib.contextmanager
def _deadline(seconds: float | None, timeout: float | None):
    """Raise :class:`TrialTimeoutError` in this thread once ``seconds`` have passed.

    In the main thread (the in-process executor) a ``SIGALRM`` timer interrupts even a
    sleeping call; in another thread (a dask worker's) a watchdog raises the error
    asynchronously (``PyThreadState_SetAsyncExc``, through ctypes), which takes effect
    at the next Python bytecode, so a C call runs to its end first and one that never
    returns cannot be interrupted there. Either way the error lands at whatever Python
    line the thread is running, a library's ``finally`` block included. A body that
    catches the error and goes on still fails with it when it ends: it overran.
    ``docs/user_guide/resume.rst`` states these limits; ``tests/test_faults.py`` shows
    them.
    """
    if seconds is None:
        yield
        return
    message = f"the trial exceeded timeout={timeout:g} s"
    if seconds <= 0:
        raise TrialTimeoutError(message)
    fired = []
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):

        def alarm(signum, frame):
            fired.append(True)
            raise TrialTimeoutError(message)

        previous = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        if fired:  # the body caught the error and went on
            raise TrialTimeoutError(message)
        return
    tid = ctypes.c_ulong(threading.get_ident())
    lock = threading.Lock()
    over = threading.Event()

    stop_process = hard_stop

    def watchdog():
        if not over.wait(seconds):
            with lock:
                if not over.is_set():
                    fired.append(True)
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(tid, ctypes.py_object(_AsyncTimeout))
            if stop_process is not None and not over.wait(HARD_STOP_GRACE):
                stop_process(message)  # stuck in C code: end the process

    thread = threading.Thread(target=watchdog, name="skhpo-trial-timeout", daemon=True)
    thread.start()
    try:
        yield
    except _AsyncTimeout:
        raise TrialTimeoutError(message) from None
    finally:
        with lock:
            over.set()
            if fired:  # a pending exception must not escape this block
                ctypes.pythonapi.PyThreadState_SetAsyncExc(tid, None)
        thread.join()
    if fired:  # the body caught the error and went on
        raise TrialTimeoutError(message)


# Set by skhpo's own worker processes (``scheduler="processes"``) while a task runs: called
# with the timeout's message when a trial is still running ``HARD_STOP_GRACE`` seconds
# after its timeout fired (it is in C code that does not return), to end the process.
hard_stop: Callable[[str], None] | None = None
HARD_STOP_GRACE = 2.0


class _AsyncTimeout(Exception):
    """Raised by the watchdog in the trial's thread; turned into TrialTimeoutError."""


def refit_task(estimator: Any, params: dict, X: Any, y: Any, fit_params: dict, epochs: int):
    """Train a fresh estimator with ``params`` on ``(X, y)`` for ``epochs`` epochs.

    ``fit_params`` hold values, not ``distributed.Future`` objects: resolve them first.
    """
    data = SearchData(X, y, None, None, fit_params, scorer=None)
    t0 = time.perf_counter()
    state = build_trial(TrialSpec("refit", estimator, params), data)
    Xt, _ = _transformed(state, data)
    fit_epochs(state.final, Xt, y, epochs, state.fit_params)
    state.epochs = epochs
    return state, {"refit_time": time.perf_counter() - t0}
