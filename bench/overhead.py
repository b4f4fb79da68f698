"""Per-task overhead of the search machinery, in-process and on a local dask cluster.

A trivial estimator (``partial_fit`` does nothing) is searched by successive halving
with ``n_initial_parameters=N`` and ``max_iter=1``: N tasks of one epoch each. The
overhead per task is the wall time divided by the number of tasks; the median of
``--repeats`` runs is reported.

    python bench/overhead.py --tasks 1000 --repeats 3

With ``--dashboard``, in-process only: the same search with and without a
:class:`skhpo.dashboard.DashboardCallback` writing to a fresh SQLite file, side by side;
the difference per task is what the mirror costs the search loop, and the callback's
``write_times_`` what each write costs its writer thread.

    python bench/overhead.py --tasks 100 --repeats 5 --dashboard --cost 0.05

(``--cost``: each epoch sleeps that long, as training would; 0 measures how fast the
writes go when the search outpaces them.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np
from _common import Trivial, local_client, markdown_table, save

from skhpo import SuccessiveHalvingSearchCV


def one_run(n_tasks: int, scheduler=None, callbacks=None, cost: float = 0.0) -> dict:
    X = np.zeros((40, 2))
    y = np.arange(40) % 2
    search = SuccessiveHalvingSearchCV(
        Trivial(cost=cost),
        {"a": (0.0, 1.0)},
        n_initial_parameters=n_tasks,
        n_initial_iter=1,
        max_iter=1,
        random_state=0,
        scheduler=scheduler,
        callbacks=callbacks,
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
    parser.add_argument("--dashboard", action="store_true")
    parser.add_argument("--cost", type=float, default=0.0, help="seconds per epoch (sleep)")
    args = parser.parse_args()
    if args.dashboard:
        return dashboard(args.tasks, args.repeats, args.cost)
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


def dashboard(n_tasks: int, repeats: int, cost: float) -> None:
    """The search loop's time per task with and without the mirror, interleaved runs."""
    from skhpo.dashboard import DashboardCallback

    class Timed(DashboardCallback):
        """The time the search loop spends in the events (queueing the writes)."""

        def on_trial_scored(self, *args):
            start = time.perf_counter()
            super().on_trial_scored(*args)
            events.append(time.perf_counter() - start)

        def on_trial_end(self, *args):
            start = time.perf_counter()
            super().on_trial_end(*args)
            events.append(time.perf_counter() - start)

    one_run(50, "in-process")  # imports
    plain, mirrored, writes, events, setups = [], [], [], [], []
    with tempfile.TemporaryDirectory() as folder:
        for k in range(repeats):
            plain.append(one_run(n_tasks, "in-process", cost=cost))
            cb = Timed(os.path.join(folder, f"dashboard-{k}.db"))
            mirrored.append(one_run(n_tasks, "in-process", callbacks=[cb], cost=cost))
            writes += cb.write_times_[1:]  # the first one creates the tables and the study
            setups.append(cb.write_times_[0])
    rows = [_summary("in-process", plain), _summary("in-process + DashboardCallback", mirrored)]
    rows[1]["writer ms per write (median)"] = 1000 * statistics.median(writes)
    rows[1]["loop ms per event (median)"] = 1000 * statistics.median(events)
    rows[1]["setup s (median)"] = statistics.median(setups)
    added = rows[1]["median wall (s)"] - rows[0]["median wall (s)"] - rows[1]["setup s (median)"]
    rows[1]["added ms per task, setup excluded"] = 1000 * added / n_tasks
    columns = ["executor", "tasks", "median wall (s)", "ms per task"]
    columns += ["loop ms per event (median)", "writer ms per write (median)"]
    columns += ["setup s (median)", "added ms per task, setup excluded"]
    print(markdown_table(rows, columns))
    print(
        "each task is one score and one trial's end here: the search loop pays the events, "
        "and waits at the end of fit for the writes it outpaced"
    )
    print("results:", save("overhead_dashboard", {"tasks": n_tasks, "rows": rows}))


def _summary(name: str, runs: list[dict]) -> dict:
    return {
        "executor": name,
        "tasks": runs[0]["tasks"],
        "median wall (s)": statistics.median(r["wall_s"] for r in runs),
        "ms per task": statistics.median(r["ms_per_task"] for r in runs),
    }


if __name__ == "__main__":
    main()
