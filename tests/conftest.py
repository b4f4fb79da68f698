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
