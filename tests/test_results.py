"""skhpo.results: the results table, and its CSV / JSON round trip."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from fakes import CurveClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

from skhpo import HyperbandSearchCV, SuccessiveHalvingSearchCV
from skhpo.exceptions import TrialFailedWarning
from skhpo.results import load_results, results_frame, save_results

pd = pytest.importorskip("pandas")

FIXED = [
    "model_id",
    "bracket",
    "epochs",
    "score",
    "best_score",
    "state",
    "error",
    "fit_time",
    "score_time",
    "rank",
]


def _fit(parameters, max_iter=9, **kw):
    search = HyperbandSearchCV(
        CurveClassifier(), parameters, max_iter=max_iter, random_state=0, **kw
    )
    rng = np.random.RandomState(0)
    X, y = rng.rand(120, 4), np.arange(120) % 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrialFailedWarning)
        return search.fit(X, y)


@pytest.fixture(scope="module")
def search():
    return _fit({"a": (0.0, 1.0), "b": [1, 2, 3], "fail": [None, None, None, "fit", "nan"]})


def test_one_row_per_trial_with_the_fixed_columns_first(search):
    df = results_frame(search)
    res = search.cv_results_
    assert list(df.columns) == FIXED + ["a", "b", "fail"]
    assert len(df) == len(res["params"]) == 17
    assert df.index.name == "trial"
    assert sorted(df.index) == list(range(17))
    # sorted by rank, ties in trial order
    assert list(df["rank"]) == sorted(res["rank_test_score"])
    for _, group in df.groupby("rank"):
        assert list(group.index) == sorted(group.index)
    assert df.index[0] == search.best_index_ and df["rank"].iloc[0] == 1
    # each row is its trial
    for i, row in df.iterrows():
        model_id = res["model_id"][i]
        assert row["model_id"] == model_id
        assert row["bracket"] == res["bracket"][i]
        assert row["epochs"] == res["partial_fit_calls"][i]
        assert row["state"] == res["state"][i]
        assert row["a"] == res["params"][i]["a"] and row["b"] == res["params"][i]["b"]
        np.testing.assert_equal(row["score"], res["test_score"][i])
        history = [h["score"] for h in search.model_history_[model_id]]
        finite = [s for s in history if not math.isnan(s)]
        np.testing.assert_equal(row["best_score"], max(finite) if finite else math.nan)
        assert row["fit_time"] == pytest.approx(
            res["mean_partial_fit_time"][i] * res["partial_fit_calls"][i]
        )
        assert row["score_time"] == pytest.approx(res["mean_score_time"][i] * len(history))


def test_types_errors_and_best_score(search):
    df = results_frame(search)
    assert df["bracket"].dtype == np.int64 and df["epochs"].dtype == np.int64
    assert df["rank"].dtype == np.int64 and df["b"].dtype == np.int64
    assert df["score"].dtype == np.float64 and df["a"].dtype == np.float64
    failed = df["state"] == "failed"
    assert failed.any() and (~failed).any()
    assert all("boom in partial_fit" in e for e in df.loc[failed, "error"])
    assert all(e is None for e in df.loc[~failed, "error"])
    assert set(df["state"]) == {"completed", "pruned", "failed"}
    # a trial's best score is never below its last one
    both = df.dropna(subset=["score"])
    assert (both["best_score"] >= both["score"]).all()
    assert df.loc[search.best_index_, "score"] == search.best_score_


def test_successive_halving_and_conditional_spaces():
    space = [{"a": [0.1, 0.2]}, {"b": [1, 2], "fail": [None]}]
    search = SuccessiveHalvingSearchCV(
        CurveClassifier(), space, n_initial_parameters=9, n_initial_iter=1, random_state=0
    )
    search.fit(np.random.RandomState(0).rand(60, 2), np.arange(60) % 2)
    df = results_frame(search)
    assert list(df.columns) == FIXED + ["a", "b", "fail"]
    has_a = np.array(["a" in search.cv_results_["params"][i] for i in df.index])
    assert df.loc[has_a, "b"].isna().all() and df.loc[~has_a, "a"].isna().all()
    assert df["b"].dtype == np.float64  # ints with absent values: NaN


SPACES = {
    "numbers": {"a": (0.0, 1.0), "b": [1, 2, 3]},
    "floats with ints": {"a": [0.3], "b": [1, 0.5, 1e-7, 123456789.123456789]},
    "bools": {"a": (0.0, 1.0), "b": [True, False]},
    "strings and None": {"a": (0.0, 1.0), "b": ["x", None, "y, with comma", 'q"uote\nnew']},
    "numbers and None": {"b": [None, 7]},
    "bools and None": {"b": [True, None]},
    "all None": {"b": [None]},
    "a string 'nan' and NaN scores": {"a": (0.0, 1.0), "fail": [None, "nan", "fit"]},
    "absent parameters": [{"a": [0.1, 0.2]}, {"b": ["u", "v"]}],
    "objects as repr": {"b": [(50,), (100, 50), CurveClassifier(a=0.2)]},
    "numpy scalars": {"b": [np.int64(3), np.int64(4)], "a": [np.float32(0.25)]},
    "infinities": {"b": [float("inf"), -1.5, float("-inf")]},
}


@pytest.mark.parametrize("ext", ["csv", "json"])
@pytest.mark.parametrize("space", list(SPACES.values()), ids=list(SPACES))
def test_files_read_back_equal(tmp_path, space, ext):
    search = _fit(space, max_iter=3)
    df = results_frame(search)
    path = save_results(search, tmp_path / f"results.{ext}")
    assert path == tmp_path / f"results.{ext}"
    pd.testing.assert_frame_equal(load_results(path), df)
    again = save_results(df, tmp_path / f"frame.{ext}")
    pd.testing.assert_frame_equal(load_results(again), df)
    # a filtered frame round-trips too
    top = df[df["rank"] <= 2]
    pd.testing.assert_frame_equal(load_results(save_results(top, str(tmp_path / f"t.{ext}"))), top)


def test_parameter_values_kept_as_values():
    df = results_frame(_fit(SPACES["objects as repr"], max_iter=3))
    assert set(df["b"]) <= {"(50,)", "(100, 50)", "CurveClassifier(a=0.2)"}
    df = results_frame(_fit(SPACES["bools"], max_iter=3))
    assert df["b"].dtype == bool
    df = results_frame(_fit(SPACES["numpy scalars"], max_iter=3))
    assert df["b"].dtype == np.int64 and df["a"].dtype == np.float64


def test_what_csv_cannot_tell_apart(tmp_path):
    # documented: a column mixing types reads back from CSV as strings; JSON is exact
    search = _fit({"b": [1, "a"]}, max_iter=3)
    df = results_frame(search)
    assert df["b"].dtype == object
    pd.testing.assert_frame_equal(load_results(save_results(df, tmp_path / "r.json")), df)
    back = load_results(save_results(df, tmp_path / "r.csv"))
    assert set(back["b"]) == {"1", "a"}


def test_files_are_plain(tmp_path, search):
    csv_text = save_results(search, tmp_path / "r.CSV").read_text()
    header = csv_text.splitlines()[0]
    assert header == ",".join(["trial"] + FIXED + ["a", "b", "fail"])
    plain = pd.read_csv(tmp_path / "r.CSV", index_col="trial")
    assert list(plain.index) == list(results_frame(search).index)
    import json

    doc = json.loads(save_results(search, tmp_path / "r.json").read_text())
    assert doc["format"] == "skhpo.results" and doc["columns"][:2] == ["model_id", "bracket"]
    assert len(doc["records"]) == 17 and "NaN" not in (tmp_path / "r.json").read_text()


def test_plain_sklearn_searches_fall_back_to_cv_results(digits):
    X, y = digits
    search = RandomizedSearchCV(
        SGDClassifier(max_iter=5, tol=None, random_state=0),
        {"alpha": [1e-5, 1e-4, 1e-3, 1e-2], "loss": ["hinge", "log_loss"]},
        n_iter=4,
        cv=2,
        random_state=0,
    ).fit(X[:400], y[:400])
    df = results_frame(search)
    assert list(df.columns) == ["score", "fit_time", "score_time", "rank", "alpha", "loss"]
    assert list(df["rank"]) == sorted(search.cv_results_["rank_test_score"])
    i = df.index[0]
    assert df.loc[i, "fit_time"] == pytest.approx(2 * search.cv_results_["mean_fit_time"][i])
    multi = GridSearchCV(
        SGDClassifier(max_iter=5, tol=None, random_state=0),
        {"alpha": [1e-4, 1e-2]},
        scoring=["accuracy", "f1_macro"],
        refit="f1_macro",
        cv=2,
    ).fit(X[:300], y[:300])
    df = results_frame(multi)
    np.testing.assert_array_equal(
        df["score"], np.sort(multi.cv_results_["mean_test_f1_macro"])[::-1]
    )
    multi.refit = False  # ranked by the first metric, as the epoch searches promote
    np.testing.assert_array_equal(
        results_frame(multi)["score"], np.sort(multi.cv_results_["mean_test_accuracy"])[::-1]
    )
    multi.refit = "recall"
    with pytest.raises(ValueError, match="refit to the name of the metric"):
        results_frame(multi)


def test_parameters_named_like_columns_get_a_prefix():
    fake = SimpleNamespace(
        cv_results_={
            "params": [{"rank": 3, "x": "u"}, {"rank": 1, "x": "v"}],
            "mean_test_score": np.array([0.5, 0.7]),
            "rank_test_score": np.array([2, 1]),
        }
    )
    df = results_frame(fake)
    assert list(df.columns) == ["score", "rank", "param_rank", "x"]
    assert list(df.index) == [1, 0] and list(df["param_rank"]) == [1, 3]


def test_unfitted_and_wrong_input(tmp_path):
    unfitted = HyperbandSearchCV(CurveClassifier(), {"a": [0.1]}, max_iter=3)
    with pytest.raises(NotFittedError, match="HyperbandSearchCV instance is not fitted yet"):
        results_frame(unfitted)
    with pytest.raises(NotFittedError, match="not fitted"):
        save_results(unfitted, tmp_path / "r.csv")
    with pytest.raises(TypeError, match="needs a fitted search"):
        results_frame({"a": 1})
    with pytest.raises(ValueError, match=r"ending in \.csv or \.json"):
        save_results(unfitted, tmp_path / "r.parquet")
    with pytest.raises(ValueError, match=r"ending in \.csv or \.json"):
        load_results(tmp_path / "r.txt")
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a results table"):
        load_results(tmp_path / "other.csv")
    (tmp_path / "other.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a results table"):
        load_results(tmp_path / "other.json")


def test_missing_pandas_says_what_to_install(monkeypatch, search, tmp_path):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        results_frame(search)
    # writing a search's table needs no pandas
    path = save_results(search, tmp_path / "r.csv")
    with pytest.raises(ImportError, match="pip install pandas"):
        load_results(path)


def test_skhpo_imports_without_the_optional_packages():
    code = (
        "import sys\n"
        "for name in ('pandas', 'matplotlib', 'matplotlib.pyplot', 'mlflow'):\n"
        "    sys.modules[name] = None\n"
        "import skhpo, skhpo.results, skhpo.plot, skhpo.mlflow\n"
        "skhpo.mlflow.MLflowCallback()\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
