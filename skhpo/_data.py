"""The data of an epoch-budget search: checked before any training, and split.

:func:`check_data` raises on what would fail every trial (shapes, targets, values the
estimator rejects) and holds out the validation part; :class:`SplitData` is the result,
which also puts the training and validation data together again for the refit.
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass
from numbers import Integral
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.model_selection import StratifiedKFold, check_cv, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array

from ._input_check import input_check
from ._worker import DaskBlocks, is_dask_collection
from ._worker import final_step as _final_step
from ._worker import is_classifier_estimator as _is_classifier
from .exceptions import SkhpoWarning

__all__ = ["DEFAULT_TEST_SIZE", "SplitData", "check_data"]

DEFAULT_TEST_SIZE = 0.2


@dataclass(frozen=True)
class SplitData:
    """The data of one search: as ``fit`` was given it, and split for the trials.

    ``fit_params`` go with the training part (values with one entry per sample cut to
    its rows, ``classes`` added for a classifier whose ``partial_fit`` takes it);
    ``all_fit_params`` go with all the data (the refit). With dask collections,
    ``X_train`` (and ``X_val``, unless ``validation_data`` is in memory) are
    :class:`~skhpo._worker.DaskBlocks` and ``y_train`` (``y_val``) None. With ``cv``,
    ``folds`` holds the ``(train, test)`` row indices of each fold, ``X_train`` and
    ``y_train`` are all of ``X`` and ``y``, ``X_val`` and ``y_val`` None, and
    ``fit_params`` are cut to each fold's rows by the tasks.
    """

    X: Any
    y: Any
    validation_data: tuple | None
    X_train: Any
    y_train: Any
    X_val: Any
    y_val: Any
    fit_params: dict
    all_fit_params: dict
    folds: tuple | None = None

    def refit_data(self) -> tuple[Any, Any]:
        """What the refit trains on: ``(X, y)``, or the training and validation data
        together when ``validation_data`` was given."""
        if isinstance(self.X_train, DaskBlocks):
            return _dask_refit_data(self.X_train, self.validation_data), None
        if self.validation_data is None:
            return self.X, self.y
        return _concat(self.X_train, self.X_val), _concat(self.y_train, self.y_val)


def check_data(
    estimator: Any,
    X: Any,
    y: Any,
    validation_data: tuple | None,
    fit_params: dict,
    *,
    test_size: float | None,
    random_state: Any,
    cv: Any = None,
) -> SplitData:
    """Check ``fit``'s data for ``estimator``, and split it (see :class:`SplitData`).

    Without ``validation_data``, ``test_size`` (``DEFAULT_TEST_SIZE`` when None) of the
    rows are held out, stratified for classifiers, with a seed drawn from
    ``random_state``. With ``cv`` (not None), the rows are split into folds as
    scikit-learn's ``check_cv(cv, y, classifier=...)`` splits them.
    """
    if X is None:
        raise ValueError("X is None; fit needs training data")
    dask_input = is_dask_collection(X) or is_dask_collection(y)
    if cv is not None:
        return _check_folds(estimator, X, y, validation_data, fit_params, test_size, cv, dask_input)
    check = _check_dask if dask_input else _check_in_memory
    parts = check(estimator, X, y, validation_data, fit_params, test_size, random_state)
    return SplitData(X, y, validation_data, *parts)


def _checked_in_memory(estimator, X, y, validation_data, fit_params) -> tuple:
    """The checks of in-memory training data: ``(X, y, validation_data, fit_params,
    check_values)``, indexable, with ``classes`` added for a classifier that takes it."""
    X, y = _indexable(X), _indexable(y)
    if validation_data is not None and isinstance(validation_data, tuple | list):
        validation_data = tuple(_indexable(v) for v in validation_data)
    _check_training_shapes(X, y)
    classifier = _is_classifier(estimator)
    if classifier:
        _check_classification_target(y, "y")
    check_values = input_check(estimator)
    check_values(X, "X")
    fit_params = dict(fit_params)
    if classifier and "classes" not in fit_params and _takes_classes(estimator):
        labels = y if validation_data is None else _concat(y, validation_data[1])
        fit_params["classes"] = np.unique(np.asarray(labels))
    return X, y, validation_data, fit_params, check_values


def _check_in_memory(estimator, X, y, validation_data, fit_params, test_size, random_state):
    """:func:`check_data` for in-memory data: ``(X_train, y_train, X_val, y_val,
    fit_params, all_fit_params)``."""
    X, y, validation_data, fit_params, check_values = _checked_in_memory(
        estimator, X, y, validation_data, fit_params
    )
    classifier = _is_classifier(estimator)
    if validation_data is None:
        return _hold_out(X, y, fit_params, classifier, test_size, random_state)
    X_val, y_val = _validation_pair(validation_data, np.shape(X), test_size)
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


def _check_folds(estimator, X, y, validation_data, fit_params, test_size, cv, dask_input):
    """:func:`check_data` with ``cv``: the checks of in-memory data, then the folds.

    A classifier's folds are checked before any training: with stratified folds, ``cv``
    may not exceed the members of the smallest class, and every fold's training rows
    must hold every class.
    """
    if dask_input:
        raise ValueError(
            "cv is not supported with dask collections (they are trained block by block "
            "and never gathered): compute them into memory, or leave cv=None to hold out "
            "test_size of each block"
        )
    if validation_data is not None:
        raise ValueError("Give either validation_data or cv, not both")
    if test_size is not None:
        raise ValueError(
            "Give either test_size or cv, not both: cv scores every trial on its folds"
        )
    X, y, _, fit_params, _ = _checked_in_memory(estimator, X, y, None, fit_params)
    classifier = _is_classifier(estimator)
    splitter = check_cv(cv, y, classifier=classifier)
    labels = np.asarray(y) if classifier and y is not None and np.ndim(y) == 1 else None
    n_splits = splitter.get_n_splits(X, y)
    if labels is not None and isinstance(splitter, StratifiedKFold):
        values, counts = np.unique(labels, return_counts=True)
        if n_splits > counts.min():
            raise ValueError(
                f"cv={n_splits} folds, but class {values[counts.argmin()].item()!r} has only "
                f"{counts.min()} member{'s' if counts.min() > 1 else ''}: stratified folds "
                "need at least as many members of each class as folds. Lower cv, or give "
                "a splitter (cv=KFold(...)) or the folds' indices."
            )
    folds = tuple((np.asarray(tr), np.asarray(te)) for tr, te in splitter.split(X, y))
    if len(folds) < 2:
        raise ValueError(f"cv must give at least 2 folds, got {len(folds)}")
    if labels is not None:
        every = np.unique(labels)
        for f, (train, _) in enumerate(folds):
            missing = np.setdiff1d(every, labels[train])
            if len(missing):
                raise ValueError(
                    f"The training rows of fold {f} have no samples of class "
                    f"{missing[0].item()!r}; a model never trained on a class cannot predict it. "
                    "Use stratified folds (cv=int) or fewer folds."
                )
    return SplitData(X, y, None, X, y, None, None, fit_params, fit_params, folds)


def _check_training_shapes(X: Any, y: Any) -> None:
    if getattr(X, "ndim", 2) < 2:
        raise ValueError(
            f"X must have at least 2 dimensions (n_samples, n_features), got shape "
            f"{np.shape(X)}; reshape a single feature with X.reshape(-1, 1)"
        )
    _check_X(X)
    n = _n_samples(X)
    if y is not None and _n_samples(y) != n:
        raise ValueError(f"X and y have different numbers of samples: {n} and {_n_samples(y)}")


def _hold_out(X, y, fit_params, classifier, test_size, random_state) -> tuple:
    """Hold out ``test_size`` of the rows of in-memory data (stratified for classifiers,
    when the classes allow it); cut the per-sample fit parameters to the training rows."""
    test_size = DEFAULT_TEST_SIZE if test_size is None else test_size
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    n = _n_samples(X)
    indices = np.arange(n)
    stratify = y if classifier else None
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
            stacklevel=5,  # fit's caller (past _check_in_memory, check_data, fit)
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


def _validation_pair(validation_data: Any, shape: tuple, test_size: Any) -> tuple[Any, Any]:
    """``(X_val, y_val)``, checked against ``test_size`` and ``X``'s ``shape``."""
    if test_size is not None:
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


