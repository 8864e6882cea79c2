"""Automatic differentiation with respect to States and arguments: grad, jacobians, hessian, vjp, jvp."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import State, StateUsageError
from brainstate_core.internal import peek, read_values

from ._debug import nan_checked
from ._options import reject_unknown
from ._stateful import Known, StatefulFunction, boundary
from ._util import describe, fun_name, is_state, normalize_argnums

__all__ = ["grad", "vector_grad", "jacrev", "jacfwd", "jacobian", "hessian", "vjp", "jvp", "GradFunction"]


def _flatten_grad_states(grad_states: Any) -> tuple[list[State], Any, list[str]]:
    if grad_states is None:
        return [], None, []
    with_path, treedef = jax.tree_util.tree_flatten_with_path(grad_states, is_leaf=is_state)
    states = [leaf for _, leaf in with_path]
    for path, leaf in with_path:
        if not isinstance(leaf, State):
            raise StateUsageError(
                f"grad_states must hold only State objects, but found {type(leaf).__name__} at "
                f"{jax.tree_util.keystr(path) or 'the top level'}. Pass the States themselves (for example "
                "`model.states(brainstate.ParamState)`), not their values."
            )
    if len(set(map(id, states))) != len(states):
        raise StateUsageError("grad_states lists the same State more than once; list each State once.")
    return states, treedef, [jax.tree_util.keystr(p) for p, _ in with_path]


def _vector_grad(fun: Callable, argnums: tuple[int, ...], has_aux: bool) -> Callable:
    """Gradient of every output element summed: the vjp with a cotangent of ones."""

    def transformed(*args):
        def partial_fun(*diff):
            return fun(*_substitute(args, argnums, diff))

        out, pullback, aux = jax.vjp(partial_fun, *[args[i] for i in argnums], has_aux=True)
        return pullback(jax.tree.map(jnp.ones_like, out)), aux

    return transformed


def _substitute(args: tuple, positions: Sequence[int], values: Sequence[Any]) -> tuple:
    full = list(args)
    for i, v in zip(positions, values):
        full[i] = v
    return tuple(full)


class _Differentiated:
    """What every derivative transformation shares: the grad states come first, then the other states.

    The pure function it builds is ``(grad state values, other state values, *args) -> (value, (value,
    aux, new values))``, the form ``jax.grad(..., has_aux=True)`` and its relatives take.
    """

    _name = "derivative"

    def __init__(self, fun: Callable, grad_states: Any = None, argnums: int | Sequence[int] | None = None,
                 has_aux: bool = False, check_states: bool = True) -> None:
        functools.update_wrapper(self, fun)
        self._sf = StatefulFunction(fun)
        self._grad_states, self._grad_tree, self._grad_paths = _flatten_grad_states(grad_states)
        # The grad states are certain inputs: knowing them up front spares the first call a retrace
        # when the function touches no other state.
        self._sf._known = Known(self._grad_states, [False] * len(self._grad_states))
        if argnums is None and grad_states is None:
            argnums = 0
        self._argnums = argnums
        self._arg_tuple = normalize_argnums(argnums)
        self.has_aux = has_aux
        self.check_states = check_states

    def __repr__(self) -> str:
        states = f", grad_states=<{len(self._grad_states)} states>" if self._grad_states else ""
        args = f", argnums={self._argnums}" if self._argnums is not None else ""
        return f"brainstate.transform.{self._name}({fun_name(self._sf.fun)}{states}{args})"

    def _layout(self, known: Known, kwargs: dict) -> tuple[list[State], list[Any], Callable]:
        """(all states, values of the non-grad states, the pure function)."""
        grad_set = set(self._grad_states)
        others = [s for s in known.states if s not in grad_set]
        states = self._grad_states + others
        pure = self._sf._pure(known, states, inspect=self._check_used if self.check_states else None)

        def differentiable(grad_values: list, other_values: list, *args: Any):
            out, new = pure(list(grad_values) + list(other_values), args, kwargs)
            value, aux = self._split_aux(out)
            return value, (value, aux, new)

        return states, read_values(others), differentiable

    def _split_aux(self, out: Any) -> tuple[Any, Any]:
        if not self.has_aux:
            return out, None
        if not (isinstance(out, tuple) and len(out) == 2):
            raise StateUsageError(
                f"With has_aux=True the function `{fun_name(self._sf.fun)}` must return a pair (value, aux); it "
                f"returned {describe(out)}. Fix: return `value, aux`, or drop has_aux=True."
            )
        return out

    def _check_used(self, touched: Sequence[State]) -> None:
        used = set(touched)
        missing = [
            f"{path or '<root>'}: {s!r} created at {s.source_info}"
            for s, path in zip(self._grad_states, self._grad_paths)
            if s not in used
        ]
        if missing:
            raise StateUsageError(
                "These grad_states are never used by the differentiated function, so their gradient is "
                "not defined:\n  " + "\n  ".join(missing) + "\nFix: remove them from grad_states, or pass "
                "`check_states=False` to get zero gradients for them."
            )

    def _arrange(self, grads: tuple) -> Any:
        """Derivatives as documented: for the states only, the arguments only, or ``(states, args)``."""
        if self._grad_states:
            state_grads, arg_grads = jax.tree.unflatten(self._grad_tree, list(grads[0])), grads[1:]
        else:
            state_grads, arg_grads = None, grads
        return _arrange(state_grads, arg_grads, bool(self._grad_states), self._argnums)


class GradFunction(_Differentiated):
    """A function that returns derivatives with respect to States and/or arguments (see :func:`grad`)."""

    _name = "grad"

    def __init__(self, fun: Callable, grad_states: Any = None, argnums: int | Sequence[int] | None = None,
                 has_aux: bool = False, return_value: bool = False, check_states: bool = True,
                 debug_nan: bool = False, **kwargs: Any) -> None:
        reject_unknown(f"brainstate.transform.{self._name}", kwargs, self._transform, ("fun", "argnums", "has_aux"))
        super().__init__(fun, grad_states, argnums, has_aux, check_states)
        self.return_value = return_value
        self.debug_nan = debug_nan
        self._transform_kwargs = kwargs

    _transform = staticmethod(jax.grad)

    @boundary
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        def attempt(known: Known):
            states, other_values, pure = self._layout(known, kwargs)
            # pure(grad values, other values, *args): the user's argument i is at position i + 2.
            argnums = ((0,) if self._grad_states else ()) + tuple(i + 2 for i in self._arg_tuple)
            transformed = self._transform(pure, argnums=argnums, has_aux=True, **self._transform_kwargs)
            if self.debug_nan:  # report NaN/Inf in the derivatives, with the primitive that made them
                transformed = nan_checked(transformed, f"the {self._name} of {fun_name(self._sf.fun)}",
                                          lambda out: {"derivative": self._arrange(out[0])})
            grads, (value, aux, new) = transformed(read_values(self._grad_states), other_values, *args)
            return states, new, (grads, value, aux)

        grads, value, aux = self._sf._apply(attempt, pollutes=True)
        extras = ((value,) if self.return_value else ()) + ((aux,) if self.has_aux else ())
        result = self._arrange(grads)
        return (result, *extras) if extras else result


class _VectorGradFunction(GradFunction):
    _name = "vector_grad"
    _transform = staticmethod(_vector_grad)


class _JacrevFunction(GradFunction):
    _name = "jacrev"
    _transform = staticmethod(jax.jacrev)


class _JacfwdFunction(GradFunction):
    _name = "jacfwd"
    _transform = staticmethod(jax.jacfwd)


class _HessianFunction(GradFunction):
    _name = "hessian"
    _transform = staticmethod(jax.hessian)

    def __init__(self, fun: Callable, grad_states: Any = None, argnums: int | Sequence[int] | None = None,
                 **kwargs: Any) -> None:
        if grad_states is not None and argnums is not None:
            raise StateUsageError(
                "hessian takes grad_states or argnums, not both. For mixed second derivatives nest "
                "jacfwd(jacrev(...)) instead."
            )
        super().__init__(fun, grad_states, argnums, **kwargs)

    def _arrange(self, grads: tuple) -> Any:
        if self._grad_states:
            # grads[0][a] has the structure of state a's value; each of its leaves is a 1-tuple holding
            # the list, over states b, of blocks shaped like b's value. Nest it as jax.hessian nests the
            # value of one state: grad_states, then a's value, then grad_states, then b's value.
            rows = []
            for state, row in zip(self._grad_states, grads[0]):
                value_tree = jax.tree.structure(peek(state))
                blocks = [jax.tree.unflatten(self._grad_tree, list(leaf[0])) for leaf in value_tree.flatten_up_to(row)]
                rows.append(jax.tree.unflatten(value_tree, blocks))
            return jax.tree.unflatten(self._grad_tree, rows)
        return grads[0][0] if isinstance(self._argnums, int) else grads


def _make(cls: type[GradFunction], doc: str) -> Callable:
    def transform(
        fun: Callable | None = None,
        grad_states: Any = None,
        argnums: int | Sequence[int] | None = None,
        has_aux: bool = False,
        return_value: bool = False,
        check_states: bool = True,
        **kwargs: Any,
    ):
        options = dict(grad_states=grad_states, argnums=argnums, has_aux=has_aux, return_value=return_value,
                       check_states=check_states, **kwargs)
        if fun is None:
            return lambda f: cls(f, **options)
        return cls(fun, **options)

    transform.__name__ = transform.__qualname__ = cls._name
    transform.__doc__ = doc
    return transform


_COMMON_ARGS = """
    Args:
        fun: the function; with ``has_aux=True`` it returns ``(value, aux)``.
        grad_states: a State, or any list/tuple/dict nest of States (such as
            ``model.states(brainstate.ParamState)``); the derivatives mirror its structure.
        argnums: positions of arguments to differentiate as well. With both ``grad_states`` and
            ``argnums`` the result is ``(state_derivatives, arg_derivatives)``; with neither,
            ``argnums=0``.
        has_aux: the function returns ``(value, aux)``; ``aux`` is returned after the derivatives.
        return_value: also return the function's value: ``(derivatives, value[, aux])``.
        check_states: raise :class:`StateUsageError` for a grad state the function never uses
            (``False`` gives zeros instead).
        debug_nan: raise :class:`DebugNanError` naming the primitive that produced a NaN when a
            derivative holds NaN/Inf (see :func:`debug_nan`).
        **kwargs: options of the matching ``jax`` function (``holomorphic``, ``allow_int``); an
            unknown keyword is a ``TypeError`` when the transformation is built.

    Writes to other States inside ``fun`` persist after the call.
