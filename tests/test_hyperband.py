"""HyperbandSearchCV and SuccessiveHalvingSearchCV with fast estimators."""

from __future__ import annotations

import math
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from fakes import CountingScaler, CurveClassifier
from scipy.stats import loguniform
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import SGDClassifier, SGDRegressor
from sklearn.model_selection import cross_val_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from skhpo import HyperbandSearchCV, Real, SuccessiveHalvingSearchCV
from skhpo.exceptions import TrialFailedWarning

SPACE = {"a": (0.0, 1.0), "b": [1, 2, 3]}


def _search(**kw):
    kw.setdefault("max_iter", 27)
    kw.setdefault("random_state", 0)
    return HyperbandSearchCV(CurveClassifier(), kw.pop("parameters", SPACE), **kw)


def test_plan_matches_the_canonical_workload():
    meta = _search().metadata
    assert meta["n_models"] == 49
    assert meta["partial_fit_calls"] == 357
    assert [b["bracket"] for b in meta["brackets"]] == [3, 2, 1, 0]
    assert meta["brackets"][0]["rungs"] == [(27, 1), (9, 3), (3, 9), (1, 27)]


def test_models_resume_and_epochs_match_the_plan(small_xy):
    search = _search().fit(*small_xy)
    res = search.cv_results_
    assert len(res["params"]) == 49
    # Every epoch counted once: the plan's 357 epochs, no model retrained from scratch.
    assert res["partial_fit_calls"].sum() == 357
    assert search.metadata_["partial_fit_calls"] == 357
    assert search.metadata_ == search.metadata
    # The best model is the trial's own, resumed object: its calls are the trial's epochs.
    assert search.best_estimator_.n_calls_ == res["partial_fit_calls"][search.best_index_]
    assert set(res["state"]) == {"completed", "pruned"}
    assert (res["state"] == "completed").sum() == 4 + 2 + 1 + 1
    assert {type(s) for s in res["state"]} == {str}  # plain strings, not TrialStatus


def test_promotions_keep_the_best_of_each_rung(small_xy):
    search = _search().fit(*small_xy)
    hist = search.history_
    for bracket in (3, 2, 1):
        rung0 = [h for h in hist if h["bracket"] == bracket]
        first_epochs = min(h["partial_fit_calls"] for h in rung0)
        first = [h for h in rung0 if h["partial_fit_calls"] == first_epochs]
        promoted = {h["model_id"] for h in rung0 if h["partial_fit_calls"] > first_epochs}
        n_promoted = len(promoted)
        best_first = sorted(first, key=lambda h: -h["score"])[:n_promoted]
        assert promoted == {h["model_id"] for h in best_first}


def test_cv_results_layout(small_xy):
    search = _search(max_iter=9).fit(*small_xy)
    res = search.cv_results_
    n = len(res["params"])
    for key in [
        "mean_test_score",
        "std_test_score",
        "test_score",
        "rank_test_score",
        "model_id",
        "bracket",
        "partial_fit_calls",
        "mean_partial_fit_time",
        "std_partial_fit_time",
        "mean_score_time",
        "std_score_time",
        "param_a",
        "param_b",
        "state",
        "error",
    ]:
        assert len(res[key]) == n, key
    assert res["rank_test_score"][search.best_index_] == 1
    assert search.best_score_ == res["mean_test_score"].max()
    assert search.best_params_ == res["params"][search.best_index_]
    assert res["model_id"][0] == "bracket=2-0"
    assert len(search.history_) == sum(len(v) for v in search.model_history_.values())
    assert search.n_splits_ == 1 and search.multimetric_ is False


def test_param_columns_are_masked_for_absent_parameters(small_xy):
    space = [{"a": [0.1, 0.2]}, {"b": [1, 2]}]
    search = _search(parameters=space, max_iter=9).fit(*small_xy)
    res = search.cv_results_
    has_a = np.array(["a" in p for p in res["params"]])
    assert has_a.any() and (~has_a).any()
    assert list(res["param_a"].mask) == list(~has_a)


