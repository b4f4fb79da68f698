"""Tune a small Conv2D network on the digits images with Hyperband and 3-fold CV.

scikit-learn's digits are 8x8 grey images. The search space has a quantized filter count
(``Integer(8, 32, step=8)``), a second convolution block that exists only when
``n_blocks`` is 2 (its filters are a conditional parameter, ``when={"n_blocks": 2}``),
and a learning rate on a log scale. Every trial is scored by 3-fold cross-validation:
it trains three models in lockstep, one per fold, each scored with two metrics, accuracy
and macro F1. Their means over the folds are the trial's scores; the mean accuracy
(``refit="accuracy"``) ranks the trials and decides the promotions. The best
configuration is then refitted on all the training data and scored on held-out test
images, with both metrics.

Run it with ``python examples/conv2d_digits_cv.py``; ``--max-iter 3`` is quicker.
"""

from __future__ import annotations

import argparse
import logging
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
logging.getLogger("tensorflow").setLevel(logging.ERROR)

import keras  # noqa: E402
import numpy as np  # noqa: E402
from scikeras.wrappers import KerasClassifier  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.metrics import accuracy_score, f1_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from skhpo import Categorical, HyperbandSearchCV, Integer, Real  # noqa: E402


def build_cnn(n_blocks=1, filters_1=16, filters_2=16, meta=None):
    """One or two Conv2D(3x3) blocks on the 8x8 image, then a softmax over the classes.

    ``filters_2`` is only set by the search when ``n_blocks`` is 2; otherwise it keeps
    this default and is not used.
    """
    layers = [
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(filters_1, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
    ]
    if n_blocks == 2:
        layers += [
            keras.layers.Conv2D(filters_2, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
        ]
    layers += [keras.layers.Flatten(), keras.layers.Dense(meta["n_classes_"], activation="softmax")]
    return keras.Sequential(layers)


def accuracy_and_f1(estimator, X, y):
    """Both metrics from one prediction pass (a callable ``scoring`` may return a dict,
    as in scikit-learn)."""
    predicted = estimator.predict(X)
    return {
        "accuracy": accuracy_score(y, predicted),
        "f1": f1_score(y, predicted, average="macro"),
    }


SPACE = {
    "model__n_blocks": Categorical([1, 2]),
    "model__filters_1": Integer(8, 32, step=8),
    "model__filters_2": Integer(8, 32, step=8, when={"model__n_blocks": 2}),
    "optimizer__learning_rate": Real(1e-3, 3e-2, log=True),
    "batch_size": Categorical([32, 64]),
}


def main(max_iter: int = 9, seed: int = 0) -> HyperbandSearchCV:
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).reshape(-1, 8, 8, 1).astype("float32")  # images, values in [0, 1]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=0
    )
    clf = KerasClassifier(
        build_cnn,
        loss="sparse_categorical_crossentropy",
        optimizer="adam",
        verbose=0,
        random_state=seed,
    )
    search = HyperbandSearchCV(
        clf,
        SPACE,
        max_iter=max_iter,
        cv=3,
        scoring=accuracy_and_f1,
        refit="accuracy",
        random_state=seed,
    )
    t0 = time.perf_counter()
    search.fit(X_train, y_train)
    wall = time.perf_counter() - t0

    res = search.cv_results_
    print(f"{len(res['params'])} trials, {search.n_splits_} folds each, {wall:.1f} s")
    print(f"{'rank':>4} {'epochs':>6} {'CV accuracy':>14} {'CV macro F1':>14}  parameters")
    for i in np.argsort(res["rank_test_accuracy"], kind="stable")[:5]:
        params = ", ".join(f"{k.split('__')[-1]}={v}" for k, v in sorted(res["params"][i].items()))
        print(
            f"{res['rank_test_accuracy'][i]:>4} {res['partial_fit_calls'][i]:>6} "
            f"{res['mean_test_accuracy'][i]:.3f} +- {res['std_test_accuracy'][i]:.3f} "
            f"{res['mean_test_f1'][i]:.3f} +- {res['std_test_f1'][i]:.3f}  {params}"
        )
    print(f"Best parameters: {search.best_params_}")
    test = accuracy_and_f1(search.best_estimator_, X_test, y_test)
    print(
        f"Best mean CV accuracy {search.best_score_:.4f} "
        f"(CV macro F1 {res['mean_test_f1'][search.best_index_]:.4f}), "
        f"test accuracy {test['accuracy']:.4f}, test macro F1 {test['f1']:.4f}"
    )
    return search


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-iter", type=int, default=9)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(args.max_iter, args.seed)
