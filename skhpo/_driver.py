"""The search loop: ask the policy what to train, submit it, record what comes back.

The driver knows nothing of Keras or dask: it submits :func:`skhpo._worker.step_task`
through an executor, keeps one :class:`~skhpo._records.TrialRecord` per trial, and asks
a per-bracket policy which trials to train further. Only trials still training keep a
live model, plus the best trial that has stopped (it may be ``best_estimator_``).
"""

from __future__ import annotations

import bisect
import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from ._executor import Executor
from ._fingerprint import describe
from ._promotion import FoldBar, asha_promotable, top_k
from ._records import StepRecord, TrialRecord, TrialStatus, error_line, standing
from ._schedule import Bracket
from ._storage import Storage
from ._worker import TrialSpec, raise_if_interrupted, step_task
from .exceptions import StorageMismatchError, TrialLostError

__all__ = ["AsyncHalving", "SearchOutcome", "SearchSettings", "SyncHalving", "run_search"]

logger = logging.getLogger("skhpo")


class SyncHalving:
    """Synchronous successive halving of one bracket.

    Every trial of a rung is scored before any is promoted: the best
    ``rungs[k + 1].n_models`` go on (NaN, failed and early-stopped trials never do),
    the others are pruned. A trial is pruned as soon as that many trials of its rung
    have scored ahead of it, so that its model is let go without waiting for the rest
    of the rung: a wide first rung holds about ``1 / eta`` of its models at once.
    """

    def __init__(
        self, bracket: Bracket, trial_ids: Sequence[int], eta: float = 3, label: str = ""
    ) -> None:
        self.bracket = bracket
        self.label = label or f"bracket={bracket.index}"
        self.rung = 0
        self.members = list(trial_ids)
        self.results: dict[int, float] = {}
        self.reached: list[int] = [len(self.members)]
        self._ranked: list[tuple[float, int, int]] = []  # (-score, position, trial), best first
        self._out: set[int] = set()  # pruned before the end of the rung

    def start(self) -> list[tuple[int, int]]:
        """``(trial, target epochs)`` to submit first."""
        epochs = self.bracket.rungs[0].epochs
        return [(i, epochs) for i in self.members]

    def rung_of(self, trial: int) -> int:
        return self.rung

    def first_rung_done(self) -> bool:
        return self.rung > 0 or len(self.results) == len(self.members) or not self.members

    def report(self, trial: int, score: float | None) -> tuple[list, list, list, list]:
        """A trial of the current rung is scored (``None``: it may not be promoted).

        Returns ``(to_submit, pruned, completed, messages)``.
        """
        self.results[trial] = math.nan if score is None else score
        rungs = self.bracket.rungs
        last = self.rung + 1 == len(rungs)
        if len(self.results) < len(self.members):
            return [], ([] if last else self._surely_out(trial)), [], []
        ordered = {i: self.results[i] for i in self.members}
        if last:
            done = [i for i, s in ordered.items() if not math.isnan(s)]
            return [], [i for i in self.members if i not in done], done, []
        winners = top_k(ordered, rungs[self.rung + 1].n_models)
        pruned = [i for i in self.members if i not in winners and i not in self._out]
        self.rung += 1
        self.members = sorted(winners)
        self.results = {}
        self._ranked = []
        self._out = set()
        self.reached.append(len(self.members))
        if not self.members:
            return [], pruned, [], []
        epochs = rungs[self.rung].epochs
        return [(i, epochs) for i in self.members], pruned, [], [self.log_line()]

    def _surely_out(self, trial: int) -> list[int]:
        """Trials of the rung that can no longer be promoted, now that ``trial`` scored.

        Ranked as :func:`top_k` ranks them (higher score first, ties to the earlier
        member), the trials at places ``n_models`` and beyond stay there whatever the
        others score. One new score pushes at most one trial past that place.
        """
        k = self.bracket.rungs[self.rung + 1].n_models
        score = self.results[trial]
        if math.isnan(score):
            newly = [trial]
        else:
            entry = (-score, self.members.index(trial), trial)
            place = bisect.bisect(self._ranked, entry)
            self._ranked.insert(place, entry)
            newly = [t for _, _, t in self._ranked[k : k + 1]]
            if place >= k:
                newly.append(trial)
        newly = [t for t in dict.fromkeys(newly) if t not in self._out]
        self._out.update(newly)
        return newly

    def log_line(self) -> str:
        rung = self.bracket.rungs[self.rung]
        return f"{self.label}: rung {self.rung}, {len(self.members)} models to {rung.epochs} epochs"