def test_same_random_state_same_search(small_xy):
    r1 = _search(random_state=3).fit(*small_xy).cv_results_
    r2 = _search(random_state=3).fit(*small_xy).cv_results_
    r3 = _search(random_state=4).fit(*small_xy).cv_results_
    assert r1["params"] == r2["params"]
    np.testing.assert_array_equal(r1["test_score"], r2["test_score"])
    assert r1["params"] != r3["params"]


@pytest.mark.parametrize("fail", ["fit", "score", "memory"])
def test_a_failing_trial_gets_error_score_and_others_go_on(small_xy, fail):
    space = {"a": (0.0, 1.0), "fail": [None, None, fail]}
    with pytest.warns(TrialFailedWarning, match="trials failed"):
        search = _search(parameters=space, max_iter=9).fit(*small_xy)
    res = search.cv_results_
    failed = res["state"] == "failed"
    expected = np.array([p["fail"] == fail for p in res["params"]])
    np.testing.assert_array_equal(failed, expected)
    assert np.isnan(res["test_score"][failed]).all()
    assert all("boom" in e or "memory" in e for e in res["error"][failed])
    assert (res["rank_test_score"][failed] > res["rank_test_score"][~failed].max()).all()
    assert not np.isnan(res["test_score"][~failed]).any()
    assert res["params"][search.best_index_]["fail"] is None


def test_numeric_error_score_and_nan_scores(small_xy):
    space = {"a": (0.0, 1.0), "fail": [None, "nan", "fit"]}
    with pytest.warns(TrialFailedWarning):
        search = _search(parameters=space, max_iter=9, error_score=-5.0).fit(*small_xy)
    res = search.cv_results_
    fails = np.array([p["fail"] for p in res["params"]], dtype=object)
    assert (res["test_score"][fails == "fit"] == -5.0).all()
    assert np.isnan(res["test_score"][fails == "nan"]).all()
    # NaN-scored trials are never promoted: they stop at their bracket's first rung.
    first_rung = {b["bracket"]: b["rungs"][0][1] for b in search.metadata["brackets"]}
    nan_trials = fails == "nan"
    expected = [first_rung[b] for b in res["bracket"][nan_trials]]
    assert list(res["partial_fit_calls"][nan_trials]) == expected
    assert (res["state"][nan_trials] == "pruned").all()


def test_error_score_raise(small_xy):
    space = {"a": (0.0, 1.0), "fail": ["fit"]}
    with pytest.raises(RuntimeError, match="boom in partial_fit"):
        _search(parameters=space, max_iter=3, error_score="raise").fit(*small_xy)


