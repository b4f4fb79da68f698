"""What the epoch-budget searches (Hyperband, successive halving) share.

The subclasses only say which brackets to run (:meth:`BaseEpochSearchCV._brackets`);
validation, the data split, the driver call and the fitted attributes live here.
"""

from __future__ import annotations

import copy
import inspect
import os
import sys
import warnings
from numbers import Integral, Real
from typing import Any

import joblib
import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, check_random_state, get_tags
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _num_samples, check_is_fitted

from ._driver import run_search
from ._events import LoggingCallback, ProgressBar, SearchCallback
from ._executor import InProcessExecutor
from ._records import FAILED, cv_results
from ._schedule import Bracket, plan_metadata
from ._worker import DaskBlocks, SearchData, is_dask_collection, refit_task
from .exceptions import SkhpoWarning, TrialFailedWarning
from .space import SearchSpace

__all__ = ["BaseEpochSearchCV"]

DEFAULT_TEST_SIZE = 0.2


def _final_step(estimator: Any) -> Any:
    return estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator


def _is_classifier(estimator: Any) -> bool:
    """``is_classifier``, also for scikeras 0.13 wrappers (which declare ``_estimator_type``)."""
    final = _final_step(estimator)
    return is_classifier(estimator) or getattr(final, "_estimator_type", None) == "classifier"


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
        "patience": ["boolean", Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
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
        "sampler": [StrOptions({"random", "bayes"})],
        "sampler_kwargs": [dict, None],
    }

    # Constructor parameters that change how a search runs or reports, not its results:
    # a storage written with other values of these can be resumed.
    _not_in_fingerprint = ("verbose", "prefix", "callbacks", "scheduler", "resources", "storage")

    # -- what subclasses provide -------------------------------------------------------

    def _brackets(self) -> list[Bracket]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _patience(self) -> int:
        """Epochs without improvement before a trial stops itself (0: never)."""
        if self.patience is True:
            return max(int(self.max_iter) // int(self.aggressiveness), 1)
        return int(self.patience or 0)

    # -- plan ---------------------------------------------------------------------------

    @property
    def metadata(self) -> dict:
        """The plan, before fitting (dask-ml's format, plus each bracket's rungs).

        ``n_models`` and ``partial_fit_calls`` (epochs, counting that promoted models
        resume), and per bracket the same plus ``rungs``: ``(n_models, epochs)`` pairs.
        """
        self._validate_params()
        return plan_metadata(self._brackets())

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
        space = self._check_space()
        X_train, y_train, X_val, y_val, fit_params, all_fit_params = self._check_data(
            X, y, validation_data, fit_params
        )
        rng = check_random_state(self.random_state)
        sampler, per_bracket = self._sampler(space, brackets, rng)

        final = _final_step(self.estimator)
        worker_scorer = check_scoring(final, scoring=self.scoring)
        self.scorer_ = check_scoring(self.estimator, scoring=self.scoring)
        self.multimetric_ = False
        self.n_splits_ = 1

        callbacks = self._callbacks()
        storage = self._open_storage(X, y, validation_data, fit_params)
        try:
            executor = self._make_executor()
        except BaseException:
            if storage is not None:
                storage.close()
            raise
        for cb in callbacks:
            cb.on_search_begin(self, plan_metadata(brackets))
        try:
            self._execute(
                executor,
                storage,
                callbacks,
                brackets,
                (sampler, per_bracket),
                worker_scorer,
                (X, y, validation_data, X_train, y_train, X_val, y_val, fit_params, all_fit_params),
            )
        except BaseException as exc:
            for cb in callbacks:
                cb.on_search_error(self, exc)
            raise
        for cb in callbacks:
            cb.on_search_end(self)
        return self

    def _execute(self, executor, storage, callbacks, brackets, draws, worker_scorer, data):
        """Run the search on ``executor``; set the fitted attributes.

        ``draws`` is ``(sampler, parameters per bracket)``, one of them None.
        """
        sampler, per_bracket = draws
        X, y, validation_data, X_train, y_train, X_val, y_val, fit_params, all_fit_params = data
        try:
            data = SearchData(
                X_train,
                y_train,
                X_val,
                y_val,
                fit_params,
                worker_scorer,
                error_score=self.error_score,
                patience=self._patience(),
                tol=float(self.tol),
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
            )
            self._store_results(outcome, brackets)
            if outcome.best_index is None:
                first = next(t.error for t in outcome.trials if t.error)
                raise ValueError(
                    f"All {len(outcome.trials)} trials failed; the first error was:\n{first}"
                )
            if self.refit:
                if isinstance(X_train, DaskBlocks):
                    X_all, y_all = _dask_refit_data(X_train, validation_data), None
                else:
                    X_all = X if validation_data is None else _concat(X_train, X_val)
                    y_all = y if validation_data is None else _concat(y_train, y_val)
                best = self.cv_results_["params"][self.best_index_]
                epochs = int(self.cv_results_["partial_fit_calls"][self.best_index_])
                state, info = refit_task(self.estimator, best, X_all, y_all, all_fit_params, epochs)
                self.best_estimator_ = state.estimator
                self.refit_time_ = info["refit_time"]
            else:
                best_state = outcome.best_state
                if not outcome.best_is_local:
                    best_state = executor.fetch(best_state)
                self.best_estimator_ = best_state.estimator
        finally:
            executor.close()
            if storage is not None:
                storage.close()

    def _open_storage(self, X, y, validation_data, fit_params):
        """The search's storage, bound to this search's parameters and data, or None."""
        if self.storage is None:
            return None
        from ._storage import SqliteStorage

        params = {
            k: v
            for k, v in self.get_params(deep=False).items()
            if k not in self._not_in_fingerprint
        }
        fingerprint = joblib.hash((type(self).__name__, params, X, y, validation_data, fit_params))
        storage = SqliteStorage(self.storage)
        try:
            storage.bind(fingerprint)
        except BaseException:
            storage.close()
            raise
        return storage

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

    def _store_results(self, outcome, brackets: list[Bracket]) -> None:
        trials = outcome.trials
        self.search_stats_ = dict(outcome.stats)
        self.cv_results_ = cv_results(trials)
        self.history_ = outcome.history
        self.model_history_ = {t.model_id: [] for t in trials}
        for rec in outcome.history:
            self.model_history_[rec["model_id"]].append(rec)
        self.metadata_ = {
            "n_models": len(trials),
            "partial_fit_calls": int(sum(t.epochs for t in trials)),
            "brackets": [
                {
                    "bracket": b.index,
                    "n_models": sum(1 for t in trials if t.bracket == b.index),
                    "partial_fit_calls": int(sum(t.epochs for t in trials if t.bracket == b.index)),
                    "rungs": outcome.rungs_reached[b.index],
                }
                for b in brackets
            ],
        }
        failed = [t for t in trials if t.state == FAILED]
        if failed:
            warnings.warn(
                f"{len(failed)} of {len(trials)} trials failed and got error_score="
                f"{self.error_score!r}; their errors are in cv_results_['error']. "
                f"First error:\n{failed[0].error}",
                TrialFailedWarning,
                stacklevel=3,
            )
        if outcome.best_index is not None:
            self.best_index_ = int(outcome.best_index)
            self.best_params_ = dict(trials[self.best_index_].params)
            self.best_score_ = float(trials[self.best_index_].score)

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
        known = set(self.estimator.get_params(deep=True))
        rng = np.random.RandomState(0)
        for subspace in space.subspaces:
            one = SearchSpace.from_params(subspace).sample_one(rng)
            for name, value in one.items():
                if name in known:
                    continue  # a bad value fails its trial at build, with error_score
                try:  # a name the estimator routes itself (scikeras' model__, fit__, ...)
                    clone(self.estimator).set_params(**{name: value})
                except Exception as exc:
                    raise ValueError(
                        f"Parameter {name!r} of the search space cannot be set on "
                        f"{type(self.estimator).__name__}: {exc}"
                    ) from exc
        return space

    def _check_data(self, X, y, validation_data, fit_params):
        if X is None:
            raise ValueError("X is None; fit needs training data")
        if is_dask_collection(X) or is_dask_collection(y):
            return self._check_dask_data(X, y, validation_data, fit_params)
        if getattr(X, "ndim", 2) < 2:
            raise ValueError(
                f"X must have at least 2 dimensions (n_samples, n_features), got shape "
                f"{np.shape(X)}; reshape a single feature with X.reshape(-1, 1)"
            )
        n = _num_samples(X)
        if y is not None and _num_samples(y) != n:
            raise ValueError(
                f"X and y have different numbers of samples: {n} and {_num_samples(y)}"
            )
        classifier = _is_classifier(self.estimator)
        if classifier:
            _check_classification_target(y, "y")
        fit_params = dict(fit_params)
        if classifier and "classes" not in fit_params and _takes_classes(self.estimator):
            labels = y if validation_data is None else _concat(y, validation_data[1])
            fit_params["classes"] = np.unique(np.asarray(labels))
        if validation_data is not None:
            if self.test_size is not None:
                raise ValueError("Give either validation_data or test_size, not both")
            if not (isinstance(validation_data, tuple | list) and len(validation_data) == 2):
                raise ValueError("validation_data must be a pair (X_val, y_val)")
            X_val, y_val = validation_data
            if np.shape(X_val)[1:] != np.shape(X)[1:]:
                raise ValueError(
                    f"validation_data's X has shape {np.shape(X_val)}, which does not match "
                    f"X's {np.shape(X)} past the first dimension"
                )
            if _num_samples(X_val) != _num_samples(y_val):
                raise ValueError(
                    f"validation_data's X and y have different numbers of samples: "
                    f"{_num_samples(X_val)} and {_num_samples(y_val)}"
                )
            if classifier:
                _check_classification_target(y_val, "validation_data's y")
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
            if name != "classes" and hasattr(value, "__len__") and _num_samples(value) == n:
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
            if self.test_size is not None:
                raise ValueError("Give either validation_data or test_size, not both")
            if not (isinstance(validation_data, tuple | list) and len(validation_data) == 2):
                raise ValueError("validation_data must be a pair (X_val, y_val)")
            X_val, y_val = validation_data
            if np.shape(X_val)[1:] != X.shape[1:]:
                raise ValueError(
                    f"validation_data's X has shape {np.shape(X_val)}, which does not match "
                    f"X's {X.shape} past the first dimension"
                )
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
        sub = get_tags(self.estimator)
        tags.estimator_type = (
            "classifier" if _is_classifier(self.estimator) else (sub.estimator_type)
        )
        tags.classifier_tags = copy.deepcopy(sub.classifier_tags)
        tags.regressor_tags = copy.deepcopy(sub.regressor_tags)
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
    if arr.dtype.kind == "O" and any(v is None for v in arr.ravel()):
        raise ValueError(f"{what} contains None; a classifier's targets must be class labels")
    if what == "y" and np.unique(arr, axis=0 if arr.ndim > 1 else None).shape[0] < 2:
        raise ValueError(f"{what} has a single class; a classifier needs at least two")


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
    return np.concatenate([np.asarray(a), np.asarray(b)])
