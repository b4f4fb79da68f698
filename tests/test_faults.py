"""Trial faults: each failing trial is recorded, the search completes, the others are intact."""

from __future__ import annotations

import os
import signal
import threading
import time
import traceback
import warnings

import numpy as np
import pytest
from fakes import CurveClassifier, _stored_steps
from sklearn.base import BaseEstimator, ClassifierMixin

from skhpo import HyperbandSearchCV
from skhpo._records import error_line
from skhpo._worker import _deadline
from skhpo.exceptions import TrialFailedWarning, TrialTimeoutError


class BadParam(ClassifierMixin, BaseEstimator):
    """Raises when the search sets ``bad=True``: a failure at build time."""

    def __init__(self, a=0.5, bad=False):
        self.a = a
        self.bad = bad

    def set_params(self, **params):
        if params.get("bad"):
            raise RuntimeError("boom at build")
        return super().set_params(**params)

    def fit(self, X, y):
        return self

    def partial_fit(self, X, y, classes=None):
        self.classes_ = classes
        return self

    def score(self, X, y):
        return -abs(self.a - 0.3)


def _run(space, estimator=None, **kw):
    kw.setdefault("max_iter", 9)
    kw.setdefault("random_state", 0)
    est = CurveClassifier() if estimator is None else estimator
    rng = np.random.RandomState(0)
    X, y = rng.rand(90, 3), np.arange(90) % 3
    with pytest.warns(TrialFailedWarning):
        return HyperbandSearchCV(est, space, **kw).fit(X, y)


def _curve_scores(res):
    """What CurveClassifier scores each trial at the epochs it trained, had nothing failed."""
    a = np.array([p["a"] for p in res["params"]])
    return -((a - 0.3) ** 2) - 1.0 / (1 + res["partial_fit_calls"])


# (name, space entry that makes some trials fail, error text)
FAULTS = [
    ("partial_fit raises", {"fail": [None, None, "fit"]}, "boom in partial_fit"),
    ("scoring raises", {"fail": [None, None, "score"]}, "boom in score"),
    ("out of memory", {"fail": [None, None, "memory"]}, "MemoryError"),
    ("hangs in partial_fit", {"fail": [None, None, "hang"]}, "TrialTimeoutError"),
    ("hangs in scoring", {"fail": [None, None, "score-hang"]}, "TrialTimeoutError"),
]


@pytest.mark.parametrize(("name", "fault", "text"), FAULTS, ids=[f[0] for f in FAULTS])
def test_a_fault_fails_one_trial_and_nothing_else(name, fault, text):
    space = {"a": (0.0, 1.0), **fault}
    t0 = time.perf_counter()
    search = _run(space, timeout=0.5)
    assert time.perf_counter() - t0 < 30
    res = search.cv_results_
    bad = np.array([p["fail"] is not None for p in res["params"]])
    assert bad.any() and (~bad).any()
    assert (res["state"][bad] == "failed").all()
    assert all(text in e for e in res["error"][bad])
    assert np.isnan(res["test_score"][bad]).all()
    assert set(res["state"][~bad]) <= {"completed", "pruned"}
    # the other trials are intact: trained as planned, scored on their curve
    np.testing.assert_allclose(res["test_score"][~bad], _curve_scores(res)[~bad])
    assert len(res["params"]) == 17  # every trial accounted for
    assert res["params"][search.best_index_]["fail"] is None


def test_a_fault_at_build_time():
    space = {"a": (0.0, 1.0), "bad": [False, True]}
    search = _run(space, estimator=BadParam())
    res = search.cv_results_
    bad = np.array([p["bad"] for p in res["params"]])
    assert (res["state"][bad] == "failed").all() and (res["partial_fit_calls"][bad] == 0).all()
    assert all("boom at build" in e for e in res["error"][bad])
    assert (res["state"][~bad] != "failed").all()
    a = np.array([p["a"] for p in res["params"]])
    np.testing.assert_allclose(res["test_score"][~bad], -abs(a[~bad] - 0.3))


def test_nan_scores_rank_last_and_are_not_promoted():
    space = {"a": (0.0, 1.0), "fail": [None, "nan"]}
    rng = np.random.RandomState(0)
    X, y = rng.rand(90, 3), np.arange(90) % 3
    search = HyperbandSearchCV(CurveClassifier(), space, max_iter=9, random_state=0).fit(X, y)
    res = search.cv_results_
    nan = np.array([p["fail"] == "nan" for p in res["params"]])
    assert (res["rank_test_score"][nan] > res["rank_test_score"][~nan].max()).all()
    assert (res["state"][nan] == "pruned").all()


