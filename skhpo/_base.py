"""What the epoch-budget searches (Hyperband, successive halving) share.

The subclasses only say which brackets to run (:meth:`BaseEpochSearchCV._brackets`);
parameter validation, the driver call and the fitted attributes live here, the checks
and split of the data in :mod:`skhpo._data`.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import sys
import warnings
from functools import partial
from numbers import Integral, Real
from typing import Any

import joblib
import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._data import SplitData, check_data
from ._driver import run_search
from ._events import LoggingCallback, ProgressBar, SearchCallback
from ._executor import InProcessExecutor
from ._fingerprint import describe, describe_data, fingerprint
from ._records import FAILED, cv_results, failure_causes
from ._schedule import Bracket, budget_cycle, default_patience, plan_metadata
from ._settable import check_settable
from ._storage import SearchStorage, open_storage
from ._worker import (
    SearchData,
    catch_interrupts,
    estimator_tags,
    raise_if_interrupted,
    refit_task,
    resolve_futures,
)
from ._worker import final_step as _final_step
from .exceptions import TrialFailedWarning
from .space import SearchSpace

__all__ = ["BaseEpochSearchCV"]


def _estimator_has(attr: str):
    """For ``available_if``: the best estimator (after fit) or the estimator has ``attr``."""

    def check(self: BaseEpochSearchCV) -> bool:
        if hasattr(self, "best_estimator_"):
            return hasattr(self.best_estimator_, attr)
        return hasattr(self.estimator, attr)

    return check


def _delegate(method: str):
    """A search's ``method(X)``: the best estimator's, there only when it has it."""

    def call(self: BaseEpochSearchCV, X):
        check_is_fitted(self, "best_estimator_")
        return getattr(self.best_estimator_, method)(X)

    call.__name__ = method
    call.__qualname__ = f"BaseEpochSearchCV.{method}"
    call.__doc__ = f"Call ``{method}`` on the best estimator."
    return available_if(_estimator_has(method))(call)


class BaseEpochSearchCV(MetaEstimatorMixin, BaseEstimator):
    """Base class of searches whose budget is epochs spent through ``partial_fit``."""

    _parameter_constraints: dict = {
        "estimator": [object],
        "parameters": [dict, list, SearchSpace],
        "aggressiveness": [Interval(Real, 1, None, closed="neither")],
        # dask-ml accepts a float patience (and truncates it); tol None or NaN never stops
        "patience": ["boolean", Interval(Real, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None, "nan"],
        "test_size": [Interval(Real, 0, 1, closed="neither"), None],
        "random_state": ["random_state"],
        "scoring": [StrOptions(set(get_scorer_names())), callable, list, tuple, set, dict, None],
        "verbose": ["verbose"],
        "prefix": [str],
        "error_score": [StrOptions({"raise"}), Real],
        "refit": ["boolean", str, callable, None],
        "asynchronous": ["boolean"],
        "scheduler": [None, str],
        "n_workers": [Interval(Integral, 1, None, closed="left"), None],
        "worker_memory_limit": [
            Interval(Real, 0, 1, closed="right"),
            Interval(Integral, 2, None, closed="left"),
            str,
            None,
        ],
        "resources": [dict, None],
        "callbacks": [list, None],
        "storage": [str, os.PathLike, SearchStorage, None],
        "timeout": [Interval(Real, 0, None, closed="neither"), None],
        "sampler": [StrOptions({"random", "bayes"}), HasMethods(["ask", "tell"])],
        "sampler_kwargs": [dict, None],
        "return_train_score": ["boolean"],
        "cv": ["cv_object"],
        "fold_rejection": ["boolean", Interval(Real, 0, None, closed="left")],
    }

    # The parameters the plan (``metadata``) depends on: the only ones it validates.
    _plan_params: tuple[str, ...] = ("max_iter", "aggressiveness", "patience", "random_state")

    # Constructor parameters that change how a search runs or reports, not its results:
    # a storage written with other values of these can be resumed.
    _not_in_fingerprint = (
        "verbose",
        "prefix",
        "callbacks",
        "scheduler",
        "n_workers",
        "worker_memory_limit",
        "resources",
        "storage",
    )

    # The parameters of the budget (how many brackets run), in :meth:`_budget`'s order.
    _budget_params: tuple[str, ...] = ()

    # -- what subclasses provide -------------------------------------------------------

    def _brackets(self) -> list[Bracket]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _bracket_search_params(self, brackets: list[Bracket]) -> list[dict]:  # pragma: no cover
        """Per bracket, the arguments of a SuccessiveHalvingSearchCV that runs it."""
        raise NotImplementedError

    def _budget(self) -> tuple[int | None, int | None, float | None]:
        """``(n_iterations, max_epochs_total, max_time)``: one iteration by default."""
        return (1, None, None)

    def _planned(self) -> list[tuple[int, Bracket]]:
        """``(iteration, bracket)`` of the brackets the budget plans, in run order.

        With a wall-clock limit alone (no limit of iterations or epochs) the plan is
        endless: the first iteration stands for it.
        """
        n_iterations, max_epochs, _ = self._budget()
        brackets = self._brackets()
        if n_iterations is None and max_epochs is None:
            return [(1, b) for b in brackets]
        planned = list(budget_cycle(brackets, n_iterations, max_epochs))
        if not planned:
            raise ValueError(
                f"max_epochs_total={max_epochs} runs no bracket: the first bracket plans "
                f"{brackets[0].partial_fit_calls} epochs (see metadata)"
            )
        return planned

    def _describe_plan(self, planned: list[tuple[int, Bracket]]) -> dict:
        """``planned`` (or the brackets started) in :attr:`metadata`'s format."""
        one = self._bracket_search_params(self._brackets())
        meta = plan_metadata(planned)
        for k, (info, (_, bracket)) in enumerate(zip(meta["brackets"], planned, strict=True)):
            info["decisions"] = [r.epochs for r in bracket.rungs]
            params = dict(one[k % len(one)])
            if k >= len(one):  # a later iteration: seeds of its own
                params["random_state"] += (k // len(one)) * len(one)
            info["SuccessiveHalvingSearchCV params"] = params
        return meta

    def _shared_search_params(self) -> dict:
        """This search's arguments as a bracket's SuccessiveHalvingSearchCV takes them.

        Without ``estimator`` and ``parameters`` (as dask-ml's), with ``patience``
        resolved to epochs (False when off) and no ``storage`` (a storage holds one
        search).
        """
        params = {
            k: v
            for k, v in self.get_params(deep=False).items()
            if k not in ("estimator", "parameters", *self._budget_params)
        }
        params["patience"] = self._patience() or False
        params["storage"] = None
        return params

    def _patience(self) -> int:
        """Epochs without improvement before a trial stops itself (0: never).

        ``True``: the most epochs of the plan ``// aggressiveness``; a float is
        truncated, as dask-ml does.
        """
        if isinstance(self.patience, bool | np.bool_):
            if not self.patience:
                return 0
            most = max(b.max_epochs for b in self._brackets())
            return default_patience(most, self.aggressiveness)
        return int(self.patience)

    def _tol(self) -> float:
        """``tol``, with None as NaN: an improvement never falls short of NaN."""
        return math.nan if self.tol is None else float(self.tol)

    # -- plan ---------------------------------------------------------------------------

    @property
    def metadata(self) -> dict:
        """The plan, before fitting, in dask-ml's format plus each bracket's rungs.

        ``n_models`` and ``partial_fit_calls`` (epochs, counting that promoted models
        resume), and per bracket (``brackets``, a list) its ``bracket`` number, the same
        two counts, ``decisions`` (the epochs at which its models are scored and
        promoted or stopped), ``rungs`` (``(n_models, epochs)`` pairs) and
        ``SuccessiveHalvingSearchCV params`` (the arguments, besides ``estimator`` and
        ``parameters``, of a :class:`~skhpo.SuccessiveHalvingSearchCV` that starts as the
        bracket starts; see :ref:`hyperband-metadata`). Each bracket's ``iteration``
        tells the Hyperband iteration it belongs to: with a budget of several
        iterations, every bracket planned is listed (see :ref:`hyperband-budget`). Only
        the parameters the plan depends on are validated here; ``fit`` validates them
        all.
        """
        validate_parameter_constraints(
            {k: self._parameter_constraints[k] for k in self._plan_params},
            {k: getattr(self, k) for k in self._plan_params},
            caller_name=type(self).__name__,
        )
        return self._describe_plan(self._planned())

    # -- fitting ------------------------------------------------------------------------

    def fit(self, X: Any, y: Any = None, *, validation_data: tuple | None = None, **fit_params):
        """Run the search.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Training data. Any array-like the estimator accepts (arrays, DataFrames,
            images of shape ``(n, h, w, c)``): it is indexed, never converted. A dask
            array or DataFrame is trained on block by block, one epoch being one pass
            over its blocks, and never gathered whole (see the cluster guide).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets.
        validation_data : tuple (X_val, y_val), default=None
            Data to score the trials on. Without it, ``test_size`` of ``(X, y)`` is held
            out (stratified for classifiers).
        **fit_params
            Passed to every ``partial_fit`` call, e.g. ``classes``. For a classifier
            whose ``partial_fit`` takes ``classes``, it defaults to ``np.unique(y)``.
            Arrays with one entry per sample (``sample_weight``) are split with ``X``.

        Returns
        -------
        self
            The fitted search.
        """
        self._validate_params()
        brackets = self._brackets()
        self.metadata  # noqa: B018 - validates the plan before random_state is drawn from
        n_iterations, max_epochs, max_time = self._budget()
        space = self._check_space()
        data = check_data(
            self.estimator,
            X,
            y,
            validation_data,
            fit_params,
            test_size=self.test_size,
            random_state=self.random_state,
            cv=self.cv,
        )
        sampler, per_bracket = self._sampler(space, brackets, check_random_state(self.random_state))
        self.sampler_ = sampler
        worker_scorer, self.scorer_, metrics = self._scorers()
        self.multimetric_ = metrics is not None
        self._check_folds(data)
        self.n_splits_ = 1 if data.folds is None else len(data.folds)
        callbacks = self._callbacks()
        # One way out, whatever raises where: what was opened is closed (last first), and
        # the callbacks that began hear of the end or of the error.
        with contextlib.ExitStack() as stack:
            storage = self._open_storage(stack, data)
            executor = self._make_executor(stack)
            begun: list[SearchCallback] = []
            stack.push(partial(_tell_callbacks, self, begun))
            for cb in callbacks:
                begun.append(cb)  # one that raises here hears of its own error too
                cb.on_search_begin(self, plan_metadata(self._planned()))
            stack.enter_context(catch_interrupts())
            outcome = run_search(
                executor,
                executor.put(self._task_data(data, worker_scorer, storage, executor)),
                self.estimator,
                budget_cycle(brackets, n_iterations, max_epochs),
                per_bracket,
                eta=self.aggressiveness,
                asynchronous=self.asynchronous,
                prefix=self.prefix,
                verbose=int(self.verbose) >= 2,
                callbacks=callbacks,
                context=self,
                storage=storage,
                sampler=sampler,
                error_score=self.error_score,
                fetch_best=data.folds is None and not self._refit(data) and not self.multimetric_,
                max_time=max_time,
                fold_rejection=self._fold_rejection(),
            )
            self._store_results(outcome, metrics)
            if outcome.best_index is None:
                _raise_all_failed(outcome.trials)
            if self.refit or not self.multimetric_:
                self._set_best_estimator(executor, outcome.best_estimator, data)
        return self

    def _scorers(self) -> tuple[Any, Any, list[str] | None]:
        """``(scorer of the trained step, scorer_, metric names)``: the names are None
        for one metric (or a callable ``scoring``, whose metrics are known once it has
        scored). Checks ``refit`` against several metrics, as scikit-learn does."""
        final = _final_step(self.estimator)
        worker_scorer = check_scoring(final, scoring=self.scoring)  # validates lists, dicts
        if not isinstance(self.scoring, list | tuple | set | dict):
            return worker_scorer, check_scoring(self.estimator, scoring=self.scoring), None
        names = list(self.scoring)
        _check_refit_for_multimetric(self.refit, names)
        if isinstance(self.scoring, dict):
            scorers = {k: check_scoring(self.estimator, scoring=v) for k, v in self.scoring.items()}
        else:
            scorers = {k: check_scoring(self.estimator, scoring=k) for k in names}
        return worker_scorer, scorers, names

    def _rank_metric(self) -> str | None:
        """The metric that ranks and promotes trials when the scorer returns several:
        the one ``refit`` names (None: the first)."""
        return self.refit if isinstance(self.refit, str) else None

    def _task_data(self, data: SplitData, scorer, storage, executor) -> SearchData:
        """What every trial's task gets: the split data, the scorer, the trial settings."""
        return SearchData(
            data.X_train,
            data.y_train,
            data.X_val,
            data.y_val,
            data.fit_params,
            scorer,
            error_score=self.error_score,
            patience=self._patience(),
            tol=self._tol(),
            return_train_score=bool(self.return_train_score),
            metric=self._rank_metric(),
            checkpoint=storage is not None,
            # a task run again (after a lost worker) reads its rung back
            stored_steps=(
                storage.step_reader() if storage is not None and executor.reruns_tasks else None
            ),
            timeout=self.timeout,
            folds=data.folds,
        )

    def _refit(self, data: SplitData) -> bool:
        """``refit``, with None as True under ``cv`` (as scikit-learn's searches) and
        False with one hold-out split (the best trial's own model is returned)."""
        return (data.folds is not None) if self.refit is None else bool(self.refit)

    def _check_folds(self, data: SplitData) -> None:
        """What ``cv`` cannot go with: raise before any training."""
        if data.folds is None and self._fold_rejection() is not None:
            raise ValueError("fold_rejection needs cv: it stops a trial after its first folds")

    def _fold_rejection(self) -> float | None:
        """The ``z`` of the fold-rejection rule (True: 2), or None when off."""
        if isinstance(self.fold_rejection, bool | np.bool_):
            return 2.0 if self.fold_rejection else None
        return float(self.fold_rejection)

    def _set_best_estimator(self, executor, best_trials_model, data: SplitData) -> None:
        """``best_estimator_``: the best trial's own model, or (``refit``) a new one with
        its parameters, trained on all the data through ``executor``: on a cluster, one
        more task on a worker, with the trials' ``resources``. With ``cv`` and
        ``refit=False``, none (as scikit-learn's searches): a trial is k models."""
        if not self._refit(data):
            if data.folds is None:
                self.best_estimator_ = best_trials_model
            return
        X_all, y_all = data.refit_data()
        params = self.cv_results_["params"][self.best_index_]
        epochs = int(self.cv_results_["partial_fit_calls"][self.best_index_])
        fit_params = resolve_futures(data.all_fit_params)
        try:
            state, info = executor.call(
                refit_task, self.estimator, params, X_all, y_all, fit_params, epochs, key="refit"
            )
        except Exception:
            raise_if_interrupted()  # a Ctrl-C that TensorFlow turned into this
            raise
        self.best_estimator_ = state.estimator
        self.refit_time_ = info["refit_time"]

    def _open_storage(self, stack: contextlib.ExitStack, data: SplitData):
        """The search's storage, bound to this search's parameters and data, or None."""
        if self.storage is None:
            return None
        storage = open_storage(self.storage)
        stack.callback(storage.close)
        storage.bind(
            self._fingerprint(
                data.X, data.y, data.validation_data, data.fit_params, folds=data.folds
            )
        )
        return storage

    def _fingerprint(self, X, y, validation_data, fit_params, folds=None) -> str:
        """What a storage is bound to: this search's parameters and data, described.

        The same in every process for the same search (see :mod:`skhpo._fingerprint`);
        the search space is taken as a :class:`~skhpo.space.SearchSpace`, so
        ``(0.0, 1.0)`` and ``Real(0.0, 1.0)`` are the same. ``cv`` is described by the
        folds it gives (``folds``); without it, ``cv``, ``fold_rejection`` and ``refit``
        are described as before they existed (a default ``refit`` as False), so older
        storages still resume.
        """
        params = {
            k: v
            for k, v in self.get_params(deep=False).items()
            if k not in self._not_in_fingerprint
        }
        params["parameters"] = SearchSpace.from_params(self.parameters)
        if folds is None:
            params = {k: v for k, v in params.items() if k not in ("cv", "fold_rejection")}
            params["refit"] = bool(self.refit)
        else:
            params["cv"] = ["folds", joblib.hash([[tr, te] for tr, te in folds])]
        validation = None if validation_data is None else [*map(describe_data, validation_data)]
        return fingerprint(
            [
                describe(type(self)),
                describe(params),
                describe_data(X),
                describe_data(y),
                validation,
                describe(fit_params),
            ]
        )

    def _sampler(self, space: SearchSpace, brackets: list[Bracket], rng) -> tuple:
        """``(sampler, None)`` for model-based sampling, else ``(None, parameters)``.

        The parameters are a function of a bracket's position in the run: each
        iteration's are drawn at once from ``rng`` (the first one's now), so that the
        first iterations are the same whatever the budget.
        """
        if self.sampler == "random":
            if self.sampler_kwargs:
                raise ValueError("sampler_kwargs is only used with sampler='bayes'")
            per_bracket: list[list[dict]] = []

            def params_of(k: int) -> list[dict]:
                while len(per_bracket) <= k:  # draw the next iteration
                    sampled = space.sample(sum(b.n_models for b in brackets), rng)
                    first = 0
                    for bracket in brackets:
                        per_bracket.append(sampled[first : first + bracket.n_models])
                        first += bracket.n_models
                return per_bracket[k]

            params_of(0)
            return None, params_of
        if not isinstance(self.sampler, str):  # an object: used as it is, and keeps learning
            if self.sampler_kwargs:
                raise ValueError("sampler_kwargs is only used with sampler='bayes'")
            return self.sampler, None
        from .samplers import GPSampler

        try:
            n_unit = space.n_unit
        except (ValueError, TypeError) as exc:
            raise ValueError(f"sampler='bayes' needs a search space it can model: {exc}") from exc
        kwargs = {
            "n_initial_points": 0,
            "min_points_in_model": n_unit + 1,
            "random_fraction": 1 / 3,
            **(self.sampler_kwargs or {}),
        }
        kwargs["random_state"] = rng.randint(np.iinfo(np.int32).max)
        try:
            return GPSampler(space, **kwargs), None
        except TypeError as exc:
            raise ValueError(f"sampler_kwargs: {exc}") from exc

    def results_frame(self):
        """The trials as a pandas DataFrame, best first.

        See :func:`skhpo.results.results_frame`.
        """
        from .results import results_frame

        return results_frame(self)

    def _callbacks(self) -> list:
        callbacks = list(self.callbacks or [])
        for cb in callbacks:
            if not isinstance(cb, SearchCallback):
                raise TypeError(
                    f"callbacks must be SearchCallback instances (skhpo.callbacks), got {cb!r}"
                )
        if int(self.verbose) >= 1:
            callbacks.append(ProgressBar())
        if int(self.verbose) >= 2:
            callbacks.append(LoggingCallback(self.prefix))
        return callbacks

    def _make_executor(self, stack: contextlib.ExitStack):
        """In-process, skhpo's own worker processes (``scheduler="processes"``), or a dask
        cluster: the current client, or ``scheduler``'s address."""
        if self.scheduler != "processes":
            for name in ("n_workers", "worker_memory_limit"):
                if getattr(self, name) is not None:
                    raise ValueError(
                        f"{name}={getattr(self, name)!r} is only used with "
                        f"scheduler='processes' (got scheduler={self.scheduler!r})"
                    )
        elif self.resources:
            raise ValueError(
                f"resources={self.resources} needs a dask cluster whose workers offer "
                "them; scheduler='processes' starts workers that offer none"
            )
        else:
            from ._dask import check_picklable
            from ._processes import ProcessesExecutor, memory_limit_bytes

            check_picklable(self.estimator)
            n_workers = self.n_workers or 1
            limit = memory_limit_bytes(self.worker_memory_limit, n_workers)
            executor = ProcessesExecutor(n_workers, limit)
            stack.callback(executor.close)
            return executor
        client = self._client(stack)
        if client is None:
            if self.resources:
                raise ValueError(
                    f"resources={self.resources} needs a dask cluster: create a "
                    "distributed.Client whose workers offer them, or give scheduler= its "
                    "address"
                )
            return InProcessExecutor()
        from ._dask import DaskExecutor, check_picklable

        check_picklable(self.estimator)
        executor = DaskExecutor(client, self.resources)
        stack.callback(executor.close)
        executor.check_resources()
        return executor

    def _client(self, stack: contextlib.ExitStack):
        """The dask client to run on, or None; one connected here is closed by ``stack``."""
        if self.scheduler is None:
            distributed = sys.modules.get("distributed")
            if distributed is None:
                return None
            try:
                return distributed.default_client()
            except ValueError:
                return None
        if self.scheduler == "in-process":
            return None
        if "://" not in self.scheduler:
            raise ValueError(
                "scheduler must be None (use the current dask client, if there is one), "
                "'in-process', 'processes', or a dask scheduler address such as "
                f"'tcp://127.0.0.1:8786'; got {self.scheduler!r}"
            )
        from distributed import Client

        return stack.enter_context(Client(self.scheduler, set_as_default=False))

    def _store_results(self, outcome, metrics) -> None:
        trials = outcome.trials
        self.search_stats_ = dict(outcome.stats)
        seen = [name for t in trials for name in t.metrics]  # a callable scoring's metrics
        if seen and metrics is None:
            self.multimetric_ = True
            _check_refit_for_multimetric(self.refit, seen)
        if self.multimetric_:
            metrics = list(dict.fromkeys([*(metrics or []), *seen]))
        self.cv_results_ = cv_results(
            trials,
            train_scores=bool(self.return_train_score),
            metrics=metrics,
            n_splits=self.n_splits_,
        )
        # In the order the scores were taken (tasks finish out of order on a cluster).
        self.history_ = sorted(outcome.history, key=lambda rec: rec["elapsed_wall_time"])
        self.model_history_ = {t.model_id: [] for t in trials}
        for rec in self.history_:
            self.model_history_[rec["model_id"]].append(rec)
        started = [(i, b) for i, b, _ in outcome.rungs_reached]
        self.metadata_ = self._describe_plan(started)
        self.metadata_["n_models"] = len(trials)
        self.metadata_["partial_fit_calls"] = int(sum(t.epochs for t in trials))
        for info, (i, b, rungs) in zip(
            self.metadata_["brackets"], outcome.rungs_reached, strict=True
        ):
            ran = [t for t in trials if (t.iteration, t.bracket) == (i, b.index)]
            info["n_models"] = len(ran)
            info["partial_fit_calls"] = int(sum(t.epochs for t in ran))
            info["decisions"] = sorted(
                {
                    h["partial_fit_calls"]
                    for h in self.history_
                    if (h["iteration"], h["bracket"]) == (i, b.index)
                }
            )
            info["rungs"] = rungs
        failed = [t.error for t in trials if t.state == FAILED]
        if failed and outcome.best_index is not None:  # else fit raises, saying the same
            warnings.warn(
                f"{len(failed)} of {len(trials)} trials failed {failure_causes(failed)}; "
                f"they got error_score={self.error_score!r}, and their tracebacks are in "
                "cv_results_['error'].",
                TrialFailedWarning,
                stacklevel=3,  # fit's caller
            )
        # As scikit-learn's searches: with several metrics and refit=False, no best_*;
        # a callable refit chooses best_index_, and there is no best_score_.
        if outcome.best_index is not None and (self.refit or not self.multimetric_):
            if callable(self.refit):
                self.best_index_ = _refit_index(self.refit, self.cv_results_)
            else:
                self.best_index_ = int(outcome.best_index)
                self.best_score_ = float(trials[self.best_index_].score)
            self.best_params_ = dict(trials[self.best_index_].params)
            self.n_iter_ = int(trials[self.best_index_].epochs)

    # -- validation ---------------------------------------------------------------------

    def _check_space(self) -> SearchSpace:
        space = SearchSpace.from_params(self.parameters)
        if isinstance(_final_step(self.estimator), type):
            raise TypeError(f"estimator must be an instance, not the class {self.estimator!r}")
        if not hasattr(_final_step(self.estimator), "partial_fit"):
            where = (
                " (the last step of the Pipeline)" if isinstance(self.estimator, Pipeline) else ""
            )
            raise TypeError(
                f"{type(self).__name__} trains models epoch by epoch through partial_fit, "
                f"and {type(_final_step(self.estimator)).__name__}{where} has no partial_fit "
                "method. Use an estimator with partial_fit (a scikeras KerasClassifier or "
                "KerasRegressor, SGDClassifier, MLPClassifier, ...)."
            )
        rng = np.random.RandomState(0)
        for subspace in space.subspaces:
            for estimator in check_settable(self.estimator, subspace, rng, skip_known=True):
                final = _final_step(estimator)
                if not hasattr(final, "partial_fit"):
                    raise TypeError(
                        f"The search space sets {type(final).__name__} as the estimator to "
                        "train, and it has no partial_fit method"
                    )
        return space

    # -- scikit-learn citizenship -------------------------------------------------------

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        sub = estimator_tags(self.estimator)
        tags.estimator_type = sub.estimator_type
        tags.classifier_tags = copy.deepcopy(sub.classifier_tags)
        tags.regressor_tags = copy.deepcopy(sub.regressor_tags)
        tags.target_tags.multi_output = sub.target_tags.multi_output
        tags.input_tags.pairwise = sub.input_tags.pairwise
        tags.input_tags.sparse = sub.input_tags.sparse
        tags.array_api_support = sub.array_api_support
        return tags

    @property
    def classes_(self):
        """The class labels of the best estimator (classifiers only)."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.classes_

    @property
    def n_features_in_(self):
        """Number of features seen by the best estimator."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.n_features_in_

    predict = _delegate("predict")
    predict_proba = _delegate("predict_proba")
    predict_log_proba = _delegate("predict_log_proba")
    decision_function = _delegate("decision_function")
    transform = _delegate("transform")
    inverse_transform = _delegate("inverse_transform")

    def score(self, X, y=None):
        """Score the best estimator on ``(X, y)`` with the search's scorer (with several
        metrics, the one ``refit`` names)."""
        check_is_fitted(self, "best_estimator_")
        scorer = self.scorer_[self.refit] if isinstance(self.scorer_, dict) else self.scorer_
        score = scorer(self.best_estimator_, X, y)
        return score[self.refit] if isinstance(score, dict) else score


def _check_refit_for_multimetric(refit: Any, names: list[str]) -> None:
    """scikit-learn's check (``BaseSearchCV._check_refit_for_multimetric``) of ``refit``
    with several metrics, with its message: False, a metric's name or a callable."""
    if (
        refit is not False
        and not (isinstance(refit, str) and refit in names)
        and not callable(refit)
    ):
        raise ValueError(
            "For multi-metric scoring, the parameter refit must be set to a scorer key or a "
            "callable to refit an estimator with the best parameter setting on the whole "
            "data and make the best_* attributes available for that metric. If this is not "
            f"needed, refit should be set to False explicitly. {refit!r} was passed."
        )


def _refit_index(refit: Any, results: dict) -> int:
    """The ``best_index_`` a callable ``refit`` chooses from ``cv_results_``, checked as
    scikit-learn checks it."""
    index = refit(results)
    if not isinstance(index, Integral):
        raise TypeError("best_index_ returned is not an integer")
    if index < 0 or index >= len(results["params"]):
        raise IndexError("best_index_ index out of range")
    return int(index)


def _tell_callbacks(search: Any, begun: list, exc_type, error, traceback) -> bool:
    """An exit of ``fit``'s ExitStack: ``on_search_end`` or ``on_search_error``."""
    for cb in begun:
        if error is None:
            cb.on_search_end(search)
        else:
            cb.on_search_error(search, error)
    return False  # an error goes on


def _raise_all_failed(trials: list) -> None:
    """Raise the error of a search whose trials all failed, the first one's traceback as
    its cause."""
    failed = [t for t in trials if t.error]
    causes = failure_causes([t.error for t in failed])
    raise ValueError(
        f"All {len(trials)} trials failed {causes}"
        f"{'' if causes.endswith(('.', '!', '?')) else '.'} Each trial's "
        "traceback is in cv_results_['error']; the first one's is shown above."
    ) from _TrialTraceback(failed[0].model_id, failed[0].error)


class _TrialTraceback(Exception):
    """A trial's formatted traceback, shown as the cause of the error that reports it."""

    def __init__(self, model_id: str, traceback: str) -> None:
        super().__init__(model_id, traceback)
        self.model_id = model_id
        self.traceback = traceback

    def __str__(self) -> str:
        return f"trial {self.model_id} failed:\n{self.traceback}"
