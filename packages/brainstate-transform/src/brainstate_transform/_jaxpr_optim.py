"""Optimisation passes over jaxprs: constant folding, CSE and DCE, and the pipeline of all passes.

Every pass takes a ``Jaxpr`` or ``ClosedJaxpr`` and returns a jaxpr of the same kind that computes
the same outputs from the same inputs (bit for bit, except that constant folding runs operations
eagerly on the host rather than in the compiled program). Passes keep the input variables; an
output may come back as another variable or a literal that holds the same value. Equations with
effects (prints, callbacks, runtime checks) are never removed, merged or evaluated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.core
import jax.extend.core as jc
import numpy as np

from brainstate_core import InputError

from ._jaxpr_build import (
    DropVar,
    Program,
    _inline,
    debug_info,
    finish,
    fresh_var,
    is_var,
    literal,
    pass_doc,
    rename_inputs,
    rewrite,
    run_pass,
    split,
)
from ._jaxpr_simplify import _algebraic_simplification, _copy_propagation

__all__ = ["constant_fold", "dead_code_elimination", "common_subexpression_elimination", "optimize_jaxpr"]

# Never evaluated while folding: loops and branches (which may run long), and anything that talks to
# the host or draws hardware random numbers.
_NO_FOLD = frozenset({"while", "scan", "cond", "rng_uniform", "pure_callback", "io_callback", "debug_callback",
                      "debug_print"})
# Never merged: two calls may legitimately return different values.
_NO_CSE = frozenset({"rng_uniform", "pure_callback", "io_callback", "debug_callback"})
_UNKNOWN = object()


def _size(aval: Any) -> int:
    return int(np.prod(aval.shape, dtype=np.int64))


def _foldable(eqn: jc.JaxprEqn) -> bool:
    if eqn.effects or str(eqn.primitive) in _NO_FOLD:
        return False
    avals = [v.aval for v in eqn.outvars]
    if not all(isinstance(a, jax.core.ShapedArray) and not jax.numpy.issubdtype(a.dtype, jax.dtypes.extended)
               for a in avals):
        return False
    # An operation that makes its result bigger than its inputs (iota, broadcast) is better left to
    # run in the program than stored as a constant.
    biggest = max([1] + [_size(v.aval) for v in eqn.invars])
    return all(_size(a) <= biggest for a in avals)


def _evaluate(eqn: jc.JaxprEqn, values: list) -> list | None:
    """The outputs of ``eqn`` on concrete ``values``, computed now; ``None`` if that fails."""
    args: list[Any] = [fresh_var(v.aval) for v in eqn.invars]
    one = Program([], args, list(eqn.outvars), [eqn.replace(invars=args)], None, eqn.effects,
                  debug_info("constant_fold", len(args), len(eqn.outvars)))
    try:
        with jax.ensure_compile_time_eval():
            return [np.asarray(x) for x in jax.core.eval_jaxpr(one.build(), [], *values)]
    except Exception:  # noqa: BLE001 - an operation that cannot run eagerly is simply not folded
        return None


def _constant_fold(program: Program) -> Program:
    known: dict = {}
    if program.consts is not None:
        known.update(zip(program.constvars, program.consts))
    constvars = list(program.constvars)
    consts = None if program.consts is None else list(program.consts)
    eqns, subst = [], {}
    for eqn in program.eqns:
        eqn = rename_inputs(eqn, subst)
        values = [v.val if isinstance(v, jc.Literal) else known.get(v, _UNKNOWN) for v in eqn.invars]
        outs = None
        if _foldable(eqn) and not any(v is _UNKNOWN for v in values):
            outs = _evaluate(eqn, values)
        if outs is None:
            eqns.append(eqn)
            continue
        known.update(zip(eqn.outvars, outs))
        if any(out.shape != () for out in outs) and consts is None:
            eqns.append(eqn)  # an open jaxpr keeps array results as they are (later scalars still fold)
            continue
        for var, out in zip(eqn.outvars, outs):
            if out.shape == ():
                subst[var] = literal(out, var.aval)
            else:
                assert consts is not None  # an open jaxpr kept this equation (above)
                aval: Any = var.aval  # a ShapedArray (see _foldable)
                subst[var] = fresh_var(aval)
                known[subst[var]] = out
                constvars.append(subst[var])
                consts.append(jax.numpy.asarray(out, dtype=aval.dtype))
    return finish(program.replace(constvars=constvars, consts=consts), eqns, subst)


@pass_doc
def constant_fold(jaxpr: Any) -> Any:
    """Compute, now, the equations whose inputs are all known, and use their values instead.

    Literals are known, and so are the constants of a ``ClosedJaxpr``. A scalar result becomes a
    literal; an array result becomes a new constant of a ``ClosedJaxpr`` (an open ``Jaxpr`` keeps the
    equation). Equations with effects, loops, branches, callbacks, and operations whose result is
    bigger than their inputs (``iota``, ``broadcast_in_dim``) are left to the program.

    {pass_doc}

    Example:
        >>> import jax, jax.numpy as jnp, brainstate
        >>> c = jnp.arange(3.0)
        >>> closed = jax.make_jaxpr(lambda x: x * jnp.sum(jnp.sin(c) * 2.0))(jnp.float32(1.0))
        >>> [str(e.primitive) for e in closed.eqns]
        ['sin', 'mul', 'reduce_sum', 'mul']
        >>> [str(e.primitive) for e in brainstate.transform.constant_fold(closed).eqns]
        ['mul']
    """
    return run_pass(_constant_fold, jaxpr, "constant_fold")


def _dead_code_elimination(program: Program) -> Program:
    live = {v for v in program.outvars if is_var(v)}
    kept = []
    for eqn in reversed(program.eqns):
        if eqn.effects or any(v in live for v in eqn.outvars):
            kept.append(eqn)
            live.update(v for v in eqn.invars if is_var(v))
    return finish(program, kept[::-1], {})


@pass_doc
def dead_code_elimination(jaxpr: Any) -> Any:
    """Remove the equations none of whose outputs reach the jaxpr's outputs (and that have no effects).

    Unused constants of a ``ClosedJaxpr`` are dropped too; inputs always stay.

    {pass_doc}

    Example:
        >>> import jax, jax.numpy as jnp, brainstate
        >>> def f(x):
        ...     unused = jnp.cos(x)
        ...     return jnp.sin(x)
        >>> closed = jax.make_jaxpr(f)(1.0)
        >>> [str(e.primitive) for e in brainstate.transform.dead_code_elimination(closed).eqns]
        ['sin']
    """
    return run_pass(_dead_code_elimination, jaxpr, "dead_code_elimination")


def _atom_key(atom: Any) -> Any:
    if is_var(atom):
        return atom
    value = np.asarray(atom.val)
    return ("literal", str(value.dtype), value.shape, value.tobytes(), getattr(atom.aval, "weak_type", False))


def _cse_key(eqn: jc.JaxprEqn) -> Any:
    if eqn.effects or str(eqn.primitive) in _NO_CSE or any(isinstance(v, DropVar) for v in eqn.outvars):
        return None
    key = (eqn.primitive, tuple(_atom_key(v) for v in eqn.invars), tuple(sorted(eqn.params.items())))
    try:
        hash(key)
    except TypeError:  # a parameter that is not hashable (an array): not merged
        return None
    return key


def _common_subexpression_elimination(program: Program) -> Program:
    seen: dict = {}

    def rule(eqn: jc.JaxprEqn) -> list | None:
        key = _cse_key(eqn)
        earlier = None if key is None else seen.get(key)
        if earlier is None and key is not None:
            seen[key] = eqn.outvars
        return earlier

    return rewrite(program, rule)


@pass_doc
def common_subexpression_elimination(jaxpr: Any) -> Any:
    """Compute each operation once: an equation repeating an earlier one reuses its outputs.

    Two equations repeat each other when they apply the same primitive, with equal parameters, to the
    same variables or equal literals. Equations with effects and random or host callbacks are never
    merged; nested jaxprs in parameters are compared by identity.

    {pass_doc}

    Example:
        >>> import jax, jax.numpy as jnp, brainstate
        >>> closed = jax.make_jaxpr(lambda x: jnp.sin(x) + jnp.sin(x))(1.0)
        >>> [str(e.primitive) for e in brainstate.transform.common_subexpression_elimination(closed).eqns]
        ['sin', 'add']
    """
    return run_pass(_common_subexpression_elimination, jaxpr, "common_subexpression_elimination")


_PASSES: dict[str, Callable[[Program], Program]] = {
    "constant_fold": _constant_fold,
    "algebraic_simplification": _algebraic_simplification,
    "copy_propagation": _copy_propagation,
    "cse": _common_subexpression_elimination,
    "dce": _dead_code_elimination,
    "inline_jit": lambda program: _inline(program, lambda eqn: True),
}
_ALIASES = {"common_subexpression_elimination": "cse", "dead_code_elimination": "dce"}
_DEFAULT = ("constant_fold", "algebraic_simplification", "copy_propagation", "cse", "dce")


def optimize_jaxpr(
    jaxpr: Any,
    max_iterations: int = 3,
    optimizations: Sequence[str] | str | None = None,
    verbose: bool = False,
) -> Any:
    """Run optimisation passes in order, repeatedly, until the equation count stops falling.

    Args:
        jaxpr: a ``Jaxpr`` or ``ClosedJaxpr``.
        max_iterations: the most rounds of the whole sequence (a positive integer).
        optimizations: pass names, run in this order in each round: ``"constant_fold"``,
            ``"algebraic_simplification"``, ``"copy_propagation"``, ``"cse"``
            (or ``"common_subexpression_elimination"``), ``"dce"`` (or ``"dead_code_elimination"``),
            ``"inline_jit"``. ``None`` or ``"all"``: every pass but ``inline_jit``, in that order.
        verbose: print the equation count after each pass that changed it.

    Returns:
        A jaxpr of the same kind, computing the same outputs from the same inputs.

    Raises:
        InputError: ``jaxpr`` is not a jaxpr, a pass name is unknown, or ``max_iterations`` is not a
            positive integer.

    Example:
        >>> import jax, jax.numpy as jnp, brainstate
        >>> def f(x):
        ...     unused = jnp.exp(x)
        ...     return jnp.sin(x) * 1.0 + jnp.sin(x)
        >>> closed = jax.make_jaxpr(f)(1.0)
        >>> [str(e.primitive) for e in brainstate.transform.optimize_jaxpr(closed).eqns]
        ['sin', 'add']
    """
    if optimizations is None or optimizations == "all":
        optimizations = _DEFAULT
    elif isinstance(optimizations, str):
        optimizations = (optimizations,)
    names = [_ALIASES.get(name, name) for name in optimizations]
    unknown = [name for name in names if name not in _PASSES]
    if unknown:
        raise InputError(f"optimize_jaxpr: unknown optimisation(s) {unknown}; the passes are "
                         f"{sorted(_PASSES) + sorted(_ALIASES)}.")
    if not isinstance(max_iterations, int) or isinstance(max_iterations, bool) or max_iterations < 1:
        raise InputError(f"optimize_jaxpr: max_iterations must be a positive integer, got {max_iterations!r}.")
    program = split(jaxpr, "optimize_jaxpr")
    start = len(program.eqns)
    for round_ in range(1, max_iterations + 1):
        before = len(program.eqns)
        for name in names:
            count = len(program.eqns)
            program = _PASSES[name](program)
            if verbose and len(program.eqns) != count:
                print(f"round {round_}: {name}: {count} -> {len(program.eqns)} equations")
        if len(program.eqns) == before:
            break
    if verbose:
        print(f"{start} -> {len(program.eqns)} equations")
    return program.build()
