"""Hyperband's budget: several iterations, a total of epochs, a wall-clock limit; and the
order brackets run in (the first fully trained model comes early)."""

from __future__ import annotations

from fakes import CurveClassifier

from skhpo import HyperbandSearchCV

SPACE = {"a": (0.0, 1.0)}


def _search(**kw):
    kw.setdefault("max_iter", 27)
    kw.setdefault("random_state", 0)
    return HyperbandSearchCV(CurveClassifier(), kw.pop("parameters", SPACE), **kw)


def _epochs_to_first_full(history, max_iter):
    """Epochs spent (all trials) when a trial first reaches ``max_iter`` epochs."""
    done, spent = {}, 0
    for rec in history:
        spent += rec["partial_fit_calls"] - done.get(rec["model_id"], 0)
        done[rec["model_id"]] = rec["partial_fit_calls"]
        if rec["partial_fit_calls"] == max_iter:
            return spent
    return None


def test_the_first_bracket_is_trained_to_the_end_before_the_next_ones_start(small_xy):
    """In-process, promotions run before other brackets' first rungs (as dask's priority
    does): the most aggressive bracket's best model reaches max_iter after that bracket's
    81 epochs, not after every bracket's first rung (144 epochs)."""
    search = _search().fit(*small_xy)
    assert _epochs_to_first_full(search.history_, 27) == 81
    assert search.metadata["brackets"][0]["partial_fit_calls"] == 81
