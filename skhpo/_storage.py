"""Storage of a search: trials, scored steps and checkpoints, in SQLite or PostgreSQL.

Every finished task is written in one transaction: its record and, when the trial goes
on, a checkpoint of the trial's state (the model at the rung it reached; a live trial
keeps one per rung until it stops). A process killed at any moment leaves the database
as it was after the last transaction. Running the same search again on the same storage
replays the stored steps (nothing retrained) and restarts the trials that were training
from their last checkpoint. On a dask cluster, a rung that dask recomputes after losing
a worker is read back from its checkpoint (:func:`read_stored_step`) instead of trained
again: from the database, or from the checkpoint location when there is one.

The database is an SQLite file (a path, or an ``sqlite:///`` URL; the standard
library's ``sqlite3``) or a PostgreSQL server (a ``postgresql://`` URL, through
psycopg 3). One database holds several searches, each under its study name.
Checkpoints are kept in the database, or, with ``checkpoints=``, as files at a path or
fsspec URL (``s3://``, ``gs://``, a shared folder) that every worker can read.

A checkpoint of a scikeras model holds its Keras model in Keras' own format (config and
weights, loaded with Keras' ``safe_mode``) next to a pickle of the rest (the wrapper's
parameters and fitted attributes, the pre-processing steps); any other estimator is
pickled whole. Loading a pickle runs what it contains: a storage is as trusted as code.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import re
import sqlite3
import tempfile
import time
import zipfile
from dataclasses import replace
from typing import Any, Protocol
from urllib.parse import quote

from ._compat import optional_import
from ._fingerprint import describe
from ._records import StepRecord, TrialRecord
from .exceptions import StorageMismatchError

__all__ = [
    "SCHEMA_VERSION",
    "SearchStorage",
    "SqliteStorage",
    "Storage",
    "StorageMismatchError",
    "hide_password",
    "open_storage",
    "read_stored_step",
]

# Bumped whenever what the database holds changes meaning. 3: tables prefixed skhpo_,
# several studies per database, checkpoints in Keras' format or in a location outside
# the database; 2: steps are pickled StepRecords (1, never written down, pickled dicts).
SCHEMA_VERSION = 3

DEFAULT_STUDY = "default"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS skhpo_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS skhpo_studies (
    study TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, start TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS skhpo_trials (
    study TEXT NOT NULL, idx INTEGER NOT NULL, model_id TEXT NOT NULL,
    bracket INTEGER NOT NULL, params {blob} NOT NULL, PRIMARY KEY (study, idx));
CREATE TABLE IF NOT EXISTS skhpo_steps (
    seq {serial}, study TEXT NOT NULL, idx INTEGER NOT NULL,
    epochs_before INTEGER NOT NULL, record {blob} NOT NULL);
CREATE INDEX IF NOT EXISTS skhpo_steps_trial ON skhpo_steps (study, idx, epochs_before);
CREATE TABLE IF NOT EXISTS skhpo_checkpoints (
    study TEXT NOT NULL, idx INTEGER NOT NULL, epochs INTEGER NOT NULL, state {blob},
    PRIMARY KEY (study, idx, epochs));
"""

_PASSWORD = re.compile(r"(?P<head>[A-Za-z][\w+.-]*://[^:/@\s]*:)(?P<password>[^@\s]*)@")
_POSTGRES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def hide_password(url: Any) -> Any:
    """``url`` with the password of its ``user:password@`` part replaced by ``***``.

    Parameters
    ----------
    url : str or object
        A database URL; anything else is returned as it is.

    Returns
    -------
    str or object

    Examples
    --------
    >>> hide_password("postgresql://skhpo:s3cret@db.example.org:5432/searches")
    'postgresql://skhpo:***@db.example.org:5432/searches'
    >>> hide_password("sqlite:///search.db")
    'sqlite:///search.db'
    """
    if not isinstance(url, str):
        return url
    return _PASSWORD.sub(lambda m: m.group("head") + "***@", url)


