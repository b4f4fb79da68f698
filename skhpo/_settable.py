"""Can a subspace's parameters be set on the estimator, as the subspace itself sets them?

A subspace may replace a step or a nested estimator (``{"model": [SVC()], "model__C":
...}`` on ``Pipeline([("model", SVC())])``, as scikit-learn's ``GridSearchCV`` and
scikit-optimize allow). Its other names are then checked against the estimator that the
subspace puts there, not against the initial one.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.base import clone

from .space import Categorical, Dimension

__all__ = ["check_settable"]

# settings of the replacing parameters tried at most (the product of their categories)
_MAX_SETTINGS = 64


def check_settable(
    estimator: Any,
    subspace: Mapping[str, Dimension],
    random_state: np.random.RandomState,
    skip_known: bool = False,
) -> list:
    """Raise a ValueError naming the first parameter of ``subspace`` that ``set_params``
    refuses; return the estimators the subspace's replacing parameters build.

    A name that prefixes another name of the subspace (``model`` for ``model__C``)
    replaces what the others are set on: it is set first, with each of its categories
    (a :class:`~skhpo.space.Categorical`; one draw otherwise), and the other names are
    checked on the estimator that results. Values are cloned first, as scikit-learn's
    searches clone them, so the subspace's estimators are never changed.

    Parameters
    ----------
    estimator : estimator object
        The search's estimator; it is cloned, not changed.
    subspace : dict of str to Dimension
        One subspace of a :class:`~skhpo.space.SearchSpace`.
    random_state : numpy.random.RandomState
        Draws the values that are set.
    skip_known : bool, default=False
        Leave unchecked the names that the estimator, as the replacing parameters set
        it, already has (``get_params(deep=True)``): a bad value of such a name fails
        its trial later, with ``error_score``, rather than the whole search now.

    Raises
    ------
    ValueError
        ``"Parameter 'model__max_depth' of the search space cannot be set on Pipeline
        with model=SVC(): ..."``.
    """
    names = list(subspace)
    parents = [n for n in names if any(m.startswith(n + "__") for m in names)]
    parents.sort(key=lambda n: n.count("__"))  # outer first: set before what they contain
    choices = [_choices(subspace[n], random_state) for n in parents]
    built = []
    for setting in itertools.islice(itertools.product(*choices), _MAX_SETTINGS):
        base = clone(estimator)
        done: dict[str, Any] = {}
        for name, value in zip(parents, setting, strict=True):
            _set(base, name, value, estimator, done)
            done[name] = value
        known = set(base.get_params(deep=True)) if skip_known else set()
        for name in names:
            if name in done or name in known or _inactive(subspace, name, done):
                continue
            _set(clone(base), name, subspace[name].rvs(random_state), estimator, done)
        built.append(base)
    return built


def _inactive(subspace: Mapping[str, Dimension], name: str, done: Mapping[str, Any]) -> bool:
    """Whether the replacing parameters set so far make ``name`` inactive (its ``when``
    names one of them with other values): it is then never set on that estimator."""
    for parent, values in (subspace[name].when or {}).items():
        if parent in done and isinstance(subspace[parent], Categorical):
            index = subspace[parent].index(done[parent])
            if index not in {subspace[parent].index(v) for v in values}:
                return True
    return False


def _choices(dim: Dimension, random_state: np.random.RandomState) -> list:
    if isinstance(dim, Categorical):
        return list(dim.categories)
    return [dim.rvs(random_state)]


def _set(target: Any, name: str, value: Any, estimator: Any, done: Mapping[str, Any]) -> None:
    try:
        target.set_params(**{name: clone(value, safe=False)})
    except (ValueError, TypeError, AttributeError) as exc:
        where = type(estimator).__name__
        if done:
            where += " with " + ", ".join(f"{n}={v!r}" for n, v in done.items())
        raise ValueError(
            f"Parameter {name!r} of the search space cannot be set on {where}: {exc}"
        ) from exc
