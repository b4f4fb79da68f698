"""Search spaces: conversion of user specs, validation, sampling, the unit cube."""

from __future__ import annotations

import ast
import copy
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import loguniform, norm, randint, uniform
from sklearn.model_selection import ParameterSampler

from skhpo.space import INACTIVE, Categorical, Dimension, Distribution, Integer, Real, SearchSpace

SPACE_PY = Path(__file__).resolve().parents[1] / "skhpo" / "space.py"
N_DRAWS = 2000


def _fn():  # a callable category
    return 1


class RvsOnly:
    """A distribution with rvs but neither cdf nor ppf."""

    def rvs(self, random_state=None):
        return random_state.choice([2, 4, 8]) * 1.5


class Broken:
    def rvs(self, random_state=None):
        raise RuntimeError("no luck")


class ZeroDim:
    def rvs(self, random_state=None):
        return np.array(random_state.randint(10))


class Pairs:
    def rvs(self, random_state=None):
        return (int(random_state.randint(3)), 7)


# -- conversion: spec -> dimension ------------------------------------------------------

LOGU = loguniform(1e-4, 1e-1)

CONVERSIONS = [
    ([1, 2, 3], Categorical([1, 2, 3])),
    (["adam", "rmsprop"], Categorical(["adam", "rmsprop"])),
    ([None, True, "x", (1, 2)], Categorical([None, True, "x", (1, 2)])),
    (np.array([0.1, 0.2]), Categorical([0.1, 0.2])),
    (range(3), Categorical([0, 1, 2])),
    ((1, 10), Integer(1, 10)),
    ((np.int64(1), np.int32(10)), Integer(1, 10)),
    ((3, 3), Integer(3, 3)),
    ((-5, 5), Integer(-5, 5)),
    ((0.0, 1.0), Real(0.0, 1.0)),
    ((1, 2.5), Real(1.0, 2.5)),
    ((np.float32(0.5), 2), Real(0.5, 2.0)),
    ((0.0, 1.0, "uniform"), Real(0.0, 1.0)),
    ((1e-4, 1e-1, "log-uniform"), Real(1e-4, 1e-1, log=True)),
    ((1, 100, "log-uniform"), Integer(1, 100, log=True)),
    ((1, 100, "uniform"), Integer(1, 100)),
    (Real(0.0, 0.9), Real(0.0, 0.9)),
    (Integer(8, 512, log=True), Integer(8, 512, log=True)),
    (Categorical([True, False]), Categorical([True, False])),
    (LOGU, Distribution(LOGU)),
    ((8, 64, 4), Integer(8, 64, step=4)),
    ((0.0, 0.5, 0.05), Real(0.0, 0.5, step=0.05)),
    ((0, 1, 0.25), Real(0.0, 1.0, step=0.25)),  # a float step: Real
    ((1, 10, 1), Integer(1, 10)),
    ((np.int64(0), 10, np.int32(5)), Integer(0, 10, step=5)),
]


@pytest.mark.parametrize("spec, expected", CONVERSIONS, ids=repr)
def test_conversion(spec, expected):
    space = SearchSpace.from_params({"p": spec})
    dim = space.subspaces[0]["p"]
    assert type(dim) is type(expected)
    assert dim == expected
    assert dim.name == "p"
    assert space.names == ["p"] and len(space) == 1


def test_numpy_categories_become_python_scalars():
    dim = SearchSpace.from_params({"p": np.array([1, 2])}).subspaces[0]["p"]
    assert [type(c) for c in dim.categories] == [int, int]


def test_a_dimension_serving_two_parameters_is_not_mutated():
    shared = Real(0.0, 0.9)
    space = SearchSpace.from_params({"d1": shared, "d2": shared})
    assert shared.name is None
    assert [space.subspaces[0][n].name for n in ("d1", "d2")] == ["d1", "d2"]
    named = Real(0.0, 0.9, name="d1")
    assert SearchSpace.from_params({"d1": named}).subspaces[0]["d1"] is named


def test_from_params_returns_a_search_space_as_is_and_sorts_names():
    space = SearchSpace.from_params([{"b": [1], "a": (0.0, 1.0)}, {"c": [2]}])
    assert SearchSpace.from_params(space) is space
    assert list(space.subspaces[0]) == ["a", "b"]
    assert space.names == ["a", "b", "c"] and len(space) == 2
    assert SearchSpace.from_params([{"c": [2]}, {"a": (0.0, 1.0), "b": [1]}]) != space


