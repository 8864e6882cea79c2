"""Vector-Jacobian and Jacobian-vector products of stateful functions, in the call forms of ``jax.vjp`` / ``jax.jvp``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import InputError
from brainstate_core.internal import read_values

from ._differentiated import _Differentiated, _substitute
from ._stateful import Known, boundary

__all__ = ["vjp", "jvp"]


def _vjp_argnums(argnums: int | Sequence[int] | None, n: int) -> int | tuple[int, ...] | None:
    """``argnums`` checked against ``n`` primals, negatives made positive; ``None`` without primals."""
    if argnums is None or n == 0:
        return None
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    for i in nums:
        if not -n <= i < n:
            raise InputError(f"vjp: argnums {i} is out of range for a function called with {n} positional "
                             "argument(s). Fix: pass an index below the number of primals, or argnums=None.")
    nums = tuple(i % n for i in nums)
    if len(set(nums)) != len(nums):
        raise InputError(f"vjp: argnums {argnums!r} names the same argument twice. Fix: list each position once.")
    return nums[0] if single else nums


@boundary
def vjp(fun: Callable, *primals: Any, grad_states: Any = None, argnums: int | Sequence[int] | None = 0,
        has_aux: bool = False) -> tuple:
    """``jax.vjp`` for a stateful function: ``(value, pullback)``, or ``(value, pullback, aux)``.

    ``fun`` is evaluated at ``primals`` once; ``pullback(cotangent)`` returns the derivatives of the
    value along ``cotangent``, arranged as :func:`grad` arranges them: the state derivatives (the
    structure of ``grad_states``), the argument derivatives (unwrapped for an int ``argnums``, a
    tuple for a sequence), or ``(state derivatives, argument derivatives)`` when both are asked
    for. Writes to States inside ``fun`` persist.

    Args:
        fun: the function; with ``has_aux=True`` it returns ``(value, aux)``.
        *primals: the positional arguments at which ``fun`` is evaluated.
        grad_states: a State or a list/tuple/dict nest of States to differentiate; every one must
            be used by ``fun`` (:class:`StateUsageError` otherwise).
        argnums: the primals to differentiate; ``None`` (or no primals) differentiates the
            states only.
        has_aux: ``fun`` returns ``(value, aux)``; ``aux`` is returned last, undifferentiated.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> w = brainstate.ParamState(jnp.array(2.0))
        >>> value, pullback = brainstate.transform.vjp(lambda x: w.value * x, 3.0, grad_states=w)
        >>> [float(g) for g in pullback(1.0)]
        [3.0, 2.0]
        >>> value, pullback = brainstate.transform.vjp(lambda: w.value ** 2, grad_states={"w": w})
        >>> float(pullback(1.0)["w"])
        4.0
    """
    nums = _vjp_argnums(argnums, len(primals))
    if nums is None and grad_states is None:
        raise InputError("vjp has nothing to differentiate: give positional primals (selected by argnums) "
                         "and/or grad_states.")
    diff = _Differentiated(fun, grad_states, nums, has_aux, check_states=True)
    positions = diff._arg_tuple

    def attempt(known: Known):
        states, other_values, pure = diff._layout(known, {})

        def of_differentiated(grad_values: list, *selected: Any):
            value, (_, aux, new) = pure(grad_values, other_values, *_substitute(primals, positions, selected))
            return value, (aux, new)

        value, pullback, (aux, new) = jax.vjp(of_differentiated, read_values(diff._grad_states),
                                              *[primals[i] for i in positions], has_aux=True)
        return states, new, (value, pullback, aux)

    value, pullback, aux = diff._sf._apply(attempt, pollutes=True)

    def structured(cotangent: Any) -> Any:
        derivatives = pullback(cotangent)  # (grad state values, *selected primals)
        return diff._arrange(derivatives if diff._grad_states else derivatives[1:])

    return (value, structured, aux) if has_aux else (value, structured)


@boundary
def jvp(fun: Callable, primals: Sequence[Any], tangents: Sequence[Any], *, grad_states: Any = None,
        state_tangents: Any = None, has_aux: bool = False) -> tuple:
    """``jax.jvp`` for a stateful function: ``(value, tangent_out)``, or ``(value, tangent_out, aux)``.

    Args:
        fun: the function; with ``has_aux=True`` it returns ``(value, aux)``.
        primals: tuple (or list) of the positional arguments.
        tangents: tuple (or list) of their tangents, structured as ``primals``.
        grad_states: States whose values get a tangent too (brainstate's extension; upstream
            treats every State as a constant).
        state_tangents: the tangents of ``grad_states``, mirroring its structure (zeros when
            omitted).
        has_aux: ``fun`` returns ``(value, aux)``; ``aux`` is returned last.

    Writes to States inside ``fun`` persist.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> w = brainstate.ParamState(jnp.array(2.0))
        >>> [float(v) for v in brainstate.transform.jvp(lambda x: w.value * x, (3.0,), (1.0,))]
        [6.0, 2.0]
        >>> out = brainstate.transform.jvp(lambda x: w.value * x, (3.0,), (1.0,), grad_states=w, state_tangents=0.5)
        >>> [float(v) for v in out]
        [6.0, 3.5]
    """
    for what, seq in (("primals", primals), ("tangents", tangents)):
        if not isinstance(seq, (tuple, list)):
            raise TypeError(f"jvp: {what} must be a tuple or list of positional arguments, got {type(seq).__name__}.")
    diff = _Differentiated(fun, grad_states, None if grad_states is not None else 0, has_aux, check_states=False)
    grad_values = read_values(diff._grad_states)
    if state_tangents is None:
        state_tangents = [jnp.zeros_like(v) for v in grad_values]
    else:
        state_tangents = diff._grad_tree.flatten_up_to(state_tangents)

    def attempt(known: Known):
        states, other_values, pure = diff._layout(known, {})

        def of_differentiated(values: list, *args: Any):
            value, (_, aux, new) = pure(values, other_values, *args)
            return value, (aux, new)

        value, tangent, (aux, new) = jax.jvp(of_differentiated, (grad_values, *primals),
                                             (list(state_tangents), *tangents), has_aux=True)
        return states, new, (value, tangent, aux)

    value, tangent, aux = diff._sf._apply(attempt, pollutes=True)
    return (value, tangent, aux) if has_aux else (value, tangent)
