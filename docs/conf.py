"""Sphinx configuration of the skhpo documentation."""

import skhpo

project = "skhpo"
author = "skhpo developers"
copyright = "2026, skhpo developers"
version = release = skhpo.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
]
autosummary_generate = True
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

exclude_patterns = ["_build"]
html_theme = "alabaster"
html_theme_options = {"description": "Hyperparameter search that speaks scikit-learn"}