@pytest.mark.parametrize(
    "dim, text",
    [
        (Real(1e-4, 1e-1, log=True), "Real(low=0.0001, high=0.1, log=True)"),
        (Real(0, 1), "Real(low=0.0, high=1.0)"),
        (Integer(10, 100), "Integer(low=10, high=100)"),
        (Integer(8, 64, step=4), "Integer(low=8, high=64, step=4)"),
        (Integer(32, 512, log=True, step=2), "Integer(low=32, high=512, log=True, step=2)"),
        (Real(0, 0.5, step=0.05), "Real(low=0.0, high=0.5, step=0.05)"),
        (Categorical(["a", None]), "Categorical(['a', None])"),
        (Distribution(LOGU), "Distribution(loguniform(0.0001, 0.1))"),
        (Distribution(norm(loc=1.0)), "Distribution(norm(loc=1.0))"),
        (
            SearchSpace.from_params({"b": [1], "a": (0, 5)}),
            "SearchSpace({'a': Integer(low=0, high=5), 'b': Categorical([1])})",
        ),
        (
            SearchSpace.from_params([{"a": [1]}, {"b": [2]}]),
            "SearchSpace([{'a': Categorical([1])}, {'b': Categorical([2])}])",
        ),
    ],
)
def test_repr(dim, text):
    assert repr(dim) == text


# -- equality (value objects; sklearn's clone deep-copies them) ---------------------------

EQUAL = [
    (Real(0, 1), Real(0.0, 1.0)),
    (Real(1e-4, 1e-1, prior="log-uniform"), Real(1e-4, 1e-1, log=True)),
    (Real(1e-4, 1e-1, "log-uniform"), Real(1e-4, 1e-1, log=True)),  # skopt positional prior
    (Real(0, 1, prior="uniform"), Real(0, 1)),
    (Real(0, 1, name="a"), Real(0, 1, name="b")),  # names are not compared
    (Integer(1, 5), Integer(np.int64(1), 5)),
    (Integer(1, 8, prior="log-uniform"), Integer(1, 8, log=True)),
    (Categorical([1, "a", None]), Categorical((1, "a", None))),
    (Categorical([float("nan")]), Categorical([float("nan")])),
    (Distribution(LOGU), Distribution(LOGU)),
    (Integer(8, 64, step=4), Integer(8, 64, step=np.int64(4))),
    (Integer(1, 9, step=1), Integer(1, 9)),  # every integer
    (Real(0, 1, step=0.25), Real(0.0, 1.0, step=0.25)),
]
NOT_EQUAL = [
    (Real(0, 1), Real(0, 2)),
    (Real(1, 2), Real(1, 2, log=True)),
    (Real(1, 2), Integer(1, 2)),
    (Integer(1, 2), Integer(1, 3)),
    (Categorical([1, 2]), Categorical([1.0, 2.0])),
    (Categorical([1]), Categorical([True])),
    (Categorical([1, 2]), Categorical([2, 1])),
    (Distribution(loguniform(1, 2)), Distribution(loguniform(1, 2))),  # identity
    (Integer(8, 64), Integer(8, 64, step=4)),
    (Integer(8, 64, step=4), Integer(8, 64, step=8)),
    (Real(0, 1), Real(0, 1, step=0.5)),
    (Integer(1, 16, log=True), Integer(1, 16, log=True, step=2)),
]


@pytest.mark.parametrize("a, b", EQUAL, ids=repr)
def test_equal(a, b):
    assert a == b and hash(a) == hash(b)
    assert copy.deepcopy(a) == a or isinstance(a, Distribution)


@pytest.mark.parametrize("a, b", NOT_EQUAL, ids=repr)
def test_not_equal(a, b):
    assert a != b


# -- validation -------------------------------------------------------------------------

NAME = "model__dropout"

# (spec of parameter NAME, regex the message must match)
ERRORS = [
    ([], "empty"),
    (np.array([]), "empty"),
    ((0.9, 0.1), r"low \(0.9\) must be lower than high \(0.1\)"),
    ((0.5, 0.5), "must be lower than high"),
    ((5, 1), r"low \(5\) must not be greater than high \(1\)"),
    ((0.0, 1.0, "log-uniform"), "log-uniform prior needs low > 0"),
    ((-1, 10, "log-uniform"), "low > 0"),
    ((float("nan"), 1.0), "finite number"),
    ((0.0, float("inf")), "finite number"),
    ((-1e308, 1e308), "too wide"),
    (("a", "b"), "must be numbers; use a list"),
    (("relu", "tanh", "selu"), "must be numbers; use a list"),
    ((True, 5), "must be numbers"),
    ((0, None), "must be numbers"),
    ((1, 2, "log"), "'uniform' or 'log-uniform', got 'log'"),
    ((1, 10, 100), "step 100 does not divide.*use a list"),
    ((1,), "tuple of 1.*use a list"),
    ((), "tuple of 0"),
    ((1, 2, "log-uniform", 10), "tuple of 4"),
    ((8, 63, 4), r"step 4 does not divide the range from 8 to 63 .*such as 64"),
    ((0.0, 1.0, 0.3), r"step 0.3 does not divide the range from 0.0 to 1.0"),
    ((0, 10, 0), "step must be .* > 0, got 0"),
    ((0, 10, -2), "step must be .* > 0, got -2"),
    ((0.0, 1.0, float("nan")), "step must be a finite number"),
    (3, "int 3 is not a search dimension.*list"),
    (0.5, r"one-element list \[0.5\]"),
    ("adam", r"one-element list \['adam'\]"),
    (None, "NoneType None is not a search dimension"),
    ({"a": 1}, "dict .* is not a search dimension"),
    ({1, 2}, "set.*sorted list"),
    ((i for i in range(3)), "generator"),
    (Real, "class Real is not a search dimension; give an instance"),
    (loguniform, "without its shape parameters.*loguniform\\(a, b\\)"),
]


