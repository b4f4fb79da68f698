"""Hyperband with an epoch budget, behind scikit-learn's search API."""

from __future__ import annotations

import copy
import os
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from ._base import BaseEpochSearchCV
from ._schedule import Bracket, hyperband_brackets
from ._storage import SearchStorage

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
    scoring : str, callable, list, tuple, set, dict or None, default=None
        A scikit-learn scorer name or callable; ``None`` uses the estimator's ``score``.
        Several metrics as in scikit-learn: a list, tuple or set of scorer names, a dict
        of names to scorers, or a callable returning a dict of names to scores. Every
        metric is taken at every scoring; the one ``refit`` names ranks and promotes the
        trials (with ``refit=False`` or a callable, the first one does).
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
    refit : bool, str, callable or None, default=None
        If True, ``best_estimator_`` is a new model with ``best_params_`` trained on
        the training and validation data (all of ``X`` with ``cv``) for the epochs the
        best trial earned (on a dask cluster, as one more task on a worker, asking for
        ``resources`` as the trials do); if False it is the best trial's own model, or
        with ``cv`` there is none (as in scikit-learn's searches: a trial is one model
        per fold). ``None`` means True with ``cv`` and False without. With several
        metrics, as in scikit-learn: a metric's name picks the metric that ranks and
        promotes the trials and refits as True does; a callable takes ``cv_results_``
        and returns ``best_index_`` (and refits; there is no ``best_score_``); False
        keeps every trial's results but sets no ``best_*`` attribute and no
        ``best_estimator_``. True is an error there, before any training (after it,
        for a callable ``scoring``, whose metrics are known once it has scored).
    asynchronous : bool, default=False
        If True, promote a model as soon as it is in the top ``1 / aggressiveness`` of
        the models that reached its rung (asynchronous successive halving, ASHA), so
        that workers do not wait at rung barriers. The default waits for every model
        of a rung, and gives the same results in-process and on a cluster.
    scheduler : str or None, default=None
        Where trials train: ``None`` uses the current ``distributed`` client if there
        is one, else trains in-process; ``"in-process"`` always trains in-process;
        ``"processes"`` trains in ``n_workers`` local worker processes that skhpo
        starts for the ``fit`` and replaces when their memory passes
        ``worker_memory_limit`` (see :ref:`processes`); a dask scheduler address
        (``"tcp://host:8786"``) connects to that cluster.
    n_workers : int, default=None
        With ``scheduler="processes"``: how many worker processes train trials, each
        one at a time (None: 1).
    worker_memory_limit : float, int or str, default=None
        With ``scheduler="processes"``: the resident memory past which a worker is
        replaced, its models continuing in the others from the epoch they reached. A
        fraction of the machine's memory (a float up to 1), bytes (an int), or a
        string such as ``"4GiB"``; None means half the machine's memory, shared by the
        workers.
    resources : dict or None, default=None
        dask worker resources each training task asks for, e.g. ``{"GPU": 1}`` or
        ``{"GPU": 0.25}`` (four trials per GPU). Needs a dask cluster whose workers
        offer them.
    callbacks : list of SearchCallback, default=None
        Objects told of the search's events (see :class:`skhpo.callbacks.SearchCallback`).
    storage : str, path or SearchStorage, default=None
        Where the search records every trial, every scored rung and, at each rung, the
        trial's model: an SQLite file's path, a ``postgresql://`` URL (extra
        ``postgres``), or a :class:`~skhpo.SearchStorage` (a study name, so that
        several searches share a database; a ``checkpoints=`` location the workers of a
        cluster can read). Running ``fit`` again with the same storage, parameters and
        data resumes: stored rungs are not retrained, and trials that were training
        restart from their last stored rung. Another search's storage is an error
        (:class:`~skhpo.exceptions.StorageMismatchError`); delete the file or give
        another study name to start fresh. Keras models are stored in Keras' format,
        the rest as pickles: a storage is as trusted as code.
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
        training score (with ``cv``, ``split<i>_train_score`` per fold; with several
        metrics, these per metric), and each ``history_`` record a ``train_score``.
    n_iterations : int or None, default=1
        Hyperband iterations to run (keras-tuner's ``hyperband_iterations``): each runs
        every bracket once, with new configurations. ``None``: as many as
        ``max_epochs_total`` or ``max_time`` allow (one of them is then needed).
    max_epochs_total : int or None, default=None
        The most epochs all trials may train together: brackets start, in Hyperband's
        cycle, while the epochs ``metadata`` plans for them fit in it, and the search
        ends at the first that does not fit.
    max_time : float or None, default=None
        Seconds this ``fit`` may run: once they have passed, no bracket starts and no
        trial is promoted (it ends pruned); tasks still waiting in-process are dropped,
        and those already training finish and are in the results. See
        :ref:`hyperband-budget`.
    cv : int, cross-validation generator or iterable, default=None
        ``None`` scores each trial on one hold-out split (``test_size``). Otherwise the
        folds, as scikit-learn's searches take them (``check_cv(cv, y, classifier=...)``:
        an int is stratified k-fold for classifiers, k-fold otherwise): a trial is one
        model per fold, trained in lockstep in one task, and its score is the mean of
        the fold scores (with several metrics, each metric's mean; the ``refit``
        metric's ranks); promotions use that mean. Not allowed together with
        ``test_size`` or ``validation_data``, nor with dask collections. See
        :ref:`hyperband-cv`.
    fold_rejection : bool or float, default=False
        With ``cv``: stop a trial after its first folds when even an optimistic bound
        on its mean (of the metric that ranks the trials) cannot reach the rung's
        promotion cutoff (:func:`skhpo._promotion.reject_after_folds`); ``True``
        allows 2 standard errors of optimism, a float sets that number. A stopped
        trial ranks after every trial with a real score on all its folds and is never
        ``best_index_``. See :ref:`hyperband-cv`.

    Attributes
    ----------
    cv_results_ : dict of numpy arrays
        One entry per trial: ``params``, ``param_<name>``, ``test_score`` (the last
        score), ``mean_test_score``, ``std_test_score``, ``rank_test_score``,
        ``model_id`` (fixed-width strings), ``iteration`` (from 1), ``bracket``,
        ``partial_fit_calls`` (epochs trained),
        ``mean_partial_fit_time`` (per epoch), ``mean_score_time``, ``state``
        ("completed", "pruned" or "failed"), ``stopped_early`` and ``error``. With
        several metrics, ``mean_test_<name>``, ``std_test_<name>``,
        ``split0_test_<name>`` and ``rank_test_<name>`` per metric replace the
        ``*_test_score`` keys and ``test_score``, as in scikit-learn. With
        ``cv``, also ``split<i>_test_score`` (each fold's last score; ``mean_test_score``
        is their mean, ``std_test_score`` their standard deviation; with several
        metrics, ``split<i>_test_<name>`` per metric) and ``rejected``: trials stopped
        by ``fold_rejection``, which rank after every trial with a real score on all
        its folds.
    history_ : list of dict
        One record per scoring, in the order of ``elapsed_wall_time``: ``model_id``,
        ``bracket``, ``params``, ``partial_fit_calls``, ``score``,
        ``elapsed_wall_time``, ``partial_fit_time``, ``score_time`` (and
        ``train_score`` with ``return_train_score``). ``score`` is the score that
        ranks the trials; with several metrics each one's is also under
        ``score_<name>`` (and ``train_score_<name>``). With ``cv`` these are means
        over the folds, and ``fold_scores`` holds the ranking score of each fold.
    model_history_ : dict of list of dict
        ``history_`` grouped by ``model_id``.
    metadata_ : dict
        What ran, in the format of :attr:`metadata`: every bracket started, of every
        iteration; a bracket's ``decisions`` are the epochs at which its trials were
        scored.
    best_estimator_ : estimator
        The best trial's trained model (see ``refit``).
    best_params_ : dict
        Its parameters.
    best_score_ : float
        Its last validation score (of the ``refit`` metric).
    best_index_ : int
        Its index in ``cv_results_``.
    scorer_ : callable or dict
        The scorer; with several metrics named up front, a dict of them.
    n_splits_ : int
        The number of folds with ``cv``; 1 (one hold-out set) without.
    n_iter_ : int
        Epochs the best model was trained (its ``partial_fit_calls``).
    multimetric_ : bool
        Whether ``scoring`` gives several metrics.
    refit_time_ : float
        Seconds spent retraining the best parameters, when ``refit=True``.
    sampler_ : object or None
        The sampler that ``sampler="bayes"`` (or a sampler object) asked and told:
        its ``observations`` are every score with its epochs as ``budget``. None for
        ``sampler="random"``.
    search_stats_ : dict
        ``wall_time``, ``busy_time`` (seconds the tasks trained and scored),
        ``n_tasks``, and the dask ``workers`` and process ids (``pids``) that ran
        tasks (empty in-process); with ``cv``, ``fold_epochs``: the epochs the fold
        models trained, over all folds.

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
        "n_iterations": [Interval(Integral, 1, None, closed="left"), None],
        "max_epochs_total": [Interval(Integral, 1, None, closed="left"), None],
        "max_time": [Interval(Real, 0, None, closed="neither"), None],
    }
    _budget_params = ("n_iterations", "max_epochs_total", "max_time")
    _plan_params = (*BaseEpochSearchCV._plan_params, *_budget_params)
    # a larger budget extends a search from its storage
    _not_in_fingerprint = (*BaseEpochSearchCV._not_in_fingerprint, *_budget_params)

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
        refit: bool | None = None,
        asynchronous: bool = False,
        scheduler: Any = None,
        n_workers: int | None = None,
        worker_memory_limit: float | str | None = None,
        resources: dict | None = None,
        callbacks: list | None = None,
        storage: str | os.PathLike | SearchStorage | None = None,
        timeout: float | None = None,
        sampler: str = "random",
        sampler_kwargs: dict | None = None,
        return_train_score: bool = False,
        n_iterations: int | None = 1,
        max_epochs_total: int | None = None,
        max_time: float | None = None,
        cv: Any = None,
        fold_rejection: bool | float = False,
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
        self.n_workers = n_workers
        self.worker_memory_limit = worker_memory_limit
        self.resources = resources
        self.callbacks = callbacks
        self.storage = storage
        self.timeout = timeout
        self.sampler = sampler
        self.sampler_kwargs = sampler_kwargs
        self.return_train_score = return_train_score
        self.n_iterations = n_iterations
        self.max_epochs_total = max_epochs_total
        self.max_time = max_time
        self.cv = cv
        self.fold_rejection = fold_rejection

    def _brackets(self) -> list[Bracket]:
        return hyperband_brackets(self.max_iter, self.aggressiveness)

    def _budget(self) -> tuple[int | None, int | None, float | None]:
        if self.n_iterations is None and self.max_epochs_total is None and self.max_time is None:
            raise ValueError(
                "n_iterations=None runs until max_epochs_total or max_time is spent: give "
                "one of them, or an int n_iterations"
            )
        return (self.n_iterations, self.max_epochs_total, self.max_time)

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
