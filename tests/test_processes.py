"""scheduler="processes": trials in local worker processes that skhpo starts itself."""

from __future__ import annotations

import os
from collections import Counter

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")

import fakes  # noqa: E402
from compat import DISTRIBUTED_2024  # noqa: E402
from fakes import CurveClassifier  # noqa: E402

from skhpo import HyperbandSearchCV  # noqa: E402

pytestmark = pytest.mark.dask

# The workers cannot import the tests' modules: ship the fakes by value.
cloudpickle.register_pickle_by_value(fakes)

SPACE = {"a": (0.0, 1.0), "b": [1, 2, 3]}


def _search(est=None, **kw):
    kw.setdefault("max_iter", 9)
    kw.setdefault("random_state", 0)
    return HyperbandSearchCV(est or CurveClassifier(), kw.pop("parameters", SPACE), **kw)


def _same_results(a, b):
    assert a.cv_results_["params"] == b.cv_results_["params"]
    np.testing.assert_array_equal(a.cv_results_["test_score"], b.cv_results_["test_score"])
    np.testing.assert_array_equal(
        a.cv_results_["partial_fit_calls"], b.cv_results_["partial_fit_calls"]
    )


@pytest.mark.slow
def test_trials_train_in_worker_processes(small_xy):
    in_process = _search(scheduler="in-process").fit(*small_xy)
    search = _search(scheduler="processes").fit(*small_xy)
    _same_results(search, in_process)
    pids = search.search_stats_["pids"]
    assert len(pids) == 1 and os.getpid() not in pids
    assert search.best_estimator_.pids_ == pids * search.best_estimator_.n_calls_
    assert distributed.client._get_global_client() is None  # no client left behind


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.xfail(
    DISTRIBUTED_2024,
    strict=False,
    reason="hung once in make test-oldest with distributed 2024.8.0 (passed in two earlier "
    "runs there and in every run with current distributed); cause not found yet",
)
def test_a_worker_over_its_memory_limit_is_replaced_and_its_models_go_on(tmp_path, small_xy):
    """Each epoch keeps 8 MiB in its process for good; past 400 MiB a worker is replaced.
    Every epoch of the plan is trained once: the models of a replaced worker continue
    in its successor from the epoch they reached, never from scratch."""
    log = tmp_path / "epochs.log"
    in_process = _search(max_iter=27, scheduler="in-process").fit(*small_xy)
    est = CurveClassifier(leak=8, log=str(log))
    search = _search(est, max_iter=27, scheduler="processes", worker_memory_limit="400MiB").fit(
        *small_xy
    )
    _same_results(search, in_process)
    lines = [line.split() for line in log.read_text().splitlines()]  # "pid a epoch"
    epochs = Counter((a, int(e)) for _, a, e in lines)
    assert len(lines) == 357 and set(epochs.values()) == {1}  # none trained twice
    pids_of = {}
    for pid, a, _ in lines:
        pids_of.setdefault(a, []).append(pid)
    workers = {pid for pid, _, _ in lines}
    assert len(workers) >= 3  # 357 epochs x 8 MiB: replaced at least twice
    moved = [a for a, pids in pids_of.items() if len(set(pids)) > 1]
    assert moved  # models that went on in another process
    for a in moved:  # epoch by epoch: never back to an earlier process
        pids = pids_of[a]
        assert pids == sorted(pids, key=pids.index)
    print(f"worker processes: {len(workers)}; models moved to another worker: {len(moved)}")


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["segfault", "exit", "memory"])
def test_a_trial_that_kills_its_worker_fails_alone(small_xy, fault):
    """A trial whose task crashes its worker twice fails (``TrialLostError``); the
    worker is started again, the trials waiting behind it and the models the crash
    took (recomputed) are not blamed, and the other trials score as in-process."""
    from skhpo.exceptions import TrialFailedWarning

    space = {"a": (0.0, 1.0), "fail": [None, None, fault]}
    clean = _search(
        parameters={"a": (0.0, 1.0), "fail": [None, None, None]}, scheduler="in-process"
    ).fit(*small_xy)
    with pytest.warns(TrialFailedWarning):
        search = _search(parameters=space, scheduler="processes").fit(*small_xy)
    res = search.cv_results_
    bad = np.array([p["fail"] == fault for p in res["params"]])
    assert bad.any() and (res["state"][bad] == "failed").all()
    assert set(res["state"][~bad]) <= {"completed", "pruned"}
    if fault == "memory":  # an exception: the worker lives on
        assert all("MemoryError" in e for e in res["error"][bad])
        assert len(search.search_stats_["pids"]) == 1
    else:
        assert all("ended its worker process 2 times" in e for e in res["error"][bad])
        assert len(search.search_stats_["pids"]) >= 2  # workers started again took over
    ok = np.flatnonzero(~bad)
    np.testing.assert_array_equal(
        res["test_score"][ok][-3:], clean.cv_results_["test_score"][ok][-3:]
    )


