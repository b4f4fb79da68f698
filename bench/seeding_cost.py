"""What scikeras' ``random_state`` costs a model's first fits (TensorFlow, CPU).

A ``KerasClassifier(random_state=...)`` runs every build and every ``fit`` inside
``scikeras.utils.random_state.tensorflow_random_state``: TensorFlow's global seed set
(which clears TensorFlow's kernel caches), op determinism switched on, both restored
afterwards. For ``--models`` new models of the canonical family (digits, widths varying
from model to model) this times a first ``fit`` of one epoch, then a promotion of two
more, under four contexts alternated in one process: none, the seed only, seed + op
determinism, and scikeras' own context. Medians over the models after the first two,
and each context's median ratio to none.

    python bench/seeding_cost.py --models 8
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from _common import markdown_table, save  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=8)
    args = parser.parse_args()

    import keras
    import numpy as np
    import tensorflow as tf
    from scikeras.utils.random_state import tensorflow_random_state
    from sklearn.datasets import load_digits
    from tensorflow.python.framework import config

    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype("float32")

    @contextlib.contextmanager
    def seed_only(seed):
        tf.random.set_seed(seed)
        try:
            yield
        finally:
            tf.random.set_seed(None)

    @contextlib.contextmanager
    def determinism(seed):
        tf.random.set_seed(seed)
        config.enable_op_determinism()  # needs a seed set
        try:
            yield
        finally:
            config.disable_op_determinism()
            tf.random.set_seed(None)

    contexts = {
        "none": lambda seed: contextlib.nullcontext(),
        "seed only": seed_only,
        "seed + op determinism": determinism,
        "scikeras tensorflow_random_state": tensorflow_random_state,
    }
    times: dict[str, list[float]] = {name: [] for name in contexts}
    for i in range(args.models):
        for name, ctx in contexts.items():
            model = keras.Sequential(
                [
                    keras.Input((64,)),
                    keras.layers.Dense(32 + i, activation="relu"),
                    keras.layers.Dense(10, activation="softmax"),
                ]
            )
            model.compile("adam", "sparse_categorical_crossentropy")
            t0 = time.perf_counter()
            for epochs in (1, 2):  # a first rung, then a promotion
                with ctx(0):
                    model.fit(X, y, epochs=epochs, batch_size=32, verbose=0)
            times[name].append(time.perf_counter() - t0)
    base = np.array(times["none"][2:])
    rows = [
        {
            "context": name,
            "first fits, 1 + 2 epochs (s)": statistics.median(ts[2:]),
            "ratio to none": float(np.median(np.array(ts[2:]) / base)),
        }
        for name, ts in times.items()
    ]
    print(markdown_table(rows, list(rows[0])))
    print("results:", save("seeding_cost", {"rows": rows, "times": times}))


if __name__ == "__main__":
    main()
