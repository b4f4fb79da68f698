"""Search spaces: dimensions, the forms users write them in, sampling, the unit cube.

A search space is a dict (or a list of dicts, like scikit-learn's ``ParameterSampler``)
mapping parameter names to:

=====================================  ==============================================
form                                   meaning
=====================================  ==============================================
``[v1, v2, ...]``                      :class:`Categorical`: uniform choice
a scipy.stats distribution             :class:`Distribution`: anything with ``rvs``
``(low, high)``, both ints             :class:`Integer` in ``[low, high]``
``(low, high)``, else                  :class:`Real` in ``[low, high]``
``(low, high, "log-uniform")``         the same, log-uniform (skopt style)
``Real``, ``Integer``, ``Categorical``  as given (``log=True`` for a log prior)
=====================================  ==============================================

Only numpy and scipy are imported here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from numbers import Integral
from numbers import Real as RealNumber
from typing import Any

import numpy as np

__all__ = ["Categorical", "Dimension", "Distribution", "Integer", "Real", "SearchSpace"]

_PRIORS = ("uniform", "log-uniform")


def _python(value: Any) -> Any:
    """numpy scalars to python scalars; everything else as is."""
    return value.item() if isinstance(value, np.generic) else value


def _check_rng(random_state: Any) -> np.random.RandomState:
    if random_state is None or isinstance(random_state, Integral):
        return np.random.RandomState(random_state)
    if isinstance(random_state, np.random.RandomState):
        return random_state
    raise ValueError(f"random_state must be None, an int or a RandomState, got {random_state!r}")


class Dimension:
    """One searched parameter: how to draw it, and its place in the unit cube."""

    name: str | None = None
    n_unit: int = 1
    supports_unit: bool = True

    def rvs(self, random_state: np.random.RandomState) -> Any:
        """Draw one value (a python scalar or the category object)."""
        raise NotImplementedError

    def to_unit(self, value: Any) -> np.ndarray:
        """Coordinates of ``value`` in ``[0, 1] ** n_unit``."""
        raise NotImplementedError

    def from_unit(self, u: Any) -> Any:
        """The value at unit-cube coordinates ``u`` (clipped to ``[0, 1]``)."""
        raise NotImplementedError


def _check_prior(log: bool, prior: str | None) -> bool:
    if prior is None:
        return bool(log)
    if prior not in _PRIORS:
        raise ValueError(f"prior must be one of {_PRIORS}, got {prior!r}")
    if log and prior == "uniform":
        raise ValueError('log=True contradicts prior="uniform"')
    return prior == "log-uniform"


def _check_bound(value: Any, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, RealNumber) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")


class _Numeric(Dimension):
    _kind = ""

    def __init__(self, low, high, log=False, *, prior=None, name=None):
        _check_bound(low, "low")
        _check_bound(high, "high")
        self.log = _check_prior(log, prior)
        self.low, self.high, self.name = _python(low), _python(high), name
        if self.log and low <= 0:
            raise ValueError(f"a log prior needs low > 0, got low={low!r}")

    def __repr__(self) -> str:
        log = ", log=True" if self.log else ""
        return f"{type(self).__name__}(low={self.low!r}, high={self.high!r}{log})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and (self.low, self.high, self.log) == (
            other.low,
            other.high,
            other.log,
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.low, self.high, self.log))


class Real(_Numeric):
    """A real parameter in ``[low, high]``, uniform or log-uniform (``log=True``).

    ``prior="log-uniform"`` is accepted as in scikit-optimize.

    Examples
    --------
    >>> import numpy as np
    >>> lr = Real(1e-4, 1e-1, log=True)
    >>> value = lr.rvs(np.random.RandomState(0))
    >>> 1e-4 <= value <= 1e-1
    True
    >>> float(lr.to_unit(1e-2)[0])  # doctest: +ELLIPSIS
    0.666...
    """

    def __init__(self, low, high, log=False, *, prior=None, name=None):
        super().__init__(low, high, log, prior=prior, name=name)
        if not self.low < self.high:
            raise ValueError(f"low ({self.low!r}) must be lower than high ({self.high!r})")

    def _bounds(self) -> tuple[float, float]:
        if self.log:
            return math.log(self.low), math.log(self.high)
        return float(self.low), float(self.high)

    def rvs(self, random_state):
        lo, hi = self._bounds()
        x = random_state.uniform(lo, hi)
        value = math.exp(x) if self.log else x
        return float(min(max(value, self.low), self.high))

    def to_unit(self, value):
        lo, hi = self._bounds()
        x = math.log(value) if self.log else float(value)
        return np.array([min(max((x - lo) / (hi - lo), 0.0), 1.0)])

    def from_unit(self, u):
        lo, hi = self._bounds()
        x = lo + float(np.clip(np.ravel(u)[0], 0.0, 1.0)) * (hi - lo)
        value = math.exp(x) if self.log else x
        return float(min(max(value, self.low), self.high))


class Integer(_Numeric):
    """An integer parameter in ``[low, high]`` (both included), optionally log-uniform.

    Log-uniform integers are drawn as ``floor(exp(uniform(log(low), log(high + 1))))``,
    so each integer gets the mass of ``[k, k + 1)`` on the log scale.

    Examples
    --------
    >>> import numpy as np
    >>> units = Integer(10, 100)
    >>> value = units.rvs(np.random.RandomState(0))
    >>> isinstance(value, int) and 10 <= value <= 100
    True
    >>> units.from_unit(units.to_unit(42))
    42
    """

    def __init__(self, low, high, log=False, *, prior=None, name=None):
        for bound, what in ((low, "low"), (high, "high")):
            if isinstance(bound, bool) or not isinstance(bound, Integral):
                raise ValueError(f"{what} of an Integer must be an int, got {bound!r}")
        super().__init__(low, high, log, prior=prior, name=name)
        self.low, self.high = int(self.low), int(self.high)
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) must not be greater than high ({self.high})")

    def _bounds(self) -> tuple[float, float]:
        if self.log:
            return math.log(self.low), math.log(self.high + 1)
        return float(self.low), float(self.high + 1)

    def _clip(self, x: float) -> int:
        return int(min(max(math.floor(x), self.low), self.high))

    def rvs(self, random_state):
        if not self.log:
            return int(random_state.randint(self.low, self.high + 1))
        lo, hi = self._bounds()
        return self._clip(math.exp(random_state.uniform(lo, hi)))

    def to_unit(self, value):
        lo, hi = self._bounds()
        if self.log:
            x = (math.log(value) + math.log(value + 1)) / 2
        else:
            x = value + 0.5
        return np.array([min(max((x - lo) / (hi - lo), 0.0), 1.0)])

    def from_unit(self, u):
        lo, hi = self._bounds()
        x = lo + float(np.clip(np.ravel(u)[0], 0.0, 1.0)) * (hi - lo)
        return self._clip(math.exp(x) if self.log else x)


class Categorical(Dimension):
    """A choice among ``categories`` (any objects), uniform; one-hot in the unit cube.

    Examples
    --------
    >>> import numpy as np
    >>> opt = Categorical(["adam", "rmsprop"])
    >>> opt.rvs(np.random.RandomState(0)) in ("adam", "rmsprop")
    True
    >>> opt.to_unit("rmsprop").tolist()
    [0.0, 1.0]
    """

    def __init__(self, categories, *, name=None):
        if isinstance(categories, str | bytes | Mapping) or not isinstance(
            categories, Sequence | np.ndarray | range
        ):
            raise ValueError(f"categories must be a list of choices, got {categories!r}")
        self.categories = list(categories)
        if not self.categories:
            raise ValueError("categories must not be empty")
        self.name = name
        self.n_unit = len(self.categories)

    def __repr__(self) -> str:
        return f"Categorical({self.categories!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Categorical) or len(other.categories) != len(self.categories):
            return False
        return all(_same(a, b) for a, b in zip(self.categories, other.categories, strict=True))

    def __hash__(self) -> int:
        return hash(("Categorical", len(self.categories)))

    def rvs(self, random_state):
        return _python(self.categories[random_state.randint(len(self.categories))])

    def _index(self, value: Any) -> int:
        for i, c in enumerate(self.categories):
            if _same(c, value):
                return i
        raise ValueError(f"{value!r} is not one of the categories {self.categories!r}")

    def to_unit(self, value):
        u = np.zeros(self.n_unit)
        u[self._index(value)] = 1.0
        return u

    def from_unit(self, u):
        return _python(self.categories[int(np.argmax(np.ravel(u)[: self.n_unit]))])


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(type(a) is type(b) and a == b)
    except (TypeError, ValueError):
        return False


class Distribution(Dimension):
    """Any object with ``rvs(random_state=...)``, such as a frozen scipy.stats distribution.

    Its unit-cube mapping uses the distribution's ``cdf`` and ``ppf`` when it has them.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.stats import loguniform
    >>> lr = Distribution(loguniform(1e-4, 1e-1))
    >>> 1e-4 <= lr.rvs(np.random.RandomState(0)) <= 1e-1
    True
    >>> round(lr.from_unit(lr.to_unit(1e-3)), 6)
    0.001
    """

    def __init__(self, dist, *, name=None):
        if not callable(getattr(dist, "rvs", None)):
            raise TypeError(f"{dist!r} has no rvs method: it is not a distribution")
        self.dist = dist
        self.name = name
        self.supports_unit = callable(getattr(dist, "cdf", None)) and callable(
            getattr(dist, "ppf", None)
        )

    def __repr__(self) -> str:
        return f"Distribution({self.dist!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Distribution) and other.dist is self.dist

    def __hash__(self) -> int:
        return id(self.dist)

    def rvs(self, random_state):
        return _python(np.asarray(self.dist.rvs(random_state=random_state)).reshape(-1)[0])

    def _need_unit(self) -> None:
        if not self.supports_unit:
            raise TypeError(
                f"{self.dist!r} has no cdf/ppf, so it cannot be mapped to the unit cube; "
                "use Real, Integer, Categorical or a scipy.stats distribution"
            )

    def to_unit(self, value):
        self._need_unit()
        return np.array([float(np.clip(self.dist.cdf(value), 0.0, 1.0))])

    def from_unit(self, u):
        self._need_unit()
        q = float(np.clip(np.ravel(u)[0], 1e-12, 1 - 1e-12))
        return _python(self.dist.ppf(q))


def _is_number(x: Any) -> bool:
    return isinstance(x, RealNumber) and not isinstance(x, bool)


def _is_int(x: Any) -> bool:
    return isinstance(x, Integral) and not isinstance(x, bool)


def _dimension(name: str, spec: Any) -> Dimension:
    """Convert one entry of a user's space; errors name the parameter."""
    where = f"Parameter {name!r}: "
    try:
        if isinstance(spec, Dimension):
            return spec
        if isinstance(spec, tuple):
            return _from_tuple(spec)
        if callable(getattr(spec, "rvs", None)):
            return Distribution(spec)
        if isinstance(spec, list | np.ndarray | range):
            if len(spec) == 0:
                raise ValueError("the list of choices is empty")
            return Categorical(spec)
    except (ValueError, TypeError) as exc:
        raise ValueError(where + str(exc)) from exc
    raise ValueError(
        where + f"{spec!r} is not a search dimension; give a list of choices, a "
        "(low, high) or (low, high, 'log-uniform') tuple, a scipy.stats distribution, or "
        "Real/Integer/Categorical"
    )


