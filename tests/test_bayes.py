"""BayesSearchCV: skopt's API on scikit-learn's BaseSearchCV, stoppers, failures, Keras, dask."""

from __future__ import annotations

import math
import pickle
import time

import numpy as np
import pytest
from compat import fails_on_sklearn_16_with_scikeras
from sklearn.base import BaseEstimator, clone
from sklearn.datasets import load_iris
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.utils._param_validation import InvalidParameterError

from skhpo.bayes import BayesSearchCV
from skhpo.callbacks import DeadlineStopper, NoImprovementStopper
from skhpo.space import Integer, Real

X = np.arange(40, dtype=float).reshape(20, 2)
Y = np.arange(20) % 2
BRANIN_SPACE = {"x1": (-5.0, 10.0), "x2": (0.0, 15.0)}
BRANIN_MIN = 0.397887
_IRIS = load_iris(return_X_y=True)
_REGRESSION = (X, np.sin(X[:, 0]) + X[:, 1] / 10)


def branin(x1, x2):
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


class Branin(BaseEstimator):
    """Fits nothing; scores minus the Branin function of its parameters.

    ``fail_above`` makes ``fit`` raise when ``x1`` exceeds it; ``sleep`` slows ``fit``.
    """

    def __init__(self, x1=0.0, x2=0.0, fail_above=None, sleep=0.0):
        self.x1 = x1
        self.x2 = x2
        self.fail_above = fail_above
        self.sleep = sleep

    def fit(self, X, y=None, tag=None):
        if self.sleep:
            time.sleep(self.sleep)
        if self.fail_above is not None and self.x1 > self.fail_above:
            raise RuntimeError("boom")
        self.tag_ = tag
        self.is_fitted_ = True
        return self

    def predict(self, X):
        return np.zeros(len(X))

    def score(self, X, y=None):
        return -branin(self.x1, self.x2)


def _search(**kw):
    kw.setdefault("n_iter", 12)
    kw.setdefault("cv", 2)
    kw.setdefault("random_state", 0)
    estimator = kw.pop("estimator", Branin())
    return BayesSearchCV(estimator, kw.pop("search_spaces", BRANIN_SPACE), **kw)


def test_search_finds_branins_minimum_and_reports_like_skopt():
    search = _search(n_iter=25).fit(X, Y)
    res = search.cv_results_
    assert len(res["params"]) == 25 == search.total_iterations
    assert -search.best_score_ < 0.6  # the minimum is 0.398
    [opt] = search.optimizer_results_
    np.testing.assert_allclose(opt.func_vals, -res["mean_test_score"])
    # skopt's layout: lists of values in the order of the sorted names
    assert opt.space.names == ["x1", "x2"]
    assert opt.x_iters == [[p["x1"], p["x2"]] for p in res["params"]]
    assert opt.x == [search.best_params_["x1"], search.best_params_["x2"]]
    assert opt.fun == -search.best_score_
    assert opt["fun"] == opt.fun  # a dict, with attribute access
    assert isinstance(search.best_estimator_, Branin)
    assert search.best_estimator_.x1 == search.best_params_["x1"]


def test_same_random_state_same_search():
    a = _search(n_iter=14).fit(X, Y).cv_results_["params"]
    assert _search(n_iter=14).fit(X, Y).cv_results_["params"] == a
    assert _search(n_iter=14, random_state=1).fit(X, Y).cv_results_["params"] != a


