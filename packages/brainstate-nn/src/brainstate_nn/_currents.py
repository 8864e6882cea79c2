"""Input current generators: arrays of shape ``(n_steps, ...)`` to feed a model step by step.

Every generator samples its waveform on the simulation grid ``t_k = k * dt`` (``dt`` from
``brainstate.environ`` unless given), in the library's units: times in ms, frequencies in Hz,
currents in whatever unit the model uses (pA for conductance models, the dimensionless drive of
``LIF(R=1)`` ...). Index the result with the step number inside the loop, e.g.
``I[i]`` in ``for_loop(step, jnp.arange(n))``. The names and arguments follow brainpy's
``inputs`` module, which upstream brainstate users know.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_core import ConfigError, environ

__all__ = [
    "section_input",
    "constant_input",
    "step_input",
    "spike_input",
    "ramp_input",
    "sinusoidal_input",
    "square_input",
    "wiener_process",
    "ou_process",
]


def _dt(dt: float | None, where: str) -> float:
    given: Any = environ.get_dt() if dt is None else dt  # anything: checked here
    try:
        value = float(given)
    except TypeError:
        raise ConfigError(f"{where}: dt must be a positive number of ms, got {given!r}. "
                          "Fix: pass dt=0.1 or set `brainstate.environ.set(dt=0.1)`.") from None
    if not value > 0:
        raise ConfigError(f"{where}: dt must be a positive number of ms, got {given!r}. "
                          "Fix: pass dt=0.1 or set `brainstate.environ.set(dt=0.1)`.")
    return value


def _steps(duration: float, dt: float, where: str, what: str = "duration") -> int:
    if not duration >= 0:
        raise ConfigError(f"{where}: {what} must be >= 0 ms, got {duration!r}. Fix: pass a non-negative time in ms.")
    # round first so that 100 / 0.1 = 999.9999... counts 1000 steps
    return int(math.floor(round(duration / dt, 6)))


def _window(duration: float, t_start: float, t_end: float | None, dt: float, where: str) -> tuple[int, int, int]:
    n = _steps(duration, dt, where)
    t_end = duration if t_end is None else t_end
    if not 0 <= t_start <= t_end <= duration:
        raise ConfigError(f"{where}: need 0 <= t_start <= t_end <= duration, got t_start={t_start}, t_end={t_end}, "
                          f"duration={duration}. Fix: choose a window inside the duration (ms).")
    return n, _steps(t_start, dt, where, "t_start"), _steps(t_end, dt, where, "t_end")


def _key(seed: Any) -> jax.Array:
    if seed is None:
        import brainstate_random

        return brainstate_random.DEFAULT.split_key()
    return jax.random.PRNGKey(int(seed))


def section_input(values: Sequence[Any], durations: Sequence[float], dt: float | None = None,
                  return_length: bool = False) -> Any:
    """Piecewise-constant current: ``values[j]`` for ``durations[j]`` ms, one section after another.

    Args:
        values: the value of each section (scalars or arrays broadcast to a common shape).
        durations: the length of each section in ms.
        dt: the time step in ms (default ``environ.get_dt()``).
        return_length: also return the total duration.

    Returns:
        An array ``(n_steps, *shape)``, or ``(array, total duration)`` with ``return_length``.

    Example:
        >>> import brainstate_nn as nn
        >>> nn.section_input([0.0, 1.0, 0.5], [0.2, 0.3, 0.1], dt=0.1).tolist()
        [0.0, 0.0, 1.0, 1.0, 1.0, 0.5]
    """
    if len(values) != len(durations):
        raise ConfigError(f"section_input: values has {len(values)} entries but durations has {len(durations)}. "
                          "Fix: give one duration (ms) per value.")
    dt = _dt(dt, "section_input")
    shape = jnp.broadcast_shapes(*(jnp.shape(v) for v in values)) if values else ()
    pieces = [jnp.broadcast_to(jnp.asarray(v, dtype=environ.dftype()), (_steps(d, dt, "section_input"),) + shape)
              for v, d in zip(values, durations)]
    current = jnp.concatenate(pieces) if pieces else jnp.zeros((0,) + shape, environ.dftype())
    return (current, float(sum(durations))) if return_length else current


def constant_input(I_and_duration: Sequence[tuple[Any, float]], dt: float | None = None) -> tuple[jax.Array, float]:
    """Piecewise-constant current from ``[(value, duration), ...]`` pairs; returns ``(current, total duration)``.

    Example:
        >>> import brainstate_nn as nn
        >>> current, length = nn.constant_input([(0.0, 0.1), (2.0, 0.2)], dt=0.1)
        >>> current.tolist(), length
        ([0.0, 2.0, 2.0], 0.30000000000000004)
    """
    pairs = list(I_and_duration)
    return section_input([v for v, _ in pairs], [d for _, d in pairs], dt=dt, return_length=True)


def step_input(amplitude: Any, t_start: float, duration: float, t_end: float | None = None,
               dt: float | None = None, baseline: Any = 0.0) -> jax.Array:
    """A current step: ``amplitude`` from ``t_start`` to ``t_end`` (default: the end), ``baseline`` elsewhere.

    Example:
        >>> import brainstate_nn as nn
        >>> nn.step_input(1.0, t_start=0.2, duration=0.5, t_end=0.4, dt=0.1).tolist()
        [0.0, 0.0, 1.0, 1.0, 0.0]
    """
    dt = _dt(dt, "step_input")
    n, i0, i1 = _window(duration, t_start, t_end, dt, "step_input")
    k = jnp.arange(n).reshape((n,) + (1,) * jnp.ndim(amplitude))
    return jnp.where((k >= i0) & (k < i1), jnp.asarray(amplitude, environ.dftype()), baseline).astype(environ.dftype())


def spike_input(sp_times: Sequence[float], sp_lens: float | Sequence[float], sp_sizes: Any | Sequence[Any],
                duration: float, dt: float | None = None) -> jax.Array:
    """Short current pulses: at each time of ``sp_times`` (ms) a pulse of ``sp_lens`` ms and height ``sp_sizes``.

    Example:
        >>> import brainstate_nn as nn
        >>> nn.spike_input([0.1, 0.4], 0.2, 3.0, duration=0.6, dt=0.1).tolist()
        [0.0, 3.0, 3.0, 0.0, 3.0, 3.0]
    """
    dt = _dt(dt, "spike_input")
    n = _steps(duration, dt, "spike_input")
    times = list(sp_times)
    lens: list[Any] = [sp_lens] * len(times) if np.ndim(sp_lens) == 0 else list(cast(Sequence[float], sp_lens))
    sizes = [sp_sizes] * len(times) if np.ndim(sp_sizes) == 0 else list(sp_sizes)
    if not len(lens) == len(sizes) == len(times):
        raise ConfigError(f"spike_input: {len(times)} times, {len(lens)} lengths and {len(sizes)} sizes. "
                          "Fix: give one length and one size per pulse, or a scalar for all.")
    current = np.zeros(n, dtype=np.dtype(environ.dftype()))
    for t, length, size in zip(times, lens, sizes):
        start = _steps(t, dt, "spike_input", "a pulse time")
        current[start:start + max(1, _steps(length, dt, "spike_input", "a pulse length"))] = size
    return jnp.asarray(current)


def ramp_input(c_start: float, c_end: float, duration: float, t_start: float = 0.0, t_end: float | None = None,
               dt: float | None = None) -> jax.Array:
    """A linear ramp from ``c_start`` (at ``t_start``) to ``c_end`` (at ``t_end``), zero outside.

    Example:
        >>> import brainstate_nn as nn
        >>> nn.ramp_input(0.0, 3.0, duration=0.5, t_start=0.1, dt=0.1).tolist()
        [0.0, 0.0, 1.0, 2.0, 3.0]
    """
    dt = _dt(dt, "ramp_input")
    n, i0, i1 = _window(duration, t_start, t_end, dt, "ramp_input")
    ramp = jnp.linspace(c_start, c_end, i1 - i0, dtype=environ.dftype())
    return jnp.zeros(n, environ.dftype()).at[i0:i1].set(ramp)


def sinusoidal_input(amplitude: float, frequency: float, duration: float, dt: float | None = None,
                     t_start: float = 0.0, t_end: float | None = None, bias: bool = False) -> jax.Array:
    """``amplitude * sin(2 pi f (t - t_start))`` between ``t_start`` and ``t_end``; ``f`` in Hz, times in ms.

    With ``bias=True`` the wave is lifted by ``amplitude`` so it never goes below zero.

    Example:
        >>> import brainstate_nn as nn
        >>> wave = nn.sinusoidal_input(2.0, frequency=250.0, duration=4.0, dt=1.0)  # period 4 ms
        >>> [round(float(x), 4) for x in wave]
        [0.0, 2.0, -0.0, -2.0]
    """
    dt = _dt(dt, "sinusoidal_input")
    n, i0, i1 = _window(duration, t_start, t_end, dt, "sinusoidal_input")
    t = jnp.arange(i1 - i0, dtype=environ.dftype()) * dt
    wave = amplitude * jnp.sin(2 * jnp.pi * frequency * t / 1000.0) + (amplitude if bias else 0.0)
    return jnp.zeros(n, environ.dftype()).at[i0:i1].set(wave)


def square_input(amplitude: float, frequency: float, duration: float, dt: float | None = None, bias: bool = False,
                 t_start: float = 0.0, t_end: float | None = None) -> jax.Array:
    """A square wave of ``frequency`` Hz: ``+amplitude`` for the first half of each period, ``-amplitude`` after.

    Example:
        >>> import brainstate_nn as nn
        >>> nn.square_input(1.0, frequency=250.0, duration=8.0, dt=1.0).tolist()
        [1.0, 1.0, -1.0, -1.0, 1.0, 1.0, -1.0, -1.0]
    """
    dt = _dt(dt, "square_input")
    n, i0, i1 = _window(duration, t_start, t_end, dt, "square_input")
    phase = jnp.mod(jnp.arange(i1 - i0) * dt * frequency / 1000.0, 1.0)
    wave = jnp.where(phase < 0.5, amplitude, -amplitude) + (amplitude if bias else 0.0)
    return jnp.zeros(n, environ.dftype()).at[i0:i1].set(wave.astype(environ.dftype()))


def wiener_process(duration: float, dt: float | None = None, n: int = 1, t_start: float = 0.0,
                   t_end: float | None = None, seed: int | None = None) -> jax.Array:
    """Increments of a Wiener process, ``N(0, dt)`` per step, for ``n`` independent channels: ``(n_steps, n)``.

    ``seed=None`` draws from ``brainstate.random.DEFAULT``.

    Example:
        >>> import brainstate_nn as nn
        >>> nn.wiener_process(10.0, dt=0.1, n=3, seed=0).shape
        (100, 3)
    """
    dt = _dt(dt, "wiener_process")
    steps, i0, i1 = _window(duration, t_start, t_end, dt, "wiener_process")
    noise = jax.random.normal(_key(seed), (i1 - i0, n), environ.dftype()) * math.sqrt(dt)
    return jnp.zeros((steps, n), environ.dftype()).at[i0:i1].set(noise)


def ou_process(mean: Any, sigma: Any, tau: Any, duration: float, dt: float | None = None, n: int = 1,
               t_start: float = 0.0, t_end: float | None = None, seed: int | None = None) -> jax.Array:
    r"""An Ornstein–Uhlenbeck current ``dX = (mean - X) / tau dt + sigma dW``, ``(n_steps, n)``.

    Sampled exactly on the grid: ``X_{k+1} = mean + (X_k - mean) a + sigma sqrt(tau (1 - a^2) / 2) xi``
    with ``a = exp(-dt / tau)`` and ``xi ~ N(0, 1)``, starting at ``mean``; so the stationary
    standard deviation is ``sigma sqrt(tau / 2)`` and the autocorrelation time is ``tau`` (ms),
    whatever ``dt``. Zero outside ``[t_start, t_end)``.

    Example:
        >>> import brainstate_nn as nn
        >>> x = nn.ou_process(mean=1.0, sigma=0.5, tau=10.0, duration=2000.0, dt=0.5, n=50, seed=0)
        >>> x.shape, round(float(x.mean()), 1)
        ((4000, 50), 1.0)
    """
    dt = _dt(dt, "ou_process")
    if not np.all(np.asarray(tau) > 0):
        raise ConfigError(f"ou_process: tau must be > 0 ms, got {tau!r}. Fix: pass the correlation time in ms.")
    if not np.all(np.asarray(sigma) >= 0):
        raise ConfigError(f"ou_process: sigma must be >= 0, got {sigma!r}. Fix: pass a non-negative noise strength.")
    steps, i0, i1 = _window(duration, t_start, t_end, dt, "ou_process")
    dtype = environ.dftype()
    mean, sigma, tau = (jnp.broadcast_to(jnp.asarray(p, dtype), (n,)) for p in (mean, sigma, tau))
    a = jnp.exp(-dt / tau)
    scale = sigma * jnp.sqrt(tau * (1 - a * a) / 2)
    xi = jax.random.normal(_key(seed), (i1 - i0, n), dtype)

    def body(x, z):
        x = mean + (x - mean) * a + scale * z
        return x, x

    _, path = jax.lax.scan(body, mean, xi)
    return jnp.zeros((steps, n), dtype).at[i0:i1].set(path)