@pytest.mark.slow
@pytest.mark.parametrize("hang", ["hang", "stuck"])
def test_a_hanging_trial_times_out_in_its_worker(small_xy, hang):
    """A trial looping in Python is stopped in its thread; one stuck in a C call
    (``time.sleep``) ends its worker process, and fails when its task starts again."""
    from skhpo.exceptions import TrialFailedWarning

    space = {"a": (0.0, 1.0), "fail": [None, None, hang]}
    with pytest.warns(TrialFailedWarning):
        search = _search(parameters=space, timeout=0.5, scheduler="processes").fit(*small_xy)
    res = search.cv_results_
    hung = np.array([p["fail"] == hang for p in res["params"]])
    assert hung.any() and (res["state"][hung] == "failed").all()
    assert all("TrialTimeoutError" in e for e in res["error"][hung])
    assert set(res["state"][~hung]) <= {"completed", "pruned"}
    n_pids = len(search.search_stats_["pids"])
    assert n_pids == 1 if hang == "hang" else n_pids >= 2  # stuck: a new worker went on


@pytest.mark.parametrize(
    "params, message",
    [
        ({"n_workers": 2}, "n_workers=2 is only used with scheduler='processes'"),
        ({"worker_memory_limit": 0.5}, "worker_memory_limit=0.5 is only used with"),
        ({"scheduler": "processes", "resources": {"GPU": 1}}, "starts workers that offer none"),
        ({"scheduler": "processes", "n_workers": 0}, "'n_workers' parameter"),
        ({"scheduler": "processes", "worker_memory_limit": 1.5}, "'worker_memory_limit'"),
    ],
)
def test_bad_processes_parameters(small_xy, params, message):
    with pytest.raises(ValueError, match=message):
        _search(**params).fit(*small_xy)


@pytest.mark.slow
def test_keras_results_identical_to_in_process(digits):
    """A tiny scikeras MLP: the same parameters, scores and epochs as in-process, the
    models built and trained in the worker process only."""
    wrappers = pytest.importorskip("scikeras.wrappers")
    est = wrappers.KerasClassifier(fakes.build_tiny_mlp, verbose=0, random_state=0, batch_size=64)
    X, y = digits[0][:600], digits[1][:600]

    def run(scheduler):
        search = HyperbandSearchCV(
            est, fakes.TINY_MLP_SPACE, max_iter=9, random_state=0, scheduler=scheduler
        )
        return search.fit(X, y)

    in_process = run("in-process")
    search = run("processes")
    _same_results(search, in_process)
    assert os.getpid() not in search.search_stats_["pids"]
    np.testing.assert_array_equal(search.predict(X), in_process.predict(X))


def test_a_failed_start_leaves_dask_config_as_it_was(monkeypatch):
    """The private cluster's settings are undone when its start fails."""
    import dask

    import skhpo._processes as processes

    def no_cluster(*args, **kwargs):
        raise OSError("no free port")

    before = dask.config.get("distributed.scheduler.allowed-failures")
    monkeypatch.setattr(processes, "LocalCluster", no_cluster)
    with pytest.raises(OSError, match="no free port"):
        processes.ProcessesExecutor(1)
    assert dask.config.get("distributed.scheduler.allowed-failures") == before
