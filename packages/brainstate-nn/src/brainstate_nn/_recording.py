"""Run a simulation for N steps inside ``jit`` and record what it did.

:func:`run` calls a step function ``n_steps`` times in one compiled loop
(``brainstate.transform.for_loop`` under ``brainstate.transform.jit``). Each call sees the clock in
``brainstate.environ``: ``i`` (the step index) and ``t = t0 + i * dt`` (ms). The convention for
stamps: **everything the update of step ``i`` produced (its spikes, the values read after it)
carries step ``i`` and time ``t_i``, the time at the start of that step** (upstream brainstate's
and brainpy's convention). Chosen values are sampled every ``every``-th step; spikes are kept
for every step, bit-packed (one bit per neuron and step, 1/32 of float32), in a
:class:`SpikeRecord`. The spike statistics (:func:`mean_firing_rate`, :func:`firing_rate`,
:func:`cv_isi`, :func:`fano_factor`) accept a :class:`SpikeRecord` or a dense ``(time, ...)`` array.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_core import ConfigError, InputError, State, environ

__all__ = ["run", "Recording", "SpikeRecord", "mean_firing_rate", "firing_rate", "cv_isi", "fano_factor"]

Source = State | Callable[[], Any]


class SpikeRecord:
    """Spikes of every step, bit-packed: ``packed[k]`` holds the spikes of step ``i0 + k``.

    Attributes:
        packed: ``uint8`` array ``(n_steps, ceil(n / 8))`` (``n`` = neurons, batch axes included).
        shape: the shape of one step's spikes, e.g. ``(batch, neurons)``.
        dt: the time step (ms).
        t0: the time of step 0 (ms); step ``i`` is stamped ``t0 + i * dt``.
        i0: the index of the first recorded step.

    Example:
        >>> import numpy as np, brainstate_nn as nn
        >>> dense = np.zeros((4, 3), bool); dense[1, 2] = dense[3, 0] = True
        >>> rec = nn.SpikeRecord.from_dense(dense, dt=0.5)
        >>> rec.packed.shape, rec.count().tolist(), rec.times().tolist()
        ((4, 1), [1, 0, 1], [0.5, 1.5])
        >>> bool((rec.to_dense() == dense).all())
        True
    """

    def __init__(self, packed: Any, shape: Sequence[int], dt: float, t0: float = 0.0, i0: int = 0) -> None:
        self.packed = packed
        self.shape = tuple(int(s) for s in shape)
        self.dt, self.t0, self.i0 = float(dt), float(t0), int(i0)

    @classmethod
    def from_dense(cls, spikes: Any, dt: float | None = None, t0: float = 0.0, i0: int = 0) -> SpikeRecord:
        """Pack a dense ``(time, ...)`` array of spikes (non-zero = spike)."""
        spikes = np.asarray(spikes)
        if spikes.ndim < 1:
            raise InputError(f"SpikeRecord.from_dense needs a (time, ...) array, got shape {spikes.shape}. "
                             "Fix: stack the spikes of each step on a leading time axis.")
        packed = np.packbits(spikes.reshape(spikes.shape[0], -1) != 0, axis=-1)
        return cls(packed, spikes.shape[1:], _get_dt(dt), t0, i0)

    @property
    def n_steps(self) -> int:
        return int(self.packed.shape[0])

    @property
    def n(self) -> int:
        """The number of spike sources per step (the product of :attr:`shape`)."""
        return int(np.prod(self.shape, dtype=np.int64))

    def to_dense(self) -> np.ndarray:
        """The spikes as a NumPy ``bool`` array ``(n_steps, *shape)``."""
        bits = np.unpackbits(np.asarray(self.packed), axis=-1, count=self.n)
        return bits.astype(bool).reshape((self.n_steps,) + self.shape)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        dense = self.to_dense()
        return dense if dtype is None else dense.astype(dtype)

    def indices(self) -> tuple[np.ndarray, np.ndarray]:
        """``(steps, sources)``: for each spike its step (counted from ``i0``) and flat source index."""
        steps, sources = np.nonzero(self.to_dense().reshape(self.n_steps, -1))
        return steps + self.i0, sources

    def times(self) -> np.ndarray:
        """The time (ms) of each spike, in the order of :meth:`indices`."""
        return self.t0 + self.indices()[0] * self.dt

    def count(self) -> np.ndarray:
        """Spikes per source over the whole record, shaped like one step."""
        return self.to_dense().sum(axis=0)

    def __repr__(self) -> str:
        return f"SpikeRecord(n_steps={self.n_steps}, shape={self.shape}, dt={self.dt}, t0={self.t0})"


class Recording(Mapping):
    """What :func:`run` recorded: a mapping ``name -> array`` (sampled) or :class:`SpikeRecord`.

    Sampled arrays have a leading axis of ``n_steps // every`` samples; sample ``j`` was read
    after step ``i0 + (j + 1) * every - 1``, whose time is ``times[j]``.

    Attributes:
        times: time (ms) of each sample.
        steps: step index of each sample.
        dt, every, n_steps, t0, i0: the run's settings.
    """

    def __init__(self, data: dict[str, Any], *, dt: float, every: int, n_steps: int, t0: float, i0: int) -> None:
        self._data = data
        self.dt, self.every, self.n_steps, self.t0, self.i0 = dt, every, n_steps, t0, i0
        self.steps = i0 + np.arange(every - 1, n_steps, every)
        self.times = t0 + self.steps * dt

    def __getitem__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise KeyError(f"Nothing was recorded under {name!r}; recorded: {sorted(self._data)}.") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        items = ", ".join(f"{k}: {v!r}" if isinstance(v, SpikeRecord) else f"{k}: {tuple(v.shape)}"
                          for k, v in self._data.items())
        return f"Recording(n_steps={self.n_steps}, every={self.every}, {{{items}}})"


def _get_dt(dt: float | None) -> float:
    value = environ.get_dt() if dt is None else dt
    if not float(value) > 0:
        raise ConfigError(f"dt must be a positive number of ms, got {value!r}. "
                          "Fix: pass dt=... or set `brainstate.environ.set(dt=0.1)`.")
    return float(value)


def _read(name: str, source: Any) -> Any:
    if isinstance(source, State):
        return source.value
    if callable(source):
        return source()
    raise ConfigError(f"record[{name!r}] is {source!r}, which is neither a State nor a function. "
                      "Fix: pass a State (e.g. `neuron.V`) or a function of no arguments returning an array.")


def _as_outputs(out: Any) -> dict[str, Any]:
    if out is None:
        return {}
    if isinstance(out, Mapping):
        return dict(out)
    return {"out": out}


def _pack(x: Any) -> jax.Array:
    return jnp.packbits(jnp.reshape(jnp.asarray(x) != 0, (-1,)))


def run(
    step: Callable[[Any], Any],
    n_steps: int,
    *,
    record: Mapping[str, Source] | None = None,
    spikes: Sequence[str] | Mapping[str, Source] = (),
    every: int = 1,
    pbar: Any = None,
    dt: float | None = None,
    t0: float = 0.0,
    i0: int = 0,
    jit: bool = True,
) -> Recording:
    """Run ``step(i)`` for ``n_steps`` steps in one compiled loop and record chosen variables.

    Each call runs inside ``brainstate.environ.context(i=i, t=t0 + i * dt)``, so models read the
    clock with ``environ.get('t')``. What is recorded:

    * ``record``: ``{name: State or function}``, read after every ``every``-th step;
    * the outputs of ``step``: a dict ``{name: array}`` (or one array, named ``"out"``), kept
      every ``every``-th step;
    * ``spikes``: names among those (outputs or ``record``), or ``{name: State or function}``, kept
      at **every** step, bit-packed, as :class:`SpikeRecord`.

    Args:
        step: the function of one step; it gets the (traced) step index ``i``.
        n_steps: how many steps; a multiple of ``every``.
        record: the values to sample.
        spikes: the spike trains to keep at every step.
        every: sample ``record`` and the outputs every ``every`` steps (after the last step of each
            block of ``every``).
        pbar: a ``brainstate.transform.ProgressBar`` (or ``True`` for a default one); it counts
            blocks of ``every`` steps.
        dt: the time step in ms (default ``environ.get_dt()``); ``environ`` ``dt`` is set to it inside.
        t0: the time of step 0 (ms), for a run that continues an earlier one.
        i0: the index of the first step (continue with ``i0=previous.n_steps``).
        jit: compile the loop with ``brainstate.transform.jit`` (set False when calling ``run``
            inside your own jitted function). Each call compiles its loop afresh (about a second
            for a small model); for many short runs of one model, call ``run(..., jit=False)``
            inside one jitted function of your own.

    Returns:
        A :class:`Recording`.

    Example:
        >>> import brainstate, brainstate_nn as nn, jax.numpy as jnp
        >>> v = brainstate.HiddenState(jnp.zeros(3))
        >>> def step(i):
        ...     v.value = v.value + jnp.array([0.3, 0.5, 0.0])
        ...     spike = v.value >= 1.0
        ...     v.value = jnp.where(spike, 0.0, v.value)
        ...     return {"spike": spike}
        >>> rec = nn.run(step, 20, record={"v": v}, spikes=["spike"], every=5, dt=0.1)
        >>> rec["v"].shape, rec.times.tolist()
        ((4, 3), [0.4, 0.9, 1.4, 1.9])
        >>> rec["spike"].count().tolist()
        [5, 10, 0]
    """
    from brainstate_transform import ProgressBar, for_loop
    from brainstate_transform import jit as _jit

    if not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise ConfigError(f"run: n_steps must be a positive int, got {n_steps!r}. Fix: pass the number of steps.")
    if not isinstance(every, (int, np.integer)) or every < 1 or n_steps % every:
        raise ConfigError(f"run: every={every!r} must be a positive int dividing n_steps={n_steps}. "
                          f"Fix: choose n_steps as a multiple of every.")
    dt = _get_dt(dt)
    record = dict(record or {})
    spike_names = list(spikes) if not isinstance(spikes, Mapping) else list(spikes)
    spike_sources = dict(spikes) if isinstance(spikes, Mapping) else {}
    clash = set(spike_sources) & set(record)
    if clash:
        raise ConfigError(f"run: {sorted(clash)} named both in record and in spikes. Fix: give each name once.")
    if pbar is True:
        pbar = ProgressBar(desc="run")
    n_blocks = n_steps // every
    shapes: dict[str, tuple[int, ...]] = {}

    def one(i: Any, full: bool) -> tuple[dict, dict, Any]:
        with environ.context(i=i, t=t0 + i * dt, dt=dt):
            out = step(i)
        outputs = _as_outputs(out)
        values = {name: _read(name, src) for name, src in spike_sources.items()}
        for name in spike_names:
            if name in values:
                continue
            if name in outputs:
                values[name] = outputs[name]
            elif name in record:
                values[name] = _read(name, record[name])
            else:
                raise ConfigError(f"run: spikes names {name!r}, but the step returned {sorted(outputs) or 'nothing'} "
                                  f"and record has {sorted(record) or 'nothing'}. Fix: return {{{name!r}: spikes}} "
                                  "from the step, or pass spikes={name: state}.")
        for name, value in values.items():
            shapes[name] = tuple(jnp.shape(value))
        packed = {name: _pack(value) for name, value in values.items()}
        sampled = {}
        if full:
            sampled = {k: v for k, v in outputs.items() if k not in values}
            sampled.update({k: _read(k, s) for k, s in record.items() if k not in values})
        return packed, sampled, out

    def block(b: Any) -> tuple[dict, dict]:
        base = i0 + b * every
        if every == 1:
            packed_last, sampled, _ = one(base, True)
            return {k: v[None] for k, v in packed_last.items()}, sampled
        packed = for_loop(lambda k: one(base + k, False)[0], jnp.arange(every - 1))
        packed_last, sampled, _ = one(base + every - 1, True)
        return {k: jnp.concatenate([packed[k], packed_last[k][None]]) for k in packed_last}, sampled

    def loop() -> tuple[dict, dict]:
        return for_loop(block, jnp.arange(n_blocks), pbar=pbar)

    packed, sampled = (_jit(loop) if jit else loop)()
    data: dict[str, Any] = dict(sampled)
    for name, bits in packed.items():
        data[name] = SpikeRecord(bits.reshape((n_steps,) + bits.shape[2:]), shapes[name], dt, t0, i0)
    return Recording(data, dt=dt, every=every, n_steps=n_steps, t0=t0, i0=i0)


# -- spike statistics ------------------------------------------------------------------------------
def _dense(spikes: Any, dt: float | None) -> tuple[np.ndarray, float]:
    if isinstance(spikes, SpikeRecord):
        return spikes.to_dense(), (spikes.dt if dt is None else float(dt))
    arr = np.asarray(spikes)
    if arr.ndim < 1 or arr.shape[0] < 1:
        raise InputError(f"Spike statistics need a (time, ...) array of spikes, got shape {arr.shape}. "
                         "Fix: pass the spikes of every step stacked on axis 0, or a SpikeRecord.")
    return arr, _get_dt(dt)


def mean_firing_rate(spikes: Any, dt: float | None = None) -> np.ndarray:
    """The mean rate (Hz) of each source over the whole record: spike count / duration.

    Example:
        >>> import numpy as np, brainstate_nn as nn
        >>> s = np.zeros((1000, 2)); s[::10, 0] = 1   # one spike every 10 steps of 0.1 ms
        >>> nn.mean_firing_rate(s, dt=0.1).tolist()
        [1000.0, 0.0]
    """
    arr, dt = _dense(spikes, dt)
    return (arr != 0).sum(axis=0) / (arr.shape[0] * dt / 1000.0)


def firing_rate(spikes: Any, width: float, dt: float | None = None) -> np.ndarray:
    """The population rate (Hz) at each step, averaged over sources and smoothed with a ``width`` ms window.

    A centred rectangular window of ``round(width / dt)`` steps (at least one); the edges are
    averaged over the part of the window inside the record.

    Example:
        >>> import numpy as np, brainstate_nn as nn
        >>> s = np.zeros((100, 4)); s[::10] = 1
        >>> rate = nn.firing_rate(s, width=5.0, dt=0.1)
        >>> rate.shape, round(float(rate[40:60].mean()))
        ((100,), 1000)
    """
    arr, dt = _dense(spikes, dt)
    if not width > 0:
        raise ConfigError(f"firing_rate: width must be > 0 ms, got {width!r}. Fix: pass a smoothing window in ms.")
    pop = (arr != 0).reshape(arr.shape[0], -1).mean(axis=1) / (dt / 1000.0)
    n = max(1, int(round(width / dt)))
    window = np.ones(n)
    return np.convolve(pop, window, mode="same") / np.convolve(np.ones_like(pop), window, mode="same")


def cv_isi(spikes: Any, dt: float | None = None) -> np.ndarray:
    """The coefficient of variation (std / mean) of each source's inter-spike intervals.

    NaN for a source with fewer than two intervals. A regular train gives 0, a Poisson train 1.

    Example:
        >>> import numpy as np, brainstate_nn as nn
        >>> s = np.zeros((100, 2)); s[::10, 0] = 1; s[[5, 7, 20], 1] = 1
        >>> np.round(nn.cv_isi(s, dt=0.1), 3).tolist()
        [0.0, 0.733]
    """
    arr, _ = _dense(spikes, dt)
    flat = (arr != 0).reshape(arr.shape[0], -1)
    out = np.full(flat.shape[1], np.nan)
    for j in range(flat.shape[1]):
        isi = np.diff(np.flatnonzero(flat[:, j]))
        if isi.size >= 2:
            out[j] = isi.std() / isi.mean()
    return out.reshape(arr.shape[1:])


def fano_factor(spikes: Any, window: float, dt: float | None = None) -> np.ndarray:
    """The Fano factor (variance / mean) of each source's spike counts in consecutive ``window`` ms bins.

    The record is cut into ``n_steps // round(window / dt)`` whole bins (the rest is dropped); NaN
    for a source without spikes, or with fewer than two bins. A Poisson train gives about 1.

    Example:
        >>> import numpy as np, brainstate_nn as nn
        >>> s = np.zeros((100, 1)); s[::10] = 1      # exactly one spike per 1 ms bin
        >>> nn.fano_factor(s, window=1.0, dt=0.1).tolist()
        [0.0]
    """
    arr, dt = _dense(spikes, dt)
    size = int(round(window / dt))
    if size < 1:
        raise ConfigError(f"fano_factor: window={window!r} ms is shorter than one step (dt={dt}). "
                          "Fix: pass a window of at least dt.")
    n_bins = arr.shape[0] // size
    flat = (arr != 0).reshape(arr.shape[0], -1)[: n_bins * size]
    counts = flat.reshape(n_bins, size, -1).sum(axis=1).astype(float)
    mean = counts.mean(axis=0) if n_bins else np.zeros(flat.shape[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where((mean > 0) & (n_bins >= 2), counts.var(axis=0) / np.where(mean > 0, mean, 1), np.nan)
    return out.reshape(arr.shape[1:])
