"""Rematerialisation, shape evaluation, name scopes and runtime checks for stateful code."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np

from brainstate_core import JitErrorIf
from brainstate_core.internal import contains_tracer, peek, read_values

from ._options import checked_options
from ._stateful import Known, StatefulFunction, boundary
from ._util import fun_name, normalize_argnums

__all__ = ["checkpoint", "remat", "eval_shape", "named_scope", "jit_error_if"]

named_scope = jax.named_scope


@checked_options("brainstate.transform.checkpoint")
def checkpoint(
    fun: Callable | None = None,
    *,
    prevent_cse: bool = True,
    policy: Callable | None = None,
    static_argnums: int | Sequence[int] = (),
):
    """``jax.checkpoint`` for stateful functions: recompute the forward pass in the backward pass.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> w = brainstate.ParamState(jnp.array(3.0))
        >>> f = brainstate.transform.checkpoint(lambda x: jnp.sin(w.value * x))
        >>> float(brainstate.transform.grad(f, grad_states=w)(0.0))
        0.0
    """

    def decorate(f: Callable) -> Callable:
        return _Checkpointed(f, prevent_cse, policy, static_argnums)

    return decorate if fun is None else decorate(fun)


class _Checkpointed:
    """A stateful function whose forward pass is recomputed in the backward pass (see :func:`checkpoint`)."""

    def __init__(self, fun: Callable, prevent_cse: bool, policy: Callable | None, static_argnums: Any) -> None:
        functools.update_wrapper(self, fun)
        self._sf = StatefulFunction(fun)
        self._options: dict[str, Any] = dict(prevent_cse=prevent_cse, policy=policy,
                                             static_argnums=tuple(i + 1 for i in normalize_argnums(static_argnums)))

    def __repr__(self) -> str:
        return f"brainstate.transform.checkpoint({fun_name(self._sf.fun)})"

    @boundary
    def __call__(self, *args: Any) -> Any:
        def attempt(known: Known):
            pure = self._sf._pure(known, known.states)
            remat = jax.checkpoint(lambda values, *a: pure(values, a), **self._options)
            out, new = remat(read_values(known.states), *args)
            return known.states, new, out

        return self._sf._apply(attempt)


remat = checkpoint


def eval_shape(fun: Callable, *args: Any, return_state_shapes: bool = False, **kwargs: Any) -> Any:
    """Shapes and dtypes of ``fun(*args, **kwargs)`` without computing anything or changing any State.

    With ``return_state_shapes=True`` it returns ``(state_shapes, out_shapes)``: ``state_shapes`` maps
    each State ``fun`` touches to the shapes of its value after the call (as upstream).

    Example:
        >>> import brainstate, jax, jax.numpy as jnp
        >>> s = brainstate.State(jnp.zeros(3))
        >>> def f(x):
        ...     s.value = s.value + x
        ...     return s.value[None]
        >>> brainstate.transform.eval_shape(f, 1.0)
        ShapeDtypeStruct(shape=(1, 3), dtype=float32)
        >>> s.value
        Array([0., 0., 0.], dtype=float32)
        >>> brainstate.transform.eval_shape(f, 1.0, return_state_shapes=True)[0] == {s: jax.ShapeDtypeStruct((3,), jnp.float32)}
        True
    """
    sf = StatefulFunction(fun)

    def attempt(known: Known) -> tuple[Any, dict[int, Any], Known]:
        out, new = jax.eval_shape(sf._pure(known, known.states), read_values(known.states), args, kwargs)
        return out, new, known

    out, new, known = sf._retry(attempt)
    if not return_state_shapes:
        return out
    shape_of = lambda v: jax.ShapeDtypeStruct(np.shape(v), jax.numpy.result_type(v))  # noqa: E731
    return {s: new[i] if i in new else jax.tree.map(shape_of, peek(s)) for i, s in enumerate(known.states)}, out


def jit_error_if(pred: Any, error: str | Callable[..., str], *fmt_args: Any, **fmt_kwargs: Any) -> None:
    """Raise :class:`JitErrorIf` when ``pred`` is true, also inside compiled code.

    ``error`` is a message (formatted with ``str.format(*fmt_args, **fmt_kwargs)``, the arguments
    being the runtime values) or a function of those values returning the message. Eagerly it raises
    at once; inside a transformation the check runs on the host when the program runs, and JAX
    reports it as a runtime error whose message contains the text.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> brainstate.transform.jit_error_if(jnp.array(False), "never raised")
        >>> try:
        ...     brainstate.transform.jit_error_if(jnp.array(True), "x is {}", 3)
        ... except brainstate.JitErrorIf as e:
        ...     print(e)
        x is 3
    """

    def message(*values: Any, **kw: Any) -> str:
        return error(*values, **kw) if callable(error) else error.format(*values, **kw)

    def check(flag: Any, *values: Any, **kw: Any) -> None:
        if bool(np.any(flag)):
            raise JitErrorIf(message(*values, **kw))

    try:
        concrete = bool(np.any(np.asarray(pred)))
    except (jax.errors.TracerBoolConversionError, jax.errors.ConcretizationTypeError, TypeError):
        concrete = None
    if concrete is not None and not contains_tracer((fmt_args, fmt_kwargs)):
        if concrete:
            raise JitErrorIf(message(*fmt_args, **fmt_kwargs))
        return
    jax.debug.callback(check, pred, *fmt_args, **fmt_kwargs)
