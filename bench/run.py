"""The canonical benchmark (``make bench``): skhpo vs the floor vs keras-tuner.

Workload (design notes section 5): scikit-learn's digits split 60/20/20 (stratified,
``random_state=0``), features scaled to [0, 1], the Keras MLP and search space of
``examples/hyperband_keras_digits.py``, Hyperband with max_iter=27 epochs and eta=3,
TensorFlow on the CPU. In one invocation, for each repetition:

- skhpo ``HyperbandSearchCV`` in-process, synchronous and asynchronous, and on a
  LocalCluster of 2 single-threaded worker processes;
- with ``--processes N``, skhpo with ``scheduler="processes"`` and ``n_workers=N`` (the
  private cluster's start-up and close counted in its wall time);
- the floor: the configurations skhpo sampled, each built once and trained for exactly
  the epochs the search gave it, in a plain Keras loop (one ``fit`` call per model, no
  scoring, no search machinery); with the models seeded, a second floor runs each build
  and fit in scikeras' seeding context, as the seeded ``KerasClassifier`` does (TensorFlow
  op determinism: deterministic kernels, slower);
- keras-tuner's Hyperband (max_epochs=27, factor=3) over the same space, if installed,
  in a fresh process for each repetition (in one process it slowed down from one
  repetition to the next: 300 s, then 500 s, then more than 600 s).

Medians over ``--repeats`` and the ratios skhpo/floor and keras-tuner/skhpo are written
to ``bench/results/canonical.json`` and printed as a Markdown table.

    python bench/run.py --repeats 3
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from _common import HERE, child_rows, local_client, markdown_table, print_row, save  # noqa: E402

sys.path.insert(0, os.path.join(HERE, "..", "examples"))
import hyperband_keras_digits as demo  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import MinMaxScaler  # noqa: E402

from skhpo import HyperbandSearchCV  # noqa: E402

logging.getLogger("tensorflow").setLevel(logging.ERROR)


def load():
    X, y = load_digits(return_X_y=True)
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=0
    )
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=0.25, stratify=y_rest, random_state=0
    )
    return X_train, y_train, X_val, y_val, X_test, y_test


def run_skhpo(data, seed, *, seed_models=True, max_iter=27, **kw) -> tuple[dict, HyperbandSearchCV]:
    X_train, y_train, X_val, y_val, X_test, y_test = data
    model_seed = seed if seed_models else None
    search = HyperbandSearchCV(
        demo.make_estimator(model_seed), demo.SPACE, max_iter=max_iter, random_state=seed, **kw
    )
    t0 = time.perf_counter()
    search.fit(X_train, y_train, validation_data=(X_val, y_val))
    wall = time.perf_counter() - t0
    row = {
        "wall_s": wall,
        "epochs": int(search.cv_results_["partial_fit_calls"].sum()),
        "models": len(search.cv_results_["params"]),
        "best_val": search.best_score_,
        "test": search.score(X_test, y_test),
    }
    return row, search


def _short(params: dict) -> dict:
    return {k.split("__")[-1]: v for k, v in params.items()}


def build_compiled(p: dict, n_features: int, n_classes: int) -> keras.Model:
    meta = {"n_features_in_": n_features, "n_classes_": n_classes}
    model = demo.build_mlp(p["nunits_1"], p["nunits_2"], p["dropout_1"], p["dropout_2"], meta=meta)
    optimizer = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}
    model.compile(
        optimizer=optimizer[p["optimizer"]](learning_rate=p["learning_rate"]),
        loss="sparse_categorical_crossentropy",
    )
    return model


SYNC = "skhpo in-process, synchronous"
FLOOR = "floor (same configurations, plain Keras)"
PROCESSES = "skhpo, scheduler='processes'"
# The floor again, each build and fit in scikeras' seeding context (op determinism on),
# as the seeded KerasClassifier of the search runs them.
FLOOR_DET = "floor seeded like scikeras (op determinism)"


def run_floor(
    data, search: HyperbandSearchCV, seed: int | None, *, like_scikeras: bool = False
) -> dict:
    """The sampled configurations, each built once and trained its epochs in one call.

    Each model is seeded once (``keras.utils.set_random_seed``), unless ``seed`` is None.
    With ``like_scikeras``, its build and its ``fit`` run in scikeras' own seeding
    context, as a ``KerasClassifier(random_state=seed)`` runs them: TensorFlow's seed
    set and op determinism switched on (deterministic kernels), then both restored.
    """
    from scikeras.utils.random_state import tensorflow_random_state

    X_train, y_train = data[0], data[1]
    Xs = MinMaxScaler().fit_transform(X_train).astype("float32")
    res = search.cv_results_

    def ctx():
        return tensorflow_random_state(seed) if like_scikeras else contextlib.nullcontext()

    t0 = time.perf_counter()
    epochs = 0
    for params, n in zip(res["params"], res["partial_fit_calls"], strict=True):
        p = _short(params)
        if seed is not None:
            keras.utils.set_random_seed(seed)
        with ctx():
            model = build_compiled(p, Xs.shape[1], 10)
        with ctx():
            model.fit(Xs, y_train, epochs=int(n), batch_size=p["batch_size"], verbose=0)
        epochs += int(n)
    return {"wall_s": time.perf_counter() - t0, "epochs": epochs, "models": len(res["params"])}


def run_keras_tuner(data, seed, max_epochs=27, iterations=1) -> dict | None:
    """keras-tuner's Hyperband(max_epochs, factor=3, hyperband_iterations=iterations)."""
    try:
        import keras_tuner as kt
    except ImportError:
        return None
    X_train, y_train, X_val, y_val, X_test, y_test = data
    scaler = MinMaxScaler().fit(X_train)
    Xt, Xv, Xte = (scaler.transform(a).astype("float32") for a in (X_train, X_val, X_test))

    class MLP(kt.HyperModel):
        def build(self, hp):
            p = {
                "nunits_1": hp.Int("nunits_1", 10, 100),
                "nunits_2": hp.Int("nunits_2", 10, 30),
                "dropout_1": hp.Float("dropout_1", 0.0, 0.9),
                "dropout_2": hp.Float("dropout_2", 0.0, 0.9),
                "optimizer": hp.Choice("optimizer", ["rmsprop", "adam"]),
                "learning_rate": hp.Float("learning_rate", 1e-4, 1e-1, sampling="log"),
            }
            model = build_compiled(p, Xt.shape[1], 10)
            model.compile(optimizer=model.optimizer, loss=model.loss, metrics=["accuracy"])
            return model

        def fit(self, hp, model, *args, **kwargs):
            batch_size = hp.Choice("batch_size", [32, 64, 128, 256])
            return model.fit(*args, batch_size=batch_size, **kwargs)

    with tempfile.TemporaryDirectory() as tmp:
        tuner = kt.Hyperband(
            MLP(),
            objective="val_accuracy",
            max_epochs=max_epochs,
            factor=3,
            hyperband_iterations=iterations,
            seed=seed,
            directory=tmp,
            project_name="bench",
            overwrite=True,
        )
        t0 = time.perf_counter()
        tuner.search(Xt, y_train, validation_data=(Xv, y_val), verbose=0)
        wall = time.perf_counter() - t0
        trials = list(tuner.oracle.trials.values())
        epochs = sum(
            t.hyperparameters.values.get("tuner/epochs", 0)
            - t.hyperparameters.values.get("tuner/initial_epoch", 0)
            for t in trials
        )
        best_val = max(t.score for t in trials if t.score is not None)
        best = tuner.get_best_models(1)[0]
        test = float(np.mean(best.predict(Xte, verbose=0).argmax(axis=1) == y_test))
    keras.backend.clear_session()
    return {
        "wall_s": wall,
        "epochs": int(epochs),
        "models": len(trials),
        "best_val": best_val,
        "test": test,
    }


