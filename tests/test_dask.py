"""The dask executor on a real LocalCluster (two worker processes)."""

from __future__ import annotations

import logging
import os
import pickle
import time
from collections import Counter

import numpy as np
import pytest
from dask import config as dask_config

distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")

import fakes  # noqa: E402
from compat import DISTRIBUTED_2024  # noqa: E402
from fakes import CurveClassifier  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.linear_model import SGDClassifier  # noqa: E402

from skhpo import HyperbandSearchCV, SuccessiveHalvingSearchCV  # noqa: E402

pytestmark = pytest.mark.dask

# The workers cannot import the tests' modules: ship the fakes by value.
cloudpickle.register_pickle_by_value(fakes)

SPACE = {"a": (0.0, 1.0), "b": [1, 2, 3]}


def _fresh_cluster(n_workers=2, **kwargs):
    """Single-threaded worker processes (two by default) on loopback."""
    return distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        host="127.0.0.1",
        **kwargs,
    )


@pytest.fixture(scope="module")
def cluster():
    with _fresh_cluster(resources={"slot": 1}) as cluster:
        yield cluster


@pytest.fixture
def client(cluster):
    with distributed.Client(cluster) as client:
        yield client


def _search(**kw):
    kw.setdefault("max_iter", 9)
    kw.setdefault("random_state", 0)
    return HyperbandSearchCV(CurveClassifier(), kw.pop("parameters", SPACE), **kw)


def test_trials_run_on_the_workers_and_stay_there(client, small_xy):
    worker_pids = set(client.run(os.getpid).values())
    search = _search(max_iter=27).fit(*small_xy)
    res = search.cv_results_
    assert res["partial_fit_calls"].sum() == 357
    assert search.metadata_ == search.metadata
    assert set(search.search_stats_["pids"]) <= worker_pids
    assert os.getpid() not in search.search_stats_["pids"]
    best = search.best_estimator_
    assert set(best.pids_) <= worker_pids
    # resumed, never rebuilt: one object trained for all its epochs in one process
    assert best.n_calls_ == res["partial_fit_calls"][search.best_index_]
    assert len(set(best.pids_)) == 1
    # every step of a trial ran on the worker that holds its model
    for model_id, records in search.model_history_.items():
        assert len({r["worker"] for r in records}) == 1, model_id
    # the data reached each worker once (not once per task)
    received = client.run(lambda: __import__("skhpo._worker")._worker.SearchData.times_received)
    assert sum(received.values()) <= 2 * 2  # two workers; scatter may deliver a replica


def test_same_results_in_process_and_on_the_cluster(client, small_xy):
    on_cluster = _search().fit(*small_xy).cv_results_
    in_process = _search(scheduler="in-process").fit(*small_xy).cv_results_
    assert on_cluster["params"] == in_process["params"]
    np.testing.assert_array_equal(on_cluster["test_score"], in_process["test_score"])
    np.testing.assert_array_equal(on_cluster["partial_fit_calls"], in_process["partial_fit_calls"])


@pytest.mark.parametrize("cls", ["hyperband", "halving"])
def test_asynchronous_successive_halving(client, small_xy, cls):
    if cls == "hyperband":
        search = _search(max_iter=27, asynchronous=True)
    else:
        search = SuccessiveHalvingSearchCV(
            CurveClassifier(), SPACE, n_initial_parameters=27, random_state=0, asynchronous=True
        )
    search.fit(*small_xy)
    res = search.cv_results_
    meta = search.metadata
    assert len(res["params"]) == meta["n_models"]
    # ASHA promotes as many models per rung as the plan, so the epochs match too
    assert search.metadata_["partial_fit_calls"] == meta["partial_fit_calls"]
    for planned, ran in zip(meta["brackets"], search.metadata_["brackets"], strict=True):
        assert ran["rungs"] == planned["rungs"]
    assert set(res["state"]) == {"completed", "pruned"}


def test_asynchronous_in_process_matches_the_plan(small_xy):
    search = _search(max_iter=27, asynchronous=True, scheduler="in-process").fit(*small_xy)
    assert search.metadata_ == search.metadata


