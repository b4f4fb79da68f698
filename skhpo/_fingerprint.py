"""A search's fingerprint: a canonical description of what it searches, hashed.

A storage file belongs to one search, and the fingerprint says which. It must be the
same in every process that runs the same search, so it describes objects instead of
pickling them: a frozen scipy.stats distribution pickles its random state, which differs
in every process (``joblib.hash(loguniform(1e-5, 1e-1))`` does).

:func:`describe` turns an object into nested lists of plain values (JSON), by these
rules, first match wins:

==========================================  =========================================
object                                      description
==========================================  =========================================
None, bool, int, float, str, numpy scalar   the value
bytes                                       its hex digits
list, tuple, dict, set                      the kind and the described items (dicts
                                            and sets in a fixed order)
dask collection                             its dask token (``dask.base.tokenize``),
                                            not computed
numpy array, pandas object, scipy sparse,   ``joblib.hash``: the content (stable
numpy random generator                      across processes for these)
skhpo ``Real``, ``Integer``                 the class, ``low``, ``high``, ``log``
                                            (and ``step`` when given)
skhpo ``Categorical``                       the class and the described categories
                                            (any skhpo dimension: and its ``when``,
                                            when given)
skhpo ``Distribution``, ``SearchSpace``     what they hold
frozen scipy.stats distribution             its name, class and parameters (``args``,
                                            ``kwds``), not its random state
anything with ``get_params`` (estimators,   the class (module and qualified name) and
Pipelines, scikeras wrappers)               ``get_params(deep=False)``, described
anything with ``get_config`` (Keras)        the class and ``get_config()``, described
function, class, method, partial            module and qualified name (a lambda or a
                                            nested function: also its bytecode,
                                            constants, defaults and closure values);
                                            a method also its object; a partial its
                                            function and arguments
other objects                               their ``repr`` when the class defines one
                                            without a memory address, else the class
                                            and their attributes (``vars``), else
                                            ``joblib.hash`` (which may differ between
                                            processes)
==========================================  =========================================

The limits: a named function is known by its module and qualified name, so editing its
body does not change the fingerprint; a lambda's bytecode depends on the Python
version; and an object that falls through to ``joblib.hash`` may give another
fingerprint in another process.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import sys
import threading
import types
from collections.abc import Mapping
from typing import Any

import joblib
import numpy as np

__all__ = ["describe", "describe_data", "fingerprint"]

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{4,}")


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _key(description: Any) -> str:
    return json.dumps(description, separators=(",", ":"))


def _is_dask_collection(obj: Any) -> bool:
    if "dask" not in sys.modules:
        return False
    from dask.base import is_dask_collection

    return is_dask_collection(obj)


def _is_content(obj: Any) -> bool:
    """Arrays and frames hashed by content: their pickles are the same in every process."""
    if isinstance(obj, np.ndarray | np.random.RandomState | np.random.Generator):
        return True
    module = type(obj).__module__ or ""
    if module.split(".")[0] == "pandas":
        return True
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(obj)


def _scipy_distribution(obj: Any) -> list | None:
    stats = sys.modules.get("scipy.stats")
    if stats is None:
        return None
    generic = (stats.rv_continuous, stats.rv_discrete)
    if isinstance(obj, generic):  # not frozen: the distribution itself, as a value
        return ["scipy.stats", _qualname(type(obj)), obj.name]
    inner = getattr(obj, "dist", None)
    args, kwds = getattr(obj, "args", None), getattr(obj, "kwds", None)
    if isinstance(inner, generic) and isinstance(args, tuple) and isinstance(kwds, dict):
        return ["scipy.stats", _qualname(type(inner)), inner.name, describe(args), describe(kwds)]
    return None


def _code(code: types.CodeType) -> list:
    consts = [_code(c) if isinstance(c, types.CodeType) else describe(c) for c in code.co_consts]
    return ["code", code.co_code.hex(), consts, list(code.co_names)]


def _function(fn: types.FunctionType) -> list:
    out = ["function", fn.__module__, fn.__qualname__]
    if "<lambda>" in fn.__qualname__ or "<locals>" in fn.__qualname__:
        cells = [c.cell_contents for c in fn.__closure__ or ()]
        out += [_code(fn.__code__), describe(fn.__defaults__), describe(cells)]
    return out


def _callable(obj: Any) -> list | None:
    if isinstance(obj, type):
        return ["class", _qualname(obj)]
    if isinstance(obj, types.FunctionType):
        return _function(obj)
    if isinstance(obj, types.MethodType):
        return ["method", describe(obj.__self__), describe(obj.__func__)]
    if isinstance(obj, types.BuiltinFunctionType | types.BuiltinMethodType):
        owner = getattr(obj, "__self__", None)
        if owner is None or isinstance(owner, types.ModuleType):
            return ["builtin", getattr(obj, "__module__", None), obj.__qualname__]
        return ["builtin-method", describe(owner), obj.__qualname__]
    if isinstance(obj, functools.partial):
        return ["partial", describe(obj.func), describe(obj.args), describe(obj.keywords)]
    return None


def _from_method(obj: Any, method: str) -> list | None:
    """``[class, described obj.method()]`` when ``obj`` has that method and it works."""
    bound = getattr(obj, method, None)
    if isinstance(obj, type) or not callable(bound):
        return None
    try:
        described = bound(deep=False) if method == "get_params" else bound()
    except Exception:  # a get_config that raises for subclassed Keras models, ...
        return None
    if method == "get_config" and isinstance(described, dict):
        described = _without_counter(described)
    return [_qualname(type(obj)), describe(described)]


def _without_counter(config: dict) -> dict:
    """A Keras config without the process's counter in its default name.

    Keras names an object from a per-process counter (the third ``Adam()`` made in a
    process is ``"adam_2"``), so the same optimizer would describe differently in each
    process: the ``_<n>`` suffix of ``name`` is dropped.
    """
    name = config.get("name")
    if isinstance(name, str):
        config = {**config, "name": re.sub(r"_\d+$", "", name)}
    return config


def _space(obj: Any) -> list | None:
    from .space import Categorical, Distribution, SearchSpace, _Numeric

    if isinstance(obj, _Numeric):
        out = [_qualname(type(obj)), describe(obj.low), describe(obj.high), bool(obj.log)]
        if obj.step is not None:  # only then: the fingerprints of older storages hold
            out.append(["step", describe(obj.step)])
    elif isinstance(obj, Categorical):
        out = [_qualname(type(obj)), describe(obj.categories)]
    elif isinstance(obj, Distribution):
        out = [_qualname(type(obj)), describe(obj.dist)]
    else:
        out = None
    if out is not None:
        if obj.when is not None:  # likewise
            out.append(["when", describe(obj.when)])
        return out
    if isinstance(obj, SearchSpace):
        return [_qualname(type(obj)), describe(obj.subspaces)]
    return None


def _other(obj: Any) -> list:
    cls = type(obj)
    if cls.__repr__ is not object.__repr__:
        try:
            text = repr(obj)
        except Exception:
            text = None
        if text is not None and not _ADDRESS.search(text):
            return ["repr", _qualname(cls), text]
    attributes = getattr(obj, "__dict__", None)
    if isinstance(attributes, dict):
        return ["object", _qualname(cls), describe(attributes)]
    return ["pickle", _qualname(cls), joblib.hash(obj)]


_LOCAL = threading.local()  # the ids being described, per thread: a cycle is cut


def describe(obj: Any) -> Any:
    """A canonical description of ``obj``: nested lists of plain values, the same in every
    process for the same object (see the module's table of rules).

    Parameters
    ----------
    obj : object
        Anything: a search space, an estimator, parameters, data.

    Returns
    -------
    object
        JSON-serializable: None, bool, int, float, str and lists of them.

    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> describe(loguniform(1e-5, 1e-1))[2:]  # after 'scipy.stats' and the class
    ['loguniform', ['tuple', [1e-05, 0.1]], ['dict', []]]
    >>> describe({"units": [16, 32], "rate": (0.0, 0.5)})
    ['dict', [['rate', ['tuple', [0.0, 0.5]]], ['units', ['list', [16, 32]]]]]
    """
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    if isinstance(obj, np.generic) and not isinstance(obj, np.void):
        return obj.item()
    if isinstance(obj, bytes | bytearray):
        return ["bytes", bytes(obj).hex()]
    seen = _LOCAL.__dict__.setdefault("seen", set())
    if id(obj) in seen:
        return ["cycle", _qualname(type(obj))]
    seen.add(id(obj))
    try:
        return _describe(obj)
    finally:
        seen.discard(id(obj))


def _describe(obj: Any) -> Any:
    if isinstance(obj, list | tuple):  # a namedtuple is known by its class
        kind = type(obj).__name__ if type(obj) in (list, tuple) else _qualname(type(obj))
        return [kind, [describe(x) for x in obj]]
    if isinstance(obj, Mapping):
        items = [[describe(k), describe(v)] for k, v in obj.items()]
        return ["dict", sorted(items, key=lambda kv: _key(kv[0]))]
    if isinstance(obj, set | frozenset):
        return ["set", sorted((describe(x) for x in obj), key=_key)]
    if _is_dask_collection(obj):
        from dask.base import tokenize

        return ["dask", _qualname(type(obj)), tokenize(obj)]
    if _is_content(obj):
        return ["content", _qualname(type(obj)), joblib.hash(obj)]
    for rule in (_space, _scipy_distribution, _callable):
        out = rule(obj)
        if out is not None:
            return out
    for method in ("get_params", "get_config"):
        out = _from_method(obj, method)
        if out is not None:
            return out
    return _other(obj)


def describe_data(obj: Any) -> Any:
    """Data by content: a dask collection by its token, a list by ``joblib.hash``.

    Lists and tuples of numbers are hashed whole rather than described item by item,
    which would be slow for a large ``X``; anything else goes to :func:`describe`.
    """
    if isinstance(obj, list | tuple) and not _is_dask_collection(obj):
        return ["content", type(obj).__name__, joblib.hash(obj)]
    return describe(obj)


def fingerprint(description: Any) -> str:
    """The SHA-256 hex digest of a :func:`describe` output (as compact JSON).

    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> a = fingerprint(describe({"alpha": loguniform(1e-5, 1e-1)}))
    >>> a == fingerprint(describe({"alpha": loguniform(1e-5, 1e-1)}))
    True
    >>> a == fingerprint(describe({"alpha": loguniform(1e-5, 1e-2)}))
    False
    """
    return hashlib.sha256(_key(description).encode()).hexdigest()
