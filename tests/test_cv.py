"""cv= on the epoch-budget searches: k fold-models per trial, scored by their mean."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from fakes import CountingScaler, CurveClassifier, FoldClassifier, StopAfter
from scipy.stats import loguniform
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold, check_cv, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skhpo import HyperbandSearchCV, SuccessiveHalvingSearchCV
from skhpo._records import rank_scores


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16, y[:300]


class EpochSGD(SGDClassifier):
    """SGDClassifier whose ``fit`` is ``n_epochs`` calls of ``partial_fit`` (for
    scikit-learn's cross_validate)."""

    def __init__(self, alpha=1e-4, random_state=0, n_epochs=3):
        super().__init__(alpha=alpha, random_state=random_state)
        self.n_epochs = n_epochs

    def fit(self, X, y):
        for _ in range(self.n_epochs):
            self.partial_fit(X, y, classes=np.arange(10))
        return self


def _one_trial(cv, epochs=3, **kw):
    """A search of one trial trained ``epochs`` epochs."""
    return SuccessiveHalvingSearchCV(
        SGDClassifier(random_state=0),
        {"alpha": [1e-4]},
        n_initial_parameters=1,
        n_initial_iter=epochs,
        max_iter=epochs,
        random_state=0,
        cv=cv,
        **kw,
    )


TWO_METRICS = {"acc": "accuracy", "f1": "f1_macro"}


def acc_and_f1(estimator, X, y):
    """Both metrics of TWO_METRICS from one prediction: a callable returning a dict."""
    predicted = estimator.predict(X)
    return {"acc": accuracy_score(y, predicted), "f1": f1_score(y, predicted, average="macro")}


@pytest.mark.parametrize(
    "scoring", [None, TWO_METRICS, acc_and_f1], ids=["one-metric", "two-metrics", "callable"]
)
@pytest.mark.parametrize(
    "cv",
    [3, StratifiedKFold(4, shuffle=True, random_state=1), KFold(3), "iterable"],
    ids=["int", "stratified-splitter", "kfold", "iterable"],
)
def test_fold_scores_are_what_cross_validate_gives(digits, cv, scoring):
    X, y = digits
    if cv == "iterable":
        cv = list(KFold(3, shuffle=True, random_state=2).split(X, y))
    refit = None if scoring is None else "f1"
    search = _one_trial(cv, return_train_score=True, scoring=scoring, refit=refit).fit(X, y)
    expected = cross_validate(
        EpochSGD(n_epochs=3),
        X,
        y,
        cv=check_cv(cv, y, classifier=True),
        scoring=scoring,
        return_train_score=True,
    )
    k = len(expected["fit_time"])
    assert search.n_splits_ == k
    res = search.cv_results_
    names = ["score"] if scoring is None else list(TWO_METRICS)
    for name in names:
        for kind in ("test", "train"):
            folds = expected[f"{kind}_{name}"]
            got = [res[f"split{i}_{kind}_{name}"][0] for i in range(k)]
            np.testing.assert_allclose(got, folds)
            assert res[f"mean_{kind}_{name}"][0] == pytest.approx(np.mean(folds))
            assert res[f"std_{kind}_{name}"][0] == pytest.approx(np.std(folds))
    ranking = "score" if scoring is None else refit
    assert search.best_score_ == pytest.approx(np.mean(expected[f"test_{ranking}"]))
    # history_ keeps each metric's fold mean per scoring
    last = search.history_[-1]
    assert last["score"] == res[f"mean_test_{ranking}"][0]
    for name in [] if scoring is None else names:
        assert last[f"score_{name}"] == res[f"mean_test_{name}"][0]
        assert last[f"train_score_{name}"] == res[f"mean_train_{name}"][0]


@pytest.mark.parametrize("scoring", [None, TWO_METRICS], ids=["one-metric", "two-metrics"])
def test_score_columns_are_named_as_grid_search_cvs(digits, scoring):
    X, y = digits
    refit = True if scoring is None else "acc"
    search = _one_trial(3, return_train_score=True, scoring=scoring, refit=refit).fit(X, y)
    grid = GridSearchCV(
        SGDClassifier(),
        {"alpha": [1e-4]},
        cv=3,
        scoring=scoring,
        refit=refit,
        return_train_score=True,
    ).fit(X, y)
    score_keys = {k for k in grid.cv_results_ if re.search(r"_(test|train)_", k)}
    assert score_keys <= set(search.cv_results_)
    assert {k for k in search.cv_results_ if k.startswith(("split", "rank_"))} == {
        k for k in grid.cv_results_ if k.startswith(("split", "rank_"))
    }


def test_the_hold_out_layout_is_unchanged(digits):
    X, y = digits
    search = _one_trial(None).fit(X, y)
    assert search.n_splits_ == 1
    assert "split1_test_score" not in search.cv_results_
    assert "rejected" not in search.cv_results_
    assert "fold_epochs" not in search.search_stats_
    assert isinstance(search.best_estimator_, SGDClassifier)  # the trial's own model


def _fold_data(n=90, k=3):
    """Rows in k contiguous folds (KFold without shuffling); column 0 is the fold."""
    rng = np.random.RandomState(0)
    X = np.column_stack([np.repeat(np.arange(k), n // k), rng.rand(n, 2)])
    y = np.tile(np.arange(3), n // 3)
    return X, y


def test_promotions_use_the_mean_over_folds():
    X, y = _fold_data()
    search = HyperbandSearchCV(
        FoldClassifier(), {"a": (0.0, 1.0)}, max_iter=9, random_state=0, cv=KFold(3)
    ).fit(X, y)
    checked = 0
    for bracket in {h["bracket"] for h in search.history_}:
        first = {}
        for h in search.history_:
            if h["bracket"] == bracket and h["model_id"] not in first:
                first[h["model_id"]] = h
        if len({h["partial_fit_calls"] for h in search.history_ if h["bracket"] == bracket}) < 2:
            continue  # one rung: nothing promoted
        promoted = {
            h["model_id"]
            for h in search.history_
            if h["bracket"] == bracket
            and h["partial_fit_calls"] > min(r["partial_fit_calls"] for r in first.values())
        }
        n = len(promoted)
        by_mean = sorted(first, key=lambda m: -first[m]["score"])[:n]
        by_fold0 = sorted(first, key=lambda m: -first[m]["fold_scores"][0])[:n]
        assert set(by_mean) == promoted
        checked += set(by_fold0) != promoted
        for h in first.values():
            assert h["score"] == pytest.approx(np.mean(h["fold_scores"]))
    assert checked  # the fake's fold 0 ranks differently somewhere


def test_refit_on_all_data_by_default_with_cv():
    X, y = _fold_data()
    search = HyperbandSearchCV(
        FoldClassifier(), {"a": (0.0, 1.0)}, max_iter=9, random_state=0, cv=KFold(3)
    ).fit(X, y)
    assert search.best_estimator_.n_train_ == len(X)
    assert search.best_estimator_.n_calls_ == search.n_iter_
    assert search.refit_time_ > 0
    no_refit = clone(search).set_params(refit=False).fit(X, y)
    assert not hasattr(no_refit, "best_estimator_")
    with pytest.raises(NotFittedError):
        no_refit.predict(X)
    assert no_refit.best_params_ == search.best_params_


def test_pipeline_preprocessing_is_fitted_per_fold_once_per_parameters(digits):
    X, y = digits
    CountingScaler.fits = 0
    pipe = Pipeline([("scale", CountingScaler()), ("clf", SGDClassifier(random_state=0))])
    space = {"scale__factor": [1.0, 2.0], "clf__alpha": (1e-5, 1e-2, "log-uniform")}
    search = HyperbandSearchCV(pipe, space, max_iter=9, random_state=0, cv=3, refit=False)
    search.fit(X, y)
    factors = {p["scale__factor"] for p in search.cv_results_["params"]}
    assert len(factors) == 2 and len(search.cv_results_["params"]) > 2
    assert CountingScaler.fits == 3 * len(factors)


def test_pipeline_fold_scores_match_cross_validate(digits):
    X, y = digits
    pipe = Pipeline([("scale", StandardScaler()), ("clf", SGDClassifier(random_state=0))])
    search = SuccessiveHalvingSearchCV(
        pipe,
        {"clf__alpha": [1e-3]},
        n_initial_parameters=1,
        n_initial_iter=2,
        max_iter=2,
        random_state=0,
        cv=3,
    ).fit(X, y)
    expected = cross_validate(
        Pipeline([("scale", StandardScaler()), ("clf", EpochSGD(alpha=1e-3, n_epochs=2))]),
        X,
        y,
        cv=3,
    )["test_score"]
    got = [search.cv_results_[f"split{i}_test_score"][0] for i in range(3)]
    np.testing.assert_allclose(got, expected)


def _epochs_logged(log):
    if not os.path.exists(log):
        return 0
    with open(log) as f:
        return len(f.readlines())


def test_resume_with_storage(tmp_path):
    X, y = _fold_data()
    db, log = tmp_path / "run.db", tmp_path / "epochs.log"

    def search(**kw):
        return HyperbandSearchCV(
            FoldClassifier(log=str(log)),
            {"a": (0.0, 1.0)},
            max_iter=9,
            random_state=0,
            cv=KFold(3),
            refit=False,
            **kw,
        )

    whole = search().fit(X, y)
    total = _epochs_logged(log)
    assert total == 3 * whole.metadata_["partial_fit_calls"] == whole.search_stats_["fold_epochs"]
    os.remove(log)
    with pytest.raises(KeyboardInterrupt):
        search(storage=str(db), callbacks=[StopAfter(8)]).fit(X, y)
    before = _epochs_logged(log)
    resumed = search(storage=str(db)).fit(X, y)
    assert _epochs_logged(log) - before < total  # the stored rungs were not retrained
    for key in ["mean_test_score", "split0_test_score", "split2_test_score", "state"]:
        np.testing.assert_array_equal(resumed.cv_results_[key], whole.cv_results_[key])
    assert resumed.best_index_ == whole.best_index_
    again = search(storage=str(db)).fit(X, y)  # a finished search replays, trains nothing
    np.testing.assert_array_equal(
        again.cv_results_["split1_test_score"], whole.cv_results_["split1_test_score"]
    )


def test_fold_rejection_saves_epochs_and_keeps_the_choice():
    X, y = _fold_data()
    kw = dict(max_iter=27, random_state=0, cv=KFold(3))
    space = {"a": (0.0, 1.0)}
    full = HyperbandSearchCV(FoldClassifier(centers=(0.3, 0.35, 0.25)), space, **kw).fit(X, y)
    fast = HyperbandSearchCV(
        FoldClassifier(centers=(0.3, 0.35, 0.25)), space, fold_rejection=True, **kw
    ).fit(X, y)
    saved = full.search_stats_["fold_epochs"] - fast.search_stats_["fold_epochs"]
    assert saved > 0
    assert fast.cv_results_["rejected"].sum() > 0
    assert fast.best_params_ == full.best_params_
    rejected = fast.cv_results_["rejected"]
    assert set(fast.cv_results_["state"][rejected]) == {"pruned"}
    # a rejected trial's unscored folds are NaN, its mean that of the folds it scored
    last = fast.cv_results_["split2_test_score"][rejected]
    assert np.isnan(last).all()


def test_fold_rejection_never_rejects_a_trial_that_would_be_promoted():
    X, y = _fold_data()
    kw = dict(max_iter=27, random_state=3, cv=KFold(3))
    space = {"a": (0.0, 1.0)}
    full = HyperbandSearchCV(FoldClassifier(), space, **kw).fit(X, y)
    fast = HyperbandSearchCV(FoldClassifier(), space, fold_rejection=True, **kw).fit(X, y)
    np.testing.assert_array_equal(
        fast.cv_results_["partial_fit_calls"], full.cv_results_["partial_fit_calls"]
    )
    assert fast.best_index_ == full.best_index_


class Overfitting(CurveClassifier):
    """Fold ``f`` scores ``SCORES[kind][f]``, less 0.5 for each epoch after the first."""

    SCORES = {"steady": (0.9, 0.9, 0.9), "late_drop": (0.9, 0.9, 0.0), "low": (0.7, 0.7, 0.7)}

    def __init__(self, kind="steady"):
        super().__init__()
        self.kind = kind

    def score(self, X, y):
        fold = int(np.asarray(X)[0, 0])
        return self.SCORES[self.kind][fold] - 0.5 * (self.n_calls_ - 1)


def own_score(estimator, X, y):
    return estimator.score(X, y)


def negated(estimator, X, y):
    return -estimator.score(X, y)


@pytest.mark.parametrize(
    "scoring", [None, {"own": own_score, "neg": negated}], ids=["one-metric", "two-metrics"]
)
def test_a_trial_stopped_by_fold_rejection_ranks_after_fully_scored_ones(scoring):
    # Trials "steady", "late_drop", "low" in that order (random_state=7); one goes on to
    # 3 epochs and drops to -0.1. "low" is rejected after fold 0 (0.7 + 0.1 * sigma is
    # below the cutoff 0.9): the mean of its one fold, 0.7, is above "late_drop"'s 0.6
    # on all three, but it must not rank first nor be best_index_.
    X, y = _fold_data()
    search = SuccessiveHalvingSearchCV(
        Overfitting(),
        {"kind": list(Overfitting.SCORES)},
        n_initial_parameters=3,
        n_initial_iter=1,
        max_iter=3,
        cv=KFold(3),
        fold_rejection=0.1,
        scoring=scoring,
        refit="own" if scoring else True,
        random_state=7,
    ).fit(X, y)
    res = search.cv_results_
    rejected = res["rejected"]
    assert [p["kind"] for p in res["params"]] == ["steady", "late_drop", "low"]
    assert rejected.tolist() == [False, False, True]
    ranked = "mean_test_score" if scoring is None else "mean_test_own"
    assert res[ranked][2] == pytest.approx(0.7) and res[ranked][1] == pytest.approx(0.6)
    assert search.best_index_ == 1 and search.best_score_ == pytest.approx(0.6)
    assert search.best_params_ == {"kind": "late_drop"}
    for rank in [k for k in res if k.startswith("rank_test_")]:
        assert res[rank][rejected].min() > res[rank][~rejected].max()
    assert res["rank_test_score" if scoring is None else "rank_test_own"].tolist() == [2, 1, 3]


def test_rejected_trials_rank_between_full_scores_and_nan():
    scores = np.array([0.5, np.nan, 0.9, 0.7, 0.5])
    rejected = np.array([False, False, True, False, False])
    np.testing.assert_array_equal(rank_scores(scores, rejected), [2, 5, 4, 1, 2])
    np.testing.assert_array_equal(rank_scores(scores), [3, 5, 1, 2, 3])


def fold_quality(estimator, X, y):
    """FoldClassifier's own score."""
    return estimator.score(X, y)


def off_centre(estimator, X, y):
    """A second fold-dependent metric that ranks FoldClassifier's trials otherwise:
    best for ``a`` near ``0.8 - 0.2 * fold``."""
    fold = int(np.asarray(X)[0, 0])
    return -((estimator.a - 0.8 + 0.2 * fold) ** 2) - 1.0 / (1 + estimator.n_calls_)


FOLD_METRICS = {"fit": fold_quality, "off": off_centre}


def _fold_search(**kw):
    kw.setdefault("max_iter", 27)
    kw.setdefault("random_state", 0)
    return HyperbandSearchCV(
        FoldClassifier(centers=(0.3, 0.35, 0.25), log=kw.pop("log", None)),
        {"a": (0.0, 1.0)},
        cv=KFold(3),
        **kw,
    )


def test_cv_with_several_metrics_ranks_promotes_and_rejects_by_refit():
    X, y = _fold_data()
    calls = {}
    for refit, other in (("fit", "off"), ("off", "fit")):
        multi = _fold_search(scoring=FOLD_METRICS, refit=refit, fold_rejection=True).fit(X, y)
        single = _fold_search(scoring=FOLD_METRICS[refit], fold_rejection=True).fit(X, y)
        res, one = multi.cv_results_, single.cv_results_
        assert res["rejected"].any()
        # the same promotions, rejections and best trial as a search on that metric alone
        for key in ("partial_fit_calls", "state", "rejected"):
            np.testing.assert_array_equal(res[key], one[key])
        for column in (
            "mean_test_",
            "std_test_",
            "rank_test_",
            *(f"split{i}_test_" for i in range(3)),
        ):
            np.testing.assert_array_equal(res[column + refit], one[column + "score"])
        assert multi.best_index_ == single.best_index_
        assert (
            multi.best_score_ == single.best_score_ == res[f"mean_test_{refit}"][multi.best_index_]
        )
        assert multi.best_params_ == single.best_params_
        # cv's default refit: the best parameters trained on all the data
        assert multi.best_estimator_.n_train_ == len(X)
        assert multi.best_estimator_.n_calls_ == multi.n_iter_
        # the other metric: scored on the same folds, its mean over the folds scored
        splits = np.column_stack([res[f"split{i}_test_{other}"] for i in range(3)])
        assert (
            np.isnan(splits)
            == np.isnan(np.column_stack([res[f"split{i}_test_{refit}"] for i in range(3)]))
        ).all()
        np.testing.assert_allclose(res[f"mean_test_{other}"], np.nanmean(splits, axis=1))
        np.testing.assert_allclose(res[f"std_test_{other}"], np.nanstd(splits, axis=1))
        for h in multi.history_:
            assert h["score"] == h[f"score_{refit}"]
            assert h["score"] == pytest.approx(np.nanmean(h["fold_scores"]))
        calls[refit] = res["partial_fit_calls"]
    assert not np.array_equal(calls["fit"], calls["off"])  # the two metrics disagree


def test_cv_with_several_metrics_and_refit_false_or_a_callable():
    X, y = _fold_data()
    kw = {"scoring": FOLD_METRICS, "max_iter": 9}
    first = _fold_search(scoring=fold_quality, max_iter=9).fit(X, y)
    no_refit = _fold_search(refit=False, **kw).fit(X, y)
    for attr in ("best_index_", "best_score_", "best_params_", "best_estimator_"):
        assert not hasattr(no_refit, attr)
    # the first metric promotes the trials
    np.testing.assert_array_equal(
        no_refit.cv_results_["partial_fit_calls"], first.cv_results_["partial_fit_calls"]
    )

    def lowest_off(results):
        return int(np.argmin(results["mean_test_off"]))

    chosen = _fold_search(refit=lowest_off, **kw).fit(X, y)
    res = chosen.cv_results_
    assert chosen.best_index_ == np.argmin(res["mean_test_off"])
    assert not hasattr(chosen, "best_score_")
    assert chosen.best_params_ == res["params"][chosen.best_index_]
    assert chosen.best_estimator_.n_train_ == len(X)
    assert chosen.best_estimator_.n_calls_ == res["partial_fit_calls"][chosen.best_index_]


def test_pipeline_and_loguniform_with_cv_and_several_metrics(digits):
    X, y = digits
    pipe = Pipeline([("scale", StandardScaler()), ("clf", SGDClassifier(random_state=0))])
    search = HyperbandSearchCV(
        pipe,
        {"clf__alpha": loguniform(1e-5, 1e-1)},
        max_iter=3,
        cv=3,
        scoring=TWO_METRICS,
        refit="f1",
        random_state=0,
    ).fit(X, y)
    res = search.cv_results_
    best = search.best_index_
    assert res["rank_test_f1"][best] == 1
    assert search.best_score_ == res["mean_test_f1"][best]
    # every trial's fold scores, of both metrics, are cross_validate's of a pipeline
    # trained the same epochs
    for i, params in enumerate(res["params"]):
        epochs = int(res["partial_fit_calls"][i])
        sgd = EpochSGD(alpha=params["clf__alpha"], n_epochs=epochs)
        expected = cross_validate(
            Pipeline([("scale", StandardScaler()), ("clf", sgd)]), X, y, cv=3, scoring=TWO_METRICS
        )
        for name in TWO_METRICS:
            got = [res[f"split{k}_test_{name}"][i] for k in range(3)]
            np.testing.assert_allclose(got, expected[f"test_{name}"])
    assert search.best_estimator_.named_steps["clf"].alpha == res["params"][best]["clf__alpha"]
    assert search.score(X, y) == search.scorer_["f1"](search.best_estimator_, X, y)


def test_cv_with_several_metrics_resumes_from_storage(tmp_path):
    X, y = _fold_data()
    db, log = tmp_path / "run.db", tmp_path / "epochs.log"
    kw = dict(scoring=FOLD_METRICS, refit="off", return_train_score=True, max_iter=9)
    whole = _fold_search(log=str(log), **kw).fit(X, y)
    total = _epochs_logged(log)
    os.remove(log)
    with pytest.raises(RuntimeError, match="stop here"):
        stop = StopAfter(8, RuntimeError("stop here"))
        _fold_search(log=str(log), storage=str(db), callbacks=[stop], **kw).fit(X, y)
    before = _epochs_logged(log)
    resumed = _fold_search(log=str(log), storage=str(db), **kw).fit(X, y)
    assert 0 < _epochs_logged(log) - before < total  # the stored rungs were not retrained
    scores = [k for k in whole.cv_results_ if re.search(r"_(test|train)_(fit|off)$", k)]
    assert len(scores) == 2 * 2 * (3 + 2) + 2  # split0-2, mean, std; test and train; ranks
    for key in [*scores, "partial_fit_calls", "state", "rejected"]:
        np.testing.assert_array_equal(resumed.cv_results_[key], whole.cv_results_[key])
    assert resumed.best_index_ == whole.best_index_
    assert resumed.best_score_ == whole.best_score_
    keys = ("model_id", "partial_fit_calls", "score_fit", "score_off", "train_score_off")
    assert sorted(tuple(h[k] for k in keys) for h in resumed.history_) == sorted(
        tuple(h[k] for k in keys) for h in whole.history_
    )


@pytest.mark.parametrize(
    "kwargs, fit_kwargs, message",
    [
        ({"cv": 5}, {}, "class 3 has only 4 members"),
        ({"cv": 3, "test_size": 0.2}, {}, "either test_size or cv"),
        ({"cv": 3}, {"validation_data": "same"}, "either validation_data or cv"),
        ({"fold_rejection": True}, {}, "fold_rejection needs cv"),
        ({"cv": [(np.arange(10), np.arange(10, 20))]}, {}, "at least 2 folds"),
        ({"cv": KFold(2)}, {}, "fold 0 have no samples of class"),
    ],
)
def test_bad_cv_is_a_clear_error_before_training(kwargs, fit_kwargs, message):
    X = np.random.RandomState(0).rand(24, 3)
    y = np.array([0] * 10 + [1] * 10 + [2] * 0 + [3] * 4)
    if isinstance(kwargs.get("cv"), KFold):  # class 3 only in the second half
        y = np.array([0, 1] * 6 + [3] * 12)
    if fit_kwargs.get("validation_data") == "same":
        fit_kwargs = {"validation_data": (X, y)}
    search = HyperbandSearchCV(
        CurveClassifier(fail="fit"), {"a": (0.0, 1.0)}, max_iter=3, error_score="raise", **kwargs
    )
    with pytest.raises(ValueError, match=message):
        search.fit(X, y, **fit_kwargs)


@pytest.mark.dask
def test_dask_collections_with_cv_are_a_clear_error():
    da = pytest.importorskip("dask.array")
    X = da.random.random((30, 3), chunks=10)
    y = da.from_array(np.arange(30) % 2, chunks=10)
    search = HyperbandSearchCV(CurveClassifier(), {"a": (0.0, 1.0)}, max_iter=3, cv=3)
    with pytest.raises(ValueError, match="cv is not supported with dask collections"):
        search.fit(X, y)
