"""``ProgressBar``: progress of a compiled loop, reported from the device through a host callback."""

from __future__ import annotations

import sys
from typing import Any

import jax

from brainstate_core import ConfigError

__all__ = ["ProgressBar"]


class ProgressBar:
    """Show the progress of a :func:`scan` or :func:`for_loop` (pass it as ``pbar=``).

    The loop reports every ``freq`` steps through a host callback. With tqdm installed a tqdm bar
    is shown; otherwise a line is printed to stderr. Loops without ``pbar`` pay nothing.

    Args:
        freq: report every ``freq`` steps (default: about 20 reports per loop).
        desc: a label for the bar.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> bar = brainstate.transform.ProgressBar(freq=2, desc="demo")
        >>> ys = brainstate.transform.for_loop(lambda x: x + 1, jnp.arange(4.0), pbar=bar)
        >>> bar.count
        4
    """

    def __init__(self, freq: int | None = None, desc: str | None = None, **tqdm_kwargs: Any) -> None:
        if freq is not None and freq < 1:
            raise ConfigError(f"ProgressBar freq must be a positive integer, got {freq}. "
                              "Fix: pass freq >= 1, or None for about 20 reports per loop.")
        self.freq = freq
        self.desc = desc
        self.tqdm_kwargs = tqdm_kwargs
        self.count = 0
        self._bar: Any = None

    def step(self, i: Any, total: int | None) -> None:
        """Called inside the traced loop body with the step index ``i``."""
        freq = self.freq or max(1, (total or 20) // 20)
        last = (total - 1) if total else -1

        def report(index: Any) -> None:
            self._report(int(index), total, freq)

        jax.lax.cond((i % freq == 0) | (i == last), lambda: jax.debug.callback(report, i, ordered=True), lambda: None)

    def _report(self, index: int, total: int | None, freq: int) -> None:
        if index == 0:
            self._open(total)
        done = index + 1
        if self._bar is not None:
            self._bar.update(done - self.count)
        else:
            print(f"{self.desc or 'progress'}: {done}/{total if total else '?'}", file=sys.stderr)
        self.count = done
        if total and done >= total:
            self.close()

    def _open(self, total: int | None) -> None:
        self.close()
        self.count = 0
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return
        self._bar = tqdm(total=total, desc=self.desc, **self.tqdm_kwargs)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
