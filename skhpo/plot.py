"""Plots of a search: learning curves, scores per parameter, the Hyperband plan.

Each function returns a matplotlib :class:`~matplotlib.figure.Figure` made with
``pyplot`` (so ``plt.show()`` shows it and ``fig.savefig(...)`` saves it; close it with
``plt.close(fig)`` when drawing many). matplotlib is imported only when a function is
called: install it with ``pip install 'skhpo[plot]'``.

- :func:`plot_learning_curves`: validation score against epochs, one line per trial.
- :func:`plot_parameter_scores`: each trial's final score against each parameter.
- :func:`plot_plan`: the brackets and rungs of the plan, before or after fitting.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real
from typing import Any

from sklearn.exceptions import NotFittedError

from ._compat import optional_import
from ._records import score_keys

__all__ = ["plot_learning_curves", "plot_parameter_scores", "plot_plan"]


def _pyplot():
    return optional_import("matplotlib.pyplot", "skhpo.plot needs matplotlib", "plot")


def _fitted(search: Any, attr: str, what: str) -> Any:
    value = getattr(search, attr, None)
    if value is None:
        if hasattr(search, "fit") and not hasattr(search, "cv_results_"):
            raise NotFittedError(
                f"This {type(search).__name__} instance is not fitted yet: call fit before {what}."
            )
        raise TypeError(
            f"{what} needs a fitted search with {attr} (HyperbandSearchCV, "
            f"SuccessiveHalvingSearchCV); {type(search).__name__} has none"
        )
    return value


Key = tuple[int, int]  # (iteration, bracket): bracket numbers repeat in every iteration


def _bracket_colors(keys: Sequence[Key]) -> dict[Key, Any]:
    """A colour per ``(iteration, bracket)``: tab10, or tab20 past ten brackets."""
    from matplotlib import colormaps

    n = 10 if len(keys) <= 10 else 20
    cmap = colormaps[f"tab{n}"]
    return {key: cmap(k % n) for k, key in enumerate(keys)}


def _bracket_name(key: Key, several_iterations: bool) -> str:
    """``"bracket 1"``, or ``"iteration 2, bracket 1"`` when there are several iterations."""
    iteration, bracket = key
    name = f"bracket {bracket}"
    return f"iteration {iteration}, {name}" if several_iterations else name


def _key_of(record: Any) -> Key:
    """The ``(iteration, bracket)`` of a metadata or ``history_`` record (iteration 1 when
    it has none)."""
    return int(record.get("iteration", 1)), int(record["bracket"])


def _epoch_ticks(ax: Any, ticks: Sequence[int]) -> None:
    from matplotlib.ticker import NullFormatter, NullLocator, ScalarFormatter

    ax.set_xscale("log")
    ticks = sorted(set(int(t) for t in ticks if t > 0))
    if ticks:
        ax.set_xticks(ticks)
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_minor_formatter(NullFormatter())


def _robust_ylim(ax: Any, scores: Sequence[float]) -> int:
    """Zoom the y axis on the bulk of the scores; return how many fall below it.

    A few diverged trials (scores far below the rest) would squash every other line into
    a band at the top: the axis starts below the 10th percentile by the spread of the top
    90%, and the points below are counted in a note.
    """
    import numpy as np

    values = np.asarray([s for s in scores if np.isfinite(s)], dtype=float)
    if len(values) < 5:
        return 0
    low, high = float(np.percentile(values, 10)), float(values.max())
    spread = high - low
    if spread <= 0:
        return 0
    bottom = low - spread
    if values.min() >= bottom:
        return 0
    ax.set_ylim(bottom, high + 0.08 * spread)
    hidden = int(np.sum(values < bottom))
    ax.annotate(
        f"{hidden} score{'s' if hidden > 1 else ''} below {bottom:.3g} not shown",
        (0.01, 0.01),
        xycoords="axes fraction",
        fontsize="x-small",
        color="dimgrey",
    )
    return hidden


def _score_label(search: Any, metric: str | None = None) -> str:
    scoring = getattr(search, "scoring", None)
    results = search.cv_results_
    if metric is None and "mean_test_score" not in results and "test_score" not in results:
        metric = score_keys(results, getattr(search, "refit", None))[0][len("mean_test_") :]
    name = metric or (scoring if isinstance(scoring, str) else "score")
    return f"validation {name}"


def _history_key(search: Any, metric: str | None) -> str:
    """The key of ``metric``'s score in ``history_`` records (``"score"``: the one that
    ranks the trials)."""
    if metric is None:
        return "score"
    names = [k.removeprefix("mean_test_") for k in search.cv_results_ if k.startswith("mean_test_")]
    if metric not in names or names == ["score"]:
        have = "one metric" if names == ["score"] else f"the metrics {names}"
        raise ValueError(f"metric={metric!r} is not a metric of this search, which has {have}")
    return f"score_{metric}"


def plot_learning_curves(search: Any, ax: Any = None, metric: str | None = None) -> Any:
    """Validation score against epochs, one line per trial, coloured by bracket.

    With several Hyperband iterations (``n_iterations``) each iteration's brackets get
    colours of their own, and the legend names them ``iteration 2, bracket 1``.

    Trials that were promoted past their bracket's first rung, or trained to
    ``max_iter``, are drawn thick; trials stopped at their first rung thin. The best
    trial (``best_index_``) is drawn in black with a star at its last score.

    Parameters
    ----------
    search : fitted HyperbandSearchCV or SuccessiveHalvingSearchCV
        A search with ``model_history_``.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.
    metric : str, default=None
        With several metrics in ``scoring``, the one to draw; None draws the one that
        ranks the trials.

    Returns
    -------
    matplotlib.figure.Figure
        The figure. Its axes hold one line per trial, in ``cv_results_`` order, each
        labelled with the trial's ``model_id``.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the search is not fitted.
    ValueError
        If ``metric`` is not one of the search's metrics.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import SGDClassifier
    >>> from skhpo import HyperbandSearchCV
    >>> from skhpo.plot import plot_learning_curves
    >>> X, y = load_digits(return_X_y=True)
    >>> search = HyperbandSearchCV(
    ...     SGDClassifier(random_state=0), {"alpha": (1e-5, 1e-1, "log-uniform")},
    ...     max_iter=9, random_state=0).fit(X[:500] / 16, y[:500])
    >>> fig = plot_learning_curves(search)
    >>> len(fig.axes[0].lines) == len(search.cv_results_["params"])
    True
    """
    what = "plotting its learning curves"
    history = _fitted(search, "model_history_", what)
    results = search.cv_results_
    key = _history_key(search, metric)
    plt = _pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 5), layout="constrained")
    else:
        fig = ax.figure
    meta = getattr(search, "metadata_", None) or {}
    planned = {_key_of(b): b for b in meta.get("brackets", [])}
    iterations = results.get("iteration", [1] * len(results["bracket"]))
    trial_keys = [(int(i), int(b)) for i, b in zip(iterations, results["bracket"], strict=True)]
    brackets = list(planned) or sorted(set(trial_keys), key=lambda k: (k[0], -k[1]))
    colors = _bracket_colors(brackets)
    first_rung = _first_rung_epochs(brackets, planned, history)
    max_iter = getattr(search, "max_iter", None)
    best = getattr(search, "best_index_", None)
    ticks: set[int] = {int(r[1]) for b in planned.values() for r in b.get("rungs", [])}
    n_models = {b: 0 for b in brackets}
    for i, model_id in enumerate(results["model_id"]):
        records = history.get(model_id, [])
        bracket = trial_keys[i]
        n_models[bracket] = n_models.get(bracket, 0) + 1
        epochs = [int(h["partial_fit_calls"]) for h in records]
        if not planned:
            ticks.update(epochs)
        trained = int(results["partial_fit_calls"][i])
        thick = trained > first_rung.get(bracket, 0) or (
            max_iter is not None and trained >= int(max_iter)
        )
        color, style, zorder = _curve_style(colors.get(bracket, "grey"), thick, i == best)
        ax.plot(
            epochs,
            [float(h[key]) for h in records],
            marker="o",
            markersize=3,
            color=color,
            label=str(model_id),
            gid=str(model_id),
            zorder=zorder,
            **style,
        )
    if best is not None:
        _star_last_score(ax, history.get(results["model_id"][best], []), key)
    _epoch_ticks(ax, ticks)
    _robust_ylim(ax, [float(h[key]) for records in history.values() for h in records])
    ax.set_xlabel("epochs (partial_fit calls)")
    ax.set_ylabel(_score_label(search, metric))
    ax.grid(True, alpha=0.3)
    ax.set_title(f"Learning curves of {len(results['model_id'])} trials")
    ax.legend(
        handles=_learning_curve_legend(search, colors, n_models, best),
        loc="lower right",
        fontsize="small",
        framealpha=0.9,
    )
    return fig


def _first_rung_epochs(brackets: Sequence[Key], planned: dict, history: dict) -> dict[Key, int]:
    """Epochs of each bracket's first rung: from the plan, else the fewest trained."""
    first_rung: dict[Key, int] = {}
    for b in brackets:
        rungs = planned.get(b, {}).get("rungs")
        if rungs:
            first_rung[b] = int(rungs[0][1])
        else:
            epochs = [h["partial_fit_calls"] for h in _history_of_bracket(history, b)]
            first_rung[b] = min(epochs) if epochs else 0
    return first_rung


