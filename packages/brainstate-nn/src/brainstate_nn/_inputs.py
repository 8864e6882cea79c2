"""Spike inputs: Poisson sources, a Poisson encoder, Poisson drive added to a state, and spikes at given times.

Rates are in Hz and ``environ`` ``dt`` in ms, so a source of rate ``f`` fires in a step with the
probability ``f * dt / 1000`` (independently in every step and source). Random draws use
``brainstate.random.DEFAULT`` (or the ``rng`` given), so ``brainstate.random.seed`` makes a run
reproducible, and under ``vmap`` every lane draws its own spikes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_core import ConfigError, InputError, State, environ
from brainstate_core.internal import is_tracer

from ._dynamics import Dynamics, Prefetch, get_dt, get_t, param, read
from ._module import Module
from ._units import to_plain
from ._utils import generator

__all__ = ["PoissonSpike", "PoissonEncoder", "PoissonInput", "poisson_input", "SpikeTime"]


_BERNOULLI_MAX = 64


def _probability(freqs: Any) -> Any:
    return freqs * (get_dt() / 1000.0)


def _check_rates(freqs: Any, owner: str) -> None:
    value = freqs.value if isinstance(freqs, State) else freqs
    if not is_tracer(value) and np.any(np.asarray(value) < 0):
        raise ConfigError(f"{owner} freqs must be >= 0 Hz, got {value!r}. Fix: pass firing rates in Hz.")


class PoissonSpike(Dynamics):
    """A population of independent Poisson sources with fixed rates ``freqs`` (Hz).

    ``update()`` returns this step's spikes (``spk_type``, ``bool`` by default).

    Args:
        in_size: the number (or shape) of sources.
        freqs: the rate of each source (Hz): a scalar, an array of ``in_size`` or a ``ParamState``.
        spk_type: the dtype of the spikes.
        name: optional display name.
        rng: the ``brainstate.random.RandomState`` to draw from (default: the default generator).

    Example:
        >>> import brainstate, brainstate_nn as nn, jax.numpy as jnp
        >>> brainstate.random.seed(0)
        >>> with brainstate.environ.context(dt=1.0):
        ...     src = nn.PoissonSpike(1000, freqs=50.0)
        ...     spikes = brainstate.transform.for_loop(lambda i: src(), jnp.arange(200))
        >>> spikes.dtype, round(float(spikes.mean()), 2)   # 50 Hz * 1 ms
        (dtype('bool'), 0.05)
    """

    def __init__(self, in_size: Any, freqs: Any, spk_type: Any = bool, name: str | None = None,
                 rng: Any = None) -> None:
        super().__init__(in_size, name=name)
        self.freqs = param(freqs, "freqs", "frequency", self.varshape, owner=type(self).__name__)
        _check_rates(self.freqs, type(self).__name__)
        self.spk_type = spk_type
        self.rng = rng

    def update(self) -> jax.Array:
        p = _probability(read(self.freqs))
        spikes = generator(self.rng).random(self.varshape) < p
        return spikes.astype(self.spk_type)


class PoissonEncoder(Dynamics):
    """Encode rates given at each step into Poisson spikes: ``update(freqs)`` fires with ``freqs * dt``.

    ``freqs`` (Hz) broadcasts against ``in_size`` and may carry a batch axis in front; a pixel
    intensity scaled to a rate is the classic use.

    Args:
        in_size: the shape of one sample of rates.
        spk_type: the dtype of the spikes.
        name: optional display name.
        rng: the random generator (default: the default generator).

    Example:
        >>> import brainstate, brainstate_nn as nn, jax.numpy as jnp
        >>> with brainstate.environ.context(dt=1.0):
        ...     enc = nn.PoissonEncoder(3)
        ...     spikes = enc(jnp.array([0.0, 1000.0, 0.0]))   # 1000 Hz * 1 ms: always
        >>> spikes.tolist()
        [False, True, False]
    """

    def __init__(self, in_size: Any, spk_type: Any = bool, name: str | None = None, rng: Any = None) -> None:
        super().__init__(in_size, name=name)
        self.spk_type = spk_type
        self.rng = rng

    def update(self, freqs: Any) -> jax.Array:
        freqs = jnp.asarray(to_plain(freqs, "frequency", "PoissonEncoder freqs"))
        try:
            shape = jnp.broadcast_shapes(freqs.shape, self.varshape)
        except ValueError:
            raise InputError(f"PoissonEncoder({self.varshape}) got rates of shape {freqs.shape}. Fix: pass rates "
                             f"of shape {self.varshape} (with an optional batch axis in front).") from None
        spikes = generator(self.rng).random(shape) < _probability(freqs)
        return spikes.astype(self.spk_type)


def poisson_input(freq: Any, num_input: int, weight: Any, target: State, indices: Any = None,
                  refractory: Any = None, rng: Any = None) -> None:
    """Add to ``target.value`` the input of ``num_input`` independent Poisson sources of rate ``freq`` (Hz).

    Every element of the target (or of ``target.value[indices]``) receives its own draw of the
    number of sources that fired in this step, ``Binomial(num_input, freq * dt)``, times
    ``weight``: for up to 64 sources as the sum of one Bernoulli draw per source. For more, when both ``num_input p`` and ``num_input (1 - p)`` exceed 5 (and ``p`` is
    concrete) the normal approximation with the same mean and variance is drawn instead, as
    upstream did, which is much cheaper for large ``num_input``. Elements where ``refractory`` is
    true are left unchanged.

    Example:
        >>> import brainstate, brainstate_nn as nn, jax.numpy as jnp
        >>> V = brainstate.HiddenState(jnp.zeros(4))
        >>> with brainstate.environ.context(dt=0.1):
        ...     nn.poisson_input(1000.0, 10, 0.5, V, indices=jnp.array([0, 1]))
        >>> bool((V.value[2:] == 0).all()), bool((V.value[:2] >= 0).all())
        (True, True)
    """
    if not isinstance(target, State):
        raise InputError(f"poisson_input target must be a State, got {target!r}. Fix: pass e.g. `neuron.V`.")
    if not isinstance(num_input, (int, np.integer)) or num_input < 1:
        raise ConfigError(f"poisson_input num_input must be a positive int, got {num_input!r}. "
                          "Fix: pass the number of Poisson sources per target.")
    freq = read(to_plain(freq.value if isinstance(freq, State) else freq, "frequency", "poisson_input freq"))
    weight = weight.value if isinstance(weight, State) else weight
    p = _probability(freq)
    rng = generator(rng)
    value = target.value
    shape = value.shape if indices is None else jnp.shape(value[indices])
    concrete = not is_tracer(p)
    if concrete and not 0.0 <= float(p) <= 1.0:
        raise ConfigError(f"poisson_input: freq * dt = {float(p)} is not a probability. Fix: use a smaller dt or "
                          "rate (freq in Hz, dt in ms).")
    mean, var = num_input * p, num_input * p * (1.0 - p)
    if num_input <= _BERNOULLI_MAX:  # exact and cheap: one uniform draw per source
        count = (rng.random(tuple(shape) + (num_input,)) < p).sum(axis=-1).astype(value.dtype)
    elif concrete and num_input * float(p) > 5 and num_input * (1.0 - float(p)) > 5:
        count = rng.normal(mean, var ** 0.5, size=shape, dtype=value.dtype)
    else:
        count = rng.binomial(num_input, p, size=shape).astype(value.dtype)
    inp = count * weight
    new = value + inp if indices is None else value.at[indices].add(inp)
    if refractory is not None:
        new = jnp.where(refractory, value, new)
    target.value = new


class PoissonInput(Module):
    """Poisson drive of ``num_input`` sources per element, added to a variable at every ``update()``.

    Much cheaper than a population of :class:`PoissonSpike` sources with all-to-one connections:
    only the per-step count of each element is drawn (see :func:`poisson_input`).

    Args:
        target: the variable to add to: a State (``neuron.V``) or ``neuron.prefetch('V')``.
        indices: the elements to drive (None: all of them).
        num_input: the number of sources per element.
        freq: the rate of each source (Hz).
        weight: the jump caused by one input spike (in the unit of the target, e.g. mV).
        name: optional display name.
        rng: the random generator (default: the default generator).

    Example:
        >>> import brainstate, brainstate_nn as nn, jax.numpy as jnp
        >>> V = brainstate.HiddenState(jnp.zeros(1000))
        >>> drive = nn.PoissonInput(V, None, num_input=100, freq=10.0, weight=0.1)
        >>> with brainstate.environ.context(dt=1.0):
        ...     drive()
        >>> round(float(V.value.mean()), 1)     # 100 sources * 10 Hz * 1 ms * 0.1
        0.1
    """

    def __init__(self, target: State | Prefetch, indices: Any, num_input: int, freq: Any, weight: Any,
                 name: str | None = None, rng: Any = None) -> None:
        super().__init__(name=name)
        if not isinstance(target, (State, Prefetch)):
            raise ConfigError(f"PoissonInput target must be a State or a prefetch, got {target!r}. "
                              "Fix: pass `neuron.V` or `neuron.prefetch('V')`.")
        self.target, self.indices, self.num_input = target, indices, num_input
        self.freq = param(freq, "freq", "frequency", (), owner="PoissonInput")
        _check_rates(self.freq, "PoissonInput")
        self.weight = weight
        self.rng = rng

    def _target_state(self) -> State:
        if isinstance(self.target, State):
            return self.target
        state = self.target.module.__dict__.get(self.target.item)
        if not isinstance(state, State):
            raise InputError(f"PoissonInput target {self.target!r} is not a State yet. Fix: call "
                             "`brainstate.nn.init_all_states(model)` before running.")
        return state

    def update(self) -> None:
        poisson_input(self.freq, self.num_input, self.weight, self._target_state(), self.indices, rng=self.rng)


class SpikeTime(Dynamics):
    """Sources that fire at given times: source ``indices[k]`` fires at ``times[k]`` (ms).

    A spike at time ``s`` is emitted by the step whose ``environ`` time ``t`` satisfies
    ``round(t / dt) == round(s / dt)``, i.e. times are rounded to the nearest step (no pointer
    state, so it works under ``vmap`` and restarts with the clock). ``t`` comes from
    ``environ`` (set by :func:`brainstate.nn.run` or your loop).

    Args:
        in_size: the number (or shape, flattened in C order for ``indices``) of sources.
        indices: the source of each spike.
        times: the time of each spike (ms).
        spk_type: the dtype of the spikes.
        name: optional display name.
        need_sort: accepted for compatibility with upstream; the order of the spikes does not matter here.

    Example:
        >>> import brainstate, brainstate_nn as nn
        >>> src = nn.SpikeTime(2, indices=[0, 1, 0], times=[0.2, 0.2, 0.5])
        >>> rec = nn.run(lambda i: {"s": src()}, 6, spikes=["s"], dt=0.1)
        >>> rec["s"].indices()
        (array([2, 2, 5]), array([0, 1, 0]))
    """

    def __init__(self, in_size: Any, indices: Sequence[int] | Any, times: Sequence[float] | Any,
                 spk_type: Any = bool, name: str | None = None, need_sort: bool = True) -> None:
        super().__init__(in_size, name=name)
        indices = np.asarray(indices)
        times = np.asarray(to_plain(times, "time", "SpikeTime times"), dtype=float)
        if indices.shape != times.shape or indices.ndim != 1:
            raise ConfigError(f"SpikeTime indices {indices.shape} and times {times.shape} must be 1-D and of the "
                              "same length. Fix: give one source index per spike time.")
        if indices.size and (indices.min() < 0 or indices.max() >= self.num):
            raise ConfigError(f"SpikeTime indices must be in [0, {self.num}), got {indices.min()}..{indices.max()}. "
                              f"Fix: index the {self.num} sources of in_size={self.in_size}.")
        self.indices = jnp.asarray(indices, dtype=environ.ditype())
        self.times = jnp.asarray(times, dtype=environ.dftype())
        self.spk_type = spk_type

    def update(self) -> jax.Array:
        dt = get_dt()
        now = jnp.round(jnp.asarray(get_t()) / dt)
        hit = jnp.round(self.times / dt) == now
        spikes = jnp.zeros(self.num, bool).at[self.indices].max(hit)
        return spikes.reshape(self.varshape).astype(self.spk_type)
