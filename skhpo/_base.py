"""What the epoch-budget searches (Hyperband, successive halving) share.

The subclasses only say which brackets to run (:meth:`BaseEpochSearchCV._brackets`);
validation, the data split, the driver call and the fitted attributes live here.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import math
import os
import sys
import warnings
from functools import partial
from numbers import Integral, Real
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, MetaEstimatorMixin
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, check_random_state, get_tags
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted

from ._driver import run_search
from ._events import LoggingCallback, ProgressBar, SearchCallback
from ._executor import InProcessExecutor
from ._fingerprint import describe, describe_data, fingerprint
from ._records import FAILED, cv_results, failure_causes
from ._schedule import Bracket, default_patience, plan_metadata
from ._settable import check_settable
from ._worker import (
    DaskBlocks,
    SearchData,
    _is_scikeras,
    catch_interrupts,
    estimator_tags,
    is_dask_collection,
    raise_if_interrupted,
    refit_task,
)
from ._worker import final_step as _final_step
from ._worker import is_classifier_estimator as _is_classifier
from .exceptions import SkhpoWarning, TrialFailedWarning
from .space import SearchSpace

__all__ = ["BaseEpochSearchCV"]

DEFAULT_TEST_SIZE = 0.2


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
        "refit": ["boolean"],
        "asynchronous": ["boolean"],
        "scheduler": [None, str],
        "resources": [dict, None],
        "callbacks": [list, None],
        "storage": [str, os.PathLike, None],
        "timeout": [Interval(Real, 0, None, closed="neither"), None],
        "sampler": [StrOptions({"random", "bayes"}), HasMethods(["ask", "tell"])],
        "sampler_kwargs": [dict, None],
        "return_train_score": ["boolean"],
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
        X_train, y_train, X_val, y_val, fit_params, all_fit_params = self._check_data(
            X, y, validation_data, fit_params
        )
        rng = check_random_state(self.random_state)
        sampler, per_bracket = self._sampler(space, brackets, rng)
        self.sampler_ = sampler

        final = _final_step(self.estimator)
        worker_scorer = check_scoring(final, scoring=self.scoring)
        self.scorer_ = check_scoring(self.estimator, scoring=self.scoring)
        self.multimetric_ = False
        self.n_splits_ = 1

        callbacks = self._callbacks()
        # One way out, whatever raises where: what was opened is closed (last first), and
        # the callbacks that began hear of the end or of the error.
        with contextlib.ExitStack() as stack:
            storage = self._open_storage(X, y, validation_data, fit_params)
            if storage is not None:
                stack.callback(storage.close)
            executor = self._make_executor()
            stack.callback(executor.close)
            begun: list[SearchCallback] = []
            stack.push(partial(_tell_callbacks, self, begun))
            for cb in callbacks:
                begun.append(cb)  # one that raises here hears of its own error too
                cb.on_search_begin(self, plan_metadata(brackets))
            stack.enter_context(catch_interrupts())
            self._execute(
                executor,
                storage,
                callbacks,
                (brackets, plan),
                (sampler, per_bracket),
                worker_scorer,
                (X, y, validation_data, X_train, y_train, X_val, y_val, fit_params, all_fit_params),
            )
        return self

    def _execute(self, executor, storage, callbacks, schedule, draws, worker_scorer, data):
        """Run the search on ``executor``; set the fitted attributes.

        ``schedule`` is ``(brackets, metadata)``; ``draws`` is ``(sampler, parameters per
        bracket)``, one of them None.
        """
        brackets, plan = schedule
        sampler, per_bracket = draws
        X, y, validation_data, X_train, y_train, X_val, y_val, fit_params, all_fit_params = data
        data = SearchData(
            X_train,
            y_train,
            X_val,
            y_val,
            fit_params,
            worker_scorer,
            error_score=self.error_score,
            patience=self._patience(),
            tol=self._tol(),
            return_train_score=bool(self.return_train_score),
            checkpoint=storage is not None,
            # dask recomputes what a lost worker held: its tasks read rungs back
            storage_path=(
                os.path.abspath(storage.path)
                if storage is not None and not isinstance(executor, InProcessExecutor)
                else None
            ),
            timeout=self.timeout,
        )
        outcome = run_search(
            executor,
            executor.put(data),
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
        )
        self._store_results(outcome, brackets, plan)
        if outcome.best_index is None:
            failed = [t for t in outcome.trials if t.error]
            causes = failure_causes([t.error for t in failed])
            raise ValueError(
                f"All {len(outcome.trials)} trials failed {causes}"
                f"{'' if causes.endswith(('.', '!', '?')) else '.'} Each trial's "
                "traceback is in cv_results_['error']; the first one's is shown above."
            ) from _TrialTraceback(failed[0].model_id, failed[0].error)
        if self.refit:
            if isinstance(X_train, DaskBlocks):
                X_all, y_all = _dask_refit_data(X_train, validation_data), None
            else:
                X_all = X if validation_data is None else _concat(X_train, X_val)
                y_all = y if validation_data is None else _concat(y_train, y_val)
            best = self.cv_results_["params"][self.best_index_]
            epochs = int(self.cv_results_["partial_fit_calls"][self.best_index_])
            try:
                state, info = refit_task(self.estimator, best, X_all, y_all, all_fit_params, epochs)
            except Exception:
                raise_if_interrupted()  # a Ctrl-C that TensorFlow turned into this
                raise
            self.best_estimator_ = state.estimator
            self.refit_time_ = info["refit_time"]
        else:
            best_state = outcome.best_state
            if not outcome.best_is_local:
                best_state = executor.fetch(best_state)
            self.best_estimator_ = best_state.estimator

    def _open_storage(self, X, y, validation_data, fit_params):
        """The search's storage, bound to this search's parameters and data, or None."""
        if self.storage is None:
            return None
        from ._storage import SqliteStorage

        storage = SqliteStorage(self.storage)
        try:
            storage.bind(self._fingerprint(X, y, validation_data, fit_params))
        except BaseException:
            storage.close()
            raise
        return storage

    def _fingerprint(self, X, y, validation_data, fit_params) -> str:
        """What a storage is bound to: this search's parameters and data, described.

        The same in every process for the same search (see :mod:`skhpo._fingerprint`);
        the search space is taken as a :class:`~skhpo.space.SearchSpace`, so
        ``(0.0, 1.0)`` and ``Real(0.0, 1.0)`` are the same.
        """
        params = {
            k: v
            for k, v in self.get_params(deep=False).items()
            if k not in self._not_in_fingerprint
        }
        params["parameters"] = SearchSpace.from_params(self.parameters)
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

    def _make_executor(self):
        """In-process, or a dask cluster: the current client, or ``scheduler``'s address."""
        client, own = None, False
        if self.scheduler is None:
            distributed = sys.modules.get("distributed")
            if distributed is not None:
                try:
                    client = distributed.default_client()
                except ValueError:
                    client = None
        elif self.scheduler != "in-process":
            if "://" not in self.scheduler:
                raise ValueError(
                    "scheduler must be None (use the current dask client, if there is one), "
                    "'in-process', or a dask scheduler address such as "
                    f"'tcp://127.0.0.1:8786'; got {self.scheduler!r}"
                )
            from distributed import Client

            client, own = Client(self.scheduler, set_as_default=False), True
        if client is None:
            if self.resources:
                raise ValueError(
                    f"resources={self.resources} needs a dask cluster: create a "
                    "distributed.Client whose workers offer them, or give scheduler= its "
                    "address"
                )
            return InProcessExecutor()
        from ._dask import DaskExecutor, check_picklable

        try:
            check_picklable(self.estimator)
            executor = DaskExecutor(client, self.resources, own_client=own)
            executor.check_resources()
        except BaseException:
            if own:
                client.close()
            raise
        return executor

    def _store_results(self, outcome, brackets: list[Bracket], plan: dict) -> None:
        trials = outcome.trials
        self.search_stats_ = dict(outcome.stats)
        self.cv_results_ = cv_results(trials, train_scores=bool(self.return_train_score))
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
                stacklevel=4,
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

    def _validation_pair(self, validation_data: Any, shape: tuple) -> tuple[Any, Any]:
        """``(X_val, y_val)``, checked against ``test_size`` and ``X``'s ``shape``."""
        if self.test_size is not None:
            raise ValueError("Give either validation_data or test_size, not both")
        if not (isinstance(validation_data, tuple | list) and len(validation_data) == 2):
            raise ValueError("validation_data must be a pair (X_val, y_val)")
        X_val, y_val = validation_data
        if np.shape(X_val)[1:] != tuple(shape[1:]):
            raise ValueError(
                f"validation_data's X has shape {np.shape(X_val)}, which does not match "
                f"X's {tuple(shape)} past the first dimension"
            )
        return X_val, y_val

    def _check_data(self, X, y, validation_data, fit_params):
        if X is None:
            raise ValueError("X is None; fit needs training data")
        if is_dask_collection(X) or is_dask_collection(y):
            return self._check_dask_data(X, y, validation_data, fit_params)
        X, y = _indexable(X), _indexable(y)
        if validation_data is not None and isinstance(validation_data, tuple | list):
            validation_data = tuple(_indexable(v) for v in validation_data)
        if getattr(X, "ndim", 2) < 2:
            raise ValueError(
                f"X must have at least 2 dimensions (n_samples, n_features), got shape "
                f"{np.shape(X)}; reshape a single feature with X.reshape(-1, 1)"
            )
        _check_X(X)
        n = _n_samples(X)
        if y is not None and _n_samples(y) != n:
            raise ValueError(f"X and y have different numbers of samples: {n} and {_n_samples(y)}")
        classifier = _is_classifier(self.estimator)
        if classifier:
            _check_classification_target(y, "y")
        check_values = _input_check(self.estimator)
        check_values(X, "X")
        fit_params = dict(fit_params)
        if classifier and "classes" not in fit_params and _takes_classes(self.estimator):
            labels = y if validation_data is None else _concat(y, validation_data[1])
            fit_params["classes"] = np.unique(np.asarray(labels))
        if validation_data is not None:
            X_val, y_val = self._validation_pair(validation_data, np.shape(X))
            if _n_samples(X_val) != _n_samples(y_val):
                raise ValueError(
                    f"validation_data's X and y have different numbers of samples: "
                    f"{_n_samples(X_val)} and {_n_samples(y_val)}"
                )
            check_values(X_val, "validation_data's X")
            if classifier:
                _check_classification_target(y_val, "validation_data's y")
                _check_classes_trained(y, y_val)
            return X, y, X_val, y_val, fit_params, fit_params
        test_size = DEFAULT_TEST_SIZE if self.test_size is None else self.test_size
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        stratify = y if classifier else None
        indices = np.arange(n)
        try:
            train, val = train_test_split(
                indices, test_size=test_size, random_state=seed, stratify=stratify
            )
        except ValueError as exc:
            if stratify is None:
                raise ValueError(f"Cannot hold out test_size={test_size}: {exc}") from exc
            warnings.warn(
                f"Cannot stratify the validation split ({exc}); splitting at random",
                SkhpoWarning,
                stacklevel=3,
            )
            train, val = train_test_split(indices, test_size=test_size, random_state=seed)
        train_fit_params = dict(fit_params)
        for name, value in fit_params.items():
            if name != "classes" and hasattr(value, "__len__") and _n_samples(value) == n:
                train_fit_params[name] = _safe_indexing(value, train)
        return (
            _safe_indexing(X, train),
            None if y is None else _safe_indexing(y, train),
            _safe_indexing(X, val),
            None if y is None else _safe_indexing(y, val),
            train_fit_params,
            fit_params,
        )

    def _check_dask_data(self, X, y, validation_data, fit_params):
        """``_check_data`` for dask collections: shapes from metadata, nothing gathered.

        The training data stays a dask array, trained on block by block; the hold-out
        rows are drawn within each block (not stratified); only the labels are computed,
        through dask, to find the classes when ``classes`` is not given.
        """
        if isinstance(self.estimator, Pipeline) and len(self.estimator.steps) > 1:
            raise ValueError(
                "dask collections are trained block by block, so a Pipeline's "
                "pre-processing steps cannot be fitted on them: search the final "
                "estimator, on data pre-processed with dask (dask-ml has scalers)"
            )
        X = _as_dask_array(X, "X")
        if X.ndim < 2:
            raise ValueError(
                f"X must have at least 2 dimensions (n_samples, n_features), got a dask "
                f"array of {X.ndim} dimension(s)"
            )
        y = None if y is None else _as_dask_array(y, "y", like=X)
        if y is not None and y.numblocks[0] != X.numblocks[0]:
            raise ValueError(
                f"X and y must be split into the same blocks of rows: X has "
                f"{X.numblocks[0]} and y {y.numblocks[0]}"
            )
        if y is not None and not (np.isnan(X.shape[0]) or np.isnan(y.shape[0])):
            if X.chunks[0] != y.chunks[0]:
                raise ValueError(
                    f"X and y have different numbers of samples per block: "
                    f"{X.chunks[0]} and {y.chunks[0]}"
                )
        for name, value in fit_params.items():
            if is_dask_collection(value) or (name != "classes" and hasattr(value, "__len__")):
                raise ValueError(
                    f"fit parameter {name!r}: with dask collections only parameters that "
                    "are the same for every block (such as classes) can be passed"
                )
        fit_params = dict(fit_params)
        classifier = _is_classifier(self.estimator)
        if classifier:
            if y is None:
                raise ValueError("A classifier needs targets, and y is None")
            if "classes" not in fit_params and _takes_classes(self.estimator):
                import dask.array as da

                labels = da.unique(y).compute()
                if len(labels) < 2:
                    raise ValueError("y has a single class; a classifier needs at least two")
                fit_params["classes"] = labels
        if validation_data is not None:
            X_val, y_val = self._validation_pair(validation_data, np.shape(X))
            if is_dask_collection(X_val) or is_dask_collection(y_val):
                X_val = DaskBlocks(
                    _as_dask_array(X_val, "X_val"), _as_dask_array(y_val, "y_val", like=X_val)
                )
                y_val = None
            return DaskBlocks(X, y), None, X_val, y_val, fit_params, fit_params
        test_size = DEFAULT_TEST_SIZE if self.test_size is None else self.test_size
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        train = DaskBlocks(X, y, test_size=test_size, seed=seed, part="train")
        val = DaskBlocks(X, y, test_size=test_size, seed=seed, part="validation")
        return train, None, val, None, fit_params, fit_params

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


