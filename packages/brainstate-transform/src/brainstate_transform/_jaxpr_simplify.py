"""Local rewrites of jaxprs: copy propagation and exact algebraic identities (see ``_jaxpr_optim``)."""

from __future__ import annotations

from typing import Any

import jax
import jax.core
import jax.extend.core as jc
import numpy as np

from ._jaxpr_build import Program, is_var, literal, pass_doc, rewrite, run_pass

__all__ = ["copy_propagation", "algebraic_simplification"]

_COPIES = frozenset({"copy", "copy_p", "convert_element_type", "device_put"})


def _is_copy(eqn: jc.JaxprEqn) -> bool:
    if str(eqn.primitive) not in _COPIES or eqn.effects or len(eqn.invars) != 1 or len(eqn.outvars) != 1:
        return False
    if eqn.invars[0].aval != eqn.outvars[0].aval:  # a real conversion (dtype, weak type or sharding)
        return False
    if str(eqn.primitive) == "convert_element_type":
        return eqn.params.get("sharding") is None
    if str(eqn.primitive) == "device_put":
        return all(d is None for d in eqn.params.get("devices", (None,)))
    return True


def _copy_propagation(program: Program) -> Program:
    return rewrite(program, lambda eqn: eqn.invars if _is_copy(eqn) else None)


@pass_doc
def copy_propagation(jaxpr: Any) -> Any:
    """Read the original wherever a copy was read, and drop the copy.

    A copy is a ``copy``, a ``device_put`` to no particular device, or a ``convert_element_type`` whose
    output has exactly its input's type (dtype, weak type and sharding).

    {pass_doc}

    Example:
        >>> import jax, jax.numpy as jnp, brainstate
        >>> closed = jax.make_jaxpr(lambda x: jnp.array(x, copy=True) * 2.0)(jnp.ones(2))
        >>> [str(e.primitive) for e in brainstate.transform.copy_propagation(closed).eqns]
        ['mul']
    """
    return run_pass(_copy_propagation, jaxpr, "copy_propagation")


def _is_scalar(atom: Any, value: float, negative_zero: bool = False) -> bool:
    """Whether ``atom`` is a scalar literal equal to ``value`` (a zero of the given sign, for floats)."""
    if is_var(atom) or np.shape(atom.val) != ():
        return False
    x = np.asarray(atom.val)
    if x.dtype.kind not in "biuf" or x != value:
        return False
    return x.dtype.kind != "f" or value != 0 or bool(np.signbit(x)) == negative_zero


def _simplified(eqn: jc.JaxprEqn) -> Any:
    """What ``eqn``'s single output can be replaced by (an input or a literal), or ``None``."""
    name = str(eqn.primitive)
    if name not in ("add", "sub", "mul", "div") or eqn.effects or len(eqn.invars) != 2:
        return None
    x, y = eqn.invars
    out = eqn.outvars[0].aval
    if not isinstance(out, jax.core.ShapedArray):
        return None
    kind = np.dtype(out.dtype).kind if not jax.numpy.issubdtype(out.dtype, jax.dtypes.extended) else "?"
    exact = kind in "biu"  # ints: 0 is the identity of + and -. floats: only -0.0 is (-0.0 + 0.0 == +0.0)

    def same(a: Any) -> bool:
        return a.aval.shape == out.shape and a.aval.dtype == out.dtype

    def zero(a: Any, negative: bool) -> bool:
        return kind in "biuf" and _is_scalar(a, 0, negative_zero=negative and not exact)

    if name == "add":
        for a, b in ((x, y), (y, x)):
            if zero(b, negative=True) and same(a):
                return a
    elif name == "sub":
        if zero(y, negative=False) and same(x):
            return x
        if exact and is_var(x) and x is y and out.shape == ():
            return literal(0, out)
    elif name == "mul":
        if exact and out.shape == () and (_is_scalar(x, 0) or _is_scalar(y, 0)):
            return literal(0, out)
        for a, b in ((x, y), (y, x)):
            if kind in "biuf" and _is_scalar(b, 1) and same(a):
                return a
    elif kind in "biuf" and _is_scalar(y, 1) and same(x):  # div
        return x
    return None


def _algebraic_simplification(program: Program) -> Program:
    def rule(eqn: jc.JaxprEqn) -> list | None:
        replacement = _simplified(eqn)
        return None if replacement is None else [replacement]

    return rewrite(program, rule)


@pass_doc
def algebraic_simplification(jaxpr: Any) -> Any:
    """Apply arithmetic identities that hold exactly: ``x * 1``, ``x / 1``, ``x - 0`` and the like.

    The rules, on real numbers and booleans: ``x * 1 = 1 * x = x / 1 = x``; for integers
    ``x + 0 = 0 + x = x - 0 = x``, and, for scalars, ``x * 0 = 0`` and ``x - x = 0``; for floats
    ``x - 0.0 = x + (-0.0) = x`` (``x + 0.0`` is not ``x`` when ``x`` is ``-0.0``, and ``x * 0.0`` is
    not ``0`` when ``x`` is infinite or NaN, so neither is rewritten). A rule applies only when the
    kept operand has the result's shape and dtype.

    {pass_doc}

    Example:
        >>> import jax, jax.numpy as jnp, brainstate
        >>> closed = jax.make_jaxpr(lambda x: jnp.sin(x * 1.0) / 1.0)(1.0)
        >>> [str(e.primitive) for e in brainstate.transform.algebraic_simplification(closed).eqns]
        ['sin']
    """
    return run_pass(_algebraic_simplification, jaxpr, "algebraic_simplification")