def run_keras_tuner_process(seed, max_epochs=27, iterations=1) -> dict | None:
    """:func:`run_keras_tuner` in a fresh Python process."""
    child = [str(v) for v in (seed, max_epochs, iterations)]
    rows = child_rows([__file__, "--keras-tuner-child", *child])
    return rows[0] if rows else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--no-keras-tuner", action="store_true")
    parser.add_argument("--no-async", action="store_true")
    parser.add_argument(
        "--processes",
        type=int,
        default=0,
        metavar="N",
        help="also run skhpo with scheduler='processes' and n_workers=N (its own worker "
        "processes, started and closed within fit: the start-up counts)",
    )
    parser.add_argument(
        "--sampler", default="random", help="skhpo's sampler: random (default) or bayes (BOHB)"
    )
    parser.add_argument(
        "--unseeded-models",
        action="store_true",
        help="KerasClassifier(random_state=None), and the floor's models unseeded: without "
        "scikeras' reseeding of TensorFlow at every build and fit call",
    )
    parser.add_argument("--keras-tuner-child", type=int, nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.keras_tuner_child is not None:
        print_row(run_keras_tuner(load(), *args.keras_tuner_child))
        return
    import cloudpickle

    cloudpickle.register_pickle_by_value(demo)
    data = load()
    runs: dict[str, list[dict]] = {}

    def add(name, row):
        if row is not None:
            runs.setdefault(name, []).append(row)
            print(name, {k: round(v, 4) for k, v in row.items()}, flush=True)

    for rep in range(args.repeats):
        seed = rep
        seeded = not args.unseeded_models
        kw = {"seed_models": seeded, "sampler": args.sampler}
        row, search = run_skhpo(data, seed, scheduler="in-process", **kw)
        add(SYNC, row)
        floor = run_floor(data, search, seed if seeded else None)
        add(FLOOR, floor)
        if seeded:
            add(FLOOR_DET, run_floor(data, search, seed, like_scikeras=True))
        if not args.no_async:
            add(
                "skhpo in-process, asynchronous",
                run_skhpo(data, seed, scheduler="in-process", asynchronous=True, **kw)[0],
            )
        if not args.no_keras_tuner:
            add("keras-tuner Hyperband", run_keras_tuner_process(seed))
        if args.processes:
            add(
                PROCESSES,
                run_skhpo(data, seed, scheduler="processes", n_workers=args.processes, **kw)[0],
            )
        if not args.no_dask:
            with local_client(2, 1):
                add(
                    "skhpo, LocalCluster 2 workers x 1 thread",
                    run_skhpo(data, seed, **kw)[0],
                )

    rows = []
    for name, rs in runs.items():
        row = {"run": name, "repeats": len(rs)}
        for key in ("wall_s", "epochs", "models", "best_val", "test"):
            if key in rs[0]:
                row[key] = statistics.median(r[key] for r in rs)
        rows.append(row)
    by = {r["run"]: r for r in rows}
    sk, floor = by[SYNC], by[FLOOR]

    def ratio(a: str, b: str) -> float:
        return statistics.median(
            x["wall_s"] / y["wall_s"] for x, y in zip(runs[a], runs[b], strict=True)
        )

    ratios = {"skhpo/floor (median of per-repeat ratios)": ratio(SYNC, FLOOR)}
    if PROCESSES in runs:
        ratios["processes/floor (median of per-repeat ratios)"] = ratio(PROCESSES, FLOOR)
        ratios["processes/in-process (median of per-repeat ratios)"] = ratio(PROCESSES, SYNC)
    if FLOOR_DET in runs:
        ratios["skhpo/floor seeded like scikeras (median of per-repeat ratios)"] = ratio(
            SYNC, FLOOR_DET
        )
    if "keras-tuner Hyperband" in runs:
        ratios["keras-tuner/skhpo (median of per-repeat ratios)"] = ratio(
            "keras-tuner Hyperband", SYNC
        )
    cols = ["run", "repeats", "wall_s", "epochs", "models", "best_val", "test"]
    print(markdown_table(rows, cols))
    for k, v in ratios.items():
        print(f"{k}: {v:.3f}")
    print(f"floor epochs {floor['epochs']} = skhpo epochs {sk['epochs']}")
    name = "canonical" + ("-unseeded" if args.unseeded_models else "")
    name += "" if args.sampler == "random" else f"-{args.sampler}"
    name += f"-processes{args.processes}" if args.processes else ""
    print("results:", save(name, {"rows": rows, "ratios": ratios, "runs": runs}))


if __name__ == "__main__":
    main()
