"""GPSampler against random search on a conditional benchmark.

Two Branin branches, each with its own two parameters: ``branch="a"`` scores
``-branin(xa1, xa2) - 2`` (best -2.398) and ``branch="b"`` scores ``-branin(xb1, xb2)``
(best -0.398), so a sampler must find the right branch and optimise its own parameters,
which exist only there (``when={"branch": ...}``). Median over seeds of the best score
after ``--trials`` trials (higher is better).

    python bench/conditional.py --seeds 10 --trials 40
"""

from __future__ import annotations

import argparse
import math
import statistics

from skhpo.samplers import GPSampler, RandomSampler
from skhpo.space import Categorical, Real

SPACE = {
    "branch": Categorical(["a", "b"]),
    "xa1": Real(-5.0, 10.0, when={"branch": "a"}),
    "xa2": Real(0.0, 15.0, when={"branch": "a"}),
    "xb1": Real(-5.0, 10.0, when={"branch": "b"}),
    "xb2": Real(0.0, 15.0, when={"branch": "b"}),
}


def branin(x1: float, x2: float) -> float:
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def score(p: dict) -> float:
    if p["branch"] == "a":
        assert "xb1" not in p and "xb2" not in p
        return -branin(p["xa1"], p["xa2"]) - 2.0
    assert "xa1" not in p and "xa2" not in p
    return -branin(p["xb1"], p["xb2"])


def best_of(sampler, trials: int) -> float:
    best = -math.inf
    for _ in range(trials):
        [p] = sampler.ask()
        s = score(p)
        sampler.tell(p, s)
        best = max(best, s)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--trials", type=int, default=40)
    args = parser.parse_args()
    gp = [best_of(GPSampler(SPACE, random_state=s), args.trials) for s in range(args.seeds)]
    rnd = [best_of(RandomSampler(SPACE, random_state=s), args.trials) for s in range(args.seeds)]
    print(f"{args.seeds} seeds, {args.trials} trials; best possible -0.398")
    print(f"GPSampler:     median best {statistics.median(gp):.3f}  ({[round(v, 2) for v in gp]})")
    print(
        f"RandomSampler: median best {statistics.median(rnd):.3f}  ({[round(v, 2) for v in rnd]})"
    )


if __name__ == "__main__":
    main()
