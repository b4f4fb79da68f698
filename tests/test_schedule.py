"""Hyperband bracket math: the published tables, properties over a grid, bad input."""

from __future__ import annotations

import math
from fractions import Fraction
from itertools import pairwise

import pytest

from skhpo._schedule import (
    Bracket,
    Rung,
    default_patience,
    hyperband_brackets,
    plan_metadata,
    successive_halving_rungs,
    validate_schedule_params,
)


def _table(brackets: list[Bracket]) -> dict[int, list[tuple[int, int]]]:
    return {b.index: [(r.n_models, r.epochs) for r in b.rungs] for b in brackets}


TABLES = {
    # The project's canonical benchmark: 49 models, 357 epochs with resume.
    (27, 3): {
        3: [(27, 1), (9, 3), (3, 9), (1, 27)],
        2: [(12, 3), (4, 9), (1, 27)],
        1: [(6, 9), (2, 27)],
        0: [(4, 27)],
    },
    # The "Hobbit" tutorial table: 9, 5 and 3 models at about 2, 7 and 20 epochs.
    (20, 3): {
        2: [(9, 2), (3, 7), (1, 20)],
        1: [(5, 7), (1, 20)],
        0: [(3, 20)],
    },
    # Li et al. (2018), Table 1 (R = 81, eta = 3).
    (81, 3): {
        4: [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
        3: [(34, 3), (11, 9), (3, 27), (1, 81)],
        2: [(15, 9), (5, 27), (1, 81)],
        1: [(8, 27), (2, 81)],
        0: [(5, 81)],
    },
    (1, 3): {0: [(1, 1)]},
    (2, 3): {0: [(1, 2)]},
    (3, 3): {1: [(3, 1), (1, 3)], 0: [(2, 3)]},
    (9, 3): {2: [(9, 1), (3, 3), (1, 9)], 1: [(5, 3), (1, 9)], 0: [(3, 9)]},
    # 243 = 3**5, where math.log(243, 3) = 4.999...: s_max must still be 5.
    (243, 3): {
        5: [(243, 1), (81, 3), (27, 9), (9, 27), (3, 81), (1, 243)],
        4: [(98, 3), (32, 9), (10, 27), (3, 81), (1, 243)],
        3: [(41, 9), (13, 27), (4, 81), (1, 243)],
        2: [(18, 27), (6, 81), (2, 243)],
        1: [(9, 81), (3, 243)],
        0: [(6, 243)],
    },
    (8, 2): {
        3: [(8, 1), (4, 2), (2, 4), (1, 8)],
        2: [(6, 2), (3, 4), (1, 8)],
        1: [(4, 4), (2, 8)],
        0: [(4, 8)],
    },
    (10, 2): {
        3: [(8, 1), (4, 3), (2, 5), (1, 10)],
        2: [(6, 3), (3, 5), (1, 10)],
        1: [(4, 5), (2, 10)],
        0: [(4, 10)],
    },
    (16, 4): {2: [(16, 1), (4, 4), (1, 16)], 1: [(6, 4), (1, 16)], 0: [(3, 16)]},
    (64, 4): {
        3: [(64, 1), (16, 4), (4, 16), (1, 64)],
        2: [(22, 4), (5, 16), (1, 64)],
        1: [(8, 16), (2, 64)],
        0: [(4, 64)],
    },
    # A non-integer eta, taken at its decimal value 5/2: s_max = 3 (15.625 <= 20).
    (20, 2.5): {
        3: [(16, 1), (6, 3), (2, 8), (1, 20)],
        2: [(9, 3), (3, 8), (1, 20)],
        1: [(5, 8), (2, 20)],
        0: [(4, 20)],
    },
}


@pytest.mark.parametrize(("max_iter", "eta"), list(TABLES))
def test_bracket_tables(max_iter, eta):
    brackets = hyperband_brackets(max_iter, eta)
    assert [b.index for b in brackets] == sorted(TABLES[max_iter, eta], reverse=True)
    assert _table(brackets) == TABLES[max_iter, eta]


def test_eta_defaults_to_3():
    assert hyperband_brackets(27) == hyperband_brackets(27, 3)


@pytest.mark.parametrize(
    ("max_iter", "eta", "n_models", "partial_fit_calls", "per_bracket"),
    [
        (27, 3, 49, 357, [81, 78, 90, 108]),
        (81, 3, 143, 1581, [297, 276, 279, 324, 405]),
        (20, 3, 17, 154, [46, 48, 60]),
        (1, 3, 1, 1, [1]),
    ],
)
def test_plan_totals(max_iter, eta, n_models, partial_fit_calls, per_bracket):
    brackets = hyperband_brackets(max_iter, eta)
    meta = plan_metadata(brackets)
    assert meta["n_models"] == n_models == sum(b.n_models for b in brackets)
    assert meta["partial_fit_calls"] == partial_fit_calls
    assert [b.partial_fit_calls for b in brackets] == per_bracket
    assert [b["partial_fit_calls"] for b in meta["brackets"]] == per_bracket


def test_plan_metadata_shape():
    meta = plan_metadata(hyperband_brackets(27, 3))
    assert set(meta) == {"n_models", "partial_fit_calls", "brackets"}
    assert meta["brackets"][0] == {
        "bracket": 3,
        "n_models": 27,
        "partial_fit_calls": 81,
        "rungs": [(27, 1), (9, 3), (3, 9), (1, 27)],
    }
    assert [b["bracket"] for b in meta["brackets"]] == [3, 2, 1, 0]
    assert [b["partial_fit_calls"] for b in meta["brackets"]] == [81, 78, 90, 108]
    assert plan_metadata([]) == {"n_models": 0, "partial_fit_calls": 0, "brackets": []}


def test_bracket_properties_by_hand():
    b = Bracket(1, (Rung(6, 9), Rung(2, 27)))
    assert (b.n_models, b.max_epochs, b.partial_fit_calls) == (6, 27, 6 * 9 + 2 * 18)
    with pytest.raises(AttributeError):
        b.index = 2  # frozen


MAX_ITERS = [*range(1, 30), 50, 64, 81, 100, 128, 243, 500, 729, 1000]


def _s_max(max_iter, eta):
    e, s = Fraction(str(eta)), 0
    while e ** (s + 1) <= max_iter:
        s += 1
    return s


def _check_properties(max_iter, eta):
    brackets = hyperband_brackets(max_iter, eta)
    s_max = _s_max(max_iter, eta)
    assert [b.index for b in brackets] == list(range(s_max, -1, -1))
    e = Fraction(str(eta))
    for b in brackets:
        epochs = [r.epochs for r in b.rungs]
        models = [r.n_models for r in b.rungs]
        assert epochs == sorted(set(epochs)), b  # strictly increasing
        assert models == sorted(models, reverse=True), b
        assert epochs[-1] == b.max_epochs == max_iter, b
        assert epochs[0] >= 1 and models[-1] >= 1, b
        assert 1 <= len(b.rungs) <= b.index + 1, b
        expected = sum(
            r.n_models * (r.epochs - (b.rungs[i - 1].epochs if i else 0))
            for i, r in enumerate(b.rungs)
        )
        assert b.partial_fit_calls == expected, b
        assert all(type(x) is int for r in b.rungs for x in (r.n_models, r.epochs)), b
        # n = ceil((s_max + 1) * eta**s / (s + 1)) models start the bracket.
        assert b.n_models == math.ceil((s_max + 1) * e**b.index / (b.index + 1)), b
    # Plain random search at max_iter is always the last bracket.
    assert brackets[-1].rungs == (Rung(s_max + 1, max_iter),)


@pytest.mark.parametrize("eta", [2, 3, 4, 5, 10, 2.5, 1.5, 1.1])
def test_schedule_properties(eta):
    for max_iter in MAX_ITERS:
        _check_properties(max_iter, eta)


def test_s_max_is_exact_at_powers():
    # Floating point gets these wrong: math.log(243, 3) == 4.999999999999999.
    for eta in (2, 3, 4, 5, 7, 10):
        for s in range(1, 8):
            assert hyperband_brackets(eta**s, eta)[0].index == s
            assert hyperband_brackets(eta**s - 1, eta)[0].index == s - 1


def test_colliding_rungs_are_merged():
    # eta close to 1: r * eta**i rounds to the same epochs for consecutive i.
    for b in hyperband_brackets(3, 1.1):
        epochs = [r.epochs for r in b.rungs]
        assert epochs == sorted(set(epochs)) and epochs[-1] == 3
    assert len(hyperband_brackets(3, 1.1)[0].rungs) < hyperband_brackets(3, 1.1)[0].index + 1


@pytest.mark.parametrize(
    ("args", "rungs"),
    [
        ((9, 1), [(9, 1), (3, 3), (1, 9)]),
        ((9, 1, 9), [(9, 1), (3, 3), (1, 9)]),
        ((9, 2, 18), [(9, 2), (3, 6), (1, 18)]),
        ((10, 1, 9), [(10, 1), (3, 3), (1, 9)]),
        ((10, 2, 5), [(10, 2), (3, 5)]),
        ((9, 1, 4), [(9, 1), (3, 3), (1, 4)]),
        ((27, 1, 27), [(27, 1), (9, 3), (3, 9), (1, 27)]),
        # max_epochs caps, it does not extend: one model left at 9 epochs ends the run.
        ((9, 1, 100), [(9, 1), (3, 3), (1, 9)]),
        # The models run out (6, 2, then 0): two are left at the end.
        ((6, 1, 100), [(6, 1), (2, 3)]),
        ((1, 1, 10), [(1, 1)]),
        # min_epochs == max_epochs: one rung.
        ((5, 7, 7), [(5, 7)]),
        ((1, 1, 1), [(1, 1)]),
        ((8, 1, 8, 2), [(8, 1), (4, 2), (2, 4), (1, 8)]),
        ((16, 1, 16, 4), [(16, 1), (4, 4), (1, 16)]),
        ((10, 1, 10, 2.5), [(10, 1), (4, 3), (1, 6)]),
        # eta close to 1: 1 * 1.2 rounds to 1 again, that rung is one with the first.
        ((10, 1, 3, 1.2), [(10, 1), (5, 2), (3, 3)]),
        ((2, 1, None, 1.2), [(2, 1)]),
        # issue 11: the float re-derivation gave [(100, 1)] and [..., (1, 11), (1, 17)].
        ((27, 1, None, 1.5), [(27, 1), (18, 2), (8, 3), (5, 5), (3, 8), (2, 11), (1, 17)]),
    ],
)
def test_successive_halving_rungs(args, rungs):
    got = successive_halving_rungs(*args)
    assert [(r.n_models, r.epochs) for r in got] == rungs


def _halving_reference(n, r0, max_iter, eta):
    """Epochs the k-th best model is trained, k = 1..n, by the definition, step by step.

    Step i keeps the best floor(n / eta**i) models (none left: stop) and trains them to
    round(r0 * eta**i) epochs, capped at max_iter; the steps stop after the one that
    keeps a single model or reaches max_iter.
    """
    e = Fraction(str(eta))
    trained = [0] * n
    i = 0
    while True:
        keep = math.floor(n / e**i)
        if keep < 1:
            return trained
        epochs = math.floor(r0 * e**i + Fraction(1, 2))
        if max_iter is not None:
            epochs = min(epochs, max_iter)
        for k in range(keep):
            trained[k] = max(trained[k], epochs)
        if keep == 1 or epochs == max_iter:
            return trained
        i += 1


@pytest.mark.parametrize("eta", [1.05, 1.1, 1.2, 1.5, 2, 2.5, 3, 4, 10])
def test_successive_halving_plan_halves(eta):
    for n in [*range(1, 30), 50, 81, 100, 243]:
        for r0 in (1, 2, 3, 5):
            for max_iter in (None, r0, r0 + 1, 9, 27, 100):
                if max_iter is not None and max_iter < r0:
                    continue
                rungs = successive_halving_rungs(n, r0, max_iter, eta)
                where = (n, r0, max_iter, eta, rungs)
                models = [r.n_models for r in rungs]
                epochs = [r.epochs for r in rungs]
                assert models[0] == n and epochs[0] == min(r0, max_iter or r0), where
                assert all(a > b for a, b in pairwise(models)), where
                assert all(a < b for a, b in pairwise(epochs)), where
                assert models[-1] >= 1, where
                assert max_iter is None or epochs[-1] <= max_iter, where
                # the k-th best model trains what the step-by-step definition trains it
                plan = [max(r.epochs for r in rungs if r.n_models > k) for k in range(n)]
                assert plan == _halving_reference(n, r0, max_iter, eta), where


def test_default_patience_is_exact():
    assert [default_patience(27, eta) for eta in (3, 2.5, 1.5, 10)] == [9, 10, 18, 2]
    assert default_patience(1, 3) == 1


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((0, 1, 9), "n_models must be an int >= 1"),
        ((9, 0, 9), "min_epochs must be an int >= 1"),
        ((9, 1, 0), "max_epochs must be an int >= 1"),
        ((9, 1, 9.0), "max_epochs must be an int >= 1"),
        ((9, 1.5, 9), "min_epochs"),
        ((9, 1, 9, 1), "eta"),
        ((9, 10, 9), "min_epochs must be <= max_epochs"),
    ],
)
def test_successive_halving_rungs_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        successive_halving_rungs(*args)


