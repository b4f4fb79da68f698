"""scikeras models: epochs counted by skhpo, promotions as one Keras fit call, end to end."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
wrappers = pytest.importorskip("scikeras.wrappers")

from compat import fails_on_sklearn_16_with_scikeras  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skhpo import HyperbandSearchCV  # noqa: E402
from skhpo._worker import fit_epochs  # noqa: E402


def build_mlp(nunits=16, dropout=0.0, learning_rate=1e-2, meta=None):
    n_features = meta["n_features_in_"] if meta else 64
    n_classes = meta["n_classes_"] if meta else 10
    model = keras.Sequential(
        [
            keras.Input((n_features,)),
            keras.layers.Dense(nunits, activation="relu"),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(n_classes, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
    )
    return model


def _clf(**kw):
    kw.setdefault("batch_size", 64)
    return wrappers.KerasClassifier(build_mlp, verbose=0, random_state=0, **kw)


@pytest.fixture
def count_keras_fits(monkeypatch):
    calls = []
    original = keras.Model.fit

    def fit(self, *args, **kwargs):
        calls.append((kwargs.get("initial_epoch", 0), kwargs.get("epochs")))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", fit)
    return calls


def test_fit_epochs_is_one_keras_fit_and_counts_like_partial_fit(digits, count_keras_fits):
    """Pins the scikeras behaviour skhpo relies on: fails when scikeras changes it."""
    X, y = digits[0][:300], digits[1][:300]
    est = _clf()
    fit_epochs(est, X, y, 1, {"classes": np.arange(10)})
    assert est.current_epoch == 1
    fit_epochs(est, X, y, 3, {})
    assert est.current_epoch == 4
    assert len(est.history_["loss"]) == 4
    # one Keras fit call for the three epochs, resuming at epoch 1
    assert count_keras_fits == [(0, 1), (1, 4)]
    est.partial_fit(X, y)
    assert est.current_epoch == 5
    np.testing.assert_array_equal(est.classes_, np.arange(10))


def test_fit_epochs_first_call_of_several_epochs(digits, count_keras_fits):
    X, y = digits[0][:300], digits[1][:300]
    est = _clf()
    fit_epochs(est, X, y, 3, {"classes": np.arange(10)})
    assert est.current_epoch == 3
    assert count_keras_fits == [(0, 3)]
    assert est.predict(X[:5]).shape == (5,)


@fails_on_sklearn_16_with_scikeras(AttributeError)
def test_keras_pipeline_search_end_to_end(digits, count_keras_fits):
    X, y = digits
    pipe = make_pipeline(StandardScaler(), _clf())
    space = {
        "kerasclassifier__model__nunits": [8, 16, 32],
        "kerasclassifier__model__dropout": (0.0, 0.5),
        "kerasclassifier__model__learning_rate": (1e-3, 1e-1, "log-uniform"),
        "standardscaler__with_mean": [True, False],
    }
    search = HyperbandSearchCV(pipe, space, max_iter=9, random_state=0)
    search.fit(X[:1000], y[:1000])
    res = search.cv_results_
    assert len(res["params"]) == 17
    # one Keras fit call per task: 17 first rungs + promotions (3+1 in s=2, 1 in s=1)
    assert len(count_keras_fits) == 17 + 4 + 1
    assert res["partial_fit_calls"].sum() == search.metadata["partial_fit_calls"] == 69
    best = search.best_estimator_
    assert best[-1].current_epoch == res["partial_fit_calls"][search.best_index_]
    assert search.best_score_ > 0.8
    assert (search.predict(X[1000:]) == y[1000:]).mean() > 0.8
    assert search.predict_proba(X[:3]).shape == (3, 10)


def test_keras_search_resumes_from_storage(digits, tmp_path, count_keras_fits):
    X, y = digits[0][:400], digits[1][:400]
    space = {"model__nunits": [8, 16], "model__learning_rate": (1e-3, 1e-1, "log-uniform")}
    db = str(tmp_path / "keras.db")
    first = HyperbandSearchCV(_clf(), space, max_iter=3, random_state=0, storage=db).fit(X, y)
    n_fits = len(count_keras_fits)
    again = HyperbandSearchCV(_clf(), space, max_iter=3, random_state=0, storage=db).fit(X, y)
    assert len(count_keras_fits) == n_fits  # nothing trained: every rung was stored
    np.testing.assert_array_equal(again.cv_results_["test_score"], first.cv_results_["test_score"])
    # the best model came back from its checkpoint, weights and all
    np.testing.assert_allclose(
        again.best_estimator_.predict_proba(X[:20]), first.best_estimator_.predict_proba(X[:20])
    )


class EpochCounter(keras.callbacks.Callback):
    """A user's Keras callback: counts the epochs it sees and keeps their logs."""

    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append((epoch, dict(logs or {})))


@pytest.mark.parametrize("how", ["callbacks", "fit__callbacks"])
def test_user_keras_callbacks_run_inside_trials(digits, how):
    X, y = digits[0][:400], digits[1][:400]
    est = _clf(**{how: [EpochCounter()]})
    space = {"model__nunits": [8, 16]}
    search = HyperbandSearchCV(est, space, max_iter=3, random_state=0).fit(X, y)
    best = search.best_estimator_
    counter = best.get_params()[how][0]
    epochs = search.cv_results_["partial_fit_calls"][search.best_index_]
    # each trial has its own copy; the best one saw every epoch of its model, in order,
    # with Keras' per-epoch logs
    assert [e for e, _ in counter.epochs] == list(range(epochs))
    assert "loss" in counter.epochs[-1][1]
    assert list(best.history_["loss"]) == [logs["loss"] for _, logs in counter.epochs]


