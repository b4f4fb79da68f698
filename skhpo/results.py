"""A fitted search's trials as a table: a pandas DataFrame, CSV and JSON files.

:func:`results_frame` gives one row per trial, best first; :func:`save_results` writes it
to a ``.csv`` or ``.json`` file and :func:`load_results` reads such a file back into the
same DataFrame.

pandas is imported only by the functions that return a DataFrame: skhpo imports without
it, and ``save_results(search, path)`` needs no pandas either.

**Columns.** The index, ``trial``, is the trial's position in ``cv_results_``. Then,
for the epoch-budget searches (:class:`~skhpo.HyperbandSearchCV`,
:class:`~skhpo.SuccessiveHalvingSearchCV`):

``model_id``, ``bracket``
    The trial's name and its Hyperband bracket.
``epochs``
    Epochs trained (``partial_fit_calls``).
``score``, ``best_score``
    The last validation score (the one that ranks the trial) and the best score the
    trial ever had (from ``history_``).
``state``, ``error``
    ``"completed"``, ``"pruned"`` or ``"failed"``; the traceback of a failed trial,
    None otherwise.
``fit_time``, ``score_time``
    Seconds spent training (``mean_partial_fit_time * epochs``) and scoring, in total.
``rank``
    1 for the best score; NaN scores rank last.
``score_<name>``
    With several metrics in ``scoring``, each metric's last validation score, after
    ``best_score``; ``score`` is then that of the metric that ranks the trials (the one
    ``refit`` names, or the first).

and one column per search parameter, under its full name (``clf__alpha``), after these;
a parameter whose name is one of the columns above (or ``trial``) becomes
``param_<name>``. A trial without the parameter (a list of search spaces) has NaN or None
there. Rows are sorted by rank, ties in trial order.

Other scikit-learn searches (``BaseSearchCV``, no ``history_``) give the columns their
``cv_results_`` supports: ``score`` (``mean_test_score``), ``fit_time`` and
``score_time`` (summed over the splits) and ``rank``.

**Parameter values.** Numbers, strings, booleans and None are kept as they are, and
numpy scalars become Python ones. Any other value (a tuple such as
``hidden_layer_sizes=(50, 20)``, an estimator, a function) is stored as its ``repr``
string, so that the table holds plain data only; the object itself is in
``search.cv_results_["params"][trial]``.

**File formats.** JSON (``{"format": "skhpo.results", "columns": [...],
"records": [...]}``) gives the frame back exactly. NaN is written as ``null`` and
infinities as ``Infinity``, which Python reads but strict JSON parsers do not.

CSV is the plain table that any tool reads (empty cells for NaN and None), and reading it
back is exact for what searches produce: each column's type is told from its cells
(booleans ``True``/``False``, then integers, then floats, then strings). What CSV cannot
tell apart: an empty string reads back as None; a column of strings that all look like
numbers or booleans (``"1"``, ``"True"``) reads back as numbers or booleans; a column
mixing types (``[1, "a"]``) reads back as strings. Use JSON for those.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.exceptions import NotFittedError

from ._records import score_keys

__all__ = ["load_results", "results_frame", "save_results"]

INDEX = "trial"
FORMAT = "skhpo.results"
FORMAT_VERSION = 1

# The fixed columns, in order, and their types.
COLUMNS = {
    "model_id": "str",
    "bracket": "int",
    "epochs": "int",
    "score": "float",
    "best_score": "float",
    "state": "str",
    "error": "object",
    "fit_time": "float",
    "score_time": "float",
    "rank": "int",
}
_RESERVED = {INDEX, *COLUMNS}

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?inf|nan")


def _pandas():
    try:
        import pandas
    except ImportError as exc:
        raise ImportError("skhpo.results needs pandas for DataFrames: pip install pandas") from exc
    return pandas


# -- the table, in plain Python ----------------------------------------------------------


def _check_fitted(search: Any, what: str) -> dict:
    results = getattr(search, "cv_results_", None)
    if results is None:
        if not hasattr(search, "fit"):
            raise TypeError(f"{what} needs a fitted search, got {type(search).__name__}")
        raise NotFittedError(
            f"This {type(search).__name__} instance is not fitted yet: call fit before {what}."
        )
    return results


def _plain(value: Any) -> Any:
    """A cell value: numbers, strings, booleans and None as Python values, else repr."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def _table(search: Any, what: str = "reading its results") -> tuple[list[int], dict[str, list]]:
    """``(trial indices, {column: values})``, sorted by rank: plain Python values."""
    res = _check_fitted(search, what)
    score_key, rank_key = score_keys(res, getattr(search, "refit", None))
    n = len(res["params"])
    cols: dict[str, list] = {}
    history = getattr(search, "model_history_", None)
    has_history = history is not None and "model_id" in res
    if "model_id" in res:
        cols["model_id"] = [str(m) for m in res["model_id"]]
    if "bracket" in res:
        cols["bracket"] = [int(b) for b in res["bracket"]]
    if "partial_fit_calls" in res:
        cols["epochs"] = [int(e) for e in res["partial_fit_calls"]]
    cols["score"] = [float(s) for s in res[score_key]]
    if has_history:
        cols["best_score"] = [_best(history.get(m, [])) for m in cols["model_id"]]
    for metric in _metrics(res):
        cols[f"score_{metric}"] = [float(s) for s in res[f"mean_test_{metric}"]]
    if "state" in res:
        cols["state"] = [str(s) for s in res["state"]]
        errors = res.get("error", [None] * n)
        cols["error"] = [None if e is None else str(e) for e in errors]
    n_splits = int(getattr(search, "n_splits_", 1) or 1)
    if "mean_partial_fit_time" in res and "epochs" in cols:
        per_epoch = res["mean_partial_fit_time"]
        cols["fit_time"] = [float(t) * e for t, e in zip(per_epoch, cols["epochs"], strict=True)]
    elif "mean_fit_time" in res:
        cols["fit_time"] = [float(t) * n_splits for t in res["mean_fit_time"]]
    if "mean_score_time" in res:
        if has_history:
            counts = [len(history.get(m, [])) for m in cols["model_id"]]
        else:
            counts = [n_splits] * n
        per_score = res["mean_score_time"]
        cols["score_time"] = [float(t) * c for t, c in zip(per_score, counts, strict=True)]
    ranks = [int(r) for r in res[rank_key]]
    cols["rank"] = ranks

    names: list[str] = []
    for params in res["params"]:
        names.extend(k for k in params if k not in names)
    for name in sorted(names):
        column = f"param_{name}" if name in _RESERVED or name in cols else name
        cols[column] = [_plain(p[name]) if name in p else None for p in res["params"]]

    order = sorted(range(n), key=lambda i: ranks[i])  # stable: ties keep trial order
    return order, {c: [v[i] for i in order] for c, v in cols.items()}


