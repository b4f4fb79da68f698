"""A live view of a search in the browser: the search mirrored into an Optuna storage.

:class:`DashboardCallback` is a search callback (``callbacks=[DashboardCallback(url)]``)
that writes each trial of :class:`~skhpo.HyperbandSearchCV` or
:class:`~skhpo.SuccessiveHalvingSearchCV` into an Optuna storage as the search runs, and
``python -m skhpo dashboard URL`` (:func:`serve`) shows that storage with
`optuna-dashboard <https://github.com/optuna/optuna-dashboard>`_, on ``127.0.0.1``
unless told otherwise. The page reads the storage, so it works during the search, after
it, and from another process.

What is written, for a search:

* one Optuna study, direction ``maximize`` (skhpo's scores are "higher is better"),
  with the study user attributes ``skhpo.search`` (the class), ``skhpo.n_models`` and
  one ``bracket=<s>`` entry per bracket (its rungs planned, ``models x epochs``), and
  a note (the dashboard's *Note* tab) with the Hyperband plan, each rung's models
  planned and reached so far (per iteration, with ``n_iterations`` > 1);
* one Optuna trial per skhpo trial, created at its first score: its parameters with
  Optuna distributions (``Real`` and ``Integer`` as ``FloatDistribution`` and
  ``IntDistribution`` with their ``log`` and ``step``, ``Categorical`` as
  ``CategoricalDistribution``; conditional parameters a trial does not have are
  absent), each score as an intermediate value at step = epochs trained, and the
  user attributes ``model_id``, ``iteration``, ``bracket``, ``index`` (its row in
  ``cv_results_``), ``rung`` (the last rung reached) and, on a dask cluster, ``worker``;
* the trial's state: RUNNING while it trains (a promoted trial stays RUNNING with a
  higher ``rung``), then PRUNED, COMPLETE (value = its last score) or FAIL (with the
  user attribute ``error``, the exception's line).

The writes happen in a thread of their own, in order, so that the search does not wait
for the database; ``fit`` waits for them before it returns. An error while writing
(the database went away) stops the search at its next event, as any callback's error
does; with ``storage=``, ``fit`` again resumes it, and the same study goes on.

Needs ``pip install 'skhpo[dashboard]'`` (optuna and optuna-dashboard).
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import os
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ._compat import optional_import
from ._events import SearchCallback
from ._records import error_line
from ._storage import hide_password
from .space import Categorical, Distribution, Integer, Real, SearchSpace

__all__ = ["DashboardCallback", "hide_password", "serve"]


def _optuna():
    return optional_import("optuna", "the dashboard needs Optuna and optuna-dashboard", "dashboard")


def _storage_url(storage: Any) -> Any:
    """A path becomes an SQLite URL; a URL or an Optuna storage object is kept."""
    if isinstance(storage, os.PathLike) or (isinstance(storage, str) and "://" not in storage):
        return "sqlite:///" + os.path.abspath(os.fspath(storage))
    return storage


def _fast_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite in WAL mode, synced at checkpoints: a commit costs ~2 ms, not ~20 ms."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _open_storage(storage: Any) -> Any:
    """An Optuna storage; an SQLite file in WAL mode (readers do not block the writes)."""
    optuna = _optuna()
    storage = _storage_url(storage)
    if not isinstance(storage, str):
        return storage
    rdb = optuna.storages.RDBStorage(storage)
    database = rdb.engine.url.database
    if rdb.engine.dialect.name == "sqlite" and database not in (None, "", ":memory:"):
        from sqlalchemy import event

        event.listen(rdb.engine, "connect", _fast_sqlite)
        rdb.engine.dispose()  # the connections opened so far, without the pragmas
    return rdb


# -- skhpo dimensions as Optuna distributions -----------------------------------------------

_OPTUNA_TYPES = (type(None), bool, int, float, str)


def _choice(value: Any) -> Any:
    """A category as Optuna can store it: itself for None, bool, int, float, str."""
    return value if type(value) in _OPTUNA_TYPES else repr(value)


def _distribution(dim: Any) -> Any:
    """The Optuna distribution of a dimension; None where none fits."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if isinstance(dim, Real | Integer):
        cls, cast = (FloatDistribution, float) if isinstance(dim, Real) else (IntDistribution, int)
        # Optuna's step is additive; a log grid (keras-tuner's factor) keeps only ``log``.
        step = dim.step if dim.step is not None and not dim.log else None
        kwargs = {"step": cast(step)} if step is not None else {}
        if cls is IntDistribution and step is None:
            kwargs["step"] = 1
        return cls(cast(dim.low), cast(dim.high), log=dim.log, **kwargs)
    if isinstance(dim, Categorical):
        choices = list(dict.fromkeys(_choice(c) for c in dim.categories))
        return CategoricalDistribution(choices)
    if isinstance(dim, Distribution):
        support = getattr(dim.dist, "support", None)
        if not callable(support):
            return None
        low, high = (float(b) for b in support())
        if not (math.isfinite(low) and math.isfinite(high)):
            return None
        name = getattr(getattr(dim.dist, "dist", None), "name", "")
        log = name in ("loguniform", "reciprocal")
        if getattr(dim, "_discrete", False):
            return IntDistribution(int(low), int(high), log=log)
        return FloatDistribution(low, high, log=log)
    return None


