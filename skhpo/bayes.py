"""Bayesian optimisation behind scikit-learn's search API: a drop-in for skopt.BayesSearchCV."""

from __future__ import annotations

import math
import re
import time
import warnings
from collections.abc import Mapping, Sequence
from numbers import Integral
from typing import Any

import numpy as np
import sklearn
from scipy.optimize import OptimizeResult
from scipy.stats import rankdata
from sklearn.base import is_classifier
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import check_cv
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import check_random_state, get_tags
from sklearn.utils._param_validation import Interval

from ._records import error_line, score_keys
from ._settable import check_settable
from .samplers import GPSampler
from .space import Categorical, Integer, Real, SearchSpace

__all__ = ["BayesSearchCV"]

# optimizer_kwargs: scikit-optimize's Optimizer arguments, and GPSampler's own.
_IGNORED_KWARGS = ("n_jobs", "random_state")
_OPTIMIZER_KWARGS = (
    "base_estimator",
    "n_initial_points",
    "initial_point_generator",
    "acq_func",
    "acq_func_kwargs",
    "acq_optimizer",
    "acq_optimizer_kwargs",
    *_IGNORED_KWARGS,
    "model_queue_size",
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
# BaseSearchCV.fit raises "All the k fits failed" when every fit of one
# evaluate_candidates call fails, even with a numeric error_score, before it records the
# batch. A sequential search evaluates one small batch at a time, so one bad setting would
# end it. BayesSearchCV catches that error for its own batches only, keeps their settings
# (with error_score, as scikit-learn scores any failed fit) and puts them back into
# cv_results_ through its _format_results; scikit-learn itself is left as it is.
_ALL_FAILED = re.compile(r"All the (\d+) fits failed")
_DELIMITER = "-" * 80 + "\n"


def _all_failed_causes(exc: ValueError) -> list[tuple[int, str]] | None:
    """(count, cause) of each distinct error in scikit-learn's "All the k fits failed";
    None for any other ValueError."""
    message = str(exc)
    if not _ALL_FAILED.search(message):
        return None
    causes = []
    for block in message.split(_DELIMITER)[1:]:
        head, _, error = block.partition("\n")
        count = re.match(r"(\d+) fits? failed", head)
        cause = error_line(error) or "an unknown error"
        causes.append((int(count.group(1)) if count else 1, cause))
    return causes or [(int(_ALL_FAILED.search(message).group(1)), "an unknown error")]


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
        and ``n_iter`` settings; ``(dict, n_iter)`` gives a dict its own count. A dict
        may replace a step or nested estimator (``{"model": [SVC()], "model__C":
        ...}``); its other names are checked against the estimator it puts there.
    optimizer_kwargs : dict, default=None
        Options of the model, with scikit-optimize's names: ``n_initial_points``
        (random points before the model, default 10), ``acq_func`` ("EI", "PI",
        "LCB"; "gp_hedge", skopt's default, is taken as "EI"), ``acq_func_kwargs``
        (``xi``, ``kappa``), ``acq_optimizer`` ("auto", "lbfgs", or "sampling" for no
        L-BFGS refinement), ``acq_optimizer_kwargs`` (``n_points``: random candidates,
        ``n_restarts_optimizer``: L-BFGS starts), ``base_estimator`` ("GP" only),
        ``initial_point_generator`` ("random" only), ``model_queue_size`` (the models
        kept in ``optimizer_results_``, default all); ``n_jobs`` and
        ``random_state`` are ignored. Also skhpo's: ``x0`` or
        ``initial_points`` (settings evaluated first: dicts, or lists of values in the
        order of the sorted names), ``random_fraction``, ``n_candidates``,
        ``min_points_in_model``, ``xi``, ``kappa`` (see
        :class:`~skhpo.samplers.GPSampler`).
    n_iter : int, default=50
        Settings evaluated per search space (unless given with the space).
    scoring : str, callable, list, tuple or dict, default=None
        As in scikit-learn. With several metrics, ``refit`` must name the one optimised
        (as in skopt); anything else is an error before any fit.
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
        default). With a number, a batch whose every fit fails does not end the
        search: its settings get ``error_score`` in ``cv_results_`` (their fit and
        score times are NaN), each failed setting warns one line naming the error, and
        only a search whose every fit failed raises. The model takes settings whose
        every fit failed as the worst score seen.
    return_train_score : bool, default=False
        As in scikit-learn; ``cv_results_`` then also has ``rank_train_score``
        (``rank_train_<name>`` per metric), as scikit-optimize adds.

    Attributes
    ----------
    cv_results_ : dict of numpy arrays
        As in scikit-learn, one entry per evaluated setting, in the order evaluated.
    best_estimator_, best_score_, best_params_, best_index_, scorer_, n_splits_, \
refit_time_, multimetric_
        As in scikit-learn.
    optimizer_results_ : list of OptimizeResult
        One per search space, laid out as scikit-optimize lays it out: ``x_iters``
        (the settings, each a list of values in the order of the sorted parameter
        names), ``func_vals`` (the *negated* mean test scores: skopt minimises), ``x``
        (the best setting, a list), ``fun`` (its negated score), ``space`` (the
        :class:`~skhpo.space.SearchSpace`; ``space.names`` gives the order),
        ``models`` (the Gaussian processes of the model's batches, see
        :attr:`skhpo.samplers.GPSampler.model_`), and ``elapsed`` (seconds since the
        search began).

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
    goes on with the next search space); a batch whose every fit fails does not end the
    search; ``space`` is skhpo's and ``models`` model the score on skhpo's unit cube;
    the model is always a Gaussian process.

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
    >>> res.space.names
    ['C', 'kernel']
    >>> res.fun == -float(search.best_score_)
    True
    >>> res.x == [search.best_params_["C"], search.best_params_["kernel"]]
    True
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
        _check_refit_names_a_metric(self.scoring, self.refit)
        _check_tags_readable(self.estimator)
        self._plan = self._check_search_spaces()
        self._search_callbacks = _check_callbacks(callback)
        params = {**(self.fit_params or {}), **fit_params}
        if groups is not None:
            params["groups"] = groups
        # the rows of cv_results_ so far (successful or not), the settings of batches
        # whose every fit failed (row, params, cause), and what _format_results last saw
        self._n_rows = 0
        self._failed_rows: list[tuple[int, dict, str]] = []
        self._fit_errors: list[tuple[dict, int, str]] = []
        self._n_out_seen = 0
        self._last_format: tuple | None = None
        # scikit-learn sets n_splits_ only after the search on 1.6; the warnings need it
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        self._n_splits = cv.get_n_splits(X, y, groups)
        return super().fit(X, y, **params)

    def _run_search(self, evaluate_candidates) -> None:
        rng = check_random_state(self.random_state)
        self.optimizer_results_ = []
        start = time.perf_counter()
        results: dict | None = None
        for kwargs, n_iter in self._plan:
            sampler = GPSampler(random_state=rng.randint(np.iinfo(np.int32).max), **kwargs)
            result = OptimizeResult(
                x=None,
                fun=math.nan,
                func_vals=np.array([]),
                x_iters=[],
                space=sampler.space,
                models=[],
                elapsed=0.0,
            )
            self.optimizer_results_.append(result)
            left = n_iter
            while left > 0:
                batch = sampler.ask(min(self.n_points, left))
                if sampler.model_ is not None and (
                    not result.models or result.models[-1] is not sampler.model_
                ):
                    result.models.append(sampler.model_)
                    if self._model_queue_size is not None:  # skopt keeps the last ones
                        del result.models[: max(len(result.models) - self._model_queue_size, 0)]
                evaluated = self._evaluate(evaluate_candidates, batch)
                if evaluated is None:  # every fit of the batch failed
                    sampler.tell(batch, [math.nan] * len(batch))  # modelled as the worst
                    scores = [float(self.error_score)] * len(batch)
                else:
                    results = evaluated
                    key, _ = score_keys(results, self.refit, first=False)
                    scores = [float(s) for s in np.asarray(results[key], float)[-len(batch) :]]
                    sampler.tell(batch, scores)
                left -= len(batch)
                _update_result(result, batch, scores, time.perf_counter() - start)
                stop = False
                for cb in self._search_callbacks:  # every callback sees every batch
                    stop = bool(cb(result)) or stop
                if stop:
                    return self._finish(results)
        self._finish(results)

    def _evaluate(self, evaluate_candidates, batch: list[dict]) -> dict | None:
        """Cross-validate a batch: scikit-learn's results so far, or None when every fit
        of the batch failed (and error_score is a number); one warning line per failed
        setting."""
        first_row = self._n_rows
        self._n_rows += len(batch)
        with warnings.catch_warnings():
            # scikit-learn warns of NaN scores at every batch (once here, at the end), and
            # of failed fits with their tracebacks (one line each here)
            warnings.filterwarnings(
                "ignore", "One or more of the .* scores are non-finite", UserWarning
            )
            warnings.filterwarnings("ignore", category=FitFailedWarning)
            try:
                results = evaluate_candidates(batch)
            except ValueError as exc:
                causes = None if self.error_score == "raise" else _all_failed_causes(exc)
                if causes is None:
                    raise
                results = None
        if results is None:
            cause = causes[0][1] if len(causes) == 1 else "; ".join(c for _, c in causes)
            for k, params in enumerate(batch):
                self._failed_rows.append((first_row + k, params, cause))
                self._fit_errors.append((params, self._n_splits, cause))
        for params, n_failed, cause in self._fit_errors:
            warnings.warn(
                f"{n_failed} of the {self._n_splits} fits of {params!r} failed ({cause}); "
                f"they score error_score={self.error_score!r}",
                FitFailedWarning,
                stacklevel=3,
            )
        self._fit_errors = []
        return results

    def _format_results(self, candidate_params, n_splits, out, more_results=None):
        """scikit-learn's cv_results_, with the settings of batches whose every fit
        failed put back in their place, and ``rank_train_*`` (as scikit-optimize adds)."""
        self._last_format = (candidate_params, n_splits, out, more_results)
        for k in range(self._n_out_seen // n_splits, len(out) // n_splits):
            errors = [o["fit_error"] for o in out[k * n_splits : (k + 1) * n_splits]]
            errors = [e for e in errors if e is not None]
            if errors:
                cause = error_line(str(errors[0])) or "an unknown error"
                self._fit_errors.append((candidate_params[k], len(errors), cause))
        self._n_out_seen = len(out)
        if self._failed_rows:
            candidate_params, out = self._with_failed_rows(candidate_params, n_splits, out)
        results = super()._format_results(candidate_params, n_splits, out, more_results)
        for key in [k for k in results if k.startswith("mean_train_")]:
            results["rank_" + key[5:]] = _rank(results[key])
        return results

    def _with_failed_rows(self, candidate_params: list, n_splits: int, out: list):
        """The settings and per-fit records with the failed batches' rows in place."""
        template = out[0]

        def failed(scores):
            if isinstance(scores, dict):
                return {name: self.error_score for name in scores}
            return self.error_score

        at = {row: (params, cause) for row, params, cause in self._failed_rows}
        all_params, all_out, ok = [], [], 0
        for row in range(len(candidate_params) + len(self._failed_rows)):
            if row in at:
                params, cause = at[row]
                record = dict(template, fit_error=cause, fit_time=math.nan, score_time=math.nan)
                record["test_scores"] = failed(template["test_scores"])
                if "train_scores" in template:
                    record["train_scores"] = failed(template["train_scores"])
                all_params.append(params)
                all_out.extend(dict(record) for _ in range(n_splits))
            else:
                all_params.append(candidate_params[ok])
                all_out.extend(out[ok * n_splits : (ok + 1) * n_splits])
                ok += 1
        return all_params, all_out

    def _finish(self, results: dict | None) -> None:
        """Raise when every fit failed; put the last failed batches into cv_results_;
        warn once of non-finite scores."""
        if results is None:
            counts: dict[str, int] = {}
            for _, _, cause in self._failed_rows:
                counts[cause] = counts.get(cause, 0) + self._n_splits
            n_fits = sum(counts.values())
            if len(counts) == 1:
                because = f"every one with {next(iter(counts))}"
            else:
                because = "; ".join(f"{n} with {c}" for c, n in counts.items())
            raise ValueError(
                f"All the {n_fits} fits of the search ({self._n_rows} settings x "
                f"{self._n_splits} folds) failed: {because}. Set error_score='raise' to "
                "see the traceback."
            )
        if len(results["params"]) < self._n_rows:
            # the last batches failed after scikit-learn last formatted its results: the
            # dict it returned is the one it keeps as cv_results_, so update it in place
            results.update(self._format_results(*self._last_format))
        for key, scores in results.items():
            if key.startswith("mean_t") and not np.isfinite(np.asarray(scores, float)).all():
                bad = int((~np.isfinite(np.asarray(scores, float))).sum())
                warnings.warn(
                    f"{bad} of the {len(scores)} settings have non-finite {key[5:]} "
                    "(failed fits, or a scorer that returned NaN)",
                    UserWarning,
                    stacklevel=2,
                )

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

        opts = dict(self.optimizer_kwargs or {})
        queue = opts.pop("model_queue_size", None)
        if queue is not None and (
            isinstance(queue, bool) or not isinstance(queue, Integral) or queue < 0
        ):
            raise ValueError(
                f"optimizer_kwargs model_queue_size must be None or an int >= 0, got {queue!r}"
            )
        self._model_queue_size = queue
        kwargs, starts = _sampler_kwargs(opts)
        starts_of = _route_starting_points(starts, [s for s, _ in entries])
        plan = []
        for (space, n_iter), points in zip(entries, starts_of, strict=True):
            check_settable(self.estimator, space.subspaces[0], np.random.RandomState(0))
            sampler_kwargs = dict(kwargs, space=space, initial_points=points or None)
            GPSampler(**sampler_kwargs)  # its errors now, not after the first fits
            plan.append((sampler_kwargs, n_iter))
        return plan


def _check_refit_names_a_metric(scoring: Any, refit: Any) -> None:
    """With several metrics, ``refit`` must name the one the Gaussian process models
    (as skopt requires), before any fit."""
    if isinstance(scoring, list | tuple | set | dict) and not (
        isinstance(refit, str) and refit in scoring
    ):
        raise ValueError(
            f"With several metrics in scoring ({sorted(scoring)}), refit must be the name "
            f"of the one to optimise (as in skopt's BayesSearchCV), not {refit!r}"
        )


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
    """Add a batch to a space's result, laid out as scikit-optimize lays it out: each
    setting a list of values in the order of the sorted parameter names (None for an
    inactive conditional parameter)."""
    names = result.space.names
    result.x_iters.extend([p.get(name) for name in names] for p in batch)
    result.func_vals = np.concatenate([result.func_vals, -np.asarray(scores, dtype=float)])
    finite = np.where(np.isnan(result.func_vals), np.inf, result.func_vals)
    best = int(np.argmin(finite))
    result.x = list(result.x_iters[best])
    result.fun = float(result.func_vals[best])
    result.elapsed = elapsed


def _rank(means: Any) -> np.ndarray:
    """Ranks of mean scores as scikit-learn ranks test scores: 1 is the highest, ties
    share the lowest rank, NaN ranks last."""
    means = np.asarray(means, dtype=float)
    if np.isnan(means).all():
        return np.ones(len(means), dtype=np.int32)
    filled = np.where(np.isnan(means), np.nanmin(means) - 1, means)
    return rankdata(-filled, method="min").astype(np.int32)


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
    """Each starting point to the search space whose parameter names it has (those its
    conditions make inactive may be left out)."""
    out: list[list] = [[] for _ in spaces]
    for point in points:
        if isinstance(point, Mapping):
            matches = [i for i, s in enumerate(spaces) if s.subspace_of(point) is not None]
            if not matches:
                raise ValueError(
                    f"The starting point {dict(point)!r} does not name the parameters of any "
                    f"search space: {[s.names for s in spaces]} (without those that its "
                    "conditions make inactive)"
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
