"""Several metrics in ``scoring``: ranking by ``refit``, ``cv_results_``, history, table."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pytest
from fakes import CurveClassifier, StopAfter
from scipy.stats import rankdata
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import GridSearchCV

from skhpo import HyperbandSearchCV, SuccessiveHalvingSearchCV
from skhpo._records import StepRecord
from skhpo._storage import _dumps
from skhpo.results import load_results, results_frame, save_results

SPACE = {"a": (0.0, 1.0), "b": [1, 2, 3]}


def quality(estimator, X, y):
    """CurveClassifier's own score: best for ``a`` near 0.3, rising with epochs."""
    return estimator.score(X, y)


def inverted(estimator, X, y):
    """A metric that disagrees with ``quality``: the trials it ranks first, it ranks last."""
    return -estimator.score(X, y)


def both(estimator, X, y):
    return {"quality": quality(estimator, X, y), "inverted": inverted(estimator, X, y)}


def _search(**kw):
    kw.setdefault("max_iter", 9)
    kw.setdefault("random_state", 0)
    return HyperbandSearchCV(CurveClassifier(log=kw.pop("log", None)), SPACE, **kw)


@pytest.mark.parametrize(
    "scoring",
    [
        {"quality": quality, "inverted": inverted},
        both,  # a callable returning a dict
    ],
)
@pytest.mark.parametrize("refit", ["quality", "inverted"])
def test_refit_names_the_metric_that_ranks_and_promotes(small_xy, scoring, refit):
    multi = _search(scoring=scoring, refit=refit).fit(*small_xy)
    single = _search(scoring=quality if refit == "quality" else inverted, refit=True)
    single.fit(*small_xy)
    res, one = multi.cv_results_, single.cv_results_
    assert multi.multimetric_ is True
    # the same promotions and the same best trial as a search on that metric alone
    np.testing.assert_array_equal(res["partial_fit_calls"], one["partial_fit_calls"])
    np.testing.assert_array_equal(res["state"], one["state"])
    np.testing.assert_array_equal(res[f"mean_test_{refit}"], one["mean_test_score"])
    np.testing.assert_array_equal(res[f"rank_test_{refit}"], one["rank_test_score"])
    assert multi.best_index_ == single.best_index_
    assert multi.best_score_ == single.best_score_ == res[f"mean_test_{refit}"][multi.best_index_]
    assert multi.best_params_ == single.best_params_
    # refit=<name> also refits the best parameters on all the data, as scikit-learn does
    assert multi.best_estimator_.n_calls_ == res["partial_fit_calls"][multi.best_index_]
    assert multi.best_estimator_.n_train_ == len(small_xy[0])
    np.testing.assert_array_equal(res["mean_test_quality"], -res["mean_test_inverted"])


def test_the_two_metrics_disagree_so_promotions_differ(small_xy):
    by_quality = _search(scoring={"quality": quality, "inverted": inverted}, refit="quality")
    by_inverted = _search(scoring={"quality": quality, "inverted": inverted}, refit="inverted")
    q, v = by_quality.fit(*small_xy).cv_results_, by_inverted.fit(*small_xy).cv_results_
    assert not np.array_equal(q["partial_fit_calls"], v["partial_fit_calls"])
    # in every rung, the trials promoted are the best of the refit metric
    for search, name in ((by_quality, "quality"), (by_inverted, "inverted")):
        for bracket in search.metadata_["brackets"]:
            rungs = bracket["rungs"]
            for (_, epochs), (n_next, _) in zip(rungs, rungs[1:], strict=False):
                at = [
                    h
                    for h in search.history_
                    if h["bracket"] == bracket["bracket"] and h["partial_fit_calls"] == epochs
                ]
                ranked = sorted(at, key=lambda h: -h[f"score_{name}"])
                promoted = {
                    h["model_id"]
                    for h in search.history_
                    if h["bracket"] == bracket["bracket"] and h["partial_fit_calls"] > epochs
                }
                assert promoted == {h["model_id"] for h in ranked[:n_next]}


