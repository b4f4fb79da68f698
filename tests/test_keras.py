"""scikeras models: epochs counted by skhpo, promotions as one Keras fit call, end to end."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

keras = pytest.importorskip("keras")
wrappers = pytest.importorskip("scikeras.wrappers")

from compat import fails_on_sklearn_16_with_scikeras  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skhpo import HyperbandSearchCV, SuccessiveHalvingSearchCV  # noqa: E402
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


# A search of tiny Keras models on digits, resumed from one storage file 20 times in one
# process; the test sends it a real SIGINT at a random moment of each run. It reports,
# for each KeyboardInterrupt, where the signal landed and what it had been turned into.
CTRL_C_CHILD = """
import json, sys
import keras
from scikeras.wrappers import KerasClassifier
from sklearn.datasets import load_digits
from skhpo import HyperbandSearchCV

def build(hidden=8, learning_rate=1e-2, meta=None):
    model = keras.Sequential([
        keras.Input((meta["n_features_in_"],)),
        keras.layers.Dense(hidden, activation="relu"),
        keras.layers.Dense(meta["n_classes_"], activation="softmax"),
    ])
    model.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy")
    return model

def landing(exc):
    frames, tb = [], exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code)
        tb = tb.tb_next
    if frames[-1].co_name == "interrupt":  # skhpo's SIGINT handler: where it was called
        frames.pop()
    causes, e = [], exc
    while e.__cause__ or e.__context__:
        e = e.__cause__ or e.__context__
        causes.append(type(e).__name__)
    return {"where": f"{frames[-1].co_filename}:{frames[-1].co_name}", "causes": causes}

X, y = load_digits(return_X_y=True)
X = (X / 16).astype("float32")
db, rounds = sys.argv[1], int(sys.argv[2])
space = {"model__hidden": [4, 8, 16], "model__learning_rate": (1e-3, 1e-1, "log-uniform")}
for i in range(rounds):
    clf = KerasClassifier(build, verbose=0, batch_size=32, random_state=0)
    search = HyperbandSearchCV(clf, space, max_iter=27, random_state=0, storage=db)
    try:
        print("fit", i, flush=True)
        search.fit(X, y)
    except KeyboardInterrupt as exc:
        if i == rounds - 1:
            raise  # the last one reaches the top: the process exits with it
        print("interrupted", json.dumps(landing(exc)), flush=True)
    except BaseException as exc:
        print("error", repr(exc), flush=True)
        raise
    else:
        print("finished", flush=True)
        break