def test_all_trials_failing_is_an_error(small_xy):
    space = {"a": (0.0, 1.0), "fail": ["fit"]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the error says it all: no TrialFailedWarning first
        with pytest.raises(ValueError, match="All 5 trials failed(.|\n)*boom in partial_fit"):
            _search(parameters=space, max_iter=3).fit(*small_xy)


def test_patience_stops_plateaued_trials(small_xy):
    space = {"a": (0.0, 1.0), "plateau": [2]}
    search = _search(parameters=space, max_iter=27, patience=3, tol=1e-3).fit(*small_xy)
    res = search.cv_results_
    # scores stop improving after 2 epochs, so no trial trains more than 2 + 3 epochs
    assert res["partial_fit_calls"].max() == 5
    assert res["stopped_early"].any()
    # with patience, every epoch is scored
    hist = search.model_history_[res["model_id"][search.best_index_]]
    assert [h["partial_fit_calls"] for h in hist] == list(range(1, len(hist) + 1))
    assert search._patience() == 3
    assert _search(patience=True)._patience() == 9


def test_validation_data_is_used(small_xy):
    X, y = small_xy
    search = _search(max_iter=3).fit(X, y, validation_data=(X[:30], y[:30]))
    assert search.best_estimator_.n_train_ == len(X)
    default = _search(max_iter=3).fit(X, y)
    assert default.best_estimator_.n_train_ == len(X) - 24  # test_size=None holds out 0.2
    held = _search(max_iter=3, test_size=0.5).fit(X, y)
    assert held.best_estimator_.n_train_ == len(X) // 2


def test_classes_default_to_all_labels_and_sample_weight_is_split(small_xy):
    X, y = small_xy
    search = _search(max_iter=3).fit(X, y, sample_weight=np.ones(len(X)))
    best = search.best_estimator_
    np.testing.assert_array_equal(best.seen_classes_arg_, [0, 1, 2])
    assert best.sample_weight_len_ == best.n_train_
    given = _search(max_iter=3).fit(X, y, classes=[0, 1, 2, 3])
    assert list(given.best_estimator_.seen_classes_arg_) == [0, 1, 2, 3]


def test_refit_trains_the_best_parameters_on_all_data(small_xy):
    X, y = small_xy
    search = _search(max_iter=9, refit=True).fit(X, y)
    best = search.best_estimator_
    assert best.n_train_ == len(X)
    assert best.n_calls_ == search.cv_results_["partial_fit_calls"][search.best_index_]
    assert best.get_params()["a"] == search.best_params_["a"]
    assert search.refit_time_ >= 0


def test_delegation(small_xy):
    X, y = small_xy
    search = _search(max_iter=3).fit(X, y)
    assert search.predict(X).shape == (len(X),)
    assert search.predict_proba(X).shape == (len(X), 3)
    np.testing.assert_array_equal(search.classes_, [0, 1, 2])
    assert search.score(X, y) == search.best_estimator_.score(X, y)
    assert not hasattr(search, "transform")
    assert search.n_features_in_ == 4
    assert search.predict.__name__ == "predict"
    assert "predict_proba" in search.predict_proba.__doc__
    with pytest.raises(NotFittedError):
        _search(max_iter=3).predict(X)


def test_sklearn_citizenship(digits):
    X, y = digits
    search = HyperbandSearchCV(
        SGDClassifier(random_state=0), {"alpha": loguniform(1e-5, 1e-1)}, max_iter=3
    )
    assert clone(search).get_params()["max_iter"] == 3
    search.set_params(max_iter=4, estimator__tol=None)
    assert search.max_iter == 4 and search.estimator.tol is None
    assert "HyperbandSearchCV" in repr(search)
    scores = cross_val_score(search, X[:600], y[:600], cv=2)
    assert scores.shape == (2,) and (scores > 0.5).all()
    pipe = make_pipeline(StandardScaler(), search).fit(X[:600], y[:600])
    assert pipe.score(X[600:900], y[600:900]) > 0.5
    fitted = HyperbandSearchCV(SGDClassifier(random_state=0), {"alpha": [1e-4]}, max_iter=2)
    fitted.fit(X[:300], y[:300])
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict(X[:10]), fitted.predict(X[:10]))


class _OnlyArray:
    """An array-like that implements only ``__array__`` (as scikit-learn's checks use)."""

    def __init__(self, data):
        self.data = data

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.data, dtype=dtype)


@pytest.mark.parametrize("form", ["coo", "dia", "bsr", "csc", "lil", "coo_array", "__array__"])
@pytest.mark.parametrize("held_out", ["test_size", "validation_data"])
def test_every_input_form_scikit_learn_accepts(digits, form, held_out):
    """Sparse formats without row indexing and ``__array__``-only objects are searched
    as the indexable forms they convert to: CSR, and NumPy arrays."""
    X, y = digits[0][:400], digits[1][:400]

    def as_form(a):
        if form == "__array__":
            return _OnlyArray(a)
        if form == "coo_array":
            return sp.coo_array(a)
        return sp.csr_matrix(a).asformat(form)

    def search(X_fit, y_fit, val):
        kw = {"validation_data": val} if held_out == "validation_data" else {}
        est = HyperbandSearchCV(
            SGDClassifier(random_state=0),
            {"alpha": [1e-4, 1e-3]},
            max_iter=3,
            random_state=0,
            refit=True,
        )
        return est.fit(X_fit, y_fit, **kw)

    # SGD treats sparse input its own way (intercept decay): sparse forms are compared to CSR
    ref = np.asarray if form == "__array__" else sp.csr_matrix
    if held_out == "validation_data":
        plain = search(ref(X[:300]), y[:300], (ref(X[300:]), y[300:]))
        other = search(as_form(X[:300]), y[:300], (as_form(X[300:]), y[300:]))
    else:
        plain = search(ref(X), y, None)
        other = search(as_form(X), _OnlyArray(y) if form == "__array__" else y, None)
    np.testing.assert_allclose(other.cv_results_["test_score"], plain.cv_results_["test_score"])
    np.testing.assert_array_equal(other.predict(X), plain.predict(X))
    assert other.n_iter_ == other.cv_results_["partial_fit_calls"][other.best_index_] >= 1


