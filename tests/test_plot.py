"""skhpo.plot: each plot rendered headless, and what its figure holds."""

from __future__ import annotations

import importlib.util
import io
import os
import sys
import warnings

import numpy as np
import pytest
from fakes import CurveClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import RandomizedSearchCV

from skhpo import HyperbandSearchCV, Real, SuccessiveHalvingSearchCV
from skhpo.exceptions import TrialFailedWarning

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skhpo.plot import plot_learning_curves, plot_parameter_scores, plot_plan  # noqa: E402

SPACE = {
    "a": (0.0, 1.0),
    "sleep": Real(1e-9, 1e-6, log=True),  # declared log-uniform
    "b": [1e-5, 1e-3, 1e-1],  # numbers spanning 4 decades
    "log": [None],  # a categorical of one value
    "fail": [None, None, None, None, "fit"],
}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def search():
    rng = np.random.RandomState(0)
    X, y = rng.rand(120, 4), np.arange(120) % 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrialFailedWarning)
        return HyperbandSearchCV(CurveClassifier(), SPACE, max_iter=27, random_state=0).fit(X, y)


def _render(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue()[:4] == b"\x89PNG"


def test_learning_curves_one_line_per_trial(search):
    fig = plot_learning_curves(search)
    _render(fig)
    (ax,) = fig.axes
    res = search.cv_results_
    assert len(ax.lines) == len(res["params"]) == 49
    assert [line.get_gid() for line in ax.lines] == list(res["model_id"])
    first_rung = {b["bracket"]: b["rungs"][0][1] for b in search.metadata["brackets"]}
    for i, line in enumerate(ax.lines):
        history = search.model_history_[res["model_id"][i]]
        np.testing.assert_array_equal(line.get_xdata(), [h["partial_fit_calls"] for h in history])
        np.testing.assert_array_equal(line.get_ydata(), [h["score"] for h in history])
        thick = res["partial_fit_calls"][i] > first_rung[res["bracket"][i]] or (
            res["partial_fit_calls"][i] == 27
        )
        if i == search.best_index_:
            assert line.get_color() == "black" and line.get_linewidth() > 2
        else:
            assert (line.get_linewidth() >= 2) == thick, res["model_id"][i]
    assert ax.get_xscale() == "log"
    assert [int(t) for t in ax.get_xticks()] == [1, 3, 9, 27]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    for b in search.metadata["brackets"]:
        assert f"bracket {b['bracket']} ({b['n_models']} models)" in legend
    assert any(t.startswith(f"best: {res['model_id'][search.best_index_]}") for t in legend)
    assert len(ax.collections) == 1  # the best trial's star


def test_learning_curves_colours_follow_brackets(search):
    ax = plot_learning_curves(search).axes[0]
    res = search.cv_results_
    colours = {}
    for i, line in enumerate(ax.lines):
        if i != search.best_index_:
            colours.setdefault(res["bracket"][i], set()).add(line.get_color())
    assert all(len(c) == 1 for c in colours.values())
    assert len({next(iter(c)) for c in colours.values()}) == len(colours)


def test_brackets_of_several_iterations_stay_apart():
    """Bracket numbers repeat in every Hyperband iteration: plots key brackets by
    (iteration, bracket), and name the iteration when there are several."""
    rng = np.random.RandomState(0)
    X, y = rng.rand(120, 4), np.arange(120) % 3
    search = HyperbandSearchCV(
        CurveClassifier(), {"a": (0.0, 1.0)}, max_iter=9, n_iterations=2, random_state=0
    ).fit(X, y)
    res = search.cv_results_
    assert sorted(set(res["iteration"])) == [1, 2]
    ax = plot_learning_curves(search).axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    for b in search.metadata_["brackets"]:
        name = f"iteration {b['iteration']}, bracket {b['bracket']}"
        assert f"{name} ({b['n_models']} models)" in legend
    colours = {}
    for i, line in enumerate(ax.lines):
        if i != search.best_index_:
            key = (res["iteration"][i], res["bracket"][i])
            colours.setdefault(key, set()).add(line.get_color())
    assert len(colours) == 6 and all(len(c) == 1 for c in colours.values())
    assert len({next(iter(c)) for c in colours.values()}) == 6
    fig = plot_plan(search)
    labels = [f"iteration:{i},bracket:{b}" for i in (1, 2) for b in (2, 1, 0)]
    assert [ax.get_label() for ax in fig.axes] == labels
    assert fig.axes[4].get_title() == "iteration 2, bracket 1: 5 models, 21 epochs"


def test_learning_curves_into_a_given_axes(search):
    fig, (left, right) = plt.subplots(1, 2)
    assert plot_learning_curves(search, ax=right) is fig
    assert len(right.lines) == 49 and not left.lines


def test_parameter_scores_one_axes_per_parameter(search):
    fig = plot_parameter_scores(search)
    _render(fig)
    names = ["a", "b", "fail", "log", "sleep"]
    axes = {ax.get_label(): ax for ax in fig.axes if ax.get_label().startswith("param:")}
    assert sorted(axes) == [f"param:{n}" for n in names]
    assert len(fig.axes) == len(names) + 1  # and the colour bar of epochs
    res = search.cv_results_
    scored = ~np.isnan(res["test_score"])
    for name, ax in axes.items():
        points = ax.collections[0].get_offsets()
        assert len(points) == scored.sum(), name
        assert ax.get_xlabel() == name.split(":")[1]
    assert axes["param:sleep"].get_xscale() == "log"  # declared log-uniform
    assert axes["param:b"].get_xscale() == "log"  # values span 4 decades
    assert axes["param:a"].get_xscale() == "linear"  # declared uniform
    # every category of the space, in its order, even one whose trials all failed
    assert [t.get_text() for t in axes["param:fail"].get_xticklabels()] == ["None", "fit"]
    assert [t.get_text() for t in axes["param:log"].get_xticklabels()] == ["None"]
    n_failed = int((~scored).sum())
    assert fig._suptitle.get_text().startswith(f"{n_failed} trials without a score")
    # the best trial is starred where it is
    best = res["params"][search.best_index_]
    star = axes["param:a"].collections[1].get_offsets()[0]
    assert star[0] == pytest.approx(best["a"]) and star[1] == pytest.approx(search.best_score_)


def test_parameter_scores_categories_and_choice(digits):
    X, y = digits
    search = HyperbandSearchCV(
        SGDClassifier(random_state=0),
        {"loss": ["hinge", "log_loss", "modified_huber"], "penalty": ["l2", "l1"]},
        max_iter=3,
        random_state=0,
    ).fit(X[:400], y[:400])
    fig = plot_parameter_scores(search, params="loss")
    (ax,) = [a for a in fig.axes if a.get_label() == "param:loss"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["hinge", "log_loss", "modified_huber"]
    x = ax.collections[0].get_offsets()[:, 0]
    assert ((x > -0.5) & (x < 2.5)).all()
    fig = plot_parameter_scores(search, params=["penalty", "loss"])
    assert [a.get_label() for a in fig.axes[:2]] == ["param:penalty", "param:loss"]
    with pytest.raises(ValueError, match=r"Not parameters of the search: \['alpha'\]"):
        plot_parameter_scores(search, params=["alpha"])


def test_plan_before_fit_bars_are_rungs():
    search = HyperbandSearchCV(CurveClassifier(), {"a": (0.0, 1.0)}, max_iter=27)
    fig = plot_plan(search)
    _render(fig)
    meta = search.metadata
    assert [ax.get_label() for ax in fig.axes] == [f"bracket:{b}" for b in (3, 2, 1, 0)]
    for ax, bracket in zip(fig.axes, meta["brackets"], strict=True):
        bars = ax.patches
        assert [(round(p.get_height()), round(p.get_x() + p.get_width())) for p in bars] == [
            tuple(r) for r in bracket["rungs"]
        ]
        area = sum(p.get_height() * p.get_width() for p in bars)
        assert area == pytest.approx(bracket["partial_fit_calls"])
    assert "49 models, 357 epochs" in fig._suptitle.get_text()
    # the metadata dict, a fitted search's metadata_, successive halving, more brackets
    assert len(plot_plan(meta).axes) == 4
    halving = SuccessiveHalvingSearchCV(CurveClassifier(), {"a": [0.1]}, n_initial_parameters=9)
    assert [len(ax.patches) for ax in plot_plan(halving).axes] == [3]
    big = plot_plan(HyperbandSearchCV(CurveClassifier(), {"a": [0.1]}, max_iter=243))
    assert len(big.axes) == 6
    with pytest.raises(ValueError, match="brackets"):
        plot_plan({"n_models": 3})


def test_unfitted_and_unsupported_searches(digits):
    unfitted = HyperbandSearchCV(CurveClassifier(), {"a": [0.1]}, max_iter=3)
    with pytest.raises(NotFittedError, match="not fitted yet: call fit before plotting"):
        plot_learning_curves(unfitted)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        plot_parameter_scores(unfitted)
    X, y = digits
    sk = RandomizedSearchCV(
        SGDClassifier(max_iter=5, tol=None, random_state=0),
        {"alpha": [1e-5, 1e-4, 1e-3, 1e-2]},
        n_iter=4,
        cv=2,
        random_state=0,
    ).fit(X[:300], y[:300])
    fig = plot_parameter_scores(sk)  # from cv_results_ alone, no epochs
    assert len(fig.axes) == 1 and fig.axes[0].get_xscale() == "log"
    with pytest.raises(TypeError, match="model_history_"):
        plot_learning_curves(sk)


def test_missing_matplotlib_names_the_extra(monkeypatch, search):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    for plot in (plot_learning_curves, plot_parameter_scores, plot_plan):
        with pytest.raises(ImportError, match=r"pip install 'skhpo\[plot\]'"):
            plot(search)


def test_example_writes_three_pngs(tmp_path):
    path = os.path.join(os.path.dirname(__file__), "..", "examples", "plot_learning_curves.py")
    spec = importlib.util.spec_from_file_location("plot_example", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    written = example.main(["--out", str(tmp_path), "--max-iter", "9"])
    assert sorted(os.path.basename(p) for p in written) == [
        "learning_curves.png",
        "parameter_scores.png",
        "plan.png",
    ]
    for p in written:
        with open(p, "rb") as f:
            assert f.read(4) == b"\x89PNG"
