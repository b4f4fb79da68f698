"""The private APIs of other libraries that skhpo still uses, one adapter each, and the
import of an optional dependency (:func:`optional_import`).

Each adapter says which versions it was checked against (the oldest pinned in
``.ci/oldest-constraints.txt`` and the newest installed when it was written), why the
public API does not do, and what happens when the private name goes away;
``tests/test_compat.py`` runs each against the installed libraries. Nothing here imports
Keras or scikeras: a scikeras wrapper is only ever handed in by the user.

Two private uses live outside this module: ``space._global_random_state`` reads numpy's
``np.random.mtrand._rand``, since ``skhpo/space.py`` must load with numpy and scipy
alone (``tests/test_space.py``); and ``_processes._OwnRandom``, a worker plugin of the
worker processes skhpo starts itself (``scheduler="processes"``, never a user's
cluster), gives five dask/distributed modules a ``random.Random`` of their own in place
of the module-level ``random`` they import, so that their event loop's draws do not
move the global generator scikeras seeds for each fit. If dask stops importing
``random`` in a module, the plugin leaves that module alone, and
``tests/test_processes.py::test_keras_results_identical_to_in_process`` says whether
results still match.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from sklearn.base import ClassifierMixin, RegressorMixin

__all__ = ["optional_import", "scikeras_estimator_type", "scikeras_fit_epochs"]


def optional_import(module: str, needed_by: str, extra: str) -> Any:
    """Import ``module``, or raise an ImportError saying what needs it and how to install it.

    ``needed_by`` starts the message ("skhpo.plot needs matplotlib"), ``extra`` is the
    skhpo extra that brings it in.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{needed_by}: pip install 'skhpo[{extra}]'") from exc


_SCIKERAS_FIT_ARGS = {"sample_weight", "warm_start", "epochs", "initial_epoch"}


def scikeras_fit_epochs(model: Any, X: Any, y: Any, n_epochs: int, fit_params: dict) -> bool:
    """Train the scikeras wrapper ``model`` ``n_epochs`` more epochs in one Keras ``fit``.

    This is the body of scikeras' ``partial_fit`` with ``epochs=n_epochs``: the private
    ``BaseWrapper._fit(X, y, sample_weight, warm_start=True, epochs=1,
    initial_epoch=self.current_epoch)``, preceded for a ``KerasClassifier`` by setting
    ``classes_`` as its ``partial_fit`` does. ``history_`` and ``current_epoch`` end as
    after ``n_epochs`` ``partial_fit`` calls. Checked against scikeras 0.13.0 (both the
    oldest pinned and the newest release when written).

    Why not public API: ``partial_fit`` trains one epoch per Keras ``fit`` call (0.255 s
    against 0.153 s per epoch inside one call for the digits MLP, design notes §2).
    ``fit(X, y, epochs=k, initial_epoch=current_epoch)`` resumes only when the user's
    wrapper has ``warm_start=True``, passes ``epochs`` through the ``fit`` keyword
    arguments that scikeras documents as going away, and ``KerasClassifier.fit`` resets
    ``classes_`` to None.

    Returns False, having trained nothing, when ``model`` has no ``_fit`` taking those
    arguments (a scikeras that changed it): the caller then calls ``partial_fit``
    ``n_epochs`` times, slower but the same training.
    """
    fit = getattr(type(model), "_fit", None)
    try:
        params = inspect.signature(fit).parameters if fit is not None else {}
    except (TypeError, ValueError):  # pragma: no cover - not a Python function
        params = {}
    if not _SCIKERAS_FIT_ARGS <= set(params) or not hasattr(model, "current_epoch"):
        return False
    kwargs = dict(fit_params)
    classes = kwargs.pop("classes", None)
    sample_weight = kwargs.pop("sample_weight", None)
    if isinstance(model, ClassifierMixin):
        # What KerasClassifier.partial_fit does before delegating to _fit.
        model.classes_ = classes if classes is not None else getattr(model, "classes_", None)
    model._fit(
        X,
        y,
        sample_weight=sample_weight,
        warm_start=True,
        epochs=n_epochs,
        initial_epoch=model.current_epoch,
        **kwargs,
    )
    return True


def scikeras_estimator_type(wrapper: Any) -> str | None:
    """``"classifier"``, ``"regressor"`` or None for a scikeras wrapper, without its tags.

    Public first: ``KerasClassifier`` and ``KerasRegressor`` derive from scikit-learn's
    ``ClassifierMixin`` and ``RegressorMixin``. scikit-learn's own public answer,
    ``get_tags(wrapper).estimator_type`` (what ``is_classifier`` reads), cannot be used
    with scikeras 0.13: scikit-learn 1.6.0 raises ``AttributeError: 'super' object has
    no attribute '__sklearn_tags__'`` and 1.7 to 1.9.1 answer None, because the wrapper
    lists ``BaseEstimator`` before the mixin.

    Fallback for a wrapper with neither mixin (a user's subclass of ``BaseWrapper``):
    its ``_estimator_type``, scikit-learn's convention before 1.6 and what scikeras
    0.13.0 sets on its two wrappers; None when it has none. Checked against scikeras
    0.13.0 with scikit-learn 1.6.0 and 1.9.1.
    """
    if isinstance(wrapper, ClassifierMixin):
        return "classifier"
    if isinstance(wrapper, RegressorMixin):
        return "regressor"
    return getattr(wrapper, "_estimator_type", None)
