"""One bracket of successive halving with an epoch budget."""

from __future__ import annotations

import os
from numbers import Integral
from typing import Any

import numpy as np
from sklearn.utils._param_validation import Interval

from ._base import BaseEpochSearchCV
from ._schedule import Bracket, successive_halving_rungs
from ._storage import SearchStorage

__all__ = ["SuccessiveHalvingSearchCV"]


class SuccessiveHalvingSearchCV(BaseEpochSearchCV):
    """Successive halving whose budget is training epochs, spent through ``partial_fit``.

    ``n_initial_parameters`` models are trained ``n_initial_iter`` epochs and scored;
    the best ``1 / aggressiveness`` of them are trained ``aggressiveness`` times longer,
    and so on until one model is left or ``max_iter`` epochs are reached. It is one
    bracket of :class:`~skhpo.HyperbandSearchCV`, and takes what
    ``dask_ml.model_selection.SuccessiveHalvingSearchCV`` takes. The plan (``metadata``)
    is :func:`skhpo._schedule.successive_halving_rungs`, in exact arithmetic, and it is
    what runs.

    Parameters
    ----------
    estimator : estimator object
        An estimator with ``partial_fit``, or a ``Pipeline`` whose last step has one.
    parameters : dict or list of dict
        The search space (see :mod:`skhpo.space`).
    n_initial_parameters : int, default=10
        Models sampled for the first rung.
    n_initial_iter : int, default=None
        Epochs of the first rung; ``None`` means 1. More than ``max_iter`` is an error.
    max_iter : int, default=None
        The most epochs any model is trained; ``None``: halve until one model is left.
    aggressiveness : float, default=3
        Keep ``1 / aggressiveness`` of the models at each rung.
    patience : bool or int, default=False
        As in :class:`~skhpo.HyperbandSearchCV`; ``True`` means the last rung's epochs
        ``// aggressiveness``.
    test_size, tol, random_state, scoring, verbose, prefix, error_score, refit, \
asynchronous, scheduler, n_workers, worker_memory_limit, resources, callbacks, \
storage, timeout, \
sampler, sampler_kwargs, return_train_score, cv, fold_rejection
        As in :class:`~skhpo.HyperbandSearchCV`.

    Attributes
    ----------
    cv_results_, history_, model_history_, metadata_, best_estimator_, best_params_, \
best_score_, best_index_, scorer_, n_splits_, n_iter_, multimetric_, search_stats_
        As in :class:`~skhpo.HyperbandSearchCV`.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import SGDClassifier
    >>> from skhpo import SuccessiveHalvingSearchCV
    >>> X, y = load_digits(return_X_y=True)
    >>> search = SuccessiveHalvingSearchCV(
    ...     SGDClassifier(random_state=0), {"alpha": (1e-6, 1e-1, "log-uniform")},
    ...     n_initial_parameters=9, n_initial_iter=1, random_state=0)
    >>> search.metadata["brackets"][0]["rungs"]
    [(9, 1), (3, 3), (1, 9)]
    >>> search.fit(X / 16, y).best_estimator_
    SGDClassifier(...)
    """

    _parameter_constraints: dict = {
        **BaseEpochSearchCV._parameter_constraints,
        "n_initial_parameters": [Interval(Integral, 1, None, closed="left")],
        "n_initial_iter": [Interval(Integral, 1, None, closed="left"), None],
        "max_iter": [Interval(Integral, 1, None, closed="left"), None],
    }

    _plan_params = (
        *BaseEpochSearchCV._plan_params,
        "n_initial_parameters",
        "n_initial_iter",
    )

    def __init__(
        self,
        estimator: Any,
        parameters: Any,
        n_initial_parameters: int = 10,
        n_initial_iter: int | None = None,
        max_iter: int | None = None,
        aggressiveness: float = 3,
        test_size: float | None = None,
        patience: bool | int = False,
        tol: float = 1e-3,
        random_state: Any = None,
        scoring: Any = None,
        verbose: bool | int = False,
        prefix: str = "",
        *,
        error_score: float | str = np.nan,
        refit: bool | None = None,
        asynchronous: bool = False,
        scheduler: Any = None,
        n_workers: int | None = None,
        worker_memory_limit: float | str | None = None,
        resources: dict | None = None,
        callbacks: list | None = None,
        storage: str | os.PathLike | SearchStorage | None = None,
        timeout: float | None = None,
        sampler: str = "random",
        sampler_kwargs: dict | None = None,
        return_train_score: bool = False,
        cv: Any = None,
        fold_rejection: bool | float = False,
    ) -> None:
        self.estimator = estimator
        self.parameters = parameters
        self.n_initial_parameters = n_initial_parameters
        self.n_initial_iter = n_initial_iter
        self.max_iter = max_iter
        self.aggressiveness = aggressiveness
        self.test_size = test_size
        self.patience = patience
        self.tol = tol
        self.random_state = random_state
        self.scoring = scoring
        self.verbose = verbose
        self.prefix = prefix
        self.error_score = error_score
        self.refit = refit
        self.asynchronous = asynchronous
        self.scheduler = scheduler
        self.n_workers = n_workers
        self.worker_memory_limit = worker_memory_limit
        self.resources = resources
        self.callbacks = callbacks
        self.storage = storage
        self.timeout = timeout
        self.sampler = sampler
        self.sampler_kwargs = sampler_kwargs
        self.return_train_score = return_train_score
        self.cv = cv
        self.fold_rejection = fold_rejection

    def _brackets(self) -> list[Bracket]:
        r0 = int(self.n_initial_iter or 1)
        if self.max_iter is not None and r0 > self.max_iter:
            raise ValueError(
                f"n_initial_iter={r0} is more than max_iter={self.max_iter}: the first rung "
                "cannot train longer than any model may be trained"
            )
        rungs = successive_halving_rungs(
            int(self.n_initial_parameters),
            r0,
            None if self.max_iter is None else int(self.max_iter),
            self.aggressiveness,
        )
        return [Bracket(index=0, rungs=rungs)]

    def _bracket_search_params(self, brackets: list[Bracket]) -> list[dict]:
        return [self._shared_search_params()]
