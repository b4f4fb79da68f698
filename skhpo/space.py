"""Search spaces: dimensions, the forms users write them in, sampling, the unit cube.

A search space is a dict (or a list of dicts, like scikit-learn's ``ParameterSampler``)
mapping parameter names to:

=====================================  ==============================================
form                                   meaning
=====================================  ==============================================
``[v1, v2, ...]`` (or array, range)    :class:`Categorical`: uniform choice
a scipy.stats distribution             :class:`Distribution`: anything with ``rvs``
``(low, high)``, both ints             :class:`Integer` in ``[low, high]``
``(low, high)``, else                  :class:`Real` in ``[low, high]``
``(low, high, "log-uniform")``         the same, log-uniform (skopt style)
``(low, high, step)``, step a number   the grid ``low, low + step, ..., high``
                                       (:class:`Integer` when all three are ints)
a :class:`Dimension`                   as given (``Real(1e-4, 1e-1, log=True)``)
=====================================  ==============================================

Sampling follows ``ParameterSampler``: each draw picks a subspace uniformly at random,
then draws its parameters in sorted-name order from the same ``RandomState``. For spaces
of lists and scipy.stats distributions the draws are those of ``ParameterSampler`` with
the same seed, except that a space made only of lists is sampled with replacement here
(``ParameterSampler`` then samples its grid without replacement). Values come back as
plain Python objects: ``int``, ``float``, ``str``, ``bool`` or the category itself.

Any dimension takes ``when={parent: value or [values]}``: the parameter then exists only
when its parent takes one of those values (see :class:`SearchSpace`).

A single subspace whose dimensions all have ``supports_unit`` maps to the unit cube
``[0, 1] ** n_unit`` and back, for model-based samplers.

Only numpy and scipy are imported here.

Examples
--------
>>> space = SearchSpace.from_params({"lr": (1e-4, 1e-1, "log-uniform"), "units": (8, 64)})
>>> space
SearchSpace({'lr': Real(low=0.0001, high=0.1, log=True), 'units': Integer(low=8, high=64)})
>>> space.sample(2, random_state=0) == space.sample(2, random_state=0)
True
"""

from __future__ import annotations

import copy
import math
import sys
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from decimal import Decimal
from numbers import Integral
from numbers import Real as RealNumber
from typing import Any

import numpy as np

__all__ = ["INACTIVE", "Categorical", "Dimension", "Distribution", "Integer", "Real", "SearchSpace"]

_PRIORS = ("uniform", "log-uniform")
_ACCEPTED = (
    "to search a parameter, give a list of choices, a (low, high), "
    "(low, high, 'log-uniform') or (low, high, step) tuple, a scipy.stats distribution "
    "(anything with rvs), "
    "or a Real, Integer, Categorical or Distribution"
)


def _python(value: Any) -> Any:
    """Numpy scalars (and 0-d arrays) to python scalars; everything else as is."""
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return value.item()
    return value


def _is_number(x: Any) -> bool:
    return isinstance(x, RealNumber) and not isinstance(x, bool | np.bool_)


def _is_int(x: Any) -> bool:
    return isinstance(x, Integral) and not isinstance(x, bool | np.bool_)


def _global_random_state() -> np.random.RandomState:
    """numpy's global RandomState: the one ``np.random.seed`` seeds and ``np.random.rand``
    draws from.

    A private name, ``np.random.mtrand._rand``: numpy has no public accessor for this
    object, and scikit-learn's and scipy's ``check_random_state(None)`` return it by the
    same name (``np.random.get_bit_generator`` gives its bit generator, not this object).
    Checked against numpy 2.4.6, and numpy 1.24.0 through scikit-learn 1.6.0, whose
    ``check_random_state`` reads it;
    ``tests/test_compat.py`` checks that it is scikit-learn's ``check_random_state(None)``.
    It stays here rather than in ``skhpo/_compat.py`` because this module loads without
    scikit-learn.
    """
    return np.random.mtrand._rand


def _check_random_state(random_state: Any) -> np.random.RandomState:
    """As scikit-learn's ``check_random_state``: None, an int or a RandomState.

    Not imported from scikit-learn: this module loads with numpy and scipy alone
    (``tests/test_space.py`` pins it), so that the space is usable without scikit-learn.
    """
    if random_state is None:
        return _global_random_state()
    if _is_int(random_state):
        return np.random.RandomState(int(random_state))
    if isinstance(random_state, np.random.RandomState):
        return random_state
    raise ValueError(
        f"random_state must be None, an int or a numpy RandomState, got {random_state!r}"
    )


def _check_name(name: Any) -> str | None:
    if name is not None and not isinstance(name, str):
        raise ValueError(f"name must be a string or None, got {name!r}")
    return name


def _check_when(when: Any) -> dict[str, list] | None:
    """``when={"optimizer": "sgd"}`` as ``{"optimizer": ["sgd"]}``: a list (or range,
    1-d array) gives several values, anything else (a tuple too) is one value."""
    if when is None:
        return None
    example = "such as when={'optimizer': 'sgd'} or when={'n_layers': [2, 3]}"
    if not isinstance(when, Mapping) or not when:
        raise ValueError(
            "when must be a non-empty dict of parameter names to the value, or list of "
            f"values, for which this parameter exists, {example}; got {when!r}"
        )
    out = {}
    for parent, values in when.items():
        if not isinstance(parent, str):
            raise ValueError(f"when names parameters by strings, got {parent!r} ({example})")
        if isinstance(values, list | range) or (isinstance(values, np.ndarray) and values.ndim):
            values = [_python(v) for v in values]
            if not values:
                raise ValueError(f"when gives {parent!r} an empty list of values ({example})")
        else:
            values = [_python(values)]
        out[parent] = values
    return out


