"""Bad input raises a clear error before any model is trained."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from fakes import CurveClassifier
from sklearn.compose import make_column_transformer
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, SGDClassifier, SGDRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skhpo import BayesSearchCV, HyperbandSearchCV, SuccessiveHalvingSearchCV

X = np.random.RandomState(0).rand(60, 3)
Y = np.arange(60) % 2
SPACE = {"a": (0.0, 1.0)}


class Untrainable(CurveClassifier):
    """Fails the test if anything trains it."""

    def partial_fit(self, *args, **kwargs):  # pragma: no cover - must not run
        raise AssertionError("a model was trained before the bad input was rejected")


class UntrainableSGD(SGDClassifier):
    """scikit-learn's SGDClassifier (its input tags), failing the test if anything trains it."""

    def partial_fit(self, *args, **kwargs):  # pragma: no cover - must not run
        raise AssertionError("a model was trained before the bad input was rejected")


def _with(index, value, X=X):
    X = X.copy()
    X[index] = value
    return X


SGD = {"estimator": UntrainableSGD(), "parameters": {"alpha": [1e-4, 1e-3]}}
PCA_SGD = {
    "estimator": make_pipeline(PCA(), UntrainableSGD()),
    "parameters": {"untrainablesgd__alpha": [1e-4, 1e-3]},
}
WITH_NAN, WITH_INF = _with((7, 2), np.nan), _with((8, 1), np.inf)
WITH_TEXT = _with((4, 0), "red", X.astype(object))
FRAME = pd.DataFrame({"a": X[:, 0], "color": np.where(Y == 1, "red", "blue")})
FRAME_NAN = pd.DataFrame({"a": X[:, 0], "b": WITH_NAN[:, 2]}, index=[f"s{i}" for i in range(60)])
NAN_SGD = "UntrainableSGD does not accept missing values"

# (constructor kwargs, fit args, fit kwargs, exception, message regex)
CASES = [
    ({"parameters": {}}, (X, Y), {}, ValueError, "empty"),
    ({"parameters": []}, (X, Y), {}, ValueError, "empty|list"),
    ({"parameters": {"a": []}}, (X, Y), {}, ValueError, "'a'"),
    ({"parameters": {"a": (1.0, 0.0)}}, (X, Y), {}, ValueError, "'a'"),
    ({"parameters": {"a": (0.0, 1.0, "log-uniform")}}, (X, Y), {}, ValueError, "'a'"),
    ({"parameters": {"a": 3}}, (X, Y), {}, ValueError, "'a'"),
    ({"parameters": "a"}, (X, Y), {}, ValueError, "parameters"),
    ({"parameters": {"nope": [1, 2]}}, (X, Y), {}, ValueError, "'nope'"),
    ({"max_iter": 0}, (X, Y), {}, ValueError, "max_iter"),
    ({"max_iter": -3}, (X, Y), {}, ValueError, "max_iter"),
    ({"max_iter": 2.5}, (X, Y), {}, ValueError, "max_iter"),
    ({"aggressiveness": 1}, (X, Y), {}, ValueError, "aggressiveness"),
    ({"aggressiveness": 0.5}, (X, Y), {}, ValueError, "aggressiveness"),
    ({"test_size": 0.0}, (X, Y), {}, ValueError, "test_size"),
    ({"test_size": 1.0}, (X, Y), {}, ValueError, "test_size"),
    ({"test_size": 1.5}, (X, Y), {}, ValueError, "test_size"),
    ({"patience": -1}, (X, Y), {}, ValueError, "patience"),
    ({"tol": -1.0}, (X, Y), {}, ValueError, "tol"),
    ({"scoring": "not_a_scorer"}, (X, Y), {}, ValueError, "scoring"),
    ({"error_score": "ignore"}, (X, Y), {}, ValueError, "error_score"),
    ({"prefix": 3}, (X, Y), {}, ValueError, "prefix"),
    ({}, (X, Y[:-1]), {}, ValueError, "different numbers of samples"),
    ({}, (X[:, 0], Y), {}, ValueError, "2 dimensions"),
    ({}, (X, np.where(Y == 0, np.nan, 1.0)), {}, ValueError, "NaN"),
    ({}, (X, np.zeros(60)), {}, ValueError, "has one class"),
    ({}, (X, np.linspace(0, 1, 60)), {}, ValueError, "Unknown label type: continuous"),
    ({}, (X + 1j, Y), {}, ValueError, "Complex data not supported"),
    ({}, (X[:, :0], Y), {}, ValueError, "0 feature"),
    ({}, (X[:0], Y[:0]), {}, ValueError, "0 sample"),
    ({}, (X, None), {}, ValueError, "needs targets"),
    ({}, (X, Y), {"validation_data": (X[:5, :2], Y[:5])}, ValueError, "validation_data"),
    ({}, (X, Y), {"validation_data": (X[:5], Y[:4])}, ValueError, "validation_data"),
    ({}, (X, Y), {"validation_data": X[:5]}, ValueError, "validation_data"),
    ({"test_size": 0.3}, (X, Y), {"validation_data": (X, Y)}, ValueError, "test_size"),
    # values the estimator rejects, found before training
    (SGD, (WITH_NAN, Y), {}, ValueError, rf"^X contains NaN \(row 7, column 2\), and {NAN_SGD}"),
    (SGD, (WITH_INF, Y), {}, ValueError, r"^X contains infinity \(row 8, column 1\)"),
    (SGD, (sp.csr_matrix(WITH_NAN), Y), {}, ValueError, f"^X contains NaN, and {NAN_SGD}"),
    (SGD, (FRAME_NAN, Y), {}, ValueError, r"^X's column 'b' contains NaN \(row 's7'\)"),
    (SGD, (WITH_TEXT, Y), {}, ValueError, "^X holds values that are not numbers .*'red'"),
    (SGD, (FRAME, Y), {}, ValueError, "^X's column 'color' holds values that are not numbers"),
    (
        SGD,
        (X, Y),
        {"validation_data": (WITH_NAN[:10], Y[:10])},
        ValueError,
        r"^validation_data's X contains NaN \(row 7, column 2\)",
    ),
    (
        SGD,
        (X, Y),
        {"validation_data": (X[:10], np.r_[Y[:9], 2])},
        ValueError,
        "^validation_data's y has 1 class that y does not have: 2\\. A model never trained",
    ),
    (PCA_SGD, (WITH_NAN, Y), {}, ValueError, r"PCA \(the first step of the Pipeline\) does not"),
]


