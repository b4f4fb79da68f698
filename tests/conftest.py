"""Shared fixtures: digits data, small arrays."""

from __future__ import annotations

import os

import numpy as np
import pytest
from sklearn.datasets import load_digits

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


@pytest.fixture
def small_xy():
    rng = np.random.RandomState(0)
    X = rng.rand(120, 4)
    y = np.arange(120) % 3
    return X, y


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server started for this test session (tests/postgres.py)."""
    pytest.importorskip("psycopg", reason="psycopg 3 is not installed (skhpo[postgres])")
    from postgres import postgres_server

    with postgres_server() as (url, why):
        if url is None:
            pytest.skip(why)
        yield url


@pytest.fixture
def postgres_url(postgres_server, request):
    """The URL of a new, empty database on the session's PostgreSQL server."""
    from postgres import create_database

    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:50].lower()
    return create_database(postgres_server, name)
