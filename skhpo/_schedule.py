"""Hyperband bracket math (Li et al., 2018): pure functions, standard library only."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from numbers import Integral, Real

__all__ = [
    "Bracket",
    "Rung",
    "hyperband_brackets",
    "plan_metadata",
    "successive_halving_rungs",
    "validate_schedule_params",
]


@dataclass(frozen=True)
class Rung:
    """``n_models`` models scored after ``epochs`` epochs (cumulative)."""

    n_models: int
    epochs: int


@dataclass(frozen=True)
class Bracket:
    """One successive-halving run of Hyperband: bracket ``index`` (``s``) and its rungs."""

    index: int
    rungs: tuple[Rung, ...]

    @property
    def n_models(self) -> int:
        return self.rungs[0].n_models

    @property
    def max_epochs(self) -> int:
        return self.rungs[-1].epochs

    @property
    def partial_fit_calls(self) -> int:
        """Epochs trained in the bracket when promoted models resume."""
        total, before = 0, 0
        for rung in self.rungs:
            total += rung.n_models * (rung.epochs - before)
            before = rung.epochs
        return total


def _exact(x: float) -> Fraction:
    return Fraction(x) if isinstance(x, Integral) else Fraction(str(x))


def _round_half_up(x: Fraction) -> int:
    return math.floor(x + Fraction(1, 2))


def validate_schedule_params(max_iter: object, eta: object) -> None:
    """Raise ``ValueError`` unless ``max_iter`` is an int >= 1 and ``eta`` a number > 1."""
    if isinstance(max_iter, bool) or not isinstance(max_iter, Integral) or max_iter < 1:
        raise ValueError(f"max_iter must be an integer >= 1, got {max_iter!r}")
    if isinstance(eta, bool) or not isinstance(eta, Real) or not eta > 1:
        raise ValueError(f"aggressiveness (eta) must be a number > 1, got {eta!r}")


def hyperband_brackets(max_iter: int, eta: float = 3) -> list[Bracket]:
    """Hyperband's brackets for ``max_iter`` epochs, most aggressive first.

    ``s_max`` is the largest ``s`` with ``eta**s <= max_iter``; bracket ``s`` starts
    ``ceil((s_max + 1) * eta**s / (s + 1))`` models at ``max_iter * eta**-s`` epochs
    (rounded half up) and keeps ``floor(n * eta**-i)`` of them at rung ``i``. Exact
    rational arithmetic avoids ``log(243, 3) = 4.999...`` errors. Rungs whose rounded
    epochs would repeat the previous rung's are merged into it.

    Examples
    --------
    >>> [(b.index, [(r.n_models, r.epochs) for r in b.rungs]) for b in hyperband_brackets(9)]
    [(2, [(9, 1), (3, 3), (1, 9)]), (1, [(5, 3), (1, 9)]), (0, [(3, 9)])]
    """
    validate_schedule_params(max_iter, eta)
    R, e = Fraction(int(max_iter)), _exact(eta)
    s_max = 0
    while e ** (s_max + 1) <= R:
        s_max += 1
    brackets = []
    for s in range(s_max, -1, -1):
        n = math.ceil(Fraction(s_max + 1) * e**s / (s + 1))
        r = R / e**s
        rungs: list[Rung] = []
        for i in range(s + 1):
            n_i = max(math.floor(n / e**i), 1)
            r_i = int(max_iter) if i == s else min(max(_round_half_up(r * e**i), 1), int(max_iter))
            if rungs and r_i <= rungs[-1].epochs:
                continue
            rungs.append(Rung(n_i, r_i))
        brackets.append(Bracket(s, tuple(rungs)))
    return brackets


def successive_halving_rungs(
    n_models: int, min_epochs: int, max_epochs: int, eta: float = 3
) -> tuple[Rung, ...]:
    """Rungs of successive halving: ``floor(n * eta**-i)`` models at ``min_epochs * eta**i``.

    Rungs go on while the epochs stay below ``max_epochs`` and at least one model is
    left; a last rung at exactly ``max_epochs`` follows unless the halving already ended
    there or ran out of models.

    Examples
    --------
    >>> [(r.n_models, r.epochs) for r in successive_halving_rungs(9, 1, 9)]
    [(9, 1), (3, 3), (1, 9)]
    >>> [(r.n_models, r.epochs) for r in successive_halving_rungs(10, 2, 5)]
    [(10, 2), (3, 5)]
    """
    if isinstance(n_models, bool) or not isinstance(n_models, Integral) or n_models < 1:
        raise ValueError(f"n_models must be an integer >= 1, got {n_models!r}")
    if isinstance(min_epochs, bool) or not isinstance(min_epochs, Integral) or min_epochs < 1:
        raise ValueError(f"min_epochs must be an integer >= 1, got {min_epochs!r}")
    validate_schedule_params(max_epochs, eta)
    e = _exact(eta)
    rungs: list[Rung] = []
    i = 0
    while True:
        n_i = math.floor(Fraction(n_models) / e**i)
        r_i = _round_half_up(min_epochs * e**i)
        if n_i < 1 or r_i >= max_epochs:
            break
        if not rungs or r_i > rungs[-1].epochs:
            rungs.append(Rung(n_i, r_i))
        i += 1
    if not rungs or rungs[-1].epochs < max_epochs:
        n_last = max(math.floor(Fraction(n_models) / e ** len(rungs)), 1)
        if rungs and rungs[-1].n_models == 1 and n_i < 1:
            return tuple(rungs)
        rungs.append(Rung(n_last, int(max_epochs)))
    return tuple(rungs)


def plan_metadata(brackets: list[Bracket]) -> dict:
    """The plan in dask-ml's ``metadata`` format, plus each bracket's rungs.

    Examples
    --------
    >>> meta = plan_metadata(hyperband_brackets(27))
    >>> meta["n_models"], meta["partial_fit_calls"]
    (49, 357)
    """
    return {
        "n_models": sum(b.n_models for b in brackets),
        "partial_fit_calls": sum(b.partial_fit_calls for b in brackets),
        "brackets": [
            {
                "bracket": b.index,
                "n_models": b.n_models,
                "partial_fit_calls": b.partial_fit_calls,
                "rungs": [(r.n_models, r.epochs) for r in b.rungs],
            }
            for b in brackets
        ],
    }