class AsyncHalving:
    """Asynchronous successive halving (ASHA, Li et al. 2020) of one bracket's trials.

    A trial is promoted as soon as it is in the top ``1 / eta`` of the trials that have
    reached its rung so far, so no worker waits at a rung barrier. Promotions are never
    taken back; a trial is pruned once every trial that will reach its rung has been
    scored there and it was not promoted. A rung sends on at most the planned
    ``rungs[k + 1].n_models`` trials.
    """

    def __init__(
        self, bracket: Bracket, trial_ids: Sequence[int], eta: float = 3, label: str = ""
    ) -> None:
        self.bracket = bracket
        self.label = label or f"bracket={bracket.index}"
        self.eta = eta
        self.trials = list(trial_ids)
        n = len(bracket.rungs)
        self.scores: list[dict[int, float]] = [{} for _ in range(n)]
        self.promoted: list[list[int]] = [[] for _ in range(n)]
        self.level = {i: 0 for i in self.trials}
        self.complete = [False] * n
        self.reached: list[int] = [len(self.trials)]

    def start(self) -> list[tuple[int, int]]:
        epochs = self.bracket.rungs[0].epochs
        return [(i, epochs) for i in self.trials]

    def rung_of(self, trial: int) -> int:
        return self.level[trial]

    def first_rung_done(self) -> bool:
        return self.complete[0]

    def _expected(self, k: int) -> int | None:
        if k == 0:
            return len(self.trials)
        return len(self.promoted[k - 1]) if self.complete[k - 1] else None

    def report(self, trial: int, score: float | None) -> tuple[list, list, list, list]:
        rungs = self.bracket.rungs
        last = len(rungs) - 1
        k = self.level[trial]
        self.scores[k][trial] = math.nan if score is None else score
        to_submit, pruned, done, messages = [], [], [], []
        if k == last:
            (done if score is not None else pruned).append(trial)
        else:
            room = rungs[k + 1].n_models - len(self.promoted[k])
            ready = asha_promotable(self.scores[k], self.promoted[k], self.eta)[: max(room, 0)]
            for j in ready:
                self.promoted[k].append(j)
                self.level[j] = k + 1
                to_submit.append((j, rungs[k + 1].epochs))
                messages.append(
                    f"{self.label}: trial {j} promoted to rung {k + 1} "
                    f"({rungs[k + 1].epochs} epochs)"
                )
        # Rungs complete in order; a complete rung prunes whoever it did not promote.
        for r in range(last + 1):
            if self.complete[r]:
                continue
            expected = self._expected(r)
            if expected is None or len(self.scores[r]) < expected:
                break
            self.complete[r] = True
            if r < last:
                self.reached.append(len(self.promoted[r]))
                kept = set(self.promoted[r])
                pruned.extend(i for i in self.scores[r] if i not in kept)
        return to_submit, pruned, done, messages


@dataclass
class SearchOutcome:
    """What a finished search hands back to the estimator class."""

    trials: list[TrialRecord]
    history: list[dict]
    best_estimator: Any  # the best trial's model, brought here; None without fetch_best
    best_index: int | None
    # per bracket started, in order: ``(iteration, bracket, [(models, epochs) per rung])``
    rungs_reached: list[tuple[int, Bracket, list[tuple[int, int]]]] = field(default_factory=list)
    stats: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SearchSettings:
    """Everything one search loop needs (the arguments of :func:`run_search`).

    ``brackets`` are run in their order: :class:`~skhpo._schedule.Bracket` objects (one
    iteration), or ``(iteration, bracket)`` pairs from
    :func:`~skhpo._schedule.budget_cycle`, taken one by one as brackets start (the
    cycle may be endless when ``max_time`` bounds it).

    ``params_per_bracket`` gives every trial's parameters up front (a sequence, or a
    function of the bracket's position), and an iteration's brackets start at once, the
    next iteration's once every bracket of the previous one has scored its first rung;
    with ``params_per_bracket=None``, ``sampler`` (``ask``/``tell``) is told every score
    and asked for a bracket's parameters when the bracket starts, once the previous
    bracket has scored its first rung (BOHB). With ``storage``, the steps it holds are
    replayed first (nothing is retrained), the trials that were training restart from
    their checkpoints, and every new step is written to it. With ``fetch_best`` the
    outcome brings the best trial's model here (from the executor, or the storage);
    without, the model is left where it is (the search refits anyway).

    ``max_time`` (seconds from the start of the loop): once passed, no bracket starts,
    no trial is promoted (it ends pruned), and the tasks an executor can still take back
    (the in-process queue) are dropped; tasks already running finish and are recorded.
    """

    executor: Executor
    data_ref: Any
    estimator: Any
    brackets: Iterable[Bracket] | Iterable[tuple[int, Bracket]]
    params_per_bracket: Sequence[Sequence[dict]] | Callable[[int], Sequence[dict]] | None
    _: KW_ONLY
    eta: float = 3
    asynchronous: bool = False
    prefix: str = ""
    verbose: bool = False
    callbacks: Sequence[Any] = ()
    context: Any = None  # the search object, handed to the callbacks
    storage: Storage | None = None
    sampler: Any = None
    error_score: float | str = float("nan")
    fetch_best: bool = True
    max_time: float | None = None
    fold_rejection: float | None = None  # with cv: z of the fold-rejection rule, or off


