"""Every form of a search space through every search: sampling, types, masking, clone,
storage resume (a table: one row per form)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fakes import CurveClassifier, StopAfter
from sklearn.base import clone
from sklearn.linear_model import Perceptron, SGDClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skhpo import BayesSearchCV, HyperbandSearchCV, SuccessiveHalvingSearchCV
from skhpo.space import Categorical, Integer, Real, SearchSpace


class Net(CurveClassifier):
    """CurveClassifier with layers and an optimizer, whose partial_fit fails when a
    parameter is set that its conditions make inactive (or one is missing): an inactive
    parameter must keep its default, None."""

    def __init__(
        self,
        a=0.5,
        n_layers=1,
        units_0=8,
        units_1=None,
        units_2=None,
        units_3=None,
        optimizer="adam",
        momentum=None,
        beta_1=None,
    ):
        super().__init__(a=a)
        self.n_layers = n_layers
        self.units_0, self.units_1, self.units_2, self.units_3 = units_0, units_1, units_2, units_3
        self.optimizer = optimizer
        self.momentum = momentum
        self.beta_1 = beta_1

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        units = [self.units_0, self.units_1, self.units_2, self.units_3]
        n = self.n_layers
        if any(u is not None for u in units[n:]) or any(u is None for u in units[:n]):
            raise ValueError(f"n_layers={n} with units {units}")
        if (self.momentum is None) == (self.optimizer == "sgd"):
            raise ValueError(f"optimizer={self.optimizer} with momentum={self.momentum}")
        if (self.beta_1 is None) == (self.optimizer == "adam"):
            raise ValueError(f"optimizer={self.optimizer} with beta_1={self.beta_1}")
        return super().partial_fit(X, y, classes, sample_weight)


SGD, PERCEPTRON = SGDClassifier(random_state=0), Perceptron(random_state=0)


def _pipeline():
    return Pipeline([("scale", StandardScaler()), ("clf", SGDClassifier(random_state=0))])


# name -> (estimator, space)
FORMS = {
    "plain": (CurveClassifier, {"a": (0.0, 1.0), "b": [1, 2, 3]}),
    "Integer step": (CurveClassifier, {"b": Integer(1, 9, step=2), "a": (0.0, 1.0)}),
    "Real step": (CurveClassifier, {"a": Real(0.0, 1.0, step=0.1)}),
    "tuple step": (CurveClassifier, {"a": (0.0, 1.0, 0.25), "b": (1, 9, 4)}),
    "log step": (
        CurveClassifier,
        {"a": Real(0.01, 1.0, log=True, step=10), "peak": Integer(2, 16, log=True, step=2)},
    ),
    "n_layers": (
        Net,
        {
            "a": (0.0, 1.0),
            "n_layers": Integer(1, 4),
            "units_0": Integer(8, 64, step=8),
            **{
                f"units_{i}": Integer(8, 64, step=8, when={"n_layers": list(range(i + 1, 5))})
                for i in range(1, 4)
            },
            "beta_1": [0.9],  # Net's default optimizer is adam
        },
    ),
    "optimizer": (
        Net,
        {
            "a": (0.0, 1.0),
            "optimizer": ["sgd", "adam"],
            "momentum": Real(0.0, 0.99, when={"optimizer": "sgd"}),
            "beta_1": Real(0.8, 0.999, when={"optimizer": "adam"}),
        },
    ),
    "swapped step": (
        _pipeline,
        {
            "clf": Categorical([SGD, PERCEPTRON]),
            "clf__alpha": Real(1e-5, 1e-1, log=True, when={"clf": SGD}),
            "clf__average": Categorical([True, False], when={"clf": SGD}),  # SGD's only
            "clf__eta0": Real(0.1, 1.0, when={"clf": PERCEPTRON}),
            "scale__with_mean": [True, False],
        },
    ),
}


def _check_values(search, space):
    """Each trial's parameters: values of the space, native Python types, masked where
    absent."""
    space = SearchSpace.from_params(space)
    results = search.cv_results_
    assert len(results["params"]) > 0
    for params in results["params"]:
        (sub,) = [s for s in space.subspaces if set(params) <= set(s)]
        for name, value in params.items():
            dim = sub[name]
            if isinstance(dim, Integer | Real):
                assert dim.contains(value), (name, value)
                assert type(value) is (int if isinstance(dim, Integer) else float)
    for name in space.names:
        column = results[f"param_{name}"]
        present = [name in p for p in results["params"]]
        np.testing.assert_array_equal(np.ma.getmaskarray(column), np.logical_not(present))
        shown = [v for v, p in zip(column.tolist(), present, strict=True) if p]
        assert shown == [p[name] for p in results["params"] if name in p]


def _hyperband(estimator, space, **kw):
    kw.setdefault("max_iter", 9)
    kw.setdefault("random_state", 0)
    return HyperbandSearchCV(estimator, space, **kw)


def _halving(estimator, space, **kw):
    return SuccessiveHalvingSearchCV(
        estimator, space, n_initial_parameters=9, n_initial_iter=1, max_iter=9, random_state=0, **kw
    )


SEARCHES = {
    "hyperband": _hyperband,
    "hyperband bayes": lambda e, s: _hyperband(e, s, max_iter=27, sampler="bayes"),
    "successive halving": _halving,
    "successive halving bayes": lambda e, s: _halving(e, s, sampler="bayes"),
    "bayes": lambda e, s: BayesSearchCV(e, s, n_iter=12, cv=2, random_state=0, n_points=3),
}


@pytest.mark.parametrize("search", list(SEARCHES))
@pytest.mark.parametrize("form", list(FORMS))
def test_every_search_takes_every_form(form, search, small_xy):
    estimator, space = FORMS[form]
    fitted = SEARCHES[search](estimator(), space).fit(*small_xy)
    _check_values(fitted, FORMS[form][1])
    # no trial failed: inactive parameters were not set (Net checks it)
    if search == "bayes":
        assert np.isfinite(fitted.cv_results_["mean_test_score"]).all()
    else:
        assert set(fitted.cv_results_["state"]) <= {"completed", "pruned"}


@pytest.mark.parametrize("form", list(FORMS))
def test_clone_and_get_params_keep_the_form(form):
    estimator, space = FORMS[form]
    copy = clone(_hyperband(estimator(), space))
    assert (
        SearchSpace.from_params(copy.get_params()["parameters"]) == SearchSpace.from_params(space)
        or form == "swapped step"
    )  # clone copies the estimators the conditions name
    assert repr(SearchSpace.from_params(copy.parameters)) == repr(SearchSpace.from_params(space))


@pytest.mark.parametrize(
    "form, sampler",
    [(form, "random") for form in FORMS]
    + [  # bayes: the sampler is asked while replaying too, to move on as it did
        pytest.param(form, "bayes", marks=[pytest.mark.slow] if form == "swapped step" else [])
        for form in FORMS
    ],
)
def test_a_stopped_search_resumes_with_the_same_trials(form, sampler, small_xy, tmp_path):
    db = tmp_path / "run.db"
    kw = {"max_iter": 27, "sampler": sampler}
    estimator, space = FORMS[form]
    clean = _hyperband(estimator(), space, **kw).fit(*small_xy)
    with pytest.raises(KeyboardInterrupt):
        stop = [StopAfter(30)]
        _hyperband(estimator(), space, storage=str(db), callbacks=stop, **kw).fit(*small_xy)
    resumed = _hyperband(estimator(), space, storage=str(db), **kw).fit(*small_xy)
    assert resumed.cv_results_["params"] == clean.cv_results_["params"]
    np.testing.assert_array_equal(
        resumed.cv_results_["test_score"], clean.cv_results_["test_score"]
    )
    assert resumed.search_stats_["n_tasks"] < clean.search_stats_["n_tasks"]
    assert not any(math.isnan(s) for s in resumed.cv_results_["test_score"])


# (space, error) for every search: each raised by fit before anything is trained
BAD_SPACES = [
    ({"a": Real(0.0, 1.0, when={"b": 1})}, "names 'b', which is not a parameter"),
    (
        {
            "a": Real(0.0, 1.0, when={"b": 1}),
            "b": Integer(1, 3, when={"peak": 1}),
            "peak": Integer(1, 3, when={"b": 2}),
        },
        r"cycle: 'b' -> 'peak' -> 'b'",
    ),
    ({"a": (0.0, 1.0, 0.3)}, "step 0.3 does not divide the range from 0.0 to 1.0"),
    ({"b": (1, 10, 2)}, "step 2 does not divide the range from 1 to 10"),
]


@pytest.mark.parametrize("search", ["hyperband", "successive halving", "bayes"])
@pytest.mark.parametrize("space, match", BAD_SPACES)
def test_bad_spaces_are_refused_before_training(space, match, search, small_xy, tmp_path):
    log = tmp_path / "epochs.log"  # CurveClassifier writes a line per epoch trained
    with pytest.raises(ValueError, match=match):
        SEARCHES[search](CurveClassifier(log=str(log)), space).fit(*small_xy)
    assert not log.exists()