def _curve_style(color: Any, thick: bool, best: bool) -> tuple[Any, dict, int]:
    """``(color, line style, zorder)`` of a trial's curve: thick when promoted, black if best."""
    if best:
        return "black", {"linewidth": 2.8, "alpha": 1.0}, 5
    if thick:
        return color, {"linewidth": 2.0, "alpha": 0.9}, 3
    return color, {"linewidth": 0.8, "alpha": 0.5}, 2


def _star_last_score(ax: Any, records: list[dict], key: str = "score") -> None:
    """A star at the best trial's last finite score."""
    finite = [h for h in records if not math.isnan(float(h[key]))]
    if finite:
        last = finite[-1]
        ax.scatter(
            [last["partial_fit_calls"]],
            [last[key]],
            marker="*",
            s=220,
            color="gold",
            edgecolor="black",
            zorder=6,
        )


def _learning_curve_legend(search: Any, colors: dict, n_models: dict, best: Any) -> list:
    from matplotlib.lines import Line2D

    several = len({iteration for iteration, _ in colors}) > 1
    handles = [
        Line2D(
            [],
            [],
            color=colors[b],
            linewidth=2,
            label=f"{_bracket_name(b, several)} ({n_models[b]} models)",
        )
        for b in colors
        if n_models.get(b)
    ]
    handles.append(
        Line2D([], [], color="grey", linewidth=0.8, label="stopped at its first rung (thin)")
    )
    handles.append(
        Line2D([], [], color="grey", linewidth=2.0, label="promoted, or trained max_iter (thick)")
    )
    if best is not None:
        model_id = search.cv_results_["model_id"][best]
        handles.append(
            Line2D(
                [],
                [],
                color="black",
                linewidth=2.8,
                marker="*",
                markersize=12,
                markerfacecolor="gold",
                label=f"best: {model_id} ({float(search.best_score_):.4g})",
            )
        )
    return handles