@pytest.mark.parametrize(
    "scoring",
    [
        ["accuracy", "f1_macro"],
        ("accuracy", "f1_macro"),
        {"accuracy": "accuracy", "f1_macro": "f1_macro"},
    ],
)
def test_cv_results_keys_and_ranks_follow_grid_search(digits, scoring):
    X, y = digits[0][:400], digits[1][:400]
    sgd = SGDClassifier(random_state=0)
    grid = GridSearchCV(
        sgd, {"alpha": [1e-4, 1e-2]}, scoring=scoring, refit="f1_macro", cv=2,
        return_train_score=True,
    ).fit(X, y)  # fmt: skip
    search = SuccessiveHalvingSearchCV(
        sgd, {"alpha": (1e-5, 1e-1, "log-uniform")}, n_initial_parameters=6, max_iter=9,
        scoring=scoring, refit="f1_macro", return_train_score=True, random_state=0,
    ).fit(X, y)  # fmt: skip
    res = search.cv_results_

    def score_keys(results):
        return {k for k in results if re.search(r"_(test|train)_", k) and "split1" not in k}

    assert score_keys(res) == score_keys(grid.cv_results_)
    assert "mean_test_score" not in res and "test_score" not in res
    for name in ("accuracy", "f1_macro"):
        scores = res[f"mean_test_{name}"]
        # scikit-learn's ranking: 1 for the highest, ties share the lowest rank
        np.testing.assert_array_equal(res[f"rank_test_{name}"], rankdata(-scores, method="min"))
        np.testing.assert_array_equal(res[f"split0_test_{name}"], scores)
        assert (res[f"std_test_{name}"] == 0).all()
        assert np.isfinite(res[f"mean_train_{name}"]).all()
    best = search.best_index_
    assert res["rank_test_f1_macro"][best] == 1
    assert search.best_score_ == res["mean_test_f1_macro"][best]
    assert isinstance(search.scorer_, dict) and set(search.scorer_) == {"accuracy", "f1_macro"}
    assert search.score(X, y) == search.scorer_["f1_macro"](search.best_estimator_, X, y)
    # each record of the history has every metric, and the refit one is its "score"
    for h in search.history_:
        assert h["score"] == h["score_f1_macro"]
        assert {"score_accuracy", "train_score_accuracy", "train_score_f1_macro"} <= set(h)


def test_refit_false_with_several_metrics_is_as_in_scikit_learn(small_xy):
    search = _search(scoring={"inverted": inverted, "quality": quality}, refit=False)
    search.fit(*small_xy)
    res = search.cv_results_
    # scikit-learn sets no best_* attributes then; the first metric ranks the trials
    for attr in ("best_index_", "best_score_", "best_params_", "best_estimator_"):
        assert not hasattr(search, attr)
    with pytest.raises(NotFittedError):
        search.predict(small_xy[0])
    ranked_first = _search(scoring=inverted).fit(*small_xy).cv_results_
    np.testing.assert_array_equal(res["partial_fit_calls"], ranked_first["partial_fit_calls"])
    df = results_frame(search)
    np.testing.assert_array_equal(df["score"], np.sort(res["mean_test_inverted"])[::-1])


def test_a_callable_refit_chooses_best_index(small_xy):
    def lowest_quality(results):
        return int(np.argmin(results["mean_test_quality"]))

    search = _search(scoring={"quality": quality, "inverted": inverted}, refit=lowest_quality)
    search.fit(*small_xy)
    res = search.cv_results_
    assert search.best_index_ == np.argmin(res["mean_test_quality"])
    assert not hasattr(search, "best_score_")  # as scikit-learn: the callable chose
    assert search.best_params_ == res["params"][search.best_index_]
    assert search.best_estimator_.n_calls_ == res["partial_fit_calls"][search.best_index_]
    search.set_params(refit=lambda results: len(results["params"]))
    with pytest.raises(IndexError, match="out of range"):
        search.fit(*small_xy)


MULTI_REFIT = "For multi-metric scoring, the parameter refit must be set to a scorer key"


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"scoring": ["accuracy", "f1_macro"], "refit": True}, MULTI_REFIT),
        ({"scoring": ["accuracy", "f1_macro"], "refit": "recall"}, MULTI_REFIT),
        ({"scoring": {"q": quality, "i": inverted}, "refit": "quality"}, MULTI_REFIT),
        ({"scoring": ["accuracy", "accuracy"]}, "Duplicate elements"),
        ({"scoring": []}, "Empty list"),
        ({"scoring": ["accuracy", quality]}, "callables"),
        ({"scoring": ["no_such_scorer"]}, "no_such_scorer"),
    ],
)
def test_bad_metrics_are_refused_before_training(tmp_path, small_xy, kw, match):
    log = tmp_path / "epochs.log"
    search = _search(log=str(log), **kw)
    with pytest.raises(ValueError, match=match):
        search.fit(*small_xy)
    assert not log.exists() and not hasattr(search, "cv_results_")


def test_a_callable_scoring_is_checked_once_it_has_scored(small_xy):
    # its metrics are known only once it returned them, as in scikit-learn
    with pytest.raises(ValueError, match=MULTI_REFIT):
        _search(scoring=both, refit=True).fit(*small_xy)
    with pytest.raises(ValueError, match=r"refit='nope' is none of them"):
        _search(scoring=both, refit="nope").fit(*small_xy)


