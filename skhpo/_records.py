"""Value records of trials, and their conversion to scikit-learn's ``cv_results_``."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from ._promotion import rank_key

__all__ = [
    "COMPLETED",
    "FAILED",
    "PENDING",
    "PRUNED",
    "RUNNING",
    "StepRecord",
    "TrialRecord",
    "TrialStatus",
    "cv_results",
    "error_line",
    "failure_causes",
    "score_keys",
    "standing",
]


class TrialStatus(str, Enum):
    """Where a trial stands. A ``str``: each status equals its value (``"pruned"``)."""

    PENDING = "pending"
    RUNNING = "running"
    PRUNED = "pruned"
    COMPLETED = "completed"
    FAILED = "failed"

    __str__ = str.__str__  # "pruned", not "TrialStatus.PRUNED", in logs and MLflow tags
    __format__ = str.__format__


PENDING = TrialStatus.PENDING
RUNNING = TrialStatus.RUNNING
PRUNED = TrialStatus.PRUNED
COMPLETED = TrialStatus.COMPLETED
FAILED = TrialStatus.FAILED


@dataclass(frozen=True)
class StepRecord:
    """What one task reports about its trial: a value, small enough to travel.

    ``scores`` holds ``(epochs, score, wall-clock time)`` per scoring (a failed task's
    last score is its ``error_score``); ``train_scores`` the matching training-split
    scores, with ``return_train_score``. With several metrics, ``scores`` holds the
    metric that ranks the trials, and ``metric_scores`` (``train_metric_scores``) maps
    every metric's name to its scores, one per entry of ``scores``. ``checkpoint`` is
    the pickled live trial, with a storage; ``restored`` says the record was read back
    from the storage instead of trained; ``worker`` and ``pid`` name where the task ran
    (a dask worker).

    With ``cv``, ``scores`` hold the mean over the folds, and ``fold_scores`` (and
    ``fold_train_scores``) one tuple of per-fold scores per scoring (NaN for a fold
    not scored); ``fold_epochs`` the epochs of each fold's model after the task;
    ``rejected`` says the trial stopped after its first folds (``fold_rejection``).
    With ``cv`` and several metrics, ``metric_scores`` hold each metric's fold means
    and ``fold_metric_scores`` (``fold_train_metric_scores``) map every metric's name
    to its per-fold tuples, one per entry of ``scores``.
    """

    model_id: str
    epochs: int
    scores: tuple = ()
    train_scores: tuple | None = None
    metric_scores: dict | None = None  # several metrics: name -> tuple of scores
    train_metric_scores: dict | None = None
    fit_time: float = 0.0
    score_time: float = 0.0
    error: str | None = None
    stopped_early: bool = False
    checkpoint: bytes | None = None
    restored: bool = False
    worker: str | None = None
    pid: int | None = None
    fold_scores: tuple | None = None
    fold_train_scores: tuple | None = None
    fold_epochs: tuple | None = None
    rejected: bool = False
    fold_metric_scores: dict | None = None  # cv and several metrics: name -> fold tuples
    fold_train_metric_scores: dict | None = None


@dataclass
class TrialRecord:
    """What the driver knows of one trial: a plain value, no live model.

    ``scores`` holds ``(epochs, score)`` pairs, one per scoring; ``epoch_fit_times`` the
    training time per epoch of each task, ``score_times`` the time of each scoring.
    With several metrics, ``metrics`` (``train_metrics``) holds each metric's last score,
    and with ``cv`` also ``fold_metrics`` (``fold_train_metrics``) its last per-fold
    scores.
    """

    index: int
    model_id: str
    bracket: int
    params: dict
    status: TrialStatus = TrialStatus.PENDING
    epochs: int = 0
    scores: list = field(default_factory=list)
    epoch_fit_times: list = field(default_factory=list)
    score_times: list = field(default_factory=list)
    train_scores: list = field(default_factory=list)  # with return_train_score, per scoring
    metrics: dict = field(default_factory=dict)  # several metrics: name -> last score
    train_metrics: dict = field(default_factory=dict)
    error: str | None = None
    stopped_early: bool = False
    iteration: int = 1  # the Hyperband iteration the trial's bracket belongs to
    worker: str | None = None  # where its last task ran (a dask worker's address)
    fold_scores: list = field(default_factory=list)  # with cv, per scoring
    fold_train_scores: list = field(default_factory=list)
    fold_epochs: tuple | None = None  # with cv, the epochs of each fold's model
    rejected: bool = False  # with fold_rejection, stopped after its first folds
    fold_metrics: dict = field(default_factory=dict)  # cv and several metrics: name -> folds
    fold_train_metrics: dict = field(default_factory=dict)

    @property
    def score(self) -> float:
        """The last score (NaN before the first scoring)."""
        return self.scores[-1][1] if self.scores else math.nan

    @property
    def train_score(self) -> float:
        """The last score on the training split (NaN when none was taken)."""
        return self.train_scores[-1] if self.train_scores else math.nan

    @property
    def state(self) -> TrialStatus:
        """The :attr:`status` (the name ``cv_results_["state"]`` and dask-ml use)."""
        return self.status

    @property
    def fit_time(self) -> float:
        return float(sum(self.epoch_fit_times))

    def add_step(self, record: StepRecord, start_epochs: int) -> None:
        """Fold a task's record in."""
        n_scores = max(len(record.scores), 1)
        self.scores.extend((e, s) for e, s, _ in record.scores)
        self.train_scores.extend(record.train_scores or [])
        trained = max(record.epochs - start_epochs, 1)
        self.epoch_fit_times.append(record.fit_time / trained)
        self.score_times.extend([record.score_time / n_scores] * len(record.scores))
        failed = record.error is not None
        # a failed task without per-metric scores: error_score for every metric (and fold)
        score = float(record.scores[-1][1]) if failed and record.scores else None
        folds = record.fold_scores[-1] if failed and record.fold_scores else None
        self.metrics = _last_metrics(self.metrics, record.metric_scores, score)
        self.train_metrics = _last_metrics(self.train_metrics, record.train_metric_scores, score)
        self.fold_metrics = _last_metrics(self.fold_metrics, record.fold_metric_scores, folds)
        self.fold_train_metrics = _last_metrics(
            self.fold_train_metrics, record.fold_train_metric_scores, folds
        )
        self.epochs = record.epochs
        self.error = record.error
        self.stopped_early = record.stopped_early
        self.worker = record.worker
        self.fold_scores.extend(record.fold_scores or [])
        self.fold_train_scores.extend(record.fold_train_scores or [])
        if record.fold_epochs is not None:
            self.fold_epochs = record.fold_epochs
        self.rejected = record.rejected


