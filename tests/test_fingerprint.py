"""Fingerprints: the same in every process for the same thing, different for another."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import loguniform, norm, randint, uniform

from skhpo import HyperbandSearchCV, Real
from skhpo._fingerprint import describe, describe_data, fingerprint
from skhpo.space import Categorical, Integer

HERE = os.path.dirname(os.path.abspath(__file__))


def build(nunits=8, meta=None):
    """A module-level function, as a value and as scikeras' ``model``."""
    import keras

    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(nunits, activation="relu"),
            keras.layers.Dense(meta["n_classes_"], activation="softmax"),
        ]
    )


def other_build(nunits=8, meta=None):
    return build(nunits, meta)


def _scale(k):
    return lambda x: k * x  # a closure: known by its code and the value of k


def _spaces() -> dict:
    """Every form a search space takes; no two entries describe the same space."""
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    return {
        "list": {"a": [1, 2, 3]},
        "list, other values": {"a": [1, 2, 4]},
        "list, other name": {"b": [1, 2, 3]},
        "list of strings": {"a": ["adam", "rmsprop", None, True]},
        "tuple of ints": {"a": (1, 3)},
        "tuple of floats": {"a": (1.0, 3.0)},
        "log-uniform tuple": {"a": (1e-4, 1e-1, "log-uniform")},
        "loguniform": {"alpha": loguniform(1e-5, 1e-1)},
        "loguniform, other bound": {"alpha": loguniform(1e-5, 1e-2)},
        "uniform": {"alpha": uniform(0, 1)},
        "uniform, loc": {"alpha": uniform(0.1, 1)},
        "uniform, keywords": {"alpha": uniform(loc=0, scale=2)},
        "randint": {"n": randint(1, 10)},
        "norm": {"x": norm(0, 1)},
        "norm as a value": {"x": [norm]},
        "Real log": {"a": Real(1e-4, 1e-1, log=True)},
        "Real": {"a": Real(1e-4, 1e-1)},
        "Integer": {"a": Integer(1, 10)},
        "Categorical": {"a": Categorical(["x", "y"])},
        "Integer step": {"a": Integer(8, 64, step=4)},
        "Integer step, other step": {"a": Integer(8, 64, step=8)},
        "Integer log step": {"a": Integer(8, 64, log=True, step=2)},
        "Real step": {"a": Real(0.0, 0.5, step=0.05)},
        "Real log step": {"a": Real(1e-4, 1e-1, log=True, step=10)},
        "tuple step": {"a": (0.0, 0.5, 0.1)},
        "when": {"o": ["sgd", "adam"], "m": Real(0.0, 1.0, when={"o": "sgd"})},
        "when, other value": {"o": ["sgd", "adam"], "m": Real(0.0, 1.0, when={"o": "adam"})},
        "when, n_layers": {
            "n": Integer(1, 3),
            "u1": Integer(8, 64, step=8, when={"n": [2, 3]}),
            "u2": Categorical([8, 16], when={"n": 3}),
        },
        "when, swapped step": {
            "clf": [SVC(), DecisionTreeClassifier()],
            "clf__C": Real(0.1, 10.0, log=True, when={"clf": SVC()}),
        },
        "estimators as values": {"model": [SVC(), DecisionTreeClassifier()]},
        "estimators, other params": {"model": [SVC(C=2.0), DecisionTreeClassifier()]},
        "pipeline as a value": {"model": [make_pipeline(StandardScaler(), SGDClassifier())]},
        "functions": {"f": [math.sqrt, np.tanh, build]},
        "functions, other": {"f": [math.sqrt, np.tanh, other_build]},
        "lambda": {"f": [lambda x: x]},
        "lambda, other body": {"f": [lambda x: 2 * x]},
        "closure": {"f": [_scale(2)]},
        "closure, other value": {"f": [_scale(3)]},
        "class as a value": {"est": [SVC]},
        "list of dicts": [{"a": [1, 2]}, {"b": (0.0, 1.0)}],
        "list of dicts, other": [{"a": [1, 2]}, {"b": (0.0, 2.0)}],
        "nested": {"a": [[1, 2], (3, 4), {"k": {1, 2}}]},
    }


def _data() -> dict:
    import pandas as pd
    from scipy import sparse

    X = np.arange(40.0).reshape(20, 2)
    out = {
        "array": X,
        "array, one value changed": np.where(X == 7.0, 7.5, X),
        "float32 array": X.astype(np.float32),
        "DataFrame": pd.DataFrame(X, columns=["u", "v"]),
        "DataFrame, other names": pd.DataFrame(X, columns=["u", "w"]),
        "list": X.tolist(),
        "sparse": sparse.csr_matrix(X),
    }
    da = pytest.importorskip("dask.array")
    out["dask array"] = da.from_array(X, chunks=(10, 2))
    out["dask array, other chunks"] = da.from_array(X, chunks=(5, 2))
    out["dask ones"] = da.ones((20, 2), chunks=(10, 2))
    return out


def _searches() -> dict:
    """Whole searches: the README-like space on SGDClassifier, and variations."""
    from sklearn.linear_model import SGDClassifier

    space = {"alpha": loguniform(1e-5, 1e-1), "penalty": ["l2", "l1"]}
    X, y = np.arange(40.0).reshape(20, 2), np.arange(20) % 2

    def fp(search, X=X, y=y):
        return search._fingerprint(X, y, None, {})

    return {
        "search": fp(HyperbandSearchCV(SGDClassifier(), space, max_iter=9, random_state=0)),
        "search, other seed": fp(
            HyperbandSearchCV(SGDClassifier(), space, max_iter=9, random_state=1)
        ),
        "search, other estimator": fp(
            HyperbandSearchCV(SGDClassifier(loss="log_loss"), space, max_iter=9, random_state=0)
        ),
        "search, other data": fp(
            HyperbandSearchCV(SGDClassifier(), space, max_iter=9, random_state=0), y=1 - y
        ),
    }


