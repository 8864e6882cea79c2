"""Plots of a simulation: spike raster, population rate and membrane traces (matplotlib, optional).

matplotlib is imported only when a plot is drawn; without it the functions raise an ``ImportError``
that names the extra to install. Each function draws into ``ax`` (a new figure when ``None``) and
returns the axes, so plots compose and can be saved with ``ax.figure.savefig(...)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from brainstate_core import InputError

from ._recording import SpikeRecord, firing_rate

__all__ = ["raster_plot", "rate_plot", "membrane_plot"]


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError(
            "The plots of brainstate.nn need matplotlib, which is not installed. Fix: "
            "`pip install 'brainstate-nn[plot]'` (or `pip install matplotlib`)."
        ) from err
    return plt


def _axes(ax: Any) -> Any:
    if ax is not None:
        return ax
    return _pyplot().subplots()[1]


def _spike_points(spikes: Any, ts: Any) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(spikes, SpikeRecord):
        steps, sources = spikes.indices()
        return spikes.t0 + steps * spikes.dt, sources
    dense = np.asarray(spikes)
    if dense.ndim < 2:
        raise InputError(f"raster_plot needs spikes of shape (time, neurons), got {dense.shape}. "
                         "Fix: pass the stacked spikes of every step, or a SpikeRecord from brainstate.nn.run.")
    steps, sources = np.nonzero(dense.reshape(dense.shape[0], -1))
    if ts is None:
        return steps.astype(float), sources
    ts = np.asarray(ts)
    if ts.shape[0] != dense.shape[0]:
        raise InputError(f"raster_plot got {ts.shape[0]} times for {dense.shape[0]} steps of spikes. "
                         "Fix: pass one time per step.")
    return ts[steps], sources


def raster_plot(spikes: Any, ts: Any = None, ax: Any = None, marker: str = ".", markersize: float = 2.0,
                color: str = "k", xlabel: str = "Time (ms)", ylabel: str = "Neuron index",
                title: str | None = None, **kwargs: Any) -> Any:
    """A dot per spike: time on x, neuron index on y.

    Args:
        spikes: a :class:`SpikeRecord`, or a dense ``(time, neurons)`` array (non-zero = spike).
        ts: the time of each step (ms), for a dense array; default the step index. brainpy's
            argument order, ``raster_plot(ts, spikes)``, is accepted too.
        ax: the axes to draw into (default: a new figure).
        marker, markersize, color: passed to ``ax.plot``.
        xlabel, ylabel, title: labels.
        **kwargs: further ``ax.plot`` arguments.

    Returns:
        The axes.

    Example:
        >>> import matplotlib; matplotlib.use("Agg")
        >>> import numpy as np, brainstate_nn as nn
        >>> ax = nn.raster_plot(np.eye(5, dtype=bool), ts=np.arange(5) * 0.1)
        >>> len(ax.lines[0].get_xdata())
        5
    """
    if ts is not None and not isinstance(spikes, SpikeRecord) and np.ndim(spikes) == 1 and np.ndim(ts) >= 2:
        spikes, ts = ts, spikes  # brainpy's order, raster_plot(ts, spikes)
    times, sources = _spike_points(spikes, ts)
    ax = _axes(ax)
    ax.plot(times, sources, linestyle="none", marker=marker, markersize=markersize, color=color, **kwargs)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return ax


def rate_plot(spikes: Any, width: float = 5.0, dt: float | None = None, ts: Any = None, ax: Any = None,
              xlabel: str = "Time (ms)", ylabel: str = "Rate (Hz)", title: str | None = None, **kwargs: Any) -> Any:
    """The population rate (Hz), smoothed over ``width`` ms (see :func:`firing_rate`), against time.

    Args:
        spikes: a :class:`SpikeRecord` or a dense ``(time, ...)`` array.
        width: the smoothing window (ms).
        dt: the time step (ms) of a dense array (default ``environ`` ``dt``).
        ts: the time of each step (default: from the record, or ``step * dt``).
        ax: the axes to draw into.
        xlabel, ylabel, title: labels.
        **kwargs: passed to ``ax.plot``.

    Example:
        >>> import matplotlib; matplotlib.use("Agg")
        >>> import numpy as np, brainstate_nn as nn
        >>> ax = nn.rate_plot(np.ones((50, 3)), width=1.0, dt=0.1)
        >>> float(ax.lines[0].get_ydata()[10])
        10000.0
    """
    rate = firing_rate(spikes, width, dt)
    if ts is None:
        if isinstance(spikes, SpikeRecord):
            ts = spikes.t0 + (spikes.i0 + np.arange(spikes.n_steps)) * spikes.dt
        else:
            from ._recording import _get_dt

            ts = np.arange(rate.shape[0]) * _get_dt(dt)
    ax = _axes(ax)
    ax.plot(np.asarray(ts), rate, **kwargs)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return ax


def membrane_plot(ts: Any, V: Any, neurons: Sequence[int] | None = None, ax: Any = None,
                  xlabel: str = "Time (ms)", ylabel: str = "V (mV)", title: str | None = None,
                  legend: bool = True, **kwargs: Any) -> Any:
    """Membrane potential traces: one line per chosen neuron.

    Args:
        ts: the sample times (ms), e.g. ``Recording.times``.
        V: the sampled potentials, ``(time,)`` or ``(time, neurons)`` (batch axes are flattened).
        neurons: which neurons to draw (default: the first five).
        ax: the axes to draw into.
        xlabel, ylabel, title: labels.
        legend: label each line with its neuron index.
        **kwargs: passed to ``ax.plot``.

    Example:
        >>> import matplotlib; matplotlib.use("Agg")
        >>> import numpy as np, brainstate_nn as nn
        >>> ax = nn.membrane_plot(np.arange(10.0), np.zeros((10, 8)), neurons=[0, 3])
        >>> len(ax.lines)
        2
    """
    V = np.asarray(V)
    ts = np.asarray(ts)
    if V.ndim == 1:
        V = V[:, None]
    V = V.reshape(V.shape[0], -1)
    if ts.shape[0] != V.shape[0]:
        raise InputError(f"membrane_plot got {ts.shape[0]} times for {V.shape[0]} samples of V. "
                         "Fix: pass one time per sample (Recording.times for a run's samples).")
    neurons = list(range(min(5, V.shape[1]))) if neurons is None else list(neurons)
    bad = [n for n in neurons if not 0 <= n < V.shape[1]]
    if bad:
        raise InputError(f"membrane_plot neurons {bad} are out of range for {V.shape[1]} neurons. "
                         f"Fix: choose indices in [0, {V.shape[1]}).")
    ax = _axes(ax)
    for n in neurons:
        ax.plot(ts, V[:, n], label=f"neuron {n}", **kwargs)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if legend and neurons:
        ax.legend(fontsize="small")
    return ax