def _last_metrics(known: dict, scores: dict | None, failed: Any) -> dict:
    """Each metric's last value after a task that gave ``scores`` (name -> one value
    per scoring); a failed task without them gives every metric known so far
    ``failed`` (its ``error_score``; None when the task did not fail)."""
    if scores:
        return {name: values[-1] for name, values in scores.items() if values}
    if failed is not None:
        return dict.fromkeys(known, failed)
    return known


_ERROR_LINE_MAX = 200


def error_line(error: str) -> str:
    """The line of a formatted traceback that names the exception: ``"Type: message"``.

    That is the first line after the last frame (the exception raised last, whatever it
    was chained to), so a message of several lines gives its first line. A text without
    frames gives its first line. Cut to 200 characters.
    """
    lines = error.rstrip().splitlines()
    frames = [k for k, line in enumerate(lines) if line.startswith("  File ")]
    start = frames[-1] + 1 if frames else 0
    line = next(
        (
            x
            for x in lines[start:]
            if x and not x.startswith(" ") and x != "Traceback (most recent call last):"
        ),
        lines[-1] if lines else "",
    )
    return line if len(line) <= _ERROR_LINE_MAX else line[: _ERROR_LINE_MAX - 3] + "..."


def failure_causes(errors: list[str]) -> str:
    """What ``errors`` (formatted tracebacks) have in common, to follow "N trials failed".

    ``"with ValueError: bad"`` when they all end the same way; else ``"in 2 ways: 3 with
    ValueError: bad; 1 with MemoryError"``, the most frequent first, at most three
    causes and a count of the others.
    """
    counts = Counter(error_line(e) for e in errors).most_common()
    if len(counts) == 1:
        return f"with {counts[0][0]}"
    parts = [f"{n} with {line}" for line, n in counts[:3]]
    if len(counts) > 3:
        parts.append(f"{sum(n for _, n in counts[3:])} in {len(counts) - 3} other ways")
    return f"in {len(counts)} ways: " + "; ".join(parts)