def _check_prior(log: Any, prior: Any) -> bool:
    """Resolve ``log`` and the skopt-style ``prior`` into one boolean."""
    if isinstance(log, str):  # skopt's positional prior: Real(1e-4, 1e-1, "log-uniform")
        if prior is not None and prior != log:
            raise ValueError(f"prior given twice, as {log!r} and as {prior!r}")
        log, prior = False, log
    if not isinstance(log, bool | np.bool_):
        raise ValueError(f"log must be True or False, got {log!r}")
    if prior is None:
        return bool(log)
    if not isinstance(prior, str) or prior not in _PRIORS:
        raise ValueError(f"prior must be 'uniform' or 'log-uniform', got {prior!r}")
    if log and prior == "uniform":
        raise ValueError("log=True contradicts prior='uniform'; give only one of them")
    return prior == "log-uniform"


def _same(a: Any, b: Any) -> bool:
    """Equality of category values: same type and equal (NaN equals NaN)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a) and math.isnan(b):
        return True
    return _loose_equal(a, b)


def _equivalent(a: Any, b: Any) -> bool:
    """Equal, or estimators of the same class with equivalent ``get_params(deep=False)``
    (as ``clone`` makes them), or lists and tuples of such."""
    if _same(a, b):
        return True
    if type(a) is not type(b) or isinstance(a, type):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(map(_equivalent, a, b))
    if callable(getattr(a, "get_params", None)):
        pa, pb = a.get_params(deep=False), b.get_params(deep=False)
        return pa.keys() == pb.keys() and all(_equivalent(pa[k], pb[k]) for k in pa)
    return False


def _loose_equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # arrays, objects whose == raises or is not a truth value
        return False


class Dimension(ABC):
    """One searched parameter: how to draw it, and its place in the unit cube.

    Subclasses are value objects: they compare equal when they describe the same
    distribution (the ``name`` is not compared).

    Attributes
    ----------
    name : str or None
        The parameter name; :meth:`SearchSpace.from_params` sets it to the dict key.
    when : dict of str to list, or None
        The condition under which the parameter exists: parent names to the values that
        make it active (all of them must hold); None for a parameter that always exists.
        See :class:`SearchSpace`.
    n_unit : int
        The number of unit-cube coordinates (1, or one per category).
    supports_unit : bool
        Whether :meth:`to_unit` and :meth:`from_unit` are defined.
    """

    name: str | None = None
    when: dict[str, list] | None = None
    n_unit: int = 1
    supports_unit: bool = True

    def _when_repr(self) -> str:
        return "" if self.when is None else f", when={self.when!r}"

    def _same_when(self, other: Dimension) -> bool:
        a, b = self.when or {}, other.when or {}
        return a.keys() == b.keys() and all(
            len(a[k]) == len(b[k]) and all(map(_same, a[k], b[k])) for k in a
        )

    @abstractmethod
    def rvs(self, random_state: np.random.RandomState) -> Any:
        """Draw one value: a python scalar or the category object itself."""

    @abstractmethod
    def to_unit(self, value: Any) -> np.ndarray:
        """The coordinates of ``value`` in ``[0, 1] ** n_unit``, shape ``(n_unit,)``."""

    @abstractmethod
    def from_unit(self, u: Any) -> Any:
        """The value at unit-cube coordinates ``u`` (clipped to ``[0, 1]``)."""

    def _unit_input(self, u: Any) -> np.ndarray:
        u = np.asarray(u, dtype=float).ravel()
        if u.shape != (self.n_unit,):
            raise ValueError(f"{self!r} takes {self.n_unit} unit-cube coordinate(s), got {u.size}")
        if np.isnan(u).any():
            raise ValueError(f"unit-cube coordinates must not be NaN, got {u.tolist()}")
        return np.clip(u, 0.0, 1.0)

    def _number(self, value: Any) -> float:
        if not _is_number(value) or math.isnan(value):
            raise ValueError(f"{value!r} is not a number, so it is not a value of {self!r}")
        return float(value)


class _Numeric(Dimension):
    low: Any
    high: Any
    log: bool
    step: Any = None
    _past_high = 0  # Integer: 1, so that high owns [high, high + 1)

    def __repr__(self) -> str:
        log = ", log=True" if self.log else ""
        step = "" if self.step is None else f", step={self.step!r}"
        inner = f"low={self.low!r}, high={self.high!r}{log}{step}{self._when_repr()}"
        return f"{type(self).__name__}({inner})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._key() == other._key() and self._same_when(other)

    def __hash__(self) -> int:
        return hash((type(self).__name__, *self._key()))

    def _key(self) -> tuple:
        return (self.low, self.high, self.log, self.step)

    # -- a grid: ``step`` apart (``log``: a factor ``step`` apart) ---------------------------

    def _check_step(self, step: Any, is_int: bool) -> Any:
        """The step as given (None, or a checked number), and the grid's size."""
        if step is None:
            return None
        number = _is_int(step) if is_int else _is_number(step) and math.isfinite(step)
        if not number or step <= (1 if self.log else 0):
            what = "an int" if is_int else "a finite number"
            kind = "> 0"
            if self.log:
                kind = "a factor > 1 (log=True: the grid is low, low * step, ...)"
            raise ValueError(f"step must be {what}, {kind}, got {step!r}")
        step = int(step) if is_int else float(step)
        if self.log:
            span = math.log(self.high / self.low) / math.log(step)
        else:
            span = (self.high - self.low) / step
        n = round(span)
        if is_int:
            exact = self._grid_value_of(step, n) == self.high
        else:
            exact = abs(span - n) <= 1e-9 * max(1.0, abs(span))
        if not exact:
            grid = "low * step ** k" if self.log else "low + k * step"
            raise ValueError(
                f"step {step!r} does not divide the range from {self.low!r} to {self.high!r} "
                f"({span:.6g} steps); high must be on the grid {grid}, such as "
                f"{self._grid_value_of(step, max(n, 1))!r}"
            )
        self._size = n + 1
        return step

    def _grid_value_of(self, step: Any, k: int) -> Any:
        if isinstance(step, int) and isinstance(self.low, int):
            return self.low * step**k if self.log else self.low + k * step
        # decimal arithmetic, so that 0.05 * 3 is 0.15 rather than 0.15000000000000002
        low, q = Decimal(repr(float(self.low))), Decimal(repr(float(step)))
        return float(low * q**k if self.log else low + k * q)

    def _grid_value(self, k: int) -> Any:
        return self.high if k >= self._size - 1 else self._grid_value_of(self.step, k)

    def _grid_index(self, x: float) -> int:
        """The index of the grid point nearest ``x`` (on the log scale for ``log``)."""
        if self.log:
            t = math.log(max(x, self.low) / self.low) / math.log(self.step)
        else:
            t = (x - self.low) / self.step
        return int(min(max(round(t), 0), self._size - 1))

    def _grid_at(self, u: float) -> Any:
        return self._grid_value(int(min(max(math.floor(u * self._size), 0), self._size - 1)))

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is one of this dimension's values (on its grid, if any)."""
        if not _is_number(value) or not self.low <= value <= self.high:
            return False
        if isinstance(self, Integer) and not float(value).is_integer():
            return False
        if self.step is None:
            return True
        on = self._grid_value(self._grid_index(float(value)))
        return math.isclose(on, value, rel_tol=1e-9, abs_tol=1e-12)

    def _scale(self) -> tuple[float, float]:
        """The ends of the sampling interval, on the log scale for a log prior."""
        low, high = self.low, self.high + self._past_high
        if self.log:
            return math.log(low), math.log(high)
        return float(low), float(high)

    def _at(self, t: float) -> float:
        """The point a fraction ``t`` of the way along the sampling interval."""
        lo, hi = self._scale()
        x = lo + t * (hi - lo)
        return math.exp(x) if self.log else x

    def _fraction(self, x: float) -> float:
        lo, hi = self._scale()
        t = ((math.log(x) if self.log else x) - lo) / (hi - lo)
        return min(max(t, 0.0), 1.0)

    # -- what Real and Integer share; the hooks below say where they differ ------------------

    def _init_bounds(
        self,
        low: Any,
        high: Any,
        log: Any,
        prior: str | None,
        when: Mapping[str, Any] | None,
        name: str | None,
    ) -> None:
        """Store the (converted) bounds, the prior, ``when`` and ``name``."""
        self.log = _check_prior(log, prior)
        self.low, self.high = low, high
        self.name = _check_name(name)
        self.when = _check_when(when)

    def _check_log_low(self) -> None:
        if self.log and self.low <= 0:
            raise ValueError(
                f"a log-uniform prior needs low > 0, got low={self.low!r}; use a uniform prior "
                "or a positive lower bound"
            )

    def _draw(self, random_state: np.random.RandomState) -> Any:
        """Draw off the grid (``step`` is None)."""
        return self._clip(self._at(random_state.uniform()))

    def _nearest(self, value: Any) -> Any:
        """The value of this dimension nearest ``value``."""
        return self._clip(self._number(value))

    def _middle(self, x: Any) -> float:
        """The point of the sampling interval that stands for the value ``x``."""
        return x

    def rvs(self, random_state: np.random.RandomState) -> Any:
        """Draw one value in ``[low, high]`` (a grid point, with ``step``)."""
        if self.step is not None:
            return self._grid_value(int(random_state.randint(self._size)))
        return self._draw(random_state)

    def to_unit(self, value: Any) -> np.ndarray:
        """The point of ``[0, 1]`` that ``value`` (clipped to ``[low, high]``) maps to; with
        ``step``, the middle of the interval of the nearest grid point."""
        x = self._nearest(value)
        if self.step is not None:
            return np.array([(self._grid_index(x) + 0.5) / self._size])
        return np.array([self._fraction(self._middle(x))])

    def from_unit(self, u: Any) -> Any:
        """The value at ``u`` (clipped to ``[0, 1]``); with ``step``, a grid point."""
        t = float(self._unit_input(u)[0])
        if self.step is not None:
            return self._grid_at(t)
        return self._clip(self._at(t))


