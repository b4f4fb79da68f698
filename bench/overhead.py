"""Per-task overhead of the search machinery, in-process and on a local dask cluster.

A trivial estimator (``partial_fit`` does nothing) is searched by successive halving
with ``n_initial_parameters=N`` and ``max_iter=1``: N tasks of one epoch each. The
overhead per task is the wall time divided by the number of tasks; the median of
``--repeats`` runs is reported.

    python bench/overhead.py --tasks 1000 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from _common import Trivial, local_client, markdown_table, save

from skhpo import SuccessiveHalvingSearchCV


def one_run(n_tasks: int, scheduler=None) -> dict:
    X = np.zeros((40, 2))
    y = np.arange(40) % 2
    search = SuccessiveHalvingSearchCV(
        Trivial(),
        {"a": (0.0, 1.0)},
        n_initial_parameters=n_tasks,
        n_initial_iter=1,
        max_iter=1,
        random_state=0,
        scheduler=scheduler,
    )
    t0 = time.perf_counter()
    search.fit(X, y)
    wall = time.perf_counter() - t0
    n = search.search_stats_["n_tasks"]
    return {"wall_s": wall, "tasks": n, "ms_per_task": 1000 * wall / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    runs = [one_run(args.tasks, "in-process") for _ in range(args.repeats)]
    rows.append(_summary("in-process", runs))
    for n_workers in (1, 2):
        with local_client(n_workers):
            one_run(50)  # warm the workers (imports) before timing
            runs = [one_run(args.tasks) for _ in range(args.repeats)]
        rows.append(_summary(f"dask LocalCluster, {n_workers} worker(s)", runs))
    print(markdown_table(rows, ["executor", "tasks", "median wall (s)", "ms per task"]))
    print("results:", save("overhead", {"tasks": args.tasks, "rows": rows}))


def _summary(name: str, runs: list[dict]) -> dict:
    return {
        "executor": name,
        "tasks": runs[0]["tasks"],
        "median wall (s)": statistics.median(r["wall_s"] for r in runs),
        "ms per task": statistics.median(r["ms_per_task"] for r in runs),
    }


if __name__ == "__main__":
    main()
