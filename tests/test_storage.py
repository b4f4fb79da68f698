"""storage=: every step recorded, resume after a crash, mismatches refused."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from fakes import CurveClassifier

from skhpo import HyperbandSearchCV
from skhpo._events import SearchCallback
from skhpo._storage import SearchStorage, open_storage
from skhpo.exceptions import StorageMismatchError

SPACE = {"a": (0.0, 1.0), "b": [1, 2, 3]}
HERE = os.path.dirname(os.path.abspath(__file__))
# the scripts run in subprocesses import this skhpo, the fakes, and what this process can
PYTHONPATH = os.pathsep.join(
    [os.path.dirname(HERE), HERE, *os.environ.get("PYTHONPATH", "").split(os.pathsep)]
)


def _search(storage, log=None, **kw):
    kw.setdefault("max_iter", 27)
    kw.setdefault("random_state", 0)
    if not isinstance(storage, SearchStorage):
        storage = str(storage)
    return HyperbandSearchCV(CurveClassifier(log=log), SPACE, storage=storage, **kw)


def _epochs_logged(log):
    if not os.path.exists(log):
        return []
    with open(log) as f:
        return [line.split() for line in f]


def test_a_finished_search_resumes_without_training(tmp_path, small_xy):
    db, log = tmp_path / "run.db", tmp_path / "calls.log"
    first = _search(db, log=str(log)).fit(*small_xy)
    trained = len(_epochs_logged(log))
    assert trained == 357
    again = _search(db, log=str(log)).fit(*small_xy)
    assert len(_epochs_logged(log)) == trained  # nothing retrained
    assert again.cv_results_["params"] == first.cv_results_["params"]
    np.testing.assert_array_equal(again.cv_results_["test_score"], first.cv_results_["test_score"])
    np.testing.assert_array_equal(again.cv_results_["state"], first.cv_results_["state"])
    assert again.best_index_ == first.best_index_
    assert again.best_estimator_.n_calls_ == first.best_estimator_.n_calls_
    assert len(again.history_) == len(first.history_)


class _Scored(SearchCallback):
    def __init__(self):
        self.scored = []

    def on_trial_scored(self, search, trial, epochs, score):
        self.scored.append((trial.model_id, epochs))


def test_verbose_and_callbacks_do_not_change_the_fingerprint(tmp_path, small_xy):
    db, log = tmp_path / "run.db", tmp_path / "calls.log"
    first = _search(db, log=str(log), max_iter=9, verbose=1).fit(*small_xy)
    trained = len(_epochs_logged(log))
    callback = _Scored()
    again = _search(db, log=str(log), max_iter=9, verbose=0, prefix="x", callbacks=[callback]).fit(
        *small_xy
    )  # resumed, not refused
    assert len(_epochs_logged(log)) == trained and again.search_stats_["n_tasks"] == 0
    assert again.cv_results_["params"] == first.cv_results_["params"]
    assert callback.scored == []  # a replayed step is not told to callbacks again


# The layout skhpo wrote before schema 3 (schema 2; schema 1 had no 'schema' row).
OLD_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE trials (idx INTEGER PRIMARY KEY, model_id TEXT NOT NULL, bracket INTEGER NOT NULL,
    params BLOB NOT NULL);
CREATE TABLE steps (seq INTEGER PRIMARY KEY AUTOINCREMENT, idx INTEGER NOT NULL,
    epochs_before INTEGER NOT NULL, record BLOB NOT NULL);
CREATE TABLE checkpoints (idx INTEGER NOT NULL, epochs INTEGER NOT NULL, state BLOB NOT NULL,
    PRIMARY KEY (idx, epochs));
INSERT INTO meta VALUES ('fingerprint', 'x');
"""


