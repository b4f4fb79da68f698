"""What the tests need to know of the versions installed (``make test-oldest`` pins the
lower bounds of pyproject.toml)."""

from __future__ import annotations

import pytest
import sklearn

SKLEARN_16 = tuple(int(p) for p in sklearn.__version__.split(".")[:2]) < (1, 7)


def _major_minor(module: str) -> tuple[int, ...] | None:
    try:
        version = __import__(module).__version__
    except ImportError:
        return None
    return tuple(int(p) for p in version.split(".")[:2])


#: distributed before 2025 (the oldest supported is 2024.8.0)
DISTRIBUTED_2024 = (_major_minor("distributed") or (9999,)) < (2025, 1)


def fails_on_sklearn_16_with_scikeras(raises: type[BaseException]):
    """xfail on scikit-learn 1.6, which itself calls ``get_tags`` on scikeras 0.13 wrappers.

    That raises there (``'super' object has no attribute '__sklearn_tags__'``); scikit-learn
    1.6 asks in ``Pipeline.predict`` and ``score`` (``check_is_fitted``), in its scorers
    (``is_classifier``) and in ``BaseSearchCV.fit``. skhpo's own code does not ask
    (``test_keras.py::test_scikeras_wrappers_are_recognised_without_their_tags``).
    """
    return pytest.mark.xfail(
        SKLEARN_16,
        reason="scikit-learn 1.6's get_tags fails on scikeras 0.13 wrappers",
        raises=raises,
        strict=True,
    )
