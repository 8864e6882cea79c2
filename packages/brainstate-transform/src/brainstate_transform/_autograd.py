"""Automatic differentiation with respect to States and arguments: grad, jacobians, hessian, vjp, jvp."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import State, StateUsageError

from ._stateful import Known, StatefulFunction
from ._util import describe, is_state, read_values, write_back

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


def _vector_grad_transform(fun: Callable, argnums: tuple[int, ...], has_aux: bool) -> Callable:
    """Gradient of every output element summed: the vjp with a cotangent of ones."""

    def transformed(*args):
        diff = [args[i] for i in argnums]

        def partial_fun(*d):
            full = list(args)
            for i, v in zip(argnums, d):
                full[i] = v
            return fun(*full)

        out, pullback, aux = jax.vjp(partial_fun, *diff, has_aux=True)
        grads = pullback(jax.tree.map(jnp.ones_like, out))
        return grads, aux

    return transformed


_TRANSFORMS: dict[str, Callable] = {
    "grad": jax.grad,
    "vector_grad": _vector_grad_transform,
    "jacrev": jax.jacrev,
    "jacfwd": jax.jacfwd,
    "hessian": jax.hessian,
}


class GradFunction:
    """A function that returns derivatives with respect to States and/or arguments (see :func:`grad`)."""

    def __init__(
        self,
        fun: Callable,
        kind: str,
        grad_states: Any = None,
        argnums: int | Sequence[int] | None = None,
        has_aux: bool = False,
        return_value: bool = False,
        check_states: bool = True,
        **transform_kwargs: Any,
    ) -> None:
        functools.update_wrapper(self, fun)
        self._sf = StatefulFunction(fun)
        self._kind = kind
        self._transform = functools.partial(_TRANSFORMS[kind], **transform_kwargs)
        self._grad_states, self._grad_tree, self._grad_paths = _flatten_grad_states(grad_states)
        # The grad states are certain inputs: knowing them up front spares the first call a retrace
        # when the function touches no other state.
        self._sf.known = Known(self._grad_states, [False] * len(self._grad_states))
        if argnums is None and grad_states is None:
            argnums = 0
        if kind == "hessian" and grad_states is not None and argnums is not None:
            raise StateUsageError(
                "hessian takes grad_states or argnums, not both. For mixed second derivatives nest "
                "jacfwd(jacrev(...)) instead."
            )
        self._argnums = argnums
        self._arg_tuple = (argnums,) if isinstance(argnums, int) else tuple(argnums or ())
        self.has_aux = has_aux
        self.return_value = return_value
        self.check_states = check_states

    def _check_used(self, result_states: list[State]) -> None:
        used = set(result_states)
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

    def _attempt(self, known: Known, args: tuple, kwargs: dict) -> tuple[Known, Any]:
        grad_states = self._grad_states
        grad_set = set(grad_states)
        others = [s for s in known.states if s not in grad_set]
        all_states = grad_states + others
        index = {s: i for i, s in enumerate(all_states)}
        sf, has_aux = self._sf, self.has_aux

        def pure(grad_values, other_values, *a):
            result = sf.run(all_states, list(grad_values) + list(other_values), a, kwargs)
            sf.check(known, result)
            if self.check_states:
                self._check_used(result.states)
            out = result.out
            if has_aux:
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise StateUsageError(
                        f"With has_aux=True the function `{getattr(sf.fun, '__qualname__', repr(sf.fun))}` must return a pair (value, aux); it "
                        f"returned {describe(out)}. Fix: return `value, aux`, or drop has_aux=True."
                    )
                value, aux = out
            else:
                value, aux = out, None
            new = {index[s]: v for s, v in result.new_values.items()}
            return value, (value, aux, new)

        argnums = (0,) + tuple(i + 2 for i in self._arg_tuple) if grad_states else tuple(i + 2 for i in self._arg_tuple)
        transformed = self._transform(pure, argnums=argnums, has_aux=True)
        grads, (value, aux, new) = transformed(read_values(grad_states), read_values(others), *args)
        return all_states, (grads, value, aux, new)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        states, (grads, value, aux, new) = self._sf.call(lambda known: self._attempt(known, args, kwargs))
        if new:
            write_back(states, new)
        tree = self._grad_tree
        if self._kind == "hessian" and self._grad_states:
            # grads[0][a][0][b] is the block d2f / (d state_a d state_b); nest it like grad_states twice.
            rows = [jax.tree.unflatten(tree, list(row[0])) for row in grads[0]]
            state_grads, arg_grads = jax.tree.unflatten(tree, rows), ()
        elif self._kind == "hessian":
            state_grads = None
            arg_grads = (grads[0][0],) if isinstance(self._argnums, int) else grads
        elif self._grad_states:
            state_grads, arg_grads = jax.tree.unflatten(tree, list(grads[0])), grads[1:]
        else:
            state_grads, arg_grads = None, grads
        result = _arrange(state_grads, arg_grads, bool(self._grad_states), self._argnums)
        extras = ((value,) if self.return_value else ()) + ((aux,) if self.has_aux else ())
        return (result, *extras) if extras else result


def _make(kind: str, doc: str, **fixed: Any) -> Callable:
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
                       check_states=check_states, **fixed, **kwargs)
        if fun is None:
            return lambda f: GradFunction(f, kind, **options)
        return GradFunction(fun, kind, **options)

    transform.__name__ = transform.__qualname__ = kind
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

    Writes to other States inside ``fun`` persist after the call.
"""

