"""skhpo.dashboard: a search mirrored into a real Optuna storage (SQLite in a tmp dir),
``python -m skhpo dashboard`` serving it, and the page rendered by headless Chromium."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from fakes import CurveClassifier
from scipy.stats import loguniform, norm, randint

from skhpo import Categorical, HyperbandSearchCV, Integer, Real
from skhpo.callbacks import LoggingCallback
from skhpo.dashboard import DashboardCallback, hide_password

optuna = pytest.importorskip("optuna")
pytest.importorskip("optuna_dashboard")
from optuna.distributions import (  # noqa: E402
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import TrialState  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.filterwarnings(
    # optuna-dashboard's note API and the trial template are experimental in Optuna
    "ignore::optuna.exceptions.ExperimentalWarning"
)


def _xy():
    X = np.random.RandomState(0).rand(60, 3)
    return X, np.arange(60) % 2


def _study(cb):
    url = str(cb.storage)
    url = url if "://" in url else f"sqlite:///{url}"
    return optuna.load_study(study_name=cb.study_name_, storage=url)


def _fit(cb, space, estimator=None, **kw):
    search = HyperbandSearchCV(
        estimator or CurveClassifier(), space, max_iter=9, random_state=0, callbacks=[cb], **kw
    )
    return search.fit(*_xy())


@pytest.mark.filterwarnings("ignore::skhpo.exceptions.TrialFailedWarning")
def test_trials_states_values_and_attributes(tmp_path):
    cb = DashboardCallback(f"sqlite:///{tmp_path / 'dash.db'}")
    search = _fit(cb, {"a": (0.0, 1.0), "fail": [None, None, "fit"]})
    study = _study(cb)
    res = search.cv_results_
    by_id = {t.user_attrs["model_id"]: t for t in study.trials}
    assert sorted(by_id) == sorted(res["model_id"])
    states = {"completed": TrialState.COMPLETE, "pruned": TrialState.PRUNED}
    states["failed"] = TrialState.FAIL
    for i, model_id in enumerate(res["model_id"]):
        trial = by_id[model_id]
        assert trial.state == states[res["state"][i]]
        assert trial.params == {k: v for k, v in res["params"][i].items()}
        assert trial.user_attrs["bracket"] == res["bracket"][i]
        curve = {h["partial_fit_calls"]: h["score"] for h in search.model_history_[model_id]}
        assert trial.intermediate_values == pytest.approx(curve, nan_ok=True)
        if res["state"][i] == "failed":
            assert "boom in partial_fit" in trial.user_attrs["error"]
        else:
            assert trial.value == pytest.approx(res["test_score"][i])
    rungs = {t.user_attrs["rung"] for t in study.trials if t.state == TrialState.COMPLETE}
    assert 2 in rungs  # bracket 2's winner climbed to its third rung
    assert study.user_attrs["bracket=2"] == "9 x 1, 3 x 3, 1 x 9"
    assert study.user_attrs["skhpo.best_model_id"] == res["model_id"][search.best_index_]
    from optuna_dashboard import get_note

    assert "| 2 | 1 | 3 | 3 | 3 |" in get_note(study)  # bracket 2, rung 1: 3 of 3 reached


def test_brackets_of_several_iterations_are_counted_apart(tmp_path):
    """Bracket numbers repeat in every Hyperband iteration: the plan's note counts each
    iteration's rungs apart, and each trial names its iteration."""
    cb = DashboardCallback(f"sqlite:///{tmp_path / 'dash.db'}")
    search = _fit(cb, {"a": (0.0, 1.0)}, n_iterations=2)
    study = _study(cb)
    res = search.cv_results_
    by_id = {t.user_attrs["model_id"]: t for t in study.trials}
    for i, model_id in enumerate(res["model_id"]):
        assert by_id[model_id].user_attrs["iteration"] == res["iteration"][i]
    from optuna_dashboard import get_note

    note = get_note(study)
    assert "| iteration | bracket | rung | epochs | models planned | models reached |" in note
    for iteration in (1, 2):  # bracket 2, rung 1: 3 of 3 reached in each iteration
        assert f"| {iteration} | 2 | 1 | 3 | 3 | 3 |" in note


class ManyParams(CurveClassifier):
    """A CurveClassifier with the parameters of the space below (all ignored)."""

    def __init__(
        self,
        a=0.5,
        lr=None,
        lr_grid=None,
        n=None,
        k=None,
        noise=None,
        opt=None,
        scaler=None,
        momentum=None,
    ):
        super().__init__(a=a)
        self.lr, self.lr_grid, self.n, self.k, self.noise = lr, lr_grid, n, k, noise
        self.opt, self.scaler, self.momentum = opt, scaler, momentum


