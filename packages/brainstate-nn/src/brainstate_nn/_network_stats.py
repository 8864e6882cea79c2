"""Population statistics of recorded spikes: parts of a record, pairwise correlations, a summary per population.

A network's record (a :class:`SpikeRecord` from :func:`brainstate.nn.run`, bit-packed) is cut into
populations and a time window with :func:`select_spikes`; the result is again a ``SpikeRecord``, so
the statistics of ``brainstate_nn._recording`` and the raster and rate plots work on it.
:func:`population_stats` gives, per population, the mean rate, the mean CV of the inter-spike
intervals, the mean Fano factor and the mean pairwise correlation of the binned counts: the usual
test of an asynchronous irregular state (CV near 1, correlations near 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from brainstate_core import ConfigError, InputError

from ._recording import SpikeRecord, _dense, cv_isi, fano_factor

__all__ = ["select_spikes", "pairwise_correlation", "population_stats"]


def select_spikes(spikes: Any, neurons: Any = None, window: tuple[float, float] | None = None,
                  dt: float | None = None) -> SpikeRecord:
    """The spikes of some neurons during a time window, as a :class:`SpikeRecord`.

    Args:
        spikes: a ``SpikeRecord`` or a dense ``(time, ...)`` array (sources are flattened).
        neurons: a slice, or an array of flat source indices (None: all).
        window: ``(t_start, t_stop)`` in ms: the steps stamped ``t_start <= t < t_stop`` (None: all).
        dt: the time step of a dense array (default ``environ`` ``dt``).

    Example:
        >>> import numpy as np, brainstate_nn as nn
        >>> s = np.zeros((10, 4), bool); s[2, 1] = s[7, 3] = True
        >>> part = nn.select_spikes(s, neurons=slice(1, 4), window=(0.5, 1.0), dt=0.1)
        >>> part.shape, part.n_steps, part.indices()
        ((3,), 5, (array([7]), array([2])))
    """
    dense, dt = _dense(spikes, dt)
    t0 = spikes.t0 if isinstance(spikes, SpikeRecord) else 0.0
    i0 = spikes.i0 if isinstance(spikes, SpikeRecord) else 0
    flat = dense.reshape(dense.shape[0], -1)
    if neurons is not None:
        try:
            flat = flat[:, neurons]
        except IndexError as e:
            raise InputError(f"select_spikes: neurons {neurons!r} out of range for {flat.shape[1]} sources. "
                             "Fix: index the flattened sources.") from e
    first = 0
    if window is not None:
        start, stop = (float(w) for w in window)
        if not stop > start:
            raise ConfigError(f"select_spikes window {window!r} must have t_stop > t_start. Fix: pass (start, stop) ms.")
        times = t0 + (i0 + np.arange(flat.shape[0])) * dt
        keep = np.flatnonzero((times >= start - 1e-9 * dt) & (times < stop - 1e-9 * dt))
        first = int(keep[0]) if keep.size else 0
        flat = flat[keep]
    return SpikeRecord.from_dense(flat, dt=dt, t0=t0, i0=i0 + first)


def pairwise_correlation(spikes: Any, bin_size: float, n_pairs: int | None = 1000, seed: int = 0,
                         dt: float | None = None) -> float:
    """The mean Pearson correlation of the spike counts of pairs of neurons in ``bin_size`` ms bins.

    Pairs of distinct sources are drawn at random (``n_pairs``, or every pair when None); sources
    without spikes (zero variance) are left out. NaN when fewer than two sources spike.

    Example:
        >>> import numpy as np, brainstate_nn as nn
        >>> rng = np.random.default_rng(0)
        >>> common = rng.random((20000, 1)) < 0.02
        >>> same = np.repeat(common, 10, axis=1)                  # every neuron fires together
        >>> independent = rng.random((20000, 10)) < 0.02
        >>> round(nn.pairwise_correlation(same, 1.0, dt=0.1), 2), abs(nn.pairwise_correlation(independent, 1.0, dt=0.1)) < 0.05
        (1.0, True)
    """
    dense, dt = _dense(spikes, dt)
    flat = dense.reshape(dense.shape[0], -1) != 0
    size = max(1, int(round(bin_size / dt)))
    n_bins = flat.shape[0] // size
    if n_bins < 2:
        raise ConfigError(f"pairwise_correlation needs at least two bins of {bin_size} ms; the record has "
                          f"{flat.shape[0] * dt} ms. Fix: use a smaller bin_size or a longer record.")
    counts = flat[: n_bins * size].reshape(n_bins, size, -1).sum(axis=1).astype(float)
    counts = counts[:, counts.std(axis=0) > 0]
    n = counts.shape[1]
    if n < 2:
        return float("nan")
    if n_pairs is None:
        i, j = np.triu_indices(n, 1)
    else:
        rng = np.random.default_rng(seed)
        i = rng.integers(0, n, n_pairs)
        j = (i + rng.integers(1, n, n_pairs)) % n
    z = (counts - counts.mean(axis=0)) / counts.std(axis=0)
    return float((z[:, i] * z[:, j]).mean(axis=0).mean())


def population_stats(spikes: Any, populations: Mapping[str, Any], window: tuple[float, float] | None = None,
                     min_spikes: int = 5, fano_window: float = 50.0, corr_bin: float = 5.0,
                     n_pairs: int | None = 1000, seed: int = 0, dt: float | None = None) -> dict[str, dict]:
    """Per population: ``rate`` (Hz), ``cv`` (mean CV of ISI), ``fano``, ``corr`` and the counts ``n``, ``n_cv``.

    Args:
        spikes: a ``SpikeRecord`` or a dense ``(time, ...)`` array.
        populations: ``{name: neurons}`` (slices or index arrays of the flat sources).
        window: ``(t_start, t_stop)`` ms to analyse (None: the whole record).
        min_spikes: the CV is averaged over the neurons with at least this many spikes in the window.
        fano_window: the bin of the Fano factor (ms), averaged over the neurons that spiked.
        corr_bin: the bin of the pairwise correlation (ms).
        n_pairs, seed: the pairs of the correlation (see :func:`pairwise_correlation`).
        dt: the time step of a dense array.

    Example:
        >>> import numpy as np, brainstate_nn as nn
        >>> s = np.random.default_rng(1).random((20000, 100)) < 0.002      # 20 Hz Poisson at dt = 0.1
        >>> st = nn.population_stats(s, {'E': slice(0, 80), 'I': slice(80, 100)}, dt=0.1)
        >>> round(st['E']['rate']), round(st['E']['cv'], 1), round(st['I']['fano'], 1), st['I']['n']
        (20, 1.0, 1.0, 20)
    """
    out = {}
    for name, neurons in populations.items():
        part = select_spikes(spikes, neurons, window, dt)
        dense = part.to_dense()
        duration = part.n_steps * part.dt / 1000.0
        counts = dense.sum(axis=0)
        cvs = cv_isi(dense, dt=part.dt)[counts >= min_spikes]
        fano = fano_factor(dense, fano_window, dt=part.dt)
        with np.errstate(invalid="ignore"):
            out[name] = {
                "rate": float(counts.mean() / duration) if duration > 0 else float("nan"),
                "cv": float(np.nanmean(cvs)) if np.isfinite(cvs).any() else float("nan"),
                "fano": float(np.nanmean(fano)) if np.isfinite(fano).any() else float("nan"),
                "corr": pairwise_correlation(dense, corr_bin, n_pairs, seed, dt=part.dt),
                "n": int(dense.shape[1]),
                "n_cv": int(np.isfinite(cvs).sum()),
            }
    return out
