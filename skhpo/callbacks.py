"""Callbacks: objects told what a search does, and stoppers that end it.

Two kinds live here:

* :class:`SearchCallback` and its subclasses (:class:`ProgressBar`,
  :class:`LoggingCallback`) are told the events of :class:`~skhpo.HyperbandSearchCV`
  and :class:`~skhpo.SuccessiveHalvingSearchCV` (``callbacks=[...]``).
* Stoppers for :class:`~skhpo.bayes.BayesSearchCV`, called as in scikit-optimize:
  ``search.fit(X, y, callback=[...])`` calls each one after every batch with the
  optimizer's result so far (a dict with attribute access: ``x_iters``, ``func_vals``,
  ``x``, ``fun``, ``elapsed``), and stops the search when one returns True.
  :class:`DeadlineStopper` and :class:`NoImprovementStopper` ship with skhpo; any
  callable taking the result works, scikit-optimize's own callbacks included.
"""

from __future__ import annotations

import math
import numbers
import time
from typing import Any

import numpy as np

from ._events import LoggingCallback, ProgressBar, SearchCallback

__all__ = [
    "DeadlineStopper",
    "LoggingCallback",
    "NoImprovementStopper",
    "ProgressBar",
    "SearchCallback",
]


class DeadlineStopper:
    """Stop a search before it runs past ``total_time`` seconds.

    The clock starts with the search (``result["elapsed"]``, the seconds since
    :class:`~skhpo.bayes.BayesSearchCV` began, is set by the search; with another caller
    the clock starts when the stopper is created, as in scikit-optimize). As in
    scikit-optimize, the search stops when the time left is shorter than the longest
    batch so far, so that the next batch is not likely to overrun.

    Parameters
    ----------
    total_time : float
        The time budget, in seconds.

    Attributes
    ----------
    iter_time : list of float
        The duration of each batch seen so far, in seconds.

    Examples
    --------
    >>> from skhpo.callbacks import DeadlineStopper
    >>> stopper = DeadlineStopper(total_time=60)
    >>> stopper({"x_iters": [[1.0]], "func_vals": [-0.9], "elapsed": 10.0})
    False
    >>> stopper({"x_iters": [[1.0]] * 2, "func_vals": [-0.9, -0.8], "elapsed": 55.0})
    True
    """

    def __init__(self, total_time: float) -> None:
        if (
            isinstance(total_time, bool)
            or not isinstance(total_time, numbers.Real)
            or not total_time > 0
        ):
            raise ValueError(f"total_time must be a positive number of seconds, got {total_time!r}")
        self.total_time = float(total_time)
        self.iter_time: list[float] = []
        self._created = time.perf_counter()
        self._last = 0.0

    def __call__(self, result: Any) -> bool:
        elapsed = _get(result, "elapsed", None)
        if elapsed is None:
            elapsed = time.perf_counter() - self._created
        if elapsed < self._last:  # a new search: forget the last one's batches
            self.iter_time = []
            self._last = 0.0
        self.iter_time.append(elapsed - self._last)
        self._last = elapsed
        return bool(self.total_time - elapsed <= max(self.iter_time))


class NoImprovementStopper:
    """Stop a search when the best score has not improved in ``n_iter_no_change`` evaluations.

    Improvement means a new best objective value (``func_vals``, the negated scores)
    lower than the previous best by more than ``tol``. NaN scores (failed fits) never
    improve.

    Parameters
    ----------
    n_iter_no_change : int
        Evaluations (not batches) without improvement before stopping.
    tol : float, default=0
        The improvement that counts.

    Examples
    --------
    >>> from skhpo.callbacks import NoImprovementStopper
    >>> stopper = NoImprovementStopper(n_iter_no_change=2)
    >>> stopper({"func_vals": [-0.5, -0.7, -0.6]})
    False
    >>> stopper({"func_vals": [-0.5, -0.7, -0.6, -0.65]})
    True
    """

    def __init__(self, n_iter_no_change: int, tol: float = 0.0) -> None:
        if (
            isinstance(n_iter_no_change, bool)
            or not isinstance(n_iter_no_change, numbers.Integral)
            or n_iter_no_change < 1
        ):
            raise ValueError(f"n_iter_no_change must be an int >= 1, got {n_iter_no_change!r}")
        if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not tol >= 0:
            raise ValueError(f"tol must be a number >= 0, got {tol!r}")
        self.n_iter_no_change = int(n_iter_no_change)
        self.tol = float(tol)

    def __call__(self, result: Any) -> bool:
        values = np.asarray(_get(result, "func_vals", []), dtype=float)
        n = self.n_iter_no_change
        if len(values) <= n:
            return False
        before = _nanmin(values[:-n])
        recent = _nanmin(values[-n:])
        return not recent < before - self.tol


def _get(result: Any, key: str, default: Any) -> Any:
    if isinstance(result, dict):
        return result.get(key, default)
    return getattr(result, key, default)


def _nanmin(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.min()) if len(values) else math.inf
