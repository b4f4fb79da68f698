"""skhpo.mlflow: a search logged to a real local MLflow store (SQLite) in a tmp dir."""

from __future__ import annotations

import copy
import logging
import math
import os
import pickle
import sys
import warnings

import numpy as np
import pytest
from fakes import CurveClassifier
from sklearn.base import clone

from skhpo import HyperbandSearchCV
from skhpo.exceptions import TrialFailedWarning
from skhpo.mlflow import MLflowCallback

mlflow = pytest.importorskip("mlflow")
from mlflow.tracking import MlflowClient  # noqa: E402

SPACE = {"a": (0.0, 1.0), "b": ["x", "y"], "fail": [None, None, None, "fit"]}


pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy:DeprecationWarning")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One SQLite store for the module (creating one takes a second or two).

    MLflow resolves the store's default artifact root (``./mlruns``) when it first opens
    the store: open it from the tmp dir, so that nothing lands in the working directory.
    """
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    here = os.getcwd()
    os.chdir(root)
    try:
        MlflowClient(uri).search_experiments()
    finally:
        os.chdir(here)
    return uri, root


@pytest.fixture
def experiment(store, request):
    """A fresh experiment whose artifacts go to the tmp dir, not ./mlruns."""
    uri, root = store
    name = request.node.name
    client = MlflowClient(uri)
    client.create_experiment(name, artifact_location=str(root / name))
    return uri, name, client


def _fit(callback, storage=None, space=SPACE, **kw):
    rng = np.random.RandomState(0)
    X, y = rng.rand(120, 4), np.arange(120) % 3
    search = HyperbandSearchCV(
        CurveClassifier(),
        space,
        max_iter=9,
        random_state=0,
        callbacks=[callback],
        storage=storage,
        **kw,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrialFailedWarning)
        return search.fit(X, y)


def _runs(client, experiment_id):
    runs = client.search_runs([experiment_id], max_results=1000)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return parents, children


def _check_trials(client, search, parent, children):
    res = search.cv_results_
    assert len(children) == len(res["params"]) == 17
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parent.info.run_id}
    by_model = {r.data.tags["skhpo.model_id"]: r for r in children}
    assert set(by_model) == set(res["model_id"])
    for i, model_id in enumerate(res["model_id"]):
        run = by_model[model_id]
        assert run.info.run_name == model_id
        params = res["params"][i]
        assert run.data.params == {
            k: str(v) if isinstance(v, str) else repr(v) for k, v in params.items()
        }
        tags = run.data.tags
        assert tags["skhpo.state"] == res["state"][i]
        assert tags["skhpo.epochs"] == str(res["partial_fit_calls"][i])
        assert tags["skhpo.bracket"] == str(res["bracket"][i])
        if res["state"][i] == "failed":
            assert "boom in partial_fit" in tags["skhpo.error"]
            assert run.info.status == "FAILED"
        else:
            assert "skhpo.error" not in tags
            assert run.info.status == "FINISHED"
        logged = sorted(
            (m.step, m.value) for m in client.get_metric_history(run.info.run_id, "score")
        )
        expected = [(h["partial_fit_calls"], h["score"]) for h in search.model_history_[model_id]]
        assert len(logged) == len(expected)
        for (step, value), (e_step, e_value) in zip(logged, sorted(expected), strict=True):
            assert step == e_step
            assert value == e_value or (math.isnan(value) and math.isnan(e_value))


def test_one_parent_run_and_a_nested_run_per_trial(experiment, tmp_path):
    uri, name, client = experiment
    callback = MLflowCallback(tracking_uri=uri, experiment_name=name, run_name="digits")
    search = _fit(callback)
    experiment_id = client.get_experiment_by_name(name).experiment_id
    assert callback.experiment_id_ == experiment_id
    parents, children = _runs(client, experiment_id)
    assert len(parents) == 1
    (parent,) = parents
    assert parent.info.run_id == callback.run_id_ and parent.info.run_name == "digits"
    assert parent.info.status == "FINISHED"
    assert (search.cv_results_["state"] == "failed").any()
    _check_trials(client, search, parent, children)
    assert callback.trial_run_ids_ == {
        r.data.tags["skhpo.model_id"]: r.info.run_id for r in children
    }

    # the parent: constructor params, the plan, the best trial, the results table
    params = parent.data.params
    assert params["max_iter"] == "9" and params["aggressiveness"] == "3"
    assert params["estimator"] == "CurveClassifier()"
    assert params["plan.n_models"] == "17" and params["plan.partial_fit_calls"] == "69"
    for key, value in search.best_params_.items():
        assert params[f"best.{key}"] == (value if isinstance(value, str) else repr(value))
    assert parent.data.metrics["best_score"] == pytest.approx(search.best_score_)
    assert parent.data.metrics["n_tasks"] == search.search_stats_["n_tasks"]
    best_id = search.cv_results_["model_id"][search.best_index_]
    assert parent.data.tags["skhpo.best_model_id"] == best_id
    assert parent.data.tags["skhpo.search"] == "HyperbandSearchCV"
    artifacts = sorted(a.path for a in client.list_artifacts(parent.info.run_id))
    assert artifacts == ["metadata.json", "plan.json", "results.csv"]
    pd = pytest.importorskip("pandas")
    from skhpo.results import load_results, results_frame

    local = client.download_artifacts(parent.info.run_id, "results.csv", str(tmp_path))
    pd.testing.assert_frame_equal(load_results(local), results_frame(search))


def test_a_resumed_search_logs_the_replayed_trials_too(experiment, tmp_path):
    uri, name, client = experiment
    storage = tmp_path / "search.db"
    first = _fit(MLflowCallback(uri, name), storage=storage)
    # the second fit replays every trial from the storage: no events, all logged at the end
    callback = MLflowCallback(uri, name)
    second = _fit(callback, storage=storage)
    np.testing.assert_array_equal(first.cv_results_["test_score"], second.cv_results_["test_score"])
    experiment_id = client.get_experiment_by_name(name).experiment_id
    parents, children = _runs(client, experiment_id)
    assert len(parents) == 2 and len(children) == 34
    (parent,) = [p for p in parents if p.info.run_id == callback.run_id_]
    mine = [c for c in children if c.data.tags["mlflow.parentRunId"] == parent.info.run_id]
    _check_trials(client, second, parent, mine)


def test_a_search_that_raises_leaves_no_run_open(experiment):
    uri, name, client = experiment
    callback = MLflowCallback(uri, name)
    with pytest.raises(RuntimeError, match="boom"):
        _fit(callback, space={"a": (0.0, 1.0), "fail": ["fit"]}, error_score="raise")
    failed_parent = callback.run_id_
    # on_search_error closed the search's runs as FAILED when fit raised
    assert client.get_run(failed_parent).info.status == "FAILED"
    _fit(callback)
    assert client.get_run(callback.run_id_).info.status == "FINISHED"
    runs = client.search_runs([callback.experiment_id_])
    assert all(r.info.status in ("FINISHED", "FAILED") for r in runs)


def test_the_experiment_is_created_when_missing(store):
    uri, root = store
    callback = MLflowCallback(uri, experiment_name="made-by-skhpo")
    callback.on_search_begin(
        HyperbandSearchCV(CurveClassifier(), SPACE, max_iter=3), {"n_models": 5}
    )
    client = MlflowClient(uri)
    assert client.get_experiment_by_name("made-by-skhpo").experiment_id == callback.experiment_id_
    assert (root / "mlruns").is_dir()  # the store's default artifact root
    callback._at_exit()  # what runs at exit when a fit raised
    assert client.get_run(callback.run_id_).info.status == "KILLED"


def test_the_callback_clones_pickles_and_says_what_it_needs(store, monkeypatch):
    uri, _ = store
    callback = MLflowCallback(uri, "x", run_name="r")
    assert (
        repr(callback) == f"MLflowCallback(tracking_uri={uri!r}, experiment_name='x', run_name='r')"
    )
    search = HyperbandSearchCV(CurveClassifier(), SPACE, callbacks=[callback])
    cloned = clone(search).callbacks[0]
    assert cloned is not callback and cloned.tracking_uri == uri
    callback._client = MlflowClient(uri)
    again = pickle.loads(pickle.dumps(callback))
    assert again._client is None and copy.deepcopy(callback)._client is None
    monkeypatch.setitem(sys.modules, "mlflow", None)
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)
    with pytest.raises(ImportError, match=r"pip install 'skhpo\[mlflow\]'"):
        MLflowCallback().on_search_begin(search, {})
