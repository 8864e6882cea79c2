"""Building jaxprs from equations, and the version-independent view the jaxpr tools work on.

JAX 0.8 to 0.11 have two types, an open ``Jaxpr`` and a ``ClosedJaxpr`` pairing it with the values of
its constants; from 0.12 there is one type, a ``Jaxpr`` that may carry its constants itself (and
``ClosedJaxpr`` is another name for it). The tools here never look at either directly: :func:`split`
turns any of them into a :class:`Program` (constvars, invars, outvars, equations, constant values) and
:meth:`Program.build` turns it back into the kind it came from, on every supported version.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import jax.extend.core as jc
import numpy as np

from brainstate_core import InputError

__all__ = ["eqns_to_jaxpr", "eqns_to_closed_jaxpr", "inline_jit", "Program", "split", "closed_of", "literal",
           "fresh_var", "is_var", "debug_info", "finish", "run_pass", "rewrite", "pass_doc", "rename_inputs", "rename_atoms", "DropVar"]

# JAX >= 0.12: one Jaxpr type that carries its own constants.
_UNIFIED = jc.ClosedJaxpr is jc.Jaxpr

try:
    _DebugInfo = jc.DebugInfo
    DropVar = jc.DropVar
except AttributeError:  # JAX 0.8 re-exports neither
    from jax._src.core import DebugInfo as _DebugInfo
    from jax._src.core import DropVar


def is_var(atom: Any) -> bool:
    """Whether ``atom`` (an equation input or a jaxpr output) is a variable rather than a literal."""
    return isinstance(atom, jc.Var) and not isinstance(atom, jc.Literal)


def rename_inputs(eqn: jc.JaxprEqn, subst: dict) -> jc.JaxprEqn:
    """``eqn`` reading ``subst[v]`` wherever it read a variable ``v`` that ``subst`` maps."""
    if not subst:
        return eqn
    return eqn.replace(invars=[subst.get(v, v) if is_var(v) else v for v in eqn.invars])


def rename_atoms(atoms: Sequence[Any], subst: dict) -> list:
    return [subst.get(v, v) if is_var(v) else v for v in atoms]


def fresh_var(aval: Any) -> jc.Var:
    """A new variable of abstract value ``aval``, distinct from every other."""
    return jc.Var(aval)


def literal(value: Any, aval: Any) -> jc.Literal:
    """A literal holding ``value`` as a NumPy value of ``aval``'s dtype."""
    return jc.Literal(np.asarray(value, dtype=aval.dtype)[()], aval)


@dataclasses.dataclass
class Program:
    """A jaxpr taken apart: what the passes read and rebuild, on every JAX version.

    ``consts`` holds the values of ``constvars`` for a closed jaxpr and is ``None`` for an open one
    (whose constvars the caller binds).
    """

    constvars: list
    invars: list
    outvars: list
    eqns: list
    consts: list | None
    effects: Any = frozenset()
    debug_info: Any = None

    def replace(self, **changes: Any) -> Program:
        return dataclasses.replace(self, **changes)

    def build(self) -> Any:
        """The jaxpr (closed when ``consts`` is not ``None``) these parts describe."""
        effects = _effects(self.eqns) if self.effects is None else self.effects
        if _UNIFIED:
            extra: dict[str, Any] = {} if self.consts is None else {"consts": list(self.consts)}
            return jc.Jaxpr(self.constvars, self.invars, self.outvars, self.eqns, effects,
                            self.debug_info, **extra)
        jaxpr = jc.Jaxpr(self.constvars, self.invars, self.outvars, self.eqns, effects, self.debug_info)
        return jaxpr if self.consts is None else jc.ClosedJaxpr(jaxpr, list(self.consts))


def debug_info(who: str, n_in: int, n_out: int) -> Any:
    """The debug info of a jaxpr built by ``who`` with ``n_in`` inputs and ``n_out`` outputs."""
    return _DebugInfo(who, "<equations>", tuple(f"in{i}" for i in range(n_in)),
                      tuple(f"out{i}" for i in range(n_out)))


def _effects(eqns: Sequence[Any]) -> frozenset:
    return frozenset().union(*(eqn.effects for eqn in eqns))


