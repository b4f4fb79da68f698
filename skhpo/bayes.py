"""Bayesian optimisation behind scikit-learn's search API: a drop-in for skopt.BayesSearchCV."""

from __future__ import annotations

import contextvars
import math
import time
import warnings
from collections.abc import Mapping, Sequence
from numbers import Integral
from typing import Any

import numpy as np
import sklearn
from scipy.optimize import OptimizeResult
from sklearn.base import clone, is_classifier
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import _search as _sklearn_search
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import check_random_state, get_tags
from sklearn.utils._param_validation import Interval

from .samplers import GPSampler
from .space import Categorical, Integer, Real, SearchSpace

__all__ = ["BayesSearchCV"]

# optimizer_kwargs: scikit-optimize's Optimizer arguments, and GPSampler's own.
_IGNORED_KWARGS = ("n_jobs", "model_queue_size", "random_state")
_OPTIMIZER_KWARGS = (
    "base_estimator",
    "n_initial_points",
    "initial_point_generator",
    "acq_func",
    "acq_func_kwargs",
    "acq_optimizer",
    "acq_optimizer_kwargs",
    *_IGNORED_KWARGS,
    # skhpo's
    "x0",
    "initial_points",
    "kappa",
    "xi",
    "n_candidates",
    "random_fraction",
    "min_points_in_model",
)

# -- failed fits ------------------------------------------------------------------------
# BaseSearchCV raises "All the k fits failed" when every fit of one evaluate_candidates
# call fails, even with a numeric error_score. A sequential search evaluates one small
# batch at a time, so one bad setting would end it. While a BayesSearchCV runs (a context
# variable says so, for its thread only), such a batch warns instead, and gets
# error_score like any failed fit; the search raises only when every fit failed.
_failures: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "skhpo_bayes_failures", default=None
)


def _tolerant(original):
    def warn_or_raise_about_fit_failures(results, error_score):
        failures = _failures.get()
        if failures is None:
            return original(results, error_score)
        errors = [r["fit_error"] for r in results if r["fit_error"] is not None]
        failures["n_fits"] += len(results)
        failures["errors"].extend(errors)
        if errors and len(errors) == len(results):
            warnings.warn(
                f"All the {len(results)} fits of this batch failed; its settings score "
                f"error_score={error_score!r}. The first error:\n{errors[0]}",
                FitFailedWarning,
                stacklevel=2,
            )
            return None
        return original(results, error_score)

    warn_or_raise_about_fit_failures._skhpo_tolerant = True
    return warn_or_raise_about_fit_failures


def _tolerate_failed_batches() -> None:
    current = getattr(_sklearn_search, "_warn_or_raise_about_fit_failures", None)
    if current is not None and not getattr(current, "_skhpo_tolerant", False):
        _sklearn_search._warn_or_raise_about_fit_failures = _tolerant(current)


