# Derived from dask-ml's tests/model_selection/test_hyperband.py (dask/dask-ml at commit
# 70af7d38; dask-ml 2025.1.0 is the latest release, and its sdist ships no tests). Its
# license:
#
#   Copyright (c) 2017, Anaconda, Inc. and contributors
#   All rights reserved.
#
#   Redistribution and use in source and binary forms, with or without modification,
#   are permitted provided that the following conditions are met:
#
#   Redistributions of source code must retain the above copyright notice,
#   this list of conditions and the following disclaimer.
#
#   Redistributions in binary form must reproduce the above copyright notice,
#   this list of conditions and the following disclaimer in the documentation
#   and/or other materials provided with the distribution.
#
#   Neither the name of Anaconda nor the names of any contributors may be used to
#   endorse or promote products derived from this software without specific prior
#   written permission.
#
#   THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
#   AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
#   IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE
#   ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT OWNER OR CONTRIBUTORS BE
#   LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR
#   CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF
#   SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS
#   INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN
#   CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE)
#   ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF
#   THE POSSIBILITY OF SUCH DAMAGE.
#
# What changed: every test keeps its name, inputs and assertions; the file is written
# anew for skhpo rather than copied, and runs without dask-ml installed.
# - ``HyperbandSearchCV`` and ``SuccessiveHalvingSearchCV`` are skhpo's.
# - dask-ml runs each test in ``distributed.utils_test.gen_cluster(client=True)``, a
#   coroutine that ``yield``s or ``await``s ``search.fit(...)`` under an asynchronous
#   client. skhpo's ``fit`` is synchronous: here each test takes the ``c`` fixture, a
#   synchronous ``Client`` on an in-process LocalCluster of two workers (the default
#   client, so the searches run there), calls ``fit`` directly, and computes what dask-ml
#   computed with ``yield c.compute(...)`` with ``c.compute(...).result()``.
# - dask-ml helpers: ``dask_ml.utils.ConstantFunction`` is the equivalent below (same
#   parameters and behaviour); ``dask_ml.datasets.make_classification(n_samples,
#   n_features, chunks)`` is scikit-learn's (NumPy arrays, no chunks);
#   ``distributed.utils_test.captured_logger`` is the small equivalent below; the logger
#   read is skhpo's ("skhpo") instead of "dask_ml.model_selection".
# - scikit-learn has since renamed SGDClassifier's loss "log" to "log_loss" and no longer
#   takes ``tol=-np.inf`` (tol must be >= 0 or None): test_basic's model and space say
#   "log_loss" and ``tol=None`` (no stopping criterion, what -inf meant).
# - Tests that cannot pass are ``xfail(strict=True)`` or ``skip`` with the reason:
#   "issue 11 item N" where skhpo lacks a behaviour another change adds; otherwise the
#   test runs dask-ml's own classes, reads its private internals, or meets a deliberate
#   difference.
"""dask-ml's HyperbandSearchCV tests, run against skhpo.HyperbandSearchCV."""

from __future__ import annotations

import contextlib
import io
import logging
import math
import time
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from sklearn.base import BaseEstimator
from sklearn.datasets import make_classification as sk_make_classification
from sklearn.linear_model import SGDClassifier

from skhpo import HyperbandSearchCV, SuccessiveHalvingSearchCV

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.dask


# -- what the tests imported from dask-ml and distributed.utils_test ----------------------


class ConstantFunction(BaseEstimator):
    """dask_ml.utils.ConstantFunction: its score is ``value``, whatever it is fitted on."""

    def __init__(self, value=0, sleep=0):
        self.value = value
        self.sleep = sleep

    def partial_fit(self, X, y=None, **kwargs):
        time.sleep(self.sleep)
        self.t_ = getattr(self, "t_", 1) + X.shape[0]  # as SGDClassifier counts
        self.coef_ = X[0]
        return self

    def score(self, *args, **kwargs):
        return self.value

    def fit(self, *args):
        return self