def split(obj: Any, who: str) -> Program:
    """Take a ``Jaxpr`` or ``ClosedJaxpr`` apart; ``who`` names the caller in the error for anything else."""
    if not isinstance(obj, (jc.Jaxpr, jc.ClosedJaxpr)):
        raise InputError(
            f"{who} expects a Jaxpr or ClosedJaxpr (as returned by jax.make_jaxpr), got "
            f"{type(obj).__name__}. Fix: pass jax.make_jaxpr(f)(*args)."
        )
    if _UNIFIED:
        consts = obj.consts if obj.constvars else None  # pyright: ignore[reportAttributeAccessIssue]  # jax >= 0.12
        jaxpr = obj
    elif isinstance(obj, jc.ClosedJaxpr):
        jaxpr, consts = obj.jaxpr, obj.consts
    else:
        jaxpr, consts = obj, None
    return Program(list(jaxpr.constvars), list(jaxpr.invars), list(jaxpr.outvars), list(jaxpr.eqns),
                   None if consts is None else list(consts), jaxpr.effects, jaxpr.debug_info)


def closed_of(obj: Any) -> bool:
    """Whether a jaxpr should come back closed: a ``ClosedJaxpr`` (before 0.12), or any jaxpr from 0.12."""
    return _UNIFIED or isinstance(obj, jc.ClosedJaxpr)


def _check_vars(vars_: Sequence[Any] | None, name: str) -> list | None:
    if vars_ is None:
        return None
    vars_ = list(vars_)
    for v in vars_:
        if not is_var(v):
            raise InputError(f"{name} must hold jaxpr variables (Var), got {type(v).__name__}: {v!r}.")
    return vars_


def _resolve(eqns: list, invars: Any, outvars: Any, constvars: Any) -> tuple[list, list, list]:
    """The (constvars, invars, outvars) of ``eqns``: given ones checked, missing ones inferred."""
    invars, outvars, constvars = (_check_vars(invars, "invars"), _check_vars(outvars, "outvars"),
                                  _check_vars(constvars, "constvars"))
    produced: dict = {}
    for eqn in eqns:
        produced.update(dict.fromkeys(v for v in eqn.outvars if is_var(v)))
    free: dict = {}  # read before (or without) being produced, in order of first use
    consumed: set = set()
    for eqn in eqns:
        for v in eqn.invars:
            if is_var(v):
                consumed.add(v)
                if v not in produced:
                    free[v] = None
    if invars is None:
        taken = set(constvars or ())
        invars = [v for v in free if v not in taken]
    if constvars is None:
        taken = set(invars)
        constvars = [v for v in free if v not in taken]
    if outvars is None:
        outvars = [v for v in produced if v not in consumed]
    bound = set(invars) | set(constvars)
    unbound = [v for v in free if v not in bound]
    if unbound:
        raise InputError(
            f"The equations read {len(unbound)} variable(s) that no equation produces and that are "
            f"neither invars nor constvars: {unbound}. Fix: add them to invars or constvars."
        )
    missing = [v for v in outvars if v not in produced and v not in bound]
    if missing:
        raise InputError(f"outvars {missing} are not produced by any equation nor bound as inputs.")
    return constvars, invars, outvars


def _program(eqns: Sequence[Any], invars: Any, outvars: Any, constvars: Any, consts: list | None,
             who: str) -> Program:
    eqns = list(eqns)
    constvars, invars, outvars = _resolve(eqns, invars, outvars, constvars)
    if consts is not None and len(consts) != len(constvars):
        raise InputError(
            f"{who} got {len(consts)} constant value(s) for {len(constvars)} constvar(s). Fix: pass "
            "one value per constvar, in the same order."
        )
    return Program(constvars, invars, outvars, eqns, consts, None, debug_info(who, len(invars), len(outvars)))


