"""Loops over stateful functions: scan, for_loop, while_loop, fori_loop and their checkpointed forms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import ConfigError, StateUsageError

from ._carry import Carry
from ._options import checked_options
from ._progress import ProgressBar
from ._stateful import StatefulFunction, boundary
from ._util import describe

__all__ = ["scan", "for_loop", "while_loop", "fori_loop", "checkpointed_scan", "checkpointed_for_loop"]


def _as_bar(pbar: ProgressBar | int | None) -> ProgressBar | None:
    """``pbar`` as a ProgressBar: an int is the frequency of a new one (upstream's ``pbar=10``)."""
    if pbar is None or isinstance(pbar, ProgressBar):
        return pbar
    if isinstance(pbar, int) and not isinstance(pbar, bool):
        return ProgressBar(freq=pbar)
    raise ConfigError(f"pbar must be a ProgressBar, an int (report every that many steps) or None, got {pbar!r}.")


def _check_base(base: int) -> None:
    if isinstance(base, bool) or not isinstance(base, int) or base < 2:
        raise ConfigError(f"base must be an int >= 2 (the steps of one checkpointed block), got {base!r}.")


def _nested_scan(body: Callable, carry: Any, xs: Any, n: int, base: int, unroll: int | bool) -> tuple[Any, Any]:
    """``jax.lax.scan(body, carry, xs, length=n)`` in checkpointed blocks of ``base ** k`` steps.

    The steps are split into ``q`` blocks of ``block`` steps (the largest power of ``base`` below
    ``n``), each a checkpointed nested scan, and a remainder of ``n - q * block`` steps, scanned the
    same way: every step runs exactly once forward and the backward pass keeps about ``base`` carries
    per level. No padding step ever runs.
    """
    if n <= base:
        return jax.lax.scan(body, carry, xs, length=n, unroll=unroll)
    block = base
    while block * base < n:
        block *= base
    q, r = divmod(n, block)
    head = jax.tree.map(lambda a: a[:q * block].reshape((q, block) + a.shape[1:]), xs)
    inner = jax.checkpoint(lambda c, x: _nested_scan(body, c, x, block, base, unroll), prevent_cse=False)
    carry, ys = jax.lax.scan(inner, carry, head, length=q)
    ys = jax.tree.map(lambda a: a.reshape((q * block,) + a.shape[2:]), ys)
    if r:
        carry, tail = _nested_scan(body, carry, jax.tree.map(lambda a: a[q * block:], xs), r, base, unroll)
        ys = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), ys, tail)
    return carry, ys


def _scan(f, init, xs, length, reverse, unroll, pbar, base: int | None, what: str, key=None):
    """The loops' one implementation; ``base`` (checkpointed loops) is the block size of :func:`_nested_scan`."""
    sf = StatefulFunction._shared(f, key)
    pbar = _as_bar(pbar)
    leaves = jax.tree.leaves(xs)
    total: int | None = length if length is not None else (leaves[0].shape[0] if leaves else None)
    if base is not None:
        _check_base(base)
        if total is None:
            raise StateUsageError(f"{what} needs a sequence to iterate over, or `length=`.")

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
                pbar.step(step, total, carry=out[0], y=out[1])
            return (new_values, out[0], step + 1), out[1]

        start = (carry.carried_values, init, jnp.zeros((), jnp.int32))
        if pbar is not None:
            pbar.start(total)
        if base is None:
            (values, user, _), ys = jax.lax.scan(body, start, xs, length=length, reverse=reverse, unroll=unroll)
        else:
            assert total is not None  # checked above, as base is given
            flip = (lambda t: jax.tree.map(lambda a: a[::-1], t)) if reverse else (lambda t: t)  # noqa: E731
            (values, user, _), ys = _nested_scan(body, start, flip(xs), total, base, unroll)
            ys = flip(ys)
        return carry.result(values, (user, ys))

    # The bar's start callback is traced in the enclosing trace, outside the scan: an attempt aborted to
    # learn more states leaves it there, so under jit it counts as an abort and jit traces again.
    return sf._apply(attempt, pollutes=pbar is not None)


_PBAR_DOC = """pbar: a :class:`ProgressBar`, or an int ``n`` for a ``ProgressBar(freq=n)``."""
_BASE_DOC = """base: the checkpoint block size: the steps run as nested scans of ``base`` steps, each
            block checkpointed, so the backward pass stores about ``base`` carries per level
            (``log_base(steps)`` levels) and recomputes the rest. The values and gradients are
            those of the plain loop."""