class Real(_Numeric):
    """A real parameter in ``[low, high]``, uniform or log-uniform.

    Parameters
    ----------
    low, high : float
        The bounds, finite, ``low < high``.
    log : bool, default=False
        Draw uniformly on the log scale (needs ``low > 0``). A string here is taken as
        the ``prior``, so scikit-optimize's ``Real(1e-4, 1e-1, "log-uniform")`` works.
    prior : {"uniform", "log-uniform"}, optional
        scikit-optimize's spelling of ``log``; contradicting ``log`` is an error.
    step : float, optional
        Draw only the grid ``low, low + step, ..., high`` (uniformly); ``high - low``
        must be a multiple of ``step``. With ``log=True``, ``step`` is a factor > 1 and
        the grid is ``low, low * step, ..., high`` (keras-tuner's meaning). Grid values
        are computed in decimal, so ``Real(0.0, 0.5, step=0.05)`` draws ``0.15``, not
        ``0.15000000000000002``.
    when : dict, optional
        The parameter exists only when the named parameters take the given values:
        ``when={"optimizer": "sgd"}``, ``when={"n_layers": [2, 3, 4]}`` (a list gives
        several values; all the names must hold). See :class:`SearchSpace`.
    name : str, optional
        The parameter name (set by :meth:`SearchSpace.from_params`).

    Notes
    -----
    In the unit cube, ``u = (x - low) / (high - low)``, on the log scale when ``log``.
    With ``step``, each of the ``n`` grid points owns an interval of width ``1 / n``.

    Examples
    --------
    >>> import numpy as np
    >>> lr = Real(1e-4, 1e-1, prior="log-uniform")
    >>> lr
    Real(low=0.0001, high=0.1, log=True)
    >>> value = lr.rvs(np.random.RandomState(0))
    >>> type(value).__name__, 1e-4 <= value <= 1e-1
    ('float', True)
    >>> lr.to_unit(1e-2).round(4).tolist()
    [0.6667]
    >>> round(lr.from_unit([0.5]), 6)
    0.003162
    >>> dropout = Real(0.0, 0.5, step=0.05)
    >>> sorted({dropout.rvs(np.random.RandomState(i)) for i in range(200)})[:4]
    [0.0, 0.05, 0.1, 0.15]
    """

    def __init__(
        self,
        low: float,
        high: float,
        log: bool = False,
        *,
        step: float | None = None,
        prior: str | None = None,
        when: Mapping[str, Any] | None = None,
        name: str | None = None,
    ) -> None:
        for bound, what in ((low, "low"), (high, "high")):
            if not _is_number(bound) or not math.isfinite(bound):
                raise ValueError(f"{what} must be a finite number, got {bound!r}")
        self._init_bounds(float(low), float(high), log, prior, when, name)
        if not self.low < self.high:
            raise ValueError(f"low ({self.low!r}) must be lower than high ({self.high!r})")
        if not math.isfinite(self.high - self.low):
            raise ValueError(
                f"the range from {self.low!r} to {self.high!r} is too wide for a float"
            )
        self._check_log_low()
        self.step = self._check_step(step, is_int=False)

    def _clip(self, x: float) -> float:
        return float(min(max(x, self.low), self.high))