def _metrics(results: dict) -> list[str]:
    """The names of a search's metrics when it has several (else none), in order."""
    if "mean_test_score" in results:
        return []
    return [k.removeprefix("mean_test_") for k in results if k.startswith("mean_test_")]


def _best(records: list[dict]) -> float:
    scores = [float(r["score"]) for r in records if not math.isnan(float(r["score"]))]
    return max(scores) if scores else math.nan


# -- DataFrames --------------------------------------------------------------------------


def _frame(index: list[int], columns: dict[str, list]):
    """The DataFrame of a table; the one constructor, so that files read back equal."""
    pd = _pandas()
    data = {}
    for name, values in columns.items():
        kind = COLUMNS.get(name)
        if kind == "int":
            series = pd.Series(values, dtype="int64")
        elif kind == "float":
            series = pd.Series([math.nan if v is None else v for v in values], dtype="float64")
        elif kind == "object" or not values:
            series = pd.Series(values, dtype=object)
        else:  # "str" and the parameters: pandas' own inference
            series = pd.Series(values)
        data[name] = series
    frame = pd.DataFrame(data, columns=list(columns))
    frame.index = pd.Index(index, dtype="int64", name=INDEX)
    return frame


def results_frame(search: Any):
    """The trials of a fitted search as a DataFrame, best first.

    Parameters
    ----------
    search : fitted search
        A fitted :class:`~skhpo.HyperbandSearchCV` or
        :class:`~skhpo.SuccessiveHalvingSearchCV`, or any scikit-learn search with
        ``cv_results_``.

    Returns
    -------
    pandas.DataFrame
        One row per trial, indexed by ``trial`` (its position in ``cv_results_``),
        sorted by ``rank``: ``model_id``, ``bracket``, ``epochs``, ``score``,
        ``best_score``, ``state``, ``error``, ``fit_time``, ``score_time``, ``rank``,
        then one column per parameter (see :mod:`skhpo.results`).

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the search is not fitted.
    ImportError
        If pandas is not installed.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import SGDClassifier
    >>> from skhpo import HyperbandSearchCV
    >>> from skhpo.results import results_frame
    >>> X, y = load_digits(return_X_y=True)
    >>> search = HyperbandSearchCV(
    ...     SGDClassifier(random_state=0), {"alpha": (1e-5, 1e-1, "log-uniform")},
    ...     max_iter=9, random_state=0).fit(X[:500] / 16, y[:500])
    >>> df = results_frame(search)
    >>> list(df.columns)  # doctest: +NORMALIZE_WHITESPACE
    ['model_id', 'bracket', 'epochs', 'score', 'best_score', 'state', 'error',
     'fit_time', 'score_time', 'rank', 'alpha']
    >>> len(df), int(df["rank"].iloc[0]), int(df.index[0]) == search.best_index_
    (17, 1, True)
    >>> df.groupby("state")["epochs"].max().to_dict()
    {'completed': 9, 'pruned': 3}
    """
    index, columns = _table(search, "reading its results (results_frame)")
    return _frame(index, columns)


