"""The scripts in examples/ run (quick settings)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from compat import fails_on_sklearn_16_with_scikeras

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
@fails_on_sklearn_16_with_scikeras(AssertionError)  # its Pipeline's score
def test_the_demo_runs_and_saves_a_plot(tmp_path):
    pytest.importorskip("scikeras")
    pytest.importorskip("matplotlib")
    out = tmp_path / "curves.png"
    proc = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "examples", "hyperband_keras_digits.py"),
            "--max-iter",
            "3",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Plan: 5 models, 11 epochs" in proc.stdout
    assert "test accuracy" in proc.stdout
    assert out.exists() and out.stat().st_size > 10_000


@pytest.mark.slow
def test_the_conv2d_example_runs_with_cv():
    pytest.importorskip("scikeras")
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "examples", "conv2d_digits_cv.py"), "--max-iter", "3"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "3 folds each" in proc.stdout
    # two metrics, each a mean over the folds, and both on the test images
    best = r"Best mean CV accuracy 0\.\d{4} \(CV macro F1 0\.\d{4}\), test accuracy 0\.\d{4}"
    assert re.search(best + r", test macro F1 0\.\d{4}", proc.stdout), proc.stdout


@pytest.mark.slow
def test_the_multifidelity_benchmark_runs_quick():
    """bench/multifidelity.py --quick: every method, one seed, 10 full trainings."""
    pytest.importorskip("optuna")
    pytest.importorskip("dehb")
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", "multifidelity.py"), "--quick"],
        capture_output=True,
        text=True,
        cwd=os.path.join(ROOT, "bench"),
        env={**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, *sys.path])},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = proc.stdout.split("| problem |")[-1]
    for method in ("skhpo random", "skhpo bayes", "optuna TPE", "random+ASHA", "DEHB"):
        assert f"| hartmann3-good | {method} |" in table