class Integer(_Numeric):
    """An integer parameter in ``[low, high]``, both included, uniform or log-uniform.

    Parameters
    ----------
    low, high : int
        The bounds, included, ``low <= high`` (``low == high`` is a constant).
    log : bool, default=False
        Draw on the log scale (needs ``low > 0``): ``floor(exp(uniform(log(low),
        log(high + 1))))`` clipped to ``[low, high]``, so each integer ``k`` gets the mass
        of ``[k, k + 1)`` on the log scale. A string here is taken as the ``prior``.
    step : int, optional
        Draw only ``low, low + step, ..., high`` (uniformly); ``high - low`` must be a
        multiple of ``step``. With ``log=True``, a factor >= 2: ``low, low * step, ...,
        high`` (``Integer(32, 512, log=True, step=2)`` draws 32, 64, 128, 256 or 512).
    prior : {"uniform", "log-uniform"}, optional
        scikit-optimize's spelling of ``log``; contradicting ``log`` is an error.
    when : dict, optional
        The parameter exists only when the named parameters take the given values:
        ``when={"optimizer": "sgd"}``, ``when={"n_layers": [2, 3, 4]}`` (a list gives
        several values; all the names must hold). See :class:`SearchSpace`.
    name : str, optional
        The parameter name (set by :meth:`SearchSpace.from_params`).

    Notes
    -----
    With ``step``, each of the ``n`` grid points owns an interval of width ``1 / n`` in
    the unit cube. Without, each integer owns an interval of equal width:
    ``u = (k - low + 0.5) / (high - low + 1)``; with ``log``, the interval
    ``[log(k), log(k + 1))`` of ``[log(low), log(high + 1)]``, ``k`` at its middle.
    :meth:`from_unit` floors and clips, so it inverts :meth:`to_unit`.

    Examples
    --------
    >>> import numpy as np
    >>> units = Integer(10, 100)
    >>> value = units.rvs(np.random.RandomState(0))
    >>> type(value).__name__, 10 <= value <= 100
    ('int', True)
    >>> Integer(0, 1).to_unit(1).tolist()
    [0.75]
    >>> units.from_unit(units.to_unit(42))
    42
    >>> Integer(8, 512, log=True)
    Integer(low=8, high=512, log=True)
    >>> Integer(8, 64, step=4).from_unit([0.5])
    36
    """

    _past_high = 1

    def __init__(
        self,
        low: int,
        high: int,
        log: bool = False,
        *,
        step: int | None = None,
        prior: str | None = None,
        when: Mapping[str, Any] | None = None,
        name: str | None = None,
    ) -> None:
        for bound, what in ((low, "low"), (high, "high")):
            if not _is_int(bound):
                raise ValueError(
                    f"{what} of an Integer must be an int, got {bound!r}; use Real for a "
                    "range of floats"
                )
        self._init_bounds(int(low), int(high), log, prior, when, name)
        if self.low > self.high:
            raise ValueError(f"low ({self.low!r}) must not be greater than high ({self.high!r})")
        self._check_log_low()
        self.step = self._check_step(step, is_int=True)
        if self.step == 1 and not self.log:
            self.step = None  # every integer: Integer(low, high) itself

    def _clip(self, x: float) -> int:
        return int(min(max(math.floor(x), self.low), self.high))

    def _draw(self, random_state: np.random.RandomState) -> int:
        if not self.log:
            return int(random_state.randint(self.low, self.high + 1))
        return super()._draw(random_state)

    def _nearest(self, value: Any) -> int:
        return int(min(max(round(self._number(value)), self.low), self.high))

    def _middle(self, x: int) -> float:
        """The middle of the interval that the integer ``x`` owns."""
        if self.log:
            return math.exp((math.log(x) + math.log(x + 1)) / 2)
        return x + 0.5