def test_search_is_a_classifier_for_sklearn():
    from sklearn.base import is_classifier, is_regressor

    assert is_classifier(HyperbandSearchCV(SGDClassifier(), SPACE))
    assert is_regressor(HyperbandSearchCV(SGDRegressor(), SPACE))


def test_real_estimators_learn(digits):
    X, y = digits
    search = HyperbandSearchCV(
        SGDClassifier(random_state=0),
        {"alpha": Real(1e-6, 1e-1, log=True), "loss": ["hinge", "log_loss", "modified_huber"]},
        max_iter=9,
        random_state=0,
    ).fit(X, y)
    assert search.best_score_ > 0.9
    assert search.score(X, y) > 0.9


def test_pipeline_fits_preprocessing_once_per_distinct_parameters(small_xy):
    X, y = small_xy
    CountingScaler.fits = 0
    pipe = Pipeline([("scale", CountingScaler()), ("clf", CurveClassifier())])
    space = {"scale__factor": [1.0, 2.0], "clf__a": (0.0, 1.0)}
    search = HyperbandSearchCV(pipe, space, max_iter=9, random_state=0).fit(X, y)
    assert len(search.cv_results_["params"]) == 17
    assert CountingScaler.fits == 2
    best = search.best_estimator_
    assert isinstance(best, Pipeline)
    assert (
        best.named_steps["clf"].n_calls_
        == search.cv_results_["partial_fit_calls"][search.best_index_]
    )
    assert best.named_steps["scale"].factor == search.best_params_["scale__factor"]
    assert search.predict(X).shape == (len(X),)


def test_pipeline_with_real_steps(digits):
    X, y = digits
    pipe = make_pipeline(StandardScaler(), SGDClassifier(random_state=0))
    space = {"standardscaler__with_mean": [True, False], "sgdclassifier__alpha": (1e-5, 1e-2)}
    search = HyperbandSearchCV(pipe, space, max_iter=9, random_state=0, refit=True)
    search.fit(X, y)
    assert search.best_score_ > 0.85
    assert search.score(X, y) > 0.85


def test_successive_halving(small_xy):
    search = SuccessiveHalvingSearchCV(
        CurveClassifier(), SPACE, n_initial_parameters=9, n_initial_iter=2, random_state=0
    )
    assert search.metadata["brackets"][0]["rungs"] == [(9, 2), (3, 6), (1, 18)]
    search.fit(*small_xy)
    assert search.cv_results_["partial_fit_calls"].sum() == 9 * 2 + 3 * 4 + 12
    capped = SuccessiveHalvingSearchCV(
        CurveClassifier(), SPACE, n_initial_parameters=9, max_iter=4, random_state=0
    )
    assert capped.metadata["brackets"][0]["rungs"][-1][1] == 4