def _space_distributions(space: SearchSpace) -> list[dict[str, Any]]:
    """Each subspace's distributions; a name whose subspaces disagree is left out."""
    from optuna.distributions import check_distribution_compatibility

    per_sub = [
        {n: d for n, d in ((n, _distribution(dim)) for n, dim in sub.items()) if d is not None}
        for sub in space.subspaces
    ]
    seen: dict[str, Any] = {}
    clash = set()
    for dists in per_sub:
        for name, dist in dists.items():
            if name in seen:
                try:
                    check_distribution_compatibility(seen[name], dist)
                except ValueError:
                    clash.add(name)
            seen.setdefault(name, dist)
    return [{n: d for n, d in dists.items() if n not in clash} for dists in per_sub]


def _trial_params(
    space: SearchSpace, distributions: list[dict], params: dict
) -> tuple[dict, dict, dict]:
    """Optuna params and distributions of a trial, and the values left out, as text."""
    from optuna.distributions import CategoricalDistribution

    k = space.subspace_of(params)
    dists = distributions[k] if k is not None else {}
    values, used, other = {}, {}, {}
    for name, value in params.items():
        dist = dists.get(name)
        if dist is None:
            other[f"param.{name}"] = repr(value)
            continue
        if isinstance(dist, CategoricalDistribution):
            value = _choice(value)
        elif isinstance(value, bool) or not isinstance(value, int | float):
            other[f"param.{name}"] = repr(value)
            continue
        values[name], used[name] = value, dist
    return values, used, other


# -- the callback ---------------------------------------------------------------------------


def _key(b: dict) -> tuple[int, int]:
    """``(iteration, bracket)`` of a planned bracket: bracket numbers repeat in every
    Hyperband iteration."""
    return int(b.get("iteration", 1)), int(b["bracket"])


def _rung(plan: dict, bracket: tuple[int, int], epochs: int) -> int:
    """The last rung of ``bracket`` (``(iteration, bracket)``) whose epochs ``epochs``
    reached (0 before the first)."""
    for b in plan.get("brackets", []):
        if _key(b) == bracket:
            reached = [k for k, (_, e) in enumerate(b["rungs"]) if epochs >= e]
            return reached[-1] if reached else 0
    return 0