def test_scheduler_address_and_clone(cluster, small_xy):
    search = _search(scheduler=cluster.scheduler_address)
    twin = clone(search)
    assert twin.scheduler == cluster.scheduler_address
    twin.fit(*small_xy)
    assert twin.search_stats_["pids"] and os.getpid() not in twin.search_stats_["pids"]
    pickle.dumps(twin)


def test_resources_are_passed_and_checked(client, small_xy):
    search = _search(resources={"slot": 1}).fit(*small_xy)
    assert len(search.cv_results_["params"]) == 17
    with pytest.raises(ValueError, match="No worker of the dask cluster offers"):
        _search(resources={"GPU": 1}).fit(*small_xy)


def test_unpicklable_estimator_is_a_clear_error(client, small_xy):
    import threading

    est = SGDClassifier()
    est.lock = threading.Lock()  # not a parameter, but pickled with the estimator
    with pytest.raises(TypeError, match="cannot be pickled"):
        HyperbandSearchCV(est, {"alpha": [1e-4]}, max_iter=3).fit(*small_xy)


def test_failures_on_the_cluster(client, small_xy):
    from skhpo.exceptions import TrialFailedWarning

    space = {"a": (0.0, 1.0), "fail": [None, "fit"]}
    with pytest.warns(TrialFailedWarning):
        search = _search(parameters=space).fit(*small_xy)
    res = search.cv_results_
    failed = res["state"] == "failed"
    assert failed.any() and (~failed).any()
    assert all("boom in partial_fit" in e for e in res["error"][failed])
    with pytest.raises(RuntimeError, match="boom"):
        _search(parameters={"fail": ["fit"]}, error_score="raise").fit(*small_xy)


def test_a_killed_worker_costs_a_retry_not_the_search(tmp_path, small_xy):
    marker = tmp_path / "killed"
    with _fresh_cluster() as cluster, distributed.Client(cluster):
        est = CurveClassifier(kill_marker=str(marker), sleep=0.01)
        search = HyperbandSearchCV(est, SPACE, max_iter=27, random_state=0).fit(*small_xy)
    assert marker.exists()  # a worker process did die mid-task
    res = search.cv_results_
    assert len(res["params"]) == 49
    assert set(res["state"]) == {"completed", "pruned"}
    # no trial lost or counted twice: the epochs are exactly the plan's
    assert res["partial_fit_calls"].sum() == 357
    # one task and one history record per (trial, rung): 49 + 13 + 5 + 2
    n_tasks = sum(n for b in search.metadata["brackets"] for n, _ in b["rungs"])
    assert len(search.history_) == search.search_stats_["n_tasks"] == n_tasks == 69


@pytest.mark.xfail(
    DISTRIBUTED_2024,
    strict=False,
    raises=TimeoutError,
    reason="distributed 2024.8's scheduler can fail on a task that needs scattered data "
    "lost with the only worker (AssertionError in Scheduler._task_to_msg, then the "
    "restarted worker is removed and the new scatter finds no worker): seen once, under "
    "load, in make test-oldest; passes on current distributed",
)
def test_the_only_worker_killed_costs_a_retry_not_the_search(tmp_path, small_xy):
    """The cluster's only worker dies: the data scattered to it is lost with it (dask
    cannot recompute it), so every task is cancelled; skhpo scatters the data again and
    submits each trial's task again. The results are those of an undisturbed search."""
    clean = HyperbandSearchCV(
        CurveClassifier(), SPACE, max_iter=9, random_state=0, scheduler="in-process"
    ).fit(*small_xy)
    marker = tmp_path / "killed"
    est = CurveClassifier(kill_marker=str(marker), kill_epoch=2)
    with _fresh_cluster(n_workers=1) as cluster, distributed.Client(cluster):
        search = HyperbandSearchCV(est, SPACE, max_iter=9, random_state=0).fit(*small_xy)
    assert marker.exists()
    res = search.cv_results_
    assert res["params"] == clean.cv_results_["params"]
    np.testing.assert_array_equal(res["test_score"], clean.cv_results_["test_score"])
    np.testing.assert_array_equal(res["partial_fit_calls"], clean.cv_results_["partial_fit_calls"])
    assert set(res["state"]) == {"completed", "pruned"}


