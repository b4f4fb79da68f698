"""Simple regret on synthetic multi-fidelity functions: skhpo against Optuna and DEHB.

The functions are Hartmann-3, Hartmann-6 and Branin with a fidelity that biases the
value, the epoch ``e`` (1..100) being the fidelity. With ``s = log(e) / log(100)``:

* Hartmann: the weights ``alpha_i`` become ``alpha_i - bias * (1 - s)`` and
  ``noise * (1 - s) * |N(0, 1)|`` is added (Kandasamy et al. 2017 shift the weights by
  ``0.1 (1 - z)``; mf-prior-bench's MFHartmann adds the noise and names the presets).
* Branin: ``b``, ``c`` and ``t`` are shifted by ``0.01 k (1 - s)``, ``0.1 k (1 - s)`` and
  ``0.05 k (1 - s)`` (Kandasamy et al. 2017 use ``k = 1``), plus ``noise * (1 - s) |N|``.

Each comes in a "good" variant, where low fidelities rank configurations much as the
full one does, and a "bad" one, where they mislead; ``--check`` prints the Spearman
correlation of each fidelity with the full one over random configurations. The noise
of a configuration at an epoch is the same whenever it is asked for.

A trial is a fake estimator whose ``partial_fit`` trains one epoch and whose ``score``
is minus the function at the epochs trained. Cost is counted in full trainings (100
epochs); a resumed model pays only its new epochs, and DEHB, which starts every
evaluation afresh, pays the whole fidelity each time. After each evaluation the
incumbent is the best configuration seen at the highest epoch any has reached; the
simple regret is its full-fidelity value minus the function's minimum.

Methods, each run until it has spent ``--budget`` full trainings:

* ``skhpo random``: HyperbandSearchCV(max_iter=100, aggressiveness=3), random sampling;
* ``skhpo bayes``: the same with ``sampler="bayes"`` (``skhpo bayes joint`` and
  ``skhpo bayes agreeing``, not run by default: with ``budget_model="joint"`` or
  ``"agreeing"``);
* ``optuna TPE``: TPESampler, every trial trained 100 epochs, no pruning;
* ``optuna TPE+HB``: TPESampler with HyperbandPruner(1, 100, 3), reporting every epoch;
* ``random+ASHA``: Optuna's RandomSampler with SuccessiveHalvingPruner (ASHA; 1, 3);
* ``DEHB``: dehb's ask/tell on the unit cube, fidelities 1..100, eta 3.

skhpo runs one ``fit`` with ``n_iterations`` Hyperband iterations, as many as it takes
to pass the budget (6 for 100 full trainings: 1,944 epochs an iteration); with
``sampler="bayes"`` its GPSampler keeps learning across the iterations.

    python bench/multifidelity.py --seeds 10            # the table in docs/benchmarks.rst
    python bench/multifidelity.py --quick               # one seed, one problem, 10 trainings
    python bench/multifidelity.py --check               # rank correlations of the variants
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import math
import statistics
import tempfile
import time
import warnings

import numpy as np
from _common import markdown_table, save
from sklearn.base import BaseEstimator

from skhpo import HyperbandSearchCV
from skhpo.space import Real

MAX_EPOCHS = 100
ETA = 3
CHECKPOINTS = (10, 20, 50, 100)  # full trainings

# -- the functions ------------------------------------------------------------------------

_H3 = (
    np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]]),
    1e-4
    * np.array([[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]]),
    -3.86278,
)
_H6 = (
    np.array(
        [
            [10, 3, 17, 3.5, 1.7, 8],
            [0.05, 10, 17, 0.1, 8, 14],
            [3, 3.5, 1.7, 10, 17, 8],
            [17, 8, 0.05, 10, 0.1, 14],
        ]
    ),
    1e-4
    * np.array(
        [
            [1312, 1696, 5569, 124, 8283, 5886],
            [2329, 4135, 8307, 3736, 1004, 9991],
            [2348, 1451, 3522, 2883, 3047, 6650],
            [4047, 8828, 8732, 5743, 1091, 381],
        ]
    ),
    -3.32237,
)
_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])

# (bias, noise) of each variant; the Hartmann "bad" one is mf-prior-bench's preset
VARIANTS = {
    "hartmann3": {"good": (0.5, 0.1), "bad": (3.5, 4.0)},
    "hartmann6": {"good": (0.5, 0.1), "bad": (3.5, 4.0)},
    "branin": {"good": (1.0, 1.0), "bad": (30.0, 60.0)},
}
BOUNDS = {
    "hartmann3": [(0.0, 1.0)] * 3,
    "hartmann6": [(0.0, 1.0)] * 6,
    "branin": [(-5.0, 10.0), (0.0, 15.0)],
}
MINIMUM = {"hartmann3": _H3[2], "hartmann6": _H6[2], "branin": 0.397887}


def _noise(x: np.ndarray, epoch: int) -> float:
    """|N(0, 1)|, the same for the same configuration and epoch (and in every process)."""
    digest = hashlib.sha256(np.asarray(x, dtype=float).tobytes() + bytes([epoch])).digest()
    return abs(np.random.default_rng(int.from_bytes(digest[:8], "little")).normal())


def evaluate(function: str, variant: str, x: np.ndarray, epoch: int) -> float:
    """The function (to minimise) at ``x`` after ``epoch`` epochs."""
    bias, noise = VARIANTS[function][variant]
    gap = 1.0 - math.log(epoch) / math.log(MAX_EPOCHS)
    if function == "branin":
        x1, x2 = x
        b = 5.1 / (4 * math.pi**2) - 0.01 * bias * gap
        c = 5 / math.pi - 0.1 * bias * gap
        t = 1 / (8 * math.pi) + 0.05 * bias * gap
        value = (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10
    else:
        A, P, _ = _H3 if function == "hartmann3" else _H6
        inner = (A * (np.asarray(x)[None, :] - P) ** 2).sum(axis=1)
        value = -float(((_ALPHA - bias * gap) * np.exp(-inner)).sum())
    if noise and gap > 0:
        value += noise * gap * _noise(x, epoch)
    return value


# -- cost and incumbents ------------------------------------------------------------------


class Recorder:
    """Epochs spent, and each evaluation with the cost spent when it was made."""

    def __init__(self, function: str, variant: str) -> None:
        self.function, self.variant = function, variant
        self.epochs = 0
        self.log: list[tuple[int, int, float, tuple]] = []  # (cost, epoch, value, x)

    def train(self, n: int) -> None:
        self.epochs += n

    def score(self, x, epoch: int) -> float:
        value = evaluate(self.function, self.variant, np.asarray(x, dtype=float), epoch)
        self.log.append((self.epochs, epoch, value, tuple(float(v) for v in x)))
        return value

    @property
    def spent(self) -> float:
        return self.epochs / MAX_EPOCHS

    def regrets(self, checkpoints=CHECKPOINTS) -> list[float]:
        """Simple regret at each checkpoint (full trainings)."""
        out, best, k = [], None, 0  # best: (epoch, value, x) of the incumbent
        log = sorted(self.log, key=lambda r: r[0])
        for cp in checkpoints:
            while k < len(log) and log[k][0] <= cp * MAX_EPOCHS:
                _, epoch, value, x = log[k]
                if best is None or (epoch, -value) > (best[0], -best[1]):
                    best = (epoch, value, x)
                k += 1
            if best is None:
                out.append(math.nan)
            else:
                true = evaluate(self.function, self.variant, np.asarray(best[2]), MAX_EPOCHS)
                out.append(true - MINIMUM[self.function])
        return out


RECORDER: Recorder | None = None


class MultiFidelity(BaseEstimator):
    """``partial_fit`` trains one epoch; ``score`` is minus the function at that epoch."""

    def __init__(self, x0=0.5, x1=0.5, x2=0.5, x3=0.5, x4=0.5, x5=0.5):
        self.x0, self.x1, self.x2, self.x3, self.x4, self.x5 = x0, x1, x2, x3, x4, x5

    def partial_fit(self, X, y=None):
        self.epochs_ = getattr(self, "epochs_", 0) + 1
        RECORDER.train(1)
        return self

    def fit(self, X, y=None):
        return self.partial_fit(X, y)

    def score(self, X, y=None):
        d = len(BOUNDS[RECORDER.function])
        x = [self.x0, self.x1, self.x2, self.x3, self.x4, self.x5][:d]
        return -RECORDER.score(x, self.epochs_)

    def predict(self, X):
        return np.zeros(len(X))


def _space(function: str) -> dict:
    return {f"x{i}": Real(lo, hi) for i, (lo, hi) in enumerate(BOUNDS[function])}


# -- the methods --------------------------------------------------------------------------

_X, _Y = np.zeros((10, 1)), np.zeros(10)


def run_skhpo(rec: Recorder, seed: int, budget: float, bayes: dict | None) -> None:
    """One ``fit`` of as many Hyperband iterations as it takes to pass the budget."""
    space = _space(rec.function)
    search = HyperbandSearchCV(
        MultiFidelity(),
        space,
        max_iter=MAX_EPOCHS,
        aggressiveness=ETA,
        random_state=seed,
        sampler="random" if bayes is None else "bayes",
        sampler_kwargs=bayes or None,
        scheduler="in-process",
    )
    per_iteration = search.metadata["partial_fit_calls"]  # 1,944 epochs
    search.set_params(n_iterations=math.ceil(budget * MAX_EPOCHS / per_iteration))
    search.fit(_X, _Y)


def _optuna_objective(rec: Recorder, prune: bool):
    import optuna

    bounds = BOUNDS[rec.function]

    def objective(trial):
        x = [trial.suggest_float(f"x{i}", lo, hi) for i, (lo, hi) in enumerate(bounds)]
        if not prune:
            rec.train(MAX_EPOCHS)
            return rec.score(x, MAX_EPOCHS)
        for epoch in range(1, MAX_EPOCHS + 1):
            rec.train(1)
            value = rec.score(x, epoch)
            trial.report(value, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return value

    return objective


def run_optuna(rec: Recorder, seed: int, budget: float, kind: str) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if kind == "tpe":
        sampler, pruner = optuna.samplers.TPESampler(seed=seed), optuna.pruners.NopPruner()
    elif kind == "tpe+hb":
        sampler = optuna.samplers.TPESampler(seed=seed)
        pruner = optuna.pruners.HyperbandPruner(1, MAX_EPOCHS, ETA)
    else:
        sampler = optuna.samplers.RandomSampler(seed=seed)
        pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=ETA)
    study = optuna.create_study(sampler=sampler, pruner=pruner)
    objective = _optuna_objective(rec, prune=kind != "tpe")
    while rec.spent < budget:
        study.optimize(objective, n_trials=1)


def run_dehb(rec: Recorder, seed: int, budget: float) -> None:
    from dehb import DEHB

    bounds = np.array(BOUNDS[rec.function])
    with tempfile.TemporaryDirectory() as out:
        opt = DEHB(
            f=lambda *a, **k: None,  # evaluated here through ask/tell
            dimensions=len(bounds),
            min_fidelity=1,
            max_fidelity=MAX_EPOCHS,
            eta=ETA,
            n_workers=1,
            seed=seed,
            configspace=False,
            output_path=out,
            log_level="ERROR",
        )
        while rec.spent < budget:
            job = opt.ask()
            epoch = int(round(job["fidelity"]))
            x = bounds[:, 0] + np.asarray(job["config"]) * (bounds[:, 1] - bounds[:, 0])
            rec.train(epoch)  # a fresh evaluation at every fidelity
            value = rec.score(x, epoch)
            opt.tell(job, {"fitness": value, "cost": epoch})


METHODS = {
    "skhpo random": lambda r, s, b: run_skhpo(r, s, b, bayes=None),
    "skhpo bayes": lambda r, s, b: run_skhpo(r, s, b, bayes={}),
    "skhpo bayes joint": lambda r, s, b: run_skhpo(r, s, b, bayes={"budget_model": "joint"}),
    "skhpo bayes agreeing": lambda r, s, b: run_skhpo(r, s, b, {"budget_model": "agreeing"}),
    "optuna TPE": lambda r, s, b: run_optuna(r, s, b, "tpe"),
    "optuna TPE+HB": lambda r, s, b: run_optuna(r, s, b, "tpe+hb"),
    "random+ASHA": lambda r, s, b: run_optuna(r, s, b, "asha"),
    "DEHB": lambda r, s, b: run_dehb(r, s, b),
}


# DEHB only where it is installed (not in the bench extra: dehb 0.1.2 declares numpy<2).
DEFAULT_METHODS = [
    m
    for m in METHODS
    if m not in ("skhpo bayes joint", "skhpo bayes agreeing")
    and (m != "DEHB" or importlib.util.find_spec("dehb"))
]


def run_one(method: str, function: str, variant: str, seed: int, budget: float) -> dict:
    global RECORDER
    RECORDER = rec = Recorder(function, variant)
    t0 = time.perf_counter()
    METHODS[method](rec, seed, budget)
    checkpoints = [c for c in CHECKPOINTS if c <= budget]
    return {
        "regrets": rec.regrets(checkpoints),
        "checkpoints": checkpoints,
        "time": time.perf_counter() - t0,
        "evaluations": len(rec.log),
    }


def check_variants(n: int = 2000) -> None:
    """Spearman correlation of each fidelity's values with the full fidelity's."""
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    rows = []
    for function, variants in VARIANTS.items():
        bounds = np.array(BOUNDS[function])
        X = bounds[:, 0] + rng.uniform(size=(n, len(bounds))) * (bounds[:, 1] - bounds[:, 0])
        full = [evaluate(function, "good", x, MAX_EPOCHS) for x in X]
        for variant in variants:
            row = {"problem": f"{function} {variant}"}
            for epoch in (1, 4, 11, 33):
                low = [evaluate(function, variant, x, epoch) for x in X]
                row[f"epoch {epoch}"] = float(spearmanr(low, full).statistic)
            rows.append(row)
    print(markdown_table(rows, list(rows[0])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=float, default=100.0, help="full trainings")
    parser.add_argument("--problems", nargs="+", default=None, help="e.g. hartmann6-good")
    parser.add_argument("--methods", nargs="+", default=DEFAULT_METHODS, choices=list(METHODS))
    parser.add_argument("--quick", action="store_true", help="1 seed, hartmann3-good, 10")
    parser.add_argument("--check", action="store_true", help="rank correlations, then exit")
    parser.add_argument("--save", action="store_true", help="write bench/results/*.json")
    args = parser.parse_args()
    if args.check:
        check_variants()
        return
    problems = args.problems or [f"{f}-{v}" for f in VARIANTS for v in VARIANTS[f]]
    if args.quick:
        args.seeds, args.budget, problems = 1, 10.0, ["hartmann3-good"]
    warnings.simplefilter("ignore")
    rows, raw = [], {}
    for problem in problems:
        function, variant = problem.split("-")
        for method in args.methods:
            runs = [run_one(method, function, variant, s, args.budget) for s in range(args.seeds)]
            raw[f"{problem} {method}"] = runs
            row = {"problem": problem, "method": method}
            for j, cp in enumerate(runs[0]["checkpoints"]):
                row[f"regret @{cp}"] = statistics.median(r["regrets"][j] for r in runs)
            row["time/run (s)"] = statistics.median(r["time"] for r in runs)
            rows.append(row)
            print(row, flush=True)
    print()
    print(markdown_table(rows, list(rows[0])))
    if args.save:
        print(save("multifidelity", {"args": vars(args), "rows": rows, "runs": raw}))


if __name__ == "__main__":
    main()