SEARCHES = {
    "hyperband": HyperbandSearchCV,
    "halving": SuccessiveHalvingSearchCV,
    "bayes": lambda est, space, **kw: BayesSearchCV(est, space, n_iter=2, cv=2, **kw),
}


def _applies(name, kwargs, fit_kwargs):
    """Whether an entry means something for that search (BayesSearchCV has no schedule,
    no hold-out split and no validation_data)."""
    if name != "bayes":
        return True
    own = BayesSearchCV(Untrainable(), SPACE).get_params(deep=False)
    return "validation_data" not in fit_kwargs and all(
        k in own for k in kwargs if k not in ("parameters", "estimator")
    )


# BayesSearchCV words these as scikit-learn does
BAYES_MATCH = {
    "parameters": "search_spaces",
    "different numbers of samples": "inconsistent numbers of samples",
}
# What BayesSearchCV does not check before training (it leaves them to the estimator's
# own fit): known gaps, pinned so that closing one shows here.
BAYES_GAPS = (
    "2 dimensions",
    "has one class",
    "Unknown label type",
    "Complex data",
    "0 feature",
    "needs targets",
    "^X",
    "PCA",
)


@pytest.mark.parametrize("name", list(SEARCHES))
@pytest.mark.parametrize(("kwargs", "args", "fit_kwargs", "exc", "match"), CASES)
def test_bad_input(name, kwargs, args, fit_kwargs, exc, match, request):
    if not _applies(name, kwargs, fit_kwargs):
        pytest.skip(f"not a setting of {name}")
    if name == "bayes":
        match = BAYES_MATCH.get(match, match)
        if match.startswith(BAYES_GAPS):
            reason = "BayesSearchCV leaves this to the estimator's fit"
            request.applymarker(pytest.mark.xfail(reason=reason, strict=True))
    kwargs = {"parameters": SPACE, "estimator": Untrainable(), **kwargs}
    search = SEARCHES[name](kwargs.pop("estimator"), kwargs.pop("parameters"), **kwargs)
    with pytest.raises(exc, match=match):
        search.fit(*args, **fit_kwargs)


@pytest.mark.parametrize(
    ("estimator", "match"),
    [
        (LogisticRegression(), "LogisticRegression has no partial_fit"),
        (make_pipeline(StandardScaler(), LogisticRegression()), "last step of the Pipeline"),
        (CurveClassifier, "instance"),
    ],
)
def test_estimator_without_partial_fit(estimator, match):
    with pytest.raises(TypeError, match=match):
        HyperbandSearchCV(estimator, {"C": [1.0]}).fit(X, Y)


def test_unknown_pipeline_parameter():
    pipe = make_pipeline(StandardScaler(), SGDRegressor())
    with pytest.raises(ValueError, match="'sgdregressor__nope'"):
        HyperbandSearchCV(pipe, {"sgdregressor__nope": [1]}).fit(X, Y)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_initial_parameters": 0}, "n_initial_parameters"),
        ({"n_initial_iter": 0}, "n_initial_iter"),
        ({"max_iter": 0}, "max_iter"),
    ],
)
def test_successive_halving_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SuccessiveHalvingSearchCV(Untrainable(), SPACE, **kwargs).fit(X, Y)


def test_metadata_validates_too():
    with pytest.raises(ValueError, match="max_iter"):
        HyperbandSearchCV(Untrainable(), SPACE, max_iter=0).metadata  # noqa: B018


@pytest.mark.parametrize(
    ("estimator", "space", "data"),
    [
        # an imputer first: NaN is the Pipeline's business
        (make_pipeline(SimpleImputer(), SGDClassifier()), "sgdclassifier__alpha", WITH_NAN),
        # text columns encoded by the Pipeline's first step
        (
            make_pipeline(
                make_column_transformer((OneHotEncoder(), ["color"]), remainder="passthrough"),
                SGDClassifier(),
            ),
            "sgdclassifier__alpha",
            FRAME,
        ),
        (SGDClassifier(), "alpha", X.astype(object)),  # numbers in an object array
        (CurveClassifier(), "a", WITH_NAN),  # an estimator whose input tags are not known
    ],
    ids=["imputer first", "encoder first", "object numbers", "unknown estimator"],
)
def test_values_the_estimator_accepts_are_not_rejected(estimator, space, data):
    search = HyperbandSearchCV(estimator, {space: [1e-4, 1e-3]}, max_iter=3, random_state=0)
    assert len(search.fit(data, Y).cv_results_["params"]) == 5
