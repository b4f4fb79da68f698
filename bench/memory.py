"""Memory over long Keras searches: the driver's and the workers' RSS, round by round.

keras-tuner's users report RAM growing from trial to trial (a Keras graph or session
kept per model). This runs ``--rounds`` searches in a row, each successive halving from
``--trials`` small scikeras MLPs on digits (one epoch each, then a third of them to
three epochs), and samples the resident memory (after a ``gc.collect()``) every
``--every`` scored tasks and after each round:

- in-process: the driver trains every model, so a per-model leak shows in its RSS;
- on a LocalCluster of 2 single-threaded workers: the driver (which also hosts
  LocalCluster's scheduler) and the largest worker;
- with ``--executor processes``: ``scheduler="processes"`` (skhpo's own worker
  processes, replaced past ``--worker-memory-limit``), the driver and the largest child
  process (the workers of the round's search).

A leak shows as RSS growing from the end of one round to the end of the next; the peak
within a round is the live models of its first rung (synchronous halving keeps at most
about a third of them, the ones that may still be promoted).

    python bench/memory.py --trials 500 --rounds 3
    KERAS_BACKEND=jax python bench/memory.py --trials 500 --rounds 3 --no-dask
    python bench/memory.py --trials 2000 --rounds 1 --executor processes
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import psutil  # noqa: E402
from _common import local_client, markdown_table, save  # noqa: E402
from scikeras.wrappers import KerasClassifier  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from skhpo import Integer, Real, SuccessiveHalvingSearchCV  # noqa: E402
from skhpo.callbacks import SearchCallback  # noqa: E402


def build(nunits=8, meta=None):
    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(nunits, activation="relu"),
            keras.layers.Dense(meta["n_classes_"], activation="softmax"),
        ]
    )


LOSS = "sparse_categorical_crossentropy"
SPACE = {"model__nunits": Integer(4, 32), "optimizer__learning_rate": Real(1e-3, 1e-1, log=True)}


def _rss_mib() -> float:
    gc.collect()
    return psutil.Process().memory_info().rss / 2**20


class MemorySampler(SearchCallback):
    """Every ``every`` scored tasks: the trials started so far and the RSS in MiB."""

    def __init__(self, every: int, client=None, children: bool = False):
        self.every = every
        self.client = client
        self.children = children
        self.samples: list[dict] = []
        self._scored = 0
        self._models: set = set()

    def on_trial_scored(self, search, trial, epochs, score):
        self._scored += 1
        self._models.add(trial.model_id)
        if self._scored % self.every == 0:
            self.sample()

    def sample(self) -> None:
        row = {"tasks": self._scored, "trials": len(self._models), "driver": _rss_mib()}
        if self.client is not None:
            row["worker"] = max(self.client.run(_rss_mib).values())
        elif self.children:  # skhpo's own workers: child processes of this one
            rss = [c.memory_info().rss for c in psutil.Process().children(recursive=True)]
            row["worker"] = max(rss, default=0) / 2**20
        self.samples.append(row)
        print(row, flush=True)


def run(name: str, n_trials: int, rounds: int, every: int, client=None, **search_kw) -> dict:
    X, y = load_digits(return_X_y=True)
    X = (X[:400] / 16.0).astype("float32")
    y = y[:400]
    processes = search_kw.get("scheduler") == "processes"
    sampler = MemorySampler(every, client, children=processes)
    sampler.sample()
    before = sampler.samples[-1]
    rows = []
    for r in range(rounds):
        search = SuccessiveHalvingSearchCV(
            KerasClassifier(build, loss=LOSS, batch_size=64, verbose=0),
            SPACE,
            n_initial_parameters=n_trials,
            n_initial_iter=1,
            max_iter=3,
            random_state=r,
            callbacks=[sampler],
            **(search_kw or {"scheduler": "in-process" if client is None else None}),
        )
        t0 = time.perf_counter()
        start = len(sampler.samples)
        search.fit(X, y)
        wall = time.perf_counter() - t0
        pids = search.search_stats_["pids"]
        del search
        sampler.sample()
        during = sampler.samples[start:]
        row = {
            "run": name,
            "round": r,
            "trials": n_trials,
            "wall (s)": wall,
            "driver peak (MiB)": max(s["driver"] for s in during),
            "driver after (MiB)": during[-1]["driver"],
        }
        if processes:
            row["worker processes"] = len(pids)
        if client is not None or processes:
            row["worker peak (MiB)"] = max(s["worker"] for s in during)
            row["worker after (MiB)"] = during[-1]["worker"]
        rows.append(row)
        print(row, flush=True)
    return {"before": before, "rounds": rows, "samples": sampler.samples}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument(
        "--executor",
        choices=["in-process", "processes"],
        default=None,
        help="only this executor (default: in-process, then the LocalCluster unless --no-dask)",
    )
    parser.add_argument("--worker-memory-limit", default=None, help='e.g. "2GiB" or 0.25')
    args = parser.parse_args()
    if args.executor == "processes":
        limit = args.worker_memory_limit
        for number in (int, float):  # bytes, a fraction, or a string such as "2GiB"
            with contextlib.suppress(TypeError, ValueError):
                limit = number(limit)
                break
        kw = {"scheduler": "processes", "worker_memory_limit": limit}
        results = [run("scheduler='processes'", args.trials, args.rounds, args.every, **kw)]
    else:
        results = [run("in-process", args.trials, args.rounds, args.every)]
    if not args.no_dask and args.executor is None:
        with local_client(2) as client:
            results.append(
                run("LocalCluster, 2 workers", args.trials, args.rounds, args.every, client)
            )
    rows = [row for r in results for row in r["rounds"]]
    cols = list(dict.fromkeys(k for r in rows for k in r))
    for r in results:
        print(r["rounds"][0]["run"], "before the first round:", r["before"])
    print(markdown_table(rows, cols))
    backend = keras.backend.backend()
    print("Keras backend:", backend)
    name = f"memory-{backend}" + ("-processes" if args.executor == "processes" else "")
    print("results:", save(name, {"trials": args.trials, "results": results}))


if __name__ == "__main__":
    main()