def _step(prev, data, n):
    """A stand-in for step_task: adds ``data + n`` to the previous step's value."""
    from skhpo._records import StepRecord

    value = (prev[0] if isinstance(prev, tuple) else prev) + data + n
    return value, StepRecord(model_id="m", epochs=value)


def test_a_cancelled_step_is_submitted_again_from_its_recipe(client):
    """Its previous step and the scattered data cancelled too: all are submitted again."""
    from skhpo._dask import DaskExecutor

    executor = DaskExecutor(client)
    data = executor.put(10)
    first = executor.submit(_step, 0, data, 1)
    assert first.record().epochs == 11
    second = executor.submit(_step, first.handle, data, 2)
    assert second.record().epochs == 23
    client.cancel([first.pair, first.record_future, second.pair, second.record_future, data])
    assert second.record_future.cancelled()
    assert second.record().epochs == 23  # waited for, it is submitted again
    client.cancel([second.pair, second.record_future])
    (done,) = list(executor.as_completed([second]))  # as_completed submits it again
    assert done is second and not done.record_future.cancelled()
    assert done.record().epochs == 23 and executor.fetch(done.handle) == 23
    executor.close()


def _exit_step(prev, data, n):
    os._exit(1)


def test_a_task_dask_gives_up_on_is_a_lost_trial():
    """``KilledWorker`` (the task was on ``allowed-failures + 1`` workers that died) is
    raised as ``TrialLostError``, which the driver records as a failed trial."""
    from skhpo._dask import DaskExecutor
    from skhpo.exceptions import TrialLostError

    with (
        dask_config.set({"distributed.scheduler.allowed-failures": 0}),
        _fresh_cluster() as cluster,
        distributed.Client(cluster) as client,
    ):
        executor = DaskExecutor(client)
        (step,) = executor.as_completed([executor.submit(_exit_step, 0, executor.put(1), 1)])
        with pytest.raises(TrialLostError, match="^KilledWorker: Attempted to run task"):
            step.record()
        executor.close()


@pytest.mark.parametrize("where", ["database", "checkpoints"])
def test_a_killed_worker_retrains_no_stored_rung(tmp_path, small_xy, where):
    """With storage, what dask recomputes after a lost worker is read back, not trained:
    from the database, or, with ``checkpoints=``, from the checkpoint location alone (the
    workers are kept from the database file, as workers on other machines would be)."""
    from skhpo import SearchStorage

    marker, log, db = tmp_path / "killed", tmp_path / "epochs.log", str(tmp_path / "s.db")
    storage, snapshot = db, db
    if where == "checkpoints":
        snapshot = str(tmp_path / "checkpoints")
        storage = SearchStorage(db, checkpoints=snapshot)
    clean = HyperbandSearchCV(
        CurveClassifier(), SPACE, max_iter=27, random_state=0, scheduler="in-process"
    ).fit(*small_xy)
    # the first model to reach its 10th epoch once 10 steps are stored kills its worker:
    # the worker holds the states of trials waiting for their next rung. Before dying it
    # notes the steps the storage held: those are the ones that must not be trained again.
    est = CurveClassifier(
        kill_marker=str(marker),
        kill_epoch=10,
        kill_snapshot=snapshot,
        kill_after_stored=10,
        sleep=0.005,
        log=str(log),
    )
    with _fresh_cluster() as cluster, distributed.Client(cluster) as client:
        if where == "checkpoints":
            client.register_plugin(fakes.no_database(db))
        search = HyperbandSearchCV(est, SPACE, max_iter=27, random_state=0, storage=storage)
        search.fit(*small_xy)
        refused = client.run(fakes.database_refusals) if where == "checkpoints" else {}
    assert marker.exists()
    res = search.cv_results_
    assert res["params"] == clean.cv_results_["params"]
    np.testing.assert_array_equal(res["test_score"], clean.cv_results_["test_score"])
    np.testing.assert_array_equal(res["partial_fit_calls"], clean.cv_results_["partial_fit_calls"])
    a_of = {m: repr(p["a"]) for m, p in zip(res["model_id"], res["params"], strict=True)}
    stored = [line.split() for line in marker.read_text().splitlines()[1:]]
    stored_epochs = {
        (a_of[m], str(e)) for m, b, e_ in stored for e in range(int(b) + 1, int(e_) + 1)
    }
    lines = [line.split() for line in log.read_text().splitlines()]  # "pid a epoch"
    twice = Counter((a, epoch) for _, a, epoch in lines) - Counter(set((a, e) for _, a, e in lines))
    print(
        f"[{where}] epochs trained with a worker killed: {len(lines)} (the plan: 357); steps "
        f"stored at the kill: {len(stored)}; trials trained again: {len({a for a, _ in twice})}"
        f"; epochs trained twice: {sum(twice.values())}; database reads refused: {refused}"
    )
    # Trained again: the killed task, and the tasks that had finished on that worker but
    # whose records had not reached the driver (how many depends on how far the driver
    # lags: a few on an idle machine, a dozen on a loaded one). Never a step the storage held.
    assert not stored_epochs & set(twice)
    assert len(stored) >= 10
    assert sum(refused.values()) == 0  # no worker even tried to open the database