# -- files -------------------------------------------------------------------------------


def _frame_table(frame: Any) -> tuple[list[int], dict[str, list]]:
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        raise ValueError(f"The frame's column names are not unique: {names}")
    index = [_plain(i) for i in frame.index.tolist()]
    columns = {str(c): [_plain(v) for v in frame[c].tolist()] for c in frame.columns}
    return index, columns


def _kind(path: str | os.PathLike) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in (".csv", ".json"):
        raise ValueError(
            f"Cannot tell the format of {os.fspath(path)!r}: give a path ending in .csv or .json"
        )
    return suffix[1:]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _csv_cell(value: Any) -> str:
    if _missing(value):
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def save_results(search_or_frame: Any, path: str | os.PathLike) -> Path:
    """Write a search's results table (or a frame of one) to a CSV or JSON file.

    Parameters
    ----------
    search_or_frame : fitted search or pandas.DataFrame
        A fitted search (its :func:`results_frame`, computed without pandas), or a
        DataFrame such as :func:`results_frame` returns, possibly filtered.
    path : str or path-like
        Where to write; the extension chooses the format: ``.csv`` or ``.json``.

    Returns
    -------
    pathlib.Path
        The path written.

    Notes
    -----
    The frame's index is written as the column ``trial``. :func:`load_results` reads
    either format back into an equal DataFrame; see :mod:`skhpo.results` for what a CSV
    file cannot tell apart.

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import SGDClassifier
    >>> from skhpo import HyperbandSearchCV
    >>> from skhpo.results import load_results, results_frame, save_results
    >>> X, y = load_digits(return_X_y=True)
    >>> search = HyperbandSearchCV(
    ...     SGDClassifier(random_state=0), {"loss": ["hinge", "log_loss"]},
    ...     max_iter=3, random_state=0).fit(X[:300] / 16, y[:300])
    >>> folder = tempfile.mkdtemp()
    >>> path = save_results(search, os.path.join(folder, "results.csv"))
    >>> load_results(path).equals(results_frame(search))
    True
    """
    fmt = _kind(path)
    if hasattr(search_or_frame, "columns") and hasattr(search_or_frame, "index"):
        index, columns = _frame_table(search_or_frame)
    else:
        index, columns = _table(search_or_frame, "saving its results (save_results)")
    path = Path(path)
    if fmt == "csv":
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow([INDEX, *columns])
            for row, i in enumerate(index):
                writer.writerow([_csv_cell(i)] + [_csv_cell(v[row]) for v in columns.values()])
    else:
        records = [
            {
                INDEX: i,
                **{c: None if _missing(v[row]) else v[row] for c, v in columns.items()},
            }
            for row, i in enumerate(index)
        ]
        document = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "index": INDEX,
            "columns": list(columns),
            "records": records,
        }
        with open(path, "w", encoding="utf-8") as f:
            json.dump(document, f, indent=1)
            f.write("\n")
    return path