@pytest.mark.parametrize(
    "kwargs, exception, match",
    [
        ({"search_spaces": {}}, ValueError, "empty"),
        ({"search_spaces": []}, ValueError, "empty list"),
        ({"search_spaces": {"x1": (1.0,)}}, ValueError, "Parameter 'x1'"),
        ({"search_spaces": {"x1": "abc"}}, ValueError, "Parameter 'x1'"),
        ({"search_spaces": [({"x1": (0.0, 1.0)}, 0)]}, ValueError, "n_iter of entry 0"),
        ({"search_spaces": [({"x1": (0.0, 1.0)},)]}, ValueError, r"\(dict, n_iter\)"),
        ({"search_spaces": [{"x1": (0.0, 1.0)}, 3]}, ValueError, "Entry 1 of search_spaces"),
        ({"search_spaces": "x1"}, InvalidParameterError, "search_spaces"),
        ({"search_spaces": {"nope": (0.0, 1.0)}}, ValueError, "cannot be set on Branin"),
        ({"n_iter": 0}, InvalidParameterError, "n_iter"),
        ({"n_points": 0}, InvalidParameterError, "n_points"),
        ({"optimizer_kwargs": {"acq_func": "EIps"}}, ValueError, "acq_func must be one of"),
        ({"optimizer_kwargs": {"base_estimator": "RF"}}, ValueError, "Gaussian process only"),
        ({"optimizer_kwargs": {"foo": 1}}, ValueError, r"Unknown optimizer_kwargs \['foo'\]"),
        ({"optimizer_kwargs": {"acq_func_kwargs": {"eta": 1}}}, ValueError, "acq_func_kwargs"),
        ({"optimizer_kwargs": {"acq_optimizer": "grid"}}, ValueError, "acq_optimizer must be"),
        (
            {"optimizer_kwargs": {"initial_point_generator": "sobol"}},
            ValueError,
            "initial_point_generator",
        ),
        ({"optimizer_kwargs": {"n_initial_points": -1}}, ValueError, "n_initial_points"),
        ({"optimizer_kwargs": {"model_queue_size": -1}}, ValueError, "model_queue_size"),
        ({"optimizer_kwargs": {"x0": [{"x1": 99.0, "x2": 1.0}]}}, ValueError, "x1=99.0"),
        ({"optimizer_kwargs": {"x0": [1.0], "initial_points": [1.0]}}, ValueError, "not both"),
        ({"scoring": ["r2", "neg_mean_squared_error"], "refit": False}, ValueError, "refit"),
    ],
)
def test_bad_input_gives_clear_errors(kwargs, exception, match):
    search = _search(**kwargs)  # __init__ only stores
    with pytest.raises(exception, match=match):
        search.fit(X, Y)
    assert not hasattr(search, "cv_results_")


def test_a_space_that_has_no_unit_cube_is_an_error():
    class OnlyRvs:
        def rvs(self, random_state=None):
            return 1.0

    with pytest.raises(ValueError, match="no cdf/ppf"):
        _search(search_spaces={"x1": OnlyRvs(), "x2": (0.0, 1.0)}).fit(X, Y)


def test_callback_errors():
    with pytest.raises(ValueError, match="callback must be a callable"):
        _search().fit(X, Y, callback=[1])


def test_clone_get_params_and_set_params():
    search = _search(optimizer_kwargs={"n_initial_points": 3})
    params = search.get_params(deep=False)
    assert params["n_iter"] == 12 and params["optimizer_kwargs"] == {"n_initial_points": 3}
    assert params["error_score"] == "raise" and params["n_jobs"] == 1
    twin = clone(search)
    assert twin.get_params(deep=False) == dict(params, estimator=twin.estimator)
    assert twin.estimator.get_params() == search.estimator.get_params()
    twin.set_params(n_iter=4, estimator__x2=1.0)
    twin.fit(X, Y)
    assert len(twin.cv_results_["params"]) == 4
    assert not hasattr(search, "cv_results_")
    # a BayesSearchCV inside a GridSearchCV: clone and set_params at work
    outer = GridSearchCV(twin, {"n_iter": [2, 3]}, cv=2).fit(X, Y)
    assert outer.best_estimator_.n_iter in (2, 3)


def test_list_of_spaces_with_their_own_n_iter():
    spaces = [
        ({"x1": (-5.0, 10.0), "x2": (0.0, 15.0)}, 5),
        {"x1": Real(-5.0, 10.0), "x2": [2.275, 12.0]},
        {"x1": Integer(-5, 10)},
    ]
    search = _search(search_spaces=spaces, n_iter=3, optimizer_kwargs={"n_initial_points": 2})
    assert search.total_iterations == 11
    search.fit(X, Y)
    params = search.cv_results_["params"]
    assert len(params) == 11
    assert [len(r.x_iters) for r in search.optimizer_results_] == [5, 3, 3]
    assert all(sorted(p) == ["x1", "x2"] for p in params[:8])
    assert all(list(p) == ["x1"] and isinstance(p["x1"], int) for p in params[8:])
    assert all(p["x2"] in (2.275, 12.0) for p in params[5:8])


