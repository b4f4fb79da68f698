"""scikit-learn's own estimator checks, as scikit-learn runs them on its searches.

``parametrize_with_checks`` runs every check of ``check_estimator`` on small searches, as
``sklearn/tests/test_common.py`` does for ``HalvingRandomSearchCV``; each check that
fails is listed in ``EXPECTED_FAILED`` with its reason.
"""

from __future__ import annotations

from sklearn.linear_model import LogisticRegression, Ridge, SGDClassifier, SGDRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skhpo import BayesSearchCV, HyperbandSearchCV, SuccessiveHalvingSearchCV

ALPHAS = {"alpha": [1e-4, 1e-3]}

ESTIMATORS = [
    HyperbandSearchCV(SGDClassifier(random_state=0), ALPHAS, max_iter=3, random_state=0),
    HyperbandSearchCV(SGDRegressor(random_state=0), ALPHAS, max_iter=3, random_state=0),
    HyperbandSearchCV(
        make_pipeline(MaxAbsScaler(), SGDClassifier(random_state=0)),
        {"sgdclassifier__alpha": [1e-4, 1e-3]},
        max_iter=3,
        random_state=0,
    ),
    SuccessiveHalvingSearchCV(
        SGDClassifier(random_state=0), ALPHAS, n_initial_parameters=3, random_state=0
    ),
    SuccessiveHalvingSearchCV(
        SGDRegressor(random_state=0), ALPHAS, n_initial_parameters=3, random_state=0
    ),
    BayesSearchCV(Ridge(), {"alpha": (0.1, 1.0)}, n_iter=3, cv=2, random_state=0),
    BayesSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, n_iter=2, cv=2, random_state=0),
]


def expected_failed_checks(search) -> dict:
    """Each check a search is expected to fail, with the reason (see docs' Compatibility)."""
    if isinstance(search, BayesSearchCV):
        return {}
    return {
        "check_dtype_object": (
            "a trial's error is kept as text: when every trial fails, the search raises "
            "ValueError with the first error, not the estimator's TypeError"
        ),
    }


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