def test_storage_on_the_cluster(client, small_xy, tmp_path):
    db = str(tmp_path / "run.db")
    first = _search(storage=db).fit(*small_xy)
    again = _search(storage=db).fit(*small_xy)
    assert again.search_stats_["pids"] == []  # nothing ran on the workers
    np.testing.assert_array_equal(again.cv_results_["test_score"], first.cv_results_["test_score"])
    assert again.best_estimator_.n_calls_ == first.best_estimator_.n_calls_


def test_a_hanging_trial_times_out_on_a_worker(client, small_xy):
    from skhpo.exceptions import TrialFailedWarning

    space = {"a": (0.0, 1.0), "fail": [None, None, "hang"]}
    with pytest.warns(TrialFailedWarning):
        search = _search(parameters=space, timeout=0.5).fit(*small_xy)
    res = search.cv_results_
    hung = np.array([p["fail"] == "hang" for p in res["params"]])
    assert (res["state"][hung] == "failed").all()
    assert all("TrialTimeoutError" in e for e in res["error"][hung])
    assert set(res["state"][~hung]) <= {"completed", "pruned"}


@pytest.mark.slow
def test_a_thousand_trials_all_accounted_for(client, small_xy):
    from skhpo import SuccessiveHalvingSearchCV

    search = SuccessiveHalvingSearchCV(
        CurveClassifier(),
        {"a": (0.0, 1.0)},
        n_initial_parameters=1000,
        max_iter=27,
        random_state=0,
    ).fit(*small_xy)
    res = search.cv_results_
    assert len(res["params"]) == len(set(res["model_id"])) == 1000
    assert set(res["state"]) == {"completed", "pruned"}
    assert search.metadata_ == search.metadata
    assert search.search_stats_["n_tasks"] == sum(
        n for n, _ in search.metadata["brackets"][0]["rungs"]
    )


def test_a_callback_raising_in_on_search_begin_closes_the_client_skhpo_opened(cluster, small_xy):
    import time

    from skhpo._events import SearchCallback

    def n_clients(dask_scheduler):
        return len(dask_scheduler.clients)

    with distributed.Client(cluster, set_as_default=False) as observer:
        before = observer.run_on_scheduler(n_clients)

        class Failing(SearchCallback):
            errors = []

            def on_search_begin(self, search, plan):
                self.seen = observer.run_on_scheduler(n_clients)  # skhpo's client is on
                raise RuntimeError("boom in on_search_begin")

            def on_search_error(self, search, error):
                self.errors.append(error)

        failing = Failing()
        search = _search(scheduler=cluster.scheduler_address, callbacks=[failing])
        with pytest.raises(RuntimeError, match="boom") as info:
            search.fit(*small_xy)
        assert failing.seen == before + 1
        assert failing.errors == [info.value]
        deadline = time.monotonic() + 10
        while observer.run_on_scheduler(n_clients) != before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert observer.run_on_scheduler(n_clients) == before


def _tiny_keras(digits):
    wrappers = pytest.importorskip("scikeras.wrappers")
    est = wrappers.KerasClassifier(fakes.build_tiny_mlp, verbose=0, random_state=0, batch_size=64)
    return est, fakes.TINY_MLP_SPACE, digits[0][:600], digits[1][:600]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sgd", "keras"])
