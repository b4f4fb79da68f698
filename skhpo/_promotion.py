"""Promotion rules as pure functions: synchronous top-k, asynchronous (ASHA), early stopping.

NaN (or ``None``) scores are never promoted and rank last.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Mapping, Sequence
from fractions import Fraction
from numbers import Integral

__all__ = ["asha_promotable", "n_to_promote", "rank_key", "should_stop_early", "top_k"]


def _is_nan(score: float | None) -> bool:
    return score is None or (isinstance(score, float) and math.isnan(score))


def rank_key(score: float | None) -> tuple[int, float]:
    """A sort key, higher is better, where NaN and ``None`` rank below everything.

    Examples
    --------
    >>> sorted([0.5, float("nan"), None, 0.9, float("-inf")], key=rank_key, reverse=True)
    [0.9, 0.5, -inf, nan, None]
    """
    return (0, 0.0) if _is_nan(score) else (1, float(score))


def _order(scores: Mapping[Hashable, float | None]) -> list[Hashable]:
    """Ids with a real score, best first; ties keep insertion order (sort is stable)."""
    valid = [k for k, s in scores.items() if not _is_nan(s)]
    return sorted(valid, key=lambda k: -float(scores[k]))


def top_k(scores: Mapping[Hashable, float | None], k: int) -> list[Hashable]:
    """The ids of the ``k`` highest scores, best first; NaN and ``None`` are never returned.

    Examples
    --------
    >>> top_k({"a": 0.1, "b": float("nan"), "c": 0.7, "d": 0.7}, 2)
    ['c', 'd']
    >>> top_k({"a": float("nan")}, 1)
    []
    """
    if k <= 0:
        return []
    return _order(scores)[:k]


def n_to_promote(n_at_rung: int, eta: float) -> int:
    """``floor(n_at_rung / eta)``, exactly.

    Examples
    --------
    >>> n_to_promote(9, 3), n_to_promote(8, 3), n_to_promote(5, 2.5)
    (3, 2, 2)
    """
    e = Fraction(eta) if isinstance(eta, Integral) else Fraction(str(eta))
    return math.floor(Fraction(n_at_rung) / e)


def asha_promotable(
    rung_scores: Mapping[Hashable, float | None],
    already_promoted: Collection[Hashable],
    eta: float,
) -> list[Hashable]:
    """Asynchronous successive halving (Li et al., 2020): who may go up now.

    Of the models scored at a rung, those in the top ``floor(n / eta)`` that have not
    been promoted yet, best first.

    Examples
    --------
    >>> asha_promotable({"a": 0.2, "b": 0.9, "c": 0.5}, [], 3)
    ['b']
    >>> asha_promotable({"a": 0.2, "b": 0.9, "c": 0.5}, ["b"], 3)
    []
    """
    top = top_k(rung_scores, n_to_promote(len(rung_scores), eta))
    done = set(already_promoted)
    return [k for k in top if k not in done]


def should_stop_early(scores: Sequence[float], patience: int, tol: float) -> bool:
    """True when the last ``patience`` scores did not beat the earlier best by ``tol``.

    dask-ml's ``patience``/``tol``: with more than ``patience`` scores, stop when
    ``max(scores[-patience:]) < max(scores[:-patience]) + tol``. NaN scores count as
    no improvement.

    Examples
    --------
    >>> should_stop_early([0.5, 0.6, 0.6, 0.6], patience=2, tol=1e-3)
    True
    >>> should_stop_early([0.5, 0.6, 0.7, 0.6], patience=2, tol=1e-3)
    False
    """
    if patience < 1 or len(scores) <= patience:
        return False
    recent = [s for s in scores[-patience:] if not _is_nan(s)]
    earlier = [s for s in scores[:-patience] if not _is_nan(s)]
    if not recent:
        return True
    if not earlier:
        return False
    return max(recent) < max(earlier) + tol
