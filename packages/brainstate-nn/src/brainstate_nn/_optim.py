"""Optimisers backed by optax, keeping their state in States so that jitted training steps need no threading."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import LongTermState, ParamState, State, StateShapeError, StateUsageError, graph
from brainstate_core.internal import declared_specs
from brainstate_core.util import FlattedDict, NestedDict

from ._linear_variants import clip_grad_norm as _clip_grad_norm
from ._module import Module

__all__ = ["OptimState", "OptaxOptimizer", "SGD", "Momentum", "Adam", "AdamW", "RMSprop", "clip_grad_norm"]

LearningRate = float | Callable[[jax.Array], jax.Array]


def _optax() -> Any:
    try:
        import optax
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "brainstate.nn.optim needs optax. Fix: `pip install brainstate-nn[optim]` (or `pip install optax`)."
        ) from None
    return optax


class OptimState(LongTermState):
    """The state of an optimiser: its optax state (moments, counts) and its step counter."""

    __slots__ = ()


def clip_grad_norm(grads: Any, max_norm: float) -> tuple[Any, jax.Array]:
    """Scale ``grads`` (any pytree) so that their global L2 norm is at most ``max_norm``.

    The L2 shorthand of :func:`brainstate.nn.clip_grad_norm` (``norm_type=2``, ``return_norm=True``).

    Returns:
        ``(clipped_grads, norm)`` where ``norm`` is the norm before clipping.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> g, norm = nn.optim.clip_grad_norm({'a': jnp.array([3.0, 4.0])}, 1.0)
        >>> float(norm), g['a'].round(3).tolist()
        (5.0, [0.6, 0.8])
    """
    return _clip_grad_norm(grads, max_norm, 2.0, return_norm=True)


def _follow_params(tx: Any, opt_state: Any, param_states: FlattedDict) -> Any:
    """A ``sharding=`` declaration for the optimiser state: each per-weight leaf (a moment) laid out as its
    weight is declared, everything else (step counts) replicated; ``None`` when no weight is declared."""
    if all(s.metadata.get("sharding") is None for s in param_states.values()):
        return None
    from jax.sharding import PartitionSpec

    per_weight = FlattedDict((p, declared_specs(s)) for p, s in param_states.items())
    optax = _optax()
    return optax.tree_map_params(tx, lambda _, spec: spec, opt_state, per_weight,
                                 transform_non_params=lambda _: PartitionSpec(),
                                 is_leaf=lambda x: isinstance(x, PartitionSpec))


def _as_param_states(params: Any) -> FlattedDict:
    if isinstance(params, NestedDict):
        params = params.to_flat()
    if isinstance(params, State):
        return FlattedDict({(): params})
    if isinstance(params, Mapping):
        bad = [k for k, v in params.items() if not isinstance(v, State)]
        if bad:
            raise StateUsageError(
                f"The trainable weights must be States, but the entries {bad[:3]} are not. Fix: pass "
                "`model.states(brainstate.ParamState)` (or the model itself)."
            )
        return FlattedDict((k if isinstance(k, tuple) else (k,), v) for k, v in params.items())
    return graph.states(params, ParamState)


class OptaxOptimizer(Module):
    """Apply an optax gradient transformation to a set of States.

    The optimiser keeps the optax state and a step counter in :class:`OptimState` objects, so a
    training step that calls :meth:`update` inside ``brainstate.transform.jit`` updates them
    like any other state, and checkpoints of ``{'model': model, 'optim': optimizer}`` include them.
    The weights themselves are not part of the optimiser's own states.

    Args:
        tx: an ``optax.GradientTransformation``.
        params: the weights to train: ``model.states(ParamState)`` (any path-keyed mapping of
            States), a single State, or a model (its ParamStates). May be given later with
            :meth:`register_trainable_weights`.

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn, brainstate_transform as T, jax.numpy as jnp, optax
        >>> model = nn.Linear(2, 1, w_init=jnp.zeros((2, 1)))
        >>> opt = nn.optim.OptaxOptimizer(optax.sgd(0.1), model.states(bc.ParamState))
        >>> @T.jit
        ... def step(x, y):
        ...     params = model.states(bc.ParamState)
        ...     grads = T.grad(lambda: jnp.mean((model(x) - y) ** 2), grad_states=params)()
        ...     opt.update(grads)
        >>> for _ in range(200):
        ...     step(jnp.array([[1.0, 2.0]]), jnp.array([[3.0]]))
        >>> round(float(model(jnp.array([1.0, 2.0]))[0]), 3), int(opt.step.value)
        (3.0, 200)
    """

    _graph_skip = ("param_states",)

    def __init__(self, tx: Any, params: Any = None) -> None:
        super().__init__()
        self.tx = tx
        self.param_states = FlattedDict()
        self.opt_state: OptimState | None = None
        self.step = OptimState(jnp.zeros((), jnp.int32))
        if params is not None:
            self.register_trainable_weights(params)

    def register_trainable_weights(self, params: Any) -> OptaxOptimizer:
        """Set the weights to train (see the class arguments) and initialise the optax state."""
        self.param_states = _as_param_states(params)
        values = FlattedDict((p, s.value) for p, s in self.param_states.items())
        init = self.tx.init(values)
        layout = _follow_params(self.tx, init, self.param_states)
        if self.opt_state is None:
            self.opt_state = OptimState(init, **({} if layout is None else {"sharding": layout}))
        else:
            self.opt_state.value = init
            if layout is not None:
                self.opt_state.metadata["sharding"] = layout
        return self

    def _check_grads(self, grads: Mapping) -> FlattedDict:
        if self.opt_state is None:
            raise StateUsageError(
                f"{type(self).__name__} has no weights to train. Fix: pass them at construction or call "
                "`optimizer.register_trainable_weights(model.states(brainstate.ParamState))`."
            )
        if isinstance(grads, NestedDict):
            grads = grads.to_flat()
        if not isinstance(grads, Mapping):
            raise StateShapeError(f"{type(self).__name__}.update expects a path -> gradient mapping (as returned by "
                                  f"brainstate.transform.grad over the registered states), got {type(grads).__name__}.")
        missing = [p for p in self.param_states if p not in grads]
        unknown = [p for p in grads if p not in self.param_states]
        if missing or unknown:
            lines = [f"  {p}: no gradient given" for p in missing] + [f"  {p}: not a registered weight" for p in unknown]
            raise StateShapeError(
                f"{type(self).__name__}.update got gradients that do not match its weights:\n" + "\n".join(lines)
                + "\nFix: differentiate with respect to exactly the registered states "
                "(`grad_states=optimizer.param_states`)."
            )
        return FlattedDict((p, grads[p]) for p in self.param_states)

    def update(self, grads: Mapping) -> None:
        """Apply one optimisation step with ``grads`` (path -> gradient, keyed like the weights)."""
        optax = _optax()
        grads = self._check_grads(grads)
        opt_state = self.opt_state
        assert opt_state is not None  # _check_grads raised otherwise
        values = FlattedDict((p, s.value) for p, s in self.param_states.items())
        updates, new_state = self.tx.update(grads, opt_state.value, values)
        new_values = optax.apply_updates(values, updates)
        for path, state in self.param_states.items():
            state.value = new_values[path]
        opt_state.value = new_state
        self.step.value = self.step.value + 1

    def extra_repr(self) -> str:
        return f"{len(self.param_states)} weights"


def _chain(lr: LearningRate, core: list, weight_decay: float, coupled: bool, grad_clip_norm: float | None) -> Any:
    optax = _optax()
    parts = []
    if grad_clip_norm is not None:
        parts.append(optax.clip_by_global_norm(grad_clip_norm))
    if weight_decay and coupled:
        parts.append(optax.add_decayed_weights(weight_decay))
    parts += core
    if weight_decay and not coupled:
        parts.append(optax.add_decayed_weights(weight_decay))
    parts.append(optax.scale_by_learning_rate(lr))
    return optax.chain(*parts)


class _Named(OptaxOptimizer):
    """An optimiser built from hyper-parameters; shows them in its repr and exposes :meth:`current_lr`."""

    def __init__(self, tx: Any, params: Any, lr: LearningRate, **hyper: Any) -> None:
        self.lr = lr
        self._hyper = hyper
        super().__init__(tx, params)

    def current_lr(self) -> jax.Array:
        """The learning rate of the next step (``lr(step)`` for a schedule)."""
        return self.lr(self.step.value) if callable(self.lr) else jnp.asarray(self.lr)

    def extra_repr(self) -> str:
        lr = getattr(self.lr, "__name__", None) if callable(self.lr) else self.lr
        hyper = "".join(f", {k}={v!r}" for k, v in self._hyper.items())
        return f"lr={lr}{hyper}, {len(self.param_states)} weights"


class SGD(_Named):
    """Stochastic gradient descent, with optional momentum, Nesterov momentum and L2 weight decay.

    Args:
        lr: learning rate, or an optax schedule ``step -> lr``.
        momentum: momentum coefficient (0 for plain SGD).
        nesterov: use Nesterov momentum.
        weight_decay: L2 penalty added to the gradients.
        grad_clip_norm: clip the global gradient norm to this value first.
        params: the weights (see :class:`OptaxOptimizer`).

    Example:
        >>> import brainstate_nn as nn, optax
        >>> nn.optim.SGD(optax.cosine_decay_schedule(0.1, 100), momentum=0.9)
        SGD(lr=schedule, momentum=0.9, nesterov=False, weight_decay=0.0, 0 weights)
          step: OptimState(i32[])
    """

    def __init__(self, lr: LearningRate, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0,
                 grad_clip_norm: float | None = None, params: Any = None) -> None:
        optax = _optax()
        core = [optax.trace(decay=momentum, nesterov=nesterov)] if momentum else []
        super().__init__(_chain(lr, core, weight_decay, True, grad_clip_norm), params, lr,
                         momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)


class Momentum(SGD):
    """SGD with momentum 0.9 by default (see :class:`SGD`)."""

    def __init__(self, lr: LearningRate, momentum: float = 0.9, nesterov: bool = False, weight_decay: float = 0.0,
                 grad_clip_norm: float | None = None, params: Any = None) -> None:
        super().__init__(lr, momentum, nesterov, weight_decay, grad_clip_norm, params)


class Adam(_Named):
    """Adam (Kingma & Ba, 2015); ``weight_decay`` is an L2 penalty added to the gradients.

    Args:
        lr: learning rate, or an optax schedule.
        betas: decay rates of the first and second moment estimates.
        eps: added to the denominator.
        weight_decay: L2 penalty (use :class:`AdamW` for decoupled decay).
        amsgrad: use the AMSGrad variant.
        grad_clip_norm: clip the global gradient norm to this value first.
        params: the weights (see :class:`OptaxOptimizer`).
    """

    _decoupled = False

    def __init__(self, lr: LearningRate = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, grad_clip_norm: float | None = None,
                 params: Any = None) -> None:
        optax = _optax()
        scale = optax.scale_by_amsgrad if amsgrad else optax.scale_by_adam
        core = [scale(b1=betas[0], b2=betas[1], eps=eps)]
        super().__init__(_chain(lr, core, weight_decay, not self._decoupled, grad_clip_norm), params, lr,
                         betas=tuple(betas), eps=eps, weight_decay=weight_decay)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019); arguments as in :class:`Adam`.

    Example:
        >>> import brainstate_nn as nn
        >>> nn.optim.AdamW(1e-3, params=nn.Linear(2, 2))
        AdamW(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01, 1 weights)
          opt_state: OptimState(5 arrays, 13 elements)
          step: OptimState(i32[])
    """

    _decoupled = True

    def __init__(self, lr: LearningRate = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, grad_clip_norm: float | None = None,
                 params: Any = None) -> None:
        super().__init__(lr, betas, eps, weight_decay, amsgrad, grad_clip_norm, params)


