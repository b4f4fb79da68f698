"""Hyperband bracket math (Li et al., 2018): pure functions, standard library only.

A *bracket* is one run of successive halving: ``n`` models are trained a few epochs and
scored, the best ``1 / eta`` of them are trained ``eta`` times longer, and so on until
``max_iter`` epochs. Hyperband runs brackets from the most aggressive (many models, few
epochs) to plain random search (few models, all at ``max_iter`` epochs).

All arithmetic is exact (:class:`fractions.Fraction`): ``math.log(243, 3)`` is
``4.999...`` and ``27 * 3**-3 * 3**3`` need not be 27 in floating point, so neither
logarithms nor float powers decide how many brackets, models or epochs there are.

References
----------
.. [1] L. Li, K. Jamieson, G. DeSalvo, A. Rostamizadeh and A. Talwalkar, "Hyperband: A
   Novel Bandit-Based Approach to Hyperparameter Optimization", JMLR 18(185), 2018.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from numbers import Integral, Rational, Real

__all__ = [
    "Bracket",
    "Rung",
    "budget_cycle",
    "default_patience",
    "hyperband_brackets",
    "plan_metadata",
    "successive_halving_rungs",
    "validate_schedule_params",
]


@dataclass(frozen=True)
class Rung:
    """One rung of a bracket: ``n_models`` models are scored after ``epochs`` epochs.

    Parameters
    ----------
    n_models : int
        How many models reach this rung.
    epochs : int
        Cumulative epochs a model has been trained when it is scored at this rung.

    Examples
    --------
    >>> Rung(n_models=9, epochs=3)
    Rung(n_models=9, epochs=3)
    """

    n_models: int
    epochs: int


@dataclass(frozen=True)
class Bracket:
    """One successive-halving run of Hyperband: bracket ``index`` (``s``) and its rungs.

    Parameters
    ----------
    index : int
        The bracket number ``s``: ``s_max`` for the most aggressive bracket, ``0`` for
        plain random search at ``max_iter`` epochs.
    rungs : tuple of Rung
        The rungs, in order: epochs strictly increasing, models non-increasing.

    Examples
    --------
    >>> b = Bracket(2, (Rung(9, 1), Rung(3, 3), Rung(1, 9)))
    >>> b.n_models, b.max_epochs, b.partial_fit_calls
    (9, 9, 21)
    """

    index: int
    rungs: tuple[Rung, ...]

    @property
    def n_models(self) -> int:
        """Models the bracket starts (those of its first rung)."""
        return self.rungs[0].n_models

    @property
    def max_epochs(self) -> int:
        """Epochs of the last rung."""
        return self.rungs[-1].epochs

    @property
    def partial_fit_calls(self) -> int:
        """Epochs trained in the bracket when promoted models resume.

        ``sum_i n_i * (r_i - r_{i-1})`` with ``r_{-1} = 0``: a promoted model trains only
        the epochs between its previous rung and the next.
        """
        total, before = 0, 0
        for rung in self.rungs:
            total += rung.n_models * (rung.epochs - before)
            before = rung.epochs
        return total


def _exact(x: float) -> Fraction:
    """``x`` as a fraction: integers and rationals exactly, floats by their decimal repr.

    ``2.5`` becomes ``5/2`` (what the user wrote), not the binary double nearest to it.
    """
    if isinstance(x, Integral):
        return Fraction(int(x))
    if isinstance(x, (Rational, Decimal)):
        return Fraction(x)
    try:
        return Fraction(str(x))
    except ValueError:  # a Real whose str() is no decimal literal
        return Fraction(float(x))


def floor_div(n: int, eta: float) -> int:
    """``floor(n / eta)``, exactly (``eta`` taken at its decimal value, as :func:`_exact`)."""
    return math.floor(Fraction(int(n)) / _exact(eta))


def _round_half_up(x: Fraction) -> int:
    return math.floor(x + Fraction(1, 2))


def _is_int(x: object) -> bool:
    return isinstance(x, Integral) and not isinstance(x, bool)


def _check_positive_int(x: object, name: str) -> None:
    if not _is_int(x) or x < 1:  # type: ignore[operator]
        raise ValueError(f"{name} must be an int >= 1, got {x!r}")


def _check_eta(eta: object) -> None:
    if (
        isinstance(eta, bool)
        or not isinstance(eta, (Real, Decimal))
        or not math.isfinite(eta)  # type: ignore[arg-type]
        or not eta > 1  # type: ignore[operator]
    ):
        raise ValueError(f"eta (aggressiveness) must be a finite number > 1, got {eta!r}")


def validate_schedule_params(max_iter: object, eta: object) -> None:
    """Check Hyperband's two parameters.

    Parameters
    ----------
    max_iter : object
        Must be an int >= 1 (``bool`` is not accepted).
    eta : object
        Must be a finite real number > 1 (``bool`` and strings are not accepted).

    Raises
    ------
    ValueError
        Naming the parameter, what it must be and what it was.

    Examples
    --------
    >>> validate_schedule_params(27, 3)
    >>> validate_schedule_params(0, 3)
    Traceback (most recent call last):
    ...
    ValueError: max_iter must be an int >= 1, got 0
    >>> validate_schedule_params(27, 1)
    Traceback (most recent call last):
    ...
    ValueError: eta (aggressiveness) must be a finite number > 1, got 1
    """
    _check_positive_int(max_iter, "max_iter")
    _check_eta(eta)


def _s_max(max_iter: int, eta: Fraction) -> int:
    """The largest integer ``s`` with ``eta**s <= max_iter``, without logarithms."""
    s, power = 0, eta
    while power <= max_iter:
        s += 1
        power *= eta
    return s


def hyperband_brackets(max_iter: int, eta: float = 3) -> list[Bracket]:
    """Hyperband's brackets for a budget of ``max_iter`` epochs, most aggressive first.

    Parameters
    ----------
    max_iter : int
        The most epochs any model is trained (Hyperband's ``R``), >= 1.
    eta : float, default=3
        Hyperband's ``eta`` (dask-ml's ``aggressiveness``), > 1: each rung keeps
        ``1 / eta`` of the models and trains them ``eta`` times longer.

    Returns
    -------
    list of Bracket
        Brackets ``s = s_max, s_max - 1, ..., 0``.

    Raises
    ------
    ValueError
        If ``max_iter`` or ``eta`` is invalid (see :func:`validate_schedule_params`).

    Notes
    -----
    ``s_max`` is the largest integer with ``eta**s_max <= max_iter`` and the budget per
    bracket is ``B = (s_max + 1) * max_iter``. Bracket ``s`` starts
    ``n = ceil(B / max_iter * eta**s / (s + 1))`` models at ``r = max_iter * eta**-s``
    epochs; its rung ``i`` (``i = 0..s``) has ``floor(n * eta**-i)`` models at
    ``r * eta**i`` epochs, rounded half up, at least 1 and at most ``max_iter``; the last
    rung is exactly ``max_iter``. The arithmetic is exact (floats ``eta`` are taken at
    their decimal value).

    When rounding gives a rung the same epochs as the rung before it (only possible for
    ``eta`` close to 1), the later rung is dropped: selecting the best ``n_{i+2}`` of
    ``n_i`` models directly is what selecting ``n_{i+1}`` and then ``n_{i+2}`` of them
    without training in between would do, so the training is unchanged and epochs stay
    strictly increasing.

    Examples
    --------
    >>> for b in hyperband_brackets(27, 3):
    ...     print(b.index, [(r.n_models, r.epochs) for r in b.rungs], b.partial_fit_calls)
    3 [(27, 1), (9, 3), (3, 9), (1, 27)] 81
    2 [(12, 3), (4, 9), (1, 27)] 78
    1 [(6, 9), (2, 27)] 90
    0 [(4, 27)] 108
    >>> [(b.index, b.n_models) for b in hyperband_brackets(1)]
    [(0, 1)]
    """
    validate_schedule_params(max_iter, eta)
    R, e = int(max_iter), _exact(eta)
    s_max = _s_max(R, e)
    brackets = []
    for s in range(s_max, -1, -1):
        n = math.ceil(Fraction(s_max + 1) * e**s / (s + 1))
        r = R / e**s
        rungs: list[Rung] = []
        for i in range(s + 1):
            n_i = max(math.floor(n / e**i), 1)
            r_i = R if i == s else min(max(_round_half_up(r * e**i), 1), R)
            if rungs and r_i <= rungs[-1].epochs:
                continue
            rungs.append(Rung(n_i, r_i))
        brackets.append(Bracket(s, tuple(rungs)))
    return brackets


def successive_halving_rungs(
    n_models: int, min_epochs: int, max_epochs: int | None = None, eta: float = 3
) -> tuple[Rung, ...]:
    """The rungs of one successive-halving run: halve until one model is left.

    The plan of :class:`~skhpo.SuccessiveHalvingSearchCV` (dask-ml's
    ``SuccessiveHalvingSearchCV``: ``n_initial_parameters``, ``n_initial_iter``,
    ``max_iter``, ``aggressiveness``).

    Parameters
    ----------
    n_models : int
        Models of the first rung, >= 1.
    min_epochs : int
        Epochs of the first rung, >= 1 and <= ``max_epochs``.
    max_epochs : int or None, default=None
        The most epochs any model is trained, >= 1; ``None``: no limit.
    eta : float, default=3
        Keep ``1 / eta`` of the models at each rung and train them ``eta`` times
        longer, > 1.

    Returns
    -------
    tuple of Rung
        Models strictly decreasing, epochs strictly increasing, none over
        ``max_epochs``.

    Raises
    ------
    ValueError
        If a parameter is not as described above.

    Notes
    -----
    Rung ``i`` has ``floor(n_models * eta**-i)`` models at ``min_epochs * eta**i`` epochs
    (rounded half up), exactly. The rungs end at the first one with a single model, at
    the first whose epochs reach ``max_epochs`` (trained to exactly ``max_epochs``), or
    before a rung that would have no model (6 models, ``eta=3``: 6, 2, then 0). Two rungs
    that would have the same epochs (``eta`` close to 1) are one, the first: selecting
    the best of the best without training in between selects the same models. Two rungs
    that would have the same models are one, the second: scoring without selecting
    changes nothing.

    Examples
    --------
    >>> [(r.n_models, r.epochs) for r in successive_halving_rungs(9, 1)]
    [(9, 1), (3, 3), (1, 9)]
    >>> [(r.n_models, r.epochs) for r in successive_halving_rungs(10, 2, 5)]
    [(10, 2), (3, 5)]
    >>> [(r.n_models, r.epochs) for r in successive_halving_rungs(9, 1, 100)]
    [(9, 1), (3, 3), (1, 9)]
    """
    _check_positive_int(n_models, "n_models")
    _check_positive_int(min_epochs, "min_epochs")
    if max_epochs is not None:
        _check_positive_int(max_epochs, "max_epochs")
    _check_eta(eta)
    if max_epochs is not None and min_epochs > max_epochs:
        raise ValueError(
            f"min_epochs must be <= max_epochs, got min_epochs={min_epochs!r} and "
            f"max_epochs={max_epochs!r}"
        )
    n, r0, e = int(n_models), int(min_epochs), _exact(eta)
    rungs: list[Rung] = []
    i = 0
    while True:
        n_i = math.floor(n / e**i)
        if n_i < 1:  # the models ran out (6 models, eta=3: 6, 2, then 0)
            return tuple(rungs)
        r_i = _round_half_up(r0 * e**i)
        if max_epochs is not None and r_i >= max_epochs:
            r_i = int(max_epochs)
        if rungs and r_i == rungs[-1].epochs:
            pass  # the same epochs: this rung's selection joins the previous one's
        elif rungs and n_i == rungs[-1].n_models:
            rungs[-1] = Rung(n_i, r_i)  # the same models, trained longer
        else:
            rungs.append(Rung(n_i, r_i))
        if n_i <= 1 or r_i == max_epochs:
            return tuple(rungs)
        i += 1


def default_patience(max_epochs: int, eta: float) -> int:
    """``patience=True``: ``max(max_epochs // eta, 1)`` epochs, exactly.

    Examples
    --------
    >>> default_patience(27, 3), default_patience(27, 2.5), default_patience(2, 3)
    (9, 10, 1)
    """
    return max(floor_div(max_epochs, eta), 1)


def budget_cycle(
    brackets: Sequence[Bracket], n_iterations: int | None = 1, max_epochs: int | None = None
) -> Iterator[tuple[int, Bracket]]:
    """Hyperband iterations of ``brackets`` while a budget allows: ``(iteration, bracket)``.

    Parameters
    ----------
    brackets : sequence of Bracket
        One iteration's brackets, in the order they run.
    n_iterations : int or None, default=1
        The most iterations; ``None``: no limit.
    max_epochs : int or None, default=None
        The most epochs the brackets plan (:attr:`Bracket.partial_fit_calls`) in all: a
        bracket is yielded only while its epochs fit in what is left, and the cycle ends
        at the first that does not. ``None``: no limit.

    Yields
    ------
    tuple of (int, Bracket)
        The iteration (from 1) and the bracket; endless when both limits are ``None``.

    Examples
    --------
    >>> brackets = hyperband_brackets(9)
    >>> [(i, b.index) for i, b in budget_cycle(brackets, 2)]
    [(1, 2), (1, 1), (1, 0), (2, 2), (2, 1), (2, 0)]
    >>> sum(b.partial_fit_calls for b in brackets)
    69
    >>> [(i, b.index) for i, b in budget_cycle(brackets, None, max_epochs=100)]
    [(1, 2), (1, 1), (1, 0), (2, 2)]
    """
    spent = 0
    for iteration in itertools.count(1):
        if n_iterations is not None and iteration > n_iterations:
            return
        for bracket in brackets:
            if max_epochs is not None and spent + bracket.partial_fit_calls > max_epochs:
                return
            spent += bracket.partial_fit_calls
            yield iteration, bracket


def plan_metadata(brackets: Sequence[Bracket] | Sequence[tuple[int, Bracket]]) -> dict:
    """The plan in dask-ml's ``HyperbandSearchCV.metadata`` format, plus each bracket's rungs.

    Parameters
    ----------
    brackets : list of Bracket, or of (iteration, Bracket) pairs
        As returned by :func:`hyperband_brackets`, or by :func:`budget_cycle`.

    Returns
    -------
    dict
        ``{"n_models": int, "partial_fit_calls": int, "brackets": [{"bracket": s,
        "n_models": int, "partial_fit_calls": int, "rungs": [(n_models, epochs), ...]},
        ...]}``. ``partial_fit_calls`` counts epochs, with promoted models resuming.
        Given pairs, each bracket's entry starts with its ``iteration``.

    Examples
    --------
    >>> meta = plan_metadata(hyperband_brackets(27))
    >>> meta["n_models"], meta["partial_fit_calls"]
    (49, 357)
    >>> meta["brackets"][-1]
    {'bracket': 0, 'n_models': 4, 'partial_fit_calls': 108, 'rungs': [(4, 27)]}
    """
    pairs = [item if isinstance(item, tuple) else (None, item) for item in brackets]
    return {
        "n_models": sum(b.n_models for _, b in pairs),
        "partial_fit_calls": sum(b.partial_fit_calls for _, b in pairs),
        "brackets": [
            {
                **({} if iteration is None else {"iteration": iteration}),
                "bracket": b.index,
                "n_models": b.n_models,
                "partial_fit_calls": b.partial_fit_calls,
                "rungs": [(r.n_models, r.epochs) for r in b.rungs],
            }
            for iteration, b in pairs
        ],
    }
