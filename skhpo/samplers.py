"""Samplers: where the next parameter settings come from (``ask``) and what they scored (``tell``).

Two samplers share one small interface:

* :class:`RandomSampler` draws from the search space (any space, lists of dicts
  included) and records what it is told.
* :class:`GPSampler` fits a Gaussian process (scikit-learn's
  :class:`~sklearn.gaussian_process.GaussianProcessRegressor`) to the scores on the unit
  cube of the space and proposes the points that maximise an acquisition function
  (expected improvement by default). Batches use the constant-liar strategy.

Scores are **maximised**, as in scikit-learn. Observations are kept per ``budget``
(epochs, say): the model is fitted on the largest budget that has enough observations,
as BOHB does (Falkner et al., 2018), or (``budget_model="agreeing"``) on a lower budget
with more of them whose scores order configurations as that one does. ``budget=None``
is the full budget and ranks above every number.

Only numpy, scipy, scikit-learn (and its dependency threadpoolctl) are imported here.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats
from scipy.optimize import minimize
from sklearn.utils import check_random_state
from threadpoolctl import ThreadpoolController

from ._gp import Posterior, acquisition
from .space import INACTIVE, Categorical, Distribution, Integer, Real, SearchSpace

__all__ = ["ACQ_FUNCS", "BUDGET_MODELS", "GPSampler", "RandomSampler"]

#: Acquisition functions of :class:`GPSampler` (``"gp_hedge"`` is accepted as ``"EI"``).
ACQ_FUNCS = ("EI", "PI", "LCB")

#: How :class:`GPSampler` models observations told at several budgets.
BUDGET_MODELS = ("largest", "agreeing", "joint")

_ACQ_OPTIMIZER_KEYS = ("n_restarts_optimizer", "maxiter")

_threadpools: ThreadpoolController | None = None


def _single_threaded():
    """BLAS limited to one thread: the GP's matrices are small, and threads only contend."""
    global _threadpools
    if _threadpools is None:
        _threadpools = ThreadpoolController()
    return _threadpools.limit(limits=1)


def _budget_key(budget: Any) -> float:
    """Order of budgets: numbers as they are, ``None`` (the full budget) above all."""
    return math.inf if budget is None else float(budget)


def _check_budget(budget: Any) -> Any:
    if budget is None:
        return None
    if isinstance(budget, bool) or not isinstance(budget, numbers.Real) or budget != budget:
        raise ValueError(f"budget must be None or a number, got {budget!r}")
    return budget.item() if isinstance(budget, np.generic) else budget


def _as_score(score: Any) -> float:
    if score is None:
        return math.nan
    try:
        return float(score)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"A score must be a number, got {score!r}") from exc


# -- the shared part ------------------------------------------------------------------------