def _from_tuple(spec: tuple) -> Dimension:
    if len(spec) not in (2, 3):
        raise ValueError(
            f"a range is (low, high) or (low, high, prior), got a tuple of {len(spec)}; "
            "use a list for a choice among values"
        )
    low, high = spec[0], spec[1]
    if not (_is_number(low) and _is_number(high)):
        raise ValueError(
            f"the bounds of {spec!r} must be numbers; use a list for a choice among values"
        )
    prior = spec[2] if len(spec) == 3 else "uniform"
    if prior not in _PRIORS:
        raise ValueError(f"the prior must be one of {_PRIORS}, got {prior!r}")
    if _is_int(low) and _is_int(high):
        if low >= high:
            raise ValueError(f"low ({low!r}) must be lower than high ({high!r})")
        return Integer(low, high, prior=prior)
    return Real(low, high, prior=prior)


class SearchSpace:
    """One or more subspaces (dicts of :class:`Dimension`) to sample parameters from.

    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> space = SearchSpace.from_params(
    ...     {"units": [16, 32], "dropout": (0.0, 0.5), "lr": loguniform(1e-4, 1e-1)})
    >>> space.names
    ['dropout', 'lr', 'units']
    >>> params = space.sample(3, random_state=0)
    >>> len(params), sorted(params[0])
    (3, ['dropout', 'lr', 'units'])
    >>> space.sample(3, random_state=0) == params
    True
    """

    def __init__(self, subspaces: list[dict[str, Dimension]]) -> None:
        self.subspaces = subspaces
        self.names = sorted({n for sub in subspaces for n in sub})

    @classmethod
    def from_params(cls, params: Any) -> SearchSpace:
        """Build a space from a dict, a list of dicts, or return a SearchSpace as is."""
        if isinstance(params, SearchSpace):
            return params
        if isinstance(params, Mapping):
            params = [params]
        elif not isinstance(params, list):
            raise ValueError(
                f"The search space must be a dict or a list of dicts, got {type(params).__name__}"
            )
        if not params:
            raise ValueError("The search space is an empty list; give at least one dict")
        subspaces = []
        for k, sub in enumerate(params):
            if not isinstance(sub, Mapping):
                raise ValueError(
                    f"Entry {k} of the search space list is a {type(sub).__name__}, not a dict"
                )
            if not sub:
                raise ValueError("The search space is empty: give at least one parameter")
            dims = {}
            for name in sorted(sub, key=str):
                if not isinstance(name, str):
                    raise ValueError(f"Parameter names must be strings, got {name!r}")
                dim = _dimension(name, sub[name])
                dim.name = name
                dims[name] = dim
            subspaces.append(dims)
        return cls(subspaces)

    def __len__(self) -> int:
        return len(self.subspaces)

    def __repr__(self) -> str:
        parts = [
            "{" + ", ".join(f"{n!r}: {d!r}" for n, d in sub.items()) + "}" for sub in self.subspaces
        ]
        return f"SearchSpace([{', '.join(parts)}])"

    def sample_one(self, rng: np.random.RandomState) -> dict:
        """One parameter dict: a subspace at random, then each dimension by name."""
        sub = (
            self.subspaces[rng.randint(len(self.subspaces))] if len(self) > 1 else self.subspaces[0]
        )
        return {name: dim.rvs(rng) for name, dim in sub.items()}

    def sample(self, n: int, random_state: Any = None) -> list[dict]:
        """``n`` parameter dicts; the same ``random_state`` gives the same list."""
        rng = _check_rng(random_state)
        return [self.sample_one(rng) for _ in range(n)]

    def _single(self) -> dict[str, Dimension]:
        if len(self.subspaces) != 1:
            raise ValueError("The unit-cube mapping needs a single subspace, not a list of dicts")
        sub = self.subspaces[0]
        for name, dim in sub.items():
            if not dim.supports_unit:
                raise TypeError(f"Parameter {name!r}: {dim!r} cannot be mapped to the unit cube")
        return sub

    @property
    def n_unit(self) -> int:
        """Number of unit-cube coordinates (one-hot categoricals count one each)."""
        return sum(d.n_unit for d in self._single().values())

    def to_unit(self, params: Mapping[str, Any]) -> np.ndarray:
        """The unit-cube point of a parameter dict."""
        return np.concatenate([d.to_unit(params[n]) for n, d in self._single().items()])

    def from_unit(self, u: Any) -> dict:
        """The parameter dict at a unit-cube point."""
        u = np.asarray(u, dtype=float).ravel()
        out, k = {}, 0
        for name, dim in self._single().items():
            out[name] = dim.from_unit(u[k : k + dim.n_unit])
            k += dim.n_unit
        return out