class _StoredStep:
    """A live trial kept in the storage (after a resume): loaded when needed."""

    def __init__(self, storage: Storage, index: int) -> None:
        self._storage = storage
        self._index = index

    @property
    def handle(self) -> Any:
        return self._storage.load_checkpoint(self._index)


class _Held:
    """A trial's live state taken back from a task that never ran (``max_time``)."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle


# -- sinks: where what happened goes --------------------------------------------------------


class _Sink:
    """Told what the loop did; decides nothing. Every event does nothing by default."""

    def trials_added(self, trials: list[TrialRecord]) -> None: ...

    def bracket_started(self, bracket: Bracket) -> None: ...

    def step_done(self, trial: TrialRecord, epochs_before: int, record: StepRecord) -> None: ...

    def trial_failed(self, trial: TrialRecord) -> None: ...

    def trial_ended(self, trial: TrialRecord) -> None: ...

    def message(self, text: str) -> None: ...

    def released(self, index: int) -> None: ...


class _StorageSink(_Sink):
    """Writes trials, steps with their checkpoints, and drops checkpoints let go."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def trials_added(self, trials):
        self.storage.add_trials(trials)

    def step_done(self, trial, epochs_before, record):
        self.storage.add_step(trial.index, epochs_before, record)

    def released(self, index):
        self.storage.drop_checkpoint(index)


class _StoredTrialsCheck(_Sink):
    """While replaying: the trials created again must have their stored parameters."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def trials_added(self, trials):
        self.storage.add_trials(trials)


class _Stats(_Sink):
    """Time spent in tasks, tasks run, where they ran (the tasks of this run only)."""

    def __init__(self) -> None:
        self.busy, self.n_tasks = 0.0, 0
        self.workers: set = set()
        self.pids: set = set()
        self.fold_epochs: int | None = None

    def step_done(self, trial, epochs_before, record):
        self.busy += record.fit_time + record.score_time
        self.n_tasks += 1
        self.workers.add(record.worker)
        self.pids.add(record.pid)
        if record.fold_epochs is not None:  # every fold started the task at epochs_before
            trained = sum(record.fold_epochs) - epochs_before * len(record.fold_epochs)
            self.fold_epochs = (self.fold_epochs or 0) + trained

    def as_dict(self, start: float) -> dict:
        return {
            "wall_time": time.time() - start,
            "busy_time": self.busy,
            "n_tasks": self.n_tasks,
            "workers": sorted(w for w in self.workers if w),
            "pids": sorted(p for p in self.pids if p),
            # with cv: the epochs the fold models trained, over all folds
            **({} if self.fold_epochs is None else {"fold_epochs": self.fold_epochs}),
        }


class _History(_Sink):
    """``model_history_``: one entry per scoring, stored steps included.

    ``score`` is the score that ranks the trials; with several metrics, each one's is
    also under ``score_<name>`` (``train_score_<name>``).
    """

    def __init__(self, start: float) -> None:
        self.start = start
        self.entries: list[dict] = []

    def step_done(self, trial, epochs_before, record):
        last = len(record.scores) - 1
        for k, (epochs, score, wall) in enumerate(record.scores):
            self.entries.append(
                {
                    "model_id": trial.model_id,
                    "iteration": trial.iteration,
                    "bracket": trial.bracket,
                    "params": trial.params,
                    "partial_fit_calls": epochs,
                    "score": score,
                    "elapsed_wall_time": wall - self.start,
                    "partial_fit_time": record.fit_time,
                    "score_time": record.score_time,
                    "worker": record.worker,
                    **({"train_score": record.train_scores[k]} if record.train_scores else {}),
                    **_per_metric("score_", record.metric_scores, k),
                    **_per_metric("train_score_", record.train_metric_scores, k),
                    **({"fold_scores": record.fold_scores[k]} if record.fold_scores else {}),
                    # a failed task's last score is its error_score
                    "error": record.error if k == last else None,
                }
            )


def _per_metric(prefix: str, scores: dict | None, k: int) -> dict:
    """With several metrics, each one's ``k``-th score of a task, as ``prefix + name``."""
    return {prefix + name: values[k] for name, values in (scores or {}).items()}