grad = _make("grad", """Gradient of a scalar function with respect to States and/or arguments.
""" + _COMMON_ARGS + """
    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> w = brainstate.ParamState(jnp.array([1.0, 2.0]))
        >>> g = brainstate.transform.grad(lambda x: jnp.sum(w.value * x), grad_states=w)
        >>> g(jnp.array([3.0, 4.0]))
        Array([3., 4.], dtype=float32)
""")

vector_grad = _make("vector_grad", """Gradient of the sum of a function's outputs (for element-wise losses).
""" + _COMMON_ARGS + """
    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> brainstate.transform.vector_grad(lambda x: x ** 2)(jnp.array([1.0, 2.0]))
        Array([2., 4.], dtype=float32)
""")

jacrev = _make("jacrev", """Jacobian by reverse mode with respect to States and/or arguments.
""" + _COMMON_ARGS + """
    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> brainstate.transform.jacrev(lambda x: x * 3.0)(jnp.ones(2))
        Array([[3., 0.],
               [0., 3.]], dtype=float32)
""")

jacfwd = _make("jacfwd", """Jacobian by forward mode with respect to States and/or arguments.
""" + _COMMON_ARGS + """
    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> brainstate.transform.jacfwd(lambda x: x * 3.0)(jnp.ones(2))
        Array([[3., 0.],
               [0., 3.]], dtype=float32)
""")

jacobian = jacrev

hessian = _make("hessian", """Hessian of a scalar function with respect to States and/or arguments.
""" + _COMMON_ARGS + """
    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> brainstate.transform.hessian(lambda x: jnp.sum(x ** 3))(jnp.array([1.0, 2.0]))
        Array([[ 6.,  0.],
               [ 0., 12.]], dtype=float32)
""")


def vjp(fun: Callable, grad_states: Any = None, argnums: int | Sequence[int] | None = None, has_aux: bool = False):
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
    states, treedef, _ = _flatten_grad_states(grad_states)
    if argnums is None and grad_states is None:
        argnums = 0
    arg_tuple = (argnums,) if isinstance(argnums, int) else tuple(argnums or ())
    sf = StatefulFunction(fun)

    def call(*args: Any, **kwargs: Any):
        def attempt(known: Known):
            others = [s for s in known.states if s not in set(states)]
            all_states = states + others
            index = {s: i for i, s in enumerate(all_states)}
            other_values = read_values(others)

            def pure(grad_values, *diff):
                full = list(args)
                for i, d in zip(arg_tuple, diff):
                    full[i] = d
                result = sf.run(all_states, list(grad_values) + other_values, tuple(full), kwargs)
                sf.check(known, result)
                value, aux = result.out if has_aux else (result.out, None)
                return value, (aux, {index[s]: v for s, v in result.new_values.items()})

            primals = [args[i] for i in arg_tuple]
            value, pullback, (aux, new) = jax.vjp(pure, read_values(states), *primals, has_aux=True)
            return all_states, value, pullback, aux, new

        all_states, value, pullback, aux, new = sf.call(attempt)
        if new:
            write_back(all_states, new)

        def structured(cotangent: Any) -> Any:
            grads = pullback(cotangent)
            state_grads = jax.tree.unflatten(treedef, list(grads[0])) if states else None
            return _arrange(state_grads, grads[1:], bool(states), argnums)

        return (value, structured, aux) if has_aux else (value, structured)

    return call


def jvp(fun: Callable, grad_states: Any = None, has_aux: bool = False):
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
    states, treedef, _ = _flatten_grad_states(grad_states)
    sf = StatefulFunction(fun)

    def call(primals: tuple, tangents: tuple, state_tangents: Any = None):
        if state_tangents is None:
            state_tangents = [jnp.zeros_like(v) for v in read_values(states)]
        else:
            state_tangents = treedef.flatten_up_to(state_tangents)

        def attempt(known: Known):
            others = [s for s in known.states if s not in set(states)]
            all_states = states + others
            index = {s: i for i, s in enumerate(all_states)}
            other_values = read_values(others)

            def pure(grad_values, *args):
                result = sf.run(all_states, list(grad_values) + other_values, args, {})
                sf.check(known, result)
                value, aux = result.out if has_aux else (result.out, None)
                return value, (aux, {index[s]: v for s, v in result.new_values.items()})

            value, tangent, (aux, new) = jax.jvp(
                pure, (read_values(states), *primals), (list(state_tangents), *tangents), has_aux=True
            )
            return all_states, value, tangent, aux, new

        all_states, value, tangent, aux, new = sf.call(attempt)
        if new:
            write_back(all_states, new)
        return (value, tangent, aux) if has_aux else (value, tangent)

    return call


def _arrange(state_grads: Any, arg_grads: tuple, has_states: bool, argnums: Any) -> Any:
    """Arrange derivatives as documented: states only, args only, or ``(states, args)``."""
    if isinstance(argnums, int):
        arg_grads = arg_grads[0]
    if has_states and argnums is not None:
        return state_grads, arg_grads
    return state_grads if has_states else arg_grads