class _BaseSampler:
    """Observations, starting points, the random generator and their state."""

    def __init__(self, space: Any, random_state: Any = None) -> None:
        self.space = SearchSpace.from_params(space)
        self.random_state = random_state
        self._rng = check_random_state(random_state)
        self._observations: list[dict] = []
        self._queue: list[dict] = []

    # -- starting points --------------------------------------------------------------------

    def _check_point(self, point: Any) -> dict:
        """A user's starting point as a dict; errors say what is wrong with it."""
        if not isinstance(point, Mapping):
            if len(self.space) != 1 or isinstance(point, str | bytes):
                raise ValueError(
                    f"A starting point must be a dict of parameter values, got {point!r}"
                )
            names = list(self.space.subspaces[0])
            if not isinstance(point, Sequence | np.ndarray) or len(point) != len(names):
                raise ValueError(
                    f"A starting point must be a dict, or a list of {len(names)} values in "
                    f"the order {names}; got {point!r}"
                )
            point = dict(zip(names, point, strict=True))
            # the layout of x_iters: None where a condition makes a parameter inactive
            inactive = self.space._inactive(0, point)
            point = {n: v for n, v in point.items() if not (v is None and n in inactive)}
        point = dict(point)
        k = self.space.subspace_of(point)
        if k is None:
            expected = " or ".join(str(sorted(s)) for s in self.space.subspaces)
            raise ValueError(
                f"The starting point {point!r} does not name the parameters of the search "
                f"space: expected {expected} (without those that its conditions make inactive)"
            )
        for name, dim in self.space.subspaces[k].items():
            if name not in point:
                continue
            value = point[name]
            if isinstance(dim, Real | Integer):
                if not dim.contains(value):
                    raise ValueError(f"The starting point's {name}={value!r} is not in {dim!r}")
            elif isinstance(dim, Categorical):
                try:
                    dim.to_unit(value)
                except ValueError as exc:
                    raise ValueError(f"The starting point's {name}: {exc}") from None
        return point

    def add_starting_point(self, params: Any) -> None:
        """Queue ``params`` (a dict) to be returned by the next ``ask`` before any sampling.

        Like DeepHyper's ``add_starting_point``: a known good setting, or the estimator's
        defaults, evaluated first.
        """
        self._queue.append(self._check_point(params))

    # -- observations -----------------------------------------------------------------------

    def tell(
        self,
        params: dict | list[dict],
        score: float | list[float],
        budget: float | None = None,
    ) -> None:
        """Record the ``score`` (maximised) of ``params`` at ``budget``.

        Parameters
        ----------
        params : dict or list of dict
            One parameter setting, or several.
        score : float or list of float
            Its score, or one per setting. NaN and infinite scores (failed fits) are
            kept; :class:`GPSampler` models them as the worst finite score.
        budget : float or None, default=None
            The budget the scores were measured at (epochs, say); ``None`` is the full
            budget.
        """
        budget = _check_budget(budget)
        if isinstance(params, Mapping):
            if not np.ndim(score) == 0:
                raise ValueError("tell got one params dict but several scores")
            params, scores = [params], [score]
        else:
            params = list(params)
            scores = [score] if np.ndim(score) == 0 else list(np.ravel(score))
            if len(scores) != len(params):
                raise ValueError(
                    f"tell got {len(params)} parameter settings but {len(scores)} scores"
                )
        for p in params:
            if not isinstance(p, Mapping):
                raise ValueError(f"params must be dicts, got {p!r}")
        records = [
            {"params": dict(p), "score": _as_score(s), "budget": budget}
            for p, s in zip(params, scores, strict=True)
        ]
        self._record(records)

    def _record(self, records: list[dict]) -> None:
        self._observations.extend(records)

    @property
    def observations(self) -> list[dict]:
        """What the sampler was told, in order: dicts of ``params``, ``score``, ``budget``."""
        return [dict(o, params=dict(o["params"])) for o in self._observations]

    # -- state --------------------------------------------------------------------------------

    def _init_kwargs(self) -> dict:
        return {}

    def state(self) -> dict:
        """The sampler's state as plain dicts, lists and numbers (JSON-ready when the
        parameter values are): the observations, queued starting points and the random
        generator. :meth:`from_state` rebuilds an equal sampler."""
        kind, keys, pos, has_gauss, cached = self._rng.get_state()
        return {
            "sampler": type(self).__name__,
            "init": self._init_kwargs(),
            "rng": [kind, [int(k) for k in keys], int(pos), int(has_gauss), float(cached)],
            "observations": self.observations,
            "queue": [dict(p) for p in self._queue],
        }

    @classmethod
    def from_state(cls, space: Any, state: Mapping) -> Any:
        """A sampler over ``space`` in the ``state`` that :meth:`state` returned."""
        if state.get("sampler") != cls.__name__:
            raise ValueError(
                f"This state belongs to a {state.get('sampler')!r}, not a {cls.__name__}"
            )
        sampler = cls(space, **state["init"])
        kind, keys, pos, has_gauss, cached = state["rng"]
        sampler._rng.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
        sampler._queue = [dict(p) for p in state["queue"]]
        sampler._record(
            [
                {"params": dict(o["params"]), "score": float(o["score"]), "budget": o["budget"]}
                for o in state["observations"]
            ]
        )
        sampler._restore(state)
        return sampler

    def _restore(self, state: Mapping) -> None:
        pass


# -- random search ------------------------------------------------------------------------


class RandomSampler(_BaseSampler):
    """Draw parameter settings at random from the search space.

    Parameters
    ----------
    space : dict, list of dict or SearchSpace
        Anything :meth:`SearchSpace.from_params <skhpo.space.SearchSpace.from_params>`
        accepts: a list of dicts draws a dict at random, then from it.
    random_state : int, RandomState instance or None, default=None
        Seeds the draws.

    Examples
    --------
    >>> from skhpo.samplers import RandomSampler
    >>> sampler = RandomSampler({"alpha": (1e-4, 1.0, "log-uniform"), "k": [1, 2]},
    ...                         random_state=0)
    >>> params = sampler.ask(3)
    >>> len(params), sorted(params[0])
    (3, ['alpha', 'k'])
    >>> sampler.tell(params, [0.1, 0.5, 0.3])
    >>> len(sampler.observations)
    3
    """

    def _init_kwargs(self) -> dict:
        return {}

    def ask(self, n: int = 1) -> list[dict]:
        """``n`` parameter settings: queued starting points first, then random draws."""
        n = _check_n(n)
        out = []
        while self._queue and len(out) < n:
            out.append(self._queue.pop(0))
        out.extend(self.space.sample_one(self._rng) for _ in range(n - len(out)))
        return out


def _check_n(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"ask needs n >= 1 (an int), got {n!r}")
    return int(n)


# -- vectorised snapping of unit-cube points to valid points ------------------------------


