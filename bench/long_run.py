"""A long search: many trials of a cheap estimator on a 2-worker LocalCluster.

Successive halving from ``--trials`` models (1 epoch each, then halved by 3 up to 27
epochs) of a trivial ``partial_fit`` estimator, run ``--rounds`` times in a row on the
same cluster. Reports, per round, the wall time, the tasks, whether every trial is
accounted for, and the resident memory (RSS) of the driver and of the workers: flat
memory means no per-trial leak.

    python bench/long_run.py --trials 1000 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import psutil
from _common import Trivial, local_client, markdown_table, save

from skhpo import SuccessiveHalvingSearchCV


def _rss_mb(pid: int | None = None) -> float:
    return psutil.Process(pid or os.getpid()).memory_info().rss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    X, y = np.zeros((200, 4)), np.arange(200) % 2
    rows = []
    with local_client(2) as client:
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
            workers = client.run(lambda: psutil.Process().memory_info().rss / 2**20)
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
                    "max worker RSS (MiB)": max(workers.values()),
                }
            )
            print(rows[-1], flush=True)
    cols = list(rows[0])
    print(markdown_table(rows, cols))
    print("results:", save("long_run", {"trials": args.trials, "rows": rows}))


if __name__ == "__main__":
    main()
