"""Promotion rules: ranking with NaN, top-k, ASHA and early stopping."""

from __future__ import annotations

import math
from collections import OrderedDict

import pytest

from skhpo._promotion import (
    asha_promotable,
    n_to_promote,
    rank_key,
    should_stop_early,
    top_k,
)

NAN, INF = math.nan, math.inf


# -- rank_key --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("better", "worse"),
    [
        (1.0, 0.0),
        (0.0, -1.0),
        (INF, 1e308),
        (-1e308, -INF),
        (-INF, NAN),
        (-INF, None),
        (0, NAN),
        (INF, NAN),
        (-0.5, None),
    ],
)
def test_rank_key_orders(better, worse):
    assert rank_key(better) > rank_key(worse)


@pytest.mark.parametrize(("a", "b"), [(NAN, None), (NAN, NAN), (1.0, 1), (-0.0, 0.0)])
def test_rank_key_ties(a, b):
    assert rank_key(a) == rank_key(b)


def test_rank_key_numpy_scalars():
    np = pytest.importorskip("numpy")
    assert rank_key(np.float32("nan")) == rank_key(None)
    assert rank_key(np.float64(0.5)) == rank_key(0.5)
    assert rank_key(np.int64(2)) > rank_key(np.float32(1.5))


def test_rank_key_sorts():
    scores = [0.5, NAN, None, 0.9, -INF, INF]
    assert sorted(scores, key=rank_key, reverse=True)[:4] == [INF, 0.9, 0.5, -INF]
    assert max([NAN, None, -INF], key=rank_key) == -INF


# -- top_k -----------------------------------------------------------------------------

SCORES = {"a": 0.1, "b": NAN, "c": 0.7, "d": 0.7, "e": None, "f": -INF, "g": 0.9}


@pytest.mark.parametrize(
    ("scores", "k", "expected"),
    [
        (SCORES, 1, ["g"]),
        (SCORES, 2, ["g", "c"]),
        (SCORES, 3, ["g", "c", "d"]),
        (SCORES, 5, ["g", "c", "d", "a", "f"]),
        (SCORES, 7, ["g", "c", "d", "a", "f"]),  # NaN and None are never returned
        (SCORES, 100, ["g", "c", "d", "a", "f"]),
        (SCORES, 0, []),
        (SCORES, -1, []),
        ({}, 3, []),
        ({"x": NAN, "y": None}, 2, []),
        # Ties go to the first inserted, whatever the keys.
        ({"z": 0.5, "a": 0.5, "m": 0.5}, 2, ["z", "a"]),
        ({3: 1.0, 1: 1.0, 2: 1.0}, 3, [3, 1, 2]),
        (OrderedDict([(2, 0.0), (1, 0.0)]), 1, [2]),
        ({"lo": -INF, "hi": INF, "mid": 0.0}, 3, ["hi", "mid", "lo"]),
        ({(0, 1): 0.3, (1, 0): 0.4}, 1, [(1, 0)]),
    ],
)
def test_top_k(scores, k, expected):
    assert top_k(scores, k) == expected


def test_top_k_leaves_input_alone():
    scores = dict(SCORES)
    top_k(scores, 3)
    assert list(scores) == list(SCORES)


# -- n_to_promote ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "eta", "expected"),
    [
        (0, 3, 0),
        (1, 3, 0),
        (2, 3, 0),
        (3, 3, 1),
        (8, 3, 2),
        (9, 3, 3),
        (27, 3, 9),
        (81, 3, 27),
        (5, 2, 2),
        (7, 4, 1),
        (5, 2.5, 2),
        (10, 2.5, 4),
        (3, 1.5, 2),
        # 0.3 * 10 == 3.0000000000000004 in floats; 3 / 0.3 == 10 exactly here.
        (3, 0.3, 10),
        (11, 1.1, 10),
    ],
)
def test_n_to_promote(n, eta, expected):
    assert n_to_promote(n, eta) == expected
    assert isinstance(n_to_promote(n, eta), int)


