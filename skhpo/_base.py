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
from numbers import Real
from typing import Any

import joblib
import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
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
from ._schedule import Bracket, default_patience, plan_metadata
from ._settable import check_settable
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
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "verbose": ["verbose"],
        "prefix": [str],
        "error_score": [StrOptions({"raise"}), Real],
        "refit": ["boolean", None],
        "asynchronous": ["boolean"],
        "scheduler": [None, str],
        "resources": [dict, None],
        "callbacks": [list, None],
        "storage": [str, os.PathLike, None],
        "timeout": [Interval(Real, 0, None, closed="neither"), None],
        "sampler": [StrOptions({"random", "bayes"})],
        "sampler_kwargs": [dict, None],
        "return_train_score": ["boolean"],
        "cv": ["cv_object"],
        "fold_rejection": ["boolean", Interval(Real, 0, None, closed="left")],
    }

    # The parameters the plan (``metadata``) depends on: the only ones it validates.
    _plan_params: tuple[str, ...] = ("max_iter", "aggressiveness", "patience", "random_state")

    # Constructor parameters that change how a search runs or reports, not its results:
    # a storage written with other values of these can be resumed.
    _not_in_fingerprint = ("verbose", "prefix", "callbacks", "scheduler", "resources", "storage")

    # -- what subclasses provide -------------------------------------------------------

    def _brackets(self) -> list[Bracket]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _bracket_search_params(self, brackets: list[Bracket]) -> list[dict]:  # pragma: no cover
        """Per bracket, the arguments of a SuccessiveHalvingSearchCV that runs it."""
        raise NotImplementedError

    def _shared_search_params(self) -> dict:
        """This search's arguments as a bracket's SuccessiveHalvingSearchCV takes them.

        Without ``estimator`` and ``parameters`` (as dask-ml's), with ``patience``
        resolved to epochs (False when off) and no ``storage`` (a storage holds one
        search).
        """
        params = {
            k: v
            for k, v in self.get_params(deep=False).items()
            if k not in ("estimator", "parameters")
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
        bracket starts; see :ref:`hyperband-metadata`). Only the parameters the plan
        depends on are validated here; ``fit`` validates them all.
        """
        validate_parameter_constraints(
            {k: self._parameter_constraints[k] for k in self._plan_params},
            {k: getattr(self, k) for k in self._plan_params},
            caller_name=type(self).__name__,
        )
        brackets = self._brackets()
        meta = plan_metadata(brackets)
        for info, bracket, params in zip(
            meta["brackets"], brackets, self._bracket_search_params(brackets), strict=True
        ):
            info["decisions"] = [r.epochs for r in bracket.rungs]
            info["SuccessiveHalvingSearchCV params"] = params
        return meta

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
        plan = self.metadata  # before random_state is drawn from
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
        if data.folds is None and self._fold_rejection() is not None:
            raise ValueError("fold_rejection needs cv: it stops a trial after its first folds")
        sampler, per_bracket = self._sampler(space, brackets, check_random_state(self.random_state))
        worker_scorer = check_scoring(_final_step(self.estimator), scoring=self.scoring)
        self.scorer_ = check_scoring(self.estimator, scoring=self.scoring)
        self.multimetric_ = False
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
                cb.on_search_begin(self, plan_metadata(brackets))
            stack.enter_context(catch_interrupts())
            outcome = run_search(
                executor,
                executor.put(self._task_data(data, worker_scorer, storage, executor)),
                self.estimator,
                brackets,
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
                fetch_best=data.folds is None and not self._refit(data),
                fold_rejection=self._fold_rejection(),
            )
            self._store_results(outcome, brackets, plan)
            if outcome.best_index is None:
                _raise_all_failed(outcome.trials)
            self._set_best_estimator(executor, outcome.best_estimator, data)
        return self

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
            checkpoint=storage is not None,
            # a task run again (after a lost worker) reads its rung back
            storage_path=(
                os.path.abspath(storage.path)
                if storage is not None and executor.reruns_tasks
                else None
            ),
            timeout=self.timeout,
            folds=data.folds,
        )

    def _refit(self, data: SplitData) -> bool:
        """``refit``, with None as True under ``cv`` (as scikit-learn's searches) and
        False with one hold-out split (the best trial's own model is returned)."""
        return (data.folds is not None) if self.refit is None else bool(self.refit)

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
        from ._storage import SqliteStorage

        storage = SqliteStorage(self.storage)
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
        """``(sampler, None)`` for model-based sampling, else ``(None, parameters)``."""
        if self.sampler == "random":
            if self.sampler_kwargs:
                raise ValueError("sampler_kwargs is only used with sampler='bayes'")
            sampled = space.sample(sum(b.n_models for b in brackets), rng)
            per_bracket, k = [], 0
            for bracket in brackets:
                per_bracket.append(sampled[k : k + bracket.n_models])
                k += bracket.n_models
            return None, per_bracket
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
        """In-process, or a dask cluster: the current client, or ``scheduler``'s address."""
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
                "'in-process', or a dask scheduler address such as "
                f"'tcp://127.0.0.1:8786'; got {self.scheduler!r}"
            )
        from distributed import Client

        return stack.enter_context(Client(self.scheduler, set_as_default=False))

    def _store_results(self, outcome, brackets: list[Bracket], plan: dict) -> None:
        trials = outcome.trials
        self.search_stats_ = dict(outcome.stats)
        self.cv_results_ = cv_results(
            trials, train_scores=bool(self.return_train_score), n_splits=self.n_splits_
        )
        # In the order the scores were taken (tasks finish out of order on a cluster).
        self.history_ = sorted(outcome.history, key=lambda rec: rec["elapsed_wall_time"])
        self.model_history_ = {t.model_id: [] for t in trials}
        for rec in self.history_:
            self.model_history_[rec["model_id"]].append(rec)
        self.metadata_ = {
            "n_models": len(trials),
            "partial_fit_calls": int(sum(t.epochs for t in trials)),
            "brackets": [
                {
                    "bracket": b.index,
                    "n_models": sum(1 for t in trials if t.bracket == b.index),
                    "partial_fit_calls": int(sum(t.epochs for t in trials if t.bracket == b.index)),
                    "decisions": sorted(
                        {h["partial_fit_calls"] for h in self.history_ if h["bracket"] == b.index}
                    ),
                    "rungs": outcome.rungs_reached[b.index],
                    "SuccessiveHalvingSearchCV params": planned["SuccessiveHalvingSearchCV params"],
                }
                for b, planned in zip(brackets, plan["brackets"], strict=True)
            ],
        }
        failed = [t.error for t in trials if t.state == FAILED]
        if failed and outcome.best_index is not None:  # else fit raises, saying the same
            warnings.warn(
                f"{len(failed)} of {len(trials)} trials failed {failure_causes(failed)}; "
                f"they got error_score={self.error_score!r}, and their tracebacks are in "
                "cv_results_['error'].",
                TrialFailedWarning,
                stacklevel=3,  # fit's caller
            )
        if outcome.best_index is not None:
            self.best_index_ = int(outcome.best_index)
            self.best_params_ = dict(trials[self.best_index_].params)
            self.best_score_ = float(trials[self.best_index_].score)
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

    @available_if(_estimator_has("predict"))
    def predict(self, X):
        """Call ``predict`` on the best estimator."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Call ``predict_proba`` on the best estimator."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Call ``predict_log_proba`` on the best estimator."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Call ``decision_function`` on the best estimator."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.decision_function(X)

    @available_if(_estimator_has("transform"))
    def transform(self, X):
        """Call ``transform`` on the best estimator."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.transform(X)

    @available_if(_estimator_has("inverse_transform"))
    def inverse_transform(self, X):
        """Call ``inverse_transform`` on the best estimator."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.inverse_transform(X)

    def score(self, X, y=None):
        """Score the best estimator on ``(X, y)`` with the search's scorer."""
        check_is_fitted(self, "best_estimator_")
        return self.scorer_(self.best_estimator_, X, y)


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