def test_distributions_of_the_space_forms(tmp_path):
    space = {
        "a": Real(0.0, 1.0, step=0.25),
        "lr": loguniform(1e-4, 1e-1),
        "lr_grid": Real(1e-4, 1e-1, log=True, step=10),  # a log grid: Optuna has no step
        "n": Integer(1, 9, log=True),
        "k": randint(1, 5),
        "noise": norm(0, 1),  # unbounded: no Optuna distribution, kept as text
        "opt": ["sgd", "adam", None],
        "scaler": Categorical([(1, 2), (3, 4)]),  # tuples: stored as their repr
        "momentum": Real(0.0, 0.9, when={"opt": "sgd"}),
    }
    cb = DashboardCallback(tmp_path / "dash.db")  # a path works too
    search = _fit(cb, space, estimator=ManyParams())
    trial = _study(cb).trials[0]
    d = trial.distributions
    assert d["a"] == FloatDistribution(0.0, 1.0, step=0.25)
    assert d["lr"] == FloatDistribution(1e-4, 1e-1, log=True)
    assert d["lr_grid"] == FloatDistribution(1e-4, 1e-1, log=True)
    assert d["n"] == IntDistribution(1, 9, log=True)
    assert d["k"] == IntDistribution(1, 4)
    assert d["opt"] == CategoricalDistribution(["sgd", "adam", None])
    assert d["scaler"] == CategoricalDistribution(["(1, 2)", "(3, 4)"])
    assert "noise" not in d
    params = search.cv_results_["params"][0]
    assert trial.user_attrs["param.noise"] == repr(params["noise"])
    assert trial.params["scaler"] == repr(params["scaler"])
    for t, p in zip(_study(cb).trials, search.cv_results_["params"], strict=True):
        assert ("momentum" in t.params) == (p["opt"] == "sgd")  # inactive: absent


def test_a_resumed_search_goes_on_in_the_same_study(tmp_path):
    url = f"sqlite:///{tmp_path / 'dash.db'}"
    storage = str(tmp_path / "search.db")
    cb = DashboardCallback(url)
    first = _fit(cb, {"a": (0.0, 1.0)}, storage=storage)
    cb2 = DashboardCallback(url)
    again = _fit(cb2, {"a": (0.0, 1.0)}, storage=storage)
    assert cb2.study_name_ == cb.study_name_
    study = _study(cb2)
    assert len(study.trials) == len(first.cv_results_["model_id"])
    assert [t.state for t in study.trials] == [t.state for t in _study(cb).trials]
    assert again.best_params_ == first.best_params_
    # another search (no storage=) gets a study of its own
    cb3 = DashboardCallback(url)
    _fit(cb3, {"a": (0.0, 1.0)})
    assert cb3.study_name_ != cb.study_name_
    assert len(optuna.get_all_study_names(url)) == 2


def test_a_named_study_of_another_search_is_an_error_before_training(tmp_path):
    url = f"sqlite:///{tmp_path / 'dash.db'}"
    _fit(DashboardCallback(url, study_name="digits"), {"a": (0.0, 1.0)})
    log = tmp_path / "epochs.log"
    with pytest.raises(ValueError, match="'digits' .* holds another search"):
        _fit(
            DashboardCallback(url, study_name="digits"),
            {"a": (0.0, 1.0)},
            estimator=CurveClassifier(log=str(log)),
        )
    assert not log.exists()  # no epoch trained


