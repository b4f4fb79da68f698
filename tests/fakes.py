"""Fast fake estimators with a known learning curve, for the search-logic tests."""

from __future__ import annotations

import ctypes
import os
import pickle
import sqlite3
import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.linear_model import SGDClassifier

from skhpo.callbacks import SearchCallback


def _stored_steps(path):
    """``(model_id, epochs_before, epochs)`` of the steps an skhpo storage holds: an
    SQLite file, or a checkpoint folder (``checkpoints=``: its step records)."""
    if not os.path.exists(path):  # a checkpoint folder before its first checkpoint
        return []
    if os.path.isdir(path):
        from pathlib import Path

        files = Path(path).glob("*/steps/*/*")
        return [(r.model_id, int(f.name), r.epochs) for f in files for r in _record(f)]
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT record, epochs_before FROM skhpo_steps").fetchall()
    finally:
        db.close()
    return [(r.model_id, b, r.epochs) for r, b in ((pickle.loads(r), b) for r, b in rows)]


def _record(path):
    """The step record in ``path``, as a list; empty while the driver is writing it."""
    try:
        return [pickle.loads(path.read_bytes())]
    except (EOFError, pickle.UnpicklingError):
        return []


_LEAKED: list = []


class CurveClassifier(ClassifierMixin, BaseEstimator):
    """A classifier whose validation score follows a known curve in its parameters.

    ``score = quality - 1 / (1 + epochs)`` where ``quality = -(a - 0.3) ** 2``: models
    improve with epochs and ``a`` near 0.3 is best; with ``peak``, only up to ``peak``
    epochs, after which each epoch takes one back. Each instance counts its
    ``partial_fit`` calls, so resumed models can be told from rebuilt ones. ``fail``
    makes it raise in ``partial_fit`` ("fit"), in scoring ("score"), or return NaN;
    ``fail="exit"`` ends its (dask worker) process in every ``partial_fit``,
    ``fail="segfault"`` crashes it; ``leak`` keeps that many MiB per ``partial_fit``
    in the process for good.
    """

    def __init__(
        self,
        a=0.5,
        b=1,
        fail=None,
        plateau=None,
        sleep=0.0,
        kill_marker=None,
        log=None,
        kill_epoch=1,
        kill_snapshot=None,
        kill_after_stored=0,
        peak=None,
        leak=0,
    ):
        self.a = a
        self.b = b
        self.fail = fail
        self.plateau = plateau
        self.sleep = sleep
        self.kill_marker = kill_marker
        self.log = log
        self.kill_epoch = kill_epoch
        self.kill_snapshot = kill_snapshot
        self.kill_after_stored = kill_after_stored
        self.peak = peak
        self.leak = leak

    def _kill_now(self):
        """Whether this call kills its (dask worker) process: the first model to reach
        epoch ``kill_epoch`` does, once (the marker file is claimed atomically), when the
        storage file ``kill_snapshot`` holds ``kill_after_stored`` steps; the marker gets
        the pid and the steps the storage held then."""
        if self.kill_marker is None or getattr(self, "n_calls_", 0) + 1 < self.kill_epoch:
            return False
        if os.path.exists(self.kill_marker):
            return False
        stored = _stored_steps(self.kill_snapshot) if self.kill_snapshot is not None else []
        if len(stored) < self.kill_after_stored:
            return False
        try:
            fd = os.open(self.kill_marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as f:
            f.write(f"{os.getpid()}\n")
            f.writelines(f"{m} {b} {e}\n" for m, b, e in stored)
        return True

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        if self._kill_now() or self.fail == "exit":
            os._exit(1)
        if self.sleep:
            time.sleep(self.sleep)
        if self.fail == "fit":
            raise RuntimeError("boom in partial_fit")
        if self.fail == "memory":
            raise MemoryError("simulated out of memory")
        if self.fail == "hang":
            while True:  # a trial that never finishes
                time.sleep(0.01)
        if self.fail == "stuck":  # in C code that never returns to Python
            time.sleep(10_000)
        if self.fail == "segfault":
            ctypes.string_at(0)  # reads address 0: SIGSEGV
        if self.leak:  # MiB kept by the process for good, as TensorFlow keeps per model
            _LEAKED.append(np.ones(int(self.leak * 2**20), dtype=np.uint8))
        self.n_calls_ = getattr(self, "n_calls_", 0) + 1
        self.pids_ = getattr(self, "pids_", []) + [os.getpid()]
        if self.log is not None:  # one line per epoch trained: "pid a epoch"
            with open(self.log, "a") as f:
                f.write(f"{os.getpid()} {self.a!r} {self.n_calls_}\n")
        self.classes_ = np.unique(y) if classes is None else np.asarray(classes)
        self.seen_classes_arg_ = classes
        self.n_train_ = len(X)
        self.n_features_in_ = np.shape(X)[1]
        self.sample_weight_len_ = None if sample_weight is None else len(sample_weight)
        return self

    def fit(self, X, y):
        return self.partial_fit(X, y)

    def _quality(self):
        epochs = self.n_calls_
        if self.plateau is not None:
            epochs = min(epochs, self.plateau)
        if self.peak is not None and epochs > self.peak:
            epochs = max(2 * self.peak - epochs, 0)
        return -((self.a - 0.3) ** 2) - 1.0 / (1 + epochs)

    def score(self, X, y):
        if self.fail == "score":
            raise ValueError("boom in score")
        if self.fail == "score-hang":
            time.sleep(3600)
        if self.fail == "nan":
            return float("nan")
        return self._quality()

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def predict_proba(self, X):
        p = np.zeros((len(X), len(self.classes_)))
        p[:, 0] = 1
        return p


class FoldClassifier(CurveClassifier):
    """A :class:`CurveClassifier` whose score depends on the fold it is scored on.

    The first column of ``X`` holds each row's fold number (0, 1, ...; the rows of fold
    ``f`` are scored together); on fold ``f`` the quality peaks at ``a = centers[f]``:
    ``-(a - centers[f]) ** 2 - 1 / (1 + epochs)``. So the best trial on one fold is not
    the best on average.
    """

    def __init__(self, a=0.5, b=1, centers=(0.9, 0.1, 0.1), log=None, fail=None):
        super().__init__(a=a, b=b, log=log, fail=fail)
        self.centers = centers

    def score(self, X, y):
        fold = int(np.asarray(X)[0, 0])
        return -((self.a - self.centers[fold]) ** 2) - 1.0 / (1 + self.n_calls_)


def no_database(path):
    """A dask worker plugin that keeps the worker from opening the SQLite file ``path``,
    as on a machine that cannot see the driver's disk: ``sqlite3.connect`` of it raises
    there, and :func:`database_refusals` counts the attempts (``client.run`` it)."""
    from distributed import WorkerPlugin

    class NoDatabase(WorkerPlugin):
        def setup(self, worker):
            real, refused = sqlite3.connect, os.path.abspath(path)

            def connect(database, *args, **kwargs):
                if refused in os.path.abspath(str(database).removeprefix("file:").split("?")[0]):
                    sqlite3.refused_by_test = database_refusals() + 1
                    raise sqlite3.OperationalError("unable to open database file")
                return real(database, *args, **kwargs)

            sqlite3.connect = connect

    return NoDatabase()


def database_refusals():
    """How many times :func:`no_database` refused to open the file in this process."""
    return getattr(sqlite3, "refused_by_test", 0)


class CountingScaler(TransformerMixin, BaseEstimator):
    """Scales by a factor; counts fits across all instances (class attribute)."""

    fits = 0

    def __init__(self, factor=1.0):
        self.factor = factor

    def fit(self, X, y=None):
        type(self).fits += 1
        self.n_features_in_ = np.shape(X)[1]
        return self

    def transform(self, X):
        return np.asarray(X) * self.factor


class LoggedSGDClassifier(SGDClassifier):
    """scikit-learn's SGDClassifier that logs each epoch it trains.

    When the environment names a file in ``SKHPO_TEST_LOG``, each ``partial_fit`` appends
    ``"pid alpha epoch"`` to it (epoch: this model's count of ``partial_fit`` calls, kept
    in its checkpoints), after sleeping ``SKHPO_TEST_SLEEP`` seconds. The parameters are
    SGDClassifier's, so searching ``alpha`` and cloning work as for the real one.
    """

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        time.sleep(float(os.environ.get("SKHPO_TEST_SLEEP", 0)))
        super().partial_fit(X, y, classes=classes, sample_weight=sample_weight)
        self.n_logged_ = getattr(self, "n_logged_", 0) + 1
        log = os.environ.get("SKHPO_TEST_LOG")
        if log:
            with open(log, "a") as f:
                f.write(f"{os.getpid()} {self.alpha!r} {self.n_logged_}\n")
        return self


def build_tiny_mlp(nunits=8, dropout=0.0, learning_rate=1e-2, meta=None):
    """A one-hidden-layer Keras MLP for scikeras (Keras is imported where it is built)."""
    import keras

    model = keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(nunits, activation="relu"),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(meta["n_classes_"], activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy"
    )
    return model


TINY_MLP_SPACE = {
    "model__nunits": [8, 16, 32, 64],
    "model__dropout": (0.0, 0.5),
    "model__learning_rate": (1e-3, 1e-1, "log-uniform"),
}


def noting_pid(block, path):
    """``block`` unchanged; the pid of the process that computed it is appended to ``path``.

    Empty blocks are dask's meta, computed where the graph is built: not noted.
    """
    if block.size == 0:
        return block
    with open(path, "a") as f:
        f.write(f"{os.getpid()}\n")
    return block


class StopAfter(SearchCallback):
    """A search callback that raises ``exc`` (a Ctrl-C by default) at the ``n``-th score:
    the search stops there, as a killed or interrupted one does."""

    def __init__(self, n, exc=KeyboardInterrupt):
        self.n = n
        self.exc = exc

    def on_trial_scored(self, search, trial, epochs, score):
        self.n -= 1
        if self.n == 0:
            raise self.exc
