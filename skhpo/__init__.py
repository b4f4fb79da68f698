"""skhpo: hyperparameter search for deep-learning models that speaks scikit-learn.

Importing skhpo imports neither Keras, TensorFlow nor dask: the searches work with any
scikit-learn estimator that has ``partial_fit``, and recognise scikeras models when
the user's code has imported scikeras.
"""

from importlib.metadata import PackageNotFoundError, version

from ._storage import SearchStorage
from .bayes import BayesSearchCV
from .hyperband import HyperbandSearchCV
from .space import Categorical, Integer, Real
from .successive_halving import SuccessiveHalvingSearchCV

try:
    __version__ = version("skhpo")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "BayesSearchCV",
    "Categorical",
    "HyperbandSearchCV",
    "Integer",
    "Real",
    "SearchStorage",
    "SuccessiveHalvingSearchCV",
    "__version__",
]
