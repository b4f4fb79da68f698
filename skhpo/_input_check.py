"""Checks of the values of ``X`` before any training: what the estimator would reject.

Only what can be told before training is checked (see :func:`input_check`); the trials of
anything else fail, and their error says why.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags

from ._worker import _is_scikeras
from ._worker import final_step as _final_step

__all__ = ["input_check"]


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


def input_check(estimator: Any):
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