class BayesSearchCV(BaseSearchCV):
    """Bayesian optimisation of hyperparameters with cross-validation.

    A drop-in for ``skopt.BayesSearchCV``: the same constructor, ``fit(X, y,
    callback=...)``, ``total_iterations`` and ``optimizer_results_``, on a scikit-learn
    :class:`~sklearn.model_selection.BaseSearchCV` (so ``cv_results_``, ``refit``,
    ``best_estimator_`` and ``n_jobs`` work as in ``RandomizedSearchCV``). The model
    is :class:`~skhpo.samplers.GPSampler`: a Gaussian process (scikit-learn's) on the
    unit cube of the space, with expected improvement.

    Each batch of ``n_points`` settings is proposed (a constant-liar batch when
    ``n_points > 1``), cross-validated in parallel (``n_jobs``), and told to the model;
    ``n_iter`` settings per search space in all.

    Parameters
    ----------
    estimator : estimator object
        Any scikit-learn estimator (a scikeras ``KerasClassifier`` too); it is cloned.
    search_spaces : dict, list of dict, or list of (dict, int)
        Parameter names mapped to ``(low, high)`` or ``(low, high, "log-uniform")``
        ranges, lists of choices, :class:`~skhpo.space.Real`,
        :class:`~skhpo.space.Integer`, :class:`~skhpo.space.Categorical`, scipy.stats
        distributions, or scikit-optimize's ``Real`` / ``Integer`` / ``Categorical``.
        A list of dicts is searched one dict after the other, each with its own model
        and ``n_iter`` settings; ``(dict, n_iter)`` gives a dict its own count.
    optimizer_kwargs : dict, default=None
        Options of the model, with scikit-optimize's names: ``n_initial_points``
        (random points before the model, default 10), ``acq_func`` ("EI", "PI",
        "LCB"; "gp_hedge", skopt's default, is taken as "EI"), ``acq_func_kwargs``
        (``xi``, ``kappa``), ``acq_optimizer`` ("auto", "lbfgs", or "sampling" for no
        L-BFGS refinement), ``acq_optimizer_kwargs`` (``n_points``: random candidates,
        ``n_restarts_optimizer``: L-BFGS starts), ``base_estimator`` ("GP" only),
        ``initial_point_generator`` ("random" only); ``n_jobs``,
        ``model_queue_size`` and ``random_state`` are ignored. Also skhpo's: ``x0`` or
        ``initial_points`` (settings evaluated first: dicts, or lists of values in the
        order of the sorted names), ``random_fraction``, ``n_candidates``,
        ``min_points_in_model``, ``xi``, ``kappa`` (see
        :class:`~skhpo.samplers.GPSampler`).
    n_iter : int, default=50
        Settings evaluated per search space (unless given with the space).
    scoring : str, callable, list, tuple or dict, default=None
        As in scikit-learn. With several metrics, ``refit`` names the one optimised.
    fit_params : dict, default=None
        Passed to the estimator's ``fit``, merged with ``fit``'s keyword arguments
        (which win).
    n_jobs : int, default=1
        Fits run in parallel (joblib; under ``joblib.parallel_backend("dask")`` on a
        dask cluster: use ``n_jobs=-1`` there).
    n_points : int, default=1
        Settings proposed, and cross-validated in parallel, per batch.
    refit : bool, str or callable, default=True
        Refit the best setting on the whole data (``best_estimator_``), as in
        scikit-learn.
    cv : int, cross-validation generator or iterable, default=None
        As in scikit-learn (5-fold, stratified for classifiers).
    verbose : int, default=0
        As in scikit-learn.
    pre_dispatch : int or str, default="2*n_jobs"
        As in scikit-learn.
    random_state : int, RandomState instance or None, default=None
        Seeds the models' random points and candidates.
    error_score : "raise" or float, default="raise"
        The score of a fit that raises; ``"raise"`` stops the search (skopt's
        default). Failed settings are modelled as the worst score seen.
    return_train_score : bool, default=False
        As in scikit-learn.

    Attributes
    ----------
    cv_results_ : dict of numpy arrays
        As in scikit-learn, one entry per evaluated setting, in the order evaluated.
    best_estimator_, best_score_, best_params_, best_index_, scorer_, n_splits_, \
refit_time_, multimetric_
        As in scikit-learn.
    optimizer_results_ : list of OptimizeResult
        One per search space, as scikit-optimize gives: ``x_iters`` (the settings, as
        dicts), ``func_vals`` (the *negated* mean test scores: skopt minimises), ``x``
        (the best setting), ``fun`` (its negated score), ``elapsed`` (seconds since
        the search began).

    See Also
    --------
    skhpo.samplers.GPSampler : The model, for use outside a search.
    skhpo.callbacks.DeadlineStopper, skhpo.callbacks.NoImprovementStopper :
        Callbacks that stop the search.

    Notes
    -----
    Differences from scikit-optimize: ``__init__`` only stores its arguments (they are
    checked by ``fit``), so ``clone``, ``set_params`` and ``GridSearchCV`` over a
    ``BayesSearchCV`` work; a callback that returns True stops the whole search (skopt
    goes on with the next search space); ``x_iters`` are dicts; the model is always a
    Gaussian process.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.svm import SVC
    >>> from skhpo.bayes import BayesSearchCV
    >>> X, y = load_iris(return_X_y=True)
    >>> search = BayesSearchCV(
    ...     SVC(), {"C": (1e-2, 1e2, "log-uniform"), "kernel": ["linear", "rbf"]},
    ...     optimizer_kwargs={"n_initial_points": 5}, n_iter=10, cv=3, random_state=0)
    >>> search.total_iterations
    10
    >>> search.fit(X, y)
    BayesSearchCV(...)
    >>> len(search.cv_results_["params"]), bool(search.best_score_ > 0.9)
    (10, True)
    >>> res = search.optimizer_results_[0]
    >>> res.fun == -float(search.best_score_), res.x == search.best_params_
    (True, True)
    """

    _parameter_constraints: dict = {
        **BaseSearchCV._parameter_constraints,
        "search_spaces": [dict, list, SearchSpace],
        "optimizer_kwargs": [dict, None],
        "n_iter": [Interval(Integral, 1, None, closed="left")],
        "fit_params": [dict, None],
        "n_points": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator: Any,
        search_spaces: Any,
        optimizer_kwargs: dict | None = None,
        n_iter: int = 50,
        scoring: Any = None,
        fit_params: dict | None = None,
        n_jobs: int | None = 1,
        n_points: int = 1,
        refit: Any = True,
        cv: Any = None,
        verbose: int = 0,
        pre_dispatch: int | str = "2*n_jobs",
        random_state: Any = None,
        error_score: str | float = "raise",
        return_train_score: bool = False,
    ) -> None:
        super().__init__(
            estimator=estimator,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.search_spaces = search_spaces
        self.optimizer_kwargs = optimizer_kwargs
        self.n_iter = n_iter
        self.fit_params = fit_params
        self.n_points = n_points
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # BaseSearchCV leaves this one out; scikit-learn's check_supervised_y_2d reads it
        tags.target_tags.multi_output = get_tags(self.estimator).target_tags.multi_output
        return tags

    @property
    def total_iterations(self) -> int:
        """Settings the search evaluates in all: ``n_iter`` per search space, or each
        space's own count."""
        spaces = self.search_spaces
        if isinstance(spaces, SearchSpace):
            spaces = spaces.subspaces
        elif not isinstance(spaces, list):
            spaces = [spaces]
        return int(
            sum(s[1] if isinstance(s, tuple) and len(s) == 2 else self.n_iter for s in spaces)
        )

    def fit(self, X: Any, y: Any = None, *, groups: Any = None, callback: Any = None, **fit_params):
        """Run the search.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets.
        groups : array-like of shape (n_samples,), default=None
            Group labels for a group cross-validator.
        callback : callable or list of callables, default=None
            Called after each batch with the current search space's
            ``OptimizeResult``; the search stops when one returns True (see
            :mod:`skhpo.callbacks`).
        **fit_params
            Passed to the estimator's ``fit``, with the constructor's ``fit_params``.

        Returns
        -------
        self
            The fitted search.
        """
        self._validate_params()
        _check_tags_readable(self.estimator)
        self._plan = self._check_search_spaces()
        self._search_callbacks = _check_callbacks(callback)
        params = {**(self.fit_params or {}), **fit_params}
        if groups is not None:
            params["groups"] = groups
        _tolerate_failed_batches()
        token = _failures.set({"n_fits": 0, "errors": []})
        try:
            return super().fit(X, y, **params)
        finally:
            _failures.reset(token)

    def _run_search(self, evaluate_candidates) -> None:
        rng = check_random_state(self.random_state)
        self.optimizer_results_ = []
        start = time.perf_counter()
        for kwargs, n_iter in self._plan:
            sampler = GPSampler(random_state=rng.randint(np.iinfo(np.int32).max), **kwargs)
            result = OptimizeResult(
                x_iters=[], func_vals=np.array([]), x=None, fun=math.nan, elapsed=0.0
            )
            self.optimizer_results_.append(result)
            left = n_iter
            while left > 0:
                batch = sampler.ask(min(self.n_points, left))
                with warnings.catch_warnings():
                    # scikit-learn warns of NaN scores at every batch: once, at the end
                    warnings.filterwarnings(
                        "ignore", "One or more of the .* scores are non-finite", UserWarning
                    )
                    results = evaluate_candidates(batch)
                scores = self._new_scores(results, len(batch))
                sampler.tell(batch, scores)
                left -= len(batch)
                _update_result(result, batch, scores, time.perf_counter() - start)
                stop = False
                for cb in self._search_callbacks:  # every callback sees every batch
                    stop = bool(cb(result)) or stop
                if stop:
                    return self._check_failures(results)
        self._check_failures(results)

    def _check_failures(self, results: dict) -> None:
        """Warn once of non-finite scores; raise when every fit failed."""
        failures = _failures.get()
        if failures and failures["errors"] and len(failures["errors"]) == failures["n_fits"]:
            raise ValueError(
                f"All the {failures['n_fits']} fits of the search failed; the first error "
                f"was:\n{failures['errors'][0]}"
            )
        for key, scores in results.items():
            if key.startswith("mean_t") and not np.isfinite(np.asarray(scores, float)).all():
                bad = int((~np.isfinite(np.asarray(scores, float))).sum())
                warnings.warn(
                    f"{bad} of the {len(scores)} settings have non-finite {key[5:]} "
                    "(failed fits, or a scorer that returned NaN)",
                    UserWarning,
                    stacklevel=2,
                )

    def _new_scores(self, results: dict, n: int) -> list[float]:
        """The optimised score of the last ``n`` candidates."""
        if "mean_test_score" in results:
            key = "mean_test_score"
        elif isinstance(self.refit, str):
            key = f"mean_test_{self.refit}"
        else:
            raise ValueError(
                "With several metrics in scoring, BayesSearchCV optimises the one that "
                f"refit names: set refit to one of the metric names, not {self.refit!r}"
            )
        return [float(s) for s in np.asarray(results[key], dtype=float)[-n:]]

    # -- validation -----------------------------------------------------------------------

    def _check_search_spaces(self) -> list[tuple[dict, int]]:
        """GPSampler arguments and n_iter per search space; every error before any fit."""
        spaces = self.search_spaces
        if isinstance(spaces, SearchSpace):
            spaces = list(spaces.subspaces)
        elif isinstance(spaces, Mapping):
            spaces = [spaces]
        if not spaces:
            raise ValueError("search_spaces is an empty list: give at least one dict")
        entries = []
        for k, entry in enumerate(spaces):
            n_iter = self.n_iter
            if isinstance(entry, tuple):
                if len(entry) != 2 or not isinstance(entry[0], Mapping):
                    raise ValueError(
                        f"Entry {k} of search_spaces is a tuple; it must be (dict, n_iter), "
                        f"got {entry!r}"
                    )
                entry, n_iter = entry
                if isinstance(n_iter, bool) or not isinstance(n_iter, Integral) or n_iter < 1:
                    raise ValueError(
                        f"The n_iter of entry {k} of search_spaces must be an int >= 1, "
                        f"got {n_iter!r}"
                    )
            if not isinstance(entry, Mapping):
                raise ValueError(
                    f"Entry {k} of search_spaces must be a dict or a (dict, n_iter) tuple, "
                    f"got {type(entry).__name__}"
                )
            space = SearchSpace.from_params({name: _from_skopt(d) for name, d in entry.items()})
            entries.append((space, int(n_iter)))

        kwargs, starts = _sampler_kwargs(self.optimizer_kwargs)
        starts_of = _route_starting_points(starts, [s for s, _ in entries])
        plan = []
        for (space, n_iter), points in zip(entries, starts_of, strict=True):
            self._check_settable(space)
            sampler_kwargs = dict(kwargs, space=space, initial_points=points or None)
            GPSampler(**sampler_kwargs)  # its errors now, not after the first fits
            plan.append((sampler_kwargs, n_iter))
        return plan

    def _check_settable(self, space: SearchSpace) -> None:
        one = space.sample_one(np.random.RandomState(0))
        for name, value in one.items():
            try:
                clone(self.estimator).set_params(**{name: value})
            except (ValueError, TypeError, AttributeError) as exc:
                raise ValueError(
                    f"Parameter {name!r} of the search space cannot be set on "
                    f"{type(self.estimator).__name__}: {exc}"
                ) from exc


def _check_tags_readable(estimator: Any) -> None:
    """BaseSearchCV.fit calls ``is_classifier(estimator)``: fail clearly, before any fit."""
    try:
        is_classifier(estimator)
    except AttributeError as exc:
        raise TypeError(
            f"scikit-learn {sklearn.__version__} cannot read the tags of "
            f"{type(estimator).__name__} ({exc}), and BayesSearchCV, a scikit-learn "
            "BaseSearchCV, calls is_classifier on its estimator to choose the folds. This "
            "is what scikeras 0.13 wrappers do on scikit-learn 1.6: upgrade scikit-learn to "
            "1.7 or later, or use HyperbandSearchCV or SuccessiveHalvingSearchCV, which "
            "recognise scikeras wrappers themselves."
        ) from exc


def _update_result(result: OptimizeResult, batch: list, scores: list, elapsed: float) -> None:
    result.x_iters.extend(dict(p) for p in batch)
    result.func_vals = np.concatenate([result.func_vals, -np.asarray(scores, dtype=float)])
    finite = np.where(np.isnan(result.func_vals), np.inf, result.func_vals)
    best = int(np.argmin(finite))
    result.x = dict(result.x_iters[best])
    result.fun = float(result.func_vals[best])
    result.elapsed = elapsed


def _check_callbacks(callback: Any) -> list:
    if callback is None:
        return []
    if callable(callback):
        return [callback]
    if isinstance(callback, list | tuple) and all(callable(c) for c in callback):
        return list(callback)
    raise ValueError(f"callback must be a callable or a list of callables, got {callback!r}")


def _from_skopt(dim: Any) -> Any:
    """scikit-optimize's Real / Integer / Categorical as skhpo's; anything else as is."""
    module = type(dim).__module__ or ""
    if not module.startswith("skopt."):
        return dim
    kind = type(dim).__name__
    if kind in ("Real", "Integer"):
        prior = getattr(dim, "prior", "uniform")
        cls = Real if kind == "Real" else Integer
        return cls(dim.low, dim.high, prior=prior)
    if kind == "Categorical":
        return Categorical(list(dim.categories))
    return dim


def _sampler_kwargs(optimizer_kwargs: Any) -> tuple[dict, list]:
    """GPSampler's keyword arguments from skopt's ``optimizer_kwargs``, and the starting
    points."""
    opts = dict(optimizer_kwargs or {})
    unknown = sorted(set(opts) - set(_OPTIMIZER_KWARGS))
    if unknown:
        raise ValueError(f"Unknown optimizer_kwargs {unknown}; known: {sorted(_OPTIMIZER_KWARGS)}")
    base = opts.pop("base_estimator", "GP")
    if not (isinstance(base, str) and base.upper() == "GP"):
        raise ValueError(
            "BayesSearchCV models the scores with a Gaussian process only: "
            f"optimizer_kwargs base_estimator must be 'GP', got {base!r}"
        )
    generator = opts.pop("initial_point_generator", "random")
    if generator != "random":
        raise ValueError(
            f"initial_point_generator must be 'random' (the only one skhpo has), got {generator!r}"
        )
    for key in _IGNORED_KWARGS:
        opts.pop(key, None)
    if "x0" in opts and "initial_points" in opts:
        raise ValueError("Give the starting points as x0 or as initial_points, not both")
    starts = opts.pop("x0", opts.pop("initial_points", None))

    kwargs: dict = {}
    acq_func_kwargs = opts.pop("acq_func_kwargs", None) or {}
    if not isinstance(acq_func_kwargs, Mapping) or set(acq_func_kwargs) - {"xi", "kappa"}:
        raise ValueError(
            f"acq_func_kwargs must be a dict with keys among 'xi' and 'kappa', got "
            f"{acq_func_kwargs!r}"
        )
    kwargs.update(acq_func_kwargs)

    acq_optimizer = opts.pop("acq_optimizer", "auto")
    if acq_optimizer not in ("auto", "lbfgs", "sampling"):
        raise ValueError(
            f"acq_optimizer must be 'auto', 'lbfgs' or 'sampling', got {acq_optimizer!r}"
        )
    acq_opt = dict(opts.pop("acq_optimizer_kwargs", None) or {})
    acq_opt.pop("n_jobs", None)
    if "n_points" in acq_opt:
        kwargs["n_candidates"] = acq_opt.pop("n_points")
    if acq_optimizer == "sampling":
        acq_opt["n_restarts_optimizer"] = 0
    if acq_opt:
        kwargs["acq_optimizer_kwargs"] = acq_opt
    kwargs.update(opts)  # n_initial_points, acq_func, xi, kappa, ... (GPSampler checks them)
    return kwargs, _as_point_list(starts)


def _as_point_list(starts: Any) -> list:
    """skopt's x0: one point (a list of values or a dict) or a list of them."""
    if starts is None:
        return []
    if isinstance(starts, Mapping):
        return [starts]
    if not isinstance(starts, Sequence) or isinstance(starts, str):
        raise ValueError(f"x0 must be a list of points (dicts or lists), got {starts!r}")
    starts = list(starts)
    if starts and not isinstance(starts[0], Mapping | Sequence):
        return [starts]  # a single point as a list of values
    return starts


def _route_starting_points(points: list, spaces: list[SearchSpace]) -> list[list]:
    """Each starting point to the search space whose parameter names it has."""
    out: list[list] = [[] for _ in spaces]
    for point in points:
        if isinstance(point, Mapping):
            matches = [i for i, s in enumerate(spaces) if set(s.names) == set(point)]
            if not matches:
                raise ValueError(
                    f"The starting point {dict(point)!r} does not name the parameters of any "
                    f"search space: {[s.names for s in spaces]}"
                )
            out[matches[0]].append(point)
        elif len(spaces) == 1:
            out[0].append(point)
        else:
            raise ValueError(
                "With several search spaces, give starting points as dicts, so that each "
                f"goes to its space; got {point!r}"
            )
    return out
