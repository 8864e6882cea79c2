"""``ProgressBar``: progress of a compiled loop, reported from the device through a host callback."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from brainstate_core import ConfigError

__all__ = ["ProgressBar"]


def _check_desc(desc: Any) -> None:
    if desc is None or isinstance(desc, str):
        return
    if (isinstance(desc, (tuple, list)) and len(desc) == 2 and isinstance(desc[0], str) and callable(desc[1])):
        return
    raise ConfigError(f"ProgressBar desc must be a string or a pair (format string, function), got {desc!r}. "
                      "The function takes {'i': step, 'carry': carry, 'y': output} and returns the dict that "
                      "fills the format string.")


def _python(value: Any) -> Any:
    """A 0-d array as a Python scalar, so that format specs such as ``{loss:.4f}`` apply."""
    return value.item() if isinstance(value, np.ndarray) and value.ndim == 0 else value


class ProgressBar:
    """Show the progress of a :func:`scan` or :func:`for_loop` (pass it as ``pbar=``, or pass an int).

    The loop reports every ``freq`` steps through a host callback. With tqdm installed a tqdm bar
    is shown; otherwise a line is printed to stderr. Loops without ``pbar`` pay nothing.

    Args:
        freq: report every ``freq`` steps (default: about 20 reports per loop).
        count: report about ``count`` times per loop instead (not with ``freq``).
        desc: a label for the bar, or a pair ``(format string, function)``: at each report the
            function gets ``{"i": step, "carry": the body's carry, "y": its output}`` (traced
            values; ``carry`` is ``None`` in a :func:`for_loop`) and returns a dict of arrays,
            which fills the format string, e.g. ``("step {i}, loss {loss:.3f}", lambda d:
            {"i": d["i"], "loss": d["y"]})``.
        **tqdm_kwargs: passed to ``tqdm``.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> bar = brainstate.transform.ProgressBar(freq=2, desc=("sum {s:.1f}", lambda d: {"s": d["y"]}))
        >>> ys = brainstate.transform.for_loop(lambda x: x + 1, jnp.arange(4.0), pbar=bar)
        >>> bar.count, bar.description
        (4, 'sum 4.0')
    """

    def __init__(self, freq: int | None = None, count: int | None = None,
                 desc: str | tuple[str, Callable[[dict], dict]] | None = None, **tqdm_kwargs: Any) -> None:
        for name, n in (("freq", freq), ("count", count)):
            if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
                raise ConfigError(f"ProgressBar {name} must be a positive integer, got {n!r}. "
                                  f"Fix: pass {name} >= 1, or None for about 20 reports per loop.")
        if freq is not None and count is not None:
            raise ConfigError("ProgressBar takes freq or count, not both.")
        _check_desc(desc)
        self.freq = freq
        self.report_count = count
        self.desc = desc
        self.tqdm_kwargs = tqdm_kwargs
        self.count = 0
        self.description = desc if isinstance(desc, str) else None
        self._bar: Any = None
        self._finished = False

    def _freq(self, total: int | None) -> int:
        if self.freq is not None:
            return self.freq
        return max(1, (total or 20) // (self.report_count or 20))

    def start(self, total: int | None) -> None:
        """Called where the loop starts (outside its body): opens the bar when the program runs."""
        jax.debug.callback(lambda: self._open(total), ordered=True)

    def step(self, i: Any, total: int | None, carry: Any = None, y: Any = None) -> None:
        """Called inside the traced loop body with the step index ``i`` (and the body's carry and output)."""
        freq = self._freq(total)
        last = (total - 1) if total else -1
        data = {}
        if isinstance(self.desc, (tuple, list)):
            data = self.desc[1]({"i": i, "carry": carry, "y": y})
            if not isinstance(data, dict):
                raise ConfigError(f"The ProgressBar desc function must return a dict, got {type(data).__name__}.")

        def report(index: Any, values: dict) -> None:
            self._report(int(index), total, values)

        jax.lax.cond((i % freq == 0) | (i == last),
                     lambda: jax.debug.callback(report, i, data, ordered=True), lambda: None)

    def _report(self, index: int, total: int | None, values: dict) -> None:
        if self._finished:  # a checkpointed loop recomputing its steps in the backward pass
            return
        if isinstance(self.desc, (tuple, list)):
            self.description = self.desc[0].format(**{k: _python(v) for k, v in values.items()})
        done = index + 1
        if self._bar is not None:
            if self.description is not None:
                self._bar.set_description(self.description, refresh=False)
            self._bar.update(done - self.count)
        else:
            print(f"{self.description or 'progress'}: {done}/{total if total else '?'}", file=sys.stderr)
        self.count = done
        if total and done >= total:
            self.close()
            self._finished = True

    def _open(self, total: int | None) -> None:
        self.close()
        self.count = 0
        self._finished = False
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return
        self._bar = tqdm(total=total, desc=self.description, **self.tqdm_kwargs)

    def close(self) -> None:
        """Close the tqdm bar, if one is open (the loop closes it after its last step)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