def _dumps(obj: Any) -> bytes:
    try:
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, AttributeError, TypeError):
        import cloudpickle  # functions defined in __main__ or closures

        return cloudpickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


# -- checkpoints: a trial's state as bytes ----------------------------------------------


def _keras_model(final: Any) -> Any:
    """The Keras model a scikeras wrapper holds, or None (Keras never imported here)."""
    import sys

    keras = sys.modules.get("keras")
    model = getattr(final, "model_", None)
    if keras is None or model is None or not isinstance(model, keras.Model):
        return None
    return model


def pack_state(state: Any) -> bytes:
    """A trial's state as checkpoint bytes: a pickle, or, for a scikeras model, a zip of
    its Keras model in Keras' format (``model.keras``) and a pickle of the rest. A trial
    of several fold models (``cv``) is pickled whole."""
    model = _keras_model(getattr(state, "final", None))
    if model is None:
        return _dumps(state)
    import keras

    state.final.model_ = None  # pickled without its Keras model; put back below
    try:
        rest = _dumps(state)
    finally:
        state.final.model_ = model
    out = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(out, "w") as archive:
        archive.writestr("state.pkl", rest)
        path = os.path.join(tmp, "model.keras")
        keras.saving.save_model(model, path)  # a zip already: stored as it is
        archive.write(path, "model.keras")
    return out.getvalue()


def unpack_state(data: bytes) -> Any:
    """The trial's state from :func:`pack_state`'s bytes."""
    if not data[:4] == b"PK\x03\x04":
        return pickle.loads(data)
    import keras

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        state = pickle.loads(archive.read("state.pkl"))
        with tempfile.TemporaryDirectory() as tmp:
            path = archive.extract("model.keras", tmp)
            state.final.model_ = keras.saving.load_model(path, safe_mode=True)
    return state


# -- where a search is kept --------------------------------------------------------------


class SearchStorage:
    """Where a search is kept: a database, a study name in it, a checkpoint location.

    Give it as ``storage=`` to a search when a plain path or URL is not enough.

    Parameters
    ----------
    url : str or path
        An SQLite file's path, an ``sqlite:///path`` URL, or a PostgreSQL URL
        (``postgresql://user:password@host:5432/dbname``; needs ``pip install
        skhpo[postgres]``). The password never appears in a message or a repr.
    study : str, default="default"
        The search's name in the database: searches under other names in the same
        database are kept apart; another search under the same name is refused.
    checkpoints : str or path, default=None
        Where the trials' checkpoints go: a folder or an fsspec URL (``s3://bucket/x``,
        ``gs://...``, a shared network folder) that the driver can write and every
        worker can read. None keeps them in the database.

    Examples
    --------
    >>> SearchStorage("postgresql://skhpo:s3cret@db:5432/searches", study="mlp")
    SearchStorage('postgresql://skhpo:***@db:5432/searches', study='mlp', checkpoints=None)
    """

    def __init__(
        self,
        url: str | os.PathLike,
        study: str = DEFAULT_STUDY,
        checkpoints: str | os.PathLike | None = None,
    ) -> None:
        if not isinstance(url, (str, os.PathLike)):
            raise TypeError(f"url must be a str or a path, not {type(url).__name__}")
        if not isinstance(study, str) or not study:
            raise ValueError(f"study must be a non-empty str, got {study!r}")
        if checkpoints is not None and not isinstance(checkpoints, (str, os.PathLike)):
            raise TypeError(f"checkpoints must be a str or a path, not {type(checkpoints)}")
        self.url = os.fspath(url)
        self.study = study
        self.checkpoints = None if checkpoints is None else os.fspath(checkpoints)

    def __repr__(self) -> str:
        return (
            f"SearchStorage({hide_password(self.url)!r}, study={self.study!r}, "
            f"checkpoints={hide_password(self.checkpoints)!r})"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SearchStorage) and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash((self.url, self.study, self.checkpoints))