class _Snapper:
    """Maps an (m, n_unit) block to ``to_unit(from_unit(u))`` row by row (picklable).

    Vectorised for the dimensions of :mod:`skhpo.space`; any other dimension goes through
    its own ``from_unit`` / ``to_unit``, one row at a time.
    """

    def __init__(self, dim: Any) -> None:
        self.dim = dim
        self.kind = type(dim).__name__ if type(dim) in (Real, Integer, Categorical) else "rows"
        if type(dim) in (Real, Integer) and dim.step is not None:
            self.kind = "Grid"
        elif type(dim) is Integer:
            self.lo, self.hi = (
                (math.log(dim.low), math.log(dim.high + 1))
                if dim.log
                else (float(dim.low), float(dim.high + 1))
            )
        if type(dim) is Distribution:
            self.kind = "Distribution"
            self.discrete = isinstance(getattr(dim.dist, "dist", dim.dist), stats.rv_discrete)

    def __call__(self, u: np.ndarray) -> np.ndarray:
        return getattr(self, "_" + self.kind)(u)

    def _Real(self, u):
        return np.clip(u, 0.0, 1.0)

    def _Integer(self, u):
        dim, lo, hi = self.dim, self.lo, self.hi
        x = lo + np.clip(u, 0.0, 1.0) * (hi - lo)
        v = np.clip(np.floor(np.exp(x) if dim.log else x), dim.low, dim.high)
        centre = (np.log(v) + np.log(v + 1)) / 2 if dim.log else v + 0.5
        return np.clip((centre - lo) / (hi - lo), 0.0, 1.0)

    def _Grid(self, u):
        n = self.dim._size
        return (np.clip(np.floor(np.clip(u, 0.0, 1.0) * n), 0, n - 1) + 0.5) / n

    def _Categorical(self, u):
        out = np.zeros_like(u)
        out[np.arange(len(u)), np.argmax(np.clip(u, 0.0, 1.0), axis=1)] = 1.0
        return out

    def _Distribution(self, u):
        dist = self.dim.dist
        q = np.clip(u[:, 0], 1e-12, 1 - 1e-12)
        try:
            values = np.asarray(dist.ppf(q), dtype=float)
        except (TypeError, ValueError):
            return self._rows(u)
        if self.discrete:  # each value's own coordinate (the middle of its step)
            unique, inverse = np.unique(values, return_inverse=True)
            units = np.array([self.dim.to_unit(v)[0] for v in unique.tolist()])
            return units[inverse.ravel()][:, None]
        return np.clip(np.asarray(dist.cdf(values), dtype=float), 0.0, 1.0)[:, None]

    def _rows(self, u):
        return np.array([self.dim.to_unit(self.dim.from_unit(row)) for row in u], dtype=float)


