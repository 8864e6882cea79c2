"""Recurrent cells: one time step of a vanilla RNN, GRU, MGU, LSTM and UR-LSTM.

A cell keeps its recurrent state in HiddenStates created by ``init_state(batch_size=None)``
(``nn.init_all_states(cell, batch_size)``) and reset by ``reset_state``; ``cell(x)`` advances
one step and returns the new output. Loop over time with ``brainstate.transform.for_loop``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import ConfigError, HiddenState, InputError, ParamState, StateUsageError

from . import _activations as F
from . import _init as init
from ._linear import Linear
from ._module import Module
from ._utils import generator

__all__ = ["RNNCell", "VanillaRNNCell", "ValinaRNNCell", "GRUCell", "MGUCell", "LSTMCell", "URLSTMCell"]

# Default initialisers: stateless, so one shared instance serves every layer.
_ORTHOGONAL = init.Orthogonal()
_XAVIER_NORMAL = init.XavierNormal()
_ZERO_INIT = init.ZeroInit()


def _activation(activation: str | Callable[[jax.Array], jax.Array]) -> Callable[[jax.Array], jax.Array]:
    if callable(activation):
        return activation
    fn = getattr(F, activation, None) if isinstance(activation, str) else None
    if fn is None or activation not in F.__all__:
        raise ConfigError(f"Unknown activation {activation!r}. Fix: pass a callable or one of {F.__all__}.")
    return fn


class RNNCell(Module):
    """Base class of the recurrent cells: sizes, state creation and the concatenated input.

    Subclasses list their hidden state attributes in ``_state_names`` and implement ``update``.
    """

    _state_names: tuple[str, ...] = ("h",)

    def __init__(self, num_in: int, num_out: int, state_init: Any, name: str | None) -> None:
        super().__init__(name=name)
        if num_in <= 0 or num_out <= 0:
            raise ConfigError(f"{type(self).__name__} needs positive sizes, got num_in={num_in}, num_out={num_out}. "
                              "Fix: pass num_in >= 1 and num_out >= 1.")
        self.num_in, self.num_out = int(num_in), int(num_out)
        self.in_size, self.out_size = (self.num_in,), (self.num_out,)
        self.state_init = state_init

    def init_state(self, batch_size: int | None = None, **kwargs: Any) -> None:
        """Create (or re-initialise in place) the hidden states, with a leading batch axis if given."""
        for name in self._state_names:
            self.set_state(name, init.param(self.state_init, self.num_out, batch_size), HiddenState)

    def reset_state(self, batch_size: int | None = None, **kwargs: Any) -> None:
        """Put the initial values back into the hidden states."""
        self.init_state(batch_size, **kwargs)

    def _states(self) -> tuple[HiddenState, ...]:
        try:
            return tuple(self.__dict__[name] for name in self._state_names)
        except KeyError:
            raise StateUsageError(
                f"{type(self).__name__} has no hidden state yet. Fix: call `brainstate.nn.init_all_states(model, "
                "batch_size)` (or `cell.init_state(batch_size)`) before running it."
            ) from None

    def _concat(self, x: jax.Array, h: jax.Array) -> jax.Array:
        if jnp.shape(x)[-1] != self.num_in:
            raise InputError(f"{type(self).__name__}(num_in={self.num_in}) got an input of shape {jnp.shape(x)}. "
                             f"Fix: pass inputs whose last axis has {self.num_in} features.")
        if jnp.ndim(x) != jnp.ndim(h):
            raise InputError(
                f"{type(self).__name__} got an input of shape {jnp.shape(x)} but its hidden state has shape "
                f"{jnp.shape(h)}. Fix: call init_state with the batch size of the input (None for no batch axis)."
            )
        return jnp.concatenate([x, h], axis=-1)

    def extra_repr(self) -> str:
        return f"num_in={self.num_in}, num_out={self.num_out}"


class VanillaRNNCell(RNNCell):
    """``h = activation(W [x, h] + b)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> cell = nn.init_all_states(nn.VanillaRNNCell(3, 5), batch_size=2)
        >>> cell(jnp.ones((2, 3))).shape
        (2, 5)
    """

    def __init__(self, num_in: int, num_out: int, state_init: Any = _ZERO_INIT, w_init: Any = _XAVIER_NORMAL,
                 b_init: Any = _ZERO_INIT, activation: str | Callable = "relu",
                 name: str | None = None) -> None:
        super().__init__(num_in, num_out, state_init, name)
        self.activation = _activation(activation)
        self.W = Linear(num_in + num_out, num_out, w_init=w_init, b_init=b_init)

    def update(self, x: jax.Array) -> jax.Array:
        (h,) = self._states()
        h.value = self.activation(self.W(self._concat(x, h.value)))
        return h.value


ValinaRNNCell = VanillaRNNCell  # the upstream spelling


class GRUCell(RNNCell):
    """Gated recurrent unit (Cho et al., 2014).

    ``r, z = sigmoid(W_rz [x, h])``; ``c = activation(W_h [x, r * h])``; ``h = (1 - z) * h + z * c``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> cell = nn.init_all_states(nn.GRUCell(3, 5))
        >>> cell(jnp.ones(3)).shape
        (5,)
    """

    def __init__(self, num_in: int, num_out: int, w_init: Any = _ORTHOGONAL, b_init: Any = _ZERO_INIT,
                 state_init: Any = _ZERO_INIT, activation: str | Callable = "tanh",
                 name: str | None = None) -> None:
        super().__init__(num_in, num_out, state_init, name)
        self.activation = _activation(activation)
        self.Wrz = Linear(num_in + num_out, num_out * 2, w_init=w_init, b_init=b_init)
        self.Wh = Linear(num_in + num_out, num_out, w_init=w_init, b_init=b_init)

    def update(self, x: jax.Array) -> jax.Array:
        (h,) = self._states()
        old = h.value
        r, z = jnp.split(F.sigmoid(self.Wrz(self._concat(x, old))), 2, axis=-1)
        candidate = self.activation(self.Wh(self._concat(x, r * old)))
        h.value = (1 - z) * old + z * candidate
        return h.value


class MGUCell(RNNCell):
    """Minimal gated unit (Zhou et al., 2016): a GRU whose reset and update gates are one gate.

    ``f = sigmoid(W_f [x, h])``; ``c = activation(W_h [x, f * h])``; ``h = (1 - f) * h + f * c``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> cell = nn.init_all_states(nn.MGUCell(3, 5), batch_size=4)
        >>> cell(jnp.ones((4, 3))).shape
        (4, 5)
    """

    def __init__(self, num_in: int, num_out: int, w_init: Any = _ORTHOGONAL, b_init: Any = _ZERO_INIT,
                 state_init: Any = _ZERO_INIT, activation: str | Callable = "tanh",
                 name: str | None = None) -> None:
        super().__init__(num_in, num_out, state_init, name)
        self.activation = _activation(activation)
        self.Wf = Linear(num_in + num_out, num_out, w_init=w_init, b_init=b_init)
        self.Wh = Linear(num_in + num_out, num_out, w_init=w_init, b_init=b_init)

    def update(self, x: jax.Array) -> jax.Array:
        (h,) = self._states()
        old = h.value
        f = F.sigmoid(self.Wf(self._concat(x, old)))
        candidate = self.activation(self.Wh(self._concat(x, f * old)))
        h.value = (1 - f) * old + f * candidate
        return h.value


class LSTMCell(RNNCell):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997), with states ``h`` and ``c``.

    ``i, g, f, o = W [x, h]``; ``c = sigmoid(f) * c + sigmoid(i) * activation(g)``;
    ``h = sigmoid(o) * activation(c)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> cell = nn.init_all_states(nn.LSTMCell(3, 5), batch_size=2)
        >>> cell(jnp.ones((2, 3))).shape, cell.c.value.shape
        ((2, 5), (2, 5))
    """

    _state_names = ("h", "c")

    def __init__(self, num_in: int, num_out: int, w_init: Any = _XAVIER_NORMAL, b_init: Any = _ZERO_INIT,
                 state_init: Any = _ZERO_INIT, activation: str | Callable = "tanh",
                 name: str | None = None) -> None:
        super().__init__(num_in, num_out, state_init, name)
        self.activation = _activation(activation)
        self.W = Linear(num_in + num_out, num_out * 4, w_init=w_init, b_init=b_init)

    def update(self, x: jax.Array) -> jax.Array:
        h, c = self._states()
        i, g, f, o = jnp.split(self.W(self._concat(x, h.value)), 4, axis=-1)
        c.value = F.sigmoid(f) * c.value + F.sigmoid(i) * self.activation(g)
        h.value = F.sigmoid(o) * self.activation(c.value)
        return h.value