def _masked(values: list, present: list[bool]) -> np.ma.MaskedArray:
    arr = np.ma.MaskedArray(np.empty(len(values), dtype=object), mask=[not p for p in present])
    for i, (v, p) in enumerate(zip(values, present, strict=True)):
        if p:
            arr[i] = v
    return arr


def standing(score: float | None, rejected: bool = False) -> tuple:
    """A trial's sort key, higher is better: a real score ranks above NaN and, among
    real scores, a trial scored on all its folds above one that ``fold_rejection``
    stopped after its first folds (whose mean is over fewer folds), whatever the
    scores; then the higher score ranks first."""
    scored, value = rank_key(score)
    return scored, bool(scored) and not rejected, value


def rank_scores(scores: np.ndarray, rejected: Any = None) -> np.ndarray:
    """Rank 1 for the highest score, ties share the lowest rank, NaN ranks last; with
    ``rejected`` (one bool per score), rejected trials rank after the others with a
    real score (:func:`standing`)."""
    if rejected is None:
        rejected = np.zeros(len(scores), dtype=bool)
    keys = [standing(s, r) for s, r in zip(scores, rejected, strict=True)]
    place: dict = {}
    for k, key in enumerate(sorted(keys, reverse=True)):
        place.setdefault(key, k + 1)
    return np.array([place[key] for key in keys], dtype=np.int32)


def score_keys(results: dict, refit: Any, first: bool = True) -> tuple[str, str]:
    """The keys of the score a search ranks by in ``results``, and of its rank.

    ``mean_test_score``; with several metrics, that of the metric ``refit`` names, or
    (``refit`` False or a callable, and ``first``) of the first metric.
    """
    if "mean_test_score" in results:
        return "mean_test_score", "rank_test_score"
    if isinstance(refit, str) and f"mean_test_{refit}" in results:
        return f"mean_test_{refit}", f"rank_test_{refit}"
    name = next((k for k in results if k.startswith("mean_test_")), None)
    if not first or name is None or isinstance(refit, str) or refit is True:
        raise ValueError(
            "cv_results_ has no mean_test_score: with several metrics in scoring, set refit "
            f"to the name of the metric to rank by, not {refit!r}"
        )
    return name, "rank_test_" + name.removeprefix("mean_test_")


def cv_results(
    trials: list[TrialRecord],
    train_scores: bool = False,
    metrics: list[str] | None = None,
    n_splits: int = 1,
) -> dict[str, Any]:
    """``cv_results_`` of a Hyperband-style search: one entry per trial, in trial order.

    With ``train_scores``, also ``mean_train_score``, ``std_train_score`` and
    ``split0_train_score``: each trial's last score on its training split. With
    ``metrics`` (several metrics), these and ``rank_test_score`` come per metric as in
    scikit-learn (``mean_test_<name>``, ``rank_test_<name>``, ...) instead, and there is
    no ``test_score``. With ``n_splits`` folds (``cv``), ``split<i>_test_score`` (and
    ``split<i>_train_score``; per metric, ``split<i>_test_<name>``) are each fold's
    last score, ``std_test_score`` their standard deviation (as scikit-learn's, over
    the folds scored), and ``rejected`` says which trials stopped after their first
    folds; those rank after every trial with a real score on all its folds
    (:func:`standing`).
    """
    names = sorted({name for t in trials for name in t.params})
    rejected = np.array([t.rejected for t in trials], dtype=bool)
    results: dict[str, Any] = {
        "params": [dict(t.params) for t in trials],
        # fixed-width strings, as dask-ml's
        "model_id": np.array([t.model_id for t in trials], dtype=str),
        "iteration": np.array([t.iteration for t in trials], dtype=int),
        "bracket": np.array([t.bracket for t in trials], dtype=int),
        "partial_fit_calls": np.array([t.epochs for t in trials], dtype=int),
    }
    if metrics is None:
        results["test_score"] = np.array([t.score for t in trials], dtype=float)
        results.update(_score_columns("test", "score", results["test_score"], rejected))
    else:
        for metric in metrics:
            values = [_metric(t, t.metrics, metric, t.score) for t in trials]
            results.update(_score_columns("test", metric, values, rejected))
    results.update(
        {
            "mean_partial_fit_time": np.array([_mean(t.epoch_fit_times) for t in trials]),
            "std_partial_fit_time": np.array([_std(t.epoch_fit_times) for t in trials]),
            "mean_score_time": np.array([_mean(t.score_times) for t in trials]),
            "std_score_time": np.array([_std(t.score_times) for t in trials]),
            "state": np.array([t.status.value for t in trials], dtype=object),
            "stopped_early": np.array([t.stopped_early for t in trials], dtype=bool),
            "error": np.array([t.error for t in trials], dtype=object),
        }
    )
    if train_scores and metrics is None:
        results.update(_score_columns("train", "score", [t.train_score for t in trials]))
    elif train_scores:
        for metric in metrics:
            values = [_metric(t, t.train_metrics, metric, t.train_score) for t in trials]
            results.update(_score_columns("train", metric, values))
    if n_splits > 1:
        for kind, name, folds in _fold_scores(trials, n_splits, train_scores, metrics):
            _add_folds(results, kind, name, folds)
        results["rejected"] = rejected
    for name in names:
        results[f"param_{name}"] = _masked(
            [t.params.get(name) for t in trials], [name in t.params for t in trials]
        )
    return results


