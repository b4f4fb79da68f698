"""Tune a Keras MLP on scikit-learn's digits with Hyperband (``make demo``).

The workload of the project's benchmarks: digits split 60/20/20 (train / validation /
test, stratified, ``random_state=0``), a Pipeline that scales the features to [0, 1] and
trains a two-hidden-layer MLP through scikeras, Hyperband with ``max_iter=27`` epochs and
``aggressiveness=3`` (49 models, 357 epochs). It prints the plan, the ten best trials,
the best parameters and the test accuracy of the best model.

Run it with ``python examples/hyperband_keras_digits.py``; ``--max-iter 9`` is quicker.
"""

from __future__ import annotations

import argparse
import logging
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow warns about retracing each time a new model predicts: expected here.
logging.getLogger("tensorflow").setLevel(logging.ERROR)

import keras  # noqa: E402
from scikeras.wrappers import KerasClassifier  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import MinMaxScaler  # noqa: E402

from skhpo import Categorical, HyperbandSearchCV, Integer, Real  # noqa: E402


def build_mlp(nunits_1=64, nunits_2=20, dropout_1=0.2, dropout_2=0.2, meta=None):
    """Dense -> Dropout -> Dense -> Dropout -> softmax; scikeras compiles it."""
    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(nunits_1, activation="relu"),
            keras.layers.Dropout(dropout_1),
            keras.layers.Dense(nunits_2, activation="relu"),
            keras.layers.Dropout(dropout_2),
            keras.layers.Dense(meta["n_classes_"], activation="softmax"),
        ]
    )


SPACE = {
    "kerasclassifier__model__nunits_1": Integer(10, 100),
    "kerasclassifier__model__nunits_2": Integer(10, 30),
    "kerasclassifier__model__dropout_1": Real(0.0, 0.9),
    "kerasclassifier__model__dropout_2": Real(0.0, 0.9),
    "kerasclassifier__optimizer": Categorical(["rmsprop", "adam"]),
    "kerasclassifier__optimizer__learning_rate": Real(1e-4, 1e-1, log=True),
    "kerasclassifier__batch_size": Categorical([32, 64, 128, 256]),
}


def make_estimator(seed: int | None = 0):
    """MinMaxScaler, then the MLP through scikeras (seeded with ``seed`` unless None)."""
    return make_pipeline(
        MinMaxScaler(),
        KerasClassifier(
            build_mlp, loss="sparse_categorical_crossentropy", verbose=0, random_state=seed
        ),
    )


def main(max_iter: int = 27, seed: int = 0, out: str | None = None) -> HyperbandSearchCV:
    X, y = load_digits(return_X_y=True)
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=0
    )
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=0.25, stratify=y_rest, random_state=0
    )
    search = HyperbandSearchCV(
        make_estimator(seed), SPACE, max_iter=max_iter, aggressiveness=3, random_state=seed
    )

    plan = search.metadata
    print(f"Plan: {plan['n_models']} models, {plan['partial_fit_calls']} epochs")
    for b in plan["brackets"]:
        rungs = ", ".join(f"{n} x {e} ep" for n, e in b["rungs"])
        print(f"  bracket {b['bracket']}: {rungs}")

    t0 = time.perf_counter()
    search.fit(X_train, y_train, validation_data=(X_val, y_val))
    wall = time.perf_counter() - t0

    res = search.cv_results_
    order = res["rank_test_score"].argsort(kind="stable")[:10]
    short = {k: k.split("__")[-1] for k in SPACE}
    print("\nTen best trials (validation accuracy):")
    print(f"{'rank':>4} {'model_id':<13} {'epochs':>6} {'score':>6}  parameters")
    for i in order:
        params = ", ".join(f"{short[k]}={_fmt(v)}" for k, v in sorted(res["params"][i].items()))
        print(
            f"{res['rank_test_score'][i]:>4} {res['model_id'][i]:<13} "
            f"{res['partial_fit_calls'][i]:>6} {res['test_score'][i]:>6.3f}  {params}"
        )
    print("\nBest parameters:")
    for k, v in sorted(search.best_params_.items()):
        print(f"  {k} = {_fmt(v)}")
    test_acc = search.score(X_test, y_test)
    print(
        f"\nWall time {wall:.1f} s, {int(res['partial_fit_calls'].sum())} epochs trained, "
        f"{len(res['params'])} models"
    )
    print(f"Best validation accuracy {search.best_score_:.4f}, test accuracy {test_acc:.4f}")
    if out:
        save_learning_curves(search, out)
    return search


def save_learning_curves(search: HyperbandSearchCV, out: str) -> None:
    """Save the learning curves of every trial as a PNG (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from skhpo.plot import plot_learning_curves
    except ImportError as exc:
        print(f"Not saving {out}: {exc}")
        return
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    plot_learning_curves(search).savefig(out, dpi=120)
    print(f"Learning curves saved to {out}")


def _fmt(v):
    return f"{v:.3g}" if isinstance(v, float) else str(v)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-iter", type=int, default=27)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out",
        default=os.path.join("examples", "output", "learning_curves.png"),
        help="where to save the learning curves ('' to skip)",
    )
    args = parser.parse_args()
    main(args.max_iter, args.seed, args.out)