"""


@pytest.mark.slow
@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
def test_ctrl_c_at_random_moments_stops_a_keras_search(tmp_path):
    import queue
    import random
    import signal
    import sqlite3
    import subprocess
    import sys
    import threading
    import time

    from fakes import _stored_steps

    db, rounds = str(tmp_path / "search.db"), 20
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    t0 = time.perf_counter()
    with open(tmp_path / "stderr", "w+") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", CTRL_C_CHILD, db, str(rounds)],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=env,
        )
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x.strip()) for x in proc.stdout]).start()

        def line(timeout):
            try:
                return lines.get(timeout=timeout)
            except queue.Empty:
                return "(nothing)"

        landings, stored = [], []
        try:
            for i in range(rounds):
                assert line(120) == f"fit {i}"
                time.sleep(rng.uniform(0.0, 3.0))
                proc.send_signal(signal.SIGINT)
                if i < rounds - 1:
                    reply = line(30)
                    assert reply.startswith("interrupted "), (seed, i, reply)
                    landings.append(json.loads(reply.removeprefix("interrupted ")))
                    with sqlite3.connect(db) as con:
                        stored.append(con.execute("SELECT COUNT(*) FROM skhpo_steps").fetchone()[0])
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        err.seek(0)
        err = err.read()
    assert proc.returncode != 0 and err.rstrip().endswith("KeyboardInterrupt"), err[-2000:]
    # records kept: the storage only grows, every step once, and each run resumed from it
    assert stored == sorted(stored) and stored[-1] > 0
    steps = _stored_steps(db)
    assert len(set(steps)) == len(steps)
    in_tf = sum("tensorflow" in x["where"] or "keras" in x["where"] for x in landings)
    converted = [x["causes"] for x in landings if x["causes"]]
    swallowed = sum(x["where"].endswith("raise_if_interrupted") for x in landings)
    print(
        f"seed {seed}: {rounds} SIGINTs in {time.perf_counter() - t0:.0f} s; of the first "
        f"{len(landings)}, {in_tf} landed in TensorFlow/Keras code, {len(converted)} were "
        f"turned into another error there ({converted}), {swallowed} were dropped there; "
        f"{stored[-1]} steps stored"
    )


def test_scikeras_rejects_what_the_search_rejects_before_training(digits):
    """Pins the scikeras behaviour the search's check relies on, then checks the search
    rejects the same input before building any model."""
    X, y = digits[0][:100].astype(np.float64), digits[1][:100]
    X[5, 3] = np.nan
    text = X.astype(object)
    text[5, 3] = "red"
    for bad, message in [(X, "Input X contains NaN"), (text, "could not convert string")]:
        with pytest.raises(ValueError, match=message):
            _clf().partial_fit(bad, y, classes=np.arange(10))
    built = []

    def build(meta=None):
        built.append(meta)  # pragma: no cover - must not run
        return build_mlp(meta=meta)  # pragma: no cover

    clf = wrappers.KerasClassifier(build, verbose=0)
    search = HyperbandSearchCV(clf, {"batch_size": [32, 64]}, max_iter=3, random_state=0)
    with pytest.raises(
        ValueError, match=r"X contains NaN \(row 5, column 3\), and KerasClassifier"
    ):
        search.fit(X, y)
    with pytest.raises(ValueError, match="not numbers .*'red'.*KerasClassifier needs numbers"):
        search.fit(text, y)
    assert built == []


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


@pytest.mark.slow
@fails_on_sklearn_16_with_scikeras(ValueError)  # its scorers ask for the wrapper's tags
def test_keras_search_with_several_metrics(digits):
    X, y = digits
    search = SuccessiveHalvingSearchCV(
        _clf(),
        {"model__nunits": [8, 16], "model__learning_rate": (1e-3, 1e-1, "log-uniform")},
        n_initial_parameters=3,
        max_iter=3,
        scoring=["accuracy", "neg_log_loss"],
        refit="neg_log_loss",
        random_state=0,
    ).fit(X[:600], y[:600])
    res = search.cv_results_
    assert res["rank_test_neg_log_loss"][search.best_index_] == 1
    assert search.best_score_ == res["mean_test_neg_log_loss"][search.best_index_] < 0
    assert np.isfinite(res["mean_test_accuracy"]).all()
    for h in search.history_:
        assert h["score"] == h["score_neg_log_loss"] and 0 <= h["score_accuracy"] <= 1
    assert search.score(X[600:], y[600:]) < 0  # the refit metric, on the refitted model


def test_a_keras_checkpoint_is_in_keras_format_and_trains_on_the_same(digits):
    """The Keras model of a checkpoint is a .keras archive (config and weights, loaded in
    Keras' safe mode), the rest a pickle without it; the restored model goes on exactly
    as the original does (weights and optimizer state kept)."""
    import io
    import pickle
    import zipfile

    from skhpo._storage import pack_state, unpack_state
    from skhpo._worker import TrialState

    X, y = digits
    model = _clf().partial_fit(X, y)
    blob = pack_state(TrialState("m", model, model, None, None, {}, epochs=1))
    archive = zipfile.ZipFile(io.BytesIO(blob))
    assert archive.namelist() == ["state.pkl", "model.keras"]
    assert pickle.loads(archive.read("state.pkl")).final.model_ is None
    assert model.model_ is not None  # the live trial keeps its model
    restored = unpack_state(blob).final
    assert isinstance(restored.model_, keras.Model)
    restored.partial_fit(X, y)
    model.partial_fit(X, y)
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))


def test_a_keras_search_resumes_from_a_checkpoint_location(digits, tmp_path, count_keras_fits):
    from skhpo import SearchStorage

    X, y = digits[0][:400], digits[1][:400]
    space = {"model__nunits": [8, 16], "model__learning_rate": (1e-3, 1e-1, "log-uniform")}
    storage = SearchStorage(tmp_path / "keras.db", checkpoints=tmp_path / "checkpoints")
    kw = {"max_iter": 3, "random_state": 0, "storage": storage, "refit": False}
    first = HyperbandSearchCV(_clf(), space, **kw).fit(X, y)
    assert list((tmp_path / "checkpoints" / "default" / "rungs").iterdir())
    n_fits = len(count_keras_fits)
    again = HyperbandSearchCV(_clf(), space, **kw).fit(X, y)
    assert len(count_keras_fits) == n_fits  # nothing trained
    # the best trial's model, read back from its .keras checkpoint in the location
    np.testing.assert_array_equal(
        again.best_estimator_.predict_proba(X[:20]), first.best_estimator_.predict_proba(X[:20])
    )


JAX_SEARCH = """
import json, sys
import jax, keras, numpy as np
from scikeras.wrappers import KerasClassifier
from sklearn.datasets import load_digits
from skhpo import HyperbandSearchCV

events = {}
jax.monitoring.register_event_listener(
    lambda event, **kw: events.__setitem__(event, events.get(event, 0) + 1)
)

def build(nunits=8, meta=None):
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(nunits, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model

X, y = load_digits(return_X_y=True)
search = HyperbandSearchCV(
    KerasClassifier(build, verbose=0, random_state=0, batch_size=64),
    {"model__nunits": [8, 16]}, max_iter=3, random_state=0,
).fit(X[:400] / 16, y[:400])
print(json.dumps({"backend": keras.backend.backend(),
                  "dir": jax.config.jax_compilation_cache_dir,
                  "hits": events.get("/jax/compilation_cache/cache_hits", 0),
                  "misses": events.get("/jax/compilation_cache/cache_misses", 0)}))
"""


def _jax_search(env_extra: dict, tmp_path) -> dict:
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_")}
    env.update(KERAS_BACKEND="jax", XDG_CACHE_HOME=str(tmp_path / "user-cache"), **env_extra)
    proc = subprocess.run(
        [sys.executable, "-c", JAX_SEARCH], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_jax_compilation_cache_is_on_by_default_and_shared_between_processes(tmp_path):
    """With Keras on JAX the trials compile through a persistent cache under the user's
    cache folder: a second process finds there what the first compiled."""
    pytest.importorskip("jax")
    first = _jax_search({}, tmp_path)
    folder = tmp_path / "user-cache" / "skhpo" / "jax"
    assert first["backend"] == "jax" and first["dir"] == str(folder)
    assert first["misses"] > 0 and any(folder.iterdir())
    second = _jax_search({}, tmp_path)
    assert second["hits"] >= first["misses"] > 0 and second["misses"] == 0


@pytest.mark.slow
@pytest.mark.parametrize(
    "setting, expected",
    [("off", None), ("{tmp}/moved", "{tmp}/moved"), ("JAX_COMPILATION_CACHE_DIR", "{tmp}/own")],
)
def test_jax_compilation_cache_can_be_moved_or_turned_off(tmp_path, setting, expected):
    pytest.importorskip("jax")
    if setting == "JAX_COMPILATION_CACHE_DIR":  # the user's own JAX setting wins
        env = {"JAX_COMPILATION_CACHE_DIR": f"{tmp_path}/own"}
    else:
        env = {"SKHPO_JAX_CACHE_DIR": setting.format(tmp=tmp_path)}
    got = _jax_search(env, tmp_path)
    assert got["dir"] == (None if expected is None else expected.format(tmp=tmp_path))
    assert not (tmp_path / "user-cache" / "skhpo").exists()
    if expected is None:
        assert got["hits"] == got["misses"] == 0