class GPSampler(_BaseSampler):
    """Bayesian optimisation: a Gaussian process on the unit cube, expected improvement.

    The model is scikit-learn's :class:`~sklearn.gaussian_process.GaussianProcessRegressor`
    with the kernel ``ConstantKernel * Matern(nu=2.5, one length scale per coordinate) +
    WhiteKernel`` on normalised scores, over the unit cube of the space (log priors are
    uniform there, integers are rounded, categoricals one-hot). The acquisition function
    is maximised over ``n_candidates`` points (four fifths uniform in the cube, one
    fifth perturbations of the best observed ones), the best few refined together by
    L-BFGS-B with analytic gradients on the continuous relaxation, and mapped back to
    valid points; a point already observed or pending is not proposed again while
    another candidate remains.

    Each ``ask`` gives, in order: the queued starting points (``initial_points``,
    :meth:`add_starting_point`); ``n_initial_points`` random points; then points of the
    model, fitted on the budget that ``budget_model`` chooses among those with at least
    ``min_points_in_model`` observations (random points until one has), with a
    ``random_fraction`` of random points kept. ``ask(n)`` with ``n > 1`` uses the
    constant liar: each chosen point is added to the model with the lowest observed
    score before choosing the next, so a batch spreads out. Points asked and not yet
    told are lies too.

    The kernel's hyperparameters are re-estimated (maximum likelihood, warm-started)
    when the observations at the model's budget have grown by 5% since the last
    estimate, and at every tell below 20 observations; in between, only the posterior
    is updated. One ``ask`` at 200 observations in 7 dimensions takes a few hundredths
    of a second.

    Parameters
    ----------
    space : dict or SearchSpace
        One subspace whose dimensions map to the unit cube: :class:`~skhpo.space.Real`,
        :class:`~skhpo.space.Integer`, :class:`~skhpo.space.Categorical`, ranges, lists,
        or scipy.stats distributions (through their ``cdf`` / ``ppf``). For a list of
        dicts, use one sampler per dict (as :class:`~skhpo.bayes.BayesSearchCV` does).
    n_initial_points : int, default=10
        Random points before the model is used (after the starting points). As in
        scikit-optimize, each observation told that was not asked from this sampler
        counts as one of them.
    initial_points : list of dict, default=None
        Settings evaluated first, before anything is sampled (dicts, or lists of values
        in the order of the sorted parameter names).
    acq_func : {"EI", "PI", "LCB", "gp_hedge"}, default="EI"
        Expected improvement, probability of improvement, or the confidence bound
        ``mean + kappa * std`` of the score (skopt's "LCB" of the negated score).
        ``"gp_hedge"`` (skopt's default) is treated as ``"EI"``.
    acq_optimizer_kwargs : dict, default=None
        ``n_restarts_optimizer`` (L-BFGS-B starts from the best candidates, default 5;
        0 uses the candidates only) and ``maxiter`` (L-BFGS-B iterations, default 50).
    kappa : float, default=1.96
        Exploration of ``"LCB"``.
    xi : float, default=0.01
        The improvement ``"EI"`` and ``"PI"`` ask for, in units of the score.
    n_candidates : int, default=2000
        Random points the acquisition function is evaluated at.
    random_fraction : float, default=0.0
        The probability that a point of the model phase is drawn at random instead
        (BOHB keeps a third).
    min_points_in_model : int, default=None
        Observations a budget needs before the model is fitted on it (with
        ``budget_model="joint"``: observations at all budgets together); ``None`` means
        ``max(n_initial_points, 2)``.
    budget_model : {"largest", "agreeing", "joint"}, default="largest"
        How observations at several budgets are modelled. ``"largest"`` (BOHB): on the
        largest budget with ``min_points_in_model`` observations, the others unused.
        ``"agreeing"``: the same, except that a lower budget is modelled instead where
        its scores order the configurations scored at both as the largest one does
        (Kendall's tau at least 0.7, significantly positive at the 5% level) and it
        gives the model more points (up to ``max_points_in_model``); going down stops
        at the first budget that does not agree. Where short trainings rank
        configurations as long ones do, the model then learns from the many cheap
        scores; where they mislead, it keeps to the largest budget. MFES-HB (Li et al.,
        2021) weighs its per-budget models by the same kind of ranking agreement.
        ``"joint"``: one model over the point and the budget (one more input coordinate,
        the budget log-scaled to [0, 1] between the smallest and largest told), fitted
        on every observation, whose predictions at the largest budget are maximised; its
        length scale along the budget learns how far cheap scores carry. The
        multi-fidelity benchmark in :doc:`/benchmarks` compares the two.
    max_points_in_model : int, default=200
        The most observations the model is fitted on, so that an ask stays fast (one
        ask at 2,000 observations in 7 dimensions takes about 0.12 s); the kernel is
        still re-estimated as the observations grow past it. Beyond it,
        ``"largest"`` keeps the better half by score and spreads the rest over the
        others; ``"joint"`` keeps the largest budgets first, and the best scores of the
        budget where the limit falls.
    random_state : int, RandomState instance or None, default=None
        Seeds the random points, the candidates and the restarts of the model's fit.

    Attributes
    ----------
    last_ask_ : list of dict
        For each point of the last ``ask``: ``origin`` ("initial", "random" or
        "model") and ``budget`` (the budget of the model's observations, for "model";
        with ``budget_model="joint"``, the largest budget, that it predicts).
    model_ : sklearn.gaussian_process.GaussianProcessRegressor or None
        The model that the last model-based ``ask`` fitted: on the unit cube of the
        space (:meth:`~skhpo.space.SearchSpace.to_unit`), to the standardised scores
        (higher is better; failed ones as the worst), before any constant-liar point of
        that ask. None until a model is fitted.

    Examples
    --------
    >>> from skhpo.samplers import GPSampler
    >>> sampler = GPSampler({"x": (-2.0, 2.0), "k": [0, 1]}, n_initial_points=5,
    ...                     random_state=0)
    >>> for _ in range(12):
    ...     [params] = sampler.ask()
    ...     sampler.tell(params, -(params["x"] - 0.5) ** 2 - params["k"])
    >>> best = max(sampler.observations, key=lambda o: o["score"])
    >>> best["params"]["k"], round(best["params"]["x"], 1)
    (0, 0.5)
    >>> sampler.last_ask_
    [{'origin': 'model', 'budget': None}]
    """

    def __init__(
        self,
        space: Any,
        *,
        n_initial_points: int = 10,
        initial_points: list | None = None,
        acq_func: str = "EI",
        acq_optimizer_kwargs: dict | None = None,
        kappa: float = 1.96,
        xi: float = 0.01,
        n_candidates: int = 2000,
        random_fraction: float = 0.0,
        min_points_in_model: int | None = None,
        budget_model: str = "largest",
        max_points_in_model: int = 200,
        random_state: Any = None,
    ) -> None:
        super().__init__(space, random_state)
        self._check_unit_space()
        self.n_initial_points = _check_int(n_initial_points, "n_initial_points", 0)
        self.acq_func = _check_acq_func(acq_func)
        self.acq_optimizer_kwargs = _check_acq_optimizer_kwargs(acq_optimizer_kwargs)
        self.kappa = _check_real(kappa, "kappa", 0.0, None)
        self.xi = _check_real(xi, "xi", 0.0, None)
        self.n_candidates = _check_int(n_candidates, "n_candidates", 1)
        self.random_fraction = _check_real(random_fraction, "random_fraction", 0.0, 1.0)
        if min_points_in_model is not None:
            _check_int(min_points_in_model, "min_points_in_model", 1)
        self.min_points_in_model = min_points_in_model
        if budget_model not in BUDGET_MODELS:
            raise ValueError(f"budget_model must be one of {BUDGET_MODELS}, got {budget_model!r}")
        self.budget_model = budget_model
        self.max_points_in_model = _check_int(max_points_in_model, "max_points_in_model", 2)
        self.initial_points = initial_points
        if initial_points is not None:
            if isinstance(initial_points, Mapping) or not isinstance(
                initial_points, Sequence | np.ndarray
            ):
                raise ValueError(
                    f"initial_points must be a list of dicts, got {type(initial_points).__name__}"
                )
            for point in initial_points:
                self.add_starting_point(point)
        self._n_warmup_left = self.n_initial_points
        self._pending: list[np.ndarray] = []
        self._by_budget: dict[Any, dict[str, list]] = {}
        self._hyper: dict[Any, tuple[np.ndarray, int]] = {}
        self.last_ask_: list[dict] = []
        self.model_: Any = None

    def _check_unit_space(self) -> None:
        if len(self.space) != 1:
            raise ValueError(
                f"GPSampler models one search space, and got a list of {len(self.space)} "
                "dicts; use one GPSampler per dict (BayesSearchCV does this for a list of "
                "search spaces)"
            )
        for name, dim in self.space.subspaces[0].items():
            if not dim.supports_unit:
                raise ValueError(
                    f"GPSampler needs every dimension on the unit cube, and parameter {name!r} "
                    f"({dim!r}) has no cdf/ppf; use Real, Integer, Categorical, a "
                    "(low, high[, prior]) range, a list, or a scipy.stats distribution"
                )
        self._dims = self.space.subspaces[0]
        self.n_dims = self.space.n_unit
        self._blocks = []
        slices, k = {}, 0
        for name, dim in self._dims.items():
            slices[name] = slice(k, k + dim.n_unit)
            self._blocks.append((slices[name], _Snapper(dim)))
            k += dim.n_unit
        # conditional parameters: (block, [(parent's block, its allowed unit points)])
        self._conditional = [
            (slices[name], [(slices[parent], np.asarray(points)) for parent, points in pairs])
            for name, pairs in self.space._conditions[0]
        ]

    def _init_kwargs(self) -> dict:
        return {
            "n_initial_points": self.n_initial_points,
            "acq_func": self.acq_func,
            "acq_optimizer_kwargs": dict(self.acq_optimizer_kwargs),
            "kappa": self.kappa,
            "xi": self.xi,
            "n_candidates": self.n_candidates,
            "random_fraction": self.random_fraction,
            "min_points_in_model": self.min_points_in_model,
            "budget_model": self.budget_model,
            "max_points_in_model": self.max_points_in_model,
        }

    def state(self) -> dict:
        state = super().state()
        state["n_warmup_left"] = self._n_warmup_left
        state["pending"] = [self.space.from_unit(u) for u in self._pending]
        state["hyperparameters"] = [
            {"budget": b, "theta": [float(t) for t in theta], "n": n}
            for b, (theta, n) in self._hyper.items()
        ]
        return state

    def _restore(self, state: Mapping) -> None:
        self._n_warmup_left = int(state["n_warmup_left"])
        self._pending = [self.space.to_unit(p) for p in state["pending"]]
        self._hyper = {
            h["budget"]: (np.asarray(h["theta"], dtype=float), int(h["n"]))
            for h in state["hyperparameters"]
        }

    # -- observations -----------------------------------------------------------------------

    def _record(self, records: list[dict]) -> None:
        units = []
        for rec in records:
            inactive = self.space._inactive(0, rec["params"])
            missing = [n for n in self._dims if n not in rec["params"] and n not in inactive]
            if missing:
                raise ValueError(f"The told params {rec['params']!r} lack the parameters {missing}")
            units.append(self.space.to_unit(rec["params"]))
        super()._record(records)
        for rec, u in zip(records, units, strict=True):
            obs = self._by_budget.setdefault(rec["budget"], {"X": [], "y": []})
            obs["X"].append(u)
            obs["y"].append(rec["score"])
            for i, p in enumerate(self._pending):
                if np.array_equal(p, u):
                    del self._pending[i]
                    break
            else:  # not asked here: an outside observation shortens the random start
                self._n_warmup_left = max(self._n_warmup_left - 1, 0)

    def _model_budget(self) -> tuple[bool, Any]:
        """(True, budget) of the observations to model, or (False, None) when none has
        enough finite scores. The joint model's budget is the largest one told."""
        n_min = self.min_points_in_model or max(self.n_initial_points, 2)
        if self.budget_model == "joint" and self._by_budget:
            y = np.concatenate([obs["y"] for obs in self._by_budget.values()])
            top = max(self._by_budget, key=_budget_key)
            return (len(y) >= n_min and bool(np.isfinite(y).any())), top
        eligible = [
            b
            for b in sorted(self._by_budget, key=_budget_key, reverse=True)
            if len(self._by_budget[b]["y"]) >= n_min and np.isfinite(self._by_budget[b]["y"]).any()
        ]
        if not eligible:
            return False, None
        chosen = eligible[0]
        if self.budget_model == "agreeing":
            top = self._scores_by_point(chosen)
            usable = min(len(self._by_budget[chosen]["y"]), self.max_points_in_model)
            for budget in eligible[1:]:
                if usable >= self.max_points_in_model:
                    break  # a lower budget would not give the model more points
                lower = self._scores_by_point(budget)
                if not _ranks_alike(lower, top):
                    break
                chosen = budget
                usable = min(len(self._by_budget[budget]["y"]), self.max_points_in_model)
        return True, chosen

    def _scores_by_point(self, budget: Any) -> dict:
        """The finite scores told at ``budget``, by point (the last one told of each)."""
        obs = self._by_budget[budget]
        return {_key(u): s for u, s in zip(obs["X"], obs["y"], strict=True) if math.isfinite(s)}

    def _training_data(self, budget: Any) -> tuple[np.ndarray, np.ndarray]:
        """The model's inputs and scores: at ``budget``, or (joint) at every budget with
        the budget's coordinate appended; at most ``max_points_in_model`` of them."""
        if self.budget_model == "joint":
            X, y = self._joint_data()
        else:
            obs = self._by_budget[budget]
            X = np.asarray(obs["X"], dtype=float)
            y = np.asarray(obs["y"], dtype=float)
        finite = np.isfinite(y)
        y[~finite] = y[finite].min()  # failed fits: as bad as the worst one seen
        keep = self._subset(X, y)
        return X[keep], y[keep]

    def _budget_coordinates(self) -> dict:
        """Each budget's coordinate in [0, 1]: log-scaled between the smallest and the
        largest number told (linear if one is not positive); ``None`` is 1."""
        numbers = [b for b in self._by_budget if b is not None]
        lo, hi = (min(numbers), max(numbers)) if numbers else (1, 1)
        out = {}
        for b in self._by_budget:
            if b is None or hi == lo:
                out[b] = 1.0
            elif lo > 0:
                out[b] = math.log(b / lo) / math.log(hi / lo)
            else:
                out[b] = (b - lo) / (hi - lo)
        return out

    def _joint_data(self) -> tuple[np.ndarray, np.ndarray]:
        coords = self._budget_coordinates()
        # largest budgets first: the subset keeps them when it must drop points
        budgets = sorted(self._by_budget, key=_budget_key, reverse=True)
        X = np.vstack(
            [
                np.column_stack([obs["X"], np.full(len(obs["y"]), coords[b])])
                for b, obs in ((b, self._by_budget[b]) for b in budgets)
            ]
        )
        y = np.concatenate([np.asarray(self._by_budget[b]["y"], dtype=float) for b in budgets])
        return X, y

    def _subset(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Indices of at most ``max_points_in_model`` rows, so that an ask stays fast.

        Per budget model: the better half of the cap by score, and the rest spread
        evenly over the others in the order told. Joint model: rows come largest budget
        first, and the budget where the cap falls keeps its best rows.
        """
        n, cap = len(y), self.max_points_in_model
        if n <= cap:
            return np.arange(n)
        if self.budget_model == "joint":
            budget = X[:, -1]
            cut = budget[np.argsort(-budget, kind="stable")[cap - 1]]
            above = np.flatnonzero(budget > cut)
            at = np.flatnonzero(budget == cut)
            best_at = at[np.argsort(-y[at], kind="stable")[: cap - len(above)]]
            return np.sort(np.concatenate([above, best_at]))
        order = np.argsort(-y, kind="stable")
        best, rest = order[: cap // 2], np.sort(order[cap // 2 :])
        spread = rest[np.linspace(0, len(rest) - 1, cap - len(best)).astype(int)]
        return np.sort(np.concatenate([best, spread]))

    # -- asking --------------------------------------------------------------------------

    def ask(self, n: int = 1) -> list[dict]:
        """``n`` parameter settings to evaluate next (a constant-liar batch when ``n > 1``).

        Returns
        -------
        list of dict
            Parameter settings, plain Python values.
        """
        n = _check_n(n)
        out, info = [], []
        lies: list[np.ndarray] = list(self._pending)
        model = None  # (budget, X, y, posterior), fitted at the first model point
        for _ in range(n):
            origin, budget = "random", None
            if self._queue:
                params, origin = self._queue.pop(0), "initial"
            elif self._n_warmup_left > 0 or (
                self.random_fraction > 0 and self._rng.uniform() < self.random_fraction
            ):
                params = self.space.sample_one(self._rng)
            else:
                has_model, budget = self._model_budget()
                if not has_model:
                    params = self.space.sample_one(self._rng)
                else:
                    key = "joint" if self.budget_model == "joint" else budget
                    if model is None:
                        X, y = self._training_data(budget)
                        fitted = self._fit(key, X, y, self._lie_inputs(lies), self._n_told(budget))
                        model = [X, y, fitted]
                        self.model_ = model[2].gp
                    else:
                        model[2] = self._posterior(model[0], model[1], self._lie_inputs(lies), key)
                    params = self._propose(*self._at_top_budget(*model), lies)
                    origin = "model"
            if origin == "random" and self._n_warmup_left > 0:
                self._n_warmup_left -= 1
            u = self.space.to_unit(params)
            lies.append(u)
            self._pending.append(u)
            out.append(params)
            info.append({"origin": origin, "budget": budget if origin == "model" else None})
        self.last_ask_ = info
        return out

    def _lie_inputs(self, lies: list) -> list:
        """Pending points as model inputs: the joint model's at the largest budget."""
        if self.budget_model != "joint":
            return lies
        return [np.append(u, 1.0) for u in lies]

    def _at_top_budget(self, X, y, post):
        """``(posterior, X, y)`` for the acquisition, on the space's unit cube: the joint
        model's predictions at the largest budget, and its training points' predicted
        scores there."""
        if self.budget_model != "joint":
            return post, X, y
        at_top = _AtLargestBudget(post)
        U = np.unique(X[:, :-1], axis=0)
        mu, _ = at_top.predict(U)
        return at_top, U, mu * post.y_std + post.y_mean

    def _with_lies(self, X, y, lies):
        if not lies:
            return X, y
        return np.vstack([X, np.asarray(lies)]), np.concatenate([y, np.full(len(lies), y.min())])

    def _n_told(self, budget: Any) -> int:
        """Observations the model at ``budget`` draws on (before ``max_points_in_model``)."""
        if self.budget_model == "joint":
            return sum(len(obs["y"]) for obs in self._by_budget.values())
        return len(self._by_budget[budget]["y"])

    def _fit(self, budget, X, y, lies, n) -> Posterior:
        """The posterior at ``budget``: hyperparameters re-estimated when the ``n``
        observations it draws on have grown by 5% (the subset of ``max_points_in_model``
        changes with them)."""
        cached = self._hyper.get(budget)
        if cached is None or n >= cached[1] + max(1, (cached[1] + 19) // 20):
            theta = None if cached is None else cached[0]
            restarts = (2 if cached is None else 1) if n <= 50 else 0
            seed = int(self._rng.randint(2**31 - 1))
            with _single_threaded():
                fitted = Posterior(X, y, theta, seed, restarts)
            self._hyper[budget] = (fitted.theta, n)
            if not lies:
                return fitted
        return self._posterior(X, y, lies, budget)

    def _posterior(self, X, y, lies, budget) -> Posterior:
        Xl, yl = self._with_lies(X, y, lies)
        with _single_threaded():
            return Posterior(Xl, yl, self._hyper[budget][0], 0, -1)

    def _snap(self, U: np.ndarray) -> np.ndarray:
        """Candidates to valid points: each block snapped to its dimension's values, and
        the blocks of inactive parameters set to ``INACTIVE`` (parents come first)."""
        out = np.empty_like(U)
        for block, snap in self._blocks:
            out[:, block] = snap(U[:, block])
        for block, pairs in self._conditional:
            active = np.ones(len(out), dtype=bool)
            for parent, points in pairs:  # an inactive parent matches no point
                diff = np.abs(out[:, parent][:, None, :] - points[None, :, :])
                active &= (diff < 1e-9).all(axis=2).any(axis=1)
            out[~active, block] = INACTIVE
        return out

    def _propose(self, post: Posterior, X, y, lies) -> dict:
        with _single_threaded():
            return self._propose_point(post, X, y, lies)

    def _propose_point(self, post: Posterior, X, y, lies) -> dict:
        rng, d = self._rng, self.n_dims
        best = (y.max() - post.y_mean) / post.y_std
        xi = self.xi / post.y_std
        kind = self.acq_func
        # candidates: uniform in the cube, and around the best observations
        n_local = self.n_candidates // 5
        n_uniform = self.n_candidates - n_local
        top = X[np.argsort(-y, kind="stable")[:5]]
        scale = np.where(rng.uniform(size=(n_local, 1)) < 0.5, 0.1, 0.01)
        local = top[rng.randint(len(top), size=n_local)] + scale * rng.normal(size=(n_local, d))
        cand = self._snap(np.vstack([rng.uniform(size=(n_uniform, d)), local]))
        mu, sd = post.predict(cand)
        acq = acquisition(kind, mu, sd, best, xi, self.kappa)
        if kind != "LCB" and not np.any(acq > 0):
            acq = acquisition("LCB", mu, sd, best, xi, self.kappa)  # EI underflowed
            kind = "LCB"
        order = np.argsort(-acq, kind="stable")
        taken = {_key(u) for u in X} | {_key(u) for u in lies}

        n_starts = self.acq_optimizer_kwargs.get("n_restarts_optimizer", 5)
        if n_starts > 0:
            starts = cand[order[:n_starts]]
            refined = self._snap(self._lbfgs(post, starts, best, xi, kind))
            r_mu, r_sd = post.predict(refined)
            r_acq = acquisition(kind, r_mu, r_sd, best, xi, self.kappa)
            cand = np.vstack([refined, cand])
            acq = np.concatenate([r_acq, acq])
            order = np.argsort(-acq, kind="stable")
        for i in order:
            if _key(cand[i]) not in taken:
                return self.space.from_unit(cand[i])
        return self.space.sample_one(rng)  # every candidate was seen: a small space

    def _lbfgs(self, post: Posterior, starts: np.ndarray, best, xi, kind) -> np.ndarray:
        """Refine ``starts`` together: one L-BFGS-B on the sum of their acquisitions."""
        shape = starts.shape

        def objective(flat):
            U = flat.reshape(shape)
            mu, sd, dmu, dsd = post.predict(U, grad=True)
            value, grad = acquisition(kind, mu, sd, best, xi, self.kappa, dmu, dsd)
            return -float(value.sum()), -grad.ravel()

        res = minimize(
            objective,
            starts.ravel(),
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, 1.0)] * starts.size,
            options={"maxiter": self.acq_optimizer_kwargs.get("maxiter", 50)},
        )
        return np.clip(res.x.reshape(shape), 0.0, 1.0)