def _pipeline_subspaces():
    from sklearn.pipeline import Pipeline
    from sklearn.svm import SVC, LinearSVC
    from sklearn.tree import DecisionTreeClassifier

    from skhpo.space import Categorical

    svc, tree = SVC(), DecisionTreeClassifier(random_state=0)
    spaces = [
        ({"model": Categorical([svc]), "model__C": Real(1e-6, 1e6, prior="log-uniform")}, 4),
        ({"model": Categorical([tree]), "model__max_depth": Integer(1, 6)}, 4),
        ({"model": Categorical([LinearSVC()]), "model__C": (1e-3, 1e3, "log-uniform")}, 1),
    ]
    return Pipeline([("model", SVC())]), spaces


def test_subspaces_that_swap_the_estimator():
    from sklearn.svm import SVC, LinearSVC
    from sklearn.tree import DecisionTreeClassifier

    pipe, spaces = _pipeline_subspaces()
    search = BayesSearchCV(
        pipe, spaces, cv=3, random_state=0, optimizer_kwargs={"n_initial_points": 2}
    ).fit(*_IRIS)
    assert len(search.cv_results_["params"]) == 9
    first, second, third = search.optimizer_results_
    # scikit-optimize's layout: values in the order of the sorted names, the step first
    assert isinstance(first.x[0], SVC) and isinstance(second.x[0], DecisionTreeClassifier)
    assert isinstance(third.x[0], LinearSVC)
    assert second.space.names == ["model", "model__max_depth"]
    assert all(isinstance(x[1], int) and 1 <= x[1] <= 6 for x in second.x_iters)
    np.testing.assert_allclose(second.func_vals, -search.cv_results_["mean_test_score"][4:8])
    assert second.fun == min(second.func_vals)
    assert second.x == second.x_iters[int(np.argmin(second.func_vals))]
    # the models the later settings came from: scikit-learn Gaussian processes
    assert len(first.models) == 2 and len(third.models) == 0
    u = first.space.to_unit(dict(zip(first.space.names, first.x_iters[0], strict=True)))
    assert first.models[-1].predict(u[None]).shape == (1,)
    assert search.best_score_ > 0.9
    assert len(pickle.loads(pickle.dumps(search)).optimizer_results_[2].x_iters) == 1
    # the subspaces' own estimators are cloned, never changed
    assert spaces[0][0]["model"].categories[0].C == 1.0
    assert spaces[1][0]["model"].categories[0].max_depth is None


@pytest.mark.parametrize(
    "space, match",
    [
        (  # max_depth is checked on the tree this subspace puts in, not on the SVC
            {"model__max_depth": Integer(1, 6)},
            r"Parameter 'model__max_depth' of the search space cannot be set on Pipeline: ",
        ),
        (
            {"model": ["tree"], "model__C": (1e-3, 1e3, "log-uniform")},
            r"'model__C' .* cannot be set on Pipeline with model=DecisionTreeClassifier",
        ),
        (
            {"model": ["svc", "tree"], "model__max_depth": Integer(1, 6)},
            r"'model__max_depth' .* cannot be set on Pipeline with model=SVC\(\)",
        ),
        ({"modle": ["svc"], "modle__C": (1.0, 2.0)}, r"Parameter 'modle' .* on Pipeline: "),
    ],
)
def test_subspaces_are_checked_as_they_set_the_estimator(space, match):
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    pipe, _ = _pipeline_subspaces()
    models = {"svc": SVC(), "tree": DecisionTreeClassifier()}
    for name, dim in space.items():
        if isinstance(dim, list):
            space[name] = [models[m] for m in dim]
    search = BayesSearchCV(pipe, [({"model__C": (1.0, 2.0)}, 2), space], n_iter=2, cv=3)
    with pytest.raises(ValueError, match=match):
        search.fit(*_IRIS)
    assert not hasattr(search, "cv_results_")


