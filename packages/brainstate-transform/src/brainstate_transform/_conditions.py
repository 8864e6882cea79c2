"""Branching over stateful functions: cond, switch, ifelse."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import StateUsageError
from brainstate_core.internal import is_tracer

from ._carry import Carry
from ._options import checked_options
from ._stateful import StatefulFunction, boundary

__all__ = ["cond", "switch", "ifelse"]


def _switch(index: Any, branches: Sequence[Callable], operands: tuple) -> Any:
    no_jit = jax.config.jax_disable_jit  # pyright: ignore[reportAttributeAccessIssue]  # run-time jax flag
    if no_jit and not is_tracer(index):
        # As jax.lax.switch under disable_jit: only the taken branch runs, as plain Python.
        return branches[min(max(int(index), 0), len(branches) - 1)](*operands)
    sfs = [StatefulFunction._shared(b) for b in branches]
    owner = sfs[0]  # learns the states of all branches

    def attempt(known):
        carry = Carry(known, owner, "a cond/switch branch")
        pures = [carry.pure(sf) for sf in sfs]
        out, values = jax.lax.switch(index, [_branch(p) for p in pures], carry.carried_values, *operands)
        return carry.result(values, out)

    return owner._apply(attempt)


def _branch(pure: Callable) -> Callable:
    """A ``jax.lax.switch`` branch ``(carried values, *operands) -> (out, new carried values)``."""
    return lambda values, *ops: pure(values, ops)


@checked_options("brainstate.transform.cond")
@boundary
def cond(pred: Any, true_fun: Callable, false_fun: Callable, *operands: Any) -> Any:
    """``jax.lax.cond`` for stateful branches.

    A state written in either branch is carried through both: the branch that does not write it
    leaves its value unchanged. Under ``jax.disable_jit()`` with a concrete ``pred``, only the taken
    branch runs, as plain Python (so do :func:`switch` and :func:`ifelse`).

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> s = brainstate.State(jnp.array(1.0))
        >>> def double(x):
        ...     s.value = s.value * 2
        ...     return x
        >>> _ = brainstate.transform.cond(True, double, lambda x: x, 0.0)
        >>> _ = brainstate.transform.cond(False, double, lambda x: x, 0.0)
        >>> float(s.value)
        2.0
    """
    return _switch(jnp.asarray(pred, dtype=bool).astype(jnp.int32), [false_fun, true_fun], operands)


@checked_options("brainstate.transform.switch")
@boundary
def switch(index: Any, branches: Sequence[Callable], *operands: Any) -> Any:
    """``jax.lax.switch`` for stateful branches (``index`` is clamped into range, as in JAX).

    Example:
        >>> import brainstate
        >>> int(brainstate.transform.switch(1, [lambda: 10, lambda: 20, lambda: 30]))
        20
    """
    if not branches:
        raise StateUsageError("switch needs at least one branch.")
    return _switch(index, list(branches), operands)


@checked_options("brainstate.transform.ifelse")
@boundary
def ifelse(conditions: Sequence[Any], branches: Sequence[Callable], *operands: Any) -> Any:
    """Run the branch of the first true condition; the last branch runs when none is true.

    ``len(branches)`` equals ``len(conditions)``, or is one more (a final "else" branch).

    Example:
        >>> import brainstate
        >>> x = 5
        >>> int(brainstate.transform.ifelse([x < 0, x < 10], [lambda: -1, lambda: 1, lambda: 99]))
        1
    """
    conditions = list(conditions)
    if len(branches) not in (len(conditions), len(conditions) + 1) or not branches:
        raise StateUsageError(
            f"ifelse got {len(conditions)} conditions and {len(branches)} branches; give one branch per "
            "condition, optionally plus one final else-branch."
        )
    flags = jnp.stack([jnp.asarray(c, dtype=bool) for c in conditions] + [jnp.asarray(True)])
    index = jnp.minimum(jnp.argmax(flags), len(branches) - 1)
    return _switch(index, list(branches), operands)
