"""Sphinx configuration of the skhpo documentation (no extension fetches anything)."""

import os
import sys
from importlib import metadata

# Document the source tree next to this file, installed or not.
sys.path.insert(0, os.path.abspath(".."))

project = "skhpo"
author = "skhpo developers"
copyright = "2026, skhpo developers"
try:
    release = metadata.version("skhpo")
except metadata.PackageNotFoundError:  # not installed (skhpo.__version__ says the same)
    release = "0.0.0"
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
]
templates_path = ["_templates"]
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

exclude_patterns = ["_build", "_templates"]
html_theme = "alabaster"
html_theme_options = {"description": "Hyperparameter search that speaks scikit-learn"}