class RMSprop(_Named):
    """RMSprop (Tieleman & Hinton, 2012).

    Args:
        lr: learning rate, or an optax schedule.
        alpha: decay rate of the squared-gradient average.
        eps: added to the denominator.
        momentum: momentum coefficient (0 for none).
        centered: divide by the variance instead of the second moment.
        weight_decay: L2 penalty added to the gradients.
        grad_clip_norm: clip the global gradient norm to this value first.
        params: the weights (see :class:`OptaxOptimizer`).
    """

    def __init__(self, lr: LearningRate = 1e-2, alpha: float = 0.99, eps: float = 1e-8, momentum: float = 0.0,
                 centered: bool = False, weight_decay: float = 0.0, grad_clip_norm: float | None = None,
                 params: Any = None) -> None:
        optax = _optax()
        scale = optax.scale_by_stddev if centered else optax.scale_by_rms
        core = [scale(decay=alpha, eps=eps, initial_scale=0.0, eps_in_sqrt=False)]  # PyTorch: g / (sqrt(v) + eps)
        if momentum:
            core.append(optax.trace(decay=momentum))
        super().__init__(_chain(lr, core, weight_decay, True, grad_clip_norm), params, lr,
                         alpha=alpha, eps=eps, momentum=momentum, centered=centered, weight_decay=weight_decay)
