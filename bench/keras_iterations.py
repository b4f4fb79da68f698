"""Several Hyperband iterations on the canonical workload: skhpo model-based, random, keras-tuner.

The workload of ``bench/run.py`` (design notes section 5: digits split 60/20/20, the
Keras MLP and space of ``examples/hyperband_keras_digits.py``, TensorFlow on the CPU)
with a budget of 3 Hyperband iterations of max_iter=27 epochs, eta=3, for each seed:

- skhpo ``HyperbandSearchCV(n_iterations=3, sampler="bayes")``: BOHB, its GPSampler
  learning across the iterations;
- skhpo ``HyperbandSearchCV(n_iterations=3)``: random sampling;
- keras-tuner ``Hyperband(max_epochs=27, factor=3, hyperband_iterations=3)``, if
  installed, in a fresh process (as ``bench/run.py`` runs it).

Per run: the best validation accuracy, the test accuracy (the 20 % held out) of the
best model (skhpo's ``best_estimator_``, keras-tuner's ``get_best_models``), the wall
time and the epochs trained (a resumed model counts only its new epochs). A Markdown
table of the medians over the seeds is printed, and the runs are written to
``bench/results/keras_iterations.json``.

    python bench/keras_iterations.py --seeds 3
    python bench/keras_iterations.py --seeds 1 --quick   # max_iter=3: a smoke test
"""

from __future__ import annotations

import argparse
import statistics

import run as canonical  # the canonical workload (sets TensorFlow's log level first)
from _common import markdown_table, save

ITERATIONS = 3
COLUMNS = ("best_val", "test", "wall_s", "epochs", "models")


def run_method(method: str, data, seed: int, max_iter: int) -> dict | None:
    if method == "keras-tuner Hyperband":
        return canonical.run_keras_tuner_process(seed, max_iter, ITERATIONS)
    sampler = "bayes" if method == "skhpo bayes" else "random"
    row, _ = canonical.run_skhpo(
        data,
        seed,
        max_iter=max_iter,
        n_iterations=ITERATIONS,
        sampler=sampler,
        scheduler="in-process",
    )
    return row


METHODS = ("skhpo bayes", "skhpo random", "keras-tuner Hyperband")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0, 1, ...")
    parser.add_argument("--quick", action="store_true", help="max_iter=3 (a smoke test)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    args = parser.parse_args()
    max_iter = 3 if args.quick else 27
    data = canonical.load()
    runs: dict[str, list[dict]] = {}
    for seed in range(args.seeds):
        for method in args.methods:
            row = run_method(method, data, seed, max_iter)
            if row is None:  # keras-tuner missing, or its process failed
                print(f"{method}: not run (is keras-tuner installed?)", flush=True)
                continue
            runs.setdefault(method, []).append({"seed": seed, **row})
            print(method, {k: round(v, 4) for k, v in row.items()}, flush=True)
    rows = []
    for method, rs in runs.items():
        row = {"method": method, "seeds": len(rs)}
        row.update({k: statistics.median(r[k] for r in rs) for k in COLUMNS})
        rows.append(row)
    print(f"\nmax_iter={max_iter}, eta=3, {ITERATIONS} iterations; medians over the seeds\n")
    print(markdown_table(rows, ["method", "seeds", *COLUMNS]))
    payload = {"max_iter": max_iter, "iterations": ITERATIONS, "rows": rows, "runs": runs}
    print("results:", save("keras_iterations" + ("-quick" if args.quick else ""), payload))


if __name__ == "__main__":
    main()