def test_timeout_counts_the_whole_trial():
    # each epoch sleeps 0.05 s: a 0.3 s budget stops the 9-epoch trials, not the 1-epoch ones
    rng = np.random.RandomState(0)
    X, y = rng.rand(60, 3), np.arange(60) % 3
    est = CurveClassifier(sleep=0.05)
    with pytest.warns(TrialFailedWarning):
        search = HyperbandSearchCV(
            est, {"a": (0.0, 1.0)}, max_iter=9, random_state=0, timeout=0.3
        ).fit(X, y)
    res = search.cv_results_
    failed = res["state"] == "failed"
    assert failed.any() and (~failed).any()
    assert all("exceeded timeout=0.3" in e for e in res["error"][failed])
    # the 1-epoch first rung of bracket 2 fits in the budget
    assert not failed[res["bracket"] == 2].all()


class InterruptedOnce(CurveClassifier):
    """Sends itself a real SIGINT at the ``at``-th ``partial_fit`` call (of all instances),
    and handles the ``KeyboardInterrupt`` as C code under TensorFlow may: turns it into
    another error ("converted") or drops it and goes on ("swallowed")."""

    calls = 0

    def __init__(self, a=0.5, how="converted", at=5):
        super().__init__(a=a)
        self.how = how
        self.at = at

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        type(self).calls += 1
        if type(self).calls == self.at:
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(1)  # the handler raises in here
            except KeyboardInterrupt:
                if self.how == "converted":
                    raise SystemError("bad argument to internal function") from None
        return super().partial_fit(X, y, classes=classes)


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name == "nt", reason="POSIX signals")
@pytest.mark.parametrize("how", ["converted", "swallowed"])
def test_ctrl_c_stops_the_search_however_it_surfaces(tmp_path, small_xy, how):
    db = str(tmp_path / "search.db")
    InterruptedOnce.calls = 0
    search = HyperbandSearchCV(
        InterruptedOnce(how=how), {"a": (0.0, 1.0)}, max_iter=9, random_state=0, storage=db
    )
    with pytest.raises(KeyboardInterrupt):
        search.fit(*small_xy)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    stored = _stored_steps(db)
    assert len(stored) == 4  # the four tasks before the interrupted one, each one epoch
    # the same search resumes from the storage, trains what was left, and nothing failed
    search.fit(*small_xy)
    res = search.cv_results_
    assert len(res["params"]) == 17 and not (res["state"] == "failed").any()
    clean = HyperbandSearchCV(CurveClassifier(), {"a": (0.0, 1.0)}, max_iter=9, random_state=0)
    assert search.search_stats_["n_tasks"] == clean.fit(*small_xy).search_stats_["n_tasks"] - 4


def _formatted(exc: BaseException) -> str:
    try:
        raise exc
    except BaseException as raised:
        return "".join(traceback.format_exception(raised)).rstrip()


def _chained() -> str:
    try:
        try:
            raise KeyError("inner")
        except KeyError as exc:
            raise RuntimeError("outer") from exc
    except RuntimeError as exc:
        return "".join(traceback.format_exception(exc))


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            _formatted(ValueError("Input X contains NaN.\nSGDClassifier does not...")),
            "ValueError: Input X contains NaN.",
        ),
        (_chained(), "RuntimeError: outer"),
        (_formatted(MemoryError()), "MemoryError"),
        (_formatted(ValueError("x" * 500)), "ValueError: " + "x" * 185 + "..."),
        ("not a traceback\nsecond line", "not a traceback"),
    ],
    ids=["several lines", "chained", "no message", "long", "no frames"],
)
def test_error_line_names_the_last_exception(error, line):
    assert error_line(error) == line


