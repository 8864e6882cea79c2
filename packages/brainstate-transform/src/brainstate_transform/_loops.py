"""Loops over stateful functions: scan, for_loop, while_loop, fori_loop and their checkpointed forms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import StateUsageError

from ._carry import Carry
from ._progress import ProgressBar
from ._stateful import StatefulFunction, boundary
from ._util import describe

__all__ = ["scan", "for_loop", "while_loop", "fori_loop", "checkpointed_scan", "checkpointed_for_loop"]


def _scan(f, init, xs, length, reverse, unroll, pbar: ProgressBar | None, remat: bool, what: str, key=None):
    sf = StatefulFunction._shared(f, key)
    total = length if length is not None else (jax.tree.leaves(xs)[0].shape[0] if jax.tree.leaves(xs) else None)

    def attempt(known):
        carry = Carry(known, sf, what)
        pure = carry.pure(sf)

        def body(c, x):
            values, user, step = c
            out, new_values = pure(values, (user, x))
            if not (isinstance(out, tuple) and len(out) == 2):
                raise StateUsageError(
                    f"{what} `{getattr(f, '__qualname__', repr(f))}` must return a pair (carry, y); it returned "
                    f"{describe(out)}. Fix: return `carry, y` (y may be None)."
                )
            if pbar is not None:
                pbar.step(step, total)
            return (new_values, out[0], step + 1), out[1]

        if remat:
            body = jax.checkpoint(body)
        start = (carry.carried_values, init, jnp.zeros((), jnp.int32))
        (values, user, _), ys = jax.lax.scan(body, start, xs, length=length, reverse=reverse, unroll=unroll)
        return carry.result(values, (user, ys))

    return sf._apply(attempt)


@boundary
def scan(
    f: Callable,
    init: Any,
    xs: Any = None,
    length: int | None = None,
    reverse: bool = False,
    unroll: int | bool = 1,
    pbar: ProgressBar | None = None,
):
    """``jax.lax.scan`` for a stateful body ``f(carry, x) -> (carry, y)``.

    States the body writes are carried from step to step and written back at the end; states it
    only reads are constants of the loop. A carried state must keep its shape and dtype.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> total = brainstate.State(jnp.array(0.0))
        >>> def body(c, x):
        ...     total.value = total.value + x
        ...     return c + 1, total.value
        >>> brainstate.transform.scan(body, 0, jnp.arange(4.0))
        (Array(4, dtype=int32, weak_type=True), Array([0., 1., 3., 6.], dtype=float32))
        >>> float(total.value)
        6.0
    """
    return _scan(f, init, xs, length, reverse, unroll, pbar, False, "the scan body")


@boundary
def checkpointed_scan(f: Callable, init: Any, xs: Any = None, length: int | None = None,
                      reverse: bool = False, unroll: int | bool = 1, pbar: ProgressBar | None = None):
    """:func:`scan` whose body is rematerialised in the backward pass (memory O(steps x carry)).

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> brainstate.transform.checkpointed_scan(lambda c, x: (c + x, c), 0.0, jnp.ones(3))[0]
        Array(3., dtype=float32)
    """
    return _scan(f, init, xs, length, reverse, unroll, pbar, True, "the checkpointed scan body")


def _for_loop(f, xs, length, reverse, unroll, pbar, remat):
    if not xs and length is None:
        raise StateUsageError("for_loop needs at least one sequence to iterate over, or `length=`.")
    ys = _scan(lambda c, x: (c, f(*x)), None, xs, length, reverse, unroll, pbar, remat, "the for_loop body", key=f)[1]
    return ys


@boundary
def for_loop(f: Callable, *xs: Any, length: int | None = None, reverse: bool = False,
             unroll: int | bool = 1, pbar: ProgressBar | None = None):
    """Call ``f(*x)`` for each slice ``x`` of ``xs`` along the leading axis; stack the outputs.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> v = brainstate.HiddenState(jnp.array(0.0))
        >>> def step(i):
        ...     v.value = v.value * 0.5 + i
        ...     return v.value
        >>> brainstate.transform.for_loop(step, jnp.arange(3.0))
        Array([0. , 1. , 2.5], dtype=float32)
    """
    return _for_loop(f, xs, length, reverse, unroll, pbar, False)


@boundary
def checkpointed_for_loop(f: Callable, *xs: Any, length: int | None = None, reverse: bool = False,
                          unroll: int | bool = 1, pbar: ProgressBar | None = None):
    """:func:`for_loop` whose body is rematerialised in the backward pass.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> brainstate.transform.checkpointed_for_loop(lambda x: x * 2, jnp.arange(3.0))
        Array([0., 2., 4.], dtype=float32)
    """
    return _for_loop(f, xs, length, reverse, unroll, pbar, True)


@boundary
def while_loop(cond_fun: Callable, body_fun: Callable, init_val: Any) -> Any:
    """``jax.lax.while_loop`` for stateful functions.

    The body may read and write States; the condition may read them but must not write any
    (:class:`StateUsageError` otherwise), since its writes would be lost.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> n = brainstate.State(jnp.array(0))
        >>> def body(x):
        ...     n.value = n.value + 1
        ...     return x * 2
        >>> float(brainstate.transform.while_loop(lambda x: x < 10, body, 1.0)), int(n.value)
        (16.0, 4)
    """
    return _while_loop(cond_fun, body_fun, init_val)


def _while_loop(cond_fun: Callable, body_fun: Callable, init_val: Any, key: Any = None) -> Any:
    sf_body, sf_cond = StatefulFunction._shared(body_fun, key), StatefulFunction._shared(cond_fun)

    def attempt(known):
        carry = Carry(known, sf_body, "the while_loop body")
        pure_cond, pure_body = carry.pure(sf_cond, writes=False), carry.pure(sf_body)

        def cond(c):
            out, written = pure_cond(c[0], (c[1],))
            if written:
                raise StateUsageError(
                    "The while_loop condition wrote " + ", ".join(f"{s!r} (created at {s.source_info})" for s in written)
                    + ". Writes in a condition are lost. Fix: move the write into the body function."
                )
            return out

        def body(c):
            out, new_values = pure_body(c[0], (c[1],))
            return new_values, out

        values, out = jax.lax.while_loop(cond, body, (carry.carried_values, init_val))
        return carry.result(values, out)

    return sf_body._apply(attempt)


@boundary
def fori_loop(lower: Any, upper: Any, body_fun: Callable, init_val: Any, unroll: int | bool = 1) -> Any:
    """``jax.lax.fori_loop`` for a stateful ``body_fun(i, val) -> val``.

    With concrete bounds it runs as a :func:`scan` (reverse-mode differentiable); otherwise as a
    :func:`while_loop`.

    Example:
        >>> import brainstate
        >>> int(brainstate.transform.fori_loop(0, 5, lambda i, s: s + i, 0))
        10
    """
    try:
        lo, hi = int(lower), int(upper)
    except (TypeError, jax.errors.ConcretizationTypeError):
        def body(c):
            i, v = c
            return i + 1, body_fun(i, v)

        return _while_loop(lambda c: c[0] < upper, body, (jnp.asarray(lower), init_val), key=body_fun)[1]
    step = lambda v, i: (body_fun(i, v), None)  # noqa: E731
    return _scan(step, init_val, jnp.arange(lo, hi), None, False, unroll, None, False, "the fori_loop body", key=body_fun)[0]
