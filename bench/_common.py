"""Helpers shared by the benchmark scripts: trivial estimators, clusters, tables."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")


class Trivial(ClassifierMixin, BaseEstimator):
    """partial_fit does nothing, score is a function of ``a``: pure search overhead."""

    def __init__(self, a=0.0, cost=0.0):
        self.a = a
        self.cost = cost

    def partial_fit(self, X, y, classes=None):
        if self.cost:
            time.sleep(self.cost)
        self.classes_ = classes
        return self

    def fit(self, X, y):
        return self.partial_fit(X, y)

    def score(self, X, y):
        return -abs(self.a - 0.5)

    def predict(self, X):
        return np.zeros(len(X))


@contextlib.contextmanager
def local_client(n_workers: int, threads_per_worker: int = 1):
    """A LocalCluster of worker processes on loopback, and a Client as the default."""
    import cloudpickle
    from distributed import Client, LocalCluster

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def print_row(row) -> None:
    """What a child process of :func:`child_rows` reports: one JSON value on a line."""
    print("ROW " + json.dumps(row), flush=True)


def child_rows(argv: list[str], env: dict | None = None) -> list | None:
    """Run ``python *argv`` in a fresh process; the values it printed with :func:`print_row`.

    ``None``, with the end of its standard error printed, when it failed.
    """
    proc = subprocess.run([sys.executable, *argv], env=env, capture_output=True, text=True)
    rows = [json.loads(line[4:]) for line in proc.stdout.splitlines() if line.startswith("ROW ")]
    if proc.returncode != 0 or not rows:
        print(f"{argv[0]} failed:\n{proc.stderr[-3000:]}", file=sys.stderr)
        return None
    return rows


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = []
        for c in columns:
            v = row.get(c, "")
            cells.append(f"{v:.4g}" if isinstance(v, float) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def save(name: str, payload: dict) -> str:
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, f"{name}.json")
    with open(path, "w") as f:
        json.dump(payload, f, indent=2, default=str)
    return path