@pytest.mark.parametrize("spec, match", ERRORS, ids=repr)
def test_bad_parameter(spec, match):
    with pytest.raises(ValueError, match=match) as info:
        SearchSpace.from_params({"ok": [1], NAME: spec})
    assert str(info.value).startswith(f"Parameter {NAME!r}: ")


def test_error_message_example():
    with pytest.raises(ValueError) as info:
        SearchSpace.from_params({NAME: (0.9, 0.1)})
    assert str(info.value) == f"Parameter {NAME!r}: low (0.9) must be lower than high (0.1)"


@pytest.mark.parametrize(
    "params, match",
    [
        ({}, "search space is empty"),
        ([], "empty list of dicts"),
        ([{"a": [1]}, {}], "Entry 1 of the search space list is empty"),
        ([{"a": [1]}, 3], "Entry 1 .* must be a dict"),
        ([{"a": [1]}, [("a", [1])]], "Entry 1 .* must be a dict"),
        ({3: [1, 2]}, "Parameter 3: parameter names must be strings"),
        ({("a", "b"): [1, 2]}, "parameter names must be strings"),
        ("alpha", "must be a dict or a list of dicts, got a str"),
        (({"a": [1]},), "must be a dict or a list of dicts, got a tuple"),
        (None, "must be a dict or a list of dicts"),
        ([{"a": [1]}, {"b": (2, 1)}], "Parameter 'b': low"),
    ],
    ids=repr,
)
def test_bad_space(params, match):
    with pytest.raises(ValueError, match=match):
        SearchSpace.from_params(params)


# (factory, exception, regex): the dimensions validate on their own
CONSTRUCTOR_ERRORS = [
    (lambda: Real(1.0, 0.0), ValueError, "lower than high"),
    (lambda: Real(0.0, float("nan")), ValueError, "finite"),
    (lambda: Real("0", 1.0), ValueError, "finite number"),
    (lambda: Real(False, 1.0), ValueError, "finite number"),
    (lambda: Real(0.0, 1.0, log=True), ValueError, "low > 0"),
    (lambda: Real(1e-4, 1e-1, log=True, prior="uniform"), ValueError, "contradicts"),
    (lambda: Real(0.0, 1.0, prior="normal"), ValueError, "'uniform' or 'log-uniform'"),
    (lambda: Real(0.0, 1.0, log=1), ValueError, "True or False"),
    (lambda: Real(1.0, 2.0, "log-uniform", prior="uniform"), ValueError, "prior given twice"),
    (lambda: Real(0.0, 1.0, name=3), ValueError, "name"),
    (lambda: Integer(1.5, 3), ValueError, "must be an int.*use Real"),
    (lambda: Integer(1, 3.0), ValueError, "must be an int"),
    (lambda: Integer(5, 1), ValueError, "not be greater"),
    (lambda: Integer(0, 10, log=True), ValueError, "low > 0"),
    (lambda: Integer(1, 11, step=3), ValueError, r"step 3 does not divide .* \(3.33333 steps"),
    (lambda: Integer(1, 10, step=1.5), ValueError, "step must be an int"),
    (lambda: Integer(1, 10, step=True), ValueError, "step must be an int"),
    (lambda: Integer(32, 500, log=True, step=2), ValueError, "such as 512"),
    (lambda: Integer(1, 8, log=True, step=1), ValueError, "a factor > 1"),
    (lambda: Real(1e-4, 1e-1, log=True, step=0.5), ValueError, "a factor > 1"),
    (lambda: Real(1e-4, 0.2, log=True, step=10), ValueError, "low \\* step \\*\\* k"),
    (lambda: Real(0.0, 1.0, step=2.0), ValueError, "does not divide"),
    (lambda: Categorical([]), ValueError, "empty"),
    (lambda: Categorical("abc"), ValueError, "list of choices.*one-element list"),
    (lambda: Categorical({"a", "b"}), ValueError, "set"),
    (lambda: Categorical(np.array(3)), ValueError, "list of choices"),
    (lambda: Categorical(5), ValueError, "list of choices"),
    (lambda: Distribution(3), TypeError, "no rvs method"),
    (lambda: Distribution(RvsOnly), TypeError, "no rvs method"),  # a class, not an instance
    (lambda: Distribution(loguniform), ValueError, "shape parameters"),
]