def _check_dask(estimator, X, y, validation_data, fit_params, test_size, random_state):
    """:func:`check_data` for dask collections: shapes from metadata, nothing gathered.

    The training data stays a dask array, trained on block by block; the hold-out
    rows are drawn within each block (not stratified); only the labels are computed,
    through dask, to find the classes when ``classes`` is not given.
    """
    if isinstance(estimator, Pipeline) and len(estimator.steps) > 1:
        raise ValueError(
            "dask collections are trained block by block, so a Pipeline's "
            "pre-processing steps cannot be fitted on them: search the final "
            "estimator, on data pre-processed with dask (dask-ml has scalers)"
        )
    X, y = _dask_training_arrays(X, y)
    for name, value in fit_params.items():
        if is_dask_collection(value) or (name != "classes" and hasattr(value, "__len__")):
            raise ValueError(
                f"fit parameter {name!r}: with dask collections only parameters that "
                "are the same for every block (such as classes) can be passed"
            )
    fit_params = dict(fit_params)
    if _is_classifier(estimator):
        if y is None:
            raise ValueError("A classifier needs targets, and y is None")
        if "classes" not in fit_params and _takes_classes(estimator):
            import dask.array as da

            labels = da.unique(y).compute()
            if len(labels) < 2:
                raise ValueError("y has a single class; a classifier needs at least two")
            fit_params["classes"] = labels
    if validation_data is not None:
        X_val, y_val = _validation_pair(validation_data, np.shape(X), test_size)
        if is_dask_collection(X_val) or is_dask_collection(y_val):
            X_val = DaskBlocks(
                _as_dask_array(X_val, "X_val"), _as_dask_array(y_val, "y_val", like=X_val)
            )
            y_val = None
        return DaskBlocks(X, y), None, X_val, y_val, fit_params, fit_params
    test_size = DEFAULT_TEST_SIZE if test_size is None else test_size
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    train = DaskBlocks(X, y, test_size=test_size, seed=seed, part="train")
    val = DaskBlocks(X, y, test_size=test_size, seed=seed, part="validation")
    return train, None, val, None, fit_params, fit_params


def _dask_training_arrays(X: Any, y: Any) -> tuple[Any, Any]:
    """``X`` and ``y`` as dask arrays in the same blocks of rows (checked on metadata)."""
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
    return X, y


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
