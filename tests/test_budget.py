"""Hyperband's budget: several iterations, a total of epochs, a wall-clock limit; and the
order brackets run in (the first fully trained model comes early)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from fakes import CurveClassifier

from skhpo import HyperbandSearchCV
from skhpo.callbacks import SearchCallback
from skhpo.exceptions import StorageMismatchError

SPACE = {"a": (0.0, 1.0)}


def _search(**kw):
    kw.setdefault("max_iter", 27)
    kw.setdefault("random_state", 0)
    return HyperbandSearchCV(CurveClassifier(), kw.pop("parameters", SPACE), **kw)


def _epochs_to_first_full(history, max_iter):
    """Epochs spent (all trials) when a trial first reaches ``max_iter`` epochs."""
    done, spent = {}, 0
    for rec in history:
        spent += rec["partial_fit_calls"] - done.get(rec["model_id"], 0)
        done[rec["model_id"]] = rec["partial_fit_calls"]
        if rec["partial_fit_calls"] == max_iter:
            return spent
    return None


def test_the_first_bracket_is_trained_to_the_end_before_the_next_ones_start(small_xy):
    """In-process, promotions run before other brackets' first rungs (as dask's priority
    does): the most aggressive bracket's best model reaches max_iter after that bracket's
    81 epochs, not after every bracket's first rung (144 epochs)."""
    search = _search().fit(*small_xy)
    assert _epochs_to_first_full(search.history_, 27) == 81
    assert search.metadata["brackets"][0]["partial_fit_calls"] == 81


# -- several iterations ------------------------------------------------------------------


def _trained(log):
    """Epochs trained, as CurveClassifier(log=...) wrote them (0 when no file)."""
    return len(log.read_text().splitlines()) if log.exists() else 0


@pytest.mark.parametrize("sampler", ["random", "bayes"])
def test_several_iterations_run_every_bracket_again_with_new_trials(small_xy, sampler):
    one = _search(max_iter=9, sampler=sampler).fit(*small_xy)
    two = _search(max_iter=9, sampler=sampler, n_iterations=2).fit(*small_xy)
    res = two.cv_results_
    assert len(res["params"]) == 2 * 17 and res["partial_fit_calls"].sum() == 2 * 69
    assert list(res["iteration"]) == [1] * 17 + [2] * 17
    assert len(set(res["model_id"])) == 34
    # the first iteration is the one-iteration search, ids included (dask-ml's forms)
    assert list(res["model_id"][:17]) == list(one.cv_results_["model_id"])
    assert res["params"][:17] == one.cv_results_["params"]
    np.testing.assert_array_equal(res["test_score"][:17], one.cv_results_["test_score"])
    assert res["model_id"][17] == "iteration=2-bracket=2-0"
    assert res["params"][17:] != res["params"][:17]
    assert {h["iteration"] for h in two.history_} == {1, 2}
    assert set(two.model_history_) == set(res["model_id"])
    meta = two.metadata
    assert [(b["iteration"], b["bracket"]) for b in meta["brackets"]] == [
        (1, 2),
        (1, 1),
        (1, 0),
        (2, 2),
        (2, 1),
        (2, 0),
    ]
    assert meta["n_models"] == 34 and meta["partial_fit_calls"] == 138
    assert two.metadata_ == meta
    seeds = [b["SuccessiveHalvingSearchCV params"]["random_state"] for b in meta["brackets"]]
    assert len(set(seeds)) == 6 and seeds[:3] == [
        b["SuccessiveHalvingSearchCV params"]["random_state"] for b in one.metadata["brackets"]
    ]
    assert "n_iterations" not in meta["brackets"][0]["SuccessiveHalvingSearchCV params"]


def test_an_epoch_budget_starts_the_brackets_that_fit(small_xy):
    # one iteration of max_iter=9 plans 69 epochs, its first bracket 21
    search = _search(max_iter=9, n_iterations=None, max_epochs_total=100).fit(*small_xy)
    res = search.cv_results_
    assert [(b["iteration"], b["bracket"]) for b in search.metadata_["brackets"]] == [
        (1, 2),
        (1, 1),
        (1, 0),
        (2, 2),
    ]
    assert res["partial_fit_calls"].sum() == 69 + 21 <= 100
    # whichever comes first: two iterations of 69 epochs stop at 100 too
    both = _search(max_iter=9, n_iterations=2, max_epochs_total=100).fit(*small_xy)
    assert both.cv_results_["params"] == res["params"]
    few = _search(max_iter=9, n_iterations=3, max_epochs_total=1000).fit(*small_xy)
    assert few.cv_results_["partial_fit_calls"].sum() == 3 * 69


def test_a_time_limit_stops_starting_and_promoting(small_xy, tmp_path):
    log = tmp_path / "epochs.log"
    search = HyperbandSearchCV(
        CurveClassifier(sleep=0.02, log=str(log)),
        SPACE,
        max_iter=9,
        n_iterations=None,
        max_time=0.5,
        random_state=0,
    )
    start = time.time()
    search.fit(*small_xy)
    took = time.time() - start
    res = search.cv_results_
    # in-process, waiting tasks are dropped: it ends after the task running at 0.5 s
    # (9 epochs at most, 0.18 s), with slack for a loaded machine
    assert took < 0.5 + 1.5
    assert 0 < res["partial_fit_calls"].sum() == _trained(log) < 69
    assert (res["partial_fit_calls"] > 0).all()  # trials that never trained are left out
    assert set(res["state"]) <= {"completed", "pruned"}
    assert (res["state"] == "pruned").any()
    assert res["partial_fit_calls"].sum() == search.metadata_["partial_fit_calls"]
    assert search.best_score_ == np.nanmax(res["test_score"])
    assert search.best_estimator_.n_calls_ == res["partial_fit_calls"][search.best_index_]
    assert sum(len(v) for v in search.model_history_.values()) == len(search.history_)


