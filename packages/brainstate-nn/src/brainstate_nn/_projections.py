"""Projections: how the spikes of one population reach another.

A projection takes its input (the value passed to ``update``, or what its leading ``modules``
produce: ``pre.prefetch('spike')``, a function), optionally delays it, maps it through ``comm`` (a
connectivity layer such as :class:`EventFixedProb`), and hands the result to the target ``post``:

* :class:`AlignPostProj`: into a synapse that lives on the target (``syn=Expon.desc(n, tau=5.)``)
  and through a synaptic output (``out=COBA.desc(E=0.)``) into the target's current. Projections
  onto the same target with equal ``syn`` and ``out`` descriptions **share one synapse state**:
  their inputs are summed into it, and it is advanced once per step;
* :class:`DeltaProj`: added to the target's state after integration (a jump of ``V``);
* :class:`CurrentProj`: through ``out`` (no synapse dynamics) into the target's current.

**Order within a step.** Call the projections before the target: what they hand over is used by
the target's next ``post(...)`` call (``AlignPostProj`` advances the shared synapse at the start
of that call, with :meth:`Dynamics.add_before_update`). A neuron's spike of step ``n`` is read by
the projections in step ``n + 1``; with ``delay=d`` ms, the value read is the input of ``d / dt``
steps before (see ``docs/spiking.md``, "Networks", for the Brian2 equivalents).

**Per-neuron and trainable delays** (``delay`` an array, a ``ParamState`` or a ``Param``) are read
by linear interpolation between buffered steps, so they are differentiable: see :class:`Projection`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_core import ConfigError, State
from brainstate_core.internal import is_tracer
from brainstate_core.mixin import ParamDescriber

from ._delay import Delay, _time
from ._dynamics import Dynamics, param, read
from ._module import Module
from ._param import Param
from ._synouts import SynOut

__all__ = ["Projection", "AlignPostProj", "DeltaProj", "CurrentProj"]


def _is_variable(delay: Any) -> bool:
    """Whether ``delay`` is read continuously (trainable, or one value per neuron) rather than as one time."""
    return isinstance(delay, (State, Param)) or np.ndim(delay) > 0 or is_tracer(delay)


class Projection(Module):
    """The shared parts of the projections: the input modules, the optional delay and ``comm``.

    **Delays.** A single ``delay`` (ms) is read ``delay / dt`` steps back, as :class:`Delay` does.
    ``delay`` may also be an array (one delay per presynaptic neuron, broadcast against the input
    ``comm.in_size``), a ``ParamState`` or a :class:`~brainstate.nn.Param` (trainable). Such a delay
    is read continuously: ``d / dt = k + f`` steps (``k`` whole, ``0 <= f < 1``) reads
    ``(1 - f) x[n - k] + f x[n - k - 1]``, the linear interpolation between the two neighbouring
    buffered steps, so the value is differentiable in ``d``: between whole steps the derivative is
    ``(x[n - k - 1] - x[n - k]) / dt``, at a whole step the one-sided one from above. The positivity
    constraint is that of the time constants: a ``ParamState`` is read through ``abs``, a ``Param``
    through its transform (e.g. ``SoftplusT(0.0)``). The buffer keeps ``max_delay`` ms (required
    for a trainable delay; for a plain array, default its largest delay), and a delay that training
    takes beyond ``[0, max_delay]`` is clipped there (its gradient is then zero). A plain array
    follows ``interp_method``: ``None`` (every delay a multiple of ``dt``), ``'round'`` or
    ``'linear_interp'``. A delay per synapse is not provided: ``comm`` maps one value per
    presynaptic neuron.

    Args:
        *modules: callables applied in order to produce the input (the first is called with the
            value passed to ``update``, or with nothing when none is passed); kept as
            ``input_modules``.
        comm: the connectivity (a module ``comm(x) -> y`` with ``in_size``, such as :class:`EventFixedProb`).
        post: the target population (a :class:`Dynamics`).
        delay: a transmission delay in ms (None: none), a multiple of ``environ`` ``dt`` unless
            ``interp_method`` is given; or one delay per presynaptic neuron (an array), trainable as a
            ``ParamState`` or a ``Param`` (see the module notes).
        interp_method: as for :class:`Delay`.
        max_delay: the longest delay (ms) a per-neuron or trainable delay may reach (required for a
            trainable one; see the module notes).
        name: optional display name.

    Attributes:
        delay: the :class:`Delay` buffer of the input, or None.
        delay_time: the per-neuron or trainable delay as given (an array, ``ParamState`` or
            ``Param``), or None for a single fixed delay.

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn, brainstate_transform as T, jax.numpy as jnp
        >>> with bc.environ.context(dt=1.0):
        ...     d = bc.ParamState(jnp.array([1.5, 2.25]))     # ms, trained like a weight
        ...     post = nn.LIF(2, tau=1e9, V_th=1e9)
        ...     proj = nn.DeltaProj(comm=nn.OneToOne(2, 1.0), post=post, delay=d, max_delay=4.0)
        ...     net = nn.init_all_states([post, proj])
        ...     def run():
        ...         nn.reset_all_states(net)
        ...         def step(x):
        ...             proj(jnp.full(2, x))
        ...             post()
        ...             return post.V.value
        ...         return T.for_loop(step, jnp.arange(5.0))
        ...     jumps = jnp.diff(run(), axis=0)
        ...     grad = T.grad(lambda: run()[-1].sum(), grad_states={'d': d})()['d']
        >>> jumps[-1], grad     # x = 4 read 1.5 and 2.25 steps back; a longer delay reads older, smaller x
        (Array([2.5 , 1.75], dtype=float32), Array([-3., -2.], dtype=float32))
    """

    _graph_skip = ("post",)
    _counter = 0

    def __init__(self, *modules: Callable, comm: Callable, post: Dynamics, delay: Any = None,
                 interp_method: str | None = None, max_delay: Any = None, name: str | None = None) -> None:
        super().__init__(name=name)
        owner = type(self).__name__
        if not isinstance(post, Dynamics):
            raise ConfigError(f"{owner} post must be a Dynamics (a neuron population), got {post!r}. "
                              "Fix: pass the target population, e.g. post=neurons.")
        if not callable(comm):
            raise ConfigError(f"{owner} comm must be callable, got {comm!r}. Fix: pass a connectivity layer such as "
                              "EventFixedProb(n_pre, n_post, prob, weight).")
        bad = [m for m in modules if not callable(m)]
        if bad:
            raise ConfigError(f"{owner} input modules must be callable, got {bad!r}. Fix: pass e.g. pre.prefetch('spike').")
        self.input_modules, self.comm, self.post = list(modules), comm, post
        Projection._counter += 1
        self._key = f"{owner}{Projection._counter}"
        self.delay: Delay | None = None
        self.delay_time: Any = None
        if delay is None:
            if max_delay is not None:
                raise ConfigError(f"{owner} got max_delay={max_delay!r} without a delay. Fix: drop max_delay, or "
                                  "pass delay=... too.")
            return
        shape = getattr(comm, "in_size", None)
        if shape is None:
            raise ConfigError(f"{owner}: a delay needs the input shape, but comm {comm!r} has no in_size. Fix: "
                              "use a connectivity layer with in_size, or delay the input yourself with Delay.")
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        if _is_variable(delay):
            self._variable_delay(delay, shape, interp_method, max_delay, owner)
            return
        if max_delay is not None:
            raise ConfigError(f"{owner} got max_delay={max_delay!r} with the single fixed delay {delay!r}. Fix: drop "
                              "max_delay (it bounds per-neuron and trainable delays only).")
        self.delay = Delay(shape, time=delay, interp_method=interp_method)
        self._delay_steps = self.delay._steps(_time(delay, f"{owner} delay"))

    def _variable_delay(self, delay: Any, shape: tuple[int, ...], interp_method: str | None, max_delay: Any,
                        owner: str) -> None:
        trainable = isinstance(delay, (State, Param))
        if interp_method not in (None, "round", "linear_interp", "linear"):
            raise ConfigError(f"{owner}: a per-neuron or trainable delay reads linearly between steps (or rounds), "
                              f"got interp_method={interp_method!r}. Fix: pass None, 'round' or 'linear_interp'.")
        if trainable and interp_method == "round":
            raise ConfigError(f"{owner}: a trainable delay cannot be rounded to whole steps (it would get no "
                              "gradient). Fix: drop interp_method (trainable delays interpolate linearly).")
        self.delay_time = param(delay, "delay", "time", shape, positive="nonnegative", owner=owner)
        given = jnp.abs(jnp.asarray(read(self.delay_time, positive=True)))
        if is_tracer(given):
            raise ConfigError(f"{owner} delay must be concrete when the projection is built. Fix: build it outside "
                              "jit, or pass the delay as a ParamState.")
        if max_delay is None and trainable:
            raise ConfigError(f"{owner}: a trainable delay needs max_delay, the longest delay (ms) the buffer keeps. "
                              "Fix: pass e.g. max_delay=2 * the initial delay.")
        longest = float(jnp.max(given)) if max_delay is None else _time(max_delay, f"{owner} max_delay")
        if float(jnp.max(given)) > longest * (1 + 1e-6):
            raise ConfigError(f"{owner} delay reaches {float(jnp.max(given)):g} ms, beyond max_delay = {longest:g} "
                              "ms. Fix: pass a larger max_delay.")
        self.delay = Delay(shape)
        dt = self.delay._check_dt()
        steps = given / dt
        if interp_method is None and not trainable:
            off = np.abs(np.asarray(steps) - np.round(np.asarray(steps)))
            if np.any(off > 1e-6 * np.maximum(1.0, np.asarray(steps))):
                raise ConfigError(f"{owner}: the delays {np.asarray(given).tolist()} ms are not all multiples of "
                                  f"dt = {dt:g} ms. Fix: pass multiples of dt, or interp_method='round' or "
                                  "'linear_interp'.")
        whole = interp_method not in ("linear_interp", "linear")
        self._const_steps = None if trainable else (jnp.round(steps).astype(jnp.int32) if whole else steps)
        self._max_steps = longest / dt
        self.delay._need((math.floor(self._max_steps) + 1, 0.0))  # the step after the longest one too

    def _read_variable(self) -> jax.Array:
        """The input ``delay_time`` ago, per neuron, by linear interpolation between buffered steps."""
        assert self.delay is not None
        dt = self.delay._check_dt()
        steps = self._const_steps
        if steps is None:  # trainable: read it now
            steps = jnp.clip(read(self.delay_time, positive=True) / dt, 0.0, self._max_steps)
        elif jnp.issubdtype(steps.dtype, jnp.integer):  # whole steps: one read
            return self.delay.retrieve_at_step(steps)
        low = jnp.floor(jax.lax.stop_gradient(steps))
        frac = steps - low
        k = low.astype(jnp.int32)
        older, newer = self.delay.retrieve_at_step(k + 1), self.delay.retrieve_at_step(k)
        return newer + frac * (older - newer)

    def _input(self, x: Any) -> Any:
        for k, module in enumerate(self.input_modules):
            x = module() if (k == 0 and x is None) else module(x)
        if x is None:
            raise ConfigError(f"{type(self).__name__}.update() got no input. Fix: pass the presynaptic spikes, or "
                              "build the projection with an input module such as pre.prefetch('spike').")
        if self.delay is not None:
            self.delay.update(x)
            x = self._read_variable() if self.delay_time is not None else self.delay._read(self._delay_steps, ())
        return self.comm(x)


class AlignPostProj(Projection):
    """Spikes -> ``comm`` -> a synapse on the target -> a synaptic output -> the target's current.

    ``syn`` and ``out`` are descriptions (``Expon.desc(n_post, tau=5.)``, ``COBA.desc(E=0.)``) or
    modules. Descriptions are built once per target: a second projection onto ``post`` with equal
    descriptions reuses the first one's synapse and output (one state, inputs summed). Modules are
    never shared.

    Args:
        *modules: the input modules (see :class:`Projection`).
        comm: the connectivity.
        syn: the synapse (a :class:`Synapse` description or module) of the target's size.
        out: the synaptic output (a :class:`SynOut` description or module).
        post: the target population.
        delay: the transmission delay (ms), per presynaptic neuron or trainable (see
            :class:`Projection`), or None.
        interp_method: as for :class:`Delay`.
        max_delay: the bound of a per-neuron or trainable delay (ms; see :class:`Projection`).
        name: optional display name.

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn, jax.numpy as jnp
        >>> with bc.environ.context(dt=0.1):
        ...     post = nn.LIF(2, tau=10.0, V_th=100.0)
        ...     a = nn.AlignPostProj(comm=nn.OneToOne(2, 1.0), syn=nn.Expon.desc(2, tau=5.0),
        ...                          out=nn.CUBA.desc(), post=post)
        ...     b = nn.AlignPostProj(comm=nn.OneToOne(2, 2.0), syn=nn.Expon.desc(2, tau=5.0),
        ...                          out=nn.CUBA.desc(), post=post)
        ...     net = nn.init_all_states([post, a, b])
        ...     a(jnp.array([1.0, 0.0])); b(jnp.array([1.0, 1.0]))
        ...     _ = post()
        >>> a.syn is b.syn, a.syn.g.value      # one shared synapse: 1 + 2 and 0 + 2
        (True, Array([3., 2.], dtype=float32))
    """

    def __init__(self, *modules: Callable, comm: Callable, syn: Any, out: Any, post: Dynamics, delay: Any = None,
                 interp_method: str | None = None, max_delay: Any = None, name: str | None = None) -> None:
        super().__init__(*modules, comm=comm, post=post, delay=delay, interp_method=interp_method,
                         max_delay=max_delay, name=name)
        shared = isinstance(syn, ParamDescriber) and isinstance(out, ParamDescriber)
        key = ("AlignPostProj", syn.identifier, out.identifier) if shared else ("AlignPostProj", self._key)
        entry = post.before_updates.get(key)
        if entry is None:
            syn_m = syn() if isinstance(syn, ParamDescriber) else syn
            out_m = out() if isinstance(out, ParamDescriber) else out
            if not isinstance(syn_m, Dynamics):
                raise ConfigError(f"AlignPostProj syn must be a synapse (or its .desc(...)), got {syn_m!r}. "
                                  "Fix: pass e.g. syn=brainstate.nn.Expon.desc(n_post, tau=5.).")
            if not isinstance(out_m, SynOut):
                raise ConfigError(f"AlignPostProj out must be a synaptic output (or its .desc(...)), got {out_m!r}. "
                                  "Fix: pass e.g. out=brainstate.nn.COBA.desc(E=0.).")
            if syn_m.varshape != post.varshape:
                raise ConfigError(f"AlignPostProj syn has shape {syn_m.varshape}, the target {post.varshape}. Fix: "
                                  f"describe the synapse with the target's size, e.g. Expon.desc({post.varshape}).")
            entry = _Advance(syn_m, out_m)
            post.add_before_update(key, entry)
            post.add_current_input(f"{self._key}.out", out_m)
            post.add_after_update((*key, "unbind"), out_m.unbind_cond)
        self.syn, self.out = entry.syn, entry.out

    def update(self, x: Any = None) -> None:
        """Hand this step's input to the (shared) synapse; the target's next call advances it."""
        y = self._input(x)
        self.syn.add_delta_input(self._key, y)


class _Advance:
    """Advance a shared synapse once and bind its value to the output (a before-update of the target)."""

    def __init__(self, syn: Dynamics, out: SynOut) -> None:
        self.syn, self.out = syn, out

    def __call__(self) -> None:
        self.out.bind_cond(self.syn(None))


class DeltaProj(Projection):
    """Spikes -> ``comm`` -> added to the target's state after its integration (e.g. a jump of ``V``).

    Args:
        *modules: the input modules (see :class:`Projection`).
        comm: the connectivity.
        post: the target population.
        delay: the transmission delay (ms), per presynaptic neuron or trainable (see
            :class:`Projection`), or None.
        interp_method: as for :class:`Delay`.
        max_delay: the bound of a per-neuron or trainable delay (ms; see :class:`Projection`).
        name: optional display name.

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn, jax.numpy as jnp
        >>> with bc.environ.context(dt=0.1):
        ...     post = nn.init_all_states(nn.IF(2, tau=1e9, V_th=100.0))
        ...     proj = nn.DeltaProj(comm=nn.OneToOne(2, 0.5), post=post)
        ...     proj(jnp.array([1.0, 0.0]))
        ...     _ = post()
        >>> post.V.value
        Array([0.5, 0. ], dtype=float32)
    """

    def update(self, x: Any = None) -> None:
        """Queue this step's jump for the target's next call."""
        self.post.add_delta_input(self._key, self._input(x))


class CurrentProj(Projection):
    """Spikes -> ``comm`` -> a synaptic output -> the target's current (no synapse dynamics).

    Args:
        *modules: the input modules (see :class:`Projection`).
        comm: the connectivity.
        out: the synaptic output (a :class:`SynOut` or its description).
        post: the target population.
        delay: the transmission delay (ms), per presynaptic neuron or trainable (see
            :class:`Projection`), or None.
        interp_method: as for :class:`Delay`.
        max_delay: the bound of a per-neuron or trainable delay (ms; see :class:`Projection`).
        name: optional display name.

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn, jax.numpy as jnp
        >>> with bc.environ.context(dt=0.1):
        ...     post = nn.init_all_states(nn.LIF(1, tau=10.0, V_th=100.0))
        ...     proj = nn.CurrentProj(comm=nn.OneToOne(1, 2.0), out=nn.CUBA.desc(), post=post)
        ...     _ = proj(jnp.array([1.0]))
        ...     _ = post()
        >>> round(float(post.V.value[0]), 4)      # 2 (1 - exp(-0.1 / 10))
        0.0199
    """

    def __init__(self, *modules: Callable, comm: Callable, out: Any, post: Dynamics, delay: Any = None,
                 interp_method: str | None = None, max_delay: Any = None, name: str | None = None) -> None:
        super().__init__(*modules, comm=comm, post=post, delay=delay, interp_method=interp_method,
                         max_delay=max_delay, name=name)
        self.out = out() if isinstance(out, ParamDescriber) else out
        if not isinstance(self.out, SynOut):
            raise ConfigError(f"CurrentProj out must be a synaptic output, got {self.out!r}. Fix: pass e.g. "
                              "out=brainstate.nn.CUBA.desc().")
        post.add_current_input(f"{self._key}.out", self.out)
        post.add_after_update((f"{self._key}.out", "unbind"), self.out.unbind_cond)

    def update(self, x: Any = None) -> jax.Array:
        """Bind this step's conductance (or current) to the output, which the target calls with its ``V``."""
        y = self._input(x)
        self.out.bind_cond(y)
        return y