"""

grad = _make(GradFunction, """Gradient of a scalar function with respect to States and/or arguments.
""" + _COMMON_ARGS + """
    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> w = brainstate.ParamState(jnp.array([1.0, 2.0]))
        >>> g = brainstate.transform.grad(lambda x: jnp.sum(w.value * x), grad_states=w)
        >>> g(jnp.array([3.0, 4.0]))
        Array([3., 4.], dtype=float32)
""")

vector_grad = _make(_VectorGradFunction, """Gradient of the sum of a function's outputs (for element-wise losses).
""" + _COMMON_ARGS + """
    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> brainstate.transform.vector_grad(lambda x: x ** 2)(jnp.array([1.0, 2.0]))
        Array([2., 4.], dtype=float32)
""")

def _jacobian_doc(mode: str, name: str) -> str:
    return f"""Jacobian by {mode} mode with respect to States and/or arguments.
""" + _COMMON_ARGS + f"""
    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> brainstate.transform.{name}(lambda x: x * 3.0)(jnp.ones(2))
        Array([[3., 0.],
               [0., 3.]], dtype=float32)
"""


jacrev = _make(_JacrevFunction, _jacobian_doc("reverse", "jacrev"))
jacfwd = _make(_JacfwdFunction, _jacobian_doc("forward", "jacfwd"))
jacobian = jacrev

hessian = _make(_HessianFunction, """Hessian of a scalar function with respect to States and/or arguments.
""" + _COMMON_ARGS + """
    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> brainstate.transform.hessian(lambda x: jnp.sum(x ** 3))(jnp.array([1.0, 2.0]))
        Array([[ 6.,  0.],
               [ 0., 12.]], dtype=float32)
