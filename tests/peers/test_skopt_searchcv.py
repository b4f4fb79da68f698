# Derived from scikit-optimize's skopt/tests/test_searchcv.py, as released in
# scikit-optimize 0.10.2 (the file read at holgern/scikit-optimize, commit 47a903c7;
# the 0.10.2 sdist on PyPI ships no tests). Its license:
#
#   BSD 3-Clause License
#
#   Copyright (c) 2016-2024 The scikit-optimize developers.
#   All rights reserved.
#
#   Redistribution and use in source and binary forms, with or without
#   modification, are permitted provided that the following conditions are met:
#
#   1. Redistributions of source code must retain the above copyright notice, this
#      list of conditions and the following disclaimer.
#
#   2. Redistributions in binary form must reproduce the above copyright notice,
#      this list of conditions and the following disclaimer in the documentation
#      and/or other materials provided with the distribution.
#
#   3. Neither the name of the copyright holder nor the names of its
#      contributors may be used to endorse or promote products derived from
#      this software without specific prior written permission.
#
#   THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
#   AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
#   IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
#   DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE
#   FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
#   DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
#   SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
#   CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
#   OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
#   OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
#
# What changed: every test keeps its name, inputs and assertions; the file is written
# anew for skhpo rather than copied. ``skopt.BayesSearchCV`` is ``skhpo.BayesSearchCV``
# and ``skopt.space``'s ``Real``/``Integer``/``Categorical`` are ``skhpo.space``'s, so
# the file runs without scikit-optimize installed. skopt's ``slow_test`` marker is the
# project's ``slow``; its ``fast_test`` marker is dropped. Tests that cannot pass are
# marked ``xfail(strict=True)`` with the reason: "issue 11 item N" where skhpo lacks a
# behaviour another change adds, otherwise a deliberate difference.
"""scikit-optimize's BayesSearchCV tests, run against skhpo.BayesSearchCV."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, clone
from sklearn.datasets import load_iris, make_classification
from sklearn.metrics import confusion_matrix, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC, LinearSVC
from sklearn.tree import DecisionTreeClassifier

from skhpo import BayesSearchCV
from skhpo.space import Categorical, Integer, Real

SVC_SPACE = {
    "C": Real(1e-6, 1e6, prior="log-uniform"),
    "gamma": Real(1e-6, 1e1, prior="log-uniform"),
    "degree": Integer(1, 8),
    "kernel": Categorical(["linear", "poly", "rbf"]),
}


def _iris_split():
    X, y = load_iris(return_X_y=True)
    return train_test_split(X, y, train_size=0.75, random_state=0)


def _fit_svc(n_jobs=1, n_points=1, cv=None):
    """Fit a larger classification task with SVC twice, with one seed."""
    X, y = make_classification(
        n_samples=1000,
        n_features=20,
        n_redundant=0,
        n_informative=18,
        random_state=1,
        n_clusters_per_class=1,
    )
    space = {
        "C": Real(1e-3, 1e3, prior="log-uniform"),
        "gamma": Real(1e-3, 1e1, prior="log-uniform"),
        "degree": Integer(1, 3),
    }
    kwargs = dict(n_jobs=n_jobs, n_iter=11, n_points=n_points, cv=cv, random_state=42)
    opt = BayesSearchCV(SVC(), space, **kwargs)
    opt.fit(X, y)
    assert opt.score(X, y) > 0.9

    opt2 = BayesSearchCV(SVC(), space, **kwargs)
    opt2.fit(X, y)
    assert opt.score(X, y) == opt2.score(X, y)


@pytest.mark.xfail(
    strict=True,
    reason="deliberate: skhpo's __init__ only stores its arguments (scikit-learn's rule, so "
    "clone/set_params work); an empty or malformed search space raises at fit, not at "
    "construction",
)
def test_raise_errors():
    with pytest.raises(ValueError):
        BayesSearchCV(SVC(), {})
    with pytest.raises(ValueError):
        BayesSearchCV(SVC(), {"C": "1 ... 100.0"})
    with pytest.raises(TypeError):
        BayesSearchCV(SVC(), ["C", (1.0, 1)])


@pytest.mark.parametrize("surrogate", ["gp", None])
@pytest.mark.parametrize("n_jobs", [1, -1])  # sequential and parallel
@pytest.mark.parametrize("n_points", [1, 3])  # several settings asked at once
def test_searchcv_runs(surrogate, n_jobs, n_points, cv=None):
    X_train, X_test, y_train, y_test = _iris_split()
    optimizer_kwargs = {"base_estimator": surrogate} if surrogate is not None else None
    opt_score_result, run_count = 0, 0
    while run_count < 3 and opt_score_result < 0.9:  # skopt tries three times
        opt = BayesSearchCV(
            SVC(),
            dict(SVC_SPACE),
            n_jobs=n_jobs,
            n_iter=11,
            n_points=n_points,
            cv=cv,
            optimizer_kwargs=optimizer_kwargs,
        )
        opt.fit(X_train, y_train)
        opt_score_result = opt.score(X_test, y_test)
        run_count += 1
    assert opt_score_result > 0.9


@pytest.mark.slow
def test_parallel_cv():
    _fit_svc(n_jobs=1, cv=5)
    _fit_svc(n_jobs=2, cv=5)


def _subspaces():
    lin_search = {
        "model": Categorical([LinearSVC()]),
        "model__C": Real(1e-6, 1e6, prior="log-uniform"),
    }
    dtc_search = {
        "model": Categorical([DecisionTreeClassifier()]),
        "model__max_depth": Integer(1, 32),
        "model__min_samples_split": Real(1e-3, 1.0, prior="log-uniform"),
    }
    svc_search = {
        "model": Categorical([SVC()]),
        "model__C": Real(1e-6, 1e6, prior="log-uniform"),
        "model__gamma": Real(1e-6, 1e1, prior="log-uniform"),
        "model__degree": Integer(1, 8),
        "model__kernel": Categorical(["linear", "poly", "rbf"]),
    }
    return lin_search, dtc_search, svc_search


def test_searchcv_runs_multiple_subspaces():
    X_train, X_test, y_train, y_test = _iris_split()
    pipe = Pipeline([("model", SVC())])
    lin_search, dtc_search, svc_search = _subspaces()

    opt = BayesSearchCV(pipe, [(lin_search, 1), (dtc_search, 1), svc_search], n_iter=2)
    opt.fit(X_train, y_train)

    total_evaluations = len(opt.cv_results_["mean_test_score"])
    assert total_evaluations == 1 + 1 + 2, "Not all spaces were explored!"
    assert len(opt.optimizer_results_) == 3
    assert isinstance(opt.optimizer_results_[0].x[0], LinearSVC)
    assert isinstance(opt.optimizer_results_[1].x[0], DecisionTreeClassifier)
    assert isinstance(opt.optimizer_results_[2].x[0], SVC)


def test_searchcv_sklearn_compatibility():
    X_train, X_test, y_train, y_test = _iris_split()
    pipe = Pipeline([("model", SVC())])
    lin_search, dtc_search, svc_search = _subspaces()

    opt = BayesSearchCV(pipe, [(lin_search, 1), svc_search], n_iter=2)
    opt_clone = clone(opt)

    params, params_clone = opt.get_params(), opt_clone.get_params()
    assert params.keys() == params_clone.keys()
    for param, param_clone in zip(params.items(), params_clone.items(), strict=True):
        assert param[0] == param_clone[0]
        assert isinstance(param[1], type(param_clone[1]))

    opt.set_params(search_spaces=[(dtc_search, 1)])
    opt.fit(X_train, y_train)
    opt_clone.fit(X_train, y_train)

    assert len(opt.cv_results_["mean_test_score"]) == 1
    assert len(opt_clone.cv_results_["mean_test_score"]) == 1 + 2


def test_searchcv_reproducibility():
    X_train, X_test, y_train, y_test = _iris_split()
    random_state = 42
    opt = BayesSearchCV(
        SVC(random_state=random_state), dict(SVC_SPACE), n_iter=11, random_state=random_state
    )
    opt.fit(X_train, y_train)
    best_est = opt.best_estimator_
    optim_res = opt.optimizer_results_[0].x

    opt2 = clone(opt).fit(X_train, y_train)
    best_est2 = opt2.best_estimator_
    optim_res2 = opt2.optimizer_results_[0].x

    # skopt's x lists the values in the order of the sorted names: C, degree, gamma, kernel
    for attr, idx in zip(["C", "gamma", "degree", "kernel"], [0, 2, 1, 3], strict=True):
        assert getattr(best_est, attr) == getattr(best_est2, attr)
        assert optim_res[idx] == getattr(best_est, attr)
        assert optim_res2[idx] == getattr(best_est, attr)


def test_searchcv_rank():
    X_train, X_test, y_train, y_test = _iris_split()
    random_state = 42
    opt = BayesSearchCV(
        SVC(random_state=random_state),
        dict(SVC_SPACE),
        n_iter=11,
        random_state=random_state,
        return_train_score=True,
    )
    opt.fit(X_train, y_train)
    results = opt.cv_results_

    test_rank = np.asarray(
        rankdata(-np.array(results["mean_test_score"]), method="min"), dtype=np.int32
    )
    train_rank = np.asarray(
        rankdata(-np.array(results["mean_train_score"]), method="min"), dtype=np.int32
    )
    assert_array_equal(np.array(results["rank_test_score"]), test_rank)
    assert_array_equal(np.array(results["rank_train_score"]), train_rank)


def test_searchcv_refit():
    X_train, X_test, y_train, y_test = _iris_split()
    random_state = 42
    opt = BayesSearchCV(
        SVC(random_state=random_state), dict(SVC_SPACE), n_iter=11, random_state=random_state
    )
    opt2 = BayesSearchCV(
        SVC(random_state=random_state),
        dict(SVC_SPACE),
        n_iter=11,
        random_state=random_state,
        refit=True,
    )
    opt.fit(X_train, y_train)
    opt2.best_estimator_ = opt.best_estimator_
    opt2.fit(X_train, y_train)
    assert opt2.score(X_test, y_test) > 0.9


def test_searchcv_callback():
    X, y = load_iris(return_X_y=True)
    opt = BayesSearchCV(
        DecisionTreeClassifier(),
        {
            "max_depth": [3],  # a single dimension of one value
            "min_samples_split": Real(0.1, 0.9),
        },
        n_iter=5,
    )
    total_iterations = [0]

    def callback(opt_result):
        total_iterations[0] += 1
        return total_iterations[0] > 2  # True stops the search

    opt.fit(X, y, callback=callback)
    assert total_iterations[0] == 3
    opt.score(X, y)  # the final model was fitted


def test_searchcv_total_iterations():
    opt = BayesSearchCV(
        DecisionTreeClassifier(),
        [
            ({"max_depth": (1, 32)}, 10),  # 10 iterations here
            {"min_samples_split": Real(0.1, 0.9)},  # n_iter=5 here
        ],
        n_iter=5,
    )
    assert opt.total_iterations == 10 + 5


def test_search_cv_internal_parameter_types():
    # The estimator gets native Python float, int and str parameters.
    class TypeCheckEstimator(BaseEstimator):
        def __init__(self, float_param=0.0, int_param=0, str_param=""):
            self.float_param = float_param
            self.int_param = int_param
            self.str_param = str_param

        def fit(self, X, y):
            assert isinstance(self.float_param, float)
            assert isinstance(self.int_param, int)
            assert isinstance(self.str_param, str)
            return self

        def score(self, X, y):
            return np.random.uniform()  # noqa: NPY002 (skopt's)

    X, y = make_classification(10, 4)
    model = BayesSearchCV(
        estimator=TypeCheckEstimator(),
        search_spaces={
            "float_param": [0.0, 1.0],
            "int_param": [0, 10],
            "str_param": ["one", "two", "three"],
        },
        n_iter=11,
    )
    model.fit(X, y)


def test_searchcv_multimetric_scoring():
    random_state = 42
    X, y = make_classification(n_classes=2, random_state=random_state)
    X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=0.75, random_state=0)
    # an iterable of scorer names, then a dict of them
    for scoring in (["accuracy", "f1"], {"f1": "f1", "accuracy": "accuracy"}):
        opt = BayesSearchCV(
            SVC(random_state=random_state),
            dict(SVC_SPACE),
            scoring=scoring,
            refit="f1",
            n_iter=11,
            random_state=random_state,
        )
        opt.fit(X_train, y_train)
        y_pred = opt.predict(X_test)
        assert f1_score(y_test, y_pred) > 0.9
        assert len(opt.cv_results_["mean_test_accuracy"]) == len(opt.cv_results_["mean_test_f1"])


def test_searchcv_multimetric_callable_scoring():
    random_state = 42
    X, y = make_classification(n_classes=2, random_state=random_state)
    X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=0.75, random_state=0)

    def confusion_matrix_score(clf, X, y):  # from scikit-learn's examples
        cm = confusion_matrix(y, clf.predict(X))
        return {"tn": cm[0, 0], "fp": cm[0, 1], "fn": cm[1, 0], "tp": cm[1, 1]}

    opt = BayesSearchCV(
        SVC(random_state=random_state),
        dict(SVC_SPACE),
        scoring=confusion_matrix_score,
        refit="tp",
        n_iter=11,
        random_state=random_state,
    )
    opt.fit(X_train, y_train)
    assert confusion_matrix_score(opt, X_test, y_test)["tp"] > 0.9
    assert len(opt.cv_results_["mean_test_tp"]) == len(opt.cv_results_["mean_test_fp"])