@checked_options("brainstate.transform.scan")
@boundary
def scan(
    f: Callable,
    init: Any,
    xs: Any = None,
    length: int | None = None,
    reverse: bool = False,
    unroll: int | bool = 1,
    pbar: ProgressBar | int | None = None,
):
    """``jax.lax.scan`` for a stateful body ``f(carry, x) -> (carry, y)``.

    States the body writes are carried from step to step and written back at the end; states it
    only reads are constants of the loop. A carried state must keep its shape and dtype.

    Args:
        f, init, xs, length, reverse, unroll: as for ``jax.lax.scan``.
        {pbar}

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
    return _scan(f, init, xs, length, reverse, unroll, pbar, None, "the scan body")


@checked_options("brainstate.transform.checkpointed_scan")
@boundary
def checkpointed_scan(f: Callable, init: Any, xs: Any = None, length: int | None = None, base: int = 16,
                      pbar: ProgressBar | int | None = None, *, reverse: bool = False, unroll: int | bool = 1):
    """:func:`scan` that saves memory in the backward pass by nested checkpointing.

    Args:
        f, init, xs, length: as for :func:`scan`.
        {base}
        {pbar}
        reverse, unroll: as for :func:`scan` (``unroll`` applies within the innermost blocks).

    Example:
        >>> import brainstate, jax, jax.numpy as jnp
        >>> step = lambda c, x: (c * 0.9 + x, c)
        >>> xs = jnp.arange(100.0)
        >>> c, ys = brainstate.transform.checkpointed_scan(step, 0.0, xs, base=4)
        >>> bool(jnp.allclose(c, jax.lax.scan(step, 0.0, xs)[0]))
        True
    """
    return _scan(f, init, xs, length, reverse, unroll, pbar, base, "the checkpointed scan body")


def _for_loop(f, xs, length, reverse, unroll, pbar, base):
    if not xs and length is None:
        raise StateUsageError("for_loop needs at least one sequence to iterate over, or `length=`.")
    ys = _scan(lambda c, x: (c, f(*x)), None, xs, length, reverse, unroll, pbar, base, "the for_loop body", key=f)[1]
    return ys


@checked_options("brainstate.transform.for_loop")
@boundary
def for_loop(f: Callable, *xs: Any, length: int | None = None, reverse: bool = False,
             unroll: int | bool = 1, pbar: ProgressBar | int | None = None):
    """Call ``f(*x)`` for each slice ``x`` of ``xs`` along the leading axis; stack the outputs.

    Args:
        f: the body.
        *xs: the sequences; ``length`` (the number of steps) may replace them.
        length, reverse, unroll: as for :func:`scan`.
        {pbar}

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> v = brainstate.HiddenState(jnp.array(0.0))
        >>> def step(i):
        ...     v.value = v.value * 0.5 + i
        ...     return v.value
        >>> brainstate.transform.for_loop(step, jnp.arange(3.0))
        Array([0. , 1. , 2.5], dtype=float32)
    """
    return _for_loop(f, xs, length, reverse, unroll, pbar, None)


@checked_options("brainstate.transform.checkpointed_for_loop")
@boundary
def checkpointed_for_loop(f: Callable, *xs: Any, length: int | None = None, base: int = 16,
                          pbar: ProgressBar | int | None = None, reverse: bool = False, unroll: int | bool = 1):
    """:func:`for_loop` that saves memory in the backward pass by nested checkpointing.

    Args:
        f, xs, length: as for :func:`for_loop`.
        {base}
        {pbar}
        reverse, unroll: as for :func:`scan`.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> brainstate.transform.checkpointed_for_loop(lambda x: x * 2, jnp.arange(3.0), base=2)
        Array([0., 2., 4.], dtype=float32)
    """
    return _for_loop(f, xs, length, reverse, unroll, pbar, base)


for _loop in (scan, checkpointed_scan, for_loop, checkpointed_for_loop):
    if _loop.__doc__:  # None under python -OO
        _loop.__doc__ = _loop.__doc__.replace("{pbar}", _PBAR_DOC).replace("{base}", _BASE_DOC)


@checked_options("brainstate.transform.while_loop")
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


@checked_options("brainstate.transform.fori_loop")
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
    return _scan(step, init_val, jnp.arange(lo, hi), None, False, unroll, None, None, "the fori_loop body", key=body_fun)[0]