def make_classification(n_samples, n_features, chunks=None):
    """dask_ml.datasets.make_classification, as NumPy arrays (``chunks`` is ignored)."""
    return sk_make_classification(n_samples=n_samples, n_features=n_features, random_state=0)


@contextlib.contextmanager
def captured_logger(logger, level=logging.INFO):
    """distributed.utils_test.captured_logger: the logger's records as text."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    old_level = logger.level
    logger.setLevel(level)
    logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


@pytest.fixture(scope="module")
def _cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as cluster:
        yield cluster


@pytest.fixture
def c(_cluster):
    """What gen_cluster(client=True) gave dask-ml's tests: a client, here synchronous."""
    with distributed.Client(_cluster) as client:
        yield client


# -- the tests ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "array_type, library, max_iter",
    [
        pytest.param(
            "dask.array",
            "dask-ml",
            9,
            marks=pytest.mark.skip(
                reason="wraps the model in dask_ml.wrappers.Incremental (dask-ml's own class)"
            ),
        ),
        pytest.param("numpy", "sklearn", 9),
        *(
            pytest.param(
                "numpy",
                "ConstantFunction",
                max_iter,
                marks=pytest.mark.xfail(
                    strict=True,
                    reason="deliberate: for a max_iter that is no power of aggressiveness, "
                    "skhpo's brackets train their last rung to exactly max_iter epochs (the "
                    "paper's r_s = R; first rungs rounded, not floored), dask-ml's stop short "
                    "of it (9 and 18 epochs here): 117 and 154 partial_fit calls, not 101 and "
                    "144. The other assertions pass",
                ),
            )
            for max_iter in (15, 20)
        ),
    ],
)
def test_basic(c, array_type, library, max_iter):
    rng = da.random.RandomState(42)
    n, d = (50, 2)
    # observations a linear model can fit
    X = rng.normal(size=(n, d), chunks=n // 2)
    coef_star = rng.uniform(size=d, chunks=d)
    y = da.sign(X.dot(coef_star))
    if array_type == "numpy":
        X, y = c.compute((X, y), sync=True)

    params = {
        "loss": ["hinge", "log_loss", "modified_huber", "squared_hinge", "perceptron"],
        "average": [True, False],
        "learning_rate": ["constant", "invscaling", "optimal"],
        "eta0": np.logspace(-2, 0, num=1000),
    }
    model = SGDClassifier(tol=None, penalty="elasticnet", random_state=42, eta0=0.1)
    if library == "ConstantFunction":
        model = ConstantFunction()
        params = {"value": np.linspace(0, 1, num=1000)}

    search = HyperbandSearchCV(model, params, max_iter=max_iter, random_state=42)
    classes = c.compute(da.unique(y))
    search.fit(X, y, classes=classes)

    score = search.best_estimator_.score(X, y)
    assert score == search.score(X, y)
    assert 0 <= score <= 1
    if library == "ConstantFunction":
        assert score == search.best_score_
    else:
        # a hold-out score against the score on all of the training data
        assert abs(score - search.best_score_) < 0.1

    assert type(search.best_estimator_) is type(model)
    assert isinstance(search.best_params_, dict)

    num_fit_models = len(set(search.cv_results_["model_id"]))
    num_pf_calls = sum(v[-1]["partial_fit_calls"] for v in search.model_history_.values())
    models = {9: 17, 15: 17, 20: 17, 27: 49, 30: 49, 81: 143}
    pf_calls = {9: 69, 15: 101, 20: 144, 27: 357, 30: 379, 81: 1581}
    assert num_fit_models == models[max_iter]
    assert num_pf_calls == pf_calls[max_iter]

    best_idx = search.best_index_
    if isinstance(model, ConstantFunction):
        assert search.cv_results_["test_score"][best_idx] == max(search.cv_results_["test_score"])
    model_ids = {h["model_id"] for h in search.history_}
    if math.log(max_iter, 3) % 1.0 == 0:
        # max_iter a power of aggressiveness: more models than max_iter are tried
        assert len(model_ids) > max_iter
    else:
        # "almost as many" models as max_iter (17 for max_iter=20)
        assert len(model_ids) + 3 >= max_iter
    assert all("bracket" in id_ for id_ in model_ids)


@pytest.mark.xfail(
    strict=True,
    reason="deliberate: skhpo's metadata brackets also carry 'rungs' ((n_models, epochs) "
    "pairs, which skhpo's plots and progress use) and 'iteration' (the Hyperband iteration, "
    "for n_iterations > 1) besides dask-ml's five keys, which are "
    "all there with dask-ml's meaning; the other assertions pass "
    "(tests/test_hyperband.py::test_metadata_in_dask_ml_format)",
)
@pytest.mark.parametrize("max_iter,aggressiveness", [(27, 3), (30, 4)])
def test_hyperband_mirrors_paper_and_metadata(c, max_iter, aggressiveness):
    X, y = make_classification(n_samples=10, n_features=4, chunks=10)
    model = ConstantFunction()
    params = {"value": np.random.rand(max_iter)}  # noqa: NPY002 (dask-ml's)
    alg = HyperbandSearchCV(
        model, params, max_iter=max_iter, random_state=0, aggressiveness=aggressiveness
    )
    alg.fit(X, y)

    assert alg.metadata == alg.metadata_
    assert isinstance(alg.metadata["brackets"], list)
    assert set(alg.metadata.keys()) == {"n_models", "partial_fit_calls", "brackets"}
    for bracket in alg.metadata["brackets"]:
        assert set(bracket.keys()) == {
            "n_models",
            "partial_fit_calls",
            "bracket",
            "SuccessiveHalvingSearchCV params",
            "decisions",
        }
    if aggressiveness == 3:
        assert alg.best_score_ == params["value"].max()


@pytest.mark.xfail(
    strict=True,
    reason="deliberate: dask-ml warns when patience < max_iter // aggressiveness and raises "
    "for patience=1 ('always detect a plateau'); skhpo's patience counts epochs since the "
    "best earlier score, so patience=1 is meaningful and neither warning nor error is given. "
    "The assertions before those pass (tests/test_hyperband.py::"
    "test_patience_keeps_the_decision_points)",
)
def test_hyperband_patience(c):
    # patience=True means less computation
    X, y = make_classification(n_samples=10, n_features=4, chunks=10)
    model = ConstantFunction()
    params = {"value": scipy.stats.uniform(0, 1)}
    max_iter = 27

    alg = HyperbandSearchCV(model, params, max_iter=max_iter, patience=True, random_state=0)
    alg.fit(X, y)

    alg_patience = max_iter // alg.aggressiveness
    actual_decisions = [b.pop("decisions") for b in alg.metadata_["brackets"]]
    paper_decisions = [b.pop("decisions") for b in alg.metadata["brackets"]]
    for paper_iter, actual_iter in zip(paper_decisions, actual_decisions, strict=True):
        trimmed_paper_iter = {k for k in paper_iter if k <= alg_patience}
        # the decision points of the plan are kept, plateau stops only add to them
        assert trimmed_paper_iter.issubset(set(actual_iter))
        # and no model trains too long
        assert all(x <= alg_patience + 1 for x in actual_iter)
    assert alg.metadata_["partial_fit_calls"] <= alg.metadata["partial_fit_calls"]
    assert alg.best_score_ >= 0.9

    max_iter = 6
    kwargs = dict(max_iter=max_iter, aggressiveness=2)
    alg = HyperbandSearchCV(model, params, patience=2, **kwargs)
    with pytest.warns(UserWarning, match="The goal of `patience`"):
        alg.fit(X, y)

    alg = HyperbandSearchCV(model, params, patience=2, tol=np.nan, **kwargs)
    alg.fit(X, y)
    assert pd.DataFrame(alg.history_).partial_fit_calls.max() == max_iter

    alg = HyperbandSearchCV(model, params, patience=2, tol=None, **kwargs)
    alg.fit(X, y)
    assert pd.DataFrame(alg.history_).partial_fit_calls.max() == max_iter

    alg = HyperbandSearchCV(model, params, patience=1, **kwargs)
    with pytest.raises(ValueError, match="always detect a plateau"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            alg.fit(X, y)


def test_cv_results_order_preserved(c):
    X, y = make_classification(n_samples=10, n_features=4, chunks=10)
    model = ConstantFunction()
    params = {"value": scipy.stats.uniform(0, 1)}
    alg = HyperbandSearchCV(model, params, max_iter=9, random_state=42)
    alg.fit(X, y)

    info = {k: v[-1] for k, v in alg.model_history_.items()}
    for _, row in pd.DataFrame(alg.cv_results_).iterrows():
        model_info = info[row["model_id"]]
        assert row["bracket"] == model_info["bracket"]
        assert row["params"] == model_info["params"]
        assert np.allclose(row["test_score"], model_info["score"])


def test_successive_halving_params(c):
    # SuccessiveHalvingSearchCVs made from the "SuccessiveHalvingSearchCV params" of each
    # bracket train as many models, as many partial_fit calls, as Hyperband's brackets.
    X, y = make_classification(n_samples=10, n_features=4, chunks=10)
    model = ConstantFunction()
    params = {"value": scipy.stats.uniform(0, 1)}
    alg = HyperbandSearchCV(model, params, max_iter=27, random_state=42)

    kwargs = [v["SuccessiveHalvingSearchCV params"] for v in alg.metadata["brackets"]]
    SHAs = [SuccessiveHalvingSearchCV(model, params, **v) for v in kwargs]

    metadata = alg.metadata["brackets"]
    for true_meta, SHA in zip(metadata, SHAs, strict=True):
        SHA.fit(X, y)
        n_models = len(SHA.model_history_)
        pf_calls = [v[-1]["partial_fit_calls"] for v in SHA.model_history_.values()]
        assert true_meta["n_models"] == n_models
        assert true_meta["partial_fit_calls"] == sum(pf_calls)


@pytest.mark.xfail(
    strict=True,
    reason="skhpo's constructors take more parameters than dask-ml's (error_score, refit, "
    "asynchronous, scheduler, resources, callbacks, storage, timeout, sampler, "
    "sampler_kwargs, return_train_score, n_iterations, max_epochs_total, max_time), so both "
    "key sets are supersets; and the test "
    "reads dask-ml's private `_SuccessiveHalvings_`",
)
def test_correct_params(c):
    est = ConstantFunction()
    X, y = make_classification(n_samples=10, n_features=4, chunks=10)
    params = {"value": np.linspace(0, 1)}
    search = HyperbandSearchCV(est, params, max_iter=9)

    base = {
        "estimator",
        "estimator__value",
        "estimator__sleep",
        "parameters",
        "max_iter",
        "test_size",
        "patience",
        "tol",
        "random_state",
        "scoring",
        "verbose",
        "prefix",
    }
    assert set(search.get_params().keys()) == base.union({"aggressiveness"})
    meta = search.metadata
    SHAs_params = [bracket["SuccessiveHalvingSearchCV params"] for bracket in meta["brackets"]]
    SHA_params = base.union(
        {"n_initial_parameters", "n_initial_iter", "aggressiveness", "max_iter", "prefix"}
    ) - {"estimator__sleep", "estimator__value", "estimator", "parameters"}
    assert all(set(SHA) == SHA_params for SHA in SHAs_params)

    search.fit(X, y)
    SHAs = search._SuccessiveHalvings_
    assert all(search.estimator is SHA.estimator for SHA in SHAs.values())
    assert all(search.parameters is SHA.parameters for SHA in SHAs.values())


def test_params_passed():
    # The "SuccessiveHalvingSearchCV params" of metadata["brackets"] are right.
    est = ConstantFunction(value=0.4)
    params = {
        "aggressiveness": 3.5,
        "max_iter": 253,
        "random_state": 42,
        "scoring": False,
        "test_size": 0.212,
        "tol": 0,
    }
    params["patience"] = (params["max_iter"] // params["aggressiveness"]) + 4
    # (dask-ml passes this dict as the search space too; the search is never fitted)
    hyperband = HyperbandSearchCV(est, params, **params)

    for k, v in params.items():
        assert getattr(hyperband, k) == v

    brackets = hyperband.metadata["brackets"]
    SHAs_params = [bracket["SuccessiveHalvingSearchCV params"] for bracket in brackets]
    for SHA_params in SHAs_params:
        for k, v in params.items():
            if k == "random_state":
                continue
            assert SHA_params[k] == v
    seeds = [SHA_params["random_state"] for SHA_params in SHAs_params]
    assert len(set(seeds)) == len(seeds)


@pytest.mark.skip(
    reason="runs dask-ml's IncrementalSearchCV (dask-ml's own class) and pins dask-ml's "
    "seeding: bracket 0 samples with the search's own random_state, in dask-ml's "
    "ParameterSampler stream"
)
def test_same_random_state_same_params(c):
    pass  # the test needs IncrementalSearchCV, which skhpo does not have


@pytest.mark.skip(
    reason="reads dask-ml's private _get_hyperband_params, _get_SHAs and _SHA_seed; what it "
    "means (brackets seeded alike for one random_state, differently for none) is "
    "tests/test_hyperband.py::test_bracket_seeds_follow_random_state"
)
def test_random_state_no_seed_different_params():
    pass


def test_min_max_iter(c):
    # max_iter=1 works
    values = scipy.stats.uniform(0, 1)
    X, y = make_classification(n_samples=10, n_features=4, chunks=10)
    h = HyperbandSearchCV(ConstantFunction(), {"value": values}, max_iter=1)
    h.fit(X, y)
    assert h.best_score_ > 0


def test_history(c):
    # history_ is ordered by time
    X, y = make_classification(n_samples=10, n_features=4, chunks=10)
    model = ConstantFunction()
    params = {"value": scipy.stats.uniform(0, 1)}
    alg = HyperbandSearchCV(model, params, max_iter=9, random_state=42)
    alg.fit(X, y)

    assert alg.cv_results_["model_id"].dtype == "<U11"
    assert all(isinstance(v, str) for v in alg.cv_results_["model_id"])
    assert all("bracket=" in h["model_id"] for h in alg.history_)
    assert all("bracket" in h for h in alg.history_)

    times = [v["elapsed_wall_time"] for v in alg.history_]
    assert (np.diff(times) >= 0).all()
    # each model's records are ordered by partial_fit calls
    for model_hist in alg.model_history_.values():
        calls = [h["partial_fit_calls"] for h in model_hist]
        assert (np.diff(calls) >= 1).all() or len(calls) == 1


def test_logs_dont_repeat(c):
    # The logger does not repeat a bracket's "creating" message.
    X, y = make_classification(n_samples=10, n_features=4, chunks=10)
    model = ConstantFunction()
    params = {"value": scipy.stats.uniform(0, 1)}
    search = HyperbandSearchCV(model, params, max_iter=9, random_state=42)
    with captured_logger(logging.getLogger("skhpo")) as logs:
        search.fit(X, y)
        assert search.best_score_ > 0  # the search ran
        messages = logs.getvalue().splitlines()
    model_creation_msgs = [m for m in messages if "creating" in m]
    n_models = [m.split(" ")[-2] for m in model_creation_msgs]

    bracket_models = [b["n_models"] for b in search.metadata["brackets"]]
    assert len(bracket_models) == len(set(bracket_models))
    # one model-creation message per bracket (their n_models differ, as asserted above)
    assert len(n_models) == len(set(n_models))


def test_dataframe_inputs(c):
    dd = pytest.importorskip("dask.dataframe")  # needs pyarrow
    X = pd.DataFrame({"x": [1, 2, 3], "y": [4, 5, 6]})
    X = dd.from_pandas(X, npartitions=2)
    y = pd.Series([False, True, True])
    y = dd.from_pandas(y, npartitions=2)

    model = ConstantFunction()
    params = {"value": scipy.stats.uniform(0, 1)}
    alg = HyperbandSearchCV(model, params, max_iter=9, random_state=42)
    alg.fit(X, y)  # dask-ml: await alg.fit(X, y)