class Categorical(Dimension):
    """A uniform choice among ``categories``; one-hot in the unit cube.

    Parameters
    ----------
    categories : sequence
        The choices: a list, tuple, range or 1-d array of any objects (``None``,
        booleans, strings, tuples, callables...). Numpy scalars become python scalars;
        other objects are returned as they are, not copied.
    when : dict, optional
        The parameter exists only when the named parameters take the given values:
        ``when={"optimizer": "sgd"}``, ``when={"n_layers": [2, 3, 4]}`` (a list gives
        several values; all the names must hold). See :class:`SearchSpace`.
    name : str, optional
        The parameter name (set by :meth:`SearchSpace.from_params`).

    Notes
    -----
    Values are matched by type and equality, so ``True`` and ``1`` are different
    categories. :meth:`from_unit` takes the argmax of its one-hot block.

    Examples
    --------
    >>> import numpy as np
    >>> opt = Categorical(["adam", "rmsprop", None])
    >>> opt.rvs(np.random.RandomState(0)) in ("adam", "rmsprop", None)
    True
    >>> opt.to_unit("rmsprop").tolist()
    [0.0, 1.0, 0.0]
    >>> print(opt.from_unit([0.1, 0.3, 0.9]))
    None
    """

    def __init__(
        self,
        categories: Sequence[Any],
        *,
        when: Mapping[str, Any] | None = None,
        name: str | None = None,
    ) -> None:
        if isinstance(categories, set | frozenset):
            raise ValueError(
                f"categories must be a list of choices, got a set {categories!r}: a set has "
                "no fixed order, so draws would not be reproducible; give a sorted list"
            )
        if (
            isinstance(categories, str | bytes | Mapping)
            or not isinstance(categories, Sequence | np.ndarray | range)
            or (isinstance(categories, np.ndarray) and categories.ndim == 0)
        ):
            raise ValueError(
                f"categories must be a list of choices, got {type(categories).__name__} "
                f"{categories!r}; for a single fixed value give a one-element list"
            )
        self.categories = [_python(c) for c in categories]
        if not self.categories:
            raise ValueError("the list of choices is empty; give at least one value")
        self.name = _check_name(name)
        self.when = _check_when(when)
        self.n_unit = len(self.categories)

    def __repr__(self) -> str:
        return f"Categorical({self.categories!r}{self._when_repr()})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Categorical):
            return NotImplemented
        return (
            len(other.categories) == len(self.categories)
            and all(_same(a, b) for a, b in zip(self.categories, other.categories, strict=True))
            and self._same_when(other)
        )

    def __hash__(self) -> int:
        return hash(("Categorical", len(self.categories)))

    def rvs(self, random_state: np.random.RandomState) -> Any:
        """Draw one of the categories, uniformly; the object itself."""
        return self.categories[random_state.randint(len(self.categories))]

    def index(self, value: Any) -> int:
        """The position of ``value`` among the categories.

        Same type and equal first, then equal only (so ``1.0`` finds ``1``), then an
        estimator of the same class with the same parameters (a clone finds its original).
        """
        value = _python(value)
        for i, c in enumerate(self.categories):
            if _same(c, value):
                return i
        for i, c in enumerate(self.categories):
            if _loose_equal(c, value):
                return i
        for i, c in enumerate(self.categories):
            if _equivalent(c, value):
                return i
        raise ValueError(f"{value!r} is not one of the categories {self.categories!r}")

    def to_unit(self, value: Any) -> np.ndarray:
        """The one-hot vector of ``value``."""
        u = np.zeros(self.n_unit)
        u[self.index(value)] = 1.0
        return u

    def from_unit(self, u: Any) -> Any:
        """The category with the largest coordinate (the first one on ties)."""
        return self.categories[int(np.argmax(self._unit_input(u)))]


def _describe(dist: Any) -> str:
    """``loguniform(0.0001, 0.1)`` for a frozen scipy.stats distribution, else repr."""
    inner = getattr(dist, "dist", None)
    name = getattr(inner, "name", None)
    args, kwds = getattr(dist, "args", None), getattr(dist, "kwds", None)
    if isinstance(name, str) and isinstance(args, tuple) and isinstance(kwds, dict):
        parts = [repr(_python(a)) for a in args]
        parts += [f"{k}={_python(v)!r}" for k, v in kwds.items()]
        return f"{name}({', '.join(parts)})"
    return repr(dist)


def _needs_shapes(dist: Any) -> bool:
    """An unfrozen scipy.stats distribution with shape parameters (``loguniform``)."""
    stats = sys.modules.get("scipy.stats")
    generic = () if stats is None else (stats.rv_continuous, stats.rv_discrete)
    return isinstance(dist, generic) and getattr(dist, "numargs", 0) > 0


def _is_discrete(dist: Any) -> bool:
    stats = sys.modules.get("scipy.stats")  # a scipy distribution means scipy.stats is loaded
    if stats is None:
        return False
    return isinstance(getattr(dist, "dist", dist), stats.rv_discrete)