@pytest.mark.parametrize("version", [1, 2, 4])
def test_a_storage_of_another_schema_is_refused_clearly(tmp_path, small_xy, version):
    db = tmp_path / "run.db"
    if version == 4:  # written by a later skhpo
        _search(db, max_iter=3).fit(*small_xy)
        with sqlite3.connect(db) as con:
            con.execute("UPDATE skhpo_meta SET value = '4' WHERE key = 'schema'")
    else:
        with sqlite3.connect(db) as con:
            con.executescript(OLD_SCHEMA)
            if version == 2:
                con.execute("INSERT INTO meta VALUES ('schema', '2')")
    con.close()
    with pytest.raises(
        StorageMismatchError, match=f"storage schema {version}; this version reads schema 3"
    ):
        _search(db, max_iter=3).fit(*small_xy)


@pytest.mark.parametrize(
    "change",
    [{"max_iter": 9}, {"random_state": 1}, {"data": True}, {"aggressiveness": 2}],
)
def test_another_search_is_refused(tmp_path, small_xy, change):
    db = tmp_path / "run.db"
    _search(db, max_iter=3).fit(*small_xy)
    X, y = small_xy
    kw = {"max_iter": 3, **change}
    if kw.pop("data", False):
        X = X + 1
    with pytest.raises(StorageMismatchError, match="holds another search"):
        _search(db, **kw).fit(X, y)


def test_unwritable_storage_is_a_clear_error(tmp_path, small_xy):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ValueError, match="Cannot open or create the storage"):
        _search(blocker / "run.db", max_iter=3).fit(*small_xy)
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not an sqlite file" * 100)
    with pytest.raises(ValueError, match="Cannot open or create the storage"):
        _search(garbage, max_iter=3).fit(*small_xy)


def test_storage_failures_are_recorded(tmp_path, small_xy):
    from skhpo.exceptions import TrialFailedWarning

    db = tmp_path / "run.db"
    space = {"a": (0.0, 1.0), "fail": [None, "fit"]}
    with pytest.warns(TrialFailedWarning):
        first = HyperbandSearchCV(
            CurveClassifier(), space, max_iter=9, random_state=0, storage=str(db)
        ).fit(*small_xy)
    with pytest.warns(TrialFailedWarning):
        again = HyperbandSearchCV(
            CurveClassifier(), space, max_iter=9, random_state=0, storage=str(db)
        ).fit(*small_xy)
    np.testing.assert_array_equal(again.cv_results_["state"], first.cv_results_["state"])
    np.testing.assert_array_equal(again.cv_results_["error"], first.cv_results_["error"])


SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    sys.path.insert(0, {tests!r})
    from fakes import CurveClassifier
    from skhpo import HyperbandSearchCV
    rng = np.random.RandomState(0)
    X, y = rng.rand(120, 4), np.arange(120) % 3
    search = HyperbandSearchCV(
        CurveClassifier(sleep={sleep}, log={log!r}), {{"a": (0.0, 1.0), "b": [1, 2, 3]}},
        max_iter=27, random_state=0, storage={db!r})
    search.fit(X, y)
    print("done", search.best_index_)
    """
)


def _stored_epochs(storage, key="a"):
    """Epochs of each trial's stored steps, by the trial's parameter ``key`` (by the
    trial's index with ``key=None``)."""
    stored_db = open_storage(str(storage))
    try:
        params = {i: i if key is None else p[key] for i, p in stored_db.stored_params().items()}
        stored = {}
        for i, _, rec in stored_db.steps():
            stored[params[i]] = max(stored.get(params[i], 0), rec.epochs)
    finally:
        stored_db.close()
    return stored


def _n_steps(storage):
    """How many steps ``storage`` holds (0 while it cannot be read)."""
    try:
        stored_db = open_storage(str(storage))
    except Exception:
        return 0
    try:
        return len(stored_db.steps())
    except Exception:
        return 0
    finally:
        stored_db.close()


def _resume(script, env, log, stored, killed_pid, timeout):
    """Run ``script`` again to the end: ``(epochs it trained, those of them in
    rungs the storage held)``, from the log of epochs trained."""
    resumed = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert resumed.returncode == 0, resumed.stderr
    new_calls = [line for line in _epochs_logged(log) if line[0] not in killed_pid]
    retrained = [c for c in new_calls if int(c[2]) <= stored.get(float(c[1]), 0)]
    print(
        f"killed with {sum(stored.values())} epochs stored; the resumed run trained "
        f"{len(new_calls)} epochs, {len(retrained)} of them in stored rungs"
    )
    return new_calls, retrained


def _run_and_kill(script, env, db, n_steps):
    """Run ``script``; SIGKILL it once the storage ``db`` holds ``n_steps`` steps."""
    proc = subprocess.Popen([sys.executable, str(script)], env=env)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
        if _n_steps(db) >= n_steps:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """A storage URL: an SQLite file, or a database on a real PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "run.db")
    return request.getfixturevalue("postgres_url")


@pytest.mark.slow
def test_sigkill_in_the_middle_then_resume(tmp_path, small_xy, database):
    db, log = database, tmp_path / "calls.log"
    script = tmp_path / "run.py"
    script.write_text(SCRIPT.format(tests=HERE, sleep=0.01, log=str(log), db=str(db)))
    env = {**os.environ, "PYTHONPATH": PYTHONPATH}
    _run_and_kill(script, env, db, n_steps=40)
    stored = _stored_epochs(db)
    assert 0 < sum(stored.values()) < 357
    killed_pid = {line[0] for line in _epochs_logged(log)}
    assert len(killed_pid) == 1

    new_calls, retrained = _resume(script, env, log, stored, killed_pid, 120)
    # after the resume, no stored (completed) rung was trained again
    assert retrained == []
    # and the search ends with the same trials as an uninterrupted one
    X, y = np.random.RandomState(0).rand(120, 4), np.arange(120) % 3
    clean = HyperbandSearchCV(CurveClassifier(), SPACE, max_iter=27, random_state=0).fit(X, y)
    n_calls = len(_epochs_logged(log))
    final = HyperbandSearchCV(
        CurveClassifier(sleep=0.01, log=str(log)),
        SPACE,
        max_iter=27,
        random_state=0,
        storage=str(db),
    ).fit(X, y)  # a third run, in this process: everything is stored
    assert len(_epochs_logged(log)) == n_calls  # nothing trained
    assert final.cv_results_["params"] == clean.cv_results_["params"]
    np.testing.assert_array_equal(
        final.cv_results_["partial_fit_calls"], clean.cv_results_["partial_fit_calls"]
    )
    np.testing.assert_array_equal(final.cv_results_["state"], clean.cv_results_["state"])
    np.testing.assert_array_equal(final.cv_results_["test_score"], clean.cv_results_["test_score"])
    assert final.best_index_ == clean.best_index_


README_KEY = "loggedsgdclassifier__alpha"


def readme_search(storage=None, sampler="random"):
    """The README's search, on scikit-learn: a Pipeline and a loguniform space."""
    from fakes import LoggedSGDClassifier
    from scipy.stats import loguniform
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    space = {
        README_KEY: loguniform(1e-5, 1e-1),
        "loggedsgdclassifier__penalty": ["l2", "l1"],
        "standardscaler__with_mean": [True, False],
    }
    pipe = make_pipeline(StandardScaler(), LoggedSGDClassifier(random_state=0))
    return HyperbandSearchCV(
        pipe, space, max_iter=27, random_state=0, storage=storage, sampler=sampler
    )


def digits():
    from sklearn.datasets import load_digits

    return load_digits(return_X_y=True)


README_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from test_storage import digits, readme_search
    search = readme_search({db!r}, {sampler!r}).fit(*digits())
    print("done", search.best_index_)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["random", "bayes"])