class URLSTMCell(RNNCell):
    """LSTM with uniform gate initialisation and a refine gate (Gu et al., 2020, "UR-LSTM").

    The forget-gate bias ``b`` is drawn so that ``sigmoid(b)`` is uniform in ``(e, 1 - e)`` with ``e = min(1/n, 1/4)``,
    spreading the time scales of the units. With ``f = sigmoid(F + b)`` and ``r = sigmoid(R - b)``
    the effective gate is ``g = 2 r f + (1 - 2 r) f**2``; ``c = g * c + (1 - g) * activation(u)``
    and ``h = sigmoid(o) * activation(c)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> cell = nn.init_all_states(nn.URLSTMCell(3, 5), batch_size=2)
        >>> cell(jnp.ones((2, 3))).shape
        (2, 5)
    """

    _state_names = ("h", "c")

    def __init__(self, num_in: int, num_out: int, w_init: Any = _XAVIER_NORMAL, state_init: Any = _ZERO_INIT,
                 activation: str | Callable = "tanh", name: str | None = None, *, rng: Any = None) -> None:
        super().__init__(num_in, num_out, state_init, name)
        self.activation = _activation(activation)
        self.W = Linear(num_in + num_out, num_out * 4, w_init=w_init, b_init=None)
        eps = min(1.0 / num_out, 0.25)
        u = generator(rng).uniform(eps, 1.0 - eps, size=(num_out,))
        self.bias = ParamState(-jnp.log(1.0 / u - 1.0))

    def update(self, x: jax.Array) -> jax.Array:
        h, c = self._states()
        f, r, u, o = jnp.split(self.W(self._concat(x, h.value)), 4, axis=-1)
        f = F.sigmoid(f + self.bias.value)
        r = F.sigmoid(r - self.bias.value)
        g = 2 * r * f + (1 - 2 * r) * f ** 2
        c.value = g * c.value + (1 - g) * self.activation(u)
        h.value = F.sigmoid(o) * self.activation(c.value)
        return h.value
