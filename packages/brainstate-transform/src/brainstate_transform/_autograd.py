"""Automatic differentiation with respect to States and arguments: grad, jacobians, hessian, vjp, jvp."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import ConfigError, StateUsageError
from brainstate_core.internal import peek, read_values

from ._debug import nan_checked
from ._differentiated import _Differentiated, _substitute
from ._jaxpr_draw import MissingDependencyError
from ._options import reject_unknown
from ._stateful import Known, boundary
from ._util import fun_name
from ._vjp_jvp import jvp as jvp
from ._vjp_jvp import vjp as vjp

__all__ = ["grad", "vector_grad", "jacrev", "jacfwd", "jacobian", "hessian", "vjp", "jvp", "GradFunction"]


def _vector_grad(fun: Callable, argnums: tuple[int, ...], has_aux: bool) -> Callable:
    """Gradient of every output element summed: the vjp with a cotangent of ones."""

    def transformed(*args):
        def partial_fun(*diff):
            return fun(*_substitute(args, argnums, diff))

        out, pullback, aux = jax.vjp(partial_fun, *[args[i] for i in argnums], has_aux=True)
        return pullback(jax.tree.map(jnp.ones_like, out)), aux

    return transformed


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

    _transform: Callable[..., Any] = staticmethod(jax.grad)  # the jax transformation (per instance if unit-aware)

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


_DEFAULTS = dict(grad_states=None, argnums=None, has_aux=False, return_value=False, holomorphic=False,
                 allow_int=False, unit_aware=False, check_states=True, tangent_size=None, drct_der_clip=None,
                 key=None)


def _unit_aware(name: str) -> Callable:
    """brainunit.autograd's ``name`` (``unit_aware=True``): derivatives carry the units of output / input."""
    try:
        import brainunit.autograd as unit_autograd
    except ImportError as err:
        raise MissingDependencyError(f"{name}(unit_aware=True) needs brainunit. Fix: pip install brainunit "
                                     "(or brainstate-nn[units]).") from err
    if name == "hessian":  # its per-state blocks are arranged by the value's pytree, which a Quantity breaks
        raise ConfigError("hessian(unit_aware=True) is not supported yet. Fix: nest "
                          "jacfwd(jacrev(f, unit_aware=True), unit_aware=True), or strip the units first.")
    if name == "vector_grad":
        return lambda f, argnums, has_aux: unit_autograd.vector_grad(f, argnums=argnums, has_aux=has_aux)
    return getattr(unit_autograd, name)


def _make(cls: type[GradFunction], doc: str, order: Sequence[str]) -> Callable:
    """The public function of ``cls``; ``order`` is upstream's order of the parameters after ``fun``."""
    name = cls._name

    def transform(fun: Callable | None = None, *args: Any, **kwargs: Any):
        if len(args) > len(order):
            raise TypeError(f"{name}() takes at most {len(order) + 1} positional arguments ({len(args) + 1} given); "
                            f"they are fun, {', '.join(order)}.")
        for key, value in zip(order, args):
            if key in kwargs:
                raise TypeError(f"{name}() got multiple values for argument {key!r}.")
            kwargs[key] = value
        if kwargs.get("has_aux") is None:  # upstream's default is None, meaning False
            kwargs["has_aux"] = False
        unit_aware = kwargs.pop("unit_aware", False)

        def build(f: Callable) -> GradFunction:
            built = cls(f, **kwargs)
            if unit_aware:  # brainunit's derivative of the same pure function: units of output / input
                built._transform = _unit_aware(name)
            return built

        return build if fun is None else build(fun)

    params = [inspect.Parameter("fun", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None)]
    params += [inspect.Parameter(k, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=_DEFAULTS[k]) for k in order]
    params.append(inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD))
    transform.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    transform.__name__ = transform.__qualname__ = name
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
            unknown keyword is a ``TypeError`` when the transformation is built. ``unit_aware=True``
            differentiates with ``brainunit.autograd``: derivatives carry units (output / input).

    Writes to other States inside ``fun`` persist after the call.

    The options may be given positionally after ``fun`` in upstream brainstate's order, which
    differs between the transformations (``inspect.signature`` shows it); ``has_aux=None`` means
    ``False``.
"""

grad = _make(GradFunction, """Gradient of a scalar function with respect to States and/or arguments.
""" + _COMMON_ARGS + """
    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> w = brainstate.ParamState(jnp.array([1.0, 2.0]))
        >>> g = brainstate.transform.grad(lambda x: jnp.sum(w.value * x), grad_states=w)
        >>> g(jnp.array([3.0, 4.0]))
        Array([3., 4.], dtype=float32)
""", ("grad_states", "argnums", "holomorphic", "allow_int", "has_aux", "return_value", "unit_aware", "check_states"))

vector_grad = _make(_VectorGradFunction, """Gradient of the sum of a function's outputs (for element-wise losses).
""" + _COMMON_ARGS + """
    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> brainstate.transform.vector_grad(lambda x: x ** 2)(jnp.array([1.0, 2.0]))
        Array([2., 4.], dtype=float32)
""", ("grad_states", "argnums", "return_value", "has_aux", "unit_aware", "check_states"))

def _jacobian_doc(mode: str, name: str) -> str:
    return f"""Jacobian by {mode} mode with respect to States and/or arguments.
""" + _COMMON_ARGS + f"""
    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> brainstate.transform.{name}(lambda x: x * 3.0)(jnp.ones(2))
        Array([[3., 0.],
               [0., 3.]], dtype=float32)
"""


jacrev = _make(_JacrevFunction, _jacobian_doc("reverse", "jacrev"), ("grad_states", "argnums", "has_aux", "return_value",
                                                                     "holomorphic", "allow_int", "unit_aware",
                                                                     "check_states"))
jacfwd = _make(_JacfwdFunction, _jacobian_doc("forward", "jacfwd"), ("grad_states", "argnums", "has_aux", "return_value",
                                                                     "holomorphic", "unit_aware", "check_states"))
jacobian = jacrev

hessian = _make(_HessianFunction, """Hessian of a scalar function with respect to States and/or arguments.
""" + _COMMON_ARGS + """
    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> brainstate.transform.hessian(lambda x: jnp.sum(x ** 3))(jnp.array([1.0, 2.0]))
        Array([[ 6.,  0.],
               [ 0., 12.]], dtype=float32)
""", ("grad_states", "argnums", "return_value", "holomorphic", "has_aux", "unit_aware", "check_states"))