class DashboardCallback(SearchCallback):
    """Mirror a search into an Optuna storage, for optuna-dashboard to show it live.

    Parameters
    ----------
    storage : str, path or Optuna storage
        A database URL that Optuna's ``RDBStorage`` takes (``"sqlite:///search.db"``,
        ``"postgresql://user:password@host/db"``), a path (an SQLite file), or an Optuna
        storage object (``optuna.storages.JournalStorage``, say).
    study_name : str, default=None
        The study. None names it after the search: the class, and, with ``storage=``,
        the storage file and the time it was started (so that a resumed search goes on
        in the same study), else the time of ``fit``. A named study that holds another
        search is an error before any training.

    Attributes
    ----------
    study_name_ : str
        The study written to, once a search began.
    study_id_ : int
        Its id in the storage.
    trial_ids_ : dict of str to int
        Each skhpo trial's Optuna ``trial_id``, by ``model_id``.
    write_times_ : list of float
        The seconds each write task took in the writer thread (a score, a trial's end).

    Notes
    -----
    The password of a database URL is never logged nor shown: :func:`repr` and
    every message hide it (:func:`hide_password`).

    Examples
    --------
    >>> from sklearn.linear_model import SGDClassifier
    >>> from skhpo import HyperbandSearchCV
    >>> from skhpo.dashboard import DashboardCallback
    >>> search = HyperbandSearchCV(
    ...     SGDClassifier(), {"alpha": (1e-5, 1e-1, "log-uniform")}, max_iter=27,
    ...     storage="search.db", callbacks=[DashboardCallback("sqlite:///dashboard.db")])
    >>> search.fit(X, y)  # doctest: +SKIP

    and, in a shell, ``python -m skhpo dashboard dashboard.db``.
    """

    def __init__(self, storage: Any, study_name: str | None = None) -> None:
        self.storage = storage
        self.study_name = study_name
        self._reset()

    def _reset(self) -> None:
        self._optuna_storage: Any = None
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[Future] = []
        self.study_name_: str | None = None
        self.study_id_: int | None = None
        self.trial_ids_: dict[str, int] = {}
        self.write_times_: list[float] = []
        self._finished: set[str] = set()
        self._reported: dict[str, set[int]] = {}
        self._reached: dict[tuple[int, int], set[str]] = {}
        self._plan: dict = {}
        self._space: SearchSpace | None = None
        self._distributions: list[dict] = []
        self._note_version = 0
        self._rung_written: dict[str, int] = {}
        self._worker_written: dict[str, Any] = {}

    def __repr__(self) -> str:
        storage = self.storage
        shown = repr(hide_password(storage)) if isinstance(storage, str) else repr(storage)
        return f"DashboardCallback(storage={shown}, study_name={self.study_name!r})"

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.update(_optuna_storage=None, _pool=None, _pending=[])
        return state

    # -- the writer thread --------------------------------------------------------------

    def _submit(self, fn: Any, *args: Any) -> None:
        self._raise_write_error()
        self._pending.append(self._pool.submit(self._timed, fn, *args))

    def _timed(self, fn: Any, *args: Any) -> None:
        start = time.perf_counter()
        fn(*args)
        self.write_times_.append(time.perf_counter() - start)

    def _raise_write_error(self) -> None:
        done = [f for f in self._pending if f.done()]
        self._pending = [f for f in self._pending if not f.done()]
        for future in done:
            exc = future.exception()
            if isinstance(exc, ValueError | ImportError):  # ours: a clear message already
                raise exc
            if exc is not None:
                raise RuntimeError(
                    f"DashboardCallback could not write to {hide_password(str(self.storage))!r}: "
                    f"{type(exc).__name__}: {hide_password(str(exc))}"
                ) from None

    def _flush(self) -> None:
        """Wait for the writes queued so far; raise the first one's error."""
        for future in list(self._pending):
            future.exception()
        self._raise_write_error()

    def _close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        engine = getattr(self._optuna_storage, "engine", None)
        if engine is not None:
            engine.dispose()  # the SQLite file closed, the connections given back

    # -- what the writer does -----------------------------------------------------------

    def _setup(self, search: Any, plan: dict) -> None:
        optuna = _optuna()
        storage = self._optuna_storage = _open_storage(self.storage)
        start = where = None
        if getattr(search, "storage", None) is not None:
            from ._storage import open_storage

            stored = open_storage(search.storage)
            try:
                start = repr(stored.start)
                # the file's name (an SQLite storage), else the study's
                where = os.path.basename(getattr(stored, "path", "")) or stored.study
            finally:
                stored.close()
        name = self.study_name
        base = name
        if base is None:
            stamp = time.strftime(
                "%Y-%m-%d %H:%M:%S", time.localtime(float(start) if start else time.time())
            )
            base = f"{type(search).__name__}{f' {where}' if start else ''} {stamp}"
        for n in range(1, 1000):
            candidate = base if n == 1 else f"{base} ({n})"
            try:
                study_id = storage.get_study_id_from_name(candidate)
            except KeyError:
                study_id = storage.create_new_study(
                    [optuna.study.StudyDirection.MAXIMIZE], candidate
                )
                self._study_attrs(study_id, search, plan, start)
                break
            attrs = storage.get_study_user_attrs(study_id)
            if start is not None and attrs.get("skhpo.storage_start") == start:
                self._resume(study_id)  # a resumed search: the same study goes on
                break
            if name is not None:
                raise ValueError(
                    f"The Optuna study {name!r} in "
                    f"{hide_password(str(self.storage))!r} holds another search; give "
                    "study_name= another name, or delete the study first"
                )
        self.study_name_, self.study_id_ = candidate, study_id
        self._save_note(0, self._note())

    def _study_attrs(self, study_id: int, search: Any, plan: dict, start: str | None) -> None:
        storage = self._optuna_storage
        storage.set_study_user_attr(study_id, "skhpo.search", type(search).__name__)
        storage.set_study_user_attr(study_id, "skhpo.n_models", plan.get("n_models"))
        if start is not None:
            storage.set_study_user_attr(study_id, "skhpo.storage_start", start)
        for b in plan.get("brackets", []):
            rungs = ", ".join(f"{n} x {e}" for n, e in b["rungs"])
            storage.set_study_user_attr(study_id, f"bracket={b['bracket']}", rungs)

    def _resume(self, study_id: int) -> None:
        for trial in self._optuna_storage.get_all_trials(study_id, deepcopy=False):
            model_id = trial.user_attrs.get("model_id")
            if model_id is None:
                continue
            self.trial_ids_[model_id] = trial._trial_id
            self._reported[model_id] = set(trial.intermediate_values)
            if trial.state.is_finished():
                self._finished.add(model_id)
            bracket = trial.user_attrs.get("iteration", 1), trial.user_attrs.get("bracket")
            for step in trial.intermediate_values:
                self._reach(model_id, bracket, step)

    def _reach(self, model_id: str, bracket: tuple[int, int], epochs: int) -> bool:
        """Count the rungs a score reached in ``bracket`` (``(iteration, bracket)``);
        True if one was reached for the first time."""
        new = False
        for b in self._plan.get("brackets", []):
            if _key(b) != bracket:
                continue
            for k, (_, e) in enumerate(b["rungs"]):
                if epochs >= e:
                    seen = self._reached.setdefault((*bracket, k), set())
                    new |= model_id not in seen
                    seen.add(model_id)
        return new

    def _note(self) -> str:
        brackets = self._plan.get("brackets", [])
        several = len({_key(b)[0] for b in brackets}) > 1  # an iteration column
        columns = ["bracket", "rung", "epochs", "models planned", "models reached"]
        columns = ["iteration", *columns] if several else columns
        lines = [
            "## Hyperband plan",
            "",
            "Each rung: the models planned and reached so far, and their epochs.",
            "",
            "| " + " | ".join(columns) + " |",
            "|" + "---|" * len(columns),
        ]
        for b in brackets:
            iteration, bracket = _key(b)
            for k, (n, e) in enumerate(b["rungs"]):
                reached = len(self._reached.get((iteration, bracket, k), ()))
                cells = [bracket, k, e, n, reached]
                cells = [iteration, *cells] if several else cells
                lines.append("| " + " | ".join(str(c) for c in cells) + " |")
        return "\n".join(lines) + "\n"

    def _save_note(self, version: int, text: str) -> None:
        if version < self._note_version:
            return  # a newer note is queued
        try:
            from optuna_dashboard import save_note
        except ImportError:  # pragma: no cover - the extra installs it
            return
        optuna = _optuna()
        study = optuna.load_study(study_name=self.study_name_, storage=self._optuna_storage)
        save_note(study, text)

    def _trial_id(
        self, model_id: str, index: int, bracket: tuple[int, int], params: dict, first: tuple = ()
    ) -> int:
        """The trial's id; created (in one transaction) with the ``first`` score's
        ``(epochs, score, rung)`` if new."""
        trial_id = self.trial_ids_.get(model_id)
        if trial_id is not None:
            return trial_id
        from optuna.trial import TrialState, create_trial

        values, dists, other = _trial_params(self._space, self._distributions, params)
        iteration, number = bracket
        attrs = {"model_id": model_id, "iteration": iteration, "bracket": number, "index": index}
        attrs.update(other)
        intermediate = {}
        if first:
            epochs, score, attrs["rung"] = first
            intermediate[epochs] = score
            self._rung_written[model_id] = attrs["rung"]
        template = create_trial(
            state=TrialState.RUNNING,
            params=values,
            distributions=dists,
            user_attrs=attrs,
            intermediate_values=intermediate,
        )
        trial_id = self._optuna_storage.create_new_trial(self.study_id_, template_trial=template)
        self.trial_ids_[model_id] = trial_id
        self._reported[model_id] = set(intermediate)
        return trial_id

    def _write_score(self, model_id, index, bracket, params, epochs, score, worker) -> None:
        if model_id in self._finished:
            return
        storage = self._optuna_storage
        epochs, score = int(epochs), float(score)
        rung = _rung(self._plan, bracket, epochs)
        new = model_id not in self.trial_ids_
        trial_id = self._trial_id(model_id, index, bracket, params, (epochs, score, rung))
        if not new:
            storage.set_trial_intermediate_value(trial_id, epochs, score)
            self._reported[model_id].add(epochs)
        if self._rung_written.get(model_id) != rung:
            storage.set_trial_user_attr(trial_id, "rung", rung)
            self._rung_written[model_id] = rung
        if worker and self._worker_written.get(model_id) != worker:
            storage.set_trial_user_attr(trial_id, "worker", str(worker))
            self._worker_written[model_id] = worker

    def _write_end(self, model_id, index, bracket, params, status, score, error) -> None:
        if model_id in self._finished:
            return
        from optuna.trial import TrialState

        storage = self._optuna_storage
        trial_id = self._trial_id(model_id, index, bracket, params)
        finite = score is not None and math.isfinite(score)
        values = [float(score)] if finite else None
        if status == "completed" and finite:
            state = TrialState.COMPLETE
        elif status == "pruned":
            state = TrialState.PRUNED
        else:
            state, values = TrialState.FAIL, None
            if error is not None:
                storage.set_trial_user_attr(trial_id, "error", hide_password(error_line(error)))
        storage.set_trial_state_values(trial_id, state, values)
        self._finished.add(model_id)

    def _write_missing(self, rows: list[tuple], history: dict) -> None:
        """The steps and ends a resumed fit did not hear of (replayed from storage=)."""
        for model_id, index, bracket, params, status, score, error in rows:
            for h in history.get(model_id, []):
                if int(h["partial_fit_calls"]) not in self._reported.get(model_id, ()):
                    self._write_score(
                        model_id,
                        index,
                        bracket,
                        params,
                        h["partial_fit_calls"],
                        h["score"],
                        h.get("worker"),
                    )
                    self._reach(model_id, bracket, int(h["partial_fit_calls"]))
            if status in ("completed", "pruned", "failed"):
                self._write_end(model_id, index, bracket, params, status, score, error)

    def _fail_open(self) -> None:
        from optuna.trial import TrialState

        for model_id, trial_id in self.trial_ids_.items():
            if model_id not in self._finished:
                self._optuna_storage.set_trial_state_values(trial_id, TrialState.FAIL)
                self._finished.add(model_id)

    # -- events -------------------------------------------------------------------------

    def on_search_begin(self, search: Any, plan: dict) -> None:
        _optuna()
        self._close()
        self._reset()
        self._plan = plan
        self._space = SearchSpace.from_params(search.parameters)
        self._distributions = _space_distributions(self._space)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="skhpo-dashboard")
        self._submit(self._setup, search, plan)
        self._flush()  # a bad URL or a study of another search: an error before training

    def _update_note(self) -> None:
        self._note_version += 1
        self._submit(self._save_note, self._note_version, self._note())

    def on_trial_scored(self, search: Any, trial: Any, epochs: int, score: float) -> None:
        bracket = (getattr(trial, "iteration", 1), trial.bracket)
        new_rung = self._reach(trial.model_id, bracket, epochs)
        self._submit(
            self._write_score,
            trial.model_id,
            trial.index,
            bracket,
            dict(trial.params),
            int(epochs),
            float(score),
            getattr(trial, "worker", None),
        )
        if new_rung:  # the rung's count goes up in the plan's note
            self._update_note()

    def on_trial_end(self, search: Any, trial: Any) -> None:
        self._submit(
            self._write_end,
            trial.model_id,
            trial.index,
            (getattr(trial, "iteration", 1), trial.bracket),
            dict(trial.params),
            str(trial.status),
            float(trial.score),
            trial.error,
        )

    def on_search_end(self, search: Any) -> None:
        res = search.cv_results_
        rows = [
            (
                model_id,
                i,
                (int(res["iteration"][i]) if "iteration" in res else 1, int(res["bracket"][i])),
                dict(res["params"][i]),
                str(res["state"][i]),
                float(res["test_score"][i]) if "test_score" in res else math.nan,
                res["error"][i],
            )
            for i, model_id in enumerate(res.get("model_id", []))
        ]
        history = {k: list(v) for k, v in (getattr(search, "model_history_", {}) or {}).items()}
        best = getattr(search, "best_index_", None)
        try:
            self._submit(self._write_missing, rows, history)
            self._flush()  # _write_missing counts the rungs of the steps it writes
            self._update_note()
            if best is not None and "model_id" in res:
                self._submit(
                    self._optuna_storage.set_study_user_attr,
                    self.study_id_,
                    "skhpo.best_model_id",
                    str(res["model_id"][best]),
                )
            self._flush()
        finally:
            self._close()

    def on_search_error(self, search: Any, error: BaseException) -> None:
        if self._pool is None:
            return
        try:
            if getattr(search, "storage", None) is None:  # no resume: nothing goes on
                self._submit(self._fail_open)
            self._flush()
        except Exception:  # noqa: BLE001 - the search's own error is the one to raise
            pass
        finally:
            self._close()