def test_the_readme_space_resumes_in_a_new_process(sampler, tmp_path, monkeypatch):
    """issue 11: a frozen loguniform pickles differently in each process, and a storage
    fingerprinted by pickling could not be resumed in a new one. With sampler="bayes",
    the sampler must also propose after the resume what it would have proposed."""
    db, log = tmp_path / "run.db", tmp_path / "calls.log"
    script = tmp_path / "run.py"
    script.write_text(README_SCRIPT.format(tests=HERE, db=str(db), sampler=sampler))
    env = {
        **os.environ,
        "PYTHONPATH": PYTHONPATH,
        "SKHPO_TEST_LOG": str(log),
        "SKHPO_TEST_SLEEP": "0.01",
    }
    _run_and_kill(script, env, db, n_steps=40)
    stored = _stored_epochs(db, README_KEY)
    n_stored = sum(_stored_epochs(db, None).values())
    assert 0 < n_stored < 357
    killed_pid = {line[0] for line in _epochs_logged(log)}

    new_calls, _ = _resume(script, env, log, stored, killed_pid, 300)
    # the same trials, params and scores as an uninterrupted run
    clean = readme_search(sampler=sampler).fit(*digits())
    # no stored rung trained again (counted, not matched by alpha: the Gaussian process
    # can propose one alpha, a bound, to several trials)
    assert new_calls and len(new_calls) == sum(clean.cv_results_["partial_fit_calls"]) - n_stored
    n_calls = len(_epochs_logged(log))
    monkeypatch.setenv("SKHPO_TEST_LOG", str(log))
    final = readme_search(str(db), sampler).fit(*digits())  # everything is stored: nothing trains
    assert len(_epochs_logged(log)) == n_calls
    assert final.cv_results_["params"] == clean.cv_results_["params"]
    for key in ("partial_fit_calls", "state", "test_score"):
        np.testing.assert_array_equal(final.cv_results_[key], clean.cv_results_[key])
    assert final.best_index_ == clean.best_index_


def test_bohb_resumes_with_the_stored_configurations(tmp_path, small_xy):
    db = tmp_path / "bohb.db"
    first = _search(db, max_iter=9, sampler="bayes").fit(*small_xy)
    again = _search(db, max_iter=9, sampler="bayes").fit(*small_xy)
    assert again.cv_results_["params"] == first.cv_results_["params"]
    assert again.search_stats_["n_tasks"] == 0


def test_bohb_warm_starts_from_the_storage_at_every_budget(tmp_path, small_xy):
    """A second fit on the same storage tells its new sampler every stored score at its
    epochs (rung by rung, all brackets), before asking it for anything."""
    db = tmp_path / "bohb.db"
    first = _search(db, max_iter=9, sampler="bayes").fit(*small_xy)
    again = _search(db, max_iter=9, sampler="bayes").fit(*small_xy)
    assert again.search_stats_["n_tasks"] == 0
    told = again.sampler_.observations
    assert told == first.sampler_.observations
    stored = sorted((h["partial_fit_calls"], h["score"]) for h in first.history_)
    assert sorted((o["budget"], o["score"]) for o in told) == stored
    assert {o["budget"] for o in told} == {1, 3, 9}


def test_bohb_keeps_the_stored_parameters_when_the_sampler_proposes_others(
    tmp_path, small_xy, caplog
):
    """A Gaussian process fitted elsewhere (other hardware) may propose other points than
    the stored run did: the stored trials stand, and the log says so."""
    import pickle

    db = tmp_path / "bohb.db"
    _search(db, max_iter=9, sampler="bayes").fit(*small_xy)
    with sqlite3.connect(db) as con:
        (blob,) = con.execute("SELECT params FROM skhpo_trials WHERE idx = 0").fetchone()
        changed = {**pickle.loads(blob), "a": 0.125}
        con.execute("UPDATE skhpo_trials SET params = ? WHERE idx = 0", (pickle.dumps(changed),))
    with caplog.at_level("WARNING", logger="skhpo"):
        again = _search(db, max_iter=9, sampler="bayes").fit(*small_xy)
    assert again.cv_results_["params"][0] == changed
    assert again.search_stats_["n_tasks"] == 0
    assert "bracket=2: the sampler proposed other parameters than the storage holds" in (
        caplog.text
    )