""")


class _VJPFunction(_Differentiated):
    """``f(*args) -> (value, pullback[, aux])`` (see :func:`vjp`)."""

    _name = "vjp"

    @boundary
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        def attempt(known: Known):
            states, other_values, pure = self._layout(known, kwargs)

            def of_differentiated(grad_values: list, *diff: Any):
                value, (_, aux, new) = pure(grad_values, other_values, *_substitute(args, self._arg_tuple, diff))
                return value, (aux, new)

            primals = [args[i] for i in self._arg_tuple]
            value, pullback, (aux, new) = jax.vjp(of_differentiated, read_values(self._grad_states), *primals,
                                                  has_aux=True)
            return states, new, (value, pullback, aux)

        value, pullback, aux = self._sf._apply(attempt, pollutes=True)
        structured = lambda cotangent: self._arrange(pullback(cotangent))  # noqa: E731
        return (value, structured, aux) if self.has_aux else (value, structured)


class _JVPFunction(_Differentiated):
    """``f(primals, tangents, state_tangents=None) -> (value, tangent_out[, aux])`` (see :func:`jvp`)."""

    _name = "jvp"

    @boundary
    def __call__(self, primals: tuple, tangents: tuple, state_tangents: Any = None) -> Any:
        grad_values = read_values(self._grad_states)
        if state_tangents is None:
            state_tangents = [jnp.zeros_like(v) for v in grad_values]
        else:
            state_tangents = self._grad_tree.flatten_up_to(state_tangents)

        def attempt(known: Known):
            states, other_values, pure = self._layout(known, {})

            def of_differentiated(values: list, *args: Any):
                value, (_, aux, new) = pure(values, other_values, *args)
                return value, (aux, new)

            value, tangent, (aux, new) = jax.jvp(of_differentiated, (grad_values, *primals),
                                                 (list(state_tangents), *tangents), has_aux=True)
            return states, new, (value, tangent, aux)

        value, tangent, aux = self._sf._apply(attempt, pollutes=True)
        return (value, tangent, aux) if self.has_aux else (value, tangent)


def vjp(fun: Callable, grad_states: Any = None, argnums: int | Sequence[int] | None = None,
        has_aux: bool = False) -> Callable:
    """Return ``f(*args) -> (value, pullback[, aux])``; ``pullback(cotangent)`` gives the derivatives.

    The derivatives are arranged as :func:`grad` arranges them for the same ``grad_states`` and
    ``argnums``. Writes to other States inside ``fun`` persist.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> w = brainstate.ParamState(jnp.array(2.0))
        >>> value, pullback = brainstate.transform.vjp(lambda x: w.value * x, grad_states=w)(3.0)
        >>> float(value), float(pullback(1.0))
        (6.0, 3.0)
    """
    return _VJPFunction(fun, grad_states, argnums, has_aux, check_states=False)


def jvp(fun: Callable, grad_states: Any = None, has_aux: bool = False) -> Callable:
    """Return ``f(primals, tangents, state_tangents=None) -> (value, tangent_out[, aux])``.

    ``primals`` and ``tangents`` are tuples of the function's arguments and their tangents;
    ``state_tangents`` mirrors ``grad_states`` (zeros when omitted).

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> w = brainstate.ParamState(jnp.array(2.0))
        >>> f = brainstate.transform.jvp(lambda x: w.value * x, grad_states=w)
        >>> [float(v) for v in f((3.0,), (1.0,), state_tangents=0.5)]
        [6.0, 3.5]
    """
    return _JVPFunction(fun, grad_states, None, has_aux, check_states=False)


def _arrange(state_grads: Any, arg_grads: tuple, has_states: bool, argnums: Any) -> Any:
    """Arrange derivatives as documented: states only, args only, or ``(states, args)``."""
    if isinstance(argnums, int):
        arg_grads = arg_grads[0]
    if has_states and argnums is not None:
        return state_grads, arg_grads
    return state_grads if has_states else arg_grads
