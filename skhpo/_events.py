"""Search events: objects told what a search does, as it does it (progress, logging).

A callback subclasses :class:`SearchCallback` and overrides the events it wants. The
driver calls them in the process that runs ``fit``, after each scoring and each trial's
end; an exception in a callback stops the search (so a callback can stop it on purpose).
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["LoggingCallback", "ProgressBar", "SearchCallback"]


class SearchCallback:
    """Base class of search callbacks; every event does nothing by default."""

    def on_search_begin(self, search: Any, plan: dict) -> None:
        """Before any training; ``plan`` is the search's ``metadata``."""

    def on_trial_scored(self, search: Any, trial: Any, epochs: int, score: float) -> None:
        """``trial`` (a record, not the model) was scored after ``epochs`` epochs."""

    def on_trial_end(self, search: Any, trial: Any) -> None:
        """``trial`` stopped: its ``status`` is completed, pruned or failed."""

    def on_search_end(self, search: Any) -> None:
        """After the search; ``search.cv_results_`` and ``best_*`` are set."""

    def on_search_error(self, search: Any, error: BaseException) -> None:
        """``fit`` is raising ``error`` (an interrupt, ``error_score="raise"``, ...).

        Told to every callback whose ``on_search_begin`` was called, the one that raised
        there included. The storage and a dask client that skhpo opened are closed
        whatever raised.
        """


class ProgressBar(SearchCallback):
    """A tqdm bar of epochs trained / planned, with the best score and running trials.

    Its description shows the budget beyond one iteration (``skhpo [3 iterations,
    max 60 s]``); with a wall-clock limit alone the plan has no end, and the bar no total.
    """

    def __init__(self, **tqdm_kwargs: Any) -> None:
        self.tqdm_kwargs = tqdm_kwargs
        self._bar = None
        self._best = float("-inf")
        self._epochs: dict[int, int] = {}
        self._running: set[int] = set()

    def on_search_begin(self, search, plan):
        from tqdm.auto import tqdm

        n_iterations = getattr(search, "n_iterations", 1)
        max_epochs = getattr(search, "max_epochs_total", None)
        max_time = getattr(search, "max_time", None)
        budget = [
            *([f"{n_iterations} iterations"] if n_iterations not in (1, None) else []),
            *([f"max {max_epochs} epochs"] if max_epochs is not None else []),
            *([f"max {max_time:g} s"] if max_time is not None else []),
        ]
        endless = n_iterations is None and max_epochs is None
        kwargs = {
            "total": None if endless else plan["partial_fit_calls"],
            "unit": "epoch",
            "desc": f"skhpo [{', '.join(budget)}]" if budget else "skhpo",
        }
        kwargs.update(self.tqdm_kwargs)
        self._bar = tqdm(**kwargs)

    def on_trial_scored(self, search, trial, epochs, score):
        before = self._epochs.get(trial.index, 0)
        self._epochs[trial.index] = epochs
        self._running.add(trial.index)
        if score == score and score > self._best:  # not NaN
            self._best = score
        self._bar.update(max(epochs - before, 0))
        self._bar.set_postfix(best=f"{self._best:.4g}", running=len(self._running))

    def on_trial_end(self, search, trial):
        self._running.discard(trial.index)

    def on_search_end(self, search):
        if self._bar is not None:
            self._bar.close()

    def on_search_error(self, search, error):
        self.on_search_end(search)


class LoggingCallback(SearchCallback):
    """Log each trial's end through the ``"skhpo"`` logger at INFO level."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix

    def on_trial_end(self, search, trial):
        logging.getLogger("skhpo").info(
            "%s%s %s after %d epochs, score %.4g",
            self.prefix,
            trial.model_id,
            trial.status,
            trial.epochs,
            trial.score,
        )
