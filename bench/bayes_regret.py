"""Best value found after 30 evaluations: BayesSearchCV against random search (and skopt).

Two synthetic test functions to minimise are wrapped as estimators whose ``score`` is
minus the function at their parameters (``fit`` does nothing), so every search runs its
real code path (``BaseSearchCV``, one train/test split). Branin (2-D, minimum 0.397887)
and Hartmann-6 (6-D on the unit cube, minimum -3.32237). For each of ``--seeds`` seeds:
skhpo's BayesSearchCV, scikit-learn's RandomizedSearchCV over the same box, and
scikit-optimize's BayesSearchCV when it is installed, ``--n-iter`` evaluations each
(10 random, then the model, for both Bayesian searches). The table gives the median
over seeds of the best value found (lower is better), the quartiles, and the median
wall time of one search.

    python bench/bayes_regret.py --seeds 10 --n-iter 30
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
import warnings

import numpy as np
from _common import markdown_table, save
from scipy.stats import uniform
from sklearn.base import BaseEstimator
from sklearn.model_selection import RandomizedSearchCV

from skhpo.bayes import BayesSearchCV

X = np.zeros((20, 1))
CV = [(np.arange(10), np.arange(10, 20))]  # one split: the score does not depend on data


class Branin(BaseEstimator):
    """Scores minus the Branin function at (x1, x2)."""

    def __init__(self, x1=0.0, x2=0.0):
        self.x1 = x1
        self.x2 = x2

    def fit(self, X, y=None):
        return self

    def score(self, X, y=None):
        x1, x2 = self.x1, self.x2
        b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
        return -((x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10)


_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


class Hartmann6(BaseEstimator):
    """Scores minus the Hartmann-6 function at (x0, ..., x5)."""

    def __init__(self, x0=0.5, x1=0.5, x2=0.5, x3=0.5, x4=0.5, x5=0.5):
        self.x0, self.x1, self.x2, self.x3, self.x4, self.x5 = x0, x1, x2, x3, x4, x5

    def fit(self, X, y=None):
        return self

    def score(self, X, y=None):
        x = np.array([self.x0, self.x1, self.x2, self.x3, self.x4, self.x5])
        return float(np.sum(_ALPHA * np.exp(-np.sum(_A * (x - _P) ** 2, axis=1))))


PROBLEMS = {
    "Branin": (Branin, {"x1": (-5.0, 10.0), "x2": (0.0, 15.0)}, 0.397887),
    "Hartmann-6": (Hartmann6, {f"x{i}": (0.0, 1.0) for i in range(6)}, -3.32237),
}


def run_skhpo(estimator, box, n_iter, seed):
    search = BayesSearchCV(estimator, box, n_iter=n_iter, cv=CV, random_state=seed)
    return -search.fit(X).best_score_


def run_random(estimator, box, n_iter, seed):
    dists = {k: uniform(lo, hi - lo) for k, (lo, hi) in box.items()}
    search = RandomizedSearchCV(estimator, dists, n_iter=n_iter, cv=CV, random_state=seed)
    return -search.fit(X).best_score_


def run_skopt(estimator, box, n_iter, seed):
    from skopt import BayesSearchCV as SkoptBayesSearchCV

    search = SkoptBayesSearchCV(estimator, box, n_iter=n_iter, cv=CV, random_state=seed)
    return -search.fit(X).best_score_


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--n-iter", type=int, default=30)
    parser.add_argument("--no-skopt", action="store_true")
    parser.add_argument("--save", action="store_true", help="write bench/results/*.json")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    methods = {"skhpo BayesSearchCV": run_skhpo, "random search": run_random}
    if not args.no_skopt:
        try:
            import skopt  # noqa: F401

            methods["skopt BayesSearchCV"] = run_skopt
        except ImportError:
            print("scikit-optimize is not installed: comparing with random search only")
    rows, raw = [], {}
    for problem, (cls, box, optimum) in PROBLEMS.items():
        for method, run in methods.items():
            values, times = [], []
            for seed in range(args.seeds):
                t0 = time.perf_counter()
                values.append(float(run(cls(), box, args.n_iter, seed)))
                times.append(time.perf_counter() - t0)
            q1, med, q3 = np.percentile(values, [25, 50, 75])
            raw[f"{problem} / {method}"] = values
            rows.append(
                {
                    "function": problem,
                    "optimum": optimum,
                    "search": method,
                    "median best": med,
                    "quartiles": f"{q1:.4g} .. {q3:.4g}",
                    "wall time per search (s)": statistics.median(times),
                }
            )
            print(rows[-1], flush=True)
    print()
    print(f"{args.n_iter} evaluations, {args.seeds} seeds; lower is better")
    print(markdown_table(rows, list(rows[0])))
    if args.save:
        print(save("bayes_regret", {"args": vars(args), "rows": rows, "values": raw}))


if __name__ == "__main__":
    main()