def test_a_recomputed_task_reads_its_stored_step_back(tmp_path, small_xy):
    """What a dask worker does when it recomputes a lost task: read it back, not train."""
    from skhpo._storage import read_stored_step
    from skhpo._worker import SearchData, TrialSpec, step_task

    db, log = tmp_path / "run.db", tmp_path / "calls.log"
    search = _search(db).fit(*small_xy)
    res = search.cv_results_
    best = res["model_id"][search.best_index_]  # its checkpoints outlive the search
    pruned = res["model_id"][list(res["state"]).index("pruned")]  # its were let go
    data = SearchData(None, None, None, None, {}, None, stored_steps=str(db))
    spec = TrialSpec(best, CurveClassifier(log=str(log)), res["params"][search.best_index_])
    state, record = step_task(spec, data, 1)
    assert record.restored and record.model_id == best
    assert state.epochs == record.epochs == state.final.n_calls_ > 0
    assert not log.exists()  # nothing trained
    state2, record2 = step_task((state, record), data, 99)  # the next rung, from the first
    assert record2.restored and state2.epochs == state2.final.n_calls_ > state.epochs
    assert read_stored_step(str(db), pruned, 0) is None
    assert read_stored_step(str(db), "no-such-trial", 0) is None
    assert read_stored_step(str(tmp_path / "missing.db"), best, 0) is None
    assert not (tmp_path / "missing.db").exists()  # read-only: nothing created


class _Events(SearchCallback):
    """Records the end and error events; raises in on_search_begin when ``fail``."""

    def __init__(self, fail=False):
        self.fail = fail
        self.errors, self.ended = [], False

    def on_search_begin(self, search, plan):
        if self.fail:
            raise RuntimeError("boom in on_search_begin")

    def on_search_error(self, search, error):
        self.errors.append(error)

    def on_search_end(self, search):
        self.ended = True


def test_a_callback_raising_in_on_search_begin_closes_the_storage(tmp_path, small_xy, monkeypatch):
    import skhpo._storage

    opened = []

    class Recorded(skhpo._storage.SqliteStorage):
        def __init__(self, spec):
            super().__init__(spec)
            opened.append(self)

    monkeypatch.setattr(skhpo._storage, "SqliteStorage", Recorded)
    first, failing, never = _Events(), _Events(fail=True), _Events()
    db = tmp_path / "run.db"
    with pytest.raises(RuntimeError, match="boom in on_search_begin") as info:
        _search(db, max_iter=3, callbacks=[first, failing, never]).fit(*small_xy)
    assert len(opened) == 1
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        opened[0]._db.execute("SELECT 1")
    # the callbacks that began hear of the error (the failing one too), none of the end
    assert first.errors == [info.value] and failing.errors == [info.value]
    assert never.errors == [] and not (first.ended or failing.ended or never.ended)
    ok = _Events()
    _search(db, max_iter=3, callbacks=[ok]).fit(*small_xy)
    assert ok.ended and ok.errors == []
    assert len(opened) == 2
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        opened[1]._db.execute("SELECT 1")