def _history_of_bracket(history: dict, bracket: Key) -> list[dict]:
    return [h for records in history.values() for h in records if _key_of(h) == bracket]


# -- parameters ----------------------------------------------------------------------------


def _space_hints(search: Any) -> tuple[dict[str, bool], dict[str, list]]:
    """What the search space says: log scale or not per parameter, categories' order."""
    log: dict[str, bool] = {}
    order: dict[str, list] = {}
    parameters = getattr(search, "parameters", None)
    if parameters is None:  # BayesSearchCV
        parameters = getattr(search, "search_spaces", None)
    if parameters is None:
        return log, order
    try:
        from .space import Categorical, Distribution, Integer, Real, SearchSpace

        space = SearchSpace.from_params(parameters)
    except Exception:  # a space we cannot read: fall back to the values
        return log, order
    for sub in space.subspaces:
        for name, dim in sub.items():
            if isinstance(dim, Real | Integer):
                log[name] = log.get(name, False) or bool(dim.log)
            elif isinstance(dim, Distribution):
                dist = getattr(dim.dist, "dist", None)
                if getattr(dist, "name", "") in ("loguniform", "reciprocal"):
                    log[name] = True
            elif isinstance(dim, Categorical):
                order.setdefault(name, []).extend(dim.categories)
    return log, order


