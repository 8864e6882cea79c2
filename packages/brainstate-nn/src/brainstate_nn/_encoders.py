"""Spike encoders: turn static intensities or a time series into spike trains, time axis first.

* **Rate coding.** :class:`BernoulliEncoder` fires in every step with the probability given by an
  intensity in ``[0, 1]``; :class:`RateEncoder` maps intensities to rates (Hz) and fires with
  ``rate * dt / 1000`` per step of ``environ`` ``dt`` (ms), drawing through
  :class:`~brainstate_nn.PoissonEncoder` (to feed rates step by step inside a loop, use that one
  directly).
* **Latency coding.** :class:`LatencyEncoder` emits one spike per feature, earlier for a larger
  intensity, with the linear and the logarithmic (RC charging) code of snnTorch's
  ``spikegen.latency``; times are in steps.
* **Delta coding.** :class:`DeltaEncoder` fires where a time series changed by at least
  ``threshold`` since the previous step, optionally with a separate channel for decreases.

Names and keywords follow the companion library braintools where it has them. Every encoder is a
:class:`~brainstate_nn.Module` returning an array of shape ``(n_time, *data.shape)`` (the delta
encoder keeps the time axis of its input). Random draws use ``brainstate.random.DEFAULT`` (or the
``rng`` given), so ``brainstate.random.seed`` makes them reproducible.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_core import ConfigError, InputError
from brainstate_core.internal import is_tracer

from ._dynamics import get_dt
from ._inputs import PoissonEncoder
from ._module import Module
from ._utils import generator

__all__ = ["BernoulliEncoder", "RateEncoder", "LatencyEncoder", "DeltaEncoder"]

_RATE_METHODS = ("linear", "exponential", "sqrt")
_LATENCY_METHODS = ("log", "linear")


def _concrete(x: Any) -> np.ndarray | None:
    """``x`` as a NumPy array, or None while it is traced."""
    return None if is_tracer(x) else np.asarray(x)


def _n_time(n_time: Any, owner: str) -> int:
    if isinstance(n_time, bool) or not isinstance(n_time, (int, np.integer)) or n_time < 1:
        raise InputError(f"{owner} n_time must be a positive int (the number of steps), got {n_time!r}. "
                         "Fix: pass e.g. n_time=25.")
    return int(n_time)


def _range(min_val: Any, max_val: Any, owner: str) -> tuple[float, float] | None:
    """Validate the optional normalisation range ``(min_val, max_val)``."""
    if min_val is None and max_val is None:
        return None
    if min_val is None or max_val is None:
        raise ConfigError(f"{owner} needs both min_val and max_val to normalise, got min_val={min_val!r}, "
                          f"max_val={max_val!r}. Fix: pass both (or neither, for data already in [0, 1]).")
    if not float(max_val) > float(min_val):
        raise ConfigError(f"{owner} max_val must exceed min_val, got min_val={min_val!r}, max_val={max_val!r}. "
                          "Fix: pass the range of the data, min_val < max_val.")
    return float(min_val), float(max_val)


def _normalised(data: Any, bounds: tuple[float, float] | None) -> jax.Array:
    x = jnp.asarray(data, dtype=jnp.result_type(float))
    return x if bounds is None else (x - bounds[0]) / (bounds[1] - bounds[0])


def _check_unit(x: jax.Array, owner: str) -> None:
    value = _concrete(x)
    if value is not None and value.size and (value.min() < 0.0 or value.max() > 1.0):
        raise InputError(f"{owner} expects intensities in [0, 1], got values in [{value.min():g}, {value.max():g}]. "
                         "Fix: scale the data to [0, 1] or pass min_val/max_val to normalise it.")


class BernoulliEncoder(Module):
    """Rate coding by independent Bernoulli draws: each step fires with probability ``clip(scale * x, 0, 1)``.

    Intensities ``x`` must lie in ``[0, 1]`` (checked when concrete), after the optional linear
    normalisation ``(data - min_val) / (max_val - min_val)``; ``scale`` is snnTorch's ``gain``.

    Args:
        scale: the factor from intensity to per-step probability (saturating at 1).
        min_val: the value of the data that maps to intensity 0 (with ``max_val``).
        max_val: the value of the data that maps to intensity 1.
        spk_type: the dtype of the spikes.
        name: optional display name.
        rng: the ``brainstate.random.RandomState`` to draw from (default: the default generator).

    Example:
        >>> import brainstate, brainstate_nn as nn, jax.numpy as jnp
        >>> brainstate.random.seed(0)
        >>> spikes = nn.BernoulliEncoder()(jnp.array([0.0, 0.4, 1.0]), n_time=4000)
        >>> spikes.shape, [round(float(p), 1) for p in spikes.mean(axis=0)]
        ((4000, 3), [0.0, 0.4, 1.0])
    """

    def __init__(self, scale: float = 1.0, min_val: float | None = None, max_val: float | None = None,
                 spk_type: Any = float, name: str | None = None, rng: Any = None) -> None:
        super().__init__(name=name)
        if not float(scale) >= 0.0:
            raise ConfigError(f"BernoulliEncoder scale must be >= 0, got {scale!r}. Fix: pass a non-negative gain.")
        self.scale = float(scale)
        self.bounds = _range(min_val, max_val, "BernoulliEncoder")
        self.spk_type = spk_type
        self.rng = rng

    def update(self, data: Any, n_time: int) -> jax.Array:
        """Spikes of shape ``(n_time, *data.shape)``."""
        n_time = _n_time(n_time, "BernoulliEncoder")
        x = _normalised(data, self.bounds)
        _check_unit(x, "BernoulliEncoder")
        p = jnp.clip(self.scale * x, 0.0, 1.0)
        return (generator(self.rng).random((n_time, *x.shape)) < p).astype(self.spk_type)

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


class RateEncoder(Module):
    """Rate coding in Hz: intensities map to rates, and each step of ``dt`` fires with ``rate * dt / 1000``.

    The rate is ``min_rate + f(x) (max_rate - min_rate)`` with ``f(x) = x`` (``'linear'``),
    ``(e^x - 1) / (e - 1)`` (``'exponential'``) or ``sqrt(x)`` (``'sqrt'``); ``max_rate`` defaults to
    ``gain``. With ``gain=1.0`` the data are taken as rates in Hz as they are. The spikes are drawn
    by :class:`~brainstate_nn.PoissonEncoder` from ``environ`` ``dt`` (ms), so every rate must
    satisfy ``rate * dt / 1000 <= 1`` (checked when concrete).

    Args:
        gain: the rate (Hz) of intensity 1 when ``max_rate`` is not given.
        method: ``'linear'``, ``'exponential'`` or ``'sqrt'``.
        min_rate: the rate (Hz) of intensity 0.
        max_rate: the rate (Hz) of intensity 1 (default ``gain``).
        min_val: the value of the data that maps to intensity 0 (with ``max_val``).
        max_val: the value of the data that maps to intensity 1.
        spk_type: the dtype of the spikes.
        name: optional display name.
        rng: the random generator (default: the default generator).

    Example:
        >>> import brainstate, brainstate_nn as nn, jax.numpy as jnp
        >>> brainstate.random.seed(0)
        >>> with brainstate.environ.context(dt=1.0):
        ...     spikes = nn.RateEncoder(gain=200.0)(jnp.array([0.0, 0.5, 1.0]), n_time=5000)
        >>> (spikes.mean(axis=0) * 1000).round(-1).tolist()   # Hz
        [0.0, 100.0, 200.0]
    """

    def __init__(self, gain: float = 100.0, method: str = "linear", min_rate: float = 0.0,
                 max_rate: float | None = None, min_val: float | None = None, max_val: float | None = None,
                 spk_type: Any = float, name: str | None = None, rng: Any = None) -> None:
        super().__init__(name=name)
        if method not in _RATE_METHODS:
            raise ConfigError(f"RateEncoder method must be one of {_RATE_METHODS}, got {method!r}. "
                              "Fix: pass method='linear'.")
        max_rate = gain if max_rate is None else max_rate
        if not 0.0 <= float(min_rate) <= float(max_rate):
            raise ConfigError(f"RateEncoder needs 0 <= min_rate <= max_rate (Hz), got min_rate={min_rate!r}, "
                              f"max_rate={max_rate!r}. Fix: pass non-negative rates in increasing order.")
        self.method = method
        self.min_rate, self.max_rate = float(min_rate), float(max_rate)
        self.bounds = _range(min_val, max_val, "RateEncoder")
        self.spk_type = spk_type
        self.rng = rng

    def rates(self, data: Any) -> jax.Array:
        """The rate (Hz) of every feature of ``data``."""
        x = _normalised(data, self.bounds)
        if self.method == "exponential":
            x = jnp.expm1(x) / math.expm1(1.0)
        elif self.method == "sqrt":
            x = jnp.sqrt(x)
        return self.min_rate + x * (self.max_rate - self.min_rate)

    def update(self, data: Any, n_time: int) -> jax.Array:
        """Spikes of shape ``(n_time, *data.shape)``."""
        n_time = _n_time(n_time, "RateEncoder")
        rates = self.rates(data)
        value = _concrete(rates)
        if value is not None and value.size:
            p_max, r_min = float(value.max()) * get_dt() / 1000.0, float(value.min())
            if r_min < 0.0 or not p_max <= 1.0:
                raise InputError(f"RateEncoder rates must be in [0, 1000 / dt] Hz (dt = {get_dt()} ms), got "
                                 f"[{r_min:g}, {float(value.max()):g}] Hz. Fix: lower gain/max_rate or dt, or "
                                 "normalise the data to [0, 1] with min_val/max_val.")
        poisson = PoissonEncoder(rates.shape or (1,), spk_type=self.spk_type, rng=self.rng)
        return poisson(jnp.broadcast_to(rates, (n_time, *rates.shape)))

    def extra_repr(self) -> str:
        return f"method={self.method!r}, min_rate={self.min_rate}, max_rate={self.max_rate}"


class LatencyEncoder(Module):
    """Latency coding: one spike per feature, at a step that decreases with the intensity ``x``.

    With ``first_spk_time = f`` (steps), the spike time (in steps, rounded to the nearest step) is

    * ``method='log'`` (an RC circuit charged by ``x`` reaching ``threshold``):
      ``f + tau ln(x / (x - threshold))``, with ``x`` raised to ``threshold + epsilon`` first;
    * ``method='linear'``: ``f + tau min(1 - x, 1 - threshold)`` for ``x`` in ``[0, 1]``.

    ``normalize=True`` replaces ``tau`` so that the latest possible spike falls on the last step
    ``n_time - 1``: ``tau = (n_time - 1 - f) / ln((threshold + epsilon) / epsilon)`` (log) or
    ``n_time - 1 - f`` (linear). Features below ``threshold`` saturate: they fire at the time of
    ``x = threshold`` (the latest) unless ``clip=True``, which removes their spike; a spike after
    the last step is dropped. Data are
    first normalised to ``(data - min_val) / (max_val - min_val)`` when both are given.

    These are snnTorch's ``spikegen.latency`` formulas, with three differences: the log code's
    ``normalize`` and ``first_spk_time`` use the formula's bound instead of the extremes of the
    batch (so a sample's code does not depend on the others), and only out-of-window spikes are
    dropped (snnTorch also clears genuine spikes in the last step). braintools measures ``tau``
    and ``first_spk_time`` in ms of ``environ`` ``dt``; here they are in steps, so no ``dt`` is needed.

    Args:
        min_val: the value of the data that maps to intensity 0 (with ``max_val``).
        max_val: the value of the data that maps to intensity 1.
        method: ``'log'`` or ``'linear'``.
        threshold: the intensity below which a feature saturates (in ``(0, 1)``; ``[0, 1)`` for linear).
        clip: remove the spikes of features below ``threshold``.
        tau: the time constant (steps), > 0; ignored with ``normalize=True``.
        normalize: stretch the code over the whole window.
        first_spk_time: the step of the earliest possible spike, >= 0.
        epsilon: the margin above ``threshold`` of saturated features in the log code, > 0.
        spk_type: the dtype of the spikes.
        name: optional display name.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> enc = nn.LatencyEncoder(method='linear', normalize=True)
        >>> enc.spike_time(jnp.array([0.02, 0.5, 1.0]), n_time=5).tolist()   # 4 * (1 - x)
        [3.92, 2.0, 0.0]
        >>> enc(jnp.array([0.02, 0.5, 1.0]), n_time=5).argmax(axis=0).tolist()
        [4, 2, 0]
    """

    def __init__(self, min_val: float | None = None, max_val: float | None = None, method: str = "log",
                 threshold: float = 0.01, clip: bool = False, tau: float = 1.0, normalize: bool = False,
                 first_spk_time: int = 0, epsilon: float = 1e-7, spk_type: Any = float,
                 name: str | None = None) -> None:
        super().__init__(name=name)
        if method not in _LATENCY_METHODS:
            raise ConfigError(f"LatencyEncoder method must be 'log' or 'linear', got {method!r}. "
                              "Fix: pass method='log' (RC charging) or method='linear'.")
        low_ok = threshold >= 0.0 if method == "linear" else threshold > 0.0
        if not (low_ok and threshold < 1.0):
            bound = "[0, 1)" if method == "linear" else "(0, 1)"
            raise ConfigError(f"LatencyEncoder threshold must be in {bound} for method={method!r}, got {threshold!r}. "
                              "Fix: pass e.g. threshold=0.01.")
        if not float(tau) > 0.0:
            raise ConfigError(f"LatencyEncoder tau must be > 0 (steps), got {tau!r}. Fix: pass e.g. tau=5.0.")
        if not float(epsilon) > 0.0:
            raise ConfigError(f"LatencyEncoder epsilon must be > 0, got {epsilon!r}. Fix: keep epsilon=1e-7.")
        if not float(first_spk_time) >= 0.0:
            raise ConfigError(f"LatencyEncoder first_spk_time must be >= 0 (steps), got {first_spk_time!r}. "
                              "Fix: pass the step of the earliest spike, e.g. 0.")
        self.bounds = _range(min_val, max_val, "LatencyEncoder")
        self.method, self.threshold, self.clip = method, float(threshold), bool(clip)
        self.tau, self.normalize, self.first_spk_time = float(tau), bool(normalize), float(first_spk_time)
        self.epsilon = float(epsilon)
        self.spk_type = spk_type

    def _tau(self, n_time: int) -> float:
        if not self.normalize:
            return self.tau
        span = n_time - 1 - self.first_spk_time
        if self.method == "linear":
            return span
        return span / math.log((self.threshold + self.epsilon) / self.epsilon)

    def spike_time(self, data: Any, n_time: int) -> jax.Array:
        """The unrounded spike time (steps) of every feature; ``inf`` where ``clip`` removes the spike."""
        n_time = _n_time(n_time, "LatencyEncoder")
        if self.first_spk_time > n_time - 1:
            raise InputError(f"LatencyEncoder first_spk_time={self.first_spk_time:g} lies after the last step "
                             f"{n_time - 1}. Fix: pass n_time > first_spk_time.")
        x = _normalised(data, self.bounds)
        tau = self._tau(n_time)
        if self.method == "linear":
            _check_unit(x, "LatencyEncoder(method='linear')")
            t = tau * jnp.minimum(1.0 - x, 1.0 - self.threshold)
        else:
            xs = jnp.maximum(x, self.threshold + self.epsilon)
            t = tau * jnp.log(xs / (xs - self.threshold))
        t = t + self.first_spk_time
        return jnp.where(x < self.threshold, jnp.inf, t) if self.clip else t

    def update(self, data: Any, n_time: int) -> jax.Array:
        """Spikes of shape ``(n_time, *data.shape)``: at most one per feature."""
        t = jnp.round(self.spike_time(data, n_time))
        steps = jnp.arange(n_time, dtype=t.dtype).reshape((n_time,) + (1,) * t.ndim)
        return (steps == t).astype(self.spk_type)

    def extra_repr(self) -> str:
        return f"method={self.method!r}, threshold={self.threshold}, tau={self.tau}, normalize={self.normalize}"


class DeltaEncoder(Module):
    """Delta coding of a time series ``data`` (time axis first): spike where it changed by >= ``threshold``.

    The change at step ``t`` is ``d_t = x_t - x_{t-1}``, where ``x_{-1}`` is ``x_0`` (``padding=True``,
    as braintools: a constant signal never fires) or ``0`` (``padding=False``, snnTorch's default:
    the first step fires if ``x_0 >= threshold``). The output has the shape of ``data``:

    * by default a spike where ``|d_t| >= threshold``;
    * ``positive_only=True``: only increases, ``d_t >= threshold``;
    * ``off_channel=True``: a trailing axis of two channels, on (``d_t >= threshold``) and off
      (``d_t <= -threshold``), for networks that need non-negative spikes of both signs.

    ``normalize=True`` first rescales every feature to ``[0, 1]`` by its minimum and maximum over
    time (braintools' default; off here, so ``threshold`` is in the units of the data).

    Args:
        threshold: the smallest change that fires, > 0.
        positive_only: fire on increases only (one channel).
        off_channel: separate channels for increases and decreases.
        padding: compare the first step with itself (True) or with 0 (False).
        normalize: rescale every feature to [0, 1] over time first.
        spk_type: the dtype of the spikes.
        name: optional display name.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> x = jnp.array([0.0, 0.5, 0.55, 0.1, 0.1])
        >>> nn.DeltaEncoder(threshold=0.3)(x).tolist()
        [0.0, 1.0, 0.0, 1.0, 0.0]
        >>> nn.DeltaEncoder(threshold=0.3, off_channel=True)(x)[:, 1].tolist()   # decreases
        [0.0, 0.0, 0.0, 1.0, 0.0]
    """

    def __init__(self, threshold: float = 0.1, positive_only: bool = False, off_channel: bool = False,
                 padding: bool = True, normalize: bool = False, spk_type: Any = float,
                 name: str | None = None) -> None:
        super().__init__(name=name)
        if not float(threshold) > 0.0:
            raise ConfigError(f"DeltaEncoder threshold must be > 0, got {threshold!r}. "
                              "Fix: pass the smallest change that should fire, e.g. threshold=0.1.")
        if positive_only and off_channel:
            raise ConfigError("DeltaEncoder got positive_only=True and off_channel=True: the off channel holds "
                              "the decreases that positive_only drops. Fix: pass one of them.")
        self.threshold, self.positive_only, self.off_channel = float(threshold), bool(positive_only), bool(off_channel)
        self.padding, self.normalize = bool(padding), bool(normalize)
        self.spk_type = spk_type

    def update(self, data: Any) -> jax.Array:
        """Spikes of the shape of ``data`` (plus a trailing axis of 2 with ``off_channel=True``)."""
        x = jnp.asarray(data, dtype=jnp.result_type(float))
        if x.ndim == 0:
            raise InputError("DeltaEncoder needs a time series with the time axis first, got a scalar. "
                             "Fix: pass an array of shape (n_time, ...).")
        if self.normalize:
            low, high = x.min(axis=0, keepdims=True), x.max(axis=0, keepdims=True)
            x = (x - low) / jnp.where(high > low, high - low, 1.0)
        previous = x[:1] if self.padding else jnp.zeros_like(x[:1])
        d = jnp.diff(x, axis=0, prepend=previous)
        if self.off_channel:
            spikes = jnp.stack([d >= self.threshold, d <= -self.threshold], axis=-1)
        elif self.positive_only:
            spikes = d >= self.threshold
        else:
            spikes = jnp.abs(d) >= self.threshold
        return spikes.astype(self.spk_type)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, positive_only={self.positive_only}, off_channel={self.off_channel}"
