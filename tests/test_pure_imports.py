"""The pure modules must import without Keras, TensorFlow, JAX, torch or dask.

Run in a fresh interpreter so that what other tests imported does not count.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

HEAVY = ["keras", "tensorflow", "jax", "torch", "distributed", "dask"]

CODE = textwrap.dedent(
    """
    import json, sys
    import skhpo._schedule, skhpo._promotion, skhpo.space
    heavy = {heavy!r}
    print(json.dumps(sorted(
        m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy)
    )))
    """
)


def test_pure_modules_import_no_heavy_packages():
    proc = subprocess.run(
        [sys.executable, "-c", CODE.format(heavy=HEAVY)],
        cwd=Path(__file__).resolve().parents[1],  # the repository root, as pytest's
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert loaded == [], f"importing the pure modules also imported {loaded}"