def test_a_cluster_closes_cleanly_after_a_search(kind, digits, caplog):
    """No worker is killed at close: a Keras worker's exit used to take over 4 s."""
    if kind == "keras":
        est, space, X, y = _tiny_keras(digits)
    else:
        est, space = SGDClassifier(random_state=0), {"alpha": (1e-5, 1e-1, "log-uniform")}
        X, y = digits
    with caplog.at_level(logging.INFO, logger="distributed"):
        with _fresh_cluster(n_workers=1) as cluster, distributed.Client(cluster):
            HyperbandSearchCV(est, space, max_iter=9, random_state=0).fit(X, y)
            caplog.clear()
            start = time.perf_counter()
        took = time.perf_counter() - start
        closing = [r.getMessage() for r in caplog.records if r.name.startswith("distributed")]
    print(f"closing the cluster took {took:.2f} s")
    assert closing  # the close was logged
    assert not [m for m in closing if "still alive" in m or "killing" in m], closing
    if kind == "keras":
        # The nanny kills a worker after 4 s; this one built 17 models. Measured on the
        # 2-core machine: 2.1 s without skhpo's ExitPromptly plugin, 0.2 s with it.
        assert took < 1.5


def test_sgd_results_identical_in_process_and_on_the_cluster(client, digits):
    X, y = digits[0][:600], digits[1][:600]
    space = {"alpha": (1e-5, 1e-1, "log-uniform"), "penalty": ["l2", "l1"]}

    def run(scheduler=None):
        est = SGDClassifier(random_state=0)
        search = HyperbandSearchCV(est, space, max_iter=9, random_state=0, scheduler=scheduler)
        return search.fit(X, y).cv_results_

    on_cluster, in_process = run(), run("in-process")
    assert on_cluster["params"] == in_process["params"]
    np.testing.assert_array_equal(on_cluster["test_score"], in_process["test_score"])


@pytest.mark.slow
def test_keras_results_identical_when_workers_do_not_offload(digits, monkeypatch):
    """What the cluster guide says for Keras: with offload off, the same scores, unless
    a draw of the event loop (a connection's back-off, a peer chosen at random) lands
    while a trial is built, which a loaded machine makes likely. Then one or two scores
    differ, never the sampled parameters. Of two runs on the cluster, one must match.

    scikeras seeds Python's global ``random`` for each fit and Keras draws layer seeds
    from it; a worker's event loop thread draws from it too, when it sizes outgoing
    messages (``distributed.comm.offload``). With that off, it rarely draws.
    """
    est, space, X, y = _tiny_keras(digits)

    def run(scheduler=None):
        search = HyperbandSearchCV(est, space, max_iter=9, random_state=0, scheduler=scheduler)
        return search.fit(X, y).cv_results_

    in_process = run("in-process")
    monkeypatch.setenv("DASK_DISTRIBUTED__COMM__OFFLOAD", "False")
    # read by each worker process when it starts (the guide says the same)
    differing = []
    for _ in range(2):
        with _fresh_cluster() as cluster, distributed.Client(cluster):
            on_cluster = run()
        assert on_cluster["params"] == in_process["params"]
        differing.append(int((on_cluster["test_score"] != in_process["test_score"]).sum()))
        if differing[-1] == 0:
            break
    print(f"scores differing from the in-process run's, per cluster run: {differing}")
    assert differing[-1] == 0, differing
    np.testing.assert_array_equal(on_cluster["partial_fit_calls"], in_process["partial_fit_calls"])


def _dask_digits(digits, path=None, chunks=300):
    da = pytest.importorskip("dask.array")
    X, y = da.from_array(digits[0], chunks=chunks), da.from_array(digits[1], chunks=chunks)
    if path is not None:  # note where each block of X is computed
        X = X.map_blocks(fakes.noting_pid, str(path), dtype=X.dtype)
    return X, y


