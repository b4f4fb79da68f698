"""Storage of a search in SQLite (standard library): trials, scored steps, checkpoints.

Every finished task is written in one transaction: its record and, when the trial goes
on, a checkpoint of the trial's state (the model at the rung it reached; a live trial
keeps one per rung until it stops). A process killed at any moment leaves the file as it
was after the last transaction. Running the same search again on the same file replays
the stored steps (nothing retrained) and restarts the trials that were training from
their last checkpoint. On a dask cluster whose workers can read the file, a rung that
dask recomputes after losing a worker is read back from its checkpoint
(:func:`read_stored_step`) instead of trained again.

Checkpoints are pickles (scikeras models pickle through Keras' own saving format): a
storage file is as trusted as code, since loading it runs what it contains. Only open
storage files you wrote.
"""

from __future__ import annotations

import os
import pickle
import sqlite3
import time
from dataclasses import replace
from typing import Any, Protocol

from ._fingerprint import describe
from ._records import StepRecord, TrialRecord
from .exceptions import StorageMismatchError

__all__ = ["SCHEMA_VERSION", "SqliteStorage", "Storage", "StorageMismatchError", "read_stored_step"]

# Bumped whenever what the file holds changes meaning. 2: steps are pickled
# StepRecords (version 1, never written down, pickled dicts).
SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    idx INTEGER PRIMARY KEY, model_id TEXT NOT NULL, bracket INTEGER NOT NULL,
    params BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS steps (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, idx INTEGER NOT NULL, epochs_before INTEGER NOT NULL,
    record BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (
    idx INTEGER NOT NULL, epochs INTEGER NOT NULL, state BLOB NOT NULL,
    PRIMARY KEY (idx, epochs));
"""


def _dumps(obj: Any) -> bytes:
    try:
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, AttributeError, TypeError):
        import cloudpickle  # functions defined in __main__ or closures

        return cloudpickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


class Storage(Protocol):
    """What the driver needs from a storage (after Optuna's ``BaseStorage``).

    One search per storage: :meth:`bind` claims it for the search's fingerprint. Each
    call that writes is atomic.
    """

    start: float  # when the search first started (``time.time()``)

    def bind(self, fingerprint: str) -> bool:
        """Claim the storage for one search; True if it holds steps to replay."""

    def stored_params(self) -> dict[int, dict]:
        """The parameters of the trials recorded so far, by trial index."""

    def add_trials(self, trials: list[TrialRecord]) -> None:
        """Record new trials' parameters; check the known ones did not change."""

    def add_step(self, index: int, epochs_before: int, record: StepRecord) -> None:
        """Record a finished task, and its checkpoint if it carries one."""

    def steps(self) -> list[tuple[int, int, StepRecord]]:
        """The stored ``(trial index, epochs before, record)``, in the order they came."""

    def drop_checkpoint(self, index: int) -> None:
        """Forget trial ``index``'s checkpoints: it will not be trained again."""

    def load_checkpoint(self, index: int) -> Any:
        """The live trial ``index`` (a :class:`~skhpo._worker.TrialState`), last rung."""

    def close(self) -> None: ...


class SqliteStorage:
    """One search's records in an SQLite file at ``path``."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(self.path))
        try:
            os.makedirs(folder, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ValueError(f"Cannot open or create the storage {self.path!r}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    # -- identity -----------------------------------------------------------------------

    def bind(self, fingerprint: str) -> bool:
        """Claim the file for the search with ``fingerprint``; True if it holds steps."""
        row = self._db.execute("SELECT value FROM meta WHERE key='fingerprint'").fetchone()
        if row is None:
            with self._db:
                self._db.execute("BEGIN")
                self._db.execute("INSERT INTO meta VALUES ('fingerprint', ?)", (fingerprint,))
                self._db.execute("INSERT INTO meta VALUES ('start', ?)", (repr(time.time()),))
                self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            return False
        self._check_schema()
        if row[0] != fingerprint:
            raise StorageMismatchError(
                f"The storage {self.path!r} holds another search (its parameters, search "
                "space or data differ from this one). To start fresh, delete the file or "
                "give storage= another path."
            )
        return self._db.execute("SELECT COUNT(*) FROM steps").fetchone()[0] > 0

    def _check_schema(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        version = 1 if row is None else int(row[0])
        if version != SCHEMA_VERSION:
            raise StorageMismatchError(
                f"The storage {self.path!r} was written by another version of skhpo "
                f"(storage schema {version}; this version reads schema {SCHEMA_VERSION}). "
                "Delete the file or give storage= another path to start fresh."
            )

    @property
    def start(self) -> float:
        row = self._db.execute("SELECT value FROM meta WHERE key='start'").fetchone()
        return float(row[0])

    # -- trials and steps ---------------------------------------------------------------

    def stored_params(self) -> dict[int, dict]:
        """The parameters of the trials recorded so far, by trial index."""
        rows = self._db.execute("SELECT idx, params FROM trials")
        return {idx: pickle.loads(params) for idx, params in rows}

    def add_trials(self, trials: list) -> None:
        """Record the trials' parameters (once; later calls check they are the same)."""
        stored = {
            idx: pickle.loads(params)
            for idx, params in self._db.execute("SELECT idx, params FROM trials")
        }
        new = [t for t in trials if t.index not in stored]
        for t in trials:
            # compared as described: an estimator value (a swapped step) read back from
            # the file is another object, equal in class and parameters only
            if t.index in stored and describe(stored[t.index]) != describe(t.params):
                raise StorageMismatchError(
                    f"The storage {self.path!r} holds other parameters for trial "
                    f"{t.model_id}; delete it or give storage= another path to start fresh."
                )
        if new:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT INTO trials VALUES (?, ?, ?, ?)",
                    [(t.index, t.model_id, t.bracket, _dumps(t.params)) for t in new],
                )

    def add_step(self, index: int, epochs_before: int, record: StepRecord) -> None:
        """Record a finished task, and the checkpoint it carries, atomically."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT INTO steps (idx, epochs_before, record) VALUES (?, ?, ?)",
                (index, epochs_before, _dumps(replace(record, checkpoint=None))),
            )
            if record.checkpoint is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?)",
                    (index, record.epochs, record.checkpoint),
                )

    def steps(self) -> list[tuple[int, int, StepRecord]]:
        """The stored ``(trial index, epochs before, record)``, in the order they came."""
        rows = self._db.execute("SELECT idx, epochs_before, record FROM steps ORDER BY seq")
        return [(idx, before, pickle.loads(record)) for idx, before, record in rows]

    def drop_checkpoint(self, index: int) -> None:
        with self._db:
            self._db.execute("DELETE FROM checkpoints WHERE idx = ?", (index,))

    def load_checkpoint(self, index: int) -> Any:
        """The state of trial ``index`` at the last rung it reached."""
        q = "SELECT state FROM checkpoints WHERE idx = ? ORDER BY epochs DESC LIMIT 1"
        row = self._db.execute(q, (index,)).fetchone()
        if row is None:
            raise KeyError(f"no checkpoint of trial {index} in {self.path!r}")
        return pickle.loads(row[0])


def read_stored_step(path: str, model_id: str, epochs_before: int) -> tuple[Any, StepRecord] | None:
    """The stored outcome of trial ``model_id``'s task from ``epochs_before``, if any.

    Returns ``(state, record)``, the state from the checkpoint at the epochs the task
    reached, or ``None`` when the file cannot be read here (a worker on another machine)
    or holds no such step. Opens the file read-only: a worker never writes it.
    """
    from urllib.parse import quote

    try:
        db = sqlite3.connect(f"file:{quote(os.path.abspath(path))}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        found = db.execute("SELECT idx FROM trials WHERE model_id = ?", (model_id,)).fetchone()
        if found is None:
            return None
        q = "SELECT record FROM steps WHERE idx = ? AND epochs_before = ? ORDER BY seq DESC"
        step = db.execute(q, (found[0], epochs_before)).fetchone()
        if step is None:
            return None
        record = pickle.loads(step[0])
        q = "SELECT state FROM checkpoints WHERE idx = ? AND epochs = ?"
        state = db.execute(q, (found[0], record.epochs)).fetchone()
    except sqlite3.Error:
        return None
    finally:
        db.close()
    if state is None:
        return None
    return pickle.loads(state[0]), record