class _SamplerSink(_Sink):
    """Tells the sampler every score, stored ones included (BOHB)."""

    def __init__(self, sampler: Any) -> None:
        self.sampler = sampler

    def step_done(self, trial, epochs_before, record):
        for epochs, score, _ in record.scores:
            self.sampler.tell(trial.params, score, budget=epochs)


class _Callbacks(_Sink):
    """The user's :class:`~skhpo.callbacks.SearchCallback` objects."""

    def __init__(self, callbacks: Sequence[Any], context: Any) -> None:
        self.callbacks = list(callbacks)
        self.context = context

    def step_done(self, trial, epochs_before, record):
        for epochs, score, _ in record.scores:
            for cb in self.callbacks:
                cb.on_trial_scored(self.context, trial, epochs, score)

    def trial_ended(self, trial):
        for cb in self.callbacks:
            cb.on_trial_end(self.context, trial)


class _Log(_Sink):
    """The ``"skhpo"`` logger: brackets and rungs at INFO with ``verbose``, failures."""

    def __init__(self, prefix: str, verbose: bool) -> None:
        self.prefix = prefix
        self.verbose = verbose
        self.log = logger.info if verbose else logger.debug

    def bracket_started(self, bracket):
        self.log(
            "%sbracket=%s: %d models to %d epochs",
            self.prefix,
            bracket.index,
            bracket.n_models,
            bracket.rungs[0].epochs,
        )

    def trial_failed(self, trial):
        """One line at WARNING; the whole traceback with ``verbose`` or DEBUG logging."""
        if self.verbose or logger.isEnabledFor(logging.DEBUG):
            logger.warning("%strial %s failed:\n%s", self.prefix, trial.model_id, trial.error)
        else:
            line = error_line(trial.error)
            logger.warning("%strial %s failed: %s", self.prefix, trial.model_id, line)

    def message(self, text):
        self.log("%s%s", self.prefix, text)


# -- the loop -------------------------------------------------------------------------------


