"""k-fold cross-validation inside Hyperband against the hold-out search, on the canonical workload.

Workload (design notes section 5, as ``bench/run.py``): scikit-learn's digits split
60/20/20 (stratified, ``random_state=0``), the Keras MLP and search space of
``examples/hyperband_keras_digits.py``, Hyperband with max_iter=27 epochs and eta=3,
TensorFlow on the CPU. For each seed, side by side, each run in a fresh process:

- hold-out: the search trains on the 60 % and scores on the 20 % validation split;
- ``cv=3``: the search runs 3-fold cross-validation on the same 80 % (train and
  validation together) and refits the best parameters on all of it;
- ``cv=3`` with ``fold_rejection=True``.

Each reports its wall time and its process's CPU time (all threads; refit included),
the fold epochs trained, the best parameters and the accuracy of its best model on the
remaining 20 % test split. Medians and the per-seed ratios (cv / hold-out) go to
``bench/results/cv.json``. On a machine shared with other work the wall ratio follows
the load; the CPU-time ratio much less so.

    python bench/cv.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from _common import child_rows, markdown_table, print_row, save  # noqa: E402
from run import demo, load, run_skhpo  # noqa: E402

from skhpo import HyperbandSearchCV  # noqa: E402

HOLDOUT = "hold-out"
CV = "cv=3"
CV_REJECT = "cv=3, fold_rejection"


def run_cv(data, seed: int, *, fold_rejection: bool) -> dict:
    import numpy as np

    X_train, y_train, X_val, y_val, X_test, y_test = data
    X = np.concatenate([X_train, X_val])
    y = np.concatenate([y_train, y_val])
    search = HyperbandSearchCV(
        demo.make_estimator(seed),
        demo.SPACE,
        max_iter=27,
        random_state=seed,
        cv=3,
        fold_rejection=fold_rejection,
    )
    t0, c0 = time.perf_counter(), time.process_time()
    search.fit(X, y)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    res = search.cv_results_
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "epochs": int(search.search_stats_["fold_epochs"]),
        "models": len(res["params"]),
        "rejected": int(np.sum(res["rejected"])),
        "best_val": float(search.best_score_),
        "test": float(search.score(X_test, y_test)),
        "best_params": json.dumps(search.best_params_, sort_keys=True, default=str),
    }


def child(kind: str, seed: int) -> None:
    data = load()
    if kind == HOLDOUT:
        c0 = time.process_time()
        row, search = run_skhpo(data, seed, scheduler="in-process")
        row["cpu_s"] = time.process_time() - c0
        row["best_params"] = json.dumps(search.best_params_, sort_keys=True, default=str)
    else:
        row = run_cv(data, seed, fold_rejection=kind == CV_REJECT)
    print_row(row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--no-fold-rejection", action="store_true")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    kinds = [HOLDOUT, CV] + ([] if args.no_fold_rejection else [CV_REJECT])
    runs: dict[str, list[dict]] = {k: [] for k in kinds}
    for seed in args.seeds:
        for kind in kinds:
            rows = child_rows([__file__, "--child", kind, str(seed)])
            if rows is None:
                sys.exit(f"{kind}, seed {seed} failed")
            row = {"seed": seed, **rows[0]}
            runs[kind].append(row)
            print(kind, row, flush=True)
    table = []
    for kind, rs in runs.items():
        row = {"run": kind, "seeds": len(rs)}
        for key in ("wall_s", "cpu_s", "epochs", "best_val", "test"):
            row[key] = statistics.median(r[key] for r in rs)
        row["tests"] = " / ".join(f"{r['test']:.4f}" for r in rs)
        if kind != HOLDOUT:
            for key, label in (("wall_s", "wall / hold-out"), ("cpu_s", "cpu / hold-out")):
                row[label] = statistics.median(
                    r[key] / h[key] for r, h in zip(rs, runs[HOLDOUT], strict=True)
                )
            row["same best as hold-out"] = sum(
                r["best_params"] == h["best_params"] for r, h in zip(rs, runs[HOLDOUT], strict=True)
            )
        table.append(row)
    cols = ["run", "seeds", "wall_s", "wall / hold-out", "cpu_s", "cpu / hold-out", "epochs"]
    cols += ["best_val", "test", "tests"]
    cols.append("same best as hold-out")
    print(markdown_table(table, cols))
    print("results:", save("cv", {"rows": table, "runs": runs}))


if __name__ == "__main__":
    main()
