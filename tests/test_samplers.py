"""RandomSampler and GPSampler: ask/tell, the unit cube, batches, budgets, failures, state."""

from __future__ import annotations

import json
import math
import pickle
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats
from sklearn.gaussian_process import GaussianProcessRegressor

from skhpo._gp import Posterior, make_kernel, neg_log_marginal_likelihood
from skhpo.samplers import GPSampler, RandomSampler, _Snapper
from skhpo.space import Categorical, Integer, Real, SearchSpace

MIXED = {
    "lr": (1e-4, 1e-1, "log-uniform"),
    "units": (8, 512, "log-uniform"),
    "layers": (1, 4),
    "dropout": (0.0, 0.5),
    "optimizer": ["adam", "rmsprop", None],
    "scale": stats.uniform(1.0, 2.0),
}


class OnlyRvs:
    """A distribution that can be drawn from, but not mapped to the unit cube."""

    def rvs(self, random_state=None):
        return 1.0


def quadratic(p):
    """A smooth function of the 2-D space SPACE2, best (0) at x=0.3, y=0.6."""
    return -((p["x"] - 0.3) ** 2) - (p["y"] - 0.6) ** 2


SPACE2 = {"x": (0.0, 1.0), "y": (0.0, 1.0)}


def branin(p):
    x1, x2 = p["x1"], p["x2"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


BRANIN = {"x1": (-5.0, 10.0), "x2": (0.0, 15.0)}


def run(sampler, f, n, batch=1):
    for _ in range(0, n, batch):
        params = sampler.ask(batch)
        sampler.tell(params, [f(p) for p in params])
    return sampler


def best(sampler):
    return max(o["score"] for o in sampler.observations)


# -- RandomSampler ----------------------------------------------------------------------


def test_random_sampler_ask_tell_and_reproducibility():
    a = RandomSampler(MIXED, random_state=0)
    params = a.ask(5)
    assert len(params) == 5 and all(sorted(p) == sorted(MIXED) for p in params)
    assert RandomSampler(MIXED, random_state=0).ask(5) == params
    a.tell(params, [1.0, 2.0, float("nan"), 3.0, 4.0], budget=3)
    a.tell(params[0], 5.0)
    obs = a.observations
    assert [o["budget"] for o in obs] == [3] * 5 + [None]
    assert obs[-1] == {"params": params[0], "score": 5.0, "budget": None}
    obs[0]["params"]["lr"] = "changed"  # a copy
    assert a.observations[0]["params"]["lr"] == params[0]["lr"]


def test_random_sampler_takes_a_list_of_dicts_and_starting_points():
    sampler = RandomSampler([{"a": [1, 2]}, {"b": (0.0, 1.0)}], random_state=0)
    sampler.add_starting_point({"b": 0.25})
    params = sampler.ask(30)
    assert params[0] == {"b": 0.25}
    assert {tuple(p) for p in params} == {("a",), ("b",)}


# -- the unit cube and the GP ----------------------------------------------------------


@pytest.mark.parametrize(
    "dim",
    [
        Real(-2.0, 3.0),
        Real(1e-4, 1.0, log=True),
        Integer(0, 9),
        Integer(1, 1000, log=True),
        Integer(5, 5),
        Categorical(["a", None, 3]),
        SearchSpace.from_params({"d": stats.norm(0, 1)}).subspaces[0]["d"],
        SearchSpace.from_params({"d": stats.randint(2, 7)}).subspaces[0]["d"],
        SearchSpace.from_params({"d": stats.randint(0, 5000)}).subspaces[0]["d"],
        Integer(8, 64, step=4),
        Integer(2, 512, log=True, step=2),
        Real(0.0, 0.5, step=0.05),
        Real(1e-5, 1e-1, log=True, step=10),
    ],
    ids=repr,
)
def test_vectorised_snap_matches_the_space(dim):
    rng = np.random.RandomState(0)
    U = rng.uniform(-0.1, 1.1, size=(300, dim.n_unit))
    expected = np.array([dim.to_unit(dim.from_unit(u)) for u in U])
    np.testing.assert_allclose(_Snapper(dim)(U), expected, atol=1e-12)


def test_fast_log_marginal_likelihood_is_scikit_learns():
    rng = np.random.RandomState(0)
    X = rng.rand(25, 3)
    X[1] = X[0]  # a duplicate
    y = np.sin(4 * X).sum(1)
    y = (y - y.mean()) / y.std()
    kernel = make_kernel(3)
    gp = GaussianProcessRegressor(kernel, alpha=1e-8, optimizer=None).fit(X, y)
    bounds = kernel.bounds
    for _ in range(5):
        theta = rng.uniform(bounds[:, 0], bounds[:, 1])
        lml, grad = gp.log_marginal_likelihood(theta, eval_gradient=True)
        neg, neg_grad = neg_log_marginal_likelihood(theta, X, y)
        assert -neg == pytest.approx(lml, rel=1e-8)
        np.testing.assert_allclose(-neg_grad, grad, rtol=1e-6, atol=1e-6)


def test_posterior_predicts_like_scikit_learn_with_gradients():
    rng = np.random.RandomState(1)
    X = rng.rand(30, 4)
    y = np.cos(3 * X).sum(1) + 0.01 * rng.randn(30)
    post = Posterior(X, y, None, 0, 1)
    U = rng.rand(7, 4)
    mu, sd, dmu, dsd = post.predict(U, grad=True)
    mean, std = post.gp.predict(U, return_std=True)
    noise = post.gp.kernel_.k2.noise_level
    np.testing.assert_allclose(mu, mean, atol=1e-8)
    np.testing.assert_allclose(sd, np.sqrt(np.maximum(std**2 - noise, 1e-12)), rtol=1e-4)
    eps = 1e-6
    for j in range(4):
        step = np.zeros(4)
        step[j] = eps
        mu2, sd2 = post.predict(U + step)
        np.testing.assert_allclose((mu2 - mu) / eps, dmu[:, j], rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose((sd2 - sd) / eps, dsd[:, j], rtol=1e-3, atol=1e-4)


# -- GPSampler --------------------------------------------------------------------------


def test_gp_sampler_is_reproducible():
    a = run(GPSampler(SPACE2, n_initial_points=4, random_state=3), quadratic, 10)
    b = run(GPSampler(SPACE2, n_initial_points=4, random_state=3), quadratic, 10)
    assert a.observations == b.observations
    c = run(GPSampler(SPACE2, n_initial_points=4, random_state=4), quadratic, 10)
    assert c.observations != a.observations


def test_gp_sampler_respects_bounds_types_and_priors():
    def score(p):
        return (
            -abs(math.log10(p["lr"]) + 2) - abs(p["units"] - 100) / 100 - (p["optimizer"] is None)
        )

    sampler = GPSampler(MIXED, n_initial_points=5, random_state=0)
    run(sampler, score, 16, batch=4)
    assert [i["origin"] for i in sampler.last_ask_] == ["model"] * 4
    for o in sampler.observations:
        p = o["params"]
        assert type(p["lr"]) is float and 1e-4 <= p["lr"] <= 1e-1
        assert type(p["units"]) is int and 8 <= p["units"] <= 512
        assert type(p["layers"]) is int and 1 <= p["layers"] <= 4
        assert type(p["dropout"]) is float and 0.0 <= p["dropout"] <= 0.5
        assert p["optimizer"] in ("adam", "rmsprop", None)
        assert type(p["scale"]) is float and 1.0 <= p["scale"] <= 3.0


GRID = {
    "units": Integer(8, 64, step=4),
    "width": Integer(2, 512, log=True, step=2),
    "dropout": Real(0.0, 0.5, step=0.05),
    "lr": Real(1e-5, 1e-1, log=True, step=10),
    "x": (0.0, 1.0),
}


def test_gp_proposes_only_grid_points():
    def score(p):
        units, width = abs(p["units"] - 30) / 10, abs(math.log2(p["width"]) - 5)
        return -units - width - 10 * abs(p["dropout"] - 0.23)

    sampler = run(GPSampler(GRID, n_initial_points=5, random_state=0), score, 36, batch=3)
    assert [i["origin"] for i in sampler.last_ask_] == ["model"] * 3
    space = SearchSpace.from_params(GRID).subspaces[0]
    for o in sampler.observations:
        p = o["params"]
        assert type(p["units"]) is int and p["units"] % 4 == 0
        assert p["width"] in [2**k for k in range(1, 10)]
        assert type(p["dropout"]) is float and p["dropout"] in [i / 20 for i in range(11)]
        assert p["lr"] in (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
        assert all(space[name].contains(p[name]) for name in ("units", "dropout", "lr"))
    # it searches the grid: the best point is the grid's best, or next to it
    p = max(sampler.observations, key=lambda o: o["score"])["params"]
    assert p["units"] in (28, 32) and p["width"] in (16, 32, 64) and p["dropout"] in (0.2, 0.25)


def test_starting_points_must_lie_on_the_grid():
    sampler = GPSampler({"units": (8, 64, 4)})
    sampler.add_starting_point({"units": 12})
    with pytest.raises(ValueError, match=r"units=13 is not in Integer\(low=8, high=64, step=4\)"):
        sampler.add_starting_point({"units": 13})


BRANCHES = {
    "branch": Categorical(["a", "b"]),
    "xa1": Real(-5.0, 10.0, when={"branch": "a"}),
    "xa2": Real(0.0, 15.0, when={"branch": "a"}),
    "xb1": Real(-5.0, 10.0, when={"branch": "b"}),
    "xb2": Real(0.0, 15.0, when={"branch": "b"}),
}


def branches(p):
    """Two Branin branches with their own parameters; branch b is best (-0.398)."""
    if p["branch"] == "a":
        assert set(p) == {"branch", "xa1", "xa2"}
        return -branin({"x1": p["xa1"], "x2": p["xa2"]}) - 2.0
    assert set(p) == {"branch", "xb1", "xb2"}
    return -branin({"x1": p["xb1"], "x2": p["xb2"]})


def test_gp_snaps_inactive_parameters_outside_the_cube():
    sampler = GPSampler(BRANCHES, random_state=0)
    U = sampler._snap(np.random.RandomState(0).uniform(-0.2, 1.2, size=(200, sampler.n_dims)))
    branch_a = U[:, 0] > U[:, 1]  # one-hot of "branch": a, b
    assert (U[branch_a, 4:] == -0.5).all() and (U[~branch_a, 2:4] == -0.5).all()
    assert ((U[branch_a, 2:4] >= 0) & (U[branch_a, 2:4] <= 1)).all()
    assert [sampler.space.from_unit(u) for u in U] == [
        sampler.space.from_unit(u) for u in sampler._snap(U)
    ]


@pytest.mark.slow
def test_gp_beats_random_search_on_a_conditional_benchmark():
    # bench/conditional.py measures 10 seeds; three here
    gp, rand = [], []
    for seed in range(3):
        gp.append(best(run(GPSampler(BRANCHES, random_state=seed), branches, 40)))
        rand.append(best(run(RandomSampler(BRANCHES, random_state=seed), branches, 40)))
    print(f"median best of 3 seeds: GP {np.median(gp):.3f}, random {np.median(rand):.3f}")
    # the optimum is -0.398; the GP's median is -0.41 to -0.65 with the oldest and newest
    # numpy/scipy/scikit-learn we test (their optimisers differ), random search's about -2
    assert np.median(gp) > -1.0
    assert np.median(gp) > np.median(rand)


def test_integer_and_categorical_spaces_are_searched():
    space = {"k": (1, 30), "c": ["a", "b", "c", "d"]}

    def score(p):
        return -abs(p["k"] - 17) - 5 * (p["c"] != "c")

    sampler = run(GPSampler(space, n_initial_points=5, random_state=0), score, 25)
    assert best(sampler) == 0  # found k=17, c="c"
    seen = [tuple(sorted(o["params"].items())) for o in sampler.observations]
    assert len(set(seen)) == len(seen)  # no setting evaluated twice


def test_constant_liar_batches_are_distinct_and_pending():
    sampler = run(GPSampler(SPACE2, n_initial_points=6, random_state=0), quadratic, 6)
    batch = sampler.ask(5)
    assert [i["origin"] for i in sampler.last_ask_] == ["model"] * 5
    units = np.array([sampler.space.to_unit(p) for p in batch])
    dists = np.linalg.norm(units[:, None] - units[None], axis=-1)
    assert dists[np.triu_indices(5, 1)].min() > 1e-3
    # asked but not told: pending, so the next ask avoids them as well
    assert len(sampler._pending) == 5
    more = sampler.ask(1)
    assert more[0] not in batch
    sampler.tell(batch + more, [quadratic(p) for p in batch + more])
    assert sampler._pending == []


def test_a_small_space_is_exhausted_then_repeated():
    sampler = GPSampler({"k": [1, 2, 3]}, n_initial_points=1, random_state=0)
    run(sampler, lambda p: -p["k"], 3)
    assert sorted(o["params"]["k"] for o in sampler.observations) == [1, 2, 3]
    assert sampler.ask(2)[0]["k"] in (1, 2, 3)


def test_nan_inf_and_duplicates_are_tolerated():
    sampler = GPSampler(SPACE2, n_initial_points=3, random_state=0)
    params = sampler.ask(3)
    sampler.tell(params, [float("nan"), -float("inf"), float("inf")])
    # no finite score yet: random points, no error
    assert [i["origin"] for i in sampler.last_ask_] == ["random"] * 3
    nxt = sampler.ask(2)
    assert [i["origin"] for i in sampler.last_ask_] == ["random"] * 2
    sampler.tell(nxt, [quadratic(nxt[0]), None])
    dup = {"x": 0.5, "y": 0.5}
    sampler.tell([dup, dup, dup], [-0.1, -0.2, float("nan")])
    batch = sampler.ask(3)
    assert [i["origin"] for i in sampler.last_ask_] == ["model"] * 3
    for p in batch:
        assert 0 <= p["x"] <= 1 and 0 <= p["y"] <= 1
    assert math.isnan(sampler.observations[0]["score"])


def test_initial_points_are_evaluated_first():
    starts = [{"x": 0.1, "y": 0.2}, [0.9, 0.8]]  # a list: values in sorted-name order
    sampler = GPSampler(SPACE2, initial_points=starts, n_initial_points=2, random_state=0)
    sampler.add_starting_point({"x": 0.5, "y": 0.5})
    first = sampler.ask(2)
    assert first == [{"x": 0.1, "y": 0.2}, {"x": 0.9, "y": 0.8}]
    assert [i["origin"] for i in sampler.last_ask_] == ["initial", "initial"]
    sampler.tell(first, [quadratic(p) for p in first])
    nxt = sampler.ask(4)
    assert nxt[0] == {"x": 0.5, "y": 0.5}
    origins = [i["origin"] for i in sampler.last_ask_]
    assert origins == ["initial", "random", "random", "model"]


def test_outside_observations_shorten_the_random_start():
    sampler = GPSampler(SPACE2, n_initial_points=5, random_state=0)
    points = RandomSampler(SPACE2, random_state=1).ask(5)
    sampler.tell(points, [quadratic(p) for p in points])
    sampler.ask()
    assert sampler.last_ask_[0]["origin"] == "model"


def test_the_model_uses_the_largest_budget_with_enough_observations():
    sampler = GPSampler(SPACE2, n_initial_points=0, min_points_in_model=4, random_state=0)
    points = RandomSampler(SPACE2, random_state=1).ask(12)
    sampler.ask()
    assert sampler.last_ask_ == [{"origin": "random", "budget": None}]
    sampler.tell(points, [quadratic(p) for p in points], budget=1)
    sampler.tell(points[:3], [quadratic(p) for p in points[:3]], budget=9)
    sampler.tell(points[:5], [quadratic(p) for p in points[:5]], budget=3)
    sampler.ask()
    assert sampler.last_ask_ == [{"origin": "model", "budget": 3}]
    sampler.tell(points[3:4], [quadratic(points[3])], budget=9.0)
    sampler.ask()
    assert sampler.last_ask_ == [{"origin": "model", "budget": 9}]
    sampler.tell(points[:4], [quadratic(p) for p in points[:4]])  # None: the full budget
    sampler.ask()
    assert sampler.last_ask_ == [{"origin": "model", "budget": None}]


@pytest.mark.parametrize(
    ("low_scores", "max_points", "expected"),
    [
        (lambda p: quadratic(p) - 0.1, 200, 1),  # biased, same order: budget 1's 40 points
        (lambda p: -quadratic(p), 200, 9),  # the opposite order: budget 9's own 8
        (lambda p: quadratic(p) - 0.1, 8, 9),  # budget 9 already fills the model
    ],
    ids=["agreeing", "reversed", "full"],
)
def test_a_lower_budget_is_modelled_where_it_ranks_as_the_largest(low_scores, max_points, expected):
    """budget_model="agreeing": a lower budget stands in for the largest
    budget with enough points when its scores order their common points as that one
    does (Kendall's tau >= 0.7, significant), and gives the model more points."""
    sampler = GPSampler(
        SPACE2,
        n_initial_points=0,
        min_points_in_model=4,
        max_points_in_model=max_points,
        budget_model="agreeing",
        random_state=0,
    )
    points = RandomSampler(SPACE2, random_state=1).ask(40)
    sampler.tell(points, [low_scores(p) for p in points], budget=1)
    sampler.tell(points[:8], [quadratic(p) for p in points[:8]], budget=9)
    sampler.ask()
    assert sampler.last_ask_ == [{"origin": "model", "budget": expected}]
    assert len(sampler.model_.X_train_) == (40 if expected == 1 else 8)


def test_hyperparameters_are_re_estimated_beyond_max_points_in_model():
    """The model's observations keep growing past max_points_in_model: its kernel is
    fitted again (it used to stay at the one fitted when the cap was reached)."""
    sampler = GPSampler(SPACE2, n_initial_points=0, max_points_in_model=20, random_state=0)
    points = RandomSampler(SPACE2, random_state=1).ask(60)
    sampler.tell(points[:20], [quadratic(p) for p in points[:20]])
    sampler.ask()
    before = sampler.model_.kernel_.theta.copy()
    sampler.tell(points[20:], [-10 * abs(p["x"] - 0.9) for p in points[20:]])
    sampler.ask()
    assert not np.allclose(sampler.model_.kernel_.theta, before)


def test_the_joint_model_learns_from_every_budget():
    """budget_model="joint": one model over (point, budget coordinate) fitted on the
    observations of every budget; it proposes for the largest budget told, so that many
    cheap observations guide it before the large budget has enough of its own."""
    sampler = GPSampler(
        SPACE2, n_initial_points=0, min_points_in_model=4, budget_model="joint", random_state=0
    )
    points = RandomSampler(SPACE2, random_state=1).ask(30)
    sampler.tell(points, [quadratic(p) - 0.1 for p in points], budget=1)  # biased, same ranks
    sampler.tell(points[:2], [quadratic(p) for p in points[:2]], budget=27)
    proposals = sampler.ask(3)
    assert [i["origin"] for i in sampler.last_ask_] == ["model"] * 3
    assert {i["budget"] for i in sampler.last_ask_} == {27}
    assert sampler.model_.X_train_.shape == (32 + 3 - 3, 3)  # x, y and the budget
    np.testing.assert_array_equal(np.unique(sampler.model_.X_train_[:, 2]), [0.0, 1.0])
    assert max(quadratic(p) for p in proposals) > -0.01  # the optimum, from budget 1's shape
    largest = GPSampler(SPACE2, n_initial_points=0, min_points_in_model=4, random_state=0)
    largest.tell(points, [quadratic(p) - 0.1 for p in points], budget=1)
    largest.tell(points[:2], [quadratic(p) for p in points[:2]], budget=27)
    largest.ask()
    assert largest.last_ask_ == [{"origin": "model", "budget": 1}]  # 27 has too few
    with pytest.raises(ValueError, match="budget_model must be one of"):
        GPSampler(SPACE2, budget_model="per-budget")


@pytest.mark.parametrize("budget_model", ["largest", "joint"])
def test_the_model_keeps_at_most_max_points_in_model(budget_model):
    sampler = GPSampler(
        SPACE2,
        min_points_in_model=11,
        max_points_in_model=20,
        budget_model=budget_model,
        random_state=0,
    )
    points = RandomSampler(SPACE2, random_state=1).ask(60)
    scores = [quadratic(p) for p in points]
    sampler.tell(points[:50], scores[:50], budget=1)
    sampler.tell(points[50:], scores[50:], budget=3)
    sampler.ask()
    X = sampler.model_.X_train_
    assert len(X) == 20
    top = SearchSpace.from_params(SPACE2).to_unit(points[int(np.argmax(scores[:50]))])
    if budget_model == "largest":  # budget 1: the best ten of its 50, ten more spread out
        assert sampler.last_ask_[0]["budget"] == 1
        assert any(np.allclose(x, top) for x in X)
    else:  # budget 3's ten, then budget 1's best ten
        assert (X[:, 2] == 1.0).sum() == 10
        assert any(np.allclose(x[:2], top) for x in X[X[:, 2] == 0.0])


def test_a_sampler_resumed_from_its_state_keeps_its_observations_per_budget():
    """The state holds every observation with its budget: a sampler rebuilt from it
    models the same budgets (the warm start of a search resumed from its storage tells
    the stored scores again instead, see test_storage)."""
    sampler = GPSampler(SPACE2, n_initial_points=0, min_points_in_model=4, random_state=0)
    points = RandomSampler(SPACE2, random_state=1).ask(12)
    sampler.tell(points, [quadratic(p) for p in points], budget=1)
    sampler.tell(points[:5], [quadratic(p) for p in points[:5]], budget=3)
    copy = GPSampler.from_state(SPACE2, json.loads(json.dumps(sampler.state())))
    assert copy.observations == sampler.observations
    copy.ask()
    assert copy.last_ask_ == [{"origin": "model", "budget": 3}]


def test_random_fraction_keeps_random_draws():
    sampler = run(GPSampler(SPACE2, n_initial_points=3, random_state=0), quadratic, 3)
    sampler.random_fraction = 1.0
    sampler.ask(3)
    assert [i["origin"] for i in sampler.last_ask_] == ["random"] * 3


@pytest.mark.parametrize("acq_func", ["EI", "PI", "LCB", "gp_hedge"])
def test_acquisition_functions_find_the_optimum(acq_func):
    sampler = GPSampler(SPACE2, n_initial_points=5, acq_func=acq_func, random_state=0)
    run(sampler, quadratic, 20)
    assert best(sampler) > -0.01


def test_sampling_only_acquisition_optimizer():
    sampler = GPSampler(
        SPACE2,
        n_initial_points=5,
        n_candidates=200,
        acq_optimizer_kwargs={"n_restarts_optimizer": 0},
        random_state=0,
    )
    assert best(run(sampler, quadratic, 15)) > -0.02


def test_gp_beats_random_search():
    gp, rand = [], []
    for seed in range(3):
        gp.append(best(run(GPSampler(BRANIN, random_state=seed), lambda p: -branin(p), 25)))
        rand.append(best(run(RandomSampler(BRANIN, random_state=seed), lambda p: -branin(p), 25)))
    # the optimum is -0.3979; random search gets about -1.5 in 25 evaluations
    assert np.median(gp) > -0.45
    assert np.median(gp) > np.median(rand)


@pytest.mark.parametrize("cls", [RandomSampler, GPSampler])
def test_state_round_trips_through_json(cls):
    kwargs = {"n_initial_points": 4} if cls is GPSampler else {}
    space = {"x": (0.0, 1.0), "y": (0.0, 1.0), "c": ["a", "b"]}

    def score(p):
        return quadratic(p) - (p["c"] == "a")

    sampler = run(cls(space, random_state=0, **kwargs), score, 8, batch=2)
    sampler.tell(sampler.ask(1), float("nan"), budget=2)
    sampler.ask(2)  # pending
    sampler.add_starting_point({"x": 0.5, "y": 0.5, "c": "b"})
    state = json.loads(json.dumps(sampler.state()))
    copy = cls.from_state(space, state)
    assert json.dumps(copy.state()) == json.dumps(state)
    assert copy.ask(3) == sampler.ask(3)
    with pytest.raises(ValueError, match="belongs to a"):
        (GPSampler if cls is RandomSampler else RandomSampler).from_state(space, state)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"space": [{"a": (0.0, 1.0)}, {"b": [1, 2]}]}, "one GPSampler per dict"),
        ({"space": {"a": OnlyRvs()}}, "no cdf/ppf"),
        ({"space": {}}, "empty"),
        ({"acq_func": "EIps"}, "acq_func must be one of"),
        ({"n_initial_points": -1}, "n_initial_points must be an int >= 0"),
        ({"n_candidates": 0}, "n_candidates must be an int >= 1"),
        ({"random_fraction": 1.5}, "random_fraction must be a number in"),
        ({"kappa": -1}, "kappa must be a number >= 0"),
        ({"min_points_in_model": 0}, "min_points_in_model must be an int >= 1"),
        ({"max_points_in_model": 1}, "max_points_in_model must be an int >= 2"),
        ({"acq_optimizer_kwargs": {"n_points": 10}}, "Unknown acq_optimizer_kwargs"),
        ({"initial_points": {"x": 0.5, "y": 0.5}}, "initial_points must be a list of dicts"),
        ({"initial_points": [{"x": 0.5}]}, "does not name the parameters"),
        ({"initial_points": [{"x": 1.5, "y": 0.5}]}, r"x=1.5 is not in Real"),
        ({"initial_points": [[0.5]]}, "a list of 2 values"),
    ],
)
def test_gp_sampler_errors(kwargs, match):
    kwargs = {"space": SPACE2, **kwargs}
    with pytest.raises(ValueError, match=match):
        GPSampler(**kwargs)


