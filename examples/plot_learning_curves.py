"""Plot a Hyperband search: learning curves, scores per parameter and the plan.

A quick search (an ``SGDClassifier`` on scikit-learn's digits, ``max_iter=27`` epochs, 49
trials) whose three figures are saved as PNG files into ``--out`` (default
``examples/output/``)::

    python examples/plot_learning_curves.py --out /tmp/skhpo-plots

It needs matplotlib (``pip install 'skhpo[plot]'``) and takes a couple of seconds.
"""

from __future__ import annotations

import argparse
import os
import time

import matplotlib

matplotlib.use("Agg")  # write files; no window

import matplotlib.pyplot as plt  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import SGDClassifier  # noqa: E402

from skhpo import HyperbandSearchCV, Real  # noqa: E402
from skhpo.plot import plot_learning_curves, plot_parameter_scores, plot_plan  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(HERE, "output"), help="output folder")
    parser.add_argument("--max-iter", type=int, default=27, help="most epochs of a trial")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    X, y = load_digits(return_X_y=True)
    search = HyperbandSearchCV(
        SGDClassifier(random_state=0),
        {
            "alpha": Real(1e-6, 1e-1, log=True),
            "loss": ["hinge", "log_loss", "modified_huber"],
            "penalty": ["l2", "l1", "elasticnet"],
            "eta0": Real(1e-3, 1.0, log=True),
            "learning_rate": ["optimal", "constant", "adaptive"],
        },
        max_iter=args.max_iter,
        random_state=0,
    )
    start = time.perf_counter()
    search.fit(X / 16.0, y)
    print(
        f"{len(search.cv_results_['params'])} trials, "
        f"{search.metadata_['partial_fit_calls']} epochs in {time.perf_counter() - start:.1f} s; "
        f"best score {search.best_score_:.3f} with {search.best_params_}"
    )

    written = []
    for name, fig in [
        ("learning_curves.png", plot_learning_curves(search)),
        ("parameter_scores.png", plot_parameter_scores(search)),
        ("plan.png", plot_plan(search)),
    ]:
        path = os.path.join(args.out, name)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
        print("wrote", path)
    return written


if __name__ == "__main__":
    main()