def test_starting_points_are_evaluated_first():
    x0 = [{"x1": math.pi, "x2": 2.275}, [9.42478, 2.475]]  # dicts, or values in name order
    search = _search(n_iter=5, optimizer_kwargs={"x0": x0}).fit(X, Y)
    params = search.cv_results_["params"]
    assert params[:2] == [{"x1": math.pi, "x2": 2.275}, {"x1": 9.42478, "x2": 2.475}]
    assert search.best_score_ == pytest.approx(-BRANIN_MIN, abs=1e-3)
    # with several spaces, each dict goes to the space whose names it has
    spaces = [{"x1": (-5.0, 10.0)}, {"x1": (-5.0, 10.0), "x2": (0.0, 15.0)}]
    search = _search(search_spaces=spaces, n_iter=2, optimizer_kwargs={"initial_points": x0[:1]})
    assert search.fit(X, Y).cv_results_["params"][2] == x0[0]


class BranchedBranin(Branin):
    """Branin whose x2 counts only in ``mode="b"`` (a conditional parameter)."""

    def __init__(self, x1=0.0, x2=0.0, mode="a"):
        super().__init__(x1=x1, x2=x2)
        self.mode = mode


BRANCHED_SPACE = {"x1": (-5.0, 10.0), "mode": ["a", "b"], "x2": Real(0.0, 15.0, when={"mode": "b"})}


@pytest.mark.parametrize("n_spaces", [1, 2])
def test_starting_points_may_leave_out_inactive_parameters(n_spaces):
    """A starting point without the parameters its conditions make inactive goes to its
    space; as a list of values (in name order, the layout of x_iters), an inactive
    parameter is None."""
    x0 = [{"x1": 1.0, "mode": "a"}, {"x1": 2.0, "mode": "b", "x2": 3.0}, ["a", 4.0, None]]
    spaces = [BRANCHED_SPACE] if n_spaces == 1 else [({"x1": (-5.0, 10.0)}, 1), BRANCHED_SPACE]
    if n_spaces == 2:
        x0 = x0[:2]  # several spaces take dicts only
    search = BayesSearchCV(
        BranchedBranin(), spaces, n_iter=4, cv=2, random_state=0, optimizer_kwargs={"x0": x0}
    ).fit(X, Y)
    expected = [
        {"x1": 1.0, "mode": "a"},
        {"x1": 2.0, "mode": "b", "x2": 3.0},
        {"x1": 4.0, "mode": "a"},
    ]
    first = n_spaces - 1
    assert search.cv_results_["params"][first : first + len(x0)] == expected[: len(x0)]
    assert (
        search.optimizer_results_[-1].x_iters[: len(x0)]
        == [["a", 1.0, None], ["b", 2.0, 3.0], ["a", 4.0, None]][: len(x0)]
    )


@pytest.mark.parametrize(
    "optimizer_kwargs",
    [
        {"acq_func": "gp_hedge", "n_initial_points": 4},
        {"acq_func": "LCB", "acq_func_kwargs": {"kappa": 1.0}, "n_initial_points": 4},
        {"acq_func": "PI", "acq_func_kwargs": {"xi": 0.1}, "n_initial_points": 4},
        {"acq_optimizer": "sampling", "acq_optimizer_kwargs": {"n_points": 300, "n_jobs": 2}},
        {"base_estimator": "gp", "n_jobs": 4, "random_state": 9},
        {"random_fraction": 0.5, "n_candidates": 500, "min_points_in_model": 3},
    ],
)
def test_skopt_optimizer_kwargs_are_understood(optimizer_kwargs):
    search = _search(n_iter=8, optimizer_kwargs=optimizer_kwargs).fit(X, Y)
    assert len(search.cv_results_["params"]) == 8


@pytest.mark.parametrize("model_queue_size, n_models", [(None, 5), (2, 2), (0, 0)])
def test_models_are_kept_as_skopt_keeps_them(model_queue_size, n_models):
    kwargs = {"n_initial_points": 3, "model_queue_size": model_queue_size}
    search = _search(n_iter=8, optimizer_kwargs=kwargs).fit(X, Y)
    assert len(search.optimizer_results_[0].models) == n_models  # one per model point