@pytest.mark.parametrize("factory, exc, match", CONSTRUCTOR_ERRORS)
def test_bad_dimension(factory, exc, match):
    with pytest.raises(exc, match=match):
        factory()


def test_dimension_is_abstract():
    with pytest.raises(TypeError):
        Dimension()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n": -1}, "non-negative int"),
        ({"n": 1.5}, "non-negative int"),
        ({"n": 2, "random_state": "seed"}, "random_state"),
        ({"n": 2, "random_state": 1.0}, "random_state"),
    ],
)
def test_bad_sample_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SearchSpace.from_params({"a": [1]}).sample(**kwargs)


def test_a_failing_draw_names_the_parameter():
    with pytest.raises(ValueError, match="Parameter 'b': drawing from .* RuntimeError: no luck"):
        SearchSpace.from_params({"a": [1], "b": Broken()}).sample(1, random_state=0)


# -- sampling ---------------------------------------------------------------------------

MIXED = {
    "units": (10, 100),
    "dropout": (0.0, 0.9),
    "lr": (1e-4, 1e-1, "log-uniform"),
    "optimizer": ["adam", "rmsprop"],
    "batch": Integer(32, 256, log=True),
    "l2": loguniform(1e-6, 1e-2),
    "epochs": randint(1, 5),
}


def test_same_seed_same_samples_different_seed_different():
    space = SearchSpace.from_params(MIXED)
    first = space.sample(20, random_state=0)
    assert space.sample(20, random_state=0) == first
    assert space.sample(20, random_state=np.random.RandomState(0)) == first
    assert space.sample(20, random_state=np.int64(0)) == first
    assert space.sample(20, random_state=1) != first
    rng = np.random.RandomState(0)  # a RandomState is consumed, as in scikit-learn
    assert [space.sample_one(rng) for _ in range(20)] == first
    assert space.sample(0, random_state=0) == []


def test_none_uses_numpys_global_state():
    space = SearchSpace.from_params(MIXED)
    np.random.seed(3)  # noqa: NPY002 - the legacy global state is what None means
    first = space.sample(5)
    np.random.seed(3)  # noqa: NPY002
    assert space.sample(5) == first


@pytest.mark.parametrize(
    "params",
    [
        {"a": [1, 2, 3], "b": loguniform(1e-4, 1e-1), "c": randint(1, 5)},
        [{"a": ["x", "y"], "b": uniform(0, 1)}, {"c": norm(), "d": [None, True]}],
    ],
)
def test_draws_are_those_of_sklearns_parameter_sampler(params):
    ours = SearchSpace.from_params(params).sample(30, random_state=7)
    theirs = list(ParameterSampler(params, 30, random_state=7))
    assert ours == theirs


# (dimension, python type of the values, check on each value)
DRAWS = [
    (Real(-2.0, 3.0), float, lambda v: -2.0 <= v <= 3.0),
    (Real(1e-4, 1e-1, log=True), float, lambda v: 1e-4 <= v <= 1e-1),
    (Integer(10, 100), int, lambda v: 10 <= v <= 100),
    (Integer(1, 1000, log=True), int, lambda v: 1 <= v <= 1000),
    (Integer(7, 7), int, lambda v: v == 7),
    (Categorical(np.array([1, 2])), int, lambda v: v in (1, 2)),
    (Categorical(np.array(["a", "b"])), str, lambda v: v in ("a", "b")),
    (Categorical([True, False]), bool, lambda v: v in (True, False)),
    (Distribution(loguniform(1e-4, 1e-1)), float, lambda v: 1e-4 <= v <= 1e-1),
    (Distribution(randint(1, 5)), int, lambda v: 1 <= v <= 4),
    (Distribution(RvsOnly()), float, lambda v: v in (3.0, 6.0, 12.0)),
    (Distribution(ZeroDim()), int, lambda v: 0 <= v < 10),
    (Distribution(Pairs()), tuple, lambda v: v[1] == 7),
    (Integer(8, 64, step=4), int, lambda v: v % 4 == 0 and 8 <= v <= 64),
    (Real(0.0, 0.5, step=0.05), float, lambda v: round(v * 20) == v * 20),
    (Integer(32, 512, log=True, step=2), int, lambda v: v in (32, 64, 128, 256, 512)),
]