def _metric(trial: TrialRecord, metrics: dict, name: str, fallback: Any) -> Any:
    """A trial's last score (or fold scores) of metric ``name``: a failed trial that
    never scored it has its ``error_score`` (``fallback``), any other NaN."""
    if name in metrics:
        return metrics[name]
    return fallback if trial.status == FAILED else math.nan


def _score_columns(split: str, name: str, values: Any, rejected: Any = None) -> dict[str, Any]:
    """``mean_``, ``std_``, ``split0_`` (and, given ``rejected``, ``rank_``) columns of
    one split's score: one split, so the mean is the score and the deviation 0."""
    scores = np.array(values, dtype=float)
    columns = {
        f"mean_{split}_{name}": scores,
        f"std_{split}_{name}": np.zeros(len(scores)),
        f"split0_{split}_{name}": scores.copy(),
    }
    if rejected is not None:
        columns[f"rank_{split}_{name}"] = rank_scores(scores, rejected)
    return columns


def _fold_scores(trials: list[TrialRecord], n_splits: int, train: bool, metrics: list | None):
    """``(kind, name, array of shape (trials, n_splits))`` of each trial's last fold
    scores, per split kind and metric (NaN for a fold not scored)."""
    kinds = [("test", "fold_scores", "fold_metrics")]
    if train:
        kinds.append(("train", "fold_train_scores", "fold_train_metrics"))
    for kind, attr, metrics_attr in kinds:
        last = [getattr(t, attr)[-1] if getattr(t, attr) else None for t in trials]
        if metrics is None:
            yield kind, "score", _fold_array(last, n_splits)
            continue
        for name in metrics:
            per_metric = [
                _metric(t, getattr(t, metrics_attr), name, f)
                for t, f in zip(trials, last, strict=True)
            ]
            yield kind, name, _fold_array(per_metric, n_splits)


def _fold_array(rows: list, n_splits: int) -> np.ndarray:
    folds = np.full((len(rows), n_splits), np.nan)
    for i, row in enumerate(rows):
        if row is not None and not (isinstance(row, float) and math.isnan(row)):
            folds[i] = row
    return folds


def _add_folds(results: dict, kind: str, name: str, folds: np.ndarray) -> None:
    """The per-fold columns of ``cv_results_`` (``cv``) of one split kind and metric, in
    scikit-learn's names, and the standard deviation over the folds scored."""
    scored = ~np.isnan(folds)
    sq = np.where(scored, (folds - results[f"mean_{kind}_{name}"][:, None]) ** 2, 0.0)
    with np.errstate(invalid="ignore"):
        results[f"std_{kind}_{name}"] = np.sqrt(sq.sum(axis=1) / scored.sum(axis=1))
    for i in range(folds.shape[1]):
        results[f"split{i}_{kind}_{name}"] = folds[:, i].copy()


def _mean(values: list) -> float:
    return float(np.mean(values)) if values else 0.0


def _std(values: list) -> float:
    return float(np.std(values)) if values else 0.0