def test_batches_of_n_points():
    search = _search(n_iter=11, n_points=4, optimizer_kwargs={"n_initial_points": 3}).fit(X, Y)
    params = search.cv_results_["params"]
    assert len(params) == 11  # 4 + 4 + 3
    assert len({tuple(p.values()) for p in params}) == 11


def test_callbacks_stop_the_search():
    seen = []

    def record(result):
        seen.append(len(result.x_iters))

    def enough(result):
        return len(result.x_iters) >= 5

    search = _search(n_iter=20, n_points=2).fit(X, Y, callback=[record, enough])
    assert len(search.cv_results_["params"]) == 6
    assert seen == [2, 4, 6]  # every callback sees every batch
    # stopping ends the whole search, not only the current space
    spaces = [BRANIN_SPACE, BRANIN_SPACE]
    search = _search(search_spaces=spaces, n_iter=10).fit(X, Y, callback=enough)
    assert len(search.cv_results_["params"]) == 5 and len(search.optimizer_results_) == 1


def test_no_improvement_stopper():
    search = _search(n_iter=40, optimizer_kwargs={"n_initial_points": 3})
    search.fit(X, Y, callback=NoImprovementStopper(n_iter_no_change=3))
    vals = search.optimizer_results_[0].func_vals
    assert 4 <= len(vals) < 40
    assert vals[-3:].min() >= vals[:-3].min()


def test_deadline_stopper():
    search = _search(n_iter=50, estimator=Branin(sleep=0.02))
    start = time.perf_counter()
    search.fit(X, Y, callback=DeadlineStopper(total_time=0.3))
    assert time.perf_counter() - start < 3
    assert 1 <= len(search.cv_results_["params"]) < 50
    assert search.optimizer_results_[0].elapsed < 0.3 + 1.0


def test_stoppers_check_their_arguments():
    with pytest.raises(ValueError, match="total_time"):
        DeadlineStopper(0)
    with pytest.raises(ValueError, match="n_iter_no_change"):
        NoImprovementStopper(0)
    with pytest.raises(ValueError, match="tol"):
        NoImprovementStopper(2, tol=-1)


def test_failing_fits_follow_error_score():
    estimator = Branin(fail_above=2.5)
    with pytest.raises(RuntimeError, match="boom"):  # skopt's default: error_score="raise"
        BayesSearchCV(estimator, BRANIN_SPACE, n_iter=10, cv=2, random_state=0).fit(X, Y)
    search = BayesSearchCV(
        estimator, BRANIN_SPACE, n_iter=14, cv=2, random_state=0, error_score=np.nan
    )
    with pytest.warns(FitFailedWarning), pytest.warns(UserWarning, match="non-finite test_score"):
        search.fit(X, Y)
    scores = search.cv_results_["mean_test_score"]
    failed = np.array([p["x1"] > 2.5 for p in search.cv_results_["params"]])
    assert failed.any() and np.isnan(scores[failed]).all() and np.isfinite(scores[~failed]).all()
    assert search.best_params_["x1"] <= 2.5
    assert np.isnan(search.optimizer_results_[0].func_vals[failed]).all()


def test_every_fit_failing_is_an_error():
    search = BayesSearchCV(
        Branin(fail_above=-10), BRANIN_SPACE, n_iter=3, cv=2, random_state=0, error_score=0.0
    )
    with pytest.warns(FitFailedWarning), pytest.raises(ValueError) as info:
        search.fit(X, Y)
    # one clear error naming the cause, not a page of tracebacks
    assert str(info.value) == (
        "All the 6 fits of the search (3 settings x 2 folds) failed: every one with "
        "RuntimeError: boom. Set error_score='raise' to see the traceback."
    )


