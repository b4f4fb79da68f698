"""Helpers shared by the benchmark scripts: trivial estimators, clusters, tables."""

from __future__ import annotations

import contextlib
import json
import os
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