def test_the_password_of_a_database_url_is_never_shown(tmp_path, caplog):
    secret = "s3cret-pw"
    url = f"postgresql+psycopg2://skhpo:{secret}@127.0.0.1:1/searches"
    assert secret not in repr(DashboardCallback(url))
    assert hide_password(url) == "postgresql+psycopg2://skhpo:***@127.0.0.1:1/searches"
    # fit fails before training (no driver, or no server on port 1): no password shown
    cb = DashboardCallback(url)
    search = HyperbandSearchCV(
        CurveClassifier(),
        {"a": (0.0, 1.0)},
        max_iter=3,
        verbose=True,
        callbacks=[cb, LoggingCallback()],
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(Exception) as info:
        search.fit(*_xy())
    assert secret not in str(info.value) + repr(info.value.__cause__)
    assert secret not in caplog.text
    assert secret not in repr(search) + repr(search.get_params())


def test_dashboard_command_binds_to_loopback_and_warns_when_exposed(tmp_path):
    url = f"sqlite:///{tmp_path / 'dash.db'}"
    _fit(DashboardCallback(url), {"a": (0.0, 1.0)})
    proc, address = _serve(tmp_path / "dash.db")
    try:
        assert address.startswith("http://127.0.0.1:")
    finally:
        proc.terminate()
        proc.wait(30)
    proc, address = _serve(tmp_path / "dash.db", "--host", "0.0.0.0")
    try:
        assert address.startswith("http://0.0.0.0:")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "WARNING: the dashboard listens on 0.0.0.0" in err
    assert "no login" in err


def _serve(storage, *args):
    """``python -m skhpo dashboard`` on a free port; the process and its address."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, *sys.path]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "skhpo", "dashboard", str(storage), "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    line = proc.stdout.readline()
    match = re.search(r"on (http://\S+)/dashboard/", line)
    if match is None:
        proc.kill()
        raise AssertionError(f"no address in {line!r}: {proc.stderr.read()}")
    return proc, match.group(1)


# -- the page in a browser -------------------------------------------------------------------

_GO = threading.Event()
_CALLS = []


class HeldClassifier(CurveClassifier):
    """A CurveClassifier whose 30th epoch (in-process, max_iter=9: within bracket 0's
    first task, after brackets 2 and 1 scored their first rung) waits for ``_GO``."""

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        _CALLS.append(1)
        if len(_CALLS) == 30:
            _GO.wait(300)
        return super().partial_fit(X, y, classes=classes, sample_weight=sample_weight)


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("Chromium is not installed (make chromium installs Debian's, as root)")


def _render(browser, url, *extra, size="1280,1000"):
    out = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--virtual-time-budget=10000",
            f"--window-size={size}",
            *extra,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def _text(dom):
    dom = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", dom, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))


@pytest.mark.slow
def test_the_page_shows_a_running_search_in_headless_chromium(tmp_path):
    browser = _chromium()
    db = tmp_path / "dash.db"
    cb = DashboardCallback(db)
    search = HyperbandSearchCV(HeldClassifier(), {"a": (0.0, 1.0)}, max_iter=9, random_state=0)
    search.set_params(callbacks=[cb])
    _CALLS.clear()
    _GO.clear()
    errors = []
    thread = threading.Thread(target=lambda: _run(search, errors), daemon=True)
    thread.start()
    proc = None
    try:
        # the search holds at its 30th epoch: wait for the writes to land
        deadline = time.time() + 120
        while len(_CALLS) < 30 and time.time() < deadline:
            time.sleep(0.05)
        counts = []
        while len(counts) < 3 or len(set(counts[-3:])) > 1:
            time.sleep(0.3)
            counts.append(len(_study(cb).trials))
        trials = _study(cb).trials
        states = [t.state for t in trials]
        assert TrialState.RUNNING in states and TrialState.PRUNED in states
        assert thread.is_alive()

        proc, address = _serve(db)
        page = f"{address}/dashboard/studies/{cb.study_id_}"
        listed = _text(_render(browser, f"{page}/trials", "--dump-dom"))
        assert f"{len(trials)} Trials" in listed
        assert "Pruned" in listed and "Running" in listed
        dom = _render(browser, page, "--dump-dom")
        assert "Intermediate values" in _text(dom)  # the learning curves
        assert "(running)" in _text(dom)
        assert "js-plotly-plot" in dom
        shot = os.environ.get("SKHPO_DASHBOARD_SCREENSHOT", str(tmp_path / "dashboard.png"))
        _render(browser, page, f"--screenshot={shot}", size="1100,1600")
        with open(shot, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
        assert thread.is_alive()  # the search was running all along
    finally:
        _GO.set()
        thread.join(300)
        if proc is not None:
            proc.terminate()
            proc.wait(30)
    assert not errors
    assert len(_study(cb).trials) == len(search.cv_results_["model_id"])
    assert not [t for t in _study(cb).trials if t.state == TrialState.RUNNING]


def _run(search, errors):
    try:
        search.fit(*_xy())
    except BaseException as exc:  # noqa: BLE001 - the test reports it
        errors.append(exc)


class FailsLater(CurveClassifier):
    """Raises in its 12th epoch overall: after the first trials were scored."""

    calls = []

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        FailsLater.calls.append(1)
        if len(FailsLater.calls) == 12:
            raise RuntimeError("boom in partial_fit")
        return super().partial_fit(X, y, classes=classes, sample_weight=sample_weight)


def test_a_search_that_raises_leaves_no_trial_running_without_storage(tmp_path):
    cb = DashboardCallback(tmp_path / "dash.db")
    FailsLater.calls.clear()
    with pytest.raises(RuntimeError, match="boom in partial_fit"):
        _fit(cb, {"a": (0.0, 1.0)}, estimator=FailsLater(), error_score="raise")
    states = [t.state for t in _study(cb).trials]
    assert len(states) >= 9  # bracket 2's first rung
    assert TrialState.RUNNING not in states
