"""One training step for recurrent and spiking networks, with the gradient method chosen by ``mode``.

:func:`make_train_step` builds a :class:`TrainStep`: ``step(xs, targets)`` runs ``model`` from its
initial state over the time-major inputs ``xs`` ``(T, batch, ...)``, computes the gradient of
``loss_fn(outputs, targets)`` with respect to the optimiser's weights by the chosen method, applies
``optimizer.update`` and returns the loss. The modes:

* ``'bptt'``: back-propagation through time, through one ``for_loop``; memory grows as ``T``.
* ``'checkpointed'``: the same gradient through ``checkpointed_for_loop``: the backward pass keeps
  about ``base`` carries per level of nested blocks and recomputes the rest; with the default
  ``base = ceil(sqrt(T))`` memory grows as ``sqrt(T)``.
* ``'truncated'``: truncated BPTT over windows of ``window`` steps. The hidden states are carried
  from window to window behind ``stop_gradient``; the gradient is the sum of the windows'
  gradients of ``(K_w / T) loss_fn(outputs_w, targets_w)`` (``K_w`` the window's length), and the
  optimiser takes one step per call. With ``window >= T`` it is ``'bptt'``.
* ``'eprop'``: e-prop (Bellec et al. 2020), an online rule with eligibility traces for a
  :class:`~brainstate.nn.SpikingRNN` of LIF or ALIF neurons (see :func:`eprop_gradients`): one
  forward loop accumulates the weight updates, so memory does not grow with ``T``. The objective
  is ``mean_t loss_fn(y^t[None], target^t[None])``.

The windowed modes slice ``targets`` along time with the inputs, so there every target leaf is
time-major ``(T, ...)`` (broadcast a per-sequence label to ``(T, batch)``); their objective equals
``loss_fn(outputs, targets)`` when the loss is an average of per-step terms. In ``'bptt'`` and
``'checkpointed'`` mode ``targets`` is passed to ``loss_fn`` as it is.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import ConfigError, InputError, ParamState, graph
from brainstate_core.util import FlattedDict
from brainstate_transform import checkpointed_for_loop, for_loop, grad, scan
from brainstate_transform import jit as _jit

from ._eprop import check_eprop_model, eprop_gradients, random_feedback
from ._module import init_all_states, reset_all_states

__all__ = ["TrainStep", "make_train_step"]

MODES = ("bptt", "checkpointed", "truncated", "eprop")
_OPTIONS = {"window": "truncated", "base": "checkpointed", "feedback": "eprop", "feedback_seed": "eprop",
            "reset_grad": "eprop"}


def _positive_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"make_train_step {name} must be an int >= {minimum}, got {value!r}. "
                          f"Fix: pass e.g. {name}={max(minimum, 16)}.")
    return value


class TrainStep:
    """A training step ``step(xs, targets) -> loss`` whose gradient method is picked by ``mode``.

    Built by :func:`make_train_step` (same arguments); see the module notes for the modes. Each
    call starts the model from its initial state (``reset_all_states`` with the batch size of
    ``xs``), so one call is one batch of whole sequences.

    Args:
        model: a module advancing one step per call, ``model(x_t) -> output_t`` (a pytree);
            ``for_loop`` stacks the outputs time first. ``'eprop'`` needs a
            :class:`~brainstate.nn.SpikingRNN`.
        loss_fn: ``loss_fn(outputs, targets) -> scalar`` over time-major outputs.
        optimizer: a :mod:`brainstate.nn.optim` optimiser; its ``param_states`` are the weights
            trained (for ``'eprop'``: only ``w_in``, ``w_rec`` and ``readout.weight``).
        mode: one of ``'bptt'``, ``'checkpointed'``, ``'truncated'``, ``'eprop'``.
        window: ``'truncated'`` only, the window length ``K`` (required).
        base: ``'checkpointed'`` only, the checkpoint block size (default ``ceil(sqrt(T))``).
        feedback: ``'eprop'`` only: ``'symmetric'`` (default: ``B = W_out``), ``'random'`` (a fixed
            random ``B``, drawn once from ``feedback_seed``) or an ``(n_rec, n_out)`` array.
        feedback_seed: ``'eprop'`` with ``feedback='random'``: the seed of ``B`` (default 0).
        reset_grad: ``'eprop'`` only: differentiate the reset in the eligibility traces (default
            ``False``, as the paper).
        jit: compile the step with ``brainstate.transform.jit`` (default ``True``).

    Attributes:
        mode: the gradient method.
        params: the trained weights, ``optimizer.param_states``.
        feedback: ``'eprop'``: the feedback matrix ``B`` ``(n_rec, n_out)``, or ``None`` for ``W_out``.
        modes: the accepted modes (class attribute).

    Example:
        >>> import brainstate_nn as nn
        >>> net = nn.SpikingRNN(2, 4, 1)
        >>> nn.TrainStep(net, lambda ys, t: ((ys - t) ** 2).mean(), nn.optim.SGD(0.1, params=net.weights()),
        ...              mode='truncated', window=25)
        TrainStep(mode='truncated', window=25, 3 weights)
    """

    modes = MODES

    def __init__(self, model: Any, loss_fn: Callable[[Any, Any], Any], optimizer: Any, mode: str = "bptt", *,
                 window: int | None = None, base: int | None = None, feedback: Any = None,
                 feedback_seed: int | None = None, reset_grad: bool | None = None, jit: bool = True) -> None:
        if not isinstance(mode, str) or mode not in MODES:
            raise ConfigError(f"make_train_step got mode={mode!r}; the modes are " + ", ".join(map(repr, MODES))
                              + ". Fix: pass one of them, e.g. mode='bptt'.")
        given = {"window": window, "base": base, "feedback": feedback, "feedback_seed": feedback_seed,
                 "reset_grad": reset_grad}
        for name, value in given.items():
            if value is not None and _OPTIONS[name] != mode:
                raise ConfigError(f"make_train_step got {name}={value!r} with mode={mode!r}, but {name} belongs to "
                                  f"mode={_OPTIONS[name]!r}. Fix: drop {name}, or pass mode={_OPTIONS[name]!r}.")
        if not callable(loss_fn):
            raise ConfigError(f"make_train_step loss_fn must be callable, got {loss_fn!r}. "
                              "Fix: pass loss_fn(outputs, targets) -> scalar.")
        if not hasattr(optimizer, "param_states") or not callable(getattr(optimizer, "update", None)):
            raise ConfigError(f"make_train_step optimizer must be a brainstate.nn.optim optimiser, got {optimizer!r}. "
                              "Fix: pass e.g. brainstate.nn.optim.Adam(1e-3, params=model.states(ParamState)).")
        if not optimizer.param_states:
            raise ConfigError("make_train_step got an optimiser without weights. Fix: build it with "
                              "params=model.states(brainstate.ParamState).")
        self.model, self.loss_fn, self.optimizer, self.mode = model, loss_fn, optimizer, mode
        self.params = optimizer.param_states
        if mode == "truncated":
            if window is None:
                raise ConfigError("make_train_step mode='truncated' needs window=K, the steps of one window. "
                                  "Fix: pass e.g. window=50.")
            window = _positive_int(window, "window", 1)
        if base is not None:
            base = _positive_int(base, "base", 2)
        self.window, self.base = window, base
        self.reset_grad = bool(reset_grad)
        self.feedback = self._eprop_setup(feedback, feedback_seed) if mode == "eprop" else None
        self._batch: int | None = None
        self._compiled: Any = _jit(self._gradients_impl)  # a jitted function: it also has .lower
        self._gradients = self._compiled if jit else self._gradients_impl
        self._step = _jit(self._step_impl) if jit else self._step_impl

    # -- e-prop ------------------------------------------------------------------------------
    def _eprop_setup(self, feedback: Any, seed: int | None) -> jax.Array | None:
        model = self.model
        check_eprop_model(model)
        names = {id(model.w_in): "w_in", id(model.w_rec): "w_rec", id(model.readout.weight): "w_out"}
        extra = [".".join(map(str, p)) for p, s in self.params.items() if id(s) not in names]
        if extra:
            raise ConfigError(f"mode='eprop' computes gradients of w_in, w_rec and readout.weight only, but the "
                              f"optimiser also trains {extra}. Fix: build the optimiser on those three "
                              "(optimizer params=model.weights()), or train the others with a BPTT mode.")
        self._eprop_names = [(p, names[id(s)]) for p, s in self.params.items()]
        if seed is not None and feedback != "random":
            raise ConfigError(f"make_train_step got feedback_seed={seed!r} with feedback={feedback!r}; the seed draws "
                              "the random feedback matrix. Fix: pass feedback='random', or drop feedback_seed.")
        if feedback is None or (isinstance(feedback, str) and feedback == "symmetric"):
            return None
        if isinstance(feedback, str) and feedback == "random":
            return random_feedback(model, 0 if seed is None else _positive_int(seed, "feedback_seed", 0))
        if isinstance(feedback, str) or not hasattr(feedback, "shape"):
            raise ConfigError(f"make_train_step feedback must be 'symmetric', 'random' or an array, got {feedback!r}. "
                              "Fix: pass feedback='symmetric' (B = W_out) or feedback='random'.")
        if tuple(feedback.shape) != (model.n_rec, model.n_out):
            raise ConfigError(f"make_train_step feedback must have shape (n_rec, n_out) = "
                              f"{(model.n_rec, model.n_out)}, got {tuple(feedback.shape)}. Fix: pass a matrix of "
                              "that shape, or feedback='random'.")
        return jnp.asarray(feedback)

    # -- the gradient methods ----------------------------------------------------------------
    def _restart(self, xs: Any) -> int:
        batch = jax.tree.leaves(xs)[0].shape[1]
        reset_all_states(self.model, batch_size=batch)
        return batch

    def _run(self, xs: Any, targets: Any, loop: Callable) -> Any:
        return self.loss_fn(loop(self.model, xs), targets)

    def _detach(self) -> None:
        """Put the model's non-weight states behind ``stop_gradient`` (the start of a window)."""
        for state in graph.states(self.model).values():
            if not isinstance(state, ParamState) and jnp.issubdtype(jnp.result_type(state.value), jnp.inexact):
                state.value = jax.lax.stop_gradient(state.value)

    def _window(self, xs: Any, targets: Any, scale: float) -> tuple[list, jax.Array]:
        self._detach()
        g, loss = grad(lambda: scale * self._run(xs, targets, for_loop), grad_states=self.params,
                       return_value=True)()
        return [g[p] for p in self.params], loss

    def _truncated(self, xs: Any, targets: Any, n_steps: int) -> tuple[list, jax.Array]:
        k = n_steps if self.window is None else min(self.window, n_steps)  # window: set for 'truncated'
        n, rest = divmod(n_steps, k)
        data = (xs, targets)
        total = [jnp.zeros_like(s.value) for s in self.params.values()], jnp.zeros(())
        if n:
            blocks = jax.tree.map(lambda a: a[:n * k].reshape((n, k) + a.shape[1:]), data)

            def body(acc: tuple, block: tuple) -> tuple:
                g, loss = self._window(block[0], block[1], k / n_steps)
                return ([a + b for a, b in zip(acc[0], g)], acc[1] + loss), None

            total = scan(body, total, blocks)[0]
        if rest:
            tail_xs, tail_targets = jax.tree.map(lambda a: a[n * k:], data)
            g, loss = self._window(tail_xs, tail_targets, rest / n_steps)
            total = [a + b for a, b in zip(total[0], g)], total[1] + loss
        return total

    def _gradients_impl(self, xs: Any, targets: Any) -> tuple[FlattedDict, jax.Array]:
        self._restart(xs)
        n_steps = jax.tree.leaves(xs)[0].shape[0]
        if self.mode == "eprop":
            g, loss = eprop_gradients(self.model, self.loss_fn, xs, targets, self.feedback, self.reset_grad)
            return FlattedDict((p, g[name]) for p, name in self._eprop_names), loss
        if self.mode == "truncated":
            g, loss = self._truncated(xs, targets, n_steps)
            return FlattedDict(zip(self.params, g)), loss
        if self.mode == "checkpointed":
            base = self.base if self.base is not None else max(2, math.ceil(math.sqrt(n_steps)))
            loop = lambda f, x: checkpointed_for_loop(f, x, base=base)  # noqa: E731
        else:
            loop = for_loop
        g, loss = grad(lambda: self._run(xs, targets, loop), grad_states=self.params, return_value=True)()
        return FlattedDict(g), loss

    def _step_impl(self, xs: Any, targets: Any) -> jax.Array:
        grads, loss = self._gradients_impl(xs, targets)
        self.optimizer.update(grads)
        return loss

    # -- calls -------------------------------------------------------------------------------
    def _prepare(self, xs: Any, targets: Any) -> None:
        leaves = jax.tree.leaves(xs)
        if not leaves or any(jnp.ndim(x) < 2 for x in leaves):
            raise InputError(f"TrainStep ({self.mode}) expects time-major inputs (T, batch, ...), got "
                             f"{[jnp.shape(x) for x in leaves]}. Fix: stack the inputs time first, with a batch axis.")
        n_steps, batch = jnp.shape(leaves[0])[:2]
        if any(jnp.shape(x)[:2] != (n_steps, batch) for x in leaves):
            raise InputError(f"TrainStep ({self.mode}) got inputs whose (T, batch) axes differ: "
                             f"{[jnp.shape(x) for x in leaves]}. Fix: give every input the same leading axes.")
        if self.mode in ("truncated", "eprop"):
            bad = [jnp.shape(t) for t in jax.tree.leaves(targets) if jnp.ndim(t) < 1 or jnp.shape(t)[0] != n_steps]
            if bad:
                raise InputError(f"TrainStep ({self.mode}) slices the targets along time, so every target needs "
                                 f"a leading axis of T = {n_steps}; got shapes {bad}. Fix: broadcast per-sequence "
                                 f"targets, e.g. jnp.broadcast_to(labels, ({n_steps},) + labels.shape).")
        if self._batch != batch:
            init_all_states(self.model, batch_size=batch)
            self._batch = batch

    def gradients(self, xs: Any, targets: Any) -> tuple[FlattedDict, jax.Array]:
        """``(gradients, loss)`` of one batch, without updating the weights.

        The gradients are keyed like ``optimizer.param_states`` (what ``optimizer.update`` takes).
        """
        self._prepare(xs, targets)
        return self._gradients(xs, targets)

    def lower(self, xs: Any, targets: Any) -> jax.stages.Lowered:
        """The compiled-ahead program of :meth:`gradients` for these arguments (to inspect it, e.g.
        ``step.lower(xs, ys).compile().memory_analysis()``), jitted whatever ``jit`` says."""
        self._prepare(xs, targets)
        return self._compiled.lower(xs, targets)

    def __call__(self, xs: Any, targets: Any) -> jax.Array:
        """One optimisation step on a batch of sequences; returns the loss before the update."""
        self._prepare(xs, targets)
        return self._step(xs, targets)

    def __repr__(self) -> str:
        extra = {"truncated": f", window={self.window}", "checkpointed": f", base={self.base or 'sqrt(T)'}",
                 "eprop": f", feedback={'symmetric' if self.feedback is None else 'matrix'}"}.get(self.mode, "")
        return f"TrainStep(mode={self.mode!r}{extra}, {len(self.params)} weights)"