def _looks_log(x: Any) -> bool:
    """Positive values over more than two decades, most of them in the low decades."""
    import numpy as np

    if not len(x) or x.min() <= 0:
        return False
    return bool(x.max() / x.min() > 100 and np.median(x) < 0.1 * x.max())


def _is_numeric(values: list) -> bool:
    return all(isinstance(v, Real) and not isinstance(v, bool) for v in values)


def _category_key(value: Any) -> tuple:
    return (type(value).__name__, str(value))


def plot_parameter_scores(search: Any, params: str | Sequence[str] | None = None) -> Any:
    """Each trial's final score against each parameter's value, one subplot a parameter.

    Numeric parameters get a numeric x axis, logarithmic when the search space samples
    them on a log scale (``Real(..., log=True)``, ``"log-uniform"``,
    ``scipy.stats.loguniform``), or, when the space does not say, when their values span
    more than two decades with most of them in the low decades. Other parameters
    (strings, booleans, None, objects) get one column per value, in the space's order,
    the points spread sideways. Points are coloured by the epochs the trial trained (so
    a pruned trial's low score reads as such), and the best trial is a star. Trials
    without a score (failed, NaN) are left out, and counted in the figure's title.

    Parameters
    ----------
    search : fitted search
        Any search with ``cv_results_``.
    params : str or list of str, default=None
        The parameters to plot; all when None.

    Returns
    -------
    matplotlib.figure.Figure
        The figure: one axes per parameter, labelled ``param:<name>`` (``ax.get_label()``),
        and a colour bar when epochs are known.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the search is not fitted.
    ValueError
        If a name in ``params`` is not a parameter of the search.
    """
    what = "plotting its parameter scores"
    results = _fitted(search, "cv_results_", what)
    chosen = _chosen_params(results["params"], params)
    import numpy as np

    scores = np.asarray(
        results["test_score"]
        if "mean_test_score" not in results and "test_score" in results
        else results[score_keys(results, getattr(search, "refit", None))[0]],
        dtype=float,
    )
    epochs = results.get("partial_fit_calls")
    epochs = None if epochs is None else np.asarray(epochs, dtype=float)
    ncols = min(3, len(chosen))
    fig, flat = _axes_grid(len(chosen), ncols, (4.2, 3.4), (1.2, 0.0), sharey=True)
    panel = _ParameterPanel(search, results["params"], scores, epochs)
    mappable = None
    for k, (name, ax) in enumerate(zip(chosen, flat, strict=False)):
        mappable = panel.draw(ax, name)
        if k % ncols == 0:
            ax.set_ylabel(f"final {_score_label(search)}")
    finite = scores[np.isfinite(scores)]
    left_out = len(scores) - len(finite)
    if left_out:
        fig.suptitle(
            f"{left_out} trial{'s' if left_out > 1 else ''} without a score (failed or NaN) "
            "not shown",
            fontsize="small",
        )
    if len(finite):
        _robust_ylim(flat[0], finite)  # the axes share y
    if epochs is not None and mappable is not None:
        _epochs_colorbar(fig, mappable, flat, epochs)
    return fig


def _axes_grid(n: int, ncols: int, size: tuple, pad: tuple, **shared: bool) -> tuple:
    """A figure of ``n`` axes, ``ncols`` a row, each ``size`` inches: ``(fig, axes)``."""
    plt = _pyplot()
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(size[0] * ncols + pad[0], size[1] * nrows + pad[1]),
        squeeze=False,
        layout="constrained",
        **shared,
    )
    flat = list(axes.ravel())
    for extra in flat[n:]:
        extra.remove()
    return fig, flat[:n]


