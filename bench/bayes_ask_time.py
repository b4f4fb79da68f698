"""Time of one GPSampler ask against the number of observations, in 7 dimensions.

The space is the canonical benchmark's (design notes, section 5): two integers, two
reals, a log-uniform real and two categoricals, 11 unit-cube coordinates. For each
number of observations n, a sampler is told n random observations of a smooth
synthetic score; its first ask fits the kernel from scratch ("cold"); then ``--steps``
rounds of tell(one point) + ask(1) are timed, as a search runs them. scikit-optimize's
``Optimizer`` is timed the same way when it is installed: it refits its GP in ``tell``
and has the next point ready for ``ask``, so the fair comparison is tell + ask.

    python bench/bayes_ask_time.py --steps 20 --skopt-steps 3
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
import warnings

from _common import markdown_table, save

from skhpo.samplers import GPSampler, RandomSampler

SPACE = {
    "nunits_1": (10, 100),
    "nunits_2": (10, 30),
    "dropout_1": (0.0, 0.9),
    "dropout_2": (0.0, 0.9),
    "optimizer": ["rmsprop", "adam"],
    "learning_rate": (1e-4, 1e-1, "log-uniform"),
    "batch_size": [32, 64, 128, 256],
}
NAMES = sorted(SPACE)


def score(p: dict) -> float:
    """A smooth synthetic validation accuracy, best near the middle of the space."""
    return (
        0.97
        - 0.05 * ((p["nunits_1"] - 60) / 90) ** 2
        - 0.03 * ((p["nunits_2"] - 20) / 20) ** 2
        - 0.05 * (p["dropout_1"] - 0.2) ** 2
        - 0.05 * (p["dropout_2"] - 0.4) ** 2
        - 0.01 * (p["optimizer"] == "rmsprop")
        - 0.04 * ((math.log10(p["learning_rate"]) + 2.5) / 1.5) ** 2
        - 0.005 * math.log2(p["batch_size"] / 32)
    )


def time_skhpo(n: int, steps: int) -> dict:
    sampler = GPSampler(SPACE, random_state=0)
    points = RandomSampler(SPACE, random_state=1).ask(n)
    sampler.tell(points, [score(p) for p in points])
    t0 = time.perf_counter()
    [p] = sampler.ask()
    cold = time.perf_counter() - t0
    asks, cycles = [], []
    for _ in range(steps):
        t0 = time.perf_counter()
        sampler.tell(p, score(p))
        t1 = time.perf_counter()
        [p] = sampler.ask()
        t2 = time.perf_counter()
        asks.append(t2 - t1)
        cycles.append(t2 - t0)
    return {
        "cold": cold,
        "ask_median": statistics.median(asks),
        "ask_mean": statistics.fmean(asks),
        "ask_max": max(asks),
        "cycle_median": statistics.median(cycles),
    }


def time_skopt(n: int, steps: int) -> dict | None:
    try:
        from skopt import Optimizer
        from skopt.space import Categorical, Integer, Real
    except ImportError:
        return None
    dims = {
        "nunits_1": Integer(10, 100),
        "nunits_2": Integer(10, 30),
        "dropout_1": Real(0.0, 0.9),
        "dropout_2": Real(0.0, 0.9),
        "optimizer": Categorical(["rmsprop", "adam"]),
        "learning_rate": Real(1e-4, 1e-1, prior="log-uniform"),
        "batch_size": Categorical([32, 64, 128, 256]),
    }
    opt = Optimizer([dims[k] for k in NAMES], n_initial_points=10, random_state=0)
    points = RandomSampler(SPACE, random_state=1).ask(n)
    opt.tell([[p[k] for k in NAMES] for p in points], [-score(p) for p in points])
    x = opt.ask()
    cycles = []
    for _ in range(steps):
        t0 = time.perf_counter()
        opt.tell(x, -score(dict(zip(NAMES, x, strict=True))))
        x = opt.ask()
        cycles.append(time.perf_counter() - t0)
    return {"cycle_median": statistics.median(cycles)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 25, 50, 100, 200])
    parser.add_argument("--steps", type=int, default=20, help="timed rounds per size (skhpo)")
    parser.add_argument("--skopt-steps", type=int, default=3, help="timed rounds (skopt)")
    parser.add_argument("--save", action="store_true", help="write bench/results/*.json")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rows = []
    for n in args.sizes:
        mine = time_skhpo(n, args.steps)
        theirs = time_skopt(n, args.skopt_steps)
        row = {
            "observations": n,
            "skhpo ask, median (s)": mine["ask_median"],
            "skhpo ask, mean (s)": mine["ask_mean"],
            "skhpo ask, max (s)": mine["ask_max"],
            "skhpo first ask, cold (s)": mine["cold"],
            "skhpo tell+ask, median (s)": mine["cycle_median"],
        }
        if theirs is not None:
            row["skopt tell+ask, median (s)"] = theirs["cycle_median"]
            row["skopt / skhpo"] = theirs["cycle_median"] / mine["cycle_median"]
        rows.append(row)
        print(f"n={n}: {row}", flush=True)
    print()
    print(markdown_table(rows, list(rows[0])))
    if args.save:
        print(save("bayes_ask_time", {"args": vars(args), "rows": rows}))


if __name__ == "__main__":
    main()