def test_all_trials_failed_is_one_error_that_names_the_cause(small_xy, caplog):
    space = {"a": (0.0, 1.0), "fail": ["fit"]}
    search = HyperbandSearchCV(CurveClassifier(), space, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no TrialFailedWarning besides the error
        with pytest.raises(ValueError) as info:
            search.fit(*small_xy)
    message = str(info.value)
    assert message.startswith("All 5 trials failed with RuntimeError: boom in partial_fit. ")
    assert "Traceback" not in message
    cause = str(info.value.__cause__)  # the first trial's traceback, once
    assert cause.startswith("trial bracket=1-0 failed:\nTraceback (most recent call last):")
    assert cause.count("RuntimeError: boom in partial_fit") == 1
    errors = search.cv_results_["error"]
    assert len(errors) == 5 and all(e.startswith("Traceback") for e in errors)
    # verbose=0: one line per failed trial, no traceback
    failures = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert failures == [
        f"trial {m} failed: RuntimeError: boom in partial_fit"
        for m in search.cv_results_["model_id"]
    ]


def test_trials_failing_in_several_ways_are_counted(small_xy):
    space = {"a": (0.0, 1.0), "fail": ["fit", "memory"]}
    search = HyperbandSearchCV(CurveClassifier(), space, max_iter=9, random_state=0)
    with pytest.raises(ValueError) as info:
        search.fit(*small_xy)
    fails = [p["fail"] for p in search.cv_results_["params"]]
    n_fit, n_memory = fails.count("fit"), fails.count("memory")
    (n1, e1), (n2, e2) = sorted(
        [
            (n_fit, "RuntimeError: boom in partial_fit"),
            (n_memory, "MemoryError: simulated out of memory"),
        ],
        reverse=True,
    )
    assert str(info.value).startswith(
        f"All 17 trials failed in 2 ways: {n1} with {e1}; {n2} with {e2}. "
    )


def test_a_failed_trial_is_one_line_unless_verbose(small_xy, caplog):
    space = {"a": (0.0, 1.0), "fail": [None, None, "fit"]}
    for verbose in (0, 2):
        caplog.clear()
        search = HyperbandSearchCV(
            CurveClassifier(), space, max_iter=9, random_state=0, verbose=verbose
        )
        with pytest.warns(TrialFailedWarning) as warned:
            search.fit(*small_xy)
        res = search.cv_results_
        failed = res["state"] == "failed"
        (warning,) = warned
        assert str(warning.message) == (
            f"{failed.sum()} of 17 trials failed with RuntimeError: boom in partial_fit; they "
            "got error_score=nan, and their tracebacks are in cv_results_['error']."
        )
        logged = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
        assert len(logged) == failed.sum()
        if verbose:
            assert all(m.count("\n") > 3 and "Traceback" in m for m in logged)
        else:
            assert all("\n" not in m for m in logged)
        # every failed trial's traceback is kept, in cv_results_ and in its last history record
        for model_id, error in zip(res["model_id"][failed], res["error"][failed], strict=True):
            assert "Traceback" in error and "boom in partial_fit" in error
            assert search.model_history_[model_id][-1]["error"] == error
        ok = [h for h in search.history_ if h["model_id"] not in res["model_id"][failed]]
        assert ok and all(h["error"] is None for h in ok)


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
def test_ctrl_c_turned_into_another_error_while_refitting(small_xy):
    space = {"a": (0.0, 1.0)}
    n_search = HyperbandSearchCV(CurveClassifier(), space, max_iter=9).metadata["partial_fit_calls"]
    InterruptedOnce.calls = 0
    search = HyperbandSearchCV(
        InterruptedOnce(at=n_search + 1), space, max_iter=9, random_state=0, refit=True
    )
    with pytest.raises(KeyboardInterrupt):
        search.fit(*small_xy)
    assert InterruptedOnce.calls == n_search + 1  # it was the refit's first epoch


def test_a_trial_the_executor_loses_fails_alone(monkeypatch, small_xy):
    """A step the executor reports lost (``TrialLostError``: dask's ``KilledWorker``, or
    cancelled again and again) fails its trial with a one-line error; the search goes on.
    The executor's loss is simulated here; tests/test_dask.py makes dask raise it."""
    from skhpo import _executor
    from skhpo.exceptions import TrialLostError

    space = {"a": (0.0, 1.0), "b": [1, 2, 3]}
    clean = HyperbandSearchCV(CurveClassifier(), space, max_iter=9, random_state=0)
    clean.fit(*small_xy)
    record = _executor._LazyStep.record

    def losing(self):
        rec = record(self)
        if rec.model_id == "bracket=1-0":
            raise TrialLostError("KilledWorker: simulated")
        return rec

    monkeypatch.setattr(_executor._LazyStep, "record", losing)
    search = HyperbandSearchCV(CurveClassifier(), space, max_iter=9, random_state=0)
    with pytest.warns(TrialFailedWarning):
        search.fit(*small_xy)
    res, ref = search.cv_results_, clean.cv_results_
    lost = res["model_id"] == "bracket=1-0"
    assert list(res["state"][lost]) == ["failed"]
    assert list(res["error"][lost]) == ["TrialLostError: KilledWorker: simulated"]
    assert np.isnan(res["test_score"][lost]).all()
    other = res["bracket"] != 1  # bracket 1 promotes other trials without it
    assert res["params"] == ref["params"]
    np.testing.assert_array_equal(res["test_score"][other], ref["test_score"][other])
    assert set(res["state"][~lost]) <= {"completed", "pruned"}
    with pytest.raises(TrialLostError, match="simulated"):
        HyperbandSearchCV(
            CurveClassifier(), space, max_iter=9, random_state=0, error_score="raise"
        ).fit(*small_xy)


# -- the limits of timeout= (docs/user_guide/resume.rst) ------------------------------


def _in_thread(body):
    """Run ``body`` in a thread other than the main one (as on a dask worker); return
    what it returned or raised, and the seconds it took."""
    out = {}

    def run():
        t0 = time.perf_counter()
        try:
            out["result"] = body()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            out["result"] = exc
        out["seconds"] = time.perf_counter() - t0

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return out["result"], out["seconds"]


def _in_main(body):
    t0 = time.perf_counter()
    try:
        result = body()
    except BaseException as exc:  # noqa: BLE001
        result = exc
    return result, time.perf_counter() - t0


def _timed(body, seconds=0.1):
    def run():
        with _deadline(seconds, seconds):
            return body()

    return run


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="POSIX timers")
def test_timeout_waits_for_a_c_call_outside_the_main_thread():
    # time.sleep is one C call: outside the main thread it runs to its end first
    result, seconds = _in_thread(_timed(lambda: time.sleep(0.6)))
    assert isinstance(result, TrialTimeoutError) and seconds >= 0.6
    # in the main thread the timer signal interrupts it
    result, seconds = _in_main(_timed(lambda: time.sleep(0.6)))
    assert isinstance(result, TrialTimeoutError) and seconds < 0.5


