"""Log a search to MLflow: one parent run for the search, one nested run per trial.

:class:`MLflowCallback` is a search callback (``callbacks=[MLflowCallback()]``). It talks
to MLflow only through :class:`mlflow.tracking.MlflowClient` and run ids, never through
the fluent ``mlflow.start_run`` state, since trials interleave: several trial runs are
open at once, and the search leaves whatever run the user has active alone.

The parent run gets the search's constructor parameters as params, the plan
(``metadata``) as params ``plan.n_models`` and ``plan.partial_fit_calls`` and the
artifact ``plan.json``; at the end, metric ``best_score``, params ``best.<name>``, tag
``skhpo.best_model_id``, metrics ``wall_time``, ``busy_time`` and ``n_tasks``, and the
artifacts ``results.csv`` (:func:`skhpo.results.save_results`) and ``metadata.json``
(what ran). Each trial's run (tag ``mlflow.parentRunId``, so the MLflow UI nests it)
gets the trial's parameters as params, each validation score as metric ``score`` with
``step`` = epochs trained, and at its end the tags ``skhpo.state``, ``skhpo.epochs``,
``skhpo.stopped_early`` and, for a failed trial, ``skhpo.error``; its run status is
FAILED for a failed trial, FINISHED otherwise.

Needs MLflow: ``pip install 'skhpo[mlflow]'`` (mlflow-skinny with SQLAlchemy and
alembic, enough to log to a local ``sqlite:///`` store or to a tracking server); to look
at the runs with ``mlflow ui``, install the full ``mlflow`` package.
"""

from __future__ import annotations

import atexit
import json
import math
import os
import tempfile
import time
from typing import Any

from ._events import SearchCallback

__all__ = ["MLflowCallback"]

_BATCH = 100  # MLflow's most params and tags in one log_batch call
_METRICS = 900  # and metrics (1000 entities in all)


def _mlflow():
    try:
        import mlflow  # noqa: F401
        from mlflow.tracking import MlflowClient
    except ImportError as exc:
        raise ImportError(
            "MLflowCallback needs MLflow: pip install 'skhpo[mlflow]' (or pip install mlflow)"
        ) from exc
    return MlflowClient


def _limit(name: str, default: int) -> int:
    try:
        from mlflow.utils import validation
    except ImportError:  # pragma: no cover - an MLflow without the module
        return default
    return int(getattr(validation, name, default))


def _text(value: Any, limit: int, keep_end: bool = False) -> str:
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return text
    return "…" + text[-(limit - 1) :] if keep_end else text[: limit - 1] + "…"


def _now() -> int:
    return int(time.time() * 1000)