def test_ask_and_tell_errors():
    sampler = GPSampler({"k": (1, 5), "c": ["a", "b"]}, random_state=0)
    with pytest.raises(ValueError, match="n >= 1"):
        sampler.ask(0)
    with pytest.raises(ValueError, match="2 parameter settings but 3 scores"):
        sampler.tell([{"k": 1, "c": "a"}] * 2, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="several scores"):
        sampler.tell({"k": 1, "c": "a"}, [1.0, 2.0])
    with pytest.raises(ValueError, match=r"lack the parameters \['k'\]"):
        sampler.tell({"c": "a"}, 1.0)
    with pytest.raises(ValueError, match="'z' is not one of the categories"):
        sampler.tell({"k": 1, "c": "z"}, 1.0)
    with pytest.raises(ValueError, match="budget must be None or a number"):
        sampler.tell({"k": 1, "c": "a"}, 1.0, budget="big")
    with pytest.raises(ValueError, match="A score must be a number"):
        sampler.tell({"k": 1, "c": "a"}, "good")
    with pytest.raises(ValueError, match="starting point's c"):
        sampler.add_starting_point({"k": 1, "c": "z"})
    assert sampler.observations == []


def test_samplers_pickle():
    sampler = run(GPSampler(MIXED, n_initial_points=3, random_state=0), lambda p: p["dropout"], 5)
    copy = pickle.loads(pickle.dumps(sampler))
    assert copy.ask(2) == sampler.ask(2)


def test_samplers_import_no_keras_tensorflow_or_dask():
    code = (
        "import sys, skhpo.samplers; "
        "bad = [m for m in ('keras', 'tensorflow', 'distributed', 'dask') if m in sys.modules]; "
        "print(bad); sys.exit(bool(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
