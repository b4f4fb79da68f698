"""The canonical workload in-process and on LocalClusters of 1 and 2 worker processes.

The workload of ``make demo`` (digits, Keras MLP in a Pipeline, Hyperband max_iter=27,
eta=3, TensorFlow on the CPU), run in-process, on one dask worker with 2 threads, and on
two dask workers with 1 thread each. Reports the median wall time of ``--repeats`` runs,
epochs trained, best validation and test accuracy.

    python bench/dask_scaling.py --repeats 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

from _common import HERE, local_client, markdown_table, save

sys.path.insert(0, os.path.join(HERE, "..", "examples"))
import hyperband_keras_digits as demo  # noqa: E402
from run import load, run_skhpo  # noqa: E402


def one_run(scheduler=None) -> dict:
    """One search of the canonical workload, as bench/run.py runs it."""
    return run_skhpo(load(), 0, scheduler=scheduler)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    import cloudpickle

    cloudpickle.register_pickle_by_value(demo)
    rows = []
    configs = [
        ("in-process", None, None),
        ("1 worker x 2 threads", 1, 2),
        ("2 workers x 1 thread", 2, 1),
    ]
    for name, n_workers, threads in configs:
        if n_workers is None:
            runs = [one_run("in-process") for _ in range(args.repeats)]
        else:
            with local_client(n_workers, threads):
                runs = [one_run() for _ in range(args.repeats)]
        rows.append(
            {
                "executor": name,
                "median wall (s)": statistics.median(r["wall_s"] for r in runs),
                "epochs": runs[0]["epochs"],
                "best val acc": statistics.median(r["best_val"] for r in runs),
                "test acc": statistics.median(r["test"] for r in runs),
            }
        )
        print(rows[-1], flush=True)
    cols = ["executor", "median wall (s)", "epochs", "best val acc", "test acc"]
    print(markdown_table(rows, cols))
    print("results:", save("dask_scaling", {"repeats": args.repeats, "rows": rows}))


if __name__ == "__main__":
    main()