@pytest.fixture
def count_keras_predicts(monkeypatch):
    calls = []
    original = keras.Model.predict

    def predict(self, x, *args, **kwargs):
        calls.append(len(x))
        return original(self, x, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "predict", predict)
    return calls


def _reg(**kw):
    def build(meta=None):
        return keras.Sequential(
            [keras.Input((meta["n_features_in_"],)), keras.layers.Dense(8), keras.layers.Dense(1)]
        )

    return wrappers.KerasRegressor(build, loss="mse", verbose=0, random_state=0, **kw)


@pytest.mark.parametrize(
    "make, scoring, batch_size, n_val",
    [
        (_clf, "accuracy", 64, 300),  # 5 batches, the last one short
        (_clf, "accuracy", 7, 300),  # 43 small batches
        (_clf, "neg_log_loss", 64, 300),  # predict_proba
        (_reg, "r2", 32, 300),
        (_reg, "neg_mean_squared_error", 32, 1),
    ],
)
@fails_on_sklearn_16_with_scikeras(AttributeError)
def test_validation_scores_call_the_keras_model_directly(
    digits, count_keras_predicts, make, scoring, batch_size, n_val
):
    """Scoring in a trial skips Model.predict and gives exactly the scores predict gives."""
    from sklearn.metrics import check_scoring

    from skhpo._worker import _direct_predict

    X, y = digits[0][:600], digits[1][:600]
    X_val, y_val = digits[0][600 : 600 + n_val], digits[1][600 : 600 + n_val]
    est = make(batch_size=batch_size)
    est.fit(X, y.astype(np.float32) if make is _reg else y)
    scorer = check_scoring(est, scoring=scoring)
    with _direct_predict(est):
        direct = scorer(est, X_val, y_val)
        predicted = est.predict(X_val)
    assert count_keras_predicts == []
    assert "predict" not in vars(est.model_)  # the Keras model is left as it was
    assert direct == scorer(est, X_val, y_val)
    np.testing.assert_array_equal(predicted, est.predict(X_val))
    assert len(count_keras_predicts) == 2


def test_validation_scoring_keeps_keras_predict_where_it_pays(digits, count_keras_predicts):
    from skhpo._worker import _DIRECT_PREDICT_MAX_BATCHES, _direct_predict

    X, y = digits
    est = _clf(batch_size=8).fit(X[:200], y[:200])
    n_many = 8 * _DIRECT_PREDICT_MAX_BATCHES + 1
    with _direct_predict(est):
        est.predict(X[:n_many])  # too many batches: Keras' compiled predict
        est.predict(X[: n_many - 1])
    assert count_keras_predicts == [n_many]
    # the JAX backend compiles Model.predict once, and its op-by-op calls cost more: kept
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(keras.backend, "backend", lambda: "jax")
        with _direct_predict(est):
            est.predict(X[:10])
    assert count_keras_predicts == [n_many, 10]
    # predict callbacks run only inside Model.predict: kept
    est = _clf(predict__callbacks=[keras.callbacks.Callback()]).fit(X[:200], y[:200])
    with _direct_predict(est):
        est.predict(X[:12])
    assert count_keras_predicts == [n_many, 10, 12]


def test_search_scores_trials_without_model_predict(digits, count_keras_predicts):
    X, y = digits[0][:500], digits[1][:500]
    search = HyperbandSearchCV(_clf(), {"model__nunits": [8, 16]}, max_iter=3, random_state=0)
    search.fit(X, y)
    assert count_keras_predicts == []
    assert search.best_score_ > 0.5
    search.predict(X[:10])  # the user's own predictions go through Keras' predict
    assert count_keras_predicts == [10]


class _TagsFailAsOnSklearn16(wrappers.KerasClassifier):
    """A KerasClassifier whose scikit-learn tags fail as scikeras 0.13's do on 1.6.x."""

    def __sklearn_tags__(self):
        raise AttributeError("'super' object has no attribute '__sklearn_tags__'")


def test_scikeras_wrappers_are_recognised_without_their_tags(digits):
    """scikit-learn 1.6's get_tags fails on scikeras 0.13 wrappers; skhpo does not ask it."""
    from sklearn.base import is_classifier, is_regressor

    from skhpo import BayesSearchCV

    X, y = digits[0][:300], digits[1][:300]
    est = _TagsFailAsOnSklearn16(build_mlp, verbose=0, random_state=0, batch_size=64)
    search = HyperbandSearchCV(est, {"model__nunits": [8, 16]}, max_iter=2, random_state=0)
    assert is_classifier(search)
    search.fit(X, y)
    assert set(search.cv_results_["state"]) == {"completed"}
    # classes were passed to partial_fit, and the hold-out split was stratified
    np.testing.assert_array_equal(search.classes_, np.arange(10))
    assert is_classifier(HyperbandSearchCV(make_pipeline(StandardScaler(), est), {}))
    # scikeras' own wrappers: from scikit-learn 1.7 their tags say no type at all
    assert is_regressor(HyperbandSearchCV(wrappers.KerasRegressor(build_mlp), {}))
    # BayesSearchCV is a BaseSearchCV, which calls is_classifier itself: a clear error
    with pytest.raises(TypeError, match="cannot read the tags of _TagsFailAsOnSklearn16"):
        BayesSearchCV(est, {"model__nunits": [8, 16]}, n_iter=1, cv=2).fit(X, y)