class _ParameterPanel:
    """Draws one parameter's subplot of :func:`plot_parameter_scores`."""

    def __init__(self, search: Any, all_params: list[dict], scores: Any, epochs: Any) -> None:
        import numpy as np

        self.all_params = all_params
        self.scores = scores
        self.epochs = epochs
        self.norm = _epochs_norm(epochs)
        self.best = getattr(search, "best_index_", None)
        self.declared_log, self.order = _space_hints(search)
        self.rng = np.random.RandomState(0)  # the sideways spread of categories

    def draw(self, ax: Any, name: str) -> Any:
        """Scatter the scored trials' scores against ``name``; returns the scatter."""
        import numpy as np

        ax.set_label(f"param:{name}")
        scores = self.scores
        rows = [
            i
            for i, p in enumerate(self.all_params)
            if name in p and not math.isnan(float(scores[i]))
        ]
        values = [self.all_params[i][name] for i in rows]
        values = [v.item() if hasattr(v, "item") and np.ndim(v) == 0 else v for v in values]
        x = _parameter_axis(ax, name, values, self.declared_log, self.order, self.rng)
        y = scores[rows]
        c = None if self.epochs is None else np.clip(self.epochs[rows], 1, None)
        mappable = ax.scatter(
            x,
            y,
            c=c,
            cmap="viridis" if c is not None else None,
            norm=self.norm if c is not None else None,
            s=22,
            alpha=0.85,
            edgecolor="none",
            color=None if c is not None else "tab:blue",
        )
        if self.best is not None and self.best in rows:
            j = rows.index(self.best)
            ax.scatter([x[j]], [y[j]], marker="*", s=200, color="red", edgecolor="black", zorder=5)
        ax.set_xlabel(name)
        ax.grid(True, alpha=0.3)
        return mappable


def _chosen_params(all_params: list[dict], params: str | Sequence[str] | None) -> list[str]:
    """The parameters to plot: ``params``, checked against the search's, or all of them."""
    names = sorted({k for p in all_params for k in p})
    if params is None:
        chosen = names
    else:
        chosen = [params] if isinstance(params, str) else list(params)
        unknown = [p for p in chosen if p not in names]
        if unknown:
            raise ValueError(f"Not parameters of the search: {unknown}; its parameters are {names}")
    if not chosen:
        raise ValueError("The search has no parameters to plot")
    return chosen


def _epochs_norm(epochs: Any) -> Any:
    """The colour scale of epochs trained: logarithmic over three or more octaves' span."""
    from matplotlib.colors import LogNorm, Normalize

    if epochs is None or not len(epochs):
        return None
    lo, hi = max(float(min(epochs)), 1.0), float(max(epochs))
    hi = max(hi, lo + 1e-9)
    return LogNorm(lo, hi) if hi / lo >= 3 else Normalize(lo - 0.5, hi + 0.5)


def _parameter_axis(
    ax: Any, name: str, values: list, declared_log: dict, order: dict, rng: Any
) -> Any:
    """x positions of ``values`` on ``ax``: numeric (log when it should be), or one
    column per category in the space's order, the points spread sideways."""
    import numpy as np

    if values and _is_numeric(values):
        x = np.asarray(values, dtype=float)
        log = declared_log.get(name)
        if len(x) and x.min() > 0 and (log or (log is None and _looks_log(x))):
            ax.set_xscale("log")
        return x
    cats, seen = [], set()
    for v in order.get(name, []) + sorted(values, key=_category_key):
        if _category_key(v) not in seen:
            seen.add(_category_key(v))
            cats.append(v)
    position = {_category_key(v): j for j, v in enumerate(cats)}
    x = np.array([position[_category_key(v)] for v in values], dtype=float)
    x = x + rng.uniform(-0.18, 0.18, size=len(x))
    ax.set_xticks(range(len(cats)))
    ax.set_xticklabels([_short(v) for v in cats], rotation=30 if len(cats) > 4 else 0)
    ax.set_xlim(-0.6, len(cats) - 0.4)
    return x


def _epochs_colorbar(fig: Any, mappable: Any, axes: list, epochs: Any) -> None:
    from matplotlib.ticker import NullLocator, ScalarFormatter

    bar = fig.colorbar(mappable, ax=axes, shrink=0.8, aspect=30)
    bar.set_label("epochs trained")
    levels = sorted({int(e) for e in epochs if e >= 1})
    if len(levels) <= 8:
        bar.set_ticks(levels)
        bar.ax.yaxis.set_major_formatter(ScalarFormatter())
        bar.ax.yaxis.set_minor_locator(NullLocator())


