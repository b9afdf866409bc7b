"""Whole columns drawn with numpy: the very values ``random.choices`` gives, faster.

``random.Random`` and numpy's legacy ``RandomState`` are the same Mersenne Twister
and turn two 32-bit outputs into a float the same way, so a ``RandomState`` holding
a ``Random``'s state yields exactly the floats ``Random.random()`` would. numpy
freezes ``RandomState``'s stream (NEP 19), so the values do not change with its
releases. :meth:`Table.choices` copies the state in, draws ``k`` floats, picks the values
as ``random.choices`` picks them (``floor(u * n)``, or the first cumulative weight
above ``u * total``) and copies the advanced state back, so the ``Random`` goes on
exactly as if ``random.choices`` had run.

Without numpy, or with the environment variable ``BOOKSLOT_NUMPY=0`` (the reference
path, for comparison), ``random.choices`` itself runs: the values are the same.
"""

from __future__ import annotations

import math
import os
import random
import threading
from functools import cache
from typing import Any

__all__ = ["MIN_COLUMN", "Table", "enabled"]

#: Shorter columns go through ``random.choices``: below this, copying the state costs
#: more than numpy saves.
MIN_COLUMN = 256

_local = threading.local()


@cache
def _numpy() -> Any:
    if os.environ.get("BOOKSLOT_NUMPY", "1").strip() == "0":
        return None
    try:
        import numpy
    except ImportError:  # pragma: no cover - numpy is a dependency; the fallback is exact
        return None
    return numpy


def enabled() -> bool:
    """Whether columns are drawn with numpy (installed, and not ``BOOKSLOT_NUMPY=0``)."""
    return _numpy() is not None


class Table:
    """A table of values, drawn as ``random.choices(values, cum_weights=..., k=k)`` draws.

    The numpy arrays are built on the first column drawn, once per table.
    """

    __slots__ = ("_arrays", "cum_weights", "values")

    def __init__(self, values: tuple[str, ...], cum_weights: tuple[float, ...] | None) -> None:
        self.values, self.cum_weights = values, cum_weights
        self._arrays: tuple[Any, Any] | tuple[()] | None = None

    def choices(self, rng: random.Random, k: int) -> list[str]:
        """Draw ``k`` values, advancing ``rng`` as ``rng.choices`` does."""
        # A subclass may draw its own way (its own random()): only Random's stream is
        # numpy's.
        np = _numpy() if k >= MIN_COLUMN and type(rng) is random.Random else None
        arrays = self._arrays
        if arrays is None and np is not None:
            arrays = self._build(np)
        if np is None or not arrays:
            return rng.choices(self.values, cum_weights=self.cum_weights, k=k)
        values, cum_weights = arrays
        uniforms = _uniforms(np, rng, k)
        if cum_weights is None:
            # random.choices: population[floor(random() * n)], n a float.
            picks = (uniforms * float(len(self.values))).astype(np.intp)
        else:
            # random.choices: bisect(cum_weights, random() * total, 0, n - 1).
            picks = np.searchsorted(cum_weights, uniforms * cum_weights[-1], side="right")
            np.minimum(picks, len(self.values) - 1, out=picks)
        result: list[str] = values.take(picks).tolist()
        return result

    def _build(self, np: Any) -> tuple[Any, Any] | tuple[()]:
        if not self.values:  # random.choices raises after one draw: let it
            self._arrays = ()
            return ()
        values = np.empty(len(self.values), dtype=object)
        values[:] = self.values
        cum_weights = None
        if self.cum_weights is not None:
            cum_weights = np.array(self.cum_weights, dtype=np.float64)
            # Only weights whose float64 copy compares equal, and a finite positive
            # total, give random.choices' picks (it raises for the rest).
            total = float(cum_weights[-1]) if len(cum_weights) else 0.0
            exact = cum_weights.tolist() == list(self.cum_weights)
            if not (exact and math.isfinite(total) and total > 0):
                self._arrays = ()
                return ()
        self._arrays = (values, cum_weights)
        return self._arrays


def _uniforms(np: Any, rng: random.Random, k: int) -> Any:
    """Draw ``k`` floats exactly as ``k`` calls of ``rng.random()`` would."""
    state = getattr(_local, "state", None)
    if state is None:  # one per thread: a RandomState is not safe to share
        state = _local.state = np.random.RandomState(0)
    version, internal, gauss = rng.getstate()
    key = np.fromiter(internal, dtype=np.uint32, count=len(internal))
    state.set_state(("MT19937", key[:-1], int(key[-1])))
    uniforms = state.random_sample(k)
    _, key, position, _, _ = state.get_state()
    rng.setstate((version, (*key.tolist(), position), gauss))
    return uniforms