@pytest.mark.parametrize(
    ("n", "r0", "max_iter", "eta", "rungs"),
    [
        (9, 1, None, 3, [(9, 1), (3, 3), (1, 9)]),
        (6, 1, None, 3, [(6, 1), (2, 3)]),
        (10, 2, 5, 3, [(10, 2), (3, 5)]),
        (27, 1, 27, 3, [(27, 1), (9, 3), (3, 9), (1, 27)]),
        (9, 1, 100, 3, [(9, 1), (3, 3), (1, 9)]),
        (20, 1, 9, 2, [(20, 1), (10, 2), (5, 4), (2, 8), (1, 9)]),
        # issue 11: these gave [(100, 1)] (no halving) and two last rungs of one model
        (27, 1, None, 1.5, [(27, 1), (18, 2), (8, 3), (5, 5), (3, 8), (2, 11), (1, 17)]),
        (100, 1, None, 1.1, (19, (1, 55))),  # 19 rungs, down to one model at 55 epochs
        (100, 1, 20, 1.1, (16, (4, 20))),
    ],
)
def test_successive_halving_plan_is_what_runs(small_xy, n, r0, max_iter, eta, rungs):
    search = SuccessiveHalvingSearchCV(
        CurveClassifier(),
        SPACE,
        n_initial_parameters=n,
        n_initial_iter=r0,
        max_iter=max_iter,
        aggressiveness=eta,
        random_state=0,
    )
    plan = search.metadata["brackets"][0]["rungs"]
    if isinstance(rungs, tuple):  # (how many rungs, the last rung)
        assert (len(plan), plan[-1]) == rungs
    else:
        assert plan == rungs
    search.fit(*small_xy)
    assert search.metadata_["brackets"][0]["rungs"] == plan
    assert search.metadata_["partial_fit_calls"] == search.metadata["partial_fit_calls"]
    assert search.cv_results_["partial_fit_calls"].max() == plan[-1][1]


def test_successive_halving_patience_uses_the_plan():
    sh = SuccessiveHalvingSearchCV(
        CurveClassifier(), SPACE, n_initial_parameters=27, aggressiveness=1.5, patience=True
    )
    assert sh._patience() == 17 * 2 // 3  # the last rung's 17 epochs // 1.5
    assert _search(patience=True, aggressiveness=2.5)._patience() == 10  # 27 // 2.5
    with pytest.raises(ValueError, match="n_initial_iter=5 is more than max_iter=3"):
        SuccessiveHalvingSearchCV(CurveClassifier(), SPACE, n_initial_iter=5, max_iter=3).fit(
            np.zeros((10, 2)), np.arange(10) % 2
        )


def test_verbose_logs_rungs(small_xy, caplog, capsys):
    with caplog.at_level("INFO", logger="skhpo"):
        _search(max_iter=3, verbose=2, prefix="[run] ").fit(*small_xy)
    assert any("[run] bracket=1: rung 1" in m for m in caplog.messages)
    assert any("[run] bracket=1-0 " in m and "epochs" in m for m in caplog.messages)
    assert "11/11" in capsys.readouterr().err  # the progress bar: 11 of 11 planned epochs


def test_quiet_by_default(small_xy, caplog, capsys):
    with caplog.at_level("INFO", logger="skhpo"):
        _search(max_iter=3).fit(*small_xy)
    assert not caplog.messages
    assert capsys.readouterr().err == ""


def test_callbacks_see_every_event(small_xy):
    from skhpo._events import SearchCallback

    class Recorder(SearchCallback):
        def __init__(self):
            self.events = []

        def on_search_begin(self, search, plan):
            self.events.append(("begin", plan["n_models"]))

        def on_trial_scored(self, search, trial, epochs, score):
            self.events.append(("scored", trial.model_id, epochs))

        def on_trial_end(self, search, trial):
            self.events.append(("end", trial.model_id, trial.status, f"{trial.state}"))

        def on_search_end(self, search):
            self.events.append(("done", len(search.cv_results_["params"])))

    rec = Recorder()
    search = _search(max_iter=9, callbacks=[rec]).fit(*small_xy)
    kinds = [e[0] for e in rec.events]
    assert kinds[0] == "begin" and kinds[-1] == "done"
    assert kinds.count("scored") == len(search.history_)
    ends = [e for e in rec.events if e[0] == "end"]
    assert len(ends) == 17 and {e[1] for e in ends} == set(search.cv_results_["model_id"])
    assert all(e[2] in ("completed", "pruned") for e in ends)
    assert all(e[3] == e[2] for e in ends)  # the alias, formatted as the plain value
    with pytest.raises(TypeError, match="SearchCallback"):
        _search(callbacks=[print]).fit(*small_xy)