def test_scikit_learn_is_left_as_it_is():
    from sklearn.model_selection import _search, _validation

    search = _search_with_failures(error_score=np.nan)
    with pytest.warns(FitFailedWarning), pytest.warns(UserWarning, match="non-finite"):
        search.fit(X, Y)
    # the function BaseSearchCV calls is scikit-learn's own, so other searches still stop
    # when every fit fails
    original = _validation._warn_or_raise_about_fit_failures
    assert _search._warn_or_raise_about_fit_failures is original
    other = GridSearchCV(Branin(fail_above=-10), {"x1": [1.0, 2.0]}, cv=2, error_score=0.0)
    with pytest.raises(ValueError, match="All the 4 fits failed"):
        other.fit(X, Y)


def _search_with_failures(**kw):
    """x1 > 2.5 fails; the second space is all failures."""
    ok = {"x1": Real(-5.0, 2.0), "x2": Real(0.0, 15.0)}
    bad = {"x1": Real(3.0, 10.0), "x2": Real(0.0, 15.0)}
    kw.setdefault("search_spaces", [(ok, 3), (bad, 2), (ok, 2)])
    kw.setdefault("optimizer_kwargs", {"n_initial_points": 2})
    return _search(estimator=Branin(fail_above=2.5), **kw)


@pytest.mark.parametrize(
    "plan, n_points",
    [
        ("bad ok", 1),  # a failed batch first
        ("ok bad ok", 1),  # in the middle
        ("ok bad", 1),  # last: after scikit-learn last formatted its results
        ("ok bad", 2),
        ("bad bad ok bad", 2),
    ],
)
def test_batches_whose_every_fit_fails_keep_their_place(plan, n_points):
    ok = {"x1": Real(-5.0, 2.0), "x2": Real(0.0, 15.0)}
    bad = {"x1": Real(3.0, 10.0), "x2": Real(0.0, 15.0)}
    spaces = [({"ok": ok, "bad": bad}[word], 2) for word in plan.split()]
    search = _search_with_failures(search_spaces=spaces, n_points=n_points, error_score=-1e3)
    with pytest.warns(FitFailedWarning) as record:
        search.fit(X, Y)
    res = search.cv_results_
    assert len(res["params"]) == search.total_iterations  # every setting has its row
    tried = [x for opt in search.optimizer_results_ for x in opt.x_iters]
    assert [[p["x1"], p["x2"]] for p in res["params"]] == tried  # in the order evaluated
    failed = np.array([p["x1"] > 2.5 for p in res["params"]])
    assert failed.sum() == 2 * plan.split().count("bad")
    assert (res["mean_test_score"][failed] == -1e3).all()
    assert (res["split1_test_score"][failed] == -1e3).all()
    assert (res["rank_test_score"][failed] == (~failed).sum() + 1).all()
    assert np.isnan(res["mean_fit_time"][failed]).all()
    assert search.best_params_["x1"] <= 2.5 and search.best_estimator_.is_fitted_
    # one line per failed setting, naming the cause
    messages = [str(w.message) for w in record if w.category is FitFailedWarning]
    assert len(messages) == failed.sum()
    assert all("\n" not in m and "(RuntimeError: boom)" in m for m in messages)


@pytest.mark.parametrize(
    "scoring, refit, names",
    [
        (None, True, ["score"]),
        ({"a": "r2", "b": "neg_mean_absolute_error"}, "a", ["a", "b"]),
    ],
)
def test_train_scores_are_ranked_as_skopt_ranks_them(scoring, refit, names):
    from scipy.stats import rankdata
    from sklearn.linear_model import Ridge

    search = BayesSearchCV(
        Ridge(),
        {"alpha": (1e-3, 1e3, "log-uniform")},
        n_iter=6,
        cv=3,
        scoring=scoring,
        refit=refit,
        random_state=0,
        return_train_score=True,
    ).fit(*_REGRESSION)
    for name in names:
        mean = search.cv_results_[f"mean_train_{name}"]
        expected = rankdata(-mean, method="min").astype(np.int32)
        np.testing.assert_array_equal(search.cv_results_[f"rank_train_{name}"], expected)
    assert not any(k.startswith("rank_train") for k in _search(n_iter=2).fit(X, Y).cv_results_)