# (quantized dimension, its grid: every value drawn, and nothing else)
GRIDS = [
    (Integer(8, 64, step=4), list(range(8, 65, 4))),
    (Integer(-6, 6, step=3), [-6, -3, 0, 3, 6]),
    (Integer(5, 5, step=2), [5]),
    (Integer(32, 512, log=True, step=2), [32, 64, 128, 256, 512]),
    (Integer(1, 81, log=True, step=3), [1, 3, 9, 27, 81]),
    (Real(0.0, 0.5, step=0.05), [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5]),
    (Real(-1.0, 1.0, step=0.5), [-1.0, -0.5, 0.0, 0.5, 1.0]),
    (Real(0.1, 0.7, step=0.2), [0.1, 0.3, 0.5, 0.7]),
    (Real(1e-4, 1e-1, log=True, step=10), [1e-4, 1e-3, 1e-2, 1e-1]),
    (Real(0.5, 4.0, log=True, step=2), [0.5, 1.0, 2.0, 4.0]),
    (SearchSpace.from_params({"p": (0, 1, 0.25)}).subspaces[0]["p"], [0.0, 0.25, 0.5, 0.75, 1.0]),
]


@pytest.mark.parametrize("dim, grid", GRIDS, ids=repr)
def test_quantized_draws_lie_on_the_grid(dim, grid):
    rng = np.random.RandomState(0)
    drawn = [dim.rvs(rng) for _ in range(60 * len(grid))]
    assert sorted(set(drawn)) == grid  # exactly the grid values, as typed (0.15)
    assert {type(v) for v in drawn} == {type(grid[0])}
    counts = np.array([drawn.count(v) for v in grid])
    assert counts.min() > 0.6 * 60 and counts.max() < 1.4 * 60  # uniform over the grid
    # the unit cube: each grid point owns an equal interval, and anything maps on the grid
    units = [float(dim.to_unit(v)[0]) for v in grid]
    np.testing.assert_allclose(units, (np.arange(len(grid)) + 0.5) / len(grid))
    assert [dim.from_unit(u) for u in units] == grid
    assert {dim.from_unit(u) for u in rng.uniform(-0.1, 1.1, 300)} <= set(grid)
    assert dim.from_unit(0.0) == grid[0] and dim.from_unit(1.0) == grid[-1]
    assert all(dim.contains(v) for v in grid)
    off = (grid[0] + grid[1]) / 2 if len(grid) > 1 else grid[0] + 1
    assert not dim.contains(off) and not dim.contains(grid[-1] * 2 + 1)


@pytest.mark.parametrize(
    "dim, kind, ok", DRAWS, ids=lambda x: repr(x) if isinstance(x, Dimension) else ""
)
def test_draws_are_in_bounds_and_plain_python(dim, kind, ok):
    n = N_DRAWS if not isinstance(dim, Distribution) else 200  # scipy's rvs is slow
    rng = np.random.RandomState(0)
    values = [dim.rvs(rng) for _ in range(n)]
    assert all(type(v) is kind for v in values)
    assert all(ok(v) for v in values)
    sampled = SearchSpace.from_params({"p": dim}).sample(3, random_state=0)
    assert all(type(s["p"]) is kind for s in sampled)


def test_categorical_returns_the_object_itself():
    layers, other = [64, 32], [16]
    dim = Categorical([layers, other, _fn])
    rng = np.random.RandomState(0)
    drawn = [dim.rvs(rng) for _ in range(50)]
    assert {id(v) for v in drawn} == {id(layers), id(other), id(_fn)}


@pytest.mark.parametrize(
    "dim, low, high",
    [(Integer(0, 3), 0, 3), (Integer(-2, 2), -2, 2), (Integer(1, 4, log=True), 1, 4)],
)
def test_integer_bounds_are_both_reached(dim, low, high):
    rng = np.random.RandomState(0)
    assert {dim.rvs(rng) for _ in range(400)} == set(range(low, high + 1))


def test_uniform_draws_are_uniform():
    rng = np.random.RandomState(0)
    real = np.array([Real(0.0, 10.0).rvs(rng) for _ in range(N_DRAWS)])
    assert abs(np.median(real) - 5.0) < 0.4
    ints = np.array([Integer(0, 9).rvs(rng) for _ in range(N_DRAWS)])
    counts = np.bincount(ints, minlength=10)
    assert counts.min() > 0.7 * N_DRAWS / 10 and counts.max() < 1.3 * N_DRAWS / 10