def test_nan_safe_best_when_a_promoted_model_gets_worse(small_xy):
    # Scores peak at 3 epochs and fall after: the models trained to 9 end worse than
    # the ones pruned at 3, so the best (by last score) is a pruned trial.
    search = HyperbandSearchCV(CurveClassifier(peak=3), SPACE, max_iter=9, random_state=0).fit(
        *small_xy
    )
    res = search.cv_results_
    completed = res["state"] == "completed"
    assert (res["partial_fit_calls"][completed] == 9).any()
    got_worse = [
        m
        for m in res["model_id"][res["partial_fit_calls"] == 9]
        if search.model_history_[m][-1]["score"] < max(h["score"] for h in search.model_history_[m])
    ]
    assert got_worse
    assert search.best_index_ == int(np.nanargmax(res["test_score"]))
    assert res["state"][search.best_index_] == "pruned"
    assert search.best_score_ > res["test_score"][completed].max()
    # best_estimator_ is the pruned trial's model as it was kept, not a completed one's
    assert search.best_estimator_.n_calls_ == res["partial_fit_calls"][search.best_index_]
    assert math.isclose(search.best_estimator_.score(None, None), search.best_score_)


def test_bohb_sampler_draws_later_brackets_from_the_model(small_xy):
    search = _search(max_iter=27, sampler="bayes", parameters={"a": (0.0, 1.0)})
    search.fit(*small_xy)
    res = search.cv_results_
    assert len(res["params"]) == 49
    assert res["partial_fit_calls"].sum() == 357
    # the model knows the best a is near 0.3: later brackets sample closer to it
    a = np.array([p["a"] for p in res["params"]])
    first, later = a[res["bracket"] == 3], a[res["bracket"] < 3]
    assert np.median(np.abs(later - 0.3)) < np.median(np.abs(first - 0.3))
    assert abs(search.best_params_["a"] - 0.3) < 0.1
    again = _search(max_iter=27, sampler="bayes", parameters={"a": (0.0, 1.0)}).fit(*small_xy)
    assert again.cv_results_["params"] == res["params"]  # reproducible


def test_a_sampler_object_keeps_learning_across_fits(small_xy):
    """sampler= a GPSampler: every fit tells it the scores of every rung and asks it for
    the brackets' parameters, so a second fit starts from what the first one learned."""
    from skhpo.samplers import GPSampler

    space = {"a": (0.0, 1.0)}
    sampler = GPSampler(space, n_initial_points=0, min_points_in_model=2, random_state=0)
    search = _search(max_iter=27, sampler=sampler, parameters=space)
    first = search.fit(*small_xy).cv_results_
    assert search.sampler_ is sampler
    n_scores = len(search.history_)
    assert len(sampler.observations) == n_scores
    budgets = {o["budget"] for o in sampler.observations}
    assert budgets == {1, 3, 9, 27}
    second = search.fit(*small_xy).cv_results_
    assert len(sampler.observations) == 2 * n_scores
    a1 = np.array([p["a"] for p in first["params"]])[first["bracket"] == 3]
    a2 = np.array([p["a"] for p in second["params"]])[second["bracket"] == 3]
    # the first bracket of the second fit is drawn from the model (two thirds of it)
    assert np.median(np.abs(a2 - 0.3)) < np.median(np.abs(a1 - 0.3))
    with pytest.raises(ValueError, match="sampler_kwargs"):
        _search(sampler=sampler, sampler_kwargs={"xi": 0.1}).fit(*small_xy)


def test_bohb_bad_input(small_xy):
    with pytest.raises(ValueError, match="sampler"):
        _search(sampler="tpe").fit(*small_xy)
    with pytest.raises(ValueError, match="sampler='bayes' needs"):
        _search(sampler="bayes", parameters=[{"a": [1]}, {"b": [2]}]).fit(*small_xy)
    with pytest.raises(ValueError, match="sampler_kwargs"):
        _search(sampler_kwargs={"xi": 0.1}).fit(*small_xy)
    with pytest.raises(ValueError, match="sampler_kwargs"):
        _search(sampler="bayes", sampler_kwargs={"nope": 1}).fit(*small_xy)