def test_two_searches_in_one_database_stay_apart(database, small_xy):
    """Two studies of one database: each resumes its own search; a third search under
    a taken name is refused."""
    a, b = SearchStorage(database, study="a"), SearchStorage(database, study="b")
    first_a = _search(a, max_iter=9).fit(*small_xy)
    first_b = _search(b, max_iter=9, random_state=1).fit(*small_xy)
    again_a = _search(a, max_iter=9).fit(*small_xy)
    again_b = _search(b, max_iter=9, random_state=1).fit(*small_xy)
    assert again_a.search_stats_["n_tasks"] == again_b.search_stats_["n_tasks"] == 0
    assert again_a.cv_results_["params"] == first_a.cv_results_["params"]
    assert again_b.cv_results_["params"] == first_b.cv_results_["params"]
    assert first_a.cv_results_["params"] != first_b.cv_results_["params"]
    with pytest.raises(StorageMismatchError, match="holds another search.*another study name"):
        _search(a, max_iter=9, random_state=1).fit(*small_xy)


def test_a_password_is_never_shown(postgres_url, small_xy):
    """The server trusts loopback connections, so the password is ignored: it must show
    neither in the search's repr nor in an error message."""
    url = postgres_url.replace("skhpo@", "skhpo:s3cret@")
    search = _search(SearchStorage(url, study="x"), max_iter=3)
    assert "s3cret" not in repr(search) and "***" in repr(search)
    search.fit(*small_xy)
    with pytest.raises(StorageMismatchError) as info:
        _search(SearchStorage(url, study="x"), max_iter=9).fit(*small_xy)
    assert "s3cret" not in str(info.value) and "***" in str(info.value)
    unreachable = url.rsplit(":", 1)[0] + ":1/nothing"
    with pytest.raises(ValueError, match="Cannot open the storage") as info:
        _search(unreachable, max_iter=3).fit(*small_xy)
    assert "s3cret" not in str(info.value)


def test_a_storage_url_of_another_kind_is_a_clear_error(small_xy):
    with pytest.raises(ValueError, match="give an SQLite file's path, an sqlite:/// URL or"):
        _search("mysql://u:pw@host/db", max_iter=3).fit(*small_xy)


def test_checkpoints_at_a_location_outside_the_database(tmp_path, small_xy):
    """checkpoints= (memory:// here; a folder, s3://, gs:// alike): the database keeps
    no checkpoint bytes; a resume and a recomputed task read the rungs from the location."""
    from skhpo._storage import read_stored_step

    db = tmp_path / "run.db"
    storage = SearchStorage(db, checkpoints=f"memory://skhpo-{tmp_path.name}/ckpt")
    first = _search(storage, max_iter=9, refit=False).fit(*small_xy)
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT state IS NULL FROM skhpo_checkpoints").fetchall()
    con.close()
    assert rows and all(null for (null,) in rows)
    again = _search(storage, max_iter=9, refit=False).fit(*small_xy)
    assert again.search_stats_["n_tasks"] == 0
    assert again.best_estimator_.n_calls_ == first.best_estimator_.n_calls_ > 0
    best = first.cv_results_["model_id"][first.best_index_]
    reader = open_storage(storage).step_reader()
    state, record = read_stored_step(reader, best, 0)
    assert record.model_id == best and state.epochs == record.epochs == state.final.n_calls_
    assert read_stored_step(reader, "no-such-trial", 0) is None
    with pytest.raises(StorageMismatchError, match="give the same checkpoints= location"):
        _search(db, max_iter=9, refit=False).fit(*small_xy)


def test_a_checkpoint_file_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    """In a folder, a write that dies midway leaves the earlier file and no partial one."""
    from skhpo._storage import _CheckpointFiles

    files = _CheckpointFiles(str(tmp_path / "ckpt"), "study")
    path = files._rung("trial-0", 3)
    files._put(path, b"first checkpoint")
    fs = files._paths()[0]
    real_pipe = fs.pipe_file

    def dies_midway(target, data, **kwargs):
        real_pipe(target, data[: len(data) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(fs, "pipe_file", dies_midway)
    with pytest.raises(OSError, match="disk full"):
        files._put(path, b"second checkpoint, longer")
    assert fs.cat_file(path) == b"first checkpoint"
    assert [os.path.basename(p) for p in fs.ls(path.rsplit("/", 1)[0])] == ["3"]