def _as_spec(storage: Any) -> SearchStorage:
    return storage if isinstance(storage, SearchStorage) else SearchStorage(storage)


def _is_postgres(url: str) -> bool:
    return url.startswith(_POSTGRES)


def open_storage(storage: Any) -> _SqlStorage:
    """The storage ``storage`` names (a path, a URL or a :class:`SearchStorage`), open."""
    spec = _as_spec(storage)
    if _is_postgres(spec.url):
        return PostgresStorage(spec)
    if "://" in spec.url and not spec.url.startswith("sqlite:///"):
        raise ValueError(
            f"storage={hide_password(spec.url)!r}: give an SQLite file's path, an "
            "sqlite:/// URL or a postgresql:// URL."
        )
    return SqliteStorage(spec)


class Storage(Protocol):
    """What the driver needs from a storage (after Optuna's ``BaseStorage``).

    One search per study of a storage: :meth:`bind` claims the study for the search's
    fingerprint. Each call that writes is atomic.
    """

    start: float  # when the search first started (``time.time()``)
    name: str  # the storage as shown in messages (no password)

    def bind(self, fingerprint: str) -> bool:
        """Claim the study for one search; True if it holds steps to replay."""

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

    def step_reader(self) -> Any:
        """What a worker needs to read a stored step back (:func:`read_stored_step`)."""

    def close(self) -> None: ...


def _is_file_system(fs: Any) -> bool:
    """A local or mounted file system (where a rename is atomic), not an object store."""
    protocols = (fs.protocol,) if isinstance(fs.protocol, str) else tuple(fs.protocol)
    return bool({"file", "local"} & set(protocols))


