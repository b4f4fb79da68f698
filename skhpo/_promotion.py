"""Promotion rules as pure functions: synchronous top-k, asynchronous (ASHA), early stopping.

Scores are "higher is better". NaN and ``None`` scores (failed or unscored models) rank
below everything, ``-inf`` included, and are never promoted.

References
----------
.. [1] L. Li, K. Jamieson, A. Rostamizadeh, E. Gonina, J. Ben-tzur, M. Hardt, B. Recht
   and A. Talwalkar, "A System for Massively Parallel Hyperparameter Tuning", MLSys 2020.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Mapping, Sequence

from ._schedule import floor_div

__all__ = [
    "FoldBar",
    "asha_promotable",
    "n_to_promote",
    "rank_key",
    "reject_after_folds",
    "should_stop_early",
    "top_k",
]


def _is_nan(score: float | None) -> bool:
    """``None`` or NaN, of any numeric type (float, numpy scalars, Decimal)."""
    return score is None or bool(score != score)


def rank_key(score: float | None) -> tuple[int, float]:
    """A sort key for a score, higher is better, with NaN and ``None`` below everything.

    Parameters
    ----------
    score : float or None
        A score; ``None`` and NaN mean "no usable score".

    Returns
    -------
    tuple of (int, float)
        ``(1, score)`` for a real score, ``(0, 0.0)`` for NaN and ``None``; so ``+inf``
        ranks best, ``-inf`` just above NaN, and NaN and ``None`` tie for last.

    Examples
    --------
    >>> sorted([0.5, float("nan"), None, 0.9, float("-inf")], key=rank_key, reverse=True)
    [0.9, 0.5, -inf, nan, None]
    >>> max([float("nan"), -1e300], key=rank_key)
    -1e+300
    """
    return (0, 0.0) if _is_nan(score) else (1, float(score))  # type: ignore[arg-type]


def _order(scores: Mapping[Hashable, float | None]) -> list[Hashable]:
    """Ids with a real score, best first; ties keep insertion order (sort is stable)."""
    valid = [k for k, s in scores.items() if not _is_nan(s)]
    return sorted(valid, key=lambda k: rank_key(scores[k]), reverse=True)


def top_k(scores: Mapping[Hashable, float | None], k: int) -> list[Hashable]:
    """The ids of the ``k`` highest scores, best first.

    Parameters
    ----------
    scores : mapping
        ``{id: score}``; higher is better.
    k : int
        How many ids to return at most; ``k <= 0`` returns none.

    Returns
    -------
    list
        At most ``k`` ids, best first. Ids scored NaN or ``None`` are never returned,
        so fewer than ``k`` may come back. Equal scores keep the mapping's insertion
        order (the first inserted ranks first).

    Examples
    --------
    >>> top_k({"a": 0.1, "b": float("nan"), "c": 0.7, "d": 0.7}, 2)
    ['c', 'd']
    >>> top_k({"a": float("nan"), "b": None}, 1)
    []
    """
    if k <= 0:
        return []
    return _order(scores)[:k]


def n_to_promote(n_at_rung: int, eta: float) -> int:
    """``floor(n_at_rung / eta)``, computed exactly.

    Parameters
    ----------
    n_at_rung : int
        Models that have reached the rung.
    eta : float
        The reduction factor, > 0 (Hyperband's ``eta``); a float is taken at its decimal
        value, so ``n_to_promote(9, 0.9)`` is 10, not 9.

    Returns
    -------
    int

    Examples
    --------
    >>> n_to_promote(9, 3), n_to_promote(8, 3), n_to_promote(5, 2.5), n_to_promote(2, 3)
    (3, 2, 2, 0)
    """
    return floor_div(n_at_rung, eta)


def asha_promotable(
    rung_scores: Mapping[Hashable, float | None],
    already_promoted: Collection[Hashable],
    eta: float,
) -> list[Hashable]:
    """Asynchronous successive halving (ASHA, Li et al. 2020): who may go up now.

    Parameters
    ----------
    rung_scores : mapping
        ``{id: score}`` of every model that has reached the rung so far, NaN or ``None``
        for those that failed; in the order they reached it (ties go to the earlier).
    already_promoted : collection
        Ids already promoted from this rung.
    eta : float
        The reduction factor.

    Returns
    -------
    list
        The ids in the top ``floor(n / eta)`` of the rung (``n = len(rung_scores)``,
        failed models included) that have not been promoted yet, best first. NaN and
        ``None`` are never promoted. Promotions are never taken back: an id promoted
        earlier that has since left the top is simply not returned.

    Examples
    --------
    >>> asha_promotable({"a": 0.2, "b": 0.9, "c": 0.5}, [], 3)
    ['b']
    >>> asha_promotable({"a": 0.2, "b": 0.9, "c": 0.5}, ["b"], 3)
    []
    >>> asha_promotable({"a": 0.2, "b": 0.9, "c": 0.5, "d": 0.1, "e": 0.7, "f": 0.3}, ["b"], 3)
    ['e']
    """
    top = top_k(rung_scores, n_to_promote(len(rung_scores), eta))
    done = set(already_promoted)
    return [k for k in top if k not in done]


def should_stop_early(scores: Sequence[float | None], patience: int, tol: float) -> bool:
    """Whether a model's last ``patience`` scores failed to improve on its earlier best.

    Parameters
    ----------
    scores : sequence of float
        The model's scores, one per scoring (epoch), oldest first; higher is better.
    patience : int
        How many scores may go by without improvement; ``patience < 1`` never stops.
    tol : float
        The improvement that counts: more than ``tol`` above the earlier best.

    Returns
    -------
    bool
        ``True`` when ``len(scores) > patience`` and none of the last ``patience`` scores
        is more than ``tol`` above the best score before them:
        ``max(scores[-patience:]) <= max(scores[:-patience]) + tol``.

    Notes
    -----
    NaN and ``None`` scores count as no improvement: if the last ``patience`` scores are
    all NaN the model stops; if every earlier score is NaN, a real recent score is an
    improvement.

    An improvement must be *more* than ``tol``, as in dask-ml (``score <= start + tol``
    is a plateau), so with ``tol=0`` a score that only repeats the best stops too.
    dask-ml compares the scores of the last ``patience`` ``partial_fit`` calls with the
    single score ``patience`` calls back; here the baseline is the best of *all*
    earlier scores, so a model whose score peaked and then fell back also stops.

    Examples
    --------
    >>> should_stop_early([0.5, 0.6, 0.6, 0.6], patience=2, tol=1e-3)
    True
    >>> should_stop_early([0.5, 0.6, 0.7, 0.6], patience=2, tol=1e-3)
    False
    >>> should_stop_early([0.5, 0.6], patience=2, tol=1e-3)
    False
    """
    if patience < 1 or len(scores) <= patience:
        return False
    recent = [float(s) for s in scores[-patience:] if not _is_nan(s)]  # type: ignore[arg-type]
    earlier = [float(s) for s in scores[:-patience] if not _is_nan(s)]  # type: ignore[arg-type]
    if not recent:
        return True
    if not earlier:
        return False
    return max(recent) <= max(earlier) + tol


def reject_after_folds(
    fold_scores: Sequence[float], cutoff: float | None, sigma: float | None, z: float
) -> bool:
    """Whether a trial scored on its first ``j`` folds can be stopped (``fold_rejection``).

    Parameters
    ----------
    fold_scores : sequence of float
        The trial's scores on its first ``j`` folds.
    cutoff : float or None
        The score a trial must beat to be promoted from the rung: the ``k``-th best mean
        among the rung's trials scored on all their folds so far (``None``: fewer than
        ``k`` of them yet).
    sigma : float or None
        The standard deviation of one fold's score around its trial's mean, pooled over
        those trials (``None``: not known yet).
    z : float
        How many standard errors of optimism to allow.

    Returns
    -------
    bool
        ``True`` when ``mean(fold_scores) + z * sigma / sqrt(j) < cutoff``. The mean of
        all ``k`` folds differs from the mean of the first ``j`` by a standard deviation
        of ``sigma * sqrt((k - j) / (k * j))``, less than ``sigma / sqrt(j)``, so this
        bound is conservative: a trial stopped has its full mean under the cutoff with
        probability above ``Phi(z)`` (0.977 for ``z=2``) when the fold scores are
        independent and normal around the trial's mean.

    Examples
    --------
    >>> reject_after_folds([0.80], cutoff=0.90, sigma=0.02, z=2)
    True
    >>> reject_after_folds([0.87, 0.88], cutoff=0.90, sigma=0.02, z=2)
    False
    >>> reject_after_folds([0.5], cutoff=None, sigma=0.02, z=2)
    False
    """
    scores = [float(s) for s in fold_scores if not _is_nan(s)]
    if cutoff is None or sigma is None or _is_nan(sigma) or not scores:
        return False
    mean = sum(scores) / len(scores)
    return mean + z * sigma / math.sqrt(len(scores)) < cutoff


class FoldBar:
    """What a rung's trials must beat, for :func:`reject_after_folds`.

    ``k`` trials of the rung go on. The driver :meth:`add` s each trial scored on all its
    folds; a task asks :meth:`rejects` after each fold. In-process the task sees the bar
    as it is when the task runs; on a cluster, as it was when the task was submitted.
    """

    def __init__(self, k: int, z: float) -> None:
        self.k = k
        self.z = z
        self.means: list[float] = []
        self.variances: list[float] = []  # each trial's sample variance of fold scores

    def add(self, fold_scores: Sequence[float]) -> None:
        """A trial of the rung was scored on every fold."""
        scores = [float(s) for s in fold_scores]
        if len(scores) < 2 or any(_is_nan(s) for s in scores):
            return
        mean = sum(scores) / len(scores)
        self.means.append(mean)
        self.variances.append(sum((s - mean) ** 2 for s in scores) / (len(scores) - 1))

    def cutoff(self) -> float | None:
        """The ``k``-th best mean so far, or None with fewer than ``k``."""
        if self.k < 1 or len(self.means) < self.k:
            return None
        return sorted(self.means, reverse=True)[self.k - 1]

    def sigma(self) -> float | None:
        """The pooled standard deviation of a fold's score around its trial's mean."""
        if not self.variances:
            return None
        return math.sqrt(sum(self.variances) / len(self.variances))

    def rejects(self, fold_scores: Sequence[float]) -> bool:
        """Whether a trial with these first fold scores stops here."""
        return reject_after_folds(fold_scores, self.cutoff(), self.sigma(), self.z)