def test_fit_params_from_the_constructor_and_fit():
    search = _search(n_iter=3, fit_params={"tag": "init"}).fit(X, Y)
    assert search.best_estimator_.tag_ == "init"
    search = _search(n_iter=3, fit_params={"tag": "init"}).fit(X, Y, tag="fit")
    assert search.best_estimator_.tag_ == "fit"


def test_groups_reach_the_splitter():
    from sklearn.model_selection import GroupKFold

    groups = np.arange(20) // 5
    search = _search(n_iter=3, cv=GroupKFold(n_splits=4)).fit(X, Y, groups=groups)
    assert search.n_splits_ == 4


def test_multimetric_scoring_optimises_the_refit_metric():
    def a(est, X, y):
        return -branin(est.x1, est.x2)

    def b(est, X, y):
        return est.x1

    search = _search(n_iter=12, scoring={"a": a, "b": b}, refit="a").fit(X, Y)
    np.testing.assert_allclose(
        search.optimizer_results_[0].func_vals, -search.cv_results_["mean_test_a"]
    )
    assert -search.best_score_ < 5


def test_n_jobs_two():
    search = _search(n_iter=6, n_points=2, n_jobs=2, cv=KFold(2)).fit(X, Y)
    serial = _search(n_iter=6, n_points=2, cv=KFold(2)).fit(X, Y)
    assert search.cv_results_["params"] == serial.cv_results_["params"]


def test_skopt_dimensions_are_converted():
    space = pytest.importorskip("skopt.space")
    search = _search(
        n_iter=4,
        search_spaces={
            "x1": space.Real(1e-2, 10.0, prior="log-uniform"),
            "x2": space.Integer(0, 15),
            "fail_above": space.Categorical([None, 100.0]),
        },
    ).fit(X, Y)
    for p in search.cv_results_["params"]:
        assert 1e-2 <= p["x1"] <= 10 and isinstance(p["x2"], int)


def test_skopt_plot_convergence_reads_the_results():
    plots = pytest.importorskip("skopt.plots")
    pytest.importorskip("matplotlib").use("Agg")

    search = _search(n_iter=6).fit(X, Y)
    ax = plots.plot_convergence(search.optimizer_results_[0])
    np.testing.assert_allclose(
        ax.lines[0].get_ydata(), np.minimum.accumulate(search.optimizer_results_[0].func_vals)
    )


@pytest.mark.dask
def test_dask_backend_runs_the_fits_on_the_workers():
    distributed = pytest.importorskip("distributed")
    import joblib

    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
        joblib.parallel_backend("dask"),
        distributed.get_task_stream(client) as stream,
    ):
        search = _search(n_iter=4, n_points=2, n_jobs=-1).fit(X, Y)
        all_workers = set(client.scheduler_info()["workers"])
    assert len(search.cv_results_["params"]) == 4
    workers = {task["worker"] for task in stream.data}
    assert len(stream.data) > 0 and workers <= all_workers


@pytest.mark.slow
@fails_on_sklearn_16_with_scikeras(TypeError)  # BayesSearchCV says so, before any fit
def test_keras_classifier_end_to_end(digits):
    keras = pytest.importorskip("keras")
    wrappers = pytest.importorskip("scikeras.wrappers")

    def build(nunits=16, learning_rate=1e-2, meta=None):
        model = keras.Sequential(
            [
                keras.Input((meta["n_features_in_"],)),
                keras.layers.Dense(nunits, activation="relu"),
                keras.layers.Dense(meta["n_classes_"], activation="softmax"),
            ]
        )
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss="sparse_categorical_crossentropy",
        )
        return model

    clf = wrappers.KerasClassifier(build, epochs=2, batch_size=32, verbose=0, random_state=0)
    X, y = digits[0][:300], digits[1][:300]
    search = BayesSearchCV(
        clf,
        {"model__nunits": (8, 32), "model__learning_rate": (1e-3, 1e-1, "log-uniform")},
        n_iter=4,
        cv=2,
        optimizer_kwargs={"n_initial_points": 2},
        random_state=0,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_score_ > 0.3
    assert search.predict(X[:5]).shape == (5,)
    assert search.best_estimator_.current_epoch == 2