class _CheckpointFiles:
    """Checkpoints as files at a folder or fsspec URL: ``<study>/rungs/<model_id>/<epochs>``
    (the state) and ``<study>/steps/<model_id>/<epochs_before>`` (the step's record),
    the state written first, so that a record found has its state."""

    def __init__(self, url: str, study: str) -> None:
        self.url, self.study = url, study
        self._fs: Any = None

    def __getstate__(self) -> dict:
        return {"url": self.url, "study": self.study, "_fs": None}

    def _paths(self) -> tuple[Any, str]:
        import fsspec

        if self._fs is None:
            self._fs, self._root = fsspec.core.url_to_fs(self.url)
        return self._fs, f"{self._root.rstrip('/')}/{quote(self.study, safe='')}"

    def _rung(self, model_id: str, epochs: int | None = None) -> str:
        root = self._paths()[1]
        folder = f"{root}/rungs/{quote(model_id, safe='')}"
        return folder if epochs is None else f"{folder}/{epochs}"

    def _step(self, model_id: str, epochs_before: int) -> str:
        return f"{self._paths()[1]}/steps/{quote(model_id, safe='')}/{epochs_before}"

    def _put(self, path: str, data: bytes) -> None:
        """Write ``data`` at ``path`` whole or not at all.

        An object store (``s3://``, ``gs://``) shows an object only once its upload is
        complete; a file system is written under a temporary name and renamed, so that
        a writer killed mid-write leaves no truncated checkpoint (and a rerun's
        overwrite keeps the previous file until the new one is complete).
        """
        fs = self._paths()[0]
        fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        if not _is_file_system(fs):
            fs.pipe_file(path, data)
            return
        partial = f"{path}.partial-{os.getpid()}-{id(data):x}"
        try:
            fs.pipe_file(partial, data)
            fs.mv(partial, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                fs.rm(partial)

    def write(self, model_id: str, epochs_before: int, record: StepRecord) -> None:
        self._put(self._rung(model_id, record.epochs), record.checkpoint)
        self._put(self._step(model_id, epochs_before), _dumps(replace(record, checkpoint=None)))

    def load(self, model_id: str, epochs: int) -> Any:
        return unpack_state(self._paths()[0].cat_file(self._rung(model_id, epochs)))

    def drop(self, model_id: str) -> None:
        fs = self._paths()[0]
        with contextlib.suppress(FileNotFoundError):
            fs.rm(self._rung(model_id), recursive=True)

    def read(self, model_id: str, epochs_before: int) -> tuple[Any, StepRecord] | None:
        try:
            record = pickle.loads(self._paths()[0].cat_file(self._step(model_id, epochs_before)))
            return self.load(model_id, record.epochs), record
        except Exception:  # missing, half-written, or out of reach: train it again
            return None

    def __repr__(self) -> str:
        return f"_CheckpointFiles({hide_password(self.url)!r}, {self.study!r})"


class _SqlStorage:
    """One study of a database: the SQL both dialects share (``?`` placeholders)."""

    _blob = "BLOB"
    _serial = "INTEGER PRIMARY KEY AUTOINCREMENT"

    def __init__(self, spec: SearchStorage) -> None:
        self.spec = spec
        self.study = spec.study
        self.name = hide_password(spec.url) + (
            f" (study {spec.study!r})" if spec.study != DEFAULT_STUDY else ""
        )
        self._files = (
            None if spec.checkpoints is None else _CheckpointFiles(spec.checkpoints, spec.study)
        )
        self._connect()
        try:
            self._check_schema()
            with self._transaction():
                for statement in _SCHEMA.format(blob=self._blob, serial=self._serial).split(";"):
                    if statement.strip():
                        self._run(statement)
                self._run(
                    "INSERT INTO skhpo_meta VALUES ('schema', ?) ON CONFLICT (key) DO NOTHING",
                    (str(SCHEMA_VERSION),),
                )
        except Exception:
            self.close()
            raise

    # -- what a dialect provides --------------------------------------------------------

    def _connect(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _table_exists(self, table: str) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def _sql(self, sql: str) -> str:
        return sql

    @contextlib.contextmanager
    def _transaction(self):
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _run(self, sql: str, params: tuple = ()) -> Any:
        return self._db.execute(self._sql(sql), params)

    def _one(self, sql: str, params: tuple = ()) -> Any:
        return self._run(sql, params).fetchone()

    def close(self) -> None:
        self._db.close()

    # -- identity -----------------------------------------------------------------------

    def _check_schema(self) -> None:
        if self._table_exists("skhpo_meta"):
            row = self._one("SELECT value FROM skhpo_meta WHERE key = 'schema'")
            version = SCHEMA_VERSION if row is None else int(row[0])
        elif self._table_exists("steps") and self._table_exists("meta"):  # before schema 3
            row = self._one("SELECT value FROM meta WHERE key = 'schema'")
            version = 1 if row is None else int(row[0])
        else:
            return
        if version != SCHEMA_VERSION:
            raise StorageMismatchError(
                f"The storage {self.name!r} was written by another version of skhpo "
                f"(storage schema {version}; this version reads schema {SCHEMA_VERSION}). "
                "Delete it or give storage= another path to start fresh."
            )

    def bind(self, fingerprint: str) -> bool:
        """Claim the study for the search with ``fingerprint``; True if it holds steps."""
        row = self._one("SELECT fingerprint FROM skhpo_studies WHERE study = ?", (self.study,))
        if row is None:
            with self._transaction():
                self._run(
                    "INSERT INTO skhpo_studies VALUES (?, ?, ?)",
                    (self.study, fingerprint, repr(time.time())),
                )
            return False
        if row[0] != fingerprint:
            raise StorageMismatchError(
                f"The storage {self.name!r} holds another search (its parameters, search "
                "space or data differ from this one). To start fresh, delete it, or give "
                "storage= another path or another study name (SearchStorage(url, study=))."
            )
        q = "SELECT COUNT(*) FROM skhpo_steps WHERE study = ?"
        return self._one(q, (self.study,))[0] > 0

    @property
    def start(self) -> float:
        row = self._one("SELECT start FROM skhpo_studies WHERE study = ?", (self.study,))
        return float(row[0])

    def step_reader(self) -> Any:
        """What a worker reads a recomputed step back from: the checkpoint files, or the
        database (read-only)."""
        if self._files is not None:
            return self._files
        return _DatabaseSteps(self.spec)

    # -- trials and steps ---------------------------------------------------------------

    def stored_params(self) -> dict[int, dict]:
        """The parameters of the trials recorded so far, by trial index."""
        rows = self._run("SELECT idx, params FROM skhpo_trials WHERE study = ?", (self.study,))
        return {idx: pickle.loads(params) for idx, params in rows.fetchall()}

    def add_trials(self, trials: list) -> None:
        """Record the trials' parameters (once; later calls check they are the same)."""
        stored = self.stored_params()
        new = [t for t in trials if t.index not in stored]
        for t in trials:
            # compared as described: an estimator value (a swapped step) read back from
            # the database is another object, equal in class and parameters only
            if t.index in stored and describe(stored[t.index]) != describe(t.params):
                raise StorageMismatchError(
                    f"The storage {self.name!r} holds other parameters for trial "
                    f"{t.model_id}; delete it or give storage= another path to start fresh."
                )
        if new:
            with self._transaction():
                for t in new:
                    self._run(
                        "INSERT INTO skhpo_trials VALUES (?, ?, ?, ?, ?)",
                        (self.study, t.index, t.model_id, t.bracket, _dumps(t.params)),
                    )

    def add_step(self, index: int, epochs_before: int, record: StepRecord) -> None:
        """Record a finished task, and the checkpoint it carries, atomically (a checkpoint
        file is written before the database's transaction: a file without its row is
        written again when the step runs again)."""
        state = record.checkpoint
        if state is not None and self._files is not None:
            self._files.write(record.model_id, epochs_before, record)
            state = None
        with self._transaction():
            self._run(
                "INSERT INTO skhpo_steps (study, idx, epochs_before, record) VALUES (?, ?, ?, ?)",
                (self.study, index, epochs_before, _dumps(replace(record, checkpoint=None))),
            )
            if record.checkpoint is not None:
                self._run(
                    "INSERT INTO skhpo_checkpoints VALUES (?, ?, ?, ?) ON CONFLICT "
                    "(study, idx, epochs) DO UPDATE SET state = excluded.state",
                    (self.study, index, record.epochs, state),
                )

    def steps(self) -> list[tuple[int, int, StepRecord]]:
        """The stored ``(trial index, epochs before, record)``, in the order they came."""
        rows = self._run(
            "SELECT idx, epochs_before, record FROM skhpo_steps WHERE study = ? ORDER BY seq",
            (self.study,),
        ).fetchall()
        return [(idx, before, pickle.loads(record)) for idx, before, record in rows]

    def _model_id(self, index: int) -> str:
        q = "SELECT model_id FROM skhpo_trials WHERE study = ? AND idx = ?"
        return self._one(q, (self.study, index))[0]

    def drop_checkpoint(self, index: int) -> None:
        with self._transaction():
            self._run(
                "DELETE FROM skhpo_checkpoints WHERE study = ? AND idx = ?", (self.study, index)
            )
        if self._files is not None:
            self._files.drop(self._model_id(index))

    def load_checkpoint(self, index: int) -> Any:
        """The state of trial ``index`` at the last rung it reached."""
        q = (
            "SELECT epochs, state FROM skhpo_checkpoints WHERE study = ? AND idx = ? "
            "ORDER BY epochs DESC LIMIT 1"
        )
        row = self._one(q, (self.study, index))
        if row is None:
            raise KeyError(f"no checkpoint of trial {index} in {self.name!r}")
        if row[1] is None:
            if self._files is None:
                raise StorageMismatchError(
                    f"The storage {self.name!r} keeps its checkpoints outside the "
                    "database: give the same checkpoints= location again "
                    "(SearchStorage(url, checkpoints=))."
                )
            return self._files.load(self._model_id(index), row[0])
        return unpack_state(bytes(row[1]))


class SqliteStorage(_SqlStorage):
    """One study of an SQLite file (a path, or an ``sqlite:///`` URL)."""

    def _connect(self) -> None:
        url = self.spec.url
        self.path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
        folder = os.path.dirname(os.path.abspath(self.path))
        try:
            os.makedirs(folder, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._table_exists("skhpo_meta")  # reads the file: is it a database?
        except (OSError, sqlite3.Error) as exc:
            raise ValueError(f"Cannot open or create the storage {self.path!r}: {exc}") from exc

    def _table_exists(self, table: str) -> bool:
        q = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return self._db.execute(q, (table,)).fetchone() is not None


def _psycopg():
    return optional_import("psycopg", "A PostgreSQL storage needs psycopg 3", "postgres")


def _libpq_url(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


class PostgresStorage(_SqlStorage):
    """One study of a PostgreSQL database (a ``postgresql://`` URL), through psycopg 3."""

    _blob = "BYTEA"
    _serial = "BIGSERIAL PRIMARY KEY"

    def _connect(self) -> None:
        psycopg = _psycopg()
        try:
            self._db = psycopg.connect(_libpq_url(self.spec.url), autocommit=True)
        except psycopg.Error as exc:
            raise ValueError(
                f"Cannot open the storage {self.name!r}: {hide_password(str(exc))}"
            ) from None

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s")

    @contextlib.contextmanager
    def _transaction(self):
        with self._db.transaction():
            yield

    def _table_exists(self, table: str) -> bool:
        return self._db.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is not None


class _DatabaseSteps:
    """Reads a stored step from the database itself (workers that can reach it)."""

    def __init__(self, spec: SearchStorage) -> None:
        self.spec = spec

    def __repr__(self) -> str:
        return f"_DatabaseSteps({self.spec!r})"

    def read(self, model_id: str, epochs_before: int) -> tuple[Any, StepRecord] | None:
        url, study = self.spec.url, self.spec.study
        if _is_postgres(url):
            try:
                db: Any = _psycopg().connect(_libpq_url(url), autocommit=True, connect_timeout=10)
            except Exception:
                return None
            mark = "%s"
        else:
            path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
            try:  # read-only: a worker never writes the database, nor creates it
                db = sqlite3.connect(f"file:{quote(os.path.abspath(path))}?mode=ro", uri=True)
            except sqlite3.Error:
                return None
            mark = "?"
        try:
            q = f"SELECT idx FROM skhpo_trials WHERE study = {mark} AND model_id = {mark}"
            found = db.execute(q, (study, model_id)).fetchone()
            if found is None:
                return None
            q = (
                f"SELECT record FROM skhpo_steps WHERE study = {mark} AND idx = {mark} "
                f"AND epochs_before = {mark} ORDER BY seq DESC"
            )
            step = db.execute(q, (study, found[0], epochs_before)).fetchone()
            if step is None:
                return None
            record = pickle.loads(step[0])
            q = (
                f"SELECT state FROM skhpo_checkpoints WHERE study = {mark} AND idx = {mark} "
                f"AND epochs = {mark}"
            )
            state = db.execute(q, (study, found[0], record.epochs)).fetchone()
        except Exception:
            return None
        finally:
            db.close()
        if state is None or state[0] is None:
            return None
        return unpack_state(bytes(state[0])), record


def read_stored_step(
    reader: Any, model_id: str, epochs_before: int
) -> tuple[Any, StepRecord] | None:
    """The stored outcome of trial ``model_id``'s task from ``epochs_before``, if any.

    ``reader`` is a storage's :meth:`~_SqlStorage.step_reader` (or an SQLite file's
    path). Returns ``(state, record)``, the state from the checkpoint at the epochs the
    task reached, or ``None`` when the storage cannot be reached from here or holds no
    such step. Nothing is written: a worker never writes the storage.
    """
    if isinstance(reader, (str, os.PathLike)):
        reader = _DatabaseSteps(SearchStorage(reader))
    return reader.read(model_id, epochs_before)