# -- the page -------------------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    storage: Any,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    quiet: bool = True,
) -> None:
    """Serve optuna-dashboard for ``storage`` until interrupted.

    Parameters
    ----------
    storage : str, path or Optuna storage
        What :class:`DashboardCallback` wrote to: a database URL, an SQLite file's path,
        or an Optuna storage object.
    host : str, default="127.0.0.1"
        The address to listen on. The loopback address keeps the page to this machine.
        Anything else (``"0.0.0.0"``) lets every machine that reaches the port read the
        studies, their parameters and notes, and write notes: optuna-dashboard has no
        login. A warning is printed then.
    port : int, default=8080
        The port; 0 picks a free one (the address is printed).
    quiet : bool, default=True
        Leave out the log line of each request.
    """
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    _optuna()
    dashboard = optional_import(
        "optuna_dashboard", "the dashboard needs optuna-dashboard", "dashboard"
    )

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    app = dashboard.wsgi(_open_storage(storage))
    handler = QuietHandler if quiet else WSGIRequestHandler
    httpd = make_server(host, port, app, server_class=Server, handler_class=handler)
    shown = hide_password(str(_storage_url(storage)))
    if not _is_loopback(host):
        print(
            f"WARNING: the dashboard listens on {host}, so any machine that reaches port "
            f"{httpd.server_port} can read every study of {shown} and edit its notes: "
            "optuna-dashboard has no login. Prefer 127.0.0.1 and an SSH tunnel.",
            file=sys.stderr,
            flush=True,
        )
    url_host = f"[{host}]" if ":" in host else host
    print(
        f"skhpo dashboard of {shown} on http://{url_host}:{httpd.server_port}/dashboard/ "
        "(Ctrl-C to stop)",
        flush=True,
    )
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


def main(argv: list[str] | None = None) -> int:
    """``python -m skhpo dashboard STORAGE [--host HOST] [--port PORT]``."""
    parser = argparse.ArgumentParser(prog="python -m skhpo")
    commands = parser.add_subparsers(dest="command", required=True)
    dash = commands.add_parser(
        "dashboard",
        help="serve optuna-dashboard for the storage a DashboardCallback writes to",
        description=(
            "Serve optuna-dashboard for STORAGE (a database URL, or an SQLite file's "
            "path), on 127.0.0.1 unless --host says otherwise."
        ),
    )
    dash.add_argument("storage", help="a database URL, or an SQLite file's path")
    dash.add_argument(
        "--host",
        default="127.0.0.1",
        help=(
            "the address to listen on (default 127.0.0.1, this machine only); 0.0.0.0 "
            "exposes every study to the network, with no login"
        ),
    )
    dash.add_argument("--port", type=int, default=8080, help="default 8080; 0 picks a free one")
    dash.add_argument("--verbose", action="store_true", help="log each request")
    args = parser.parse_args(argv)
    serve(args.storage, args.host, args.port, quiet=not args.verbose)
    return 0
