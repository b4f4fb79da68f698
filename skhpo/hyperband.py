"""Hyperband with an epoch budget, behind scikit-learn's search API."""

from __future__ import annotations

import copy
from numbers import Integral
from typing import Any

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from ._base import BaseEpochSearchCV
from ._schedule import Bracket, hyperband_brackets

__all__ = ["HyperbandSearchCV"]


class HyperbandSearchCV(BaseEpochSearchCV):
    """Hyperband search whose budget is training epochs, spent through ``partial_fit``.

    Hyperband (Li et al., 2018) runs several brackets of successive halving: many
    models trained a few epochs, the best third (``aggressiveness=3``) trained on, and so
    on, up to ``max_iter`` epochs; the last bracket trains a few models for
    ``max_iter`` epochs from the start. One unit of ``max_iter`` is one ``partial_fit``
    call, which is one epoch for a scikeras model. A promoted model resumes where it
    stopped; for scikeras a promotion from ``r`` to ``r'`` epochs is one Keras ``fit``
    call of ``r' - r`` epochs.

    The constructor takes what ``dask_ml.model_selection.HyperbandSearchCV`` takes, with
    the same meaning, so switching is a change of import; it needs no dask.

    Parameters
    ----------
    estimator : estimator object
        An estimator with ``partial_fit`` (a scikeras ``KerasClassifier`` or
        ``KerasRegressor``, ``SGDClassifier``, ...), or a ``Pipeline`` whose last step
        has one: its other steps are fitted once per distinct set of their parameters
        and only the last step is trained epoch by epoch.
    parameters : dict or list of dict
        The search space: parameter names mapped to lists (uniform choice), scipy.stats
        distributions, ``(low, high)`` ranges, ``(low, high, "log-uniform")`` or
        :class:`~skhpo.space.Real`, :class:`~skhpo.space.Integer`,
        :class:`~skhpo.space.Categorical`. See :mod:`skhpo.space`.
    max_iter : int, default=81
        The most epochs any model is trained.
    aggressiveness : float, default=3
        Hyperband's ``eta``: each rung keeps ``1 / aggressiveness`` of the models and
        trains them ``aggressiveness`` times longer.
    patience : bool, int or float, default=False
        When a number, a trial is scored after every epoch and stops itself once its
        score has not improved by ``tol`` in ``patience`` epochs (a float is truncated,
        as in dask-ml); ``True`` means ``max_iter // aggressiveness``.
    tol : float or None, default=1e-3
        The improvement that resets ``patience``; ``None`` or NaN never stops a trial.
    test_size : float, default=None
        Fraction of ``X`` held out to score the trials (stratified for classifiers);
        ``None`` means 0.2. Not allowed together with ``fit(validation_data=...)``.
    random_state : int, RandomState instance or None, default=None
        Seeds the sampling of parameters and the hold-out split.
    scoring : str, callable or None, default=None
        A scikit-learn scorer name or callable; ``None`` uses the estimator's ``score``.
    verbose : bool or int, default=False
        ``1`` (or True) shows a progress bar (tqdm) of epochs trained / planned with the
        best score so far and the number of running trials; ``2`` also logs each rung,
        promotion and trial end to the ``"skhpo"`` logger at INFO level.
    prefix : str, default=""
        Prepended to every log message.
    error_score : "raise" or float, default=np.nan
        The score of a trial whose build, training or scoring raises; ``"raise"``
        stops the search with the error instead. NaN scores rank last and are never
        promoted.
    refit : bool, default=False
        If True, ``best_estimator_`` is a new model with ``best_params_`` trained on
        the training and validation data for the epochs the best trial earned; if
        False it is the best trial's own model.
    asynchronous : bool, default=False
        If True, promote a model as soon as it is in the top ``1 / aggressiveness`` of
        the models that reached its rung (asynchronous successive halving, ASHA), so
        that workers do not wait at rung barriers. The default waits for every model
        of a rung, and gives the same results in-process and on a cluster.
    scheduler : str or None, default=None
        Where trials train: ``None`` uses the current ``distributed`` client if there
        is one, else trains in-process; ``"in-process"`` always trains in-process; a
        dask scheduler address (``"tcp://host:8786"``) connects to that cluster.
    resources : dict or None, default=None
        dask worker resources each training task asks for, e.g. ``{"GPU": 1}`` or
        ``{"GPU": 0.25}`` (four trials per GPU). Needs a dask cluster whose workers
        offer them.
    callbacks : list of SearchCallback, default=None
        Objects told of the search's events (see :class:`skhpo.callbacks.SearchCallback`).
    storage : str or path, default=None
        An SQLite file recording every trial, every scored rung and, at each rung, the
        trial's model. Running ``fit`` again with the same storage, parameters and data
        resumes: stored rungs are not retrained, and trials that were training restart
        from their last stored rung. Another search's storage is an error
        (:class:`~skhpo.exceptions.StorageMismatchError`); delete the file to start
        fresh. Models are stored as pickles: a storage file is as trusted as code.
    timeout : float, default=None
        Seconds a trial may spend training and scoring, over all its rungs. A trial
        over its limit is stopped and marked failed
        (:class:`~skhpo.exceptions.TrialTimeoutError`), and the others go on.
    sampler : {"random", "bayes"}, default="random"
        How configurations are drawn. ``"random"`` samples every trial up front from
        the space, and all brackets start at once. ``"bayes"`` is BOHB (Falkner et al.,
        2018): the brackets start one after another, each once the previous one has
        scored its first rung, and draw their configurations from a
        :class:`~skhpo.samplers.GPSampler` fitted on the scores of the largest budget
        with enough observations, a third of them still drawn at random.
        A sampler object (with ``ask`` and ``tell``, such as a
        :class:`~skhpo.samplers.GPSampler`) is used as ``"bayes"`` uses its own, and is
        not copied: it keeps what each ``fit`` told it, so the next ``fit`` starts
        from it (a warm start; it is ``sampler_`` after a fit).
    sampler_kwargs : dict, default=None
        Arguments of :class:`~skhpo.samplers.GPSampler` for ``sampler="bayes"``; the
        defaults are ``min_points_in_model`` = the number of unit-cube dimensions + 1,
        ``random_fraction=1/3`` and ``n_initial_points=0``.
    return_train_score : bool, default=False
        Also score each trial on its own training split at every scoring (one more
        prediction pass over it): ``cv_results_`` gets ``mean_train_score``,
        ``std_train_score`` (0: one split) and ``split0_train_score``, the trial's last
        training score, and each ``history_`` record a ``train_score``.

    Attributes
    ----------
    cv_results_ : dict of numpy arrays
        One entry per trial: ``params``, ``param_<name>``, ``test_score`` (the last
        score), ``mean_test_score``, ``std_test_score``, ``rank_test_score``,
        ``model_id`` (fixed-width strings), ``bracket``, ``partial_fit_calls`` (epochs trained),
        ``mean_partial_fit_time`` (per epoch), ``mean_score_time``, ``state``
        ("completed", "pruned" or "failed"), ``stopped_early`` and ``error``.
    history_ : list of dict
        One record per scoring, in the order of ``elapsed_wall_time``: ``model_id``,
        ``bracket``, ``params``, ``partial_fit_calls``, ``score``,
        ``elapsed_wall_time``, ``partial_fit_time``, ``score_time`` (and
        ``train_score`` with ``return_train_score``).
    model_history_ : dict of list of dict
        ``history_`` grouped by ``model_id``.
    metadata_ : dict
        What ran, in the format of :attr:`metadata`; a bracket's ``decisions`` are the
        epochs at which its trials were scored.
    best_estimator_ : estimator
        The best trial's trained model (see ``refit``).
    best_params_ : dict
        Its parameters.
    best_score_ : float
        Its last validation score.
    best_index_ : int
        Its index in ``cv_results_``.
    scorer_ : callable
        The scorer.
    n_splits_ : int
        Always 1: trials are scored on one hold-out set.
    n_iter_ : int
        Epochs the best model was trained (its ``partial_fit_calls``).
    multimetric_ : bool
        Always False.
    refit_time_ : float
        Seconds spent retraining the best parameters, when ``refit=True``.
    sampler_ : object or None
        The sampler that ``sampler="bayes"`` (or a sampler object) asked and told:
        its ``observations`` are every score with its epochs as ``budget``. None for
        ``sampler="random"``.
    search_stats_ : dict
        ``wall_time``, ``busy_time`` (seconds the tasks trained and scored),
        ``n_tasks``, and the dask ``workers`` and process ids (``pids``) that ran
        tasks (empty in-process).

    See Also
    --------
    SuccessiveHalvingSearchCV : One bracket of successive halving.

    Notes
    -----
    Differences from dask-ml: ``max_iter`` counts epochs (dask-ml counts
    ``partial_fit`` calls on dask-array chunks), every bracket trains its last rung to
    exactly ``max_iter`` epochs (dask-ml's stop short of it when ``max_iter`` is no power
    of ``aggressiveness``), a failing trial gets ``error_score`` instead of stopping the
    search, ``refit`` and ``return_train_score`` exist, and small ``patience`` values
    are allowed without a warning.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import SGDClassifier
    >>> from skhpo import HyperbandSearchCV
    >>> X, y = load_digits(return_X_y=True)
    >>> search = HyperbandSearchCV(
    ...     SGDClassifier(random_state=0),
    ...     {"alpha": (1e-6, 1e-1, "log-uniform"), "loss": ["hinge", "log_loss"]},
    ...     max_iter=9, random_state=0)
    >>> search.metadata["n_models"], search.metadata["partial_fit_calls"]
    (17, 69)
    >>> search.fit(X / 16, y)
    HyperbandSearchCV(...)
    >>> search.best_score_ > 0.9
    True
    """

    _parameter_constraints: dict = {
        **BaseEpochSearchCV._parameter_constraints,
        "max_iter": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        estimator: Any,
        parameters: Any,
        max_iter: int = 81,
        aggressiveness: float = 3,
        patience: bool | int = False,
        tol: float = 1e-3,
        test_size: float | None = None,
        random_state: Any = None,
        scoring: Any = None,
        verbose: bool | int = False,
        prefix: str = "",
        *,
        error_score: float | str = np.nan,
        refit: bool = False,
        asynchronous: bool = False,
        scheduler: Any = None,
        resources: dict | None = None,
        callbacks: list | None = None,
        storage: str | None = None,
        timeout: float | None = None,
        sampler: str = "random",
        sampler_kwargs: dict | None = None,
        return_train_score: bool = False,
    ) -> None:
        self.estimator = estimator
        self.parameters = parameters
        self.max_iter = max_iter
        self.aggressiveness = aggressiveness
        self.patience = patience
        self.tol = tol
        self.test_size = test_size
        self.random_state = random_state
        self.scoring = scoring
        self.verbose = verbose
        self.prefix = prefix
        self.error_score = error_score
        self.refit = refit
        self.asynchronous = asynchronous
        self.scheduler = scheduler
        self.resources = resources
        self.callbacks = callbacks
        self.storage = storage
        self.timeout = timeout
        self.sampler = sampler
        self.sampler_kwargs = sampler_kwargs
        self.return_train_score = return_train_score

    def _brackets(self) -> list[Bracket]:
        return hyperband_brackets(self.max_iter, self.aggressiveness)

    def _bracket_search_params(self, brackets: list[Bracket]) -> list[dict]:
        shared = self._shared_search_params()
        random_state = self.random_state
        if isinstance(random_state, np.random.RandomState):
            random_state = copy.deepcopy(random_state)  # the plan must not consume it
        start = check_random_state(random_state).randint(np.iinfo(np.int32).max - len(brackets))
        return [
            {
                **shared,
                "n_initial_parameters": b.n_models,
                "n_initial_iter": b.rungs[0].epochs,
                "random_state": start + k,  # distinct seeds, one random_state: the same seeds
            }
            for k, b in enumerate(brackets)
        ]