def _short(value: Any, width: int = 18) -> str:
    text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


# -- the plan ------------------------------------------------------------------------------


def plot_plan(search_or_metadata: Any) -> Any:
    """The plan of a Hyperband search: per bracket, the models trained to each rung.

    One axes per bracket. Each rung is a bar from the previous rung's epochs to its own,
    as high as the number of models trained to it, so that a bar's area is the epochs
    that rung costs (promoted models resume) and a bracket's area its share of the
    budget. Works before fitting: it reads ``search.metadata``.

    Parameters
    ----------
    search_or_metadata : search or dict
        A :class:`~skhpo.HyperbandSearchCV` or :class:`~skhpo.SuccessiveHalvingSearchCV`
        (fitted or not), or its ``metadata`` / ``metadata_`` dict.

    Returns
    -------
    matplotlib.figure.Figure
        The figure: one axes per bracket (labelled ``bracket:<s>``, or
        ``iteration:<i>,bracket:<s>`` when the plan has several iterations), one bar per
        rung.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.linear_model import SGDClassifier
    >>> from skhpo import HyperbandSearchCV
    >>> from skhpo.plot import plot_plan
    >>> search = HyperbandSearchCV(SGDClassifier(), {"alpha": [1e-4, 1e-3]}, max_iter=27)
    >>> fig = plot_plan(search)  # before fit
    >>> [len(ax.patches) for ax in fig.axes]  # rungs per bracket
    [4, 3, 2, 1]
    """
    if isinstance(search_or_metadata, dict):
        meta = search_or_metadata
        name = "Hyperband"
    else:
        meta = search_or_metadata.metadata
        name = type(search_or_metadata).__name__
    brackets = meta.get("brackets") if isinstance(meta, dict) else None
    if not brackets:
        raise ValueError("plot_plan needs a search or its metadata dict, with 'brackets'")
    n = len(brackets)
    ncols = n if n <= 4 else math.ceil(n / 2)
    fig, flat = _axes_grid(n, ncols, (3.6, 3.2), (0.6, 0.4), sharex=True, sharey=True)
    keys = [_key_of(b) for b in brackets]
    several = len({iteration for iteration, _ in keys}) > 1
    colors = _bracket_colors(keys)
    max_epochs = max(int(r[1]) for b in brackets for r in b["rungs"])
    max_models = max(int(r[0]) for b in brackets for r in b["rungs"])
    for k, (bracket, key, ax) in enumerate(zip(brackets, keys, flat, strict=False)):
        ax.set_label(f"iteration:{key[0]},bracket:{key[1]}" if several else f"bracket:{key[1]}")
        _rung_bars(ax, bracket["rungs"], colors[key])
        ax.set_title(
            f"{_bracket_name(key, several)}: {bracket['n_models']} models, "
            f"{bracket['partial_fit_calls']} epochs",
            fontsize="medium",
        )
        ax.set_xlim(-0.03 * max_epochs, max_epochs * 1.03)
        ax.set_ylim(0, max_models * 1.18)
        ax.grid(True, axis="y", alpha=0.3)
        if k % ncols == 0:
            ax.set_ylabel("models")
        ax.set_xlabel("epochs")
        ax.xaxis.set_tick_params(labelbottom=True)
    fig.suptitle(
        f"{name} plan: {meta['n_models']} models, {meta['partial_fit_calls']} epochs "
        "(bar area = epochs)"
    )
    return fig


def _rung_bars(ax: Any, rungs: Sequence, color: Any) -> None:
    """One bar per rung, from the previous rung's epochs to its own, ``n×epochs`` on top."""
    before = 0
    for n_models, epochs in rungs:
        width = int(epochs) - before
        ax.bar(
            before,
            int(n_models),
            width=width,
            align="edge",
            color=color,
            alpha=0.75,
            edgecolor="black",
            linewidth=0.6,
        )
        ax.annotate(
            f"{n_models}×{epochs}",
            (before + width / 2, int(n_models)),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize="small",
        )
        before = int(epochs)
