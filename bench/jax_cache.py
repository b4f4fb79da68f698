"""The canonical workload on Keras' JAX backend, cold and warm compilation cache.

Workload: ``bench/run.py``'s (digits 60/20/20, the demo's MLP and space, Hyperband
max_iter=27, eta=3, in-process), each run in a fresh process, side by side:

- TensorFlow: skhpo's search and the floor (the same configurations in a plain Keras
  loop, ``bench/run.py``'s ``run_floor``);
- JAX with skhpo's persistent compilation cache in a fresh folder (cold), then the same
  search again (warm: every program was compiled by the first run), then a search with
  another seed over the same cache (other configurations: what a new search finds there).

JAX's compilation-cache events give the hit rate: cache hits over compile requests
that used the cache. Walls are compared with the TensorFlow floor of the same run.

    python bench/jax_cache.py --seed 0
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from _common import child_rows, markdown_table, print_row, save  # noqa: E402


def child(kind: str, seed: int) -> None:
    events: dict[str, int] = {}
    if kind == "jax":
        import jax

        jax.monitoring.register_event_listener(
            lambda event, **kw: events.__setitem__(event, events.get(event, 0) + 1)
        )
    from run import load, run_floor, run_skhpo

    data = load()
    row, search = run_skhpo(data, seed, scheduler="in-process")
    if kind == "tensorflow":
        row["floor_s"] = run_floor(data, search, seed)["wall_s"]
    else:
        requests = events.get("/jax/compilation_cache/compile_requests_use_cache", 0)
        row["cache_hits"] = events.get("/jax/compilation_cache/cache_hits", 0)
        row["cache_requests"] = requests
    print_row(row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        runs = [
            ("tensorflow", "tensorflow", args.seed),
            ("jax, cold cache", "jax", args.seed),
            ("jax, warm cache (same search again)", "jax", args.seed),
            ("jax, cache of another search", "jax", args.seed + 1),
        ]
        floor = None
        for label, backend, seed in runs:
            env = dict(os.environ, KERAS_BACKEND=backend, SKHPO_JAX_CACHE_DIR=cache)
            got = child_rows([__file__, "--child", backend, str(seed)], env=env)
            if got is None:
                sys.exit(f"{label} failed")
            row = {"run": label, "seed": seed, **got[0]}
            floor = row.get("floor_s", floor)
            row["wall / TF floor"] = row["wall_s"] / floor
            if "cache_requests" in row:
                row["hit rate"] = row["cache_hits"] / max(row["cache_requests"], 1)
            rows.append(row)
            print(row, flush=True)
    cols = ["run", "seed", "wall_s", "floor_s", "wall / TF floor", "epochs", "best_val"]
    cols += ["test", "cache_hits", "cache_requests", "hit rate"]
    print(markdown_table(rows, cols))
    print("results:", save("jax_cache", {"rows": rows}))


if __name__ == "__main__":
    main()
