"""Per-model fixed costs of the canonical MLP, per Keras backend on the CPU.

Hyperband trains many models for one to three epochs, so what a model costs before its
first useful epoch decides the wall time (design notes, section 2). For each backend
(one fresh process each: Keras picks its backend at import) this builds ``--models``
models of the canonical family (digits, widths varying from model to model) and times:

- build + compile: ``keras.Sequential(...)`` and ``compile``;
- first epoch: the first ``fit`` call of one epoch (traces or compiles the train step);
- warm epoch: one epoch inside a later ``fit`` call of 3 epochs (the per-epoch cost);
- fit call overhead: a later ``fit`` call of one epoch minus a warm epoch (what a
  promotion costs when each epoch is its own call: skhpo makes one call per promotion);
- ``Model.predict``: its first call on the 360 validation rows (traces a predict
  function), and ``model(x, training=False)`` over the same batches (what skhpo's
  scoring calls).

With JAX, a second process runs with the persistent compilation cache warm (the same
architectures were compiled by the first process into ``--jax-cache``), as skhpo's dask
workers can share one cache directory. Medians over the models after the first, and the
first model of each process on its own (it pays the process's warm-up).

    python bench/fixed_costs.py --models 6
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

from _common import HERE, child_rows, markdown_table, print_row, save

WIDTHS = [(64, 20), (32, 16), (96, 30), (48, 12), (80, 24), (16, 10), (56, 18), (24, 28)]
KEYS = [
    "build_compile",
    "first_epoch",
    "warm_epoch",
    "fit_call_overhead",
    "predict_first",
    "direct_call",
]


def child(n_models: int) -> None:
    """Runs in the backend's own process; prints one JSON line per model."""
    import keras
    import numpy as np

    sys.path.insert(0, HERE)
    from run import load

    X_train, y_train, X_val, _, _, _ = load()
    X_train = (X_train / 16.0).astype("float32")
    X_val = (X_val / 16.0).astype("float32")
    for i in range(n_models):
        n1, n2 = WIDTHS[i % len(WIDTHS)]
        t0 = time.perf_counter()
        model = keras.Sequential(
            [
                keras.Input((64,)),
                keras.layers.Dense(n1, activation="relu"),
                keras.layers.Dropout(0.2),
                keras.layers.Dense(n2, activation="relu"),
                keras.layers.Dropout(0.2),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        t1 = time.perf_counter()
        model.fit(X_train, y_train, batch_size=64, epochs=1, verbose=0)
        t2 = time.perf_counter()
        model.fit(X_train, y_train, batch_size=64, initial_epoch=1, epochs=4, verbose=0)
        t3 = time.perf_counter()
        model.fit(X_train, y_train, batch_size=64, initial_epoch=4, epochs=5, verbose=0)
        t4 = time.perf_counter()
        model.predict(X_val, batch_size=64, verbose=0)
        t5 = time.perf_counter()
        np.concatenate(
            [
                keras.ops.convert_to_numpy(model(X_val[j : j + 64], training=False))
                for j in range(0, len(X_val), 64)
            ]
        )
        t6 = time.perf_counter()
        warm = (t3 - t2) / 3
        row = {
            "build_compile": t1 - t0,
            "first_epoch": t2 - t1,
            "warm_epoch": warm,
            "fit_call_overhead": (t4 - t3) - warm,
            "predict_first": t5 - t4,
            "direct_call": t6 - t5,
        }
        print_row(row)


def measure(backend: str, n_models: int, env: dict) -> list[dict] | None:
    env = {**os.environ, **env, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return child_rows([__file__, "--child", "--models", str(n_models)], env)


def summarise(name: str, rows: list[dict]) -> list[dict]:
    first = {"run": f"{name}: first model in the process", **rows[0]}
    rest = {"run": f"{name}: median of the next {len(rows) - 1}"}
    for key in KEYS:
        rest[key] = statistics.median(r[key] for r in rows[1:])
    return [first, rest]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=6)
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax"])
    parser.add_argument("--jax-cache", default=None, help="a fresh temporary folder if unset")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.models)
        return
    table = []
    for backend in args.backends:
        if backend != "jax":
            rows = measure(backend, args.models, {})
            if rows:
                table += summarise(backend, rows)
            continue
        with tempfile.TemporaryDirectory() as tmp:
            cache = {
                "JAX_COMPILATION_CACHE_DIR": args.jax_cache or tmp,
                # cache every compilation, however quick: the step functions are small here
                "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
                "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "-1",
            }
            for label in ("jax, cold compilation cache", "jax, warm compilation cache"):
                rows = measure(backend, args.models, cache)
                if rows:
                    table += summarise(label, rows)
    print(markdown_table(table, ["run", *KEYS]))
    print("results:", save("fixed_costs", {"models": args.models, "rows": table}))


if __name__ == "__main__":
    main()
