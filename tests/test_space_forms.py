"""Every form of a search space through every search: sampling, types, masking, clone,
storage resume (a table: one row per form)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fakes import CurveClassifier
from sklearn.base import clone

from skhpo import BayesSearchCV, HyperbandSearchCV, SuccessiveHalvingSearchCV
from skhpo._events import SearchCallback
from skhpo.space import Integer, Real, SearchSpace

# name -> the space, on CurveClassifier's parameters (a: float, b, plateau, peak: ints)
FORMS = {
    "plain": {"a": (0.0, 1.0), "b": [1, 2, 3]},
    "Integer step": {"b": Integer(1, 9, step=2), "a": (0.0, 1.0)},
    "Real step": {"a": Real(0.0, 1.0, step=0.1)},
    "tuple step": {"a": (0.0, 1.0, 0.25), "b": (1, 9, 4)},
    "log step": {"a": Real(0.01, 1.0, log=True, step=10), "peak": Integer(2, 16, log=True, step=2)},
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


def _hyperband(space, **kw):
    kw.setdefault("max_iter", 9)
    kw.setdefault("random_state", 0)
    return HyperbandSearchCV(CurveClassifier(), space, **kw)


SEARCHES = {
    "hyperband": lambda space: _hyperband(space),
    "hyperband bayes": lambda space: _hyperband(space, max_iter=27, sampler="bayes"),
    "successive halving": lambda space: SuccessiveHalvingSearchCV(
        CurveClassifier(),
        space,
        n_initial_parameters=9,
        n_initial_iter=1,
        max_iter=9,
        random_state=0,
    ),
    "successive halving bayes": lambda space: SuccessiveHalvingSearchCV(
        CurveClassifier(),
        space,
        n_initial_parameters=9,
        n_initial_iter=1,
        max_iter=9,
        random_state=0,
        sampler="bayes",
    ),
    "bayes": lambda space: BayesSearchCV(
        CurveClassifier(), space, n_iter=12, cv=2, random_state=0, n_points=3
    ),
}


@pytest.mark.parametrize("search", list(SEARCHES))
@pytest.mark.parametrize("form", list(FORMS))
def test_every_search_takes_every_form(form, search, small_xy):
    space = FORMS[form]
    fitted = SEARCHES[search](space).fit(*small_xy)
    _check_values(fitted, space)


@pytest.mark.parametrize("form", list(FORMS))
def test_clone_and_get_params_keep_the_form(form):
    search = _hyperband(FORMS[form])
    copy = clone(search)
    assert copy.get_params()["parameters"] == FORMS[form]
    assert SearchSpace.from_params(copy.parameters) == SearchSpace.from_params(FORMS[form])


class _StopAfter(SearchCallback):
    def __init__(self, n):
        self.n = n

    def on_trial_scored(self, search, trial, epochs, score):
        self.n -= 1
        if self.n == 0:
            raise KeyboardInterrupt


BAYES_RESUME_GAP = pytest.mark.xfail(
    strict=True,
    reason="sampler='bayes': after a resume the trials past the interruption differ from an "
    "uninterrupted run's, for the plain space too (seen while adding the step forms; the "
    "cause is not investigated yet)",
)


@pytest.mark.parametrize(
    "form, sampler",
    [(form, "random") for form in FORMS] + [pytest.param("plain", "bayes", marks=BAYES_RESUME_GAP)],
)
def test_a_stopped_search_resumes_with_the_same_trials(form, sampler, small_xy, tmp_path):
    db = tmp_path / "run.db"
    kw = {"max_iter": 27, "sampler": sampler}
    clean = _hyperband(FORMS[form], **kw).fit(*small_xy)
    with pytest.raises(KeyboardInterrupt):
        _hyperband(FORMS[form], storage=str(db), callbacks=[_StopAfter(30)], **kw).fit(*small_xy)
    resumed = _hyperband(FORMS[form], storage=str(db), **kw).fit(*small_xy)
    assert resumed.cv_results_["params"] == clean.cv_results_["params"]
    np.testing.assert_array_equal(
        resumed.cv_results_["test_score"], clean.cv_results_["test_score"]
    )
    assert resumed.search_stats_["n_tasks"] < clean.search_stats_["n_tasks"]
    assert not any(math.isnan(s) for s in resumed.cv_results_["test_score"])
