"""Exceptions and warnings raised by skhpo."""

from __future__ import annotations

__all__ = [
    "SkhpoWarning",
    "StorageMismatchError",
    "TrialFailedWarning",
    "TrialLostError",
    "TrialTimeoutError",
]


class SkhpoWarning(UserWarning):
    """Base class of the warnings skhpo emits (the test suite turns them into errors)."""


class TrialFailedWarning(SkhpoWarning):
    """Some trials raised during building, training or scoring.

    Their score is the search's ``error_score``; the other trials went on. The
    error of each failed trial is in ``cv_results_["error"]``.
    """


class StorageMismatchError(ValueError):
    """A search's ``storage`` file holds another search (other parameters or data).

    Delete the file, or give ``storage=`` another path, to start fresh.
    """


class TrialTimeoutError(Exception):
    """A trial trained (and scored) longer than the search's ``timeout`` allows.

    The trial is stopped and marked failed; the other trials go on.
    """


class TrialLostError(Exception):
    """The cluster lost a trial's task for good.

    Raised (and recorded as the trial's error, the trial marked failed) when a task
    killed ``distributed.scheduler.allowed-failures`` dask workers (``KilledWorker``: the
    task itself, e.g. running out of memory, is the likely cause), or when the cluster
    lost it again after it was submitted again three times. The other trials go on.
    """
