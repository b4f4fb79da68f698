"""Worker utilisation of synchronous vs asynchronous successive halving (ASHA).

A trivial estimator sleeps ``cost`` seconds per epoch, with ``cost`` log-uniform in
[5 ms, 100 ms] across trials, so trials are uneven. Hyperband (max_iter=27, eta=3: four
brackets, run interleaved) and successive halving (one bracket of 27 models from 1 to 27
epochs, where the rung barrier bites) run on a LocalCluster of 2 worker processes.
Utilisation = busy time of the tasks / (workers x wall time). Medians of ``--repeats``
runs.

    python bench/asha_utilisation.py --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from _common import Trivial, local_client, markdown_table, save

from skhpo import HyperbandSearchCV, Real, SuccessiveHalvingSearchCV

SPACE = {"a": (0.0, 1.0), "cost": Real(0.005, 0.1, log=True)}


def one_run(kind: str, asynchronous: bool, seed: int, workers: int = 2) -> dict:
    X = np.zeros((40, 2))
    y = np.arange(40) % 2
    if kind == "hyperband":
        search = HyperbandSearchCV(
            Trivial(), SPACE, max_iter=27, random_state=seed, asynchronous=asynchronous
        )
    else:
        search = SuccessiveHalvingSearchCV(
            Trivial(),
            SPACE,
            n_initial_parameters=27,
            n_initial_iter=1,
            max_iter=27,
            random_state=seed,
            asynchronous=asynchronous,
        )
    t0 = time.perf_counter()
    search.fit(X, y)
    wall = time.perf_counter() - t0
    stats = search.search_stats_
    return {
        "wall_s": wall,
        "busy_s": stats["busy_time"],
        "utilisation": stats["busy_time"] / (workers * wall),
        "best": search.best_score_,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    rows = []
    with local_client(args.workers):
        one_run("halving", False, 99)  # warm-up
        for kind in ("hyperband", "halving"):
            for asynchronous in (False, True):
                runs = [
                    one_run(kind, asynchronous, seed, args.workers) for seed in range(args.repeats)
                ]
                rows.append(
                    {
                        "search": kind,
                        "schedule": "asynchronous (ASHA)" if asynchronous else "synchronous",
                        "median wall (s)": statistics.median(r["wall_s"] for r in runs),
                        "median busy (s)": statistics.median(r["busy_s"] for r in runs),
                        "median utilisation": statistics.median(r["utilisation"] for r in runs),
                    }
                )
    cols = ["search", "schedule", "median wall (s)", "median busy (s)", "median utilisation"]
    print(markdown_table(rows, cols))
    print("results:", save("asha_utilisation", {"workers": args.workers, "rows": rows}))


if __name__ == "__main__":
    main()