def _decode_fixed(kind: str, cells: list[str]) -> list:
    if kind == "int":
        return [int(c) for c in cells]
    if kind == "float":
        return [float(c) if c else math.nan for c in cells]
    if kind == "object":
        return [c or None for c in cells]
    return cells


def _decode_column(cells: list[str]) -> list:
    """A parameter column's values from its CSV cells: the type all cells agree on."""
    present = [c for c in cells if c != ""]
    if all(c in ("True", "False") for c in present):
        convert: Any = lambda c: c == "True"  # noqa: E731
    elif all(_INT.fullmatch(c) for c in present):
        convert = int
    elif all(_FLOAT.fullmatch(c) for c in present):
        convert = float
    else:
        convert = str
    return [convert(c) if c != "" else None for c in cells]


def _read_csv(path: Path) -> tuple[list[int], dict[str, list]]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows or not rows[0] or rows[0][0] != INDEX:
        raise ValueError(f"{os.fspath(path)!r} is not a results table: no {INDEX!r} column first")
    header, body = rows[0], rows[1:]
    for k, row in enumerate(body):
        if len(row) != len(header):
            raise ValueError(
                f"{os.fspath(path)!r}, line {k + 2}: {len(row)} fields where the header has "
                f"{len(header)}"
            )
    index = [int(row[0]) for row in body]
    columns = {}
    for j, name in enumerate(header[1:], start=1):
        cells = [row[j] for row in body]
        kind = COLUMNS.get(name)
        columns[name] = _decode_fixed(kind, cells) if kind else _decode_column(cells)
    return index, columns


def _read_json(path: Path) -> tuple[list[int], dict[str, list]]:
    with open(path, encoding="utf-8") as f:
        document = json.load(f)
    if not (isinstance(document, dict) and document.get("format") == FORMAT):
        raise ValueError(
            f"{os.fspath(path)!r} is not a results table written by skhpo.save_results"
        )
    names = document["columns"]
    records = document["records"]
    index = [int(r[INDEX]) for r in records]
    columns = {name: [r.get(name) for r in records] for name in names}
    return index, columns


def load_results(path: str | os.PathLike):
    """Read a results table written by :func:`save_results` into a DataFrame.

    Parameters
    ----------
    path : str or path-like
        A ``.csv`` or ``.json`` file.

    Returns
    -------
    pandas.DataFrame
        The frame :func:`results_frame` gave, indexed by ``trial``.

    Raises
    ------
    ValueError
        If the extension is neither ``.csv`` nor ``.json``, or the file is not such a
        table.
    ImportError
        If pandas is not installed.
    """
    fmt = _kind(path)
    _pandas()
    path = Path(path)
    index, columns = _read_csv(path) if fmt == "csv" else _read_json(path)
    return _frame(index, columns)