class Distribution(Dimension):
    """Any object with ``rvs(random_state=...)``, such as a frozen scipy.stats distribution.

    Parameters
    ----------
    dist : object
        Drawn with ``dist.rvs(random_state=rng)``; numpy scalars become python scalars.
    when : dict, optional
        The parameter exists only when the named parameters take the given values:
        ``when={"optimizer": "sgd"}``, ``when={"n_layers": [2, 3, 4]}`` (a list gives
        several values; all the names must hold). See :class:`SearchSpace`.
    name : str, optional
        The parameter name (set by :meth:`SearchSpace.from_params`).

    Notes
    -----
    The unit-cube mapping uses ``dist.cdf`` and ``dist.ppf`` when the object has both
    (``supports_unit`` is then True). For a discrete scipy.stats distribution, a value
    ``k`` maps to the middle of ``[cdf(k - 1), cdf(k)]`` and :meth:`from_unit` returns an
    int. Two Distributions are equal only when they wrap the same object.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.stats import loguniform
    >>> lr = Distribution(loguniform(1e-4, 1e-1))
    >>> lr
    Distribution(loguniform(0.0001, 0.1))
    >>> value = lr.rvs(np.random.RandomState(0))
    >>> type(value).__name__, 1e-4 <= value <= 1e-1
    ('float', True)
    >>> round(lr.from_unit(lr.to_unit(1e-3)), 9)
    0.001
    """

    def __init__(
        self, dist: Any, *, when: Mapping[str, Any] | None = None, name: str | None = None
    ) -> None:
        if isinstance(dist, type) or not callable(getattr(dist, "rvs", None)):
            raise TypeError(
                f"{dist!r} has no rvs method, so it is not a distribution; give a "
                "scipy.stats distribution such as loguniform(1e-4, 1e-1), or any object "
                "with rvs(random_state=...)"
            )
        if _needs_shapes(dist):
            raise ValueError(
                f"the scipy.stats distribution {dist.name!r} is given without its shape "
                f"parameters; freeze it with them, as in {dist.name}({dist.shapes})"
            )
        self.dist = dist
        self.name = _check_name(name)
        self.when = _check_when(when)
        self.supports_unit = callable(getattr(dist, "cdf", None)) and callable(
            getattr(dist, "ppf", None)
        )
        self._discrete = _is_discrete(dist)

    def __repr__(self) -> str:
        return f"Distribution({_describe(self.dist)}{self._when_repr()})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Distribution):
            return NotImplemented
        return other.dist is self.dist and self._same_when(other)

    def __hash__(self) -> int:
        return hash(("Distribution", id(self.dist)))

    def rvs(self, random_state: np.random.RandomState) -> Any:
        """One draw of ``dist.rvs(random_state=random_state)``, as a python scalar."""
        return _python(self.dist.rvs(random_state=random_state))

    def _need_unit(self) -> None:
        if not self.supports_unit:
            raise TypeError(
                f"{self!r} has no cdf and ppf, so it cannot be mapped to the unit cube "
                "(as model-based samplers need); use Real, Integer, Categorical or a "
                "scipy.stats distribution"
            )

    def to_unit(self, value: Any) -> np.ndarray:
        """``[cdf(value)]`` (the middle of the step of ``value`` when discrete)."""
        self._need_unit()
        if self._discrete:
            k = math.floor(self._number(value))
            u = (float(self.dist.cdf(k - 1)) + float(self.dist.cdf(k))) / 2
        else:
            u = float(self.dist.cdf(value))
        return np.array([min(max(u, 0.0), 1.0)])

    def from_unit(self, u: Any) -> Any:
        """``ppf(u)``, ``u`` clipped to ``[1e-12, 1 - 1e-12]`` to stay finite."""
        self._need_unit()
        q = min(max(float(self._unit_input(u)[0]), 1e-12), 1 - 1e-12)
        value = _python(self.dist.ppf(q))
        if self._discrete and isinstance(value, float) and math.isfinite(value):
            return int(value)
        return value


def _from_tuple(spec: tuple) -> Dimension:
    if len(spec) not in (2, 3):
        raise ValueError(
            f"a range is (low, high), (low, high, prior) or (low, high, step), got a tuple "
            f"of {len(spec)} "
            f"{spec!r}; use a list for a choice among values"
        )
    low, high = spec[0], spec[1]
    if not (_is_number(low) and _is_number(high)):
        raise ValueError(
            f"the bounds of the range {spec!r} must be numbers; use a list for a choice "
            "among values"
        )
    third = spec[2] if len(spec) == 3 else "uniform"
    if _is_number(third):  # (low, high, step)
        cls = Integer if _is_int(low) and _is_int(high) and _is_int(third) else Real
        try:
            return cls(low, high, step=third)
        except ValueError as exc:
            raise ValueError(
                f"the range {spec!r} is (low, high, step): {exc}; for a choice among "
                "values, use a list"
            ) from None
    if not isinstance(third, str) or third not in _PRIORS:
        raise ValueError(
            f"the third entry of the range {spec!r} is the step (a number) or the prior, "
            f"'uniform' or 'log-uniform', got {third!r}; use a list for a choice among values"
        )
    if _is_int(low) and _is_int(high):
        return Integer(low, high, prior=third)
    return Real(low, high, prior=third)


def _dimension(name: str, spec: Any) -> Dimension:
    """Convert one entry of a user's space; errors name the parameter."""
    try:
        if isinstance(spec, Dimension):
            if spec.name == name:
                return spec
            named = copy.copy(spec)  # the same object may serve several parameters
            named.name = name
            return named
        if isinstance(spec, type):
            raise ValueError(
                f"the class {spec.__name__} is not a search dimension; give an instance, "
                "such as Real(0.0, 1.0) or scipy.stats.loguniform(1e-4, 1e-1)"
            )
        if isinstance(spec, tuple):
            dim = _from_tuple(spec)
        elif callable(getattr(spec, "rvs", None)):
            dim = Distribution(spec)
        elif isinstance(spec, set | frozenset):
            dim = Categorical(spec)  # raises, explaining why a set will not do
        elif isinstance(spec, np.ndarray | range) or (
            isinstance(spec, Sequence) and not isinstance(spec, str | bytes)
        ):
            dim = Categorical(spec)
        else:
            hint = f" (for a fixed value, a one-element list [{spec!r}])"
            if isinstance(spec, Mapping) or not isinstance(spec, str | int | float | bool):
                hint = ""
            raise ValueError(
                f"{type(spec).__name__} {spec!r} is not a search dimension; {_ACCEPTED}{hint}"
            )
    except (ValueError, TypeError) as exc:
        raise ValueError(f"Parameter {name!r}: {exc}") from exc
    dim.name = name
    return dim