def _dask_refit_data(train: DaskBlocks, validation_data: tuple | None) -> DaskBlocks:
    """The blocks the best parameters are refitted on: training and validation data."""
    if validation_data is None:
        return train.whole()
    import dask.array as da

    def rows(a):
        if is_dask_collection(a):
            return _as_dask_array(a, "validation data")
        a = np.asarray(a)
        return da.from_array(a, chunks=a.shape)

    X_val, y_val = (rows(a) for a in validation_data)
    return DaskBlocks(da.concatenate([train.X, X_val]), da.concatenate([train.y, y_val]))


def _takes_classes(estimator: Any) -> bool:
    try:
        signature = inspect.signature(_final_step(estimator).partial_fit)
    except (TypeError, ValueError):
        return False
    return "classes" in signature.parameters


def _check_classification_target(y: Any, what: str) -> None:
    if y is None:
        raise ValueError(f"A classifier needs targets, and {what} is None")
    arr = np.asarray(y)
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ValueError(f"{what} contains NaN; a classifier's targets must be class labels")
    if arr.dtype.kind in "fc":  # continuous or complex: scikit-learn's "Unknown label type"
        check_classification_targets(arr)
    if arr.dtype.kind == "O" and any(v is None for v in arr.ravel()):
        raise ValueError(f"{what} contains None; a classifier's targets must be class labels")
    if what == "y" and np.unique(arr, axis=0 if arr.ndim > 1 else None).shape[0] < 2:
        raise ValueError(f"{what} has one class; a classifier needs at least two")


