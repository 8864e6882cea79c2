"""``Param`` and ``Const``: parameters kept unconstrained behind a constraint transform."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_core import ConfigError, ParamState, State, environ
from brainstate_core.internal import is_tracer, peek

from ._module import Module
from ._param_transforms import IdentityT, Transform
from ._regularizers import Regularization

__all__ = ["Param", "Const"]


class Param(Module):
    """A parameter trained in an unconstrained space and used through a constraint transform.

    The constrained ``value`` given here is stored as ``t.inverse(value)`` in a
    :class:`~brainstate.ParamState`, ``self.val``: that is what gradients and optimisers see.
    :meth:`value` (also ``param()``) returns ``t.forward(val)``, optionally passed through
    ``precompute``, so the model always sees a value inside the constraint. An optional
    regularisation (a penalty or a prior) gives :meth:`reg_loss`.

    With ``fit=False`` the unconstrained value is kept as a plain array: it is not a State, so no
    transformation trains it (see :class:`Const`).

    Args:
        value: the initial value, in the constrained space.
        t: the constraint transform (default: none).
        reg: an optional :class:`~brainstate.nn.Regularization`, applied to the constrained value.
        precompute: an optional function applied to the constrained value by :meth:`value`.
        fit: whether the parameter is trainable (held in a ``ParamState``).

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> tau = nn.Param(jnp.array([1.0, 2.0]), t=nn.SoftplusT(0.0), reg=nn.L2Reg(0.1))
        >>> tau.value()
        Array([1., 2.], dtype=float32)
        >>> tau.val
        ParamState(f32[2])
        >>> round(float(tau.reg_loss()), 4)
        0.5
        >>> tau.set_value(jnp.array([3.0, 4.0]))
        >>> tau()
        Array([3., 4.], dtype=float32)
    """

    def __init__(
        self,
        value: Any,
        t: Transform | None = None,
        reg: Regularization | None = None,
        precompute: Callable[[Any], Any] | None = None,
        fit: bool = True,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        t = IdentityT() if t is None else t
        if not isinstance(t, Transform):
            raise ConfigError(f"Param got t={t!r}, which is not a Transform. Fix: pass e.g. brainstate.nn.SoftplusT(0.0).")
        if reg is not None and not isinstance(reg, Regularization):
            raise ConfigError(
                f"Param got reg={reg!r}, which is not a Regularization. Fix: pass e.g. brainstate.nn.L2Reg(1e-3), or None."
            )
        if precompute is not None and not callable(precompute):
            raise ConfigError(f"Param got precompute={precompute!r}, which is not callable. Fix: pass a function or None.")
        self.fit = bool(fit)
        self.t = t
        self.reg = reg
        self.precompute = precompute
        raw = t.inverse(self._as_array(value))
        self.val = ParamState(raw) if self.fit else raw
        self._cache: tuple[Any, Any] | None = None

    @staticmethod
    def _as_array(value: Any) -> jax.Array:
        if isinstance(value, State):
            value = value.value
        value = jnp.asarray(value)
        if not jnp.issubdtype(value.dtype, jnp.inexact):
            value = value.astype(environ.dftype())
        return value

    # -- values ------------------------------------------------------------------------------
    def _raw(self) -> Any:
        return self.val.value if isinstance(self.val, State) else self.val

    def _compute(self, raw: Any) -> Any:
        out = self.t.forward(raw)
        return out if self.precompute is None else self.precompute(out)

    def value(self) -> Any:
        """The constrained value ``t.forward(val)`` (then ``precompute``); differentiable in ``val``.

        Returns the value stored by :meth:`cache` while the unconstrained value is the very array
        it was computed from; otherwise computes it afresh (and never caches a traced value).
        """
        raw = self._raw()
        cache = self._cache
        if cache is not None and cache[0] is raw:
            return cache[1]
        return self._compute(raw)

    def update(self) -> Any:
        """``param()`` is :meth:`value`."""
        return self.value()

    def set_value(self, value: Any) -> None:
        """Store ``t.inverse(value)``: ``value`` is given in the constrained space.

        Example:
            >>> import brainstate_nn as nn
            >>> p = nn.Param(1.0, t=nn.PositiveT())
            >>> p.set_value(2.0)
            >>> round(float(p.val.value), 4)
            0.6931
        """
        raw = self.t.inverse(self._as_array(value))
        if isinstance(self.val, State):
            self.val.value = raw
        else:
            self.val = raw

    # -- caching -----------------------------------------------------------------------------
    def cache(self) -> Any:
        """Compute the constrained value now and keep it for :meth:`value`, until ``val`` changes.

        The cache is tied to the array held by ``val``: any write (:meth:`set_value`, an optimiser
        step, a transformation's write-back) replaces that array, so a stale value is never
        returned. Inside a transformation the value is traced and is not cached.

        Example:
            >>> import brainstate_nn as nn
            >>> p = nn.Param(2.0, t=nn.SoftplusT(0.0))
            >>> v = p.cache()
            >>> p.value() is v, p.cache_stats['valid']
            (True, True)
            >>> p.set_value(3.0)
            >>> p.cache_stats['valid']
            False
        """
        raw = self._raw()
        out = self._compute(raw)
        if not any(is_tracer(leaf) for leaf in jax.tree.leaves((raw, out))):
            self._cache = (raw, out)
        return out

    def clear_cache(self) -> None:
        """Forget the value stored by :meth:`cache`."""
        self._cache = None

    @property
    def cache_stats(self) -> dict[str, bool]:
        """``{'valid': ..., 'has_cached_value': ...}``: whether :meth:`value` would use the cache."""
        cache = self._cache
        raw = peek(self.val) if isinstance(self.val, State) else self.val
        return {"valid": cache is not None and cache[0] is raw, "has_cached_value": cache is not None}

    # -- regularisation ----------------------------------------------------------------------
    def reg_loss(self) -> Any:
        """The regularisation loss of the constrained value; ``0.0`` if not ``fit`` or without ``reg``."""
        if not self.fit or self.reg is None:
            return 0.0
        return self.reg.loss(self.value())

    def reset_to_prior(self) -> None:
        """Set the value to the regulariser's :meth:`~Regularization.reset_value` (if there is one)."""
        if self.reg is not None:
            self.set_value(jnp.broadcast_to(self.reg.reset_value(), jnp.shape(self.value())))

    def clip(self, min_val: Any | None = None, max_val: Any | None = None) -> None:
        """Clip the constrained value in place to ``[min_val, max_val]``."""
        self.set_value(jnp.clip(self.value(), min_val, max_val))

    # -- display and construction ------------------------------------------------------------
    def extra_repr(self) -> str:
        reg = f", reg={self.reg!r}" if self.reg is not None else ""
        return f"t={self.t!r}{reg}, fit={self.fit}"

    @classmethod
    def init(
        cls,
        data: Any,
        sizes: int | Sequence[int] | None = None,
        allow_none: bool = True,
        **param_kwargs: Any,
    ) -> Param | None:
        """A ``Param`` from ``data``: returned as is if it is one, else a :class:`Const` of it.

        Args:
            data: a ``Param``, an array or scalar, an initialiser / callable ``f(sizes)``, or ``None``.
            sizes: the shape the value must broadcast with (required for a callable).
            allow_none: whether ``None`` is accepted (and returned).
            **param_kwargs: passed to a callable ``data``.

        Example:
            >>> import brainstate_nn as nn
            >>> c = nn.Param.init(nn.init.Constant(0.5), (2,))
            >>> type(c).__name__, c.value()
            ('Const', Array([0.5, 0.5], dtype=float32))
        """
        if data is None:
            if allow_none:
                return None
            raise ConfigError("Param.init got None. Fix: pass an array, a scalar, an initialiser or a Param.")
        shape = None if sizes is None else tuple(int(s) for s in np.atleast_1d(sizes))
        if not isinstance(data, Param):
            if callable(data):
                if shape is None:
                    raise ConfigError(f"Param.init got the callable {data!r} but no sizes. Fix: pass sizes=(...).")
                data = data(shape, **param_kwargs)
            if not isinstance(data, (numbers.Number, np.generic, np.ndarray, jax.Array)):
                raise ConfigError(
                    f"Param.init cannot make a parameter of {type(data).__name__}. "
                    "Fix: pass an array, a scalar, an initialiser or a Param."
                )
            data = Const(data)
        if shape is not None:
            got = jnp.shape(data.value())
            try:
                jnp.broadcast_shapes(got, shape)
            except ValueError:
                raise ConfigError(
                    f"Param.init: the value has shape {got}, which does not broadcast with sizes {shape}. "
                    "Fix: pass a value of a matching shape."
                ) from None
        return data


class Const(Param):
    """A fixed parameter: :class:`Param` with ``fit=False`` (the value is not a State, so no
    transformation trains it; :meth:`~Param.set_value` still changes it).

    Example:
        >>> import brainstate_nn as nn
        >>> c = nn.Const([1.0, 2.0])
        >>> c.value(), c.fit, c.states()
        (Array([1., 2.], dtype=float32), False, FlattedDict({}))
    """

    def __init__(self, value: Any, **param_kwargs: Any) -> None:
        if param_kwargs.pop("fit", False):
            raise ConfigError("Const got fit=True: a Const is never trained. Fix: use brainstate.nn.Param to train it.")
        super().__init__(value, fit=False, **param_kwargs)