def test_in_process_tasks_are_recorded_one_by_one(tmp_path, small_xy):
    """A task is taken in (callbacks, storage) before the next one trains."""
    from skhpo.callbacks import SearchCallback

    log, db = tmp_path / "epochs.log", str(tmp_path / "s.db")
    trained_when_scored = []

    class Watch(SearchCallback):
        def on_trial_scored(self, search, trial, epochs, score):
            trained_when_scored.append(len(log.read_text().splitlines()))

    SuccessiveHalvingSearchCV(
        CurveClassifier(log=str(log)),
        {"a": (0.0, 1.0)},
        n_initial_parameters=9,
        n_initial_iter=1,
        max_iter=3,
        random_state=0,
        callbacks=[Watch()],
        storage=db,
        scheduler="in-process",
    ).fit(*small_xy)
    # nine one-epoch tasks, then three promotions to 3 epochs (two more epochs each)
    assert trained_when_scored == [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 15]


# -- dask-ml's metadata and parameter forms (issue 11) ----------------------------------


def test_metadata_in_dask_ml_format(small_xy):
    search = _search(max_iter=27, patience=False)
    meta = search.metadata
    for bracket in meta["brackets"]:
        assert {"n_models", "partial_fit_calls", "bracket", "decisions"} <= set(bracket)
        assert bracket["decisions"] == [epochs for _, epochs in bracket["rungs"]]
        sha = bracket["SuccessiveHalvingSearchCV params"]
        assert sha["n_initial_parameters"] == bracket["n_models"]
        assert sha["n_initial_iter"] == bracket["rungs"][0][1]
        assert sha["max_iter"] == 27 and sha["aggressiveness"] == 3
        assert "estimator" not in sha and "parameters" not in sha
    search.fit(*small_xy)
    assert search.metadata_ == meta


def test_bracket_search_params_run_the_bracket(small_xy):
    """A SuccessiveHalvingSearchCV made from a bracket's params trains as the bracket."""
    search = _search(max_iter=9)
    for bracket in search.metadata["brackets"]:
        params = bracket["SuccessiveHalvingSearchCV params"]
        sha = SuccessiveHalvingSearchCV(CurveClassifier(), SPACE, **params)
        assert sha.metadata["brackets"][0]["rungs"] == bracket["rungs"]
        sha.fit(*small_xy)
        assert sha.metadata_["partial_fit_calls"] == bracket["partial_fit_calls"]


def test_bracket_seeds_follow_random_state():
    def seeds(search):
        brackets = search.metadata["brackets"]
        return [b["SuccessiveHalvingSearchCV params"]["random_state"] for b in brackets]

    assert len(set(seeds(_search(random_state=0)))) == 4  # distinct per bracket
    assert seeds(_search(random_state=0)) == seeds(_search(random_state=0))
    assert seeds(_search(random_state=None)) != seeds(_search(random_state=None))
    rng = np.random.RandomState(0)
    state = rng.get_state()[1].copy()
    first = seeds(_search(random_state=rng))
    assert np.array_equal(rng.get_state()[1], state)  # the plan does not consume it
    assert seeds(_search(random_state=rng)) == first


def test_metadata_validates_only_the_plan():
    # dask-ml's metadata is read before fit, whatever the other parameters hold.
    search = _search(scoring=False, test_size=0.212, patience=76.0, max_iter=253)
    assert search.metadata["brackets"][0]["SuccessiveHalvingSearchCV params"]["patience"] == 76
    with pytest.raises(ValueError, match="max_iter"):
        _ = _search(max_iter=0).metadata


def test_patience_accepts_a_float_as_dask_ml_does(small_xy):
    space = {"a": (0.0, 1.0), "plateau": [2]}
    by_float = _search(parameters=space, max_iter=9, patience=3.0).fit(*small_xy)
    by_int = _search(parameters=space, max_iter=9, patience=3).fit(*small_xy)
    assert by_float.cv_results_["partial_fit_calls"].max() == 5
    np.testing.assert_array_equal(
        by_float.cv_results_["partial_fit_calls"], by_int.cv_results_["partial_fit_calls"]
    )