# -- asha_promotable -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rung_scores", "promoted", "eta", "expected"),
    [
        ({}, [], 3, []),
        ({"a": 0.5}, [], 3, []),  # 1 / 3 rounds down to nobody
        ({"a": 0.5, "b": 0.6}, [], 3, []),
        ({"a": 0.2, "b": 0.9, "c": 0.5}, [], 3, ["b"]),
        ({"a": 0.2, "b": 0.9, "c": 0.5}, ["b"], 3, []),
        # Six reached: the top two may go, b already went.
        ({"a": 0.2, "b": 0.9, "c": 0.5, "d": 0.1, "e": 0.7, "f": 0.3}, ["b"], 3, ["e"]),
        # A promotion is never taken back: a left the top, nobody else gets its place.
        ({"a": 0.2, "b": 0.9, "c": 0.95}, ["a"], 3, ["c"]),
        # NaN and None count as arrivals but are never promoted.
        ({"a": NAN, "b": NAN, "c": NAN}, [], 3, []),
        ({"a": NAN, "b": None, "c": 0.1}, [], 3, ["c"]),
        ({"a": NAN, "b": 0.1, "c": 0.2, "d": NAN, "e": NAN, "f": NAN}, [], 3, ["c", "b"]),
        # Ties go to whoever reached the rung first.
        ({"a": 0.5, "b": 0.5, "c": 0.5}, [], 3, ["a"]),
        ({"a": 0.5, "b": 0.5, "c": 0.5, "d": 0.5}, [], 2, ["a", "b"]),
        ({"a": 0.1, "b": 0.4, "c": 0.3, "d": 0.2}, [], 2, ["b", "c"]),
        ({"a": 0.1, "b": 0.4, "c": 0.3, "d": 0.2, "e": 0.0}, ["c"], 2.5, ["b"]),
    ],
)
def test_asha_promotable(rung_scores, promoted, eta, expected):
    assert asha_promotable(rung_scores, promoted, eta) == expected


def test_asha_promotes_each_model_at_most_once_as_models_arrive():
    arrivals = [("a", 0.3), ("b", 0.1), ("c", 0.8), ("d", NAN), ("e", 0.9), ("f", 0.2),
                ("g", 0.5), ("h", 0.95), ("i", 0.0)]  # fmt: skip
    scores: dict[str, float] = {}
    promoted: list[str] = []
    for name, score in arrivals:
        scores[name] = score
        promoted += asha_promotable(scores, promoted, 3)
    assert promoted == ["c", "e", "h"]
    assert len(promoted) == len(set(promoted)) == n_to_promote(len(arrivals), 3)


# -- should_stop_early -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "patience", "tol", "expected"),
    [
        ([], 2, 1e-3, False),
        ([0.5], 1, 1e-3, False),
        ([0.5, 0.6], 2, 1e-3, False),  # not more than patience scores yet
        ([0.5, 0.5], 1, 1e-3, True),
        ([0.5, 0.6], 1, 1e-3, False),
        ([0.5, 0.5005], 1, 1e-3, True),  # improved, but by less than tol
        ([0.5, 0.502], 1, 1e-3, False),
        ([0.5, 0.6, 0.6, 0.6], 2, 1e-3, True),
        ([0.5, 0.6, 0.7, 0.6], 2, 1e-3, False),
        ([0.5, 0.6, 0.6, 0.7], 2, 1e-3, False),
        # The baseline is the best of all earlier scores, not the one patience back.
        ([0.9, 0.5, 0.6, 0.7], 2, 1e-3, True),
        ([0.9, 0.5, 0.6, 0.7], 3, 1e-3, True),
        ([0.5, 0.6, 0.6, 0.7], 3, 1e-3, False),
        # An improvement must be more than tol: with tol = 0, a repeat is no improvement.
        ([0.5, 0.5], 1, 0.0, True),
        ([0.5, 0.75], 1, 0.25, True),
        ([0.5, 0.875], 1, 0.25, False),
        ([0.5, 0.50001], 1, 0.0, False),
        # A negative tol lets a small drop pass.
        ([0.5, 0.49], 1, -0.05, False),
        # patience < 1 never stops.
        ([0.5, 0.5, 0.5], 0, 1e-3, False),
        ([0.5, 0.5, 0.5], -1, 1e-3, False),
        # NaN counts as no improvement.
        ([0.5, NAN], 1, 1e-3, True),
        ([0.5, NAN, NAN], 2, 1e-3, True),
        ([0.5, NAN, 0.7], 2, 1e-3, False),
        ([NAN, NAN], 1, 1e-3, True),
        ([NAN, 0.1], 1, 1e-3, False),
        ([None, 0.1, None], 1, 1e-3, True),
        ([0.5, NAN, 0.6, 0.6], 2, 1e-3, False),
        ([0.7, NAN, 0.6, 0.6], 2, 1e-3, True),
        # Infinite scores.
        ([-INF, 0.0], 1, 1e-3, False),
        ([INF, 1.0], 1, 1e-3, True),
        ([0.0, INF], 1, 1e-3, False),
    ],
)
def test_should_stop_early(scores, patience, tol, expected):
    assert should_stop_early(scores, patience, tol) is expected


def test_should_stop_early_matches_definition():
    # max(scores[-p:]) <= max(scores[:-p]) + tol, for NaN-free scores.
    import itertools

    for scores in itertools.product([0.0, 0.5, 0.5005, 1.0], repeat=4):
        for p in (1, 2, 3):
            expected = max(scores[-p:]) <= max(scores[:-p]) + 1e-3
            assert should_stop_early(list(scores), p, 1e-3) is expected, (scores, p)


def test_should_stop_early_takes_tuples_and_numpy():
    np = pytest.importorskip("numpy")
    assert should_stop_early((0.5, 0.5), 1, 1e-3) is True
    assert should_stop_early(np.array([0.5, 0.6, 0.6]), 1, 1e-3) is True
    assert should_stop_early(np.array([0.5, np.nan], dtype=np.float32), 1, 1e-3) is True