class _TrialTraceback(Exception):
    """A trial's formatted traceback, shown as the cause of the error that reports it."""

    def __init__(self, model_id: str, traceback: str) -> None:
        super().__init__(model_id, traceback)
        self.model_id = model_id
        self.traceback = traceback

    def __str__(self) -> str:
        return f"trial {self.model_id} failed:\n{self.traceback}"


def _check_classes_trained(y: Any, y_val: Any) -> None:
    """Every class of ``validation_data`` is in the training targets (1-D targets)."""
    y, y_val = np.asarray(y), np.asarray(y_val)
    if y.ndim != 1 or y_val.ndim != 1:
        return
    missing = sorted(set(np.unique(y_val).tolist()) - set(np.unique(y).tolist()), key=str)
    if missing:
        shown = ", ".join(map(repr, missing[:5])) + (", ..." if len(missing) > 5 else "")
        raise ValueError(
            f"validation_data's y has {len(missing)} class{'es' if len(missing) > 1 else ''} "
            f"that y does not have: {shown}. "
            "A model never trained on a class cannot predict it; put samples of every class "
            "in the training data, or leave these out of validation_data."
        )


def _input_step(estimator: Any) -> Any:
    """The step that receives ``X``: the estimator, or a Pipeline's first step."""
    step = estimator
    while isinstance(step, Pipeline):
        steps = [s for _, s in step.steps if s is not None and not isinstance(s, str)]
        if not steps:
            return None
        step = steps[0]
    return step