def _busy(seconds):
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        pass


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="POSIX timers")
@pytest.mark.parametrize("where", [_in_thread, _in_main], ids=["thread", "main"])
def test_timeout_lands_in_a_finally_block(where):
    cleaned = []

    def body():
        try:
            pass
        finally:  # a library's cleanup, say
            _busy(0.6)
            cleaned.append(True)

    result, seconds = where(_timed(body))
    assert isinstance(result, TrialTimeoutError) and seconds < 0.5
    assert cleaned == []  # the cleanup was cut short


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="POSIX timers")
@pytest.mark.parametrize("where", [_in_thread, _in_main], ids=["thread", "main"])
def test_a_timeout_caught_by_the_trial_still_fails_it(where):
    epochs = []

    def body():
        for epoch in range(6):
            try:
                _busy(0.05)
            except Exception:  # noqa: BLE001 - a training loop that goes on
                pass
            epochs.append(epoch)

    result, _ = where(_timed(body))
    assert epochs == list(range(6))  # it went on past the deadline, to its end
    assert isinstance(result, TrialTimeoutError)


class SwallowsErrors(CurveClassifier):
    """Each epoch takes ``pause`` seconds inside ``except Exception: pass``."""

    def __init__(self, a=0.5, pause=0.05):
        super().__init__(a=a)
        self.pause = pause

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        try:
            time.sleep(self.pause)
        except Exception:  # noqa: BLE001
            pass
        return super().partial_fit(X, y, classes=classes)


def test_a_search_fails_the_trials_that_swallow_their_timeout():
    rng = np.random.RandomState(0)
    X, y = rng.rand(60, 3), np.arange(60) % 3
    with pytest.warns(TrialFailedWarning):
        search = HyperbandSearchCV(
            SwallowsErrors(), {"a": (0.0, 1.0)}, max_iter=9, random_state=0, timeout=0.3
        ).fit(X, y)
    res = search.cv_results_
    # the three trials of bracket 0 train 9 epochs of 0.05 s from the start: all over
    assert (res["bracket"] == 0).sum() == 3
    assert (res["state"][res["bracket"] == 0] == "failed").all()
    assert all("exceeded timeout=0.3" in e for e in res["error"][res["state"] == "failed"])