@pytest.mark.parametrize(
    "scores, pruned_at_each_report",
    [
        # three of nine go on: a trial is pruned once three others scored ahead of it
        (
            [0.1, 0.9, 0.5, 0.8, float("nan"), 0.7, 0.2, 0.95, 0.3],
            [[], [], [], [0], [4], [2], [6], [5], [8]],
        ),
        # ties rank the earlier trial first
        ([0.5] * 9, [[], [], [], [3], [4], [5], [6], [7], [8]]),
        # improving scores push one trial out at a time
        ([0.1 * i for i in range(9)], [[], [], [], [0], [1], [2], [3], [4], [5]]),
    ],
)
def test_sync_halving_prunes_a_trial_as_soon_as_it_cannot_go_on(scores, pruned_at_each_report):
    from skhpo._driver import SyncHalving
    from skhpo._schedule import Bracket, Rung

    bracket = Bracket(index=2, rungs=(Rung(9, 1), Rung(3, 3), Rung(1, 9)))
    policy = SyncHalving(bracket, range(9))
    pruned = [policy.report(i, s)[1] for i, s in enumerate(scores)]
    assert pruned == pruned_at_each_report
    # the rung's end promotes exactly what top_k promotes from all nine
    winners = top_k(dict(enumerate(scores)), 3)
    assert policy.members == sorted(winners)
    assert sorted(sum(pruned, [])) == sorted(set(range(9)) - set(winners))


NAN_ = float("nan")


@pytest.mark.parametrize(
    "scores, promoted_at_each_report, pruned_at_the_end",
    [
        # one of every three reached goes on at once: floor(n / 3) of the n scored so far
        (
            [0.1, 0.9, 0.5, 0.8, NAN_, 0.7, 0.2, 0.95, 0.3],
            [[], [], [1], [], [], [3], [], [7], []],
            [0, 2, 4, 5, 6, 8],
        ),
        # promotions are never taken back, and the rung sends on at most three: 0 went
        # up early, so 5 (better, but late) does not, unlike synchronous halving
        (
            [0.5, 0.1, 0.2, 0.9, 0.8, 0.7, 0.6, 0.3, 0.4],
            [[], [], [0], [3], [], [4], [], [], []],
            [1, 2, 5, 6, 7, 8],
        ),
        # NaN is never promoted: fewer than three may go on
        ([NAN_] * 8 + [0.5], [[]] * 8 + [[8]], list(range(8))),
    ],
)
def test_async_halving_promotes_as_soon_as_a_trial_is_in_the_top_third(
    scores, promoted_at_each_report, pruned_at_the_end
):
    from skhpo._driver import AsyncHalving
    from skhpo._schedule import Bracket, Rung

    bracket = Bracket(index=2, rungs=(Rung(9, 1), Rung(3, 3), Rung(1, 9)))
    policy = AsyncHalving(bracket, range(9), eta=3)
    assert policy.start() == [(i, 1) for i in range(9)]
    reports = [policy.report(i, None if s != s else s) for i, s in enumerate(scores)]
    assert [[j for j, _ in r[0]] for r in reports] == promoted_at_each_report
    assert all(target == 3 for r in reports for _, target in r[0])
    # the rung is complete with its ninth score: whoever was not promoted is pruned then
    assert [r[1] for r in reports[:-1]] == [[]] * 8 and reports[-1][1] == pruned_at_the_end
    assert policy.first_rung_done() and not any(r[2] for r in reports)
    promoted = sum(promoted_at_each_report, [])
    assert all(policy.rung_of(j) == 1 for j in promoted)
    assert policy.reached == [9, len(promoted)]


def test_async_halving_runs_a_bracket_to_its_end():
    from skhpo._driver import AsyncHalving
    from skhpo._schedule import Bracket, Rung

    bracket = Bracket(index=2, rungs=(Rung(9, 1), Rung(3, 3), Rung(1, 9)))
    policy = AsyncHalving(bracket, range(9), eta=3)
    for i, s in enumerate([0.1, 0.9, 0.5, 0.8, 0.6, 0.7, 0.2, 0.95, 0.3]):
        policy.report(i, s)  # promotes 1, 3 and 7 to rung 1
    assert policy.report(1, 0.91) == ([], [], [], [])
    assert policy.report(7, None) == ([], [], [], [])  # failed at rung 1: never promoted
    to_submit, pruned, done, messages = policy.report(3, 0.85)
    # three reached rung 1: the best of them goes on to 9 epochs, the others are pruned
    assert to_submit == [(1, 9)] and pruned == [7, 3] and done == []
    assert messages == ["bracket=2: trial 1 promoted to rung 2 (9 epochs)"]
    assert policy.report(1, 0.99) == ([], [], [1], [])  # the last rung completes it
    assert policy.reached == [9, 3, 1]