def test_log_uniform_draws_are_log_uniform():
    rng = np.random.RandomState(0)
    values = np.array([Real(1e-4, 1e-1, log=True).rvs(rng) for _ in range(N_DRAWS)])
    assert abs(np.log10(np.median(values)) - (-2.5)) < 0.15  # geometric mean 10 ** -2.5
    for decade in (-4, -3, -2):  # a third of the draws in each decade
        share = np.mean((values >= 10.0**decade) & (values < 10.0 ** (decade + 1)))
        assert abs(share - 1 / 3) < 0.05
    ints = np.array([Integer(1, 1000, log=True).rvs(rng) for _ in range(N_DRAWS)])
    assert 20 < np.median(ints) < 50  # geometric mean of [1, 1001) is about 31.6
    assert abs(np.mean(ints < 10) - math.log(10) / math.log(1001)) < 0.05


def test_list_of_dicts_picks_both_subspaces():
    space = SearchSpace.from_params([{"a": [1, 2]}, {"b": (0.0, 1.0), "c": ["x"]}])
    assert space.names == ["a", "b", "c"]
    samples = space.sample(400, random_state=0)
    kinds = [tuple(sorted(s)) for s in samples]
    assert set(kinds) == {("a",), ("b", "c")}
    assert 150 < kinds.count(("a",)) < 250


# -- the unit cube ----------------------------------------------------------------------

ROUND_TRIP = [
    Real(-2.0, 3.0),
    Real(1e-4, 1e-1, log=True),
    Integer(10, 100),
    Integer(-3, 3),
    Integer(1, 1000, log=True),
    Integer(5, 5),
    Categorical(["adam", "rmsprop", "sgd"]),
    Categorical([None, True, 1, "1", (1, 2), _fn]),
    Distribution(loguniform(1e-4, 1e-1)),
    Distribution(norm(loc=2.0, scale=3.0)),
    Distribution(randint(1, 7)),
    Integer(8, 64, step=4),
    Integer(2, 1024, log=True, step=2),
    Real(0.0, 0.5, step=0.05),
    Real(1e-5, 1e-1, log=True, step=10),
]


def _same(a, b):
    if isinstance(a, float):
        return type(b) is float and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a is b or (type(a) is type(b) and a == b)


@pytest.mark.parametrize("dim", ROUND_TRIP, ids=repr)
def test_unit_round_trip(dim):
    rng = np.random.RandomState(0)
    assert dim.supports_unit
    for _ in range(100):
        value = dim.rvs(rng)
        u = dim.to_unit(value)
        assert u.shape == (dim.n_unit,) and u.dtype == float
        assert np.all((u >= 0) & (u <= 1))
        assert _same(dim.from_unit(u), value)
        v = rng.uniform(size=dim.n_unit)  # and cube -> value -> cube -> the same value
        assert _same(dim.from_unit(dim.to_unit(dim.from_unit(v))), dim.from_unit(v))


@pytest.mark.parametrize("dim", [Real(0.0, 1.0), Integer(0, 4), Integer(1, 9, log=True)], ids=repr)
def test_from_unit_clips(dim):
    assert dim.from_unit([-0.5]) == dim.low and dim.from_unit([1.5]) == dim.high
    assert dim.from_unit(0.0) == dim.low and dim.from_unit(1.0) == dim.high


def test_integers_own_equal_intervals():
    dim = Integer(0, 4)
    assert [float(dim.to_unit(k)[0]) for k in range(5)] == [0.1, 0.3, 0.5, 0.7, 0.9]
    assert [dim.from_unit(u) for u in (0.0, 0.199, 0.2, 0.999, 1.0)] == [0, 0, 1, 4, 4]
    log = Integer(1, 3, log=True)  # k owns [log k, log(k + 1)) of [log 1, log 4]
    assert log.from_unit(math.log(2) / math.log(4) - 1e-9) == 1
    assert log.from_unit(math.log(2) / math.log(4) + 1e-9) == 2
    assert log.to_unit(2)[0] == pytest.approx(math.log(math.sqrt(6)) / math.log(4))


def test_real_to_unit():
    assert Real(2.0, 4.0).to_unit(3.0).tolist() == [0.5]
    assert Real(1.0, 100.0, log=True).to_unit(10.0)[0] == pytest.approx(0.5)
    assert Real(1.0, 100.0, log=True).to_unit(0.0).tolist() == [0.0]  # clipped, not log(0)


def test_categorical_unit_mapping():
    dim = Categorical([1, True, "1", None])
    assert dim.to_unit(True).tolist() == [0, 1, 0, 0]
    assert dim.to_unit(1).tolist() == [1, 0, 0, 0]
    assert dim.to_unit(np.int64(1)).tolist() == [1, 0, 0, 0]
    assert dim.to_unit(1.0).tolist() == [1, 0, 0, 0]  # equal, of another type
    assert dim.from_unit([0.2, 0.1, 0.9, 0.3]) == "1"
    with pytest.raises(ValueError, match="not one of the categories"):
        dim.to_unit("2")
    with pytest.raises(ValueError, match="takes 4 unit-cube coordinate"):
        dim.from_unit([1.0, 0.0])