def eqns_to_jaxpr(
    eqns: Sequence[jc.JaxprEqn],
    invars: Sequence[jc.Var] | None = None,
    outvars: Sequence[jc.Var] | None = None,
    constvars: Sequence[jc.Var] | None = None,
) -> jc.Jaxpr:
    """Assemble equations into an open ``Jaxpr``.

    Lists left as ``None`` are inferred: ``invars`` are the variables the equations read but no
    equation produces (in order of first use), minus any given ``constvars``; ``constvars`` default
    to none; ``outvars`` are the produced variables no equation reads (in order of production). Given
    lists are checked to hold variables.

    From JAX 0.12 a jaxpr without constant values reports its constvars as leading invars; bind
    them with :func:`eqns_to_closed_jaxpr` to keep them apart.

    Args:
        eqns: the equations, in an order where each variable is produced before it is read.
        invars: the inputs of the jaxpr.
        outvars: the outputs of the jaxpr.
        constvars: the variables that name constants, bound by whoever evaluates the jaxpr.

    Returns:
        The jaxpr.

    Raises:
        InputError: a list holds something other than a variable, or the equations read a variable
            nothing binds.

    Example:
        >>> import jax, jax.numpy as jnp, brainstate
        >>> closed = jax.make_jaxpr(lambda x: jnp.sin(x) * 2.0)(1.0)
        >>> sub = brainstate.transform.eqns_to_jaxpr(closed.jaxpr.eqns[:1])
        >>> [str(e.primitive) for e in sub.eqns], len(sub.invars), len(sub.outvars)
        (['sin'], 1, 1)
    """
    return _program(eqns, invars, outvars, constvars, None, "eqns_to_jaxpr").build()


def eqns_to_closed_jaxpr(
    eqns: Sequence[jc.JaxprEqn],
    invars: Sequence[jc.Var] | None = None,
    outvars: Sequence[jc.Var] | None = None,
    constvars: Sequence[jc.Var] | None = None,
    consts: Sequence[Any] = (),
) -> jc.ClosedJaxpr:
    """Assemble equations into a ``ClosedJaxpr``, binding ``constvars`` to the values ``consts``.

    The lists are inferred as in :func:`eqns_to_jaxpr`, except that ``constvars``, when not given, are
    the variables that are read but neither produced nor among ``invars`` when ``invars`` is given
    (and none otherwise). ``consts`` must hold one value per constvar.

    Args:
        eqns: the equations.
        invars: the inputs of the jaxpr.
        outvars: the outputs of the jaxpr.
        constvars: the variables bound to ``consts``.
        consts: the values of ``constvars``, in the same order.

    Returns:
        The closed jaxpr, ready for ``jax.core.eval_jaxpr(j.jaxpr, j.consts, *args)``.

    Raises:
        InputError: as :func:`eqns_to_jaxpr`, or ``consts`` does not match ``constvars`` in length.

    Example:
        >>> import jax, jax.numpy as jnp, brainstate
        >>> c = jnp.arange(3.0)
        >>> closed = jax.make_jaxpr(lambda x: x * c)(jnp.ones(3))
        >>> j = closed.jaxpr
        >>> again = brainstate.transform.eqns_to_closed_jaxpr(
        ...     j.eqns, invars=j.invars, outvars=j.outvars, constvars=j.constvars, consts=closed.consts)
        >>> jax.core.eval_jaxpr(again.jaxpr, again.consts, jnp.full(3, 2.0))
        [Array([0., 2., 4.], dtype=float32)]
    """
    return _program(eqns, invars, outvars, constvars, list(consts), "eqns_to_closed_jaxpr").build()


def run_pass(pass_: Callable[[Program], Program], jaxpr: Any, who: str) -> Any:
    return pass_(split(jaxpr, who)).build()


PASS_DOC = """Args:
        jaxpr: a ``Jaxpr`` or ``ClosedJaxpr``.

    Returns:
        A jaxpr of the same kind, with the same inputs, computing the same outputs."""


def pass_doc(fn: Callable) -> Callable:
    """Fill the ``{pass_doc}`` line of a pass's docstring with the Args and Returns every pass shares."""
    fn.__doc__ = (fn.__doc__ or "").replace("{pass_doc}", PASS_DOC)
    return fn