class _AtLargestBudget:
    """A joint model's posterior on the space's unit cube, its budget coordinate set to
    the largest budget (1); the interface of :class:`~skhpo._gp.Posterior` that the
    acquisition uses."""

    def __init__(self, post: Posterior) -> None:
        self.post = post
        self.y_mean, self.y_std = post.y_mean, post.y_std

    def predict(self, U: np.ndarray, grad: bool = False):
        out = self.post.predict(np.column_stack([U, np.ones(len(U))]), grad=grad)
        if not grad:
            return out
        mu, sd, dmu, dsd = out
        return mu, sd, dmu[:, :-1], dsd[:, :-1]


def _key(u: np.ndarray) -> bytes:
    return np.round(np.asarray(u, dtype=float), 9).tobytes()


#: How closely a lower budget's scores must order the points that the largest budget
#: scored too, for ``budget_model="agreeing"`` to model it instead: Kendall's tau (0.7:
#: 85% of the pairs in the same order), significantly positive at this level.
_AGREEMENT_TAU = 0.7
_AGREEMENT_LEVEL = 0.05


def _ranks_alike(lower: dict, top: dict) -> bool:
    """Whether the scores in ``lower`` rank the points scored in both as ``top`` does."""
    common = [k for k in top if k in lower]
    if len(common) < 4:  # below 4 pairs, no tau is significant at 5%
        return False
    res = stats.kendalltau([lower[k] for k in common], [top[k] for k in common])
    tau, p_two_sided = float(res.statistic), float(res.pvalue)
    return tau >= _AGREEMENT_TAU and p_two_sided / 2 < _AGREEMENT_LEVEL