def _from_sklearn(step: Any) -> bool:
    """``step`` is (a subclass of) one of scikit-learn's estimators, whose input tags
    scikit-learn's own tests check, and passes ``X`` to no estimator or function of the
    user's (``ColumnTransformer``, ``FeatureUnion``, ``FunctionTransformer``, meta-estimators
    do, and their tags say nothing of what those accept)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import FeatureUnion
    from sklearn.preprocessing import FunctionTransformer

    if isinstance(step, ColumnTransformer | FeatureUnion | FunctionTransformer):
        return False
    if any(hasattr(v, "fit") for v in step.get_params(deep=False).values()):
        return False
    return any(
        c.__module__.startswith("sklearn.")
        and not c.__module__.startswith(("sklearn.base", "sklearn.utils"))
        for c in type(step).__mro__
    )


def _input_check(estimator: Any):
    """A function ``check(X, what)`` that raises on values of ``X`` the estimator rejects.

    Only what can be told before training is checked: NaN and infinity when the step that
    receives ``X`` rejects them, and values that are not numbers when it needs numbers.
    That step is known for scikeras wrappers (they validate ``X`` with scikit-learn's
    ``check_array``: finite numbers) and scikit-learn's own estimators (their input tags;
    a Pipeline's pre-processing step only for NaN, since an imputer, for instance, takes
    strings). Other estimators, and inputs that are not NumPy arrays, pandas DataFrames
    or scipy sparse matrices (dask collections), are not checked: their trials fail, and
    the error says why.
    """
    step = _input_step(estimator)
    if step is None:
        return lambda X, what: None
    if _is_scikeras(step):
        finite = numbers = True
    else:
        try:
            trusted = _from_sklearn(step)
            tags = get_tags(step).input_tags
        except Exception:  # an estimator whose parameters or tags cannot be read
            trusted = False
        if not trusted:
            return lambda X, what: None
        finite = not tags.allow_nan
        numbers = (
            step is _final_step(estimator)
            and tags.two_d_array
            and not (tags.string or tags.categorical or tags.dict)
        )
    if not (finite or numbers):
        return lambda X, what: None
    name = type(step).__name__
    if step is not estimator:
        name += " (the first step of the Pipeline)"

    def check(X: Any, what: str) -> None:
        for column, values in _value_blocks(X, numbers):
            label = what if column is None else f"{what}'s column {column!r}"
            if values.dtype.kind in "OUS":
                if not numbers:
                    continue
                try:
                    values = np.asarray(values, dtype=np.float64)
                except (TypeError, ValueError) as exc:
                    raise ValueError(
                        f"{label} holds values that are not numbers ({exc}), and {name} "
                        "needs numbers: encode them before the search, or first in a "
                        "Pipeline (a ColumnTransformer with a OneHotEncoder, for instance)."
                    ) from None
            bad = _first_non_finite(values) if finite else None
            if bad is not None:
                index, kind = bad
                raise ValueError(_non_finite_message(label, _where(X, column, index), kind, name))

    return check


def _non_finite_message(label: str, where: str, kind: str, name: str) -> str:
    if kind == "NaN":
        advice = (
            "does not accept missing values: impute them before the search or first in "
            "a Pipeline (sklearn.impute.SimpleImputer, for instance), or drop those samples"
        )
    else:
        advice = "does not accept infinite values: replace them or drop those samples"
    return f"{label} contains {kind}{where}, and {name} {advice}."


def _where(X: Any, column: Any, index: tuple) -> str:
    """Where in ``X`` the value at ``index`` of a block of :func:`_value_blocks` is."""
    if column is not None:
        return f" (row {X.index[index[0]]!r})"
    if isinstance(X, np.ndarray):
        if len(index) == 2:
            return f" (row {index[0]}, column {index[1]})"
        return f" (at index {index})"
    return ""  # among the stored values of a sparse matrix


def _value_blocks(X: Any, numbers: bool):
    """``(column or None, values)`` of ``X`` to check, without copying it as a whole.

    A NumPy array is one block; a sparse matrix its stored values; a DataFrame each
    column (as NumPy values: a copy of one column at most). Anything else: nothing.
    """
    import scipy.sparse as sp

    if isinstance(X, np.ndarray):
        yield None, X
    elif sp.issparse(X):
        yield None, X.data
    elif "pandas" in sys.modules and isinstance(X, sys.modules["pandas"].DataFrame):
        from pandas.api.types import is_numeric_dtype

        for column in X.columns:
            series = X[column]
            if is_numeric_dtype(series.dtype):
                if isinstance(series.dtype, np.dtype):
                    yield column, series.to_numpy()
                else:  # nullable: pd.NA is a missing value
                    yield column, series.to_numpy(dtype=np.float64, na_value=np.nan)
            elif numbers:
                yield column, series.to_numpy(dtype=object)


def _first_non_finite(values: np.ndarray) -> tuple | None:
    """The index and kind ("NaN" or "infinity") of the first non-finite value, or None.

    A sum tells finite arrays apart without a temporary array as large as ``values``.
    """
    if values.dtype.kind != "f" or values.size == 0:
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(values.sum(dtype=np.float64)):
            return None
    bad = np.argwhere(~np.isfinite(values))
    if len(bad) == 0:
        return None
    index = tuple(int(i) for i in bad[0])
    return index, "NaN" if np.isnan(values[index]) else "infinity"


def _as_dask_array(obj: Any, what: str, like: Any = None) -> Any:
    """A dask array of ``obj``, in blocks of rows only (no data is computed).

    A dask DataFrame or Series becomes its ``to_dask_array()`` (block sizes unknown, which
    is fine: nothing needs them). An in-memory array is cut into ``like``'s row blocks.
    """
    import dask.array as da

    if hasattr(obj, "to_dask_array"):
        obj = obj.to_dask_array()
    elif not is_dask_collection(obj):
        if like is None or not is_dask_collection(like):
            raise TypeError(f"{what} must be a dask array or DataFrame, got {type(obj).__name__}")
        like = _as_dask_array(like, "like")
        if any(np.isnan(like.chunks[0])):
            raise ValueError(
                f"{what} is in memory and X is a dask array of unknown block sizes: give "
                f"{what} as a dask collection with X's blocks"
            )
        obj = np.asarray(obj)
        obj = da.from_array(obj, chunks=(like.chunks[0],) + obj.shape[1:])
    if not isinstance(obj, da.Array):
        raise TypeError(f"{what} must be a dask array or DataFrame, got {type(obj).__name__}")
    if obj.ndim > 1 and any(len(c) > 1 for c in obj.chunks[1:]):
        obj = obj.rechunk({axis: -1 for axis in range(1, obj.ndim)})
    return obj


def _concat(a: Any, b: Any) -> Any:
    if hasattr(a, "iloc"):
        import pandas as pd

        return pd.concat([a, b])
    if sp.issparse(a):
        return sp.vstack([a, b], format=a.format)
    return np.concatenate([np.asarray(a), np.asarray(b)])


def _indexable(data: Any) -> Any:
    """``data`` in a form that rows can be taken from, converted only where it must be.

    Sparse matrices in formats without row indexing (COO, DIA, BSR, ...) become CSR, and
    objects that only implement ``__array__`` become NumPy arrays. Arrays, sparse CSR/CSC,
    DataFrames, lists and other collections are returned as they are.
    """
    if sp.issparse(data):
        return data if data.format in ("csr", "csc") else data.tocsr()
    if hasattr(data, "__array__") and not hasattr(data, "shape"):
        return np.asarray(data)
    return data


def _n_samples(data: Any) -> int:
    """The number of rows of ``data`` as :func:`_indexable` returns it.

    ``shape[0]`` where ``data`` has a shape (arrays, sparse matrices, DataFrames), else
    ``len``: what scikit-learn's private ``_num_samples`` answers for these inputs
    (``tests/test_compat.py`` compares them through its public ``check_consistent_length``).
    """
    shape = getattr(data, "shape", None)
    if shape is not None:
        if len(shape) == 0:
            raise TypeError(f"Expected an array with at least one dimension, got {data!r}")
        if isinstance(shape[0], Integral):
            return int(shape[0])
    try:
        return len(data)
    except TypeError:
        raise TypeError(f"Expected a sequence or an array, got {type(data)}") from None


def _check_X(X: Any) -> None:
    """scikit-learn's checks of a NumPy or sparse ``X`` that need no copy.

    Complex values, no samples or no features are errors before any training; the
    estimator itself judges the values (NaN, strings) when it trains. Other inputs
    (DataFrames, ...) are left to the estimator, unconverted.
    """
    if isinstance(X, np.ndarray) or sp.issparse(X):
        check_array(X, accept_sparse=True, dtype=None, ensure_all_finite=False, allow_nd=True)