def rewrite(program: Program, rule: Callable[[jc.JaxprEqn], Sequence[Any] | None]) -> Program:
    """Apply ``rule`` to each equation in order (its inputs renamed by earlier rewrites).

    ``rule`` returns ``None`` to keep the equation, or the atoms (earlier variables or literals) to
    read instead of its outputs, dropping it.
    """
    eqns: list = []
    subst: dict = {}
    for eqn in program.eqns:
        eqn = rename_inputs(eqn, subst)
        replacement = rule(eqn)
        if replacement is None:
            eqns.append(eqn)
        else:
            subst.update(zip(eqn.outvars, replacement))
    return finish(program, eqns, subst)


def finish(program: Program, eqns: list, subst: dict) -> Program:
    """``program`` with ``eqns`` and outputs renamed by ``subst``; unused constants of a closed one dropped."""
    program = program.replace(eqns=eqns, outvars=rename_atoms(program.outvars, subst))
    if program.consts is None:  # an open jaxpr's constvars are bound by its caller: keep them all
        return program
    used = {v for eqn in eqns for v in eqn.invars if is_var(v)} | {v for v in program.outvars if is_var(v)}
    kept = [(v, c) for v, c in zip(program.constvars, program.consts) if v in used]
    return program.replace(constvars=[v for v, _ in kept], consts=[c for _, c in kept])


_JIT_PRIMITIVES = frozenset({"pjit", "jit"})


def _inline(program: Program, should_expand: Callable[[jc.JaxprEqn], bool]) -> Program:
    eqns: list = []
    subst: dict = {}
    constvars = list(program.constvars)
    consts = None if program.consts is None else list(program.consts)
    for eqn in program.eqns:
        eqn = rename_inputs(eqn, subst)
        if str(eqn.primitive) not in _JIT_PRIMITIVES or not should_expand(eqn):
            eqns.append(eqn)
            continue
        body = _inline(split(eqn.params["jaxpr"], "inline_jit"), should_expand)
        if body.consts and consts is None:
            if not _UNIFIED:  # an open jaxpr before 0.12 has nowhere to keep the body's constants
                eqns.append(eqn)
                continue
            consts = []
        rename = dict(zip(body.invars, eqn.invars))
        for var, value in zip(body.constvars, body.consts or ()):
            assert consts is not None  # set above when the body has constants
            rename[var] = fresh_var(var.aval)
            constvars.append(rename[var])
            consts.append(value)
        for inner in body.eqns:
            # Fresh outputs each time: a function called twice shares one body, whose variables
            # must not be bound twice in the caller.
            for v in inner.outvars:
                if not isinstance(v, DropVar):
                    rename[v] = fresh_var(v.aval)
            eqns.append(inner.replace(invars=rename_atoms(inner.invars, rename),
                                      outvars=rename_atoms(inner.outvars, rename)))
        subst.update(zip(eqn.outvars, rename_atoms(body.outvars, rename)))
    return program.replace(constvars=constvars, consts=consts, eqns=eqns,
                           outvars=rename_atoms(program.outvars, subst))


def inline_jit(jaxpr: Any, should_expand: Callable[[jc.JaxprEqn], bool] | None = None) -> Any:
    """Replace nested ``jit`` equations by the equations of their bodies.

    Nested ``jit`` calls are inlined first, so the result has no ``jit`` equation that
    ``should_expand`` accepts, at any depth of jit nesting. The constants of an inlined body become
    constants of the result. An open ``Jaxpr`` (before JAX 0.12) cannot hold constants, so a ``jit``
    whose body has some is kept as it is there; pass the ``ClosedJaxpr`` to inline it too.

    Args:
        jaxpr: a ``Jaxpr`` or ``ClosedJaxpr``.
        should_expand: decides, for each ``jit`` equation, whether to inline it (default: all).

    Returns:
        A jaxpr of the same kind computing the same values, with the same inputs.

    Raises:
        InputError: ``jaxpr`` is not a jaxpr.

    Example:
        >>> import jax, jax.numpy as jnp, brainstate
        >>> inner = jax.jit(lambda x: jnp.sin(x) + 1.0)
        >>> closed = jax.make_jaxpr(lambda x: inner(x) * 2.0)(1.0)
        >>> [str(e.primitive) for e in brainstate.transform.inline_jit(closed).eqns]
        ['sin', 'add', 'mul']
    """
    program = split(jaxpr, "inline_jit")
    return _inline(program, should_expand or (lambda eqn: True)).build()