def test_history_table_and_files_have_every_metric(tmp_path, small_xy):
    search = _search(scoring={"quality": quality, "inverted": inverted}, refit="inverted")
    search.fit(*small_xy)
    for h in search.history_:
        assert h["score"] == h["score_inverted"] == -h["score_quality"]
    df = results_frame(search)
    assert list(df.columns[:8]) == [
        "model_id", "bracket", "epochs", "score", "best_score", "score_quality",
        "score_inverted", "state",
    ]  # fmt: skip
    np.testing.assert_array_equal(df["score"], df["score_inverted"])
    np.testing.assert_array_equal(
        df["score_quality"], search.cv_results_["mean_test_quality"][df.index]
    )
    for suffix in ("csv", "json"):
        path = save_results(search, tmp_path / f"results.{suffix}")
        assert load_results(path).equals(df)


def test_plot_learning_curves_of_a_metric(small_xy):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from skhpo.plot import plot_learning_curves

    search = _search(scoring={"quality": quality, "inverted": inverted}, refit="inverted")
    search.fit(*small_xy)
    for metric, sign in ((None, 1), ("inverted", 1), ("quality", -1)):
        fig = plot_learning_curves(search, metric=metric)
        ax = fig.axes[0]
        line = next(x for x in ax.lines if x.get_label() == search.history_[0]["model_id"])
        first = [h for h in search.history_ if h["model_id"] == line.get_label()]
        np.testing.assert_allclose(line.get_ydata(), [sign * h["score"] for h in first])
        assert ax.get_ylabel() == f"validation {metric or 'inverted'}"
        matplotlib.pyplot.close(fig)
    from skhpo.plot import plot_parameter_scores

    fig = plot_parameter_scores(search, "a")
    points = np.concatenate([c.get_offsets()[:, 1] for c in fig.axes[0].collections])
    assert set(points) <= set(search.cv_results_["mean_test_inverted"])
    assert fig.axes[0].get_ylabel() == "final validation inverted"
    matplotlib.pyplot.close(fig)
    with pytest.raises(ValueError, match=r"metric='f1' is not a metric of this search"):
        plot_learning_curves(search, metric="f1")
    single = _search().fit(*small_xy)
    with pytest.raises(ValueError, match="which has one metric"):
        plot_learning_curves(single, metric="quality")


def test_a_search_of_several_metrics_resumes_from_its_storage(tmp_path, small_xy):
    db, log = tmp_path / "run.db", tmp_path / "epochs.log"
    scoring = {"quality": quality, "inverted": inverted}
    kw = {"scoring": scoring, "refit": "quality", "storage": str(db), "log": str(log)}
    with pytest.raises(RuntimeError, match="stop here"):
        _search(callbacks=[StopAfter(12, RuntimeError("stop here"))], **kw).fit(*small_xy)
    before = sum(1 for _ in open(log))
    resumed = _search(**kw).fit(*small_xy)
    clean = _search(scoring=scoring, refit="quality").fit(*small_xy)
    trained = sum(1 for _ in open(log)) - before
    assert 0 < trained < clean.metadata_["partial_fit_calls"]  # stored rungs not retrained
    for key in ("mean_test_quality", "mean_test_inverted", "rank_test_quality"):
        np.testing.assert_array_equal(resumed.cv_results_[key], clean.cv_results_[key])
    assert resumed.best_index_ == clean.best_index_
    keys = ("model_id", "partial_fit_calls", "score_quality", "score_inverted")
    assert sorted(tuple(h[k] for k in keys) for h in resumed.history_) == sorted(
        tuple(h[k] for k in keys) for h in clean.history_
    )


def test_a_step_record_stored_before_metric_scores_reads_back():
    # storages hold pickled StepRecords; those written before the fields existed read
    # back with metric_scores (and, with cv, fold_metric_scores) None
    record = StepRecord("m", 1, scores=((1, 0.5, 0.0),))
    fields = ("metric_scores", "train_metric_scores")
    fields += ("fold_metric_scores", "fold_train_metric_scores")
    for name in fields:
        object.__delattr__(record, name)
    old = pickle.loads(_dumps(record))
    assert all(getattr(old, name) is None for name in fields)
    assert old.scores == ((1, 0.5, 0.0),)


def test_a_refit_string_with_one_metric_acts_as_true(small_xy):
    # as in scikit-learn, where refit_metric is then "score"
    named = _search(refit="anything").fit(*small_xy)
    true = _search(refit=True).fit(*small_xy)
    assert named.multimetric_ is False and "mean_test_score" in named.cv_results_
    assert named.best_index_ == true.best_index_ and named.best_score_ == true.best_score_
    assert named.best_estimator_.n_train_ == len(small_xy[0])  # refitted on all the data