def test_scipy_loguniform_maps_like_a_log_real():
    dist, real = Distribution(loguniform(1e-4, 1e-1)), Real(1e-4, 1e-1, log=True)
    for x in (1e-4, 3e-4, 1e-3, 0.05, 1e-1):
        assert dist.to_unit(x)[0] == pytest.approx(real.to_unit(x)[0])
        assert dist.from_unit(real.to_unit(x)) == pytest.approx(x)


def test_distribution_without_cdf_has_no_unit_cube():
    dim = Distribution(RvsOnly())
    assert dim.supports_unit is False
    with pytest.raises(TypeError, match="no cdf and ppf"):
        dim.to_unit(3.0)
    with pytest.raises(TypeError, match="no cdf and ppf"):
        dim.from_unit([0.5])
    space = SearchSpace.from_params({"a": [1], "scale": RvsOnly()})
    assert len(space.sample(3, random_state=0)) == 3  # it still samples
    with pytest.raises(TypeError, match="Parameter 'scale'.*no cdf and ppf"):
        space.to_unit({"a": 1, "scale": 3.0})
    with pytest.raises(TypeError, match="Parameter 'scale'"):
        _ = space.n_unit


def test_space_unit_round_trip():
    space = SearchSpace.from_params({k: v for k, v in MIXED.items()})
    assert space.n_unit == 8  # 6 one-dimensional + a 2-way one-hot
    for params in space.sample(50, random_state=0):
        u = space.to_unit(params)
        assert u.shape == (space.n_unit,) and np.all((u >= 0) & (u <= 1))
        back = space.from_unit(u)
        assert list(back) == sorted(params)
        assert all(_same(back[k], params[k]) for k in params)


def test_space_unit_errors():
    space = SearchSpace.from_params({"a": (0.0, 1.0), "b": ["x", "y"]})
    with pytest.raises(ValueError, match=r"missing \['b'\]"):
        space.to_unit({"a": 0.5})
    with pytest.raises(ValueError, match="Parameter 'b': 'z' is not one of"):
        space.to_unit({"a": 0.5, "b": "z"})
    with pytest.raises(ValueError, match="3 unit-cube coordinates, got 2"):
        space.from_unit([0.5, 1.0])
    with pytest.raises(ValueError, match="NaN"):
        space.from_unit([np.nan, 1.0, 0.0])
    two = SearchSpace.from_params([{"a": [1]}, {"b": [2]}])
    for call in (lambda: two.n_unit, lambda: two.to_unit({"a": 1}), lambda: two.from_unit([1])):
        with pytest.raises(ValueError, match="single subspace"):
            call()


# -- dependencies -----------------------------------------------------------------------


def test_space_imports_only_stdlib_numpy_and_scipy():
    allowed = set(sys.stdlib_module_names) | {"numpy", "scipy"}
    for node in ast.walk(ast.parse(SPACE_PY.read_text())):
        if isinstance(node, ast.Import):
            roots = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            roots = [node.module.split(".")[0]]
        else:
            continue
        assert set(roots) <= allowed, ast.unparse(node)


def test_space_loads_without_sklearn_keras_or_dask():
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('space', {str(SPACE_PY)!r})\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "mod.SearchSpace.from_params({'a': (0.0, 1.0)}).sample(2, random_state=0)\n"
        "heavy = ('sklearn', 'keras', 'tensorflow', 'dask', 'distributed', 'jax', 'torch')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- conditional parameters -------------------------------------------------------------

LAYERS = {
    "n_layers": Integer(1, 4),
    "units_0": Integer(8, 64, step=8),
    **{
        f"units_{i}": Integer(8, 64, step=8, when={"n_layers": list(range(i + 1, 5))})
        for i in range(1, 4)
    },
}
OPTIMIZER = {
    "optimizer": ["sgd", "adam"],
    "momentum": Real(0.0, 0.99, when={"optimizer": "sgd"}),
    "beta_1": Real(0.8, 0.999, when={"optimizer": "adam"}),
    "nesterov": Categorical([True, False], when={"optimizer": "sgd", "momentum_on": True}),
    "momentum_on": Categorical([True, False], when={"optimizer": "sgd"}),  # nested
}


def _expected_layers(p):
    return {"n_layers", *(f"units_{i}" for i in range(p["n_layers"]))}