def test_dask_arrays_train_block_by_block_in_process(digits):
    X, y = _dask_digits(digits)
    search = _search(max_iter=9, scheduler="in-process").fit(X, y)
    assert search.metadata_ == search.metadata
    best, epochs = search.best_estimator_, search.cv_results_["partial_fit_calls"]
    # one epoch is one pass over the 6 blocks, less the rows held out of each block
    assert best.n_calls_ == 6 * epochs[search.best_index_]
    assert 0.7 * 297 < best.n_train_ < 0.9 * 297  # the last block: 1797 - 5 * 300 rows
    refitted = _search(max_iter=9, scheduler="in-process", refit=True).fit(X, y).best_estimator_
    assert refitted.n_calls_ == best.n_calls_
    assert refitted.n_train_ == 297  # every row of it


def test_dask_arrays_of_unknown_block_sizes(digits):
    X, y = _dask_digits(digits)
    keep = X[:, 0] > -1  # every row, but dask cannot know how many per block
    X, y = X[keep], y[keep]
    assert np.isnan(X.shape[0])
    est = SGDClassifier(random_state=0)
    search = HyperbandSearchCV(
        est, {"alpha": (1e-5, 1e-1, "log-uniform")}, max_iter=9, random_state=0
    )
    search.fit(X, y)
    assert search.score(*digits) > 0.85
    np.testing.assert_array_equal(search.classes_, np.arange(10))


def test_dask_dataframes(digits):
    dd = pytest.importorskip("dask.dataframe")
    import pandas as pd

    df = dd.from_pandas(pd.DataFrame(digits[0]), npartitions=4)
    labels = dd.from_pandas(pd.Series(digits[1]), npartitions=4)
    search = _search(max_iter=3).fit(df, labels)
    assert (
        search.best_estimator_.n_calls_
        == 4 * search.cv_results_["partial_fit_calls"][search.best_index_]
    )


def test_dask_blocks_are_computed_on_the_workers(client, digits, tmp_path):
    """Blocks reach the workers as dask computes them there; classes= may be a Future."""
    log = tmp_path / "pids"
    X, y = _dask_digits(digits, path=log)
    classes = client.scatter(np.arange(10))
    search = _search(max_iter=9, refit=False).fit(X, y, classes=classes)
    assert search.metadata_ == search.metadata
    worker_pids = set(client.run(os.getpid).values())
    pids = {int(p) for p in log.read_text().split()}
    assert pids and pids <= worker_pids  # no block of X was computed in the driver
    np.testing.assert_array_equal(search.best_estimator_.seen_classes_arg_, np.arange(10))
    assert (
        search.best_estimator_.n_calls_
        == 6 * search.cv_results_["partial_fit_calls"][search.best_index_]
    )


class _TaskResources(distributed.diagnostics.plugin.SchedulerPlugin):
    """Notes the resources each task asked for, as the scheduler starts it."""

    def __init__(self, scheduler):
        self.scheduler = scheduler
        self.asked: dict[str, dict] = {}

    def transition(self, key, start, finish, *args, **kwargs):
        task = self.scheduler.tasks.get(key)
        if finish == "processing" and task is not None:
            self.asked[str(key)] = dict(task.resource_restrictions or {})


def test_the_refit_runs_on_a_worker_with_the_trials_resources(cluster, client, digits, tmp_path):
    """refit=True trains the best parameters as one more task on the cluster, asking for
    the trials' resources; only its model comes back, and no block of X is computed in
    the driver."""
    log = tmp_path / "pids"
    X, y = _dask_digits(digits, path=log)
    asked = _TaskResources(cluster.scheduler)
    cluster.scheduler.add_plugin(asked, name="skhpo-test-task-resources")
    try:
        search = _search(max_iter=9, refit=True, resources={"slot": 1}).fit(X, y)
    finally:
        cluster.scheduler.remove_plugin(name="skhpo-test-task-resources")
    worker_pids = set(client.run(os.getpid).values())
    refit = search.best_estimator_
    assert len(set(refit.pids_)) == 1 and set(refit.pids_) <= worker_pids
    assert refit.n_calls_ == 6 * search.cv_results_["partial_fit_calls"][search.best_index_]
    assert refit.n_train_ == 297  # every row of the last block: all the data, no hold-out
    assert search.refit_time_ > 0
    assert {int(p) for p in log.read_text().split()} <= worker_pids
    refit_tasks = [r for key, r in asked.asked.items() if "-refit-" in key]
    assert refit_tasks == [{"slot": 1}]