class MLflowCallback(SearchCallback):
    """Log a search to MLflow: a parent run, and a nested run per trial.

    Parameters
    ----------
    tracking_uri : str, default=None
        Where to log: a local store such as ``"sqlite:///mlflow.db"``, or a tracking
        server ``"http://host:5000"``. None uses MLflow's default (the
        ``MLFLOW_TRACKING_URI`` environment variable, else ``sqlite:///mlflow.db`` in the
        working directory for MLflow 3).
    experiment_name : str, default="skhpo"
        The experiment, created if it does not exist.
    run_name : str, default=None
        The parent run's name; the search's class name when None. Trial runs are named
        by their ``model_id``.

    Attributes
    ----------
    experiment_id_ : str
        The experiment's id, once a search began.
    run_id_ : str
        The parent run's id, once a search began.
    trial_run_ids_ : dict of str to str
        Each trial's run id, by ``model_id``.

    Notes
    -----
    An exception raised by MLflow (a tracking server that cannot be reached) stops the
    search, as any callback's exception does; with ``storage=``, fit again to resume.
    If ``fit`` raises, the runs it opened are marked FAILED (KILLED when Python exits
    first).

    Examples
    --------
    >>> from sklearn.linear_model import SGDClassifier
    >>> from skhpo import HyperbandSearchCV
    >>> from skhpo.mlflow import MLflowCallback
    >>> search = HyperbandSearchCV(
    ...     SGDClassifier(), {"alpha": (1e-5, 1e-1, "log-uniform")}, max_iter=27,
    ...     callbacks=[MLflowCallback("sqlite:///mlflow.db", experiment_name="digits")])
    >>> search.fit(X, y)  # doctest: +SKIP
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        experiment_name: str = "skhpo",
        run_name: str | None = None,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self.run_name = run_name
        self._reset()

    def _reset(self) -> None:
        self._client: Any = None
        self.experiment_id_: str | None = None
        self.run_id_: str | None = None
        self.trial_run_ids_: dict[str, str] = {}
        self._logged: dict[str, set[int]] = {}
        self._open: set[str] = set()  # run ids not yet ended

    def __repr__(self) -> str:
        return (
            f"MLflowCallback(tracking_uri={self.tracking_uri!r}, "
            f"experiment_name={self.experiment_name!r}, run_name={self.run_name!r})"
        )

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_client"] = None  # a client holds connections; make a new one when needed
        return state

    # -- runs --------------------------------------------------------------------------

    def _end(self, run_id: str, status: str) -> None:
        if run_id in self._open:
            self._client.set_terminated(run_id, status=status, end_time=_now())
            self._open.discard(run_id)

    def _end_all(self, status: str) -> None:
        """End the runs a search left open (its fit raised)."""
        if self._client is None:
            return
        for run_id in sorted(self._open - {self.run_id_}):
            self._end(run_id, status)
        if self.run_id_ is not None:
            self._end(self.run_id_, status)

    def _at_exit(self) -> None:
        try:
            self._end_all("KILLED")
        except Exception:  # noqa: BLE001 - nothing to do about it at exit
            pass

    def _log(
        self,
        run_id: str,
        params: dict | None = None,
        tags: dict | None = None,
        metrics: list | None = None,
    ) -> None:
        """Params, tags and metrics in as few ``log_batch`` calls as MLflow allows."""
        from mlflow.entities import Param, RunTag

        param_limit = _limit("MAX_PARAM_VAL_LENGTH", 500)
        tag_limit = _limit("MAX_TAG_VAL_LENGTH", 5000)
        entries = [Param(str(k), _text(v, param_limit)) for k, v in (params or {}).items()]
        entries += [
            RunTag(str(k), _text(v, tag_limit, keep_end=True)) for k, v in (tags or {}).items()
        ]
        metrics = list(metrics or [])
        while entries or metrics:
            chunk, entries = entries[:_BATCH], entries[_BATCH:]
            now, metrics = metrics[:_METRICS], metrics[_METRICS:]
            self._client.log_batch(
                run_id,
                metrics=now,
                params=[e for e in chunk if isinstance(e, Param)],
                tags=[e for e in chunk if isinstance(e, RunTag)],
            )

    def _trial_run(
        self, model_id: str, bracket: int, index: int, params: dict, metrics: list | None = None
    ) -> str:
        """The trial's run, created with its params on first use; ``metrics`` logged."""
        run_id = self.trial_run_ids_.get(model_id)
        if run_id is None:
            run = self._client.create_run(
                self.experiment_id_,
                run_name=str(model_id),
                tags={
                    "mlflow.parentRunId": self.run_id_,
                    "skhpo.model_id": str(model_id),
                    "skhpo.bracket": str(bracket),
                    "skhpo.trial": str(index),
                },
            )
            run_id = run.info.run_id
            self.trial_run_ids_[model_id] = run_id
            self._logged[model_id] = set()
            self._open.add(run_id)
            self._log(run_id, params=params, metrics=metrics)
        elif metrics:
            self._log(run_id, metrics=metrics)
        return run_id

    def _end_trial(self, model_id: str, state: str, epochs: int, error: Any, early: bool) -> None:
        run_id = self.trial_run_ids_[model_id]
        if run_id not in self._open:
            return
        tags = {
            "skhpo.state": state,
            "skhpo.epochs": int(epochs),
            "skhpo.stopped_early": bool(early),
        }
        if error is not None:
            tags["skhpo.error"] = str(error)
        self._log(run_id, tags={k: str(v) for k, v in tags.items()})
        self._end(run_id, "FAILED" if state == "failed" else "FINISHED")

    # -- events ------------------------------------------------------------------------

    def on_search_begin(self, search: Any, plan: dict) -> None:
        MlflowClient = _mlflow()
        self._end_all("FAILED")  # a previous search with this callback that raised
        self._reset()
        self._client = MlflowClient(tracking_uri=self.tracking_uri)
        experiment = self._client.get_experiment_by_name(self.experiment_name)
        if experiment is None:
            self.experiment_id_ = self._client.create_experiment(self.experiment_name)
        else:
            self.experiment_id_ = experiment.experiment_id
        from . import __version__

        run = self._client.create_run(
            self.experiment_id_,
            run_name=self.run_name or type(search).__name__,
            tags={"skhpo.search": type(search).__name__, "skhpo.version": __version__},
        )
        self.run_id_ = run.info.run_id
        self._open.add(self.run_id_)
        atexit.register(self._at_exit)
        params = dict(search.get_params(deep=False))
        params["plan.n_models"] = plan.get("n_models")
        params["plan.partial_fit_calls"] = plan.get("partial_fit_calls")
        self._log(self.run_id_, params=params)
        self._client.log_text(self.run_id_, json.dumps(plan, indent=1), "plan.json")

    def on_trial_scored(self, search: Any, trial: Any, epochs: int, score: float) -> None:
        from mlflow.entities import Metric

        metric = Metric("score", float(score), _now(), int(epochs))
        self._trial_run(trial.model_id, trial.bracket, trial.index, trial.params, [metric])
        self._logged[trial.model_id].add(int(epochs))

    def on_trial_end(self, search: Any, trial: Any) -> None:
        self._trial_run(trial.model_id, trial.bracket, trial.index, trial.params)
        self._end_trial(
            trial.model_id, trial.status, trial.epochs, trial.error, trial.stopped_early
        )

    def on_search_error(self, search: Any, error: BaseException) -> None:
        self._end_all("FAILED")

    def on_search_end(self, search: Any) -> None:
        from mlflow.entities import Metric

        res = search.cv_results_
        history = getattr(search, "model_history_", {}) or {}
        # Trials that got no events: replayed from storage when fit resumed.
        for i, model_id in enumerate(res.get("model_id", [])):
            logged = self._logged.get(model_id, set())
            missing = [
                Metric("score", float(h["score"]), _now(), int(h["partial_fit_calls"]))
                for h in history.get(model_id, [])
                if int(h["partial_fit_calls"]) not in logged
            ]
            self._trial_run(model_id, int(res["bracket"][i]), i, res["params"][i], missing)
            self._logged[model_id].update(m.step for m in missing)
            self._end_trial(
                model_id,
                str(res["state"][i]),
                int(res["partial_fit_calls"][i]),
                res["error"][i],
                bool(res["stopped_early"][i]),
            )

        run_id = self.run_id_
        metrics = {}
        best_score = getattr(search, "best_score_", None)
        if best_score is not None and not math.isnan(float(best_score)):
            metrics["best_score"] = float(best_score)
        stats = getattr(search, "search_stats_", {}) or {}
        for key in ("wall_time", "busy_time", "n_tasks"):
            if key in stats:
                metrics[key] = float(stats[key])
        stamp = _now()
        best_params = getattr(search, "best_params_", None) or {}
        tags = {}
        if getattr(search, "best_index_", None) is not None and "model_id" in res:
            tags["skhpo.best_model_id"] = str(res["model_id"][search.best_index_])
        self._log(
            run_id,
            params={f"best.{k}": v for k, v in best_params.items()},
            tags=tags,
            metrics=[Metric(k, v, stamp, 0) for k, v in metrics.items()],
        )
        metadata = getattr(search, "metadata_", None)
        if metadata is not None:
            # the brackets' SuccessiveHalvingSearchCV params may hold callbacks and
            # scorers: those are written as their repr
            text = json.dumps(metadata, indent=1, default=repr)
            self._client.log_text(run_id, text, "metadata.json")
        from .results import save_results

        with tempfile.TemporaryDirectory() as folder:
            path = save_results(search, os.path.join(folder, "results.csv"))
            self._client.log_artifact(run_id, str(path))
        self._end(run_id, "FINISHED")
        atexit.unregister(self._at_exit)
