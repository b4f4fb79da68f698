"""The search loop: ask the policy what to train, submit it, record what comes back.

The driver knows nothing of Keras or dask: it submits :func:`skhpo._worker.step_task`
through an executor, keeps one :class:`~skhpo._records.TrialRecord` per trial, and asks
a per-bracket policy which trials to train further. Only trials still training keep a
live model, plus the best trial that has stopped (it may be ``best_estimator_``).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ._executor import Executor, Step
from ._promotion import asha_promotable, top_k
from ._records import COMPLETED, FAILED, PRUNED, RUNNING, TrialRecord
from ._schedule import Bracket
from ._worker import TrialSpec, step_task

__all__ = ["AsyncHalving", "SearchOutcome", "SyncHalving", "run_search"]

logger = logging.getLogger("skhpo")


class SyncHalving:
    """Synchronous successive halving of one bracket.

    Every trial of a rung is scored before any is promoted: the best
    ``rungs[k + 1].n_models`` go on (NaN, failed and early-stopped trials never do),
    the others are pruned.
    """

    def __init__(self, bracket: Bracket, trial_ids: Sequence[int], eta: float = 3) -> None:
        self.bracket = bracket
        self.rung = 0
        self.members = list(trial_ids)
        self.results: dict[int, float] = {}
        self.reached: list[int] = [len(self.members)]

    def start(self) -> list[tuple[int, int]]:
        """``(trial, target epochs)`` to submit first."""
        epochs = self.bracket.rungs[0].epochs
        return [(i, epochs) for i in self.members]

    def rung_of(self, trial: int) -> int:
        return self.rung

    def report(self, trial: int, score: float | None) -> tuple[list, list, list, list]:
        """A trial of the current rung is scored (``None``: it may not be promoted).

        Returns ``(to_submit, pruned, completed, messages)``.
        """
        self.results[trial] = math.nan if score is None else score
        if len(self.results) < len(self.members):
            return [], [], [], []
        rungs = self.bracket.rungs
        ordered = {i: self.results[i] for i in self.members}
        if self.rung + 1 == len(rungs):
            done = [i for i, s in ordered.items() if not math.isnan(s)]
            return [], [i for i in self.members if i not in done], done, []
        winners = top_k(ordered, rungs[self.rung + 1].n_models)
        pruned = [i for i in self.members if i not in winners]
        self.rung += 1
        self.members = sorted(winners)
        self.results = {}
        self.reached.append(len(self.members))
        if not self.members:
            return [], pruned, [], []
        epochs = rungs[self.rung].epochs
        return [(i, epochs) for i in self.members], pruned, [], [self.log_line()]

    def log_line(self) -> str:
        rung = self.bracket.rungs[self.rung]
        return (
            f"bracket={self.bracket.index}: rung {self.rung}, {len(self.members)} models "
            f"to {rung.epochs} epochs"
        )


class AsyncHalving:
    """Asynchronous successive halving (ASHA, Li et al. 2020) of one bracket's trials.

    A trial is promoted as soon as it is in the top ``1 / eta`` of the trials that have
    reached its rung so far, so no worker waits at a rung barrier. Promotions are never
    taken back; a trial is pruned once every trial that will reach its rung has been
    scored there and it was not promoted. A rung sends on at most the planned
    ``rungs[k + 1].n_models`` trials.
    """

    def __init__(self, bracket: Bracket, trial_ids: Sequence[int], eta: float = 3) -> None:
        self.bracket = bracket
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
                    f"bracket={self.bracket.index}: trial {j} promoted to rung {k + 1} "
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
    best_state: Any  # the executor's handle of the best trial's live state, or None
    best_index: int | None
    rungs_reached: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    stats: dict = field(default_factory=dict)


def run_search(
    executor: Executor,
    data_ref: Any,
    estimator: Any,
    brackets: Sequence[Bracket],
    params_per_bracket: Sequence[Sequence[dict]],
    *,
    eta: float = 3,
    asynchronous: bool = False,
    prefix: str = "",
    verbose: bool = False,
    callbacks: Sequence[Any] = (),
    context: Any = None,
) -> SearchOutcome:
    """Run every bracket to the end, brackets interleaved; rungs synchronous or ASHA."""
    log = logger.info if verbose else logger.debug
    start = time.time()
    trials: list[TrialRecord] = []
    policy_class = AsyncHalving if asynchronous else SyncHalving
    policies: dict[int, SyncHalving | AsyncHalving] = {}
    policy_of: dict[int, SyncHalving | AsyncHalving] = {}
    for bracket, params_list in zip(brackets, params_per_bracket, strict=True):
        ids = []
        for j, params in enumerate(params_list):
            index = len(trials)
            model_id = f"bracket={bracket.index}-{j}"
            trials.append(TrialRecord(index, model_id, bracket.index, dict(params)))
            ids.append(index)
        policy = policy_class(bracket, ids, eta)
        policies[bracket.index] = policy
        for i in ids:
            policy_of[i] = policy

    history: list[dict] = []
    live: dict[int, Step] = {}  # trial -> step holding its state
    in_flight: dict[Step, tuple[int, int]] = {}  # step -> (trial, epochs before)
    best_final: tuple[int, Step] | None = None  # best stopped trial whose state is kept
    completed = executor.as_completed([])
    busy, n_tasks, workers, pids = 0.0, 0, set(), set()

    def submit(i: int, target: int, rung: int) -> None:
        trial = trials[i]
        source = (
            live.pop(i).state if i in live else TrialSpec(trial.model_id, estimator, trial.params)
        )
        trial.state = RUNNING
        step = executor.submit(
            step_task,
            source,
            data_ref,
            target - trial.epochs,
            key=f"{trial.model_id}-{target}",
            priority=rung,
        )
        in_flight[step] = (i, trial.epochs)
        completed.add(step)

    def finish(i: int, state: str) -> None:
        """Trial ``i`` stops: keep its live state only while it is the best stopped one."""
        nonlocal best_final
        trials[i].state = state
        for cb in callbacks:
            cb.on_trial_end(context, trials[i])
        step = live.pop(i, None)
        if step is None:
            return
        if best_final is None or _better(trials[i], trials[best_final[0]]):
            if best_final is not None:
                executor.release(best_final[1])
            best_final = (i, step)
        else:
            executor.release(step)

    try:
        for policy in policies.values():
            log(
                "%sbracket=%s: %d models to %d epochs",
                prefix,
                policy.bracket.index,
                policy.bracket.n_models,
                policy.bracket.rungs[0].epochs,
            )
            for i, target in policy.start():
                submit(i, target, 0)
        for step in completed:
            i, epochs_before = in_flight.pop(step)
            trial = trials[i]
            record = step.record()
            trial.add_step(record, epochs_before)
            busy += record["fit_time"] + record["score_time"]
            n_tasks += 1
            workers.add(record.get("worker"))
            pids.add(record.get("pid"))
            for epochs, score, wall in record["scores"]:
                for cb in callbacks:
                    cb.on_trial_scored(context, trial, epochs, score)
                history.append(
                    {
                        "model_id": trial.model_id,
                        "bracket": trial.bracket,
                        "params": trial.params,
                        "partial_fit_calls": epochs,
                        "score": score,
                        "elapsed_wall_time": wall - start,
                        "partial_fit_time": record["fit_time"],
                        "score_time": record["score_time"],
                        "worker": record.get("worker"),
                    }
                )
            if record["error"] is not None:
                trial.state = FAILED
                logger.warning("%s%s failed:\n%s", prefix, trial.model_id, record["error"])
                for cb in callbacks:
                    cb.on_trial_end(context, trial)
                promotable = None
            else:
                live[i] = step
                ok = not trial.stopped_early and not math.isnan(trial.score)
                promotable = trial.score if ok else None
            policy = policy_of[i]
            to_submit, pruned, done, messages = policy.report(i, promotable)
            for j in pruned:
                if trials[j].state != FAILED:
                    finish(j, PRUNED)
            for j in done:
                finish(j, COMPLETED)
            for message in messages:
                log("%s%s", prefix, message)
            for j, target in to_submit:
                submit(j, target, policy.rung_of(j))
    except BaseException:
        for step in list(live.values()) + list(in_flight):
            executor.release(step)
        raise

    best_index = best_final[0] if best_final is not None else None
    rungs_reached = {
        s: [(n, r.epochs) for n, r in zip(p.reached, p.bracket.rungs, strict=False)]
        for s, p in policies.items()
    }
    return SearchOutcome(
        trials=trials,
        history=history,
        best_state=best_final[1].state if best_final is not None else None,
        best_index=best_index,
        rungs_reached=rungs_reached,
        stats={
            "wall_time": time.time() - start,
            "busy_time": busy,
            "n_tasks": n_tasks,
            "workers": sorted(w for w in workers if w),
            "pids": sorted(p for p in pids if p),
        },
    )


def _better(a: TrialRecord, b: TrialRecord) -> bool:
    """``a`` ranks before ``b``: higher last score, NaN last, ties to the earlier trial."""
    return _rank_key(a) > _rank_key(b)


def _rank_key(t: TrialRecord) -> tuple:
    nan = math.isnan(t.score)
    return (not nan, -math.inf if nan else t.score, -t.index)