def _subspace(k: int, sub: Any, many: bool) -> dict[str, Dimension]:
    where = f"Entry {k} of the search space list" if many else "The search space"
    if not isinstance(sub, Mapping):
        raise ValueError(
            f"{where} must be a dict of parameter names to what to search, got "
            f"{type(sub).__name__} {sub!r}"
        )
    if not sub:
        raise ValueError(
            f"{where} is empty: give at least one parameter, such as "
            "{'alpha': (1e-5, 1e-1, 'log-uniform')}"
        )
    for name in sub:
        if not isinstance(name, str):
            raise ValueError(
                f"Parameter {name!r}: parameter names must be strings, as set_params takes "
                f"them, got {type(name).__name__} {name!r}"
            )
    return {name: _dimension(name, sub[name]) for name in sorted(sub)}


#: The unit-cube coordinate of an inactive parameter: outside ``[0, 1]``, so a model sees
#: "absent" as one value of its own, away from every active value.
INACTIVE = -0.5


def _is_discrete_dim(dim: Dimension) -> bool:
    return isinstance(dim, Categorical | Integer) or getattr(dim, "step", None) is not None


def _allowed(name: str, parent: str, pdim: Dimension, values: list) -> list[np.ndarray]:
    """The unit-cube points of the parent's values that make ``name`` active."""
    if not _is_discrete_dim(pdim):
        raise ValueError(
            f"Parameter {name!r}: its condition is on {parent!r}, which is {pdim!r}, a "
            "continuous range; a condition takes a parameter with a list of values, an "
            "Integer or a range with a step"
        )
    points = []
    for value in values:
        if isinstance(pdim, Categorical):
            try:
                pdim.index(value)
            except ValueError:
                ok = False
            else:
                ok = True
        else:
            ok = pdim.contains(value)
        if not ok:
            raise ValueError(
                f"Parameter {name!r}: its condition when={{{parent!r}: ...}} gives {value!r}, "
                f"which is not a value of {parent!r} ({pdim!r})"
            )
        points.append(pdim.to_unit(value))
    return points


def _conditions(sub: dict[str, Dimension], where: str) -> list[tuple[str, list]]:
    """The conditional names of a subspace, parents before children, each with its
    ``(parent, allowed unit points)`` pairs; a clear error for an unknown parent, a
    continuous parent, a value the parent never takes, and a cycle."""
    conds: dict[str, list] = {}
    for name, dim in sub.items():
        if dim.when is None:
            continue
        pairs = []
        for parent, values in dim.when.items():
            if parent not in sub:
                raise ValueError(
                    f"Parameter {name!r}: its condition when={dim.when!r} names {parent!r}, "
                    f"which is not a parameter of {where} (its parameters: {sorted(sub)})"
                )
            pairs.append((parent, _allowed(name, parent, sub[parent], values)))
        conds[name] = pairs
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = " -> ".join(repr(n) for n in [*path[path.index(name) :], name])
            raise ValueError(
                f"The conditions of {where} form a cycle: {cycle} (each exists only when "
                "the next takes certain values); a parameter cannot depend on itself"
            )
        state[name] = "visiting"
        for parent, _ in conds.get(name, []):
            visit(parent, [*path, name])
        state[name] = "done"
        if name in conds:
            order.append(name)

    for name in sorted(conds):
        visit(name, [])
    return [(n, conds[n]) for n in order]