# -- parameter checks -----------------------------------------------------------------------


def _check_int(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def _check_real(value: Any, name: str, low: float, high: float | None) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value < low
        or (high is not None and value > high)
    ):
        where = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be a number {where}, got {value!r}")
    return float(value)


def _check_acq_func(acq_func: Any) -> str:
    if acq_func == "gp_hedge":
        return "EI"
    if acq_func not in ACQ_FUNCS:
        raise ValueError(
            f"acq_func must be one of {ACQ_FUNCS} (or 'gp_hedge', treated as 'EI'), "
            f"got {acq_func!r}"
        )
    return acq_func


def _check_acq_optimizer_kwargs(kwargs: Any) -> dict:
    if kwargs is None:
        return {}
    if not isinstance(kwargs, Mapping):
        raise ValueError(f"acq_optimizer_kwargs must be a dict, got {kwargs!r}")
    unknown = set(kwargs) - set(_ACQ_OPTIMIZER_KEYS)
    if unknown:
        raise ValueError(
            f"Unknown acq_optimizer_kwargs {sorted(unknown)}; known: {list(_ACQ_OPTIMIZER_KEYS)}"
        )
    out = {}
    if "n_restarts_optimizer" in kwargs:
        out["n_restarts_optimizer"] = _check_int(
            kwargs["n_restarts_optimizer"], "n_restarts_optimizer", 0
        )
    if "maxiter" in kwargs:
        out["maxiter"] = _check_int(kwargs["maxiter"], "maxiter", 1)
    return out
