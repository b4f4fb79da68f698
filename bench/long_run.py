"""A long search: many trials of a cheap estimator on a 2-worker LocalCluster.

Successive halving from ``--trials`` models (1 epoch each, then halved by 3 up to 27
epochs) of a trivial ``partial_fit`` estimator, run ``--rounds`` times in a row on the
same cluster. Reports, per round, the wall time, the tasks, whether every trial is
accounted for, and the resident memory (RSS, after a ``gc.collect()``) of the driver,
the scheduler and the workers: flat memory means no per-trial leak.

The scheduler runs in a process of its own (distributed's ``SubprocessCluster``), so
the driver's RSS is the search's alone: a LocalCluster's scheduler lives in the
driver's process and keeps bounded logs of past tasks, which grow with the first tens
of thousands of tasks. ``--local-cluster`` uses a LocalCluster instead;
``--tracemalloc`` prints the driver's largest allocations made after the first round
and still held at the end.

    python bench/long_run.py --trials 1000 --rounds 3
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import time
import tracemalloc

import numpy as np
import psutil
from _common import Trivial, local_client, markdown_table, save

from skhpo import SuccessiveHalvingSearchCV


def _rss_mb() -> float:
    gc.collect()
    return psutil.Process(os.getpid()).memory_info().rss / 2**20


@contextlib.contextmanager
def subprocess_client(n_workers: int):
    """Scheduler and workers in processes of their own, on loopback.

    They import the estimator from bench/ (the scheduler unpickles tasks too).
    """
    from distributed import Client
    from distributed.deploy.subprocess import SubprocessCluster

    here = os.path.dirname(os.path.abspath(__file__))
    path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = here + (os.pathsep + path if path else "")
    with (
        SubprocessCluster(n_workers=n_workers, threads_per_worker=1, dashboard_address=None) as c,
        Client(c) as client,
    ):
        yield client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--local-cluster", action="store_true")
    parser.add_argument("--tracemalloc", action="store_true")
    args = parser.parse_args()
    X, y = np.zeros((200, 4)), np.arange(200) % 2
    rows = []
    snapshots = []
    cluster = local_client if args.local_cluster else subprocess_client
    with cluster(2) as client:
        for r in range(args.rounds):
            search = SuccessiveHalvingSearchCV(
                Trivial(),
                {"a": (0.0, 1.0)},
                n_initial_parameters=args.trials,
                n_initial_iter=1,
                max_iter=27,
                random_state=r,
            )
            t0 = time.perf_counter()
            search.fit(X, y)
            wall = time.perf_counter() - t0
            res = search.cv_results_
            workers = client.run(_rss_mb)
            rows.append(
                {
                    "round": r,
                    "trials": len(res["params"]),
                    "all accounted": bool(
                        len(res["params"]) == args.trials
                        and set(res["state"]) <= {"completed", "pruned"}
                    ),
                    "tasks": search.search_stats_["n_tasks"],
                    "wall (s)": wall,
                    "driver RSS (MiB)": _rss_mb(),
                    "scheduler RSS (MiB)": client.run_on_scheduler(_rss_mb),
                    "max worker RSS (MiB)": max(workers.values()),
                }
            )
            print(rows[-1], flush=True)
            if args.tracemalloc:
                del search, res
                gc.collect()
                if r == 0:
                    tracemalloc.start(10)
                snapshots.append(tracemalloc.take_snapshot())
    if len(snapshots) > 1:
        print("driver: what was allocated after the first round and is still held")
        for stat in snapshots[-1].compare_to(snapshots[0], "traceback")[:8]:
            print(stat)
            for line in stat.traceback.format()[-6:]:
                print("   ", line)
    cols = list(rows[0])
    print(markdown_table(rows, cols))
    print("results:", save("long_run", {"trials": args.trials, "rows": rows}))


if __name__ == "__main__":
    main()