class SearchSpace:
    """One or more subspaces (dicts of :class:`Dimension`) to sample parameters from.

    Build one with :meth:`from_params`, from the forms listed in :mod:`skhpo.space`.

    Parameters
    ----------
    subspaces : list of dict
        Parameter names mapped to dimensions (or anything :meth:`from_params` converts).

    Attributes
    ----------
    subspaces : list of dict of str to Dimension
        One dict per subspace, in sorted-name order.
    names : list of str
        The sorted union of the parameter names of all subspaces.

    Notes
    -----
    **Conditional parameters.** A dimension with ``when={parent: values}`` exists only
    when ``parent`` takes one of ``values`` (and, for several parents, when all hold),
    and when ``parent`` itself exists. A sample leaves out the parameters that are
    inactive, so the estimator keeps its default for them. Every dimension is still
    drawn, in sorted-name order, and the inactive ones dropped, so a space's samples
    do not depend on the order of its conditions. A parent must be discrete (a list,
    an ``Integer``, a range with ``step``) and in the same dict. In the unit cube an
    inactive parameter's coordinates are all ``INACTIVE`` (-0.5), outside ``[0, 1]``.

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
    >>> space.n_unit  # dropout, lr, and two one-hot coordinates for units
    4
    >>> back = space.from_unit(space.to_unit(params[0]))  # up to rounding
    >>> sorted(k for k, v in back.items() if abs(v - params[0][k]) <= 1e-12 * abs(v))
    ['dropout', 'lr', 'units']
    """

    def __init__(self, subspaces: Sequence[Mapping[str, Any]]) -> None:
        if not isinstance(subspaces, list | tuple):
            raise ValueError(
                f"subspaces must be a list of dicts, got {type(subspaces).__name__}; use "
                "SearchSpace.from_params for a single dict"
            )
        if not subspaces:
            raise ValueError(
                "The search space is an empty list of dicts; give at least one dict of "
                "parameter names to what to search"
            )
        many = len(subspaces) > 1
        self.subspaces = [_subspace(k, sub, many) for k, sub in enumerate(subspaces)]
        self.names = sorted({n for sub in self.subspaces for n in sub})
        self._conditions = [
            _conditions(sub, f"entry {k} of the search space list" if many else "the search space")
            for k, sub in enumerate(self.subspaces)
        ]

    def _inactive(self, k: int, values: Mapping[str, Any]) -> set[str]:
        """The conditional names of subspace ``k`` that ``values`` leave inactive."""
        sub, out = self.subspaces[k], set()
        for name, pairs in self._conditions[k]:
            for parent, allowed in pairs:
                if parent in out or parent not in values:
                    out.add(name)
                    break
                try:
                    u = sub[parent].to_unit(values[parent])
                except ValueError:
                    out.add(name)
                    break
                if not any(np.allclose(u, a, rtol=0, atol=1e-9) for a in allowed):
                    out.add(name)
                    break
        return out

    def subspace_of(self, params: Mapping[str, Any]) -> int | None:
        """The index of the subspace that ``params`` is a sample of (its active names
        exactly), or None.

        Parameters
        ----------
        params : dict

        Returns
        -------
        int or None
        """
        for k, sub in enumerate(self.subspaces):
            if set(params) <= set(sub) and set(params) == set(sub) - self._inactive(k, params):
                return k
        return None

    @classmethod
    def from_params(cls, params: Any) -> SearchSpace:
        """Build a space from a dict or a list of dicts; a SearchSpace is returned as is.

        Parameters
        ----------
        params : dict, list of dict or SearchSpace
            Parameter names mapped to a list of choices, a ``(low, high)`` or
            ``(low, high, prior)`` tuple, a distribution with ``rvs``, or a
            :class:`Dimension`.

        Returns
        -------
        SearchSpace

        Raises
        ------
        ValueError
            For a malformed space; the message names the parameter.
        """
        if isinstance(params, SearchSpace):
            return params
        if isinstance(params, Mapping):
            return cls([params])
        if isinstance(params, list):
            return cls(params)
        raise ValueError(
            f"The search space must be a dict or a list of dicts, got a "
            f"{type(params).__name__}: {params!r}"
        )

    def __len__(self) -> int:
        return len(self.subspaces)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SearchSpace):
            return NotImplemented
        return self.subspaces == other.subspaces

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        parts = [
            "{" + ", ".join(f"{n!r}: {d!r}" for n, d in sub.items()) + "}" for sub in self.subspaces
        ]
        inner = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
        return f"SearchSpace({inner})"

    def sample_one(self, rng: np.random.RandomState) -> dict[str, Any]:
        """One parameter dict: a subspace uniformly at random, then each name in order.

        Parameters
        ----------
        rng : numpy.random.RandomState
            Consumed as scikit-learn's ``ParameterSampler`` consumes it.

        Returns
        -------
        dict
            Parameter names to plain python values.
        """
        k = rng.randint(len(self.subspaces))
        out = {}
        for name, dim in self.subspaces[k].items():
            try:
                out[name] = dim.rvs(rng)
            except Exception as exc:
                raise ValueError(
                    f"Parameter {name!r}: drawing from {dim!r} failed: {type(exc).__name__}: {exc}"
                ) from exc
        for name in self._inactive(k, out) if self._conditions[k] else ():
            del out[name]
        return out

    def sample(self, n: int, random_state: Any = None) -> list[dict[str, Any]]:
        """``n`` parameter dicts; the same ``random_state`` gives the same list.

        Parameters
        ----------
        n : int
            How many, ``n >= 0``.
        random_state : None, int or numpy.random.RandomState
            As in scikit-learn: None uses numpy's global random state; a RandomState is
            consumed.

        Returns
        -------
        list of dict
        """
        if not _is_int(n) or n < 0:
            raise ValueError(f"n must be a non-negative int, got {n!r}")
        rng = _check_random_state(random_state)
        return [self.sample_one(rng) for _ in range(int(n))]

    def _single(self) -> dict[str, Dimension]:
        if len(self.subspaces) != 1:
            raise ValueError(
                f"The unit-cube mapping is defined for a single subspace, and this space is "
                f"a list of {len(self.subspaces)} dicts with different parameters; search "
                "them separately, or use random sampling"
            )
        sub = self.subspaces[0]
        for name, dim in sub.items():
            if not dim.supports_unit:
                raise TypeError(
                    f"Parameter {name!r}: {dim!r} has no cdf and ppf, so it cannot be mapped "
                    "to the unit cube; use Real, Integer, Categorical or a scipy.stats "
                    "distribution"
                )
        return sub

    @property
    def n_unit(self) -> int:
        """The number of unit-cube coordinates (a categorical counts one per category)."""
        return sum(d.n_unit for d in self._single().values())

    def to_unit(self, params: Mapping[str, Any]) -> np.ndarray:
        """The unit-cube point of a parameter dict, coordinates in sorted-name order.

        Parameters
        ----------
        params : dict
            A value for every active parameter of the space (other keys are ignored);
            an inactive parameter's coordinates are ``INACTIVE``.

        Returns
        -------
        ndarray of shape (n_unit,)
        """
        sub = self._single()
        inactive = self._inactive(0, params)
        missing = [n for n in sub if n not in params and n not in inactive]
        if missing:
            raise ValueError(f"to_unit needs a value for every parameter; missing {missing}")
        parts = []
        for name, dim in sub.items():
            if name in inactive:
                parts.append(np.full(dim.n_unit, INACTIVE))
                continue
            try:
                parts.append(dim.to_unit(params[name]))
            except ValueError as exc:
                raise ValueError(f"Parameter {name!r}: {exc}") from exc
        return np.concatenate(parts)

    def from_unit(self, u: Any) -> dict[str, Any]:
        """The parameter dict at a unit-cube point (coordinates clipped to ``[0, 1]``).

        Parameters
        ----------
        u : array-like of shape (n_unit,)

        Returns
        -------
        dict
            The active parameters only.
        """
        sub = self._single()
        u = np.asarray(u, dtype=float).ravel()
        n_unit = sum(d.n_unit for d in sub.values())
        if u.shape != (n_unit,):
            raise ValueError(f"This space has {n_unit} unit-cube coordinates, got {u.size}")
        out, k = {}, 0
        for name, dim in sub.items():
            out[name] = dim.from_unit(u[k : k + dim.n_unit])
            k += dim.n_unit
        for name in self._inactive(0, out):
            del out[name]
        return out