class _Loop:
    """One run of the search loop: the decisions; what happens goes to the sinks.

    Replaying a storage runs the same decisions over the stored steps with other sinks
    (no storage writes, statistics, callbacks or logs) and no task submitted: the
    trials that were training are submitted once the replay is over.
    """

    def __init__(self, settings: SearchSettings) -> None:
        self.settings = settings
        self.executor = settings.executor
        storage = settings.storage
        self.policy_class = AsyncHalving if settings.asynchronous else SyncHalving
        self.trials: list[TrialRecord] = []
        self.policies: list[SyncHalving | AsyncHalving] = []  # per bracket started
        self.iterations: list[int] = []  # the iteration of each bracket started
        self.policy_of: dict[int, SyncHalving | AsyncHalving] = {}
        self.cycle = iter(settings.brackets)
        self.upcoming: tuple[int, Bracket] | None = None  # taken from the cycle, not started
        presampled = settings.params_per_bracket
        if presampled is not None and not callable(presampled):
            presampled = list(presampled).__getitem__
        self.presampled = presampled
        self.deadline = None if settings.max_time is None else time.time() + settings.max_time
        self.replaying = False
        self.out_of_time = False
        self.stopped_for_time: set[int] = set()  # their checkpoints stay, to go on later
        self.stored_params = storage.stored_params() if storage is not None else {}
        self.live: dict[int, Any] = {}  # trial -> step (or stored step) holding its state
        self.in_flight: dict[Any, tuple[int, int]] = {}  # step -> (trial, epochs before)
        self.wanted: dict[int, tuple[int, int]] = {}  # trial -> (target epochs, rung)
        self.best_final: tuple[int, Any] | None = None  # best stopped trial, state kept
        self.completed = self.executor.as_completed([])
        self.bars: dict[tuple[int, int], FoldBar] = {}  # (bracket, rung) -> fold_rejection
        self.start = storage.start if storage is not None else time.time()
        self.history = _History(self.start)
        self.stats = _Stats()
        # told while replaying too: history_ and the sampler see every step
        always: list[_Sink] = [self.history]
        if settings.sampler is not None:
            always.append(_SamplerSink(settings.sampler))
        self.live_sinks: list[_Sink] = [
            *([_StorageSink(storage)] if storage is not None else []),
            self.stats,
            *always,
            _Callbacks(settings.callbacks, settings.context),
            _Log(settings.prefix, settings.verbose),
        ]
        self.replay_sinks: list[_Sink] = [_StoredTrialsCheck(storage), *always] if storage else []
        self.sinks = self.live_sinks
        self.launch = self._submit_task

    def _tell(self, event: str, *args: Any) -> None:
        for sink in self.sinks:
            getattr(sink, event)(*args)

    # -- actions --------------------------------------------------------------------------

    def start_bracket(self) -> None:
        """Create the next bracket's trials and submit its first rung.

        Pre-sampled parameters are used as they are; otherwise the sampler is asked
        now, after the scores so far were told to it (BOHB). It is asked while replaying
        too, so that its random state and pending points move on as in the stored run
        and the brackets after the replay get what an uninterrupted run gives them. Where
        it proposes other parameters than a storage holds (a Gaussian process fitted on
        other hardware may), the stored ones are kept, with a warning in the log.
        """
        k = len(self.policies)
        iteration, bracket = self.upcoming
        self.upcoming = None
        label = f"bracket={bracket.index}"
        if iteration > 1:  # the first iteration's ids are dask-ml's, as with one iteration
            label = f"iteration={iteration}-{label}"
        first = len(self.trials)
        if self.presampled is not None:
            params_list = self.presampled(k)
        else:
            params_list = self.settings.sampler.ask(bracket.n_models)
            stored = [self.stored_params.get(i) for i in range(first, first + len(params_list))]
            if None not in stored and describe(stored) != describe(params_list):
                logger.warning(
                    "%s%s: the sampler proposed other parameters than the storage "
                    "holds; the stored ones are kept, and the trials after the resume may "
                    "differ from an uninterrupted run's",
                    self.settings.prefix,
                    label,
                )
                params_list = stored
        new = []
        for j, params in enumerate(params_list):
            new.append(
                TrialRecord(
                    first + j, f"{label}-{j}", bracket.index, dict(params), iteration=iteration
                )
            )
        self.trials.extend(new)
        self._tell("trials_added", new)
        policy = self.policy_class(bracket, [t.index for t in new], self.settings.eta, label)
        self.policies.append(policy)
        self.iterations.append(iteration)
        for t in new:
            self.policy_of[t.index] = policy
        self._tell("bracket_started", bracket)
        for i, target in policy.start():
            self.submit(i, target, 0)

    def _maybe_start_brackets(self) -> None:
        """Start the brackets that may start now, while the budget allows.

        With a sampler, a bracket starts once the previous one scored its first rung;
        with pre-sampled parameters, an iteration's brackets start at once, and the next
        iteration once every bracket of this one scored its first rung.
        """
        while not self._time_is_up():
            if self.upcoming is None:
                item = next(self.cycle, None)
                if item is None:
                    return
                self.upcoming = item if isinstance(item, tuple) else (1, item)
            if self.policies:
                if self.presampled is None:
                    waiting = self.policies[-1:]
                elif self.upcoming[0] != self.iterations[-1]:
                    last = self.iterations[-1]
                    pairs = zip(self.policies, self.iterations, strict=True)
                    waiting = [p for p, i in pairs if i == last]
                else:
                    waiting = []
                if not all(p.first_rung_done() for p in waiting):
                    return
            self.start_bracket()

    def _time_is_up(self) -> bool:
        """``max_time`` has passed (never while replaying a storage)."""
        if not self.out_of_time and self.deadline is not None and not self.replaying:
            self.out_of_time = time.time() >= self.deadline
        return self.out_of_time

    def _stop_waiting_tasks(self) -> None:
        """Out of time: take back the tasks that have not started, where the executor can.

        A trial whose first task is taken back never trained (it is left out of the
        results); one whose promotion is, ends pruned at the rung it reached.
        """
        drop = getattr(self.completed, "drop_waiting", None)
        if drop is None:
            return
        for step, source in drop():
            i, epochs_before = self.in_flight.pop(step)
            self.wanted.pop(i, None)
            if epochs_before == 0:
                self.trials[i].status = TrialStatus.PENDING
            else:
                self.live[i] = _Held(source)
                self.stop_for_time(i)

    def submit(self, i: int, target: int, rung: int) -> None:
        """Train trial ``i`` to ``target`` epochs (while replaying: once the replay ends)."""
        self.trials[i].status = TrialStatus.RUNNING
        self.wanted[i] = (target, rung)
        self.launch(i, target, rung)

    def _submit_task(self, i: int, target: int, rung: int) -> None:
        trial = self.trials[i]
        if i in self.live:
            source = self.live.pop(i).handle
        else:
            source = TrialSpec(trial.model_id, self.settings.estimator, trial.params)
        bar = self._bar(i, rung)
        step = self.executor.submit(
            step_task,
            source,
            self.settings.data_ref,
            target - trial.epochs,
            *([] if bar is None else [bar]),
            key=f"{trial.model_id}-{target}",
            priority=rung,
        )
        self.in_flight[step] = (i, trial.epochs)
        self.completed.add(step)

    def _bar(self, i: int, rung: int) -> FoldBar | None:
        """The :class:`FoldBar` of trial ``i``'s rung (``fold_rejection``; None at a
        bracket's last rung, which promotes nothing)."""
        rungs = self.policy_of[i].bracket.rungs
        if self.settings.fold_rejection is None or rung + 1 >= len(rungs):
            return None
        key = (self.trials[i].bracket, rung)
        if key not in self.bars:
            self.bars[key] = FoldBar(rungs[rung + 1].n_models, self.settings.fold_rejection)
        return self.bars[key]

    def release(self, i: int, step: Any) -> None:
        if not isinstance(step, _StoredStep):
            self.executor.release(step)
        if i not in self.stopped_for_time:
            self._tell("released", i)

    def stop_for_time(self, i: int) -> None:
        """Trial ``i`` ends pruned by ``max_time``; a storage keeps its checkpoint, so that a
        larger budget can promote it as an uninterrupted run would."""
        self.stopped_for_time.add(i)
        self.finish(i, TrialStatus.PRUNED)

    def finish(self, i: int, status: TrialStatus) -> None:
        """Trial ``i`` stops: keep its live state only while it is the best stopped one."""
        self.trials[i].status = status
        self._tell("trial_ended", self.trials[i])
        step = self.live.pop(i, None)
        if step is None:
            return
        best = self.best_final
        if best is None or _better(self.trials[i], self.trials[best[0]]):
            if best is not None:
                self.release(*best)
            self.best_final = (i, step)
        else:
            self.release(i, step)

    # -- the loop -------------------------------------------------------------------------

    def handle(self, i: int, epochs_before: int, record: StepRecord, step: Any) -> None:
        """Fold a finished task in, and act on what the trial's policy decides."""
        trial = self.trials[i]
        _, rung = self.wanted.pop(i, (None, 0))
        trial.add_step(record, epochs_before)
        bar = self._bar(i, rung)
        if bar is not None and record.error is None and not record.rejected:
            bar.add(record.fold_scores[-1])
        self._tell("step_done", trial, epochs_before, record)
        if record.error is not None:
            trial.status = TrialStatus.FAILED
            self._tell("trial_failed", trial)
            self._tell("trial_ended", trial)
            promotable = None
        else:
            self.live[i] = step
            ok = not (trial.stopped_early or trial.rejected) and not math.isnan(trial.score)
            promotable = trial.score if ok else None
        policy = self.policy_of[i]
        to_submit, pruned, done, messages = policy.report(i, promotable)
        for j in pruned:
            if self.trials[j].status != TrialStatus.FAILED:
                self.finish(j, TrialStatus.PRUNED)
        for j in done:
            self.finish(j, TrialStatus.COMPLETED)
        for message in messages:
            self._tell("message", message)
        for j, target in to_submit:
            if self._time_is_up():
                self.stop_for_time(j)
            else:
                self.submit(j, target, policy.rung_of(j))
        self._maybe_start_brackets()

    def run(self) -> SearchOutcome:
        try:
            if self.settings.storage is not None:
                self._replay()
            else:
                self._maybe_start_brackets()
            for step in self.completed:
                i, epochs_before = self.in_flight.pop(step)
                self.handle(i, epochs_before, self._record_of(step, i, epochs_before), step)
                raise_if_interrupted()  # a Ctrl-C that something swallowed
                if self._time_is_up():
                    self._stop_waiting_tasks()
            for t in self.trials:  # out of time: trials waiting at a rung for the others
                if t.status == TrialStatus.RUNNING:
                    self.stop_for_time(t.index)
        except BaseException:
            for step in list(self.live.values()) + list(self.in_flight):
                if not isinstance(step, _StoredStep):
                    self.executor.release(step)
            raise
        return self._outcome()

    def _record_of(self, step: Any, i: int, epochs_before: int) -> StepRecord:
        """The step's record; a failed one (``error_score``) if the executor lost it."""
        try:
            return step.record()
        except TrialLostError as exc:
            if self.settings.error_score == "raise":
                raise
            return StepRecord(
                model_id=self.trials[i].model_id,
                epochs=epochs_before,
                scores=((epochs_before, float(self.settings.error_score), time.time()),),
                error=f"{type(exc).__name__}: {exc}",
            )

    def _replay(self) -> None:
        """Fold the stored steps in, in their order: the same decisions, no training.

        Then submit what the trials still training want.
        """
        storage = self.settings.storage
        self.sinks, self.launch, self.replaying = self.replay_sinks, _deferred, True
        self._maybe_start_brackets()
        for i, epochs_before, record in storage.steps():
            if i >= len(self.trials):
                raise StorageMismatchError(
                    f"The storage {storage.name!r} holds trials of brackets "
                    "that this search's budget does not start (n_iterations, "
                    "max_epochs_total): give a budget at least as large as the stored "
                    "search's, or another storage."
                )
            self.handle(i, epochs_before, record, _StoredStep(storage, i))
        self.sinks, self.launch, self.replaying = self.live_sinks, self._submit_task, False
        for i, (target, rung) in sorted(self.wanted.items()):
            self.submit(i, target, rung)
        self._maybe_start_brackets()  # what a larger budget adds

    def _best_estimator(self) -> Any:
        """The best stopped trial's model, brought here (None: no such trial, or not
        wanted)."""
        if self.best_final is None or not self.settings.fetch_best:
            return None
        step = self.best_final[1]
        state = step.handle if isinstance(step, _StoredStep) else self.executor.fetch(step.handle)
        return state.estimator

    def _outcome(self) -> SearchOutcome:
        best = self.best_final
        # trials whose first task was taken back (max_time) never trained: left out
        trials = [t for t in self.trials if t.status != TrialStatus.PENDING]
        rungs_reached = [
            (i, p.bracket, _reached(p)) for i, p in zip(self.iterations, self.policies, strict=True)
        ]
        return SearchOutcome(
            trials=trials,
            history=self.history.entries,
            best_estimator=self._best_estimator(),
            best_index=trials.index(self.trials[best[0]]) if best is not None else None,
            rungs_reached=rungs_reached,
            stats=self.stats.as_dict(self.start),
        )


def _reached(policy: SyncHalving | AsyncHalving) -> list[tuple[int, int]]:
    """``(models, epochs)`` of the rungs a bracket's trials reached."""
    return [(n, r.epochs) for n, r in zip(policy.reached, policy.bracket.rungs, strict=False)]


def _deferred(i: int, target: int, rung: int) -> None:
    """While replaying, a submission only marks the trial as wanted."""


def run_search(*args: Any, **kwargs: Any) -> SearchOutcome:
    """Run every bracket to the end, brackets interleaved; rungs synchronous or ASHA.

    Takes the fields of :class:`SearchSettings`, in their order; see there.
    """
    return _Loop(SearchSettings(*args, **kwargs)).run()


def _better(a: TrialRecord, b: TrialRecord) -> bool:
    """``a`` ranks before ``b``: higher last score, NaN last, a trial stopped by fold
    rejection after every other with a real score (:func:`~skhpo._records.standing`),
    ties to the earlier trial."""
    return (*standing(a.score, a.rejected), -a.index) > (*standing(b.score, b.rejected), -b.index)
