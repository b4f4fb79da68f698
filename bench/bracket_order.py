"""How early Hyperband has a fully trained model: the order its brackets run in.

A fake ``partial_fit`` estimator with a known learning curve (``tests/fakes.py``'s
``CurveClassifier``: score ``-(a - 0.3)**2 - 1 / (1 + epochs)``, ``a`` uniform on
[0, 1]) is searched in-process by :class:`~skhpo.HyperbandSearchCV` with
``aggressiveness=3``. From ``history_`` (in the order the tasks ran) it reports, per
``max_iter``, the median over ``--seeds`` seeds of:

- the epochs spent (all trials together) when the first trial reaches ``max_iter``
  epochs, in epochs and in full trainings (``max_iter`` epochs each);
- the best score of a trial trained ``max_iter`` epochs once ``5 * max_iter`` epochs
  were spent (NaN when none was), and its regret to the best possible score
  ``-1 / (1 + max_iter)``.

    python bench/bracket_order.py --seeds 10
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys

import numpy as np
from _common import markdown_table, save

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from fakes import CurveClassifier  # noqa: E402

from skhpo import HyperbandSearchCV  # noqa: E402


def anytime(history: list[dict], max_iter: int, budget: int) -> tuple[int | None, float]:
    """Epochs spent when a trial first reaches ``max_iter``; best such score by ``budget``."""
    done: dict[str, int] = {}
    spent, first, best = 0, None, -math.inf
    for rec in history:
        epochs = rec["partial_fit_calls"]
        spent += epochs - done.get(rec["model_id"], 0)
        done[rec["model_id"]] = epochs
        if epochs == max_iter:
            if first is None:
                first = spent
            if spent <= budget:
                best = max(best, rec["score"])
    return first, (best if best > -math.inf else math.nan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--max-iter", type=int, nargs="+", default=[81, 100])
    args = parser.parse_args()
    X, y = np.zeros((20, 1)), np.arange(20) % 2
    rows = []
    for max_iter in args.max_iter:
        firsts, bests = [], []
        for seed in range(args.seeds):
            search = HyperbandSearchCV(
                CurveClassifier(), {"a": (0.0, 1.0)}, max_iter=max_iter, random_state=seed
            ).fit(X, y)
            first, best = anytime(search.history_, max_iter, 5 * max_iter)
            firsts.append(first)
            bests.append(best)
        optimum = -1 / (1 + max_iter)
        first = statistics.median(firsts)
        best = statistics.median(bests)
        rows.append(
            {
                "max_iter": max_iter,
                "epochs to first full training": f"{first:g} ({first / max_iter:.2f} trainings)",
                "best full-fidelity score at 5 trainings": f"{best:.4f}",
                "regret": f"{optimum - best:.4f}",
            }
        )
    columns = list(rows[0])
    print(markdown_table(rows, columns))
    save("bracket_order", {"seeds": args.seeds, "rows": rows})


if __name__ == "__main__":
    main()