def _expected_optimizer(p):
    if p["optimizer"] == "adam":
        return {"optimizer", "beta_1"}
    return {"optimizer", "momentum", "momentum_on"} | ({"nesterov"} if p["momentum_on"] else set())


@pytest.mark.parametrize(
    "params, expected", [(LAYERS, _expected_layers), (OPTIMIZER, _expected_optimizer)]
)
def test_conditional_parameters_exist_only_when_their_condition_holds(params, expected):
    space = SearchSpace.from_params(params)
    samples = space.sample(400, random_state=0)
    assert all(set(p) == expected(p) for p in samples)
    assert len({frozenset(p) for p in samples}) == (4 if params is LAYERS else 3)
    assert all(space.subspace_of(p) == 0 for p in samples)
    # the draws of the active parameters do not depend on the conditions
    plain = SearchSpace.from_params({n: copy.copy(d) for n, d in space.subspaces[0].items()})
    for dim in plain.subspaces[0].values():
        dim.when = None
    unconditioned = plain.sample(400, random_state=0)
    assert all(p.items() <= q.items() for p, q in zip(samples, unconditioned, strict=True))
    # the unit cube: inactive coordinates at INACTIVE, and back
    for p in samples[:50]:
        u = space.to_unit(p)
        assert space.from_unit(u) == p
        k = 0
        for name, dim in space.subspaces[0].items():
            block = u[k : k + dim.n_unit]
            assert (block == INACTIVE).all() == (name not in p)
            k += dim.n_unit


def test_a_parameter_given_without_its_condition_is_missing_or_extra():
    space = SearchSpace.from_params(OPTIMIZER)
    assert space.subspace_of({"optimizer": "adam", "beta_1": 0.9}) == 0
    assert space.subspace_of({"optimizer": "adam", "beta_1": 0.9, "momentum": 0.5}) is None
    assert space.subspace_of({"optimizer": "adam"}) is None
    with pytest.raises(ValueError, match=r"missing \['beta_1'\]"):
        space.to_unit({"optimizer": "adam"})


def test_conditions_repr_and_equality():
    dim = Real(0.0, 1.0, when={"optimizer": "sgd"})
    assert repr(dim) == "Real(low=0.0, high=1.0, when={'optimizer': ['sgd']})"
    assert dim == Real(0.0, 1.0, when={"optimizer": ["sgd"]}) == copy.deepcopy(dim)
    assert dim != Real(0.0, 1.0) and dim != Real(0.0, 1.0, when={"optimizer": "adam"})
    assert hash(dim) == hash(Real(0.0, 1.0, when={"optimizer": ["sgd"]}))
    cat = Categorical([1, 2], when={"n": range(2, 4)})
    assert repr(cat) == "Categorical([1, 2], when={'n': [2, 3]})"
    assert repr(Distribution(LOGU, when={"a": (1, 2)})).endswith("when={'a': [(1, 2)]})")


# (space, regex of the error): each raised when the space is built, before any fit
CONDITION_ERRORS = [
    ({"a": Real(0, 1, when={"b": 1})}, r"names 'b', which is not a parameter .*\['a'\]"),
    ([{"b": [1]}, {"a": Real(0, 1, when={"b": 1})}], "not a parameter of entry 1"),
    ({"a": Real(0, 1, when={"b": 0.5}), "b": Real(0, 1)}, "'b'.* a continuous range"),
    ({"a": Real(0, 1, when={"b": 5}), "b": [1, 2]}, "gives 5, which is not a value of 'b'"),
    ({"a": Real(0, 1, when={"b": 3}), "b": Integer(0, 8, step=2)}, "gives 3, which is not"),
    (
        {"a": Integer(0, 1, when={"b": 1}), "b": Integer(0, 1, when={"c": 1}), "c": [0, 1]},
        None,  # a chain is fine
    ),
    (
        {"a": Integer(0, 1, when={"b": 1}), "b": Integer(0, 1, when={"a": 1})},
        r"form a cycle: 'a' -> 'b' -> 'a'",
    ),
    ({"a": Integer(0, 1, when={"a": 1})}, r"cycle: 'a' -> 'a'"),
]


@pytest.mark.parametrize("params, match", CONDITION_ERRORS, ids=repr)
def test_bad_conditions(params, match):
    if match is None:
        SearchSpace.from_params(params)
        return
    with pytest.raises(ValueError, match=match):
        SearchSpace.from_params(params)


@pytest.mark.parametrize(
    "when, match",
    [
        ({}, "non-empty dict"),
        ("sgd", "non-empty dict"),
        ({1: 2}, "by strings"),
        ({"a": []}, "empty list"),
    ],
)
def test_bad_when(when, match):
    with pytest.raises(ValueError, match=match):
        Real(0.0, 1.0, when=when)