def table() -> dict[str, str]:
    """Name -> fingerprint of every entry, in this process."""
    out = {f"space: {k}": fingerprint(describe(v)) for k, v in _spaces().items()}
    out.update({f"data: {k}": fingerprint(describe_data(v)) for k, v in _data().items()})
    out.update({f"search: {k}": v for k, v in _searches().items()})
    return out


def keras_table() -> dict[str, str]:
    """scikeras estimators (imports Keras: slow)."""
    import keras as K
    from scikeras.wrappers import KerasClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def keras(model=build, **kw):
        return KerasClassifier(model, loss="sparse_categorical_crossentropy", verbose=0, **kw)

    return {
        k: fingerprint(describe(v))
        for k, v in {
            "KerasClassifier": keras(),
            "KerasClassifier, other build": keras(other_build),
            "KerasClassifier, other optimizer": keras(optimizer="adam"),
            "Keras optimizers as values": {"optimizer": [K.optimizers.Adam(1e-3)]},
            "Keras optimizers, other rate": {"optimizer": [K.optimizers.Adam(1e-2)]},
            "Pipeline": make_pipeline(StandardScaler(), keras()),
            "README space": {
                "kerasclassifier__model__nunits": [16, 32, 64, 128],
                "kerasclassifier__model__dropout": (0.0, 0.5),
                "kerasclassifier__optimizer__learning_rate": loguniform(1e-4, 1e-1),
                "standardscaler__with_mean": [True, False],
            },
        }.items()
    }


def _in_fresh_process(what: str) -> tuple[dict[str, str], str]:
    """``what``'s table in a new process, and ``joblib.hash`` of a frozen distribution."""
    code = (
        "import json, joblib, test_fingerprint as t; from scipy.stats import loguniform; "
        f"print(json.dumps([t.{what}(), joblib.hash(loguniform(1e-5, 1e-1))]))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.dirname(HERE), HERE])}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    fingerprints, pickled = json.loads(out.stdout.strip().splitlines()[-1])
    return fingerprints, pickled


def _check(what: str) -> None:
    (first, pickled_1), (second, pickled_2) = _in_fresh_process(what), _in_fresh_process(what)
    # why describe: the pickle of the same distribution differs from process to process
    assert pickled_1 != pickled_2
    assert first == second == globals()[what]()
    # different things, different fingerprints
    by_value: dict[str, list[str]] = {}
    for name, value in first.items():
        by_value.setdefault(value, []).append(name)
    assert [names for names in by_value.values() if len(names) > 1] == []


@pytest.mark.slow
def test_fingerprints_are_the_same_in_every_process():
    _check("table")


@pytest.mark.slow
def test_keras_fingerprints_are_the_same_in_every_process():
    pytest.importorskip("scikeras")
    import keras

    # Keras names objects from a per-process counter ("adam_2"): make this process's
    # counters differ from the fresh processes'
    keras.optimizers.Adam(), keras.optimizers.Adam()
    _check("keras_table")


def test_one_space_written_two_ways_is_one_search():
    from sklearn.linear_model import SGDClassifier

    X, y = np.arange(40.0).reshape(20, 2), np.arange(20) % 2

    def fp(space, **kw):
        return HyperbandSearchCV(SGDClassifier(), space, **kw)._fingerprint(X, y, None, {})

    assert fp({"alpha": (0.0, 1.0)}) == fp({"alpha": Real(0.0, 1.0)})
    assert fp({"alpha": [1, 2]}) == fp({"alpha": Categorical([1, 2])})
    # what does not change the results does not change the fingerprint
    assert fp({"alpha": [1, 2]}) == fp({"alpha": [1, 2]}, verbose=2, prefix="x")
    assert fp({"alpha": [1, 2]}) != fp({"alpha": [1, 2]}, max_iter=9)
    assert fp({"alpha": (0.0, 0.5, 0.1)}) == fp({"alpha": Real(0.0, 0.5, step=0.1)})
    assert fp({"n": (1, 9, 1)}) == fp({"n": Integer(1, 9)})  # step 1: every integer


def test_a_dimension_without_step_describes_as_before():
    # storages made before step= existed still bind: no step entry unless one is given
    assert describe(Integer(1, 9)) == ["skhpo.space.Integer", 1, 9, False]
    assert describe(Real(0.0, 1.0, step=0.5))[-1] == ["step", 0.5]


def test_dask_collections_are_not_computed():
    da = pytest.importorskip("dask.array")
    computed = []

    def f(block):
        computed.append(block.shape)
        return block

    x = da.ones((20, 2), chunks=(10, 2)).map_blocks(f)
    computed.clear()  # map_blocks ran f on empty blocks for the meta
    assert describe_data(x) == describe_data(x)
    assert computed == []


def test_cycles_and_unknown_objects():
    class Plain:
        def __init__(self):
            self.me = self
            self.n = 1

    a = describe(Plain())
    assert a == describe(Plain())
    assert a[0] == "object" and a[2][1][0][1][0] == "cycle"
    loop: list = [1]
    loop.append(loop)
    assert describe(loop) == ["list", [1, ["cycle", "builtins.list"]]]
