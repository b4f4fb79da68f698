"""Value records of trials, and their conversion to scikit-learn's ``cv_results_``."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import rankdata

__all__ = [
    "COMPLETED",
    "FAILED",
    "PENDING",
    "PRUNED",
    "RUNNING",
    "TrialRecord",
    "cv_results",
    "error_line",
    "failure_causes",
]

PENDING = "pending"
RUNNING = "running"
PRUNED = "pruned"
COMPLETED = "completed"
FAILED = "failed"


@dataclass
class TrialRecord:
    """What the driver knows of one trial: a plain value, no live model.

    ``scores`` holds ``(epochs, score)`` pairs, one per scoring; ``epoch_fit_times`` the
    training time per epoch of each task, ``score_times`` the time of each scoring.
    """

    index: int
    model_id: str
    bracket: int
    params: dict
    state: str = PENDING
    epochs: int = 0
    scores: list = field(default_factory=list)
    epoch_fit_times: list = field(default_factory=list)
    score_times: list = field(default_factory=list)
    train_scores: list = field(default_factory=list)  # with return_train_score, per scoring
    error: str | None = None
    stopped_early: bool = False

    @property
    def score(self) -> float:
        """The last score (NaN before the first scoring)."""
        return self.scores[-1][1] if self.scores else math.nan

    @property
    def train_score(self) -> float:
        """The last score on the training split (NaN when none was taken)."""
        return self.train_scores[-1] if self.train_scores else math.nan

    @property
    def fit_time(self) -> float:
        return float(sum(self.epoch_fit_times))

    def add_step(self, record: dict, start_epochs: int) -> None:
        """Fold a task's record in."""
        n_scores = max(len(record["scores"]), 1)
        self.scores.extend((e, s) for e, s, _ in record["scores"])
        self.train_scores.extend(record.get("train_scores") or [])
        trained = max(record["epochs"] - start_epochs, 1)
        self.epoch_fit_times.append(record["fit_time"] / trained)
        self.score_times.extend([record["score_time"] / n_scores] * len(record["scores"]))
        self.epochs = record["epochs"]
        self.error = record["error"]
        self.stopped_early = record["stopped_early"]


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


def rank_scores(scores: np.ndarray) -> np.ndarray:
    """Rank 1 for the highest score, ties share the lowest rank, NaN ranks last."""
    key = np.where(np.isnan(scores), -np.inf, scores)
    ranks = rankdata(-key, method="min").astype(np.int32)
    if np.isnan(scores).any():
        ranks[np.isnan(scores)] = np.count_nonzero(~np.isnan(scores)) + 1
    return ranks


def cv_results(trials: list[TrialRecord], train_scores: bool = False) -> dict[str, Any]:
    """``cv_results_`` of a Hyperband-style search: one entry per trial, in trial order.

    With ``train_scores``, also ``mean_train_score``, ``std_train_score`` and
    ``split0_train_score``: each trial's last score on its training split.
    """
    names = sorted({name for t in trials for name in t.params})
    scores = np.array([t.score for t in trials], dtype=float)
    results: dict[str, Any] = {
        "params": [dict(t.params) for t in trials],
        # fixed-width strings, as dask-ml's
        "model_id": np.array([t.model_id for t in trials], dtype=str),
        "bracket": np.array([t.bracket for t in trials], dtype=int),
        "partial_fit_calls": np.array([t.epochs for t in trials], dtype=int),
        "test_score": scores,
        "mean_test_score": scores.copy(),
        "std_test_score": np.zeros(len(trials)),
        "split0_test_score": scores.copy(),
        "rank_test_score": rank_scores(scores),
        "mean_partial_fit_time": np.array([_mean(t.epoch_fit_times) for t in trials]),
        "std_partial_fit_time": np.array([_std(t.epoch_fit_times) for t in trials]),
        "mean_score_time": np.array([_mean(t.score_times) for t in trials]),
        "std_score_time": np.array([_std(t.score_times) for t in trials]),
        "state": np.array([t.state for t in trials], dtype=object),
        "stopped_early": np.array([t.stopped_early for t in trials], dtype=bool),
        "error": np.array([t.error for t in trials], dtype=object),
    }
    if train_scores:
        train = np.array([t.train_score for t in trials], dtype=float)
        results["mean_train_score"] = train
        results["std_train_score"] = np.zeros(len(trials))
        results["split0_train_score"] = train.copy()
    for name in names:
        results[f"param_{name}"] = _masked(
            [t.params.get(name) for t in trials], [name in t.params for t in trials]
        )
    return results


def _mean(values: list) -> float:
    return float(np.mean(values)) if values else 0.0


def _std(values: list) -> float:
    return float(np.std(values)) if values else 0.0