def test_a_larger_budget_extends_a_stored_search(small_xy, tmp_path):
    db, log = str(tmp_path / "s.db"), tmp_path / "epochs.log"

    def search(**kw):
        return HyperbandSearchCV(
            CurveClassifier(log=str(log)), SPACE, max_iter=9, random_state=0, storage=db, **kw
        )

    search().fit(*small_xy)
    assert _trained(log) == 69
    extended = search(n_iterations=2).fit(*small_xy)
    assert _trained(log) == 69 + 69  # the first iteration replayed, none retrained
    fresh = _search(max_iter=9, n_iterations=2).fit(*small_xy)
    assert extended.cv_results_["params"] == fresh.cv_results_["params"]
    for key in ("test_score", "partial_fit_calls", "iteration", "model_id", "state"):
        np.testing.assert_array_equal(extended.cv_results_[key], fresh.cv_results_[key])
    assert extended.best_params_ == fresh.best_params_
    search(n_iterations=2).fit(*small_xy)
    assert _trained(log) == 138  # nothing left to run
    with pytest.raises(StorageMismatchError, match="budget does not start"):
        search(n_iterations=None, max_epochs_total=69 + 21).fit(*small_xy)
    assert _trained(log) == 138


def test_an_interrupted_search_of_several_iterations_resumes(small_xy, tmp_path):
    db, log = str(tmp_path / "s.db"), tmp_path / "epochs.log"

    class StopInTheSecondIteration(SearchCallback):
        def on_trial_scored(self, search, trial, epochs, score):
            if trial.iteration == 2 and epochs == 3:
                raise KeyboardInterrupt

    def search(callbacks=None):
        return HyperbandSearchCV(
            CurveClassifier(log=str(log)),
            SPACE,
            max_iter=9,
            random_state=0,
            storage=db,
            n_iterations=2,
            callbacks=callbacks,
        )

    with pytest.raises(KeyboardInterrupt):
        search([StopInTheSecondIteration()]).fit(*small_xy)
    assert 69 < _trained(log) < 138
    resumed = search().fit(*small_xy)
    assert _trained(log) == 138  # what was stored is not trained again
    fresh = _search(max_iter=9, n_iterations=2).fit(*small_xy)
    assert resumed.cv_results_["params"] == fresh.cv_results_["params"]
    np.testing.assert_array_equal(
        resumed.cv_results_["test_score"], fresh.cv_results_["test_score"]
    )


def test_the_progress_bar_shows_the_budget(small_xy, capsys):
    _search(max_iter=3, n_iterations=2, verbose=1).fit(*small_xy)
    err = capsys.readouterr().err
    assert "skhpo [2 iterations]" in err and "22/22" in err
    _search(max_iter=3, n_iterations=None, max_time=0.5, verbose=1).fit(*small_xy)
    err = capsys.readouterr().err
    assert (
        "skhpo [max 0.5 s]" in err
        and "/" not in err.split("skhpo [max 0.5 s]")[-1].split("epoch")[0]
    )
    _search(max_iter=3, max_epochs_total=15, verbose=1).fit(*small_xy)
    assert "skhpo [max 15 epochs]" in capsys.readouterr().err


@pytest.mark.parametrize(
    "params, message",
    [
        ({"n_iterations": 0}, "n_iterations"),
        ({"n_iterations": -1}, "n_iterations"),
        ({"n_iterations": 1.5}, "n_iterations"),
        ({"max_epochs_total": 0}, "max_epochs_total"),
        ({"max_epochs_total": -5}, "max_epochs_total"),
        ({"max_time": 0}, "max_time"),
        ({"max_time": -1.0}, "max_time"),
        ({"max_time": "1h"}, "max_time"),
        ({"n_iterations": None}, "n_iterations=None runs until"),
        ({"max_epochs_total": 20}, "max_epochs_total=20 runs no bracket: the first"),
    ],
)
def test_bad_budgets_are_rejected_before_training(small_xy, tmp_path, params, message):
    log = tmp_path / "epochs.log"
    search = HyperbandSearchCV(CurveClassifier(log=str(log)), SPACE, max_iter=9, **params)
    with pytest.raises(ValueError, match=message):
        search.fit(*small_xy)
    with pytest.raises(ValueError, match=message):
        search.metadata  # noqa: B018
    assert _trained(log) == 0


def test_a_search_stopped_by_its_time_limit_goes_on_from_its_storage(small_xy, tmp_path):
    db, log = str(tmp_path / "s.db"), tmp_path / "epochs.log"

    def search(**kw):
        est = CurveClassifier(log=str(log), sleep=0.02)
        return HyperbandSearchCV(est, SPACE, max_iter=9, random_state=0, storage=db, **kw)

    stopped = search(max_time=0.4).fit(*small_xy)
    assert 0 < _trained(log) < 69
    assert (stopped.cv_results_["state"] == "pruned").any()
    done = search().fit(*small_xy)  # no time limit: the one iteration, finished
    assert _trained(log) == 69  # trials stopped by the limit go on from their checkpoints
    fresh = _search(max_iter=9).fit(*small_xy)
    assert done.cv_results_["params"] == fresh.cv_results_["params"]
    for key in ("test_score", "partial_fit_calls", "state"):
        np.testing.assert_array_equal(done.cv_results_[key], fresh.cv_results_[key])