@pytest.mark.parametrize("tol", [None, np.nan])
def test_tol_none_or_nan_never_stops_a_trial(small_xy, tol):
    space = {"a": (0.0, 1.0), "plateau": [1]}
    search = _search(parameters=space, max_iter=9, patience=2, tol=tol).fit(*small_xy)
    assert search.cv_results_["partial_fit_calls"].max() == 9
    assert not search.cv_results_["stopped_early"].any()


def test_patience_keeps_the_decision_points(small_xy):
    """dask-ml's test_hyperband_patience, its first part: plateau stops add decisions."""
    space = {"a": (0.0, 1.0), "plateau": [1]}
    search = _search(parameters=space, max_iter=27, patience=True).fit(*small_xy)
    patience = 27 // 3
    for planned, ran in zip(search.metadata["brackets"], search.metadata_["brackets"], strict=True):
        assert {k for k in planned["decisions"] if k <= patience} <= set(ran["decisions"])
        assert all(k <= patience + 1 for k in ran["decisions"])
    assert search.metadata_["partial_fit_calls"] <= search.metadata["partial_fit_calls"]


def test_model_id_is_a_fixed_width_string_array(small_xy):
    search = _search(max_iter=9).fit(*small_xy)
    model_id = search.cv_results_["model_id"]
    assert model_id.dtype == "<U11"  # "bracket=2-8" is the longest
    assert model_id[search.best_index_] in search.model_history_


# -- return_train_score (issue 11 item 6) ----------------------------------------------


def test_return_train_score(digits):
    X, y = digits
    X_train, y_train, X_val, y_val = X[:1000], y[:1000], X[1000:], y[1000:]
    search = HyperbandSearchCV(
        SGDClassifier(random_state=0),
        {"alpha": (1e-5, 1e-1, "log-uniform")},
        max_iter=3,
        random_state=0,
        return_train_score=True,
    ).fit(X_train, y_train, validation_data=(X_val, y_val))
    res = search.cv_results_
    best = search.best_index_
    # the score on the data the model trained on, at its last scoring
    assert res["mean_train_score"][best] == search.best_estimator_.score(X_train, y_train)
    np.testing.assert_array_equal(res["split0_train_score"], res["mean_train_score"])
    assert (res["std_train_score"] == 0).all()
    assert all("train_score" in h for h in search.history_)
    without = clone(search).set_params(return_train_score=False).fit(X_train, y_train)
    assert "mean_train_score" not in without.cv_results_


# -- subspaces that swap the estimator (issue 11 item 5) -------------------------------


def test_a_subspace_may_swap_the_pipeline_step(small_xy):
    mlp = MLPClassifier(hidden_layer_sizes=(4,), random_state=0)
    space = [
        {"model": [SGDClassifier(random_state=0)], "model__alpha": (1e-5, 1e-1, "log-uniform")},
        {"model": [mlp], "model__learning_rate_init": (1e-3, 1e-1, "log-uniform")},
    ]
    pipe = Pipeline([("model", SGDClassifier())])
    search = HyperbandSearchCV(pipe, space, max_iter=3, random_state=0).fit(*small_xy)
    kinds = {type(p["model"]).__name__ for p in search.cv_results_["params"]}
    assert kinds == {"SGDClassifier", "MLPClassifier"}
    assert not hasattr(mlp, "coefs_")  # the space's own estimator is never trained
    assert (search.cv_results_["state"] != "failed").all()


def test_a_swapped_step_is_checked_as_set(small_xy):
    pipe = Pipeline([("model", SGDClassifier())])
    bad_name = [{"model": [MLPClassifier()], "model__alpha": [1e-4], "model__nope": [1]}]
    with pytest.raises(ValueError, match="'model__nope'.*model=MLPClassifier"):
        HyperbandSearchCV(pipe, bad_name, max_iter=3).fit(*small_xy)
    no_partial_fit = [{"model": [SVC()], "model__C": [1.0]}]
    with pytest.raises(TypeError, match="SVC.*no partial_fit"):
        HyperbandSearchCV(pipe, no_partial_fit, max_iter=3).fit(*small_xy)