@pytest.mark.parametrize(
    ("max_iter", "eta", "match"),
    [
        (0, 3, r"max_iter must be an int >= 1, got 0"),
        (-1, 3, r"max_iter must be an int >= 1, got -1"),
        (2.5, 3, r"max_iter must be an int >= 1, got 2.5"),
        (27.0, 3, r"max_iter must be an int >= 1, got 27.0"),
        ("a", 3, r"max_iter must be an int >= 1, got 'a'"),
        (True, 3, r"max_iter must be an int >= 1, got True"),
        (None, 3, r"max_iter must be an int >= 1, got None"),
        (27, 1, r"eta \(aggressiveness\) must be a finite number > 1, got 1"),
        (27, 0.5, r"eta .* > 1, got 0.5"),
        (27, "3", r"eta .* > 1, got '3'"),
        (27, True, r"eta .* > 1, got True"),
        (27, float("nan"), r"eta .* > 1, got nan"),
        (27, float("inf"), r"eta .* > 1, got inf"),
        (27, -3, r"eta .* > 1, got -3"),
    ],
)
def test_validate_schedule_params(max_iter, eta, match):
    with pytest.raises(ValueError, match=match):
        validate_schedule_params(max_iter, eta)
    with pytest.raises(ValueError, match=match):
        hyperband_brackets(max_iter, eta)


def test_numpy_like_scalars_are_accepted():
    np = pytest.importorskip("numpy")
    assert hyperband_brackets(np.int64(27), np.int64(3)) == hyperband_brackets(27, 3)
    assert hyperband_brackets(27, np.float64(3.0)) == hyperband_brackets(27, 3)
    assert hyperband_brackets(20, np.float64(2.5)) == hyperband_brackets(20, 2.5)
    assert hyperband_brackets(27, Fraction(3)) == hyperband_brackets(27, 3)
