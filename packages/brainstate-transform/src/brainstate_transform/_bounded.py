"""``bounded_while_loop``: a stateful while loop with a step bound, differentiable in reverse mode."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import ConfigError, StateUsageError

from ._carry import Carry
from ._debug import unvmap
from ._options import checked_options
from ._stateful import StatefulFunction, boundary

__all__ = ["bounded_while_loop"]


@checked_options("brainstate.transform.bounded_while_loop")
@boundary
def bounded_while_loop(cond_fun: Callable, body_fun: Callable, init_val: Any, *, max_steps: int, base: int = 16) -> Any:
    """``while cond_fun(val): val = body_fun(val)``, stopping after at most ``max_steps`` steps.

    Unlike :func:`while_loop` it is differentiable in reverse mode: the loop is built from nested
    ``lax.scan`` s of ``base`` steps each (``ceil(log_base(max_steps))`` levels), and a block whose
    loop has already finished is skipped with a ``lax.cond``. A larger ``base`` compiles faster and
    runs a little slower. Under ``vmap`` a lane whose condition turned false keeps its value (and its
    states) while the other lanes go on. States follow the rules of :func:`while_loop`: the body
    reads and writes them, the condition may only read them.

    Args:
        cond_fun: ``val -> bool``.
        body_fun: ``val -> val`` (same structure, shapes and dtypes).
        init_val: the initial value.
        max_steps: the bound (a non-negative int); after that many steps the loop stops.
        base: the length of each nested scan (an int >= 2).

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> n = brainstate.State(jnp.array(0))
        >>> def body(x):
        ...     n.value = n.value + 1
        ...     return x * 2.0
        >>> float(brainstate.transform.bounded_while_loop(lambda x: x < 1000, body, 1.0, max_steps=5)), int(n.value)
        (32.0, 5)
        >>> float(brainstate.transform.grad(
        ...     lambda x: brainstate.transform.bounded_while_loop(lambda v: v < 10, lambda v: v * 3, x, max_steps=8))(1.0))
        27.0
    """
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 0:
        raise ConfigError(f"bounded_while_loop: max_steps must be a non-negative int, got {max_steps!r}.")
    if isinstance(base, bool) or not isinstance(base, int) or base < 2:
        raise ConfigError(f"bounded_while_loop: base must be an int >= 2, got {base!r}.")
    init_val = jax.tree.map(jnp.asarray, init_val)
    if max_steps == 0:
        return init_val
    levels, size = 0, 1
    while size < max_steps:
        levels, size = levels + 1, size * base
    sf_body, sf_cond = StatefulFunction._shared(body_fun), StatefulFunction._shared(cond_fun)

    def attempt(known):
        carry = Carry(known, sf_body, "the bounded_while_loop body")
        pure_cond, pure_body = carry.pure(sf_cond, writes=False), carry.pure(sf_body)

        def going(values, val, steps):
            out, written = pure_cond(values, (val,))
            if written:
                raise StateUsageError(
                    f"The bounded_while_loop condition `{getattr(cond_fun, '__qualname__', cond_fun)!r}` wrote "
                    f"{', '.join(map(repr, written))}; those writes would be lost. Fix: write in the body."
                )
            return jnp.logical_and(out, steps < max_steps)

        def step(c):
            def advance(c):
                values, val, steps, _ = c
                new_val, new_values = pure_body(values, (val,))
                return new_values, new_val, steps + 1, going(new_values, new_val, steps + 1)

            return jax.lax.cond(c[3], advance, lambda c: c, c)  # a select per lane under vmap

        def run(level, c):
            if level == 0:
                return step(c)

            def block(c):
                return jax.lax.scan(lambda c, _: (run(level - 1, c), None), c, length=base)[0]

            # Skip a block once every lane is done.
            return jax.lax.cond(unvmap(c[3], op="any"), block, lambda c: c, c)

        start = jnp.zeros((), jnp.int32)
        c = (carry.carried_values, init_val, start, going(carry.carried_values, init_val, start))
        values, val, _, _ = run(levels, c)
        return carry.result(values, val)

    return sf_body._apply(attempt)