def make_train_step(model: Any, loss_fn: Callable[[Any, Any], Any], optimizer: Any, mode: str = "bptt", *,
                    window: int | None = None, base: int | None = None, feedback: Any = None,
                    feedback_seed: int | None = None, reset_grad: bool | None = None, jit: bool = True) -> TrainStep:
    """Build a training step ``step(xs, targets) -> loss`` whose gradient method is ``mode``.

    ``mode`` is ``'bptt'``, ``'checkpointed'`` (memory ``O(sqrt T)``), ``'truncated'`` (needs
    ``window``) or ``'eprop'`` (a :class:`~brainstate.nn.SpikingRNN`, memory independent of
    ``T``); the arguments are those of :class:`TrainStep` and the module notes describe the modes.

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn, brainstate_random as br, jax.numpy as jnp
        >>> br.seed(0)
        >>> with bc.environ.context(dt=1.0):
        ...     net = nn.SpikingRNN(2, 8, 1, neuron=nn.ALIF(8, tau=20.0, tau_a=100.0))
        ...     opt = nn.optim.Adam(1e-2, params=net.states(bc.ParamState))
        ...     step = nn.make_train_step(net, lambda ys, target: jnp.mean((ys - target) ** 2), opt, mode='eprop')
        ...     losses = [float(step(jnp.full((50, 4, 2), 3.0), jnp.ones((50, 4, 1)))) for _ in range(20)]
        >>> step, bool(losses[-1] < losses[0])
        (TrainStep(mode='eprop', feedback=symmetric, 3 weights), True)
    """
    return TrainStep(model, loss_fn, optimizer, mode, window=window, base=base, feedback=feedback,
                     feedback_seed=feedback_seed, reset_grad=reset_grad, jit=jit)
