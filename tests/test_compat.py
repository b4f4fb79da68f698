"""The private APIs of other libraries skhpo uses (``skhpo/_compat.py``), and their public
replacements, against the installed libraries: each fails when a library changes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from compat import SKLEARN_16
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.validation import check_consistent_length

from skhpo._data import _n_samples
from skhpo.space import _global_random_state

# -- numpy's global RandomState (space._global_random_state) ------------------------------


def test_global_random_state_is_scikit_learns():
    assert _global_random_state() is check_random_state(None)
    saved = np.random.get_state()  # noqa: NPY002
    try:
        np.random.seed(3)  # noqa: NPY002 - the legacy global state is what is tested
        drawn = _global_random_state().rand(3)
    finally:
        np.random.set_state(saved)  # noqa: NPY002
    np.testing.assert_array_equal(drawn, np.random.RandomState(3).rand(3))


# -- the number of samples (_data._n_samples, for scikit-learn's private _num_samples) ---

ROWS = {
    "array": np.zeros((7, 3)),
    "3-d array": np.zeros((7, 2, 2)),
    "list": [[0, 1]] * 7,
    "tuple": tuple(range(7)),
    "DataFrame": pd.DataFrame({"a": range(7), "b": range(7)}),
    "Series": pd.Series(range(7)),
    "csr": sp.csr_matrix(np.eye(7, 3)),
    "csc": sp.csc_matrix(np.eye(7, 3)),
}


@pytest.mark.parametrize("data", list(ROWS.values()), ids=list(ROWS))
def test_n_samples_is_scikit_learns_count(data):
    n = _n_samples(data)
    assert n == 7
    check_consistent_length(data, np.zeros(n))  # scikit-learn counts the same
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        check_consistent_length(data, np.zeros(n + 1))


@pytest.mark.parametrize("bad", [np.array(5.0), (i for i in range(3)), 3.0])
def test_n_samples_rejects_what_has_no_rows(bad):
    with pytest.raises(TypeError, match="Expected"):
        _n_samples(bad)


# -- scikeras (needs Keras) -----------------------------------------------------------


@pytest.fixture(scope="module")
def scikeras():
    pytest.importorskip("keras")
    return pytest.importorskip("scikeras.wrappers")


def _mlp(meta=None):
    import keras

    model = keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(meta["n_classes_"], activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def _weights(est):
    return [np.asarray(w) for w in est.model_.get_weights()]


def test_scikeras_fit_epochs_is_the_public_warm_start_fit(scikeras, digits):
    """The adapter's one Keras fit is what ``fit(epochs=, initial_epoch=)`` does with
    ``warm_start=True``, except that ``KerasClassifier.fit`` forgets ``classes_``."""
    from skhpo._compat import scikeras_fit_epochs

    X, y = digits[0][:200], digits[1][:200]
    classes = np.arange(10)
    ours, public = (
        scikeras.KerasClassifier(
            _mlp, verbose=0, random_state=0, batch_size=64, warm_start=True
        ).partial_fit(X, y, classes=classes)
        for _ in range(2)
    )
    assert scikeras_fit_epochs(ours, X, y, 3, {"classes": classes})
    public.fit(X, y, epochs=3, initial_epoch=public.current_epoch)
    assert ours.current_epoch == public.current_epoch == 4
    assert len(ours.history_["loss"]) == len(public.history_["loss"]) == 4
    for a, b in zip(_weights(ours), _weights(public), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ours.classes_, classes)
    assert public.classes_ is None


class _ChangedFit:
    """A scikeras wrapper whose private ``_fit`` no longer takes ``warm_start``."""

    def _fit(self, X, y, sample_weight=None, **kwargs):
        return super()._fit(X, y, sample_weight, **kwargs)


def test_scikeras_fit_epochs_falls_back_to_partial_fit(scikeras, digits):
    from skhpo._compat import scikeras_fit_epochs
    from skhpo._worker import fit_epochs

    X, y = digits[0][:200], digits[1][:200]
    changed = type("Changed", (_ChangedFit, scikeras.KerasClassifier), {})
    est = changed(_mlp, verbose=0, random_state=0, batch_size=64)
    assert not scikeras_fit_epochs(est, X, y, 2, {})
    assert est.current_epoch == 0  # trained nothing
    fit_epochs(est, X, y, 3, {"classes": np.arange(10)})  # three partial_fit calls
    assert est.current_epoch == 3


def test_scikeras_estimator_type(scikeras):
    from sklearn.base import BaseEstimator

    from skhpo._compat import scikeras_estimator_type

    clf, reg = scikeras.KerasClassifier(_mlp), scikeras.KerasRegressor(_mlp)
    assert scikeras_estimator_type(clf) == clf._estimator_type == "classifier"
    assert scikeras_estimator_type(reg) == reg._estimator_type == "regressor"
    # a BaseWrapper subclass with neither mixin: the private attribute, or nothing
    declared = type("Declared", (scikeras.BaseWrapper,), {"_estimator_type": "classifier"})
    assert scikeras_estimator_type(declared(_mlp)) == "classifier"
    assert scikeras_estimator_type(scikeras.BaseWrapper(_mlp)) is None
    # why: scikit-learn's public answer does not know scikeras 0.13's wrappers
    if SKLEARN_16:
        with pytest.raises(AttributeError, match="__sklearn_tags__"):
            get_tags(clf)
    else:
        assert get_tags(clf).estimator_type is None
    assert get_tags(BaseEstimator()).estimator_type is None


# each, given a callback: the wrapper's keyword arguments
CALLBACKS = {
    "none": lambda cb: {},
    "empty": lambda cb: {"callbacks": []},
    "callbacks": lambda cb: {"callbacks": [cb]},
    "dict": lambda cb: {"callbacks": {"a": cb}},
    "single": lambda cb: {"callbacks": cb},
    "predict__callbacks": lambda cb: {"predict__callbacks": [cb]},
    "fit__callbacks": lambda cb: {"fit__callbacks": [cb]},
}


@pytest.mark.parametrize("name", list(CALLBACKS))
def test_predict_callbacks_from_public_params(scikeras, digits, name):
    """``_has_predict_callbacks`` reads the parameters; scikeras' private
    ``_predict_callbacks`` (set when the wrapper initializes) agrees."""
    import keras

    from skhpo._worker import _has_predict_callbacks

    kwargs = CALLBACKS[name](keras.callbacks.Callback())
    est = scikeras.KerasClassifier(_mlp, verbose=0, **kwargs)
    answer = _has_predict_callbacks(est)
    est.initialize(digits[0][:20], digits[1][:20])
    assert answer == bool(est._predict_callbacks)
    assert answer == (name not in ("none", "empty", "fit__callbacks"))