@pytest.mark.slow
def test_a_dask_array_larger_than_the_worker_memory_limit_trains(tmp_path):
    """400 MB of lazily generated data on one worker limited to 390 MB (about 250 MB of
    which the idle worker process uses, dask.dataframe installed): one epoch is a pass
    over 40 blocks of 10 MB, each computed in the training task and let go after its
    ``partial_fit``."""
    da = pytest.importorskip("dask.array")
    log = tmp_path / "pids"
    X = da.random.RandomState(0).random_sample((1_000_000, 50), chunks=(25_000, 50))
    y = (X[:, 0] + X[:, 1] > 1).astype(np.int64)
    X = X.map_blocks(fakes.noting_pid, str(log), dtype=X.dtype)
    assert X.nbytes == 400e6
    space = {"alpha": (1e-5, 1e-1, "log-uniform")}
    search = HyperbandSearchCV(
        SGDClassifier(random_state=0), space, max_iter=3, test_size=0.05, random_state=0
    )
    with (
        _fresh_cluster(n_workers=1, memory_limit="390MB") as cluster,
        distributed.Client(cluster) as client,
    ):
        (pid,) = client.run(os.getpid).values()
        search.fit(X, y, classes=np.array([0, 1]))
        assert list(client.run(os.getpid).values()) == [pid]  # never restarted
    assert {int(p) for p in log.read_text().split()} == {pid}  # no block in the driver
    assert search.metadata_["partial_fit_calls"] == 11
    assert search.best_score_ > 0.95
    epochs = search.cv_results_["mean_partial_fit_time"]
    print(f"one epoch over 40 blocks on the worker: {np.median(epochs):.2f} s (median)")


def test_persisted_dask_arrays_are_read_from_the_workers(client, digits):
    X, y = _dask_digits(digits)
    keep = X[:, 0] > -1
    X, y = client.persist([X[keep], y[keep]])  # held by the workers, block sizes unknown
    search = _search(max_iter=9).fit(X, y)
    assert search.metadata_ == search.metadata
    best = search.best_estimator_
    assert best.n_calls_ == 6 * search.cv_results_["partial_fit_calls"][search.best_index_]


@pytest.mark.parametrize(
    "change, message",
    [
        ("pipeline", "Pipeline's pre-processing steps"),
        ("sample_weight", "fit parameter 'sample_weight'"),
        ("blocks", "same blocks of rows"),
    ],
)
def test_dask_input_errors_before_training(digits, change, message):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _dask_digits(digits)
    est, fit_params = CurveClassifier(), {}
    if change == "pipeline":
        est = make_pipeline(StandardScaler(), est)
    elif change == "sample_weight":
        fit_params["sample_weight"] = np.ones(len(digits[1]))
    else:
        y = y.rechunk(200)
    space = {"curveclassifier__a": [0.1]} if change == "pipeline" else {"a": [0.1]}
    search = HyperbandSearchCV(est, space, max_iter=3, scheduler="in-process")
    with pytest.raises(ValueError, match=message):
        search.fit(X, y, **fit_params)


def test_cv_on_the_cluster_equals_in_process(client):
    from fakes import FoldClassifier
    from sklearn.model_selection import KFold

    rng = np.random.RandomState(0)
    X = np.column_stack([np.repeat(np.arange(3), 30), rng.rand(90, 2)])
    y = np.tile(np.arange(3), 30)
    kw = dict(max_iter=9, random_state=0, cv=KFold(3), return_train_score=True)
    here = HyperbandSearchCV(FoldClassifier(), {"a": (0.0, 1.0)}, scheduler="in-process", **kw)
    there = HyperbandSearchCV(FoldClassifier(), {"a": (0.0, 1.0)}, **kw)
    here.fit(X, y)
    there.fit(X, y)
    assert os.getpid() not in there.search_stats_["pids"]
    for key in ["mean_test_score", "split0_test_score", "split2_test_score", "std_test_score"]:
        np.testing.assert_array_equal(there.cv_results_[key], here.cv_results_[key])
    assert there.best_estimator_.n_train_ == len(X)  # refit on all the data, on a worker
