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
from ._promotion import top_k
from ._records import COMPLETED, FAILED, PRUNED, RUNNING, TrialRecord
from ._schedule import Bracket
from ._worker import TrialSpec, step_task

__all__ = ["SearchOutcome", "SyncHalving", "run_search"]

logger = logging.getLogger("skhpo")


class SyncHalving:
    """Synchronous successive halving of one bracket.

    Every trial of a rung is scored before any is promoted: the best
    ``rungs[k + 1].n_models`` go on (NaN, failed and early-stopped trials never do),
    the others are pruned.
    """

    def __init__(self, bracket: Bracket, trial_ids: Sequence[int]) -> None:
        self.bracket = bracket
        self.rung = 0
        self.members = list(trial_ids)
        self.results: dict[int, float] = {}
        self.reached: list[int] = [len(self.members)]

    def start(self) -> list[tuple[int, int]]:
        """``(trial, target epochs)`` to submit first."""
        epochs = self.bracket.rungs[0].epochs
        return [(i, epochs) for i in self.members]

    def report(self, trial: int, score: float | None) -> tuple[list, list, list]:
        """A trial of the current rung is scored (``None``: it may not be promoted).

        Returns ``(to_submit, pruned, completed)``.
        """
        self.results[trial] = math.nan if score is None else score
        if len(self.results) < len(self.members):
            return [], [], []
        rungs = self.bracket.rungs
        ordered = {i: self.results[i] for i in self.members}
        if self.rung + 1 == len(rungs):
            done = [i for i, s in ordered.items() if not math.isnan(s)]
            return [], [i for i in self.members if i not in done], done
        winners = top_k(ordered, rungs[self.rung + 1].n_models)
        pruned = [i for i in self.members if i not in winners]
        self.rung += 1
        self.members = sorted(winners)
        self.results = {}
        self.reached.append(len(self.members))
        if not self.members:
            return [], pruned, []
        epochs = rungs[self.rung].epochs
        return [(i, epochs) for i in self.members], pruned, []

    def log_line(self) -> str:
        rung = self.bracket.rungs[self.rung]
        return (
            f"bracket={self.bracket.index}: rung {self.rung}, {len(self.members)} models "
            f"to {rung.epochs} epochs"
        )


@dataclass
class SearchOutcome:
    """What a finished search hands back to the estimator class."""

    trials: list[TrialRecord]
    history: list[dict]
    best_state: Any  # the executor's handle of the best trial's live state, or None
    best_index: int | None
    rungs_reached: dict[int, list[tuple[int, int]]] = field(default_factory=dict)


def run_search(
    executor: Executor,
    data_ref: Any,
    estimator: Any,
    brackets: Sequence[Bracket],
    params_per_bracket: Sequence[Sequence[dict]],
    *,
    prefix: str = "",
    verbose: bool = False,
) -> SearchOutcome:
    """Run every bracket to the end; brackets are interleaved, rungs are synchronous."""
    log = logger.info if verbose else logger.debug
    start = time.time()
    trials: list[TrialRecord] = []
    policies: dict[int, SyncHalving] = {}
    policy_of: dict[int, SyncHalving] = {}
    for bracket, params_list in zip(brackets, params_per_bracket, strict=True):
        ids = []
        for j, params in enumerate(params_list):
            index = len(trials)
            model_id = f"bracket={bracket.index}-{j}"
            trials.append(TrialRecord(index, model_id, bracket.index, dict(params)))
            ids.append(index)
        policy = SyncHalving(bracket, ids)
        policies[bracket.index] = policy
        for i in ids:
            policy_of[i] = policy

    history: list[dict] = []
    live: dict[int, Step] = {}  # trial -> step holding its state
    in_flight: dict[Step, tuple[int, int]] = {}  # step -> (trial, epochs before)
    best_final: tuple[int, Step] | None = None  # best stopped trial whose state is kept
    completed = executor.as_completed([])

    def submit(i: int, target: int) -> None:
        trial = trials[i]
        source = (
            live.pop(i).state if i in live else TrialSpec(trial.model_id, estimator, trial.params)
        )
        trial.state = RUNNING
        step = executor.submit(
            step_task, source, data_ref, target - trial.epochs, key=f"{trial.model_id}-{target}"
        )
        in_flight[step] = (i, trial.epochs)
        completed.add(step)

    def finish(i: int, state: str) -> None:
        """Trial ``i`` stops: keep its live state only while it is the best stopped one."""
        nonlocal best_final
        trials[i].state = state
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
            log("%s%s", prefix, policy.log_line())
            for i, target in policy.start():
                submit(i, target)
        for step in completed:
            i, epochs_before = in_flight.pop(step)
            trial = trials[i]
            record = step.record()
            trial.add_step(record, epochs_before)
            for epochs, score, wall in record["scores"]:
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
                    }
                )
            if record["error"] is not None:
                trial.state = FAILED
                logger.warning("%s%s failed:\n%s", prefix, trial.model_id, record["error"])
                promotable = None
            else:
                live[i] = step
                ok = not trial.stopped_early and not math.isnan(trial.score)
                promotable = trial.score if ok else None
            policy = policy_of[i]
            rung_before = policy.rung
            to_submit, pruned, done = policy.report(i, promotable)
            for j in pruned:
                if trials[j].state != FAILED:
                    finish(j, PRUNED)
            for j in done:
                finish(j, COMPLETED)
            if policy.rung != rung_before and to_submit:
                log("%s%s", prefix, policy.log_line())
            for j, target in to_submit:
                submit(j, target)
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
    )


def _better(a: TrialRecord, b: TrialRecord) -> bool:
    """``a`` ranks before ``b``: higher last score, NaN last, ties to the earlier trial."""
    return _rank_key(a) > _rank_key(b)


def _rank_key(t: TrialRecord) -> tuple:
    nan = math.isnan(t.score)
    return (not nan, -math.inf if nan else t.score, -t.index)
