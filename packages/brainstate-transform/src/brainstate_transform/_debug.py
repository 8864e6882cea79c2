"""Debugging stateful code: NaN/Inf reports, conditional breakpoints and reductions across vmap lanes."""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from typing import Any

import jax
import jax.core
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify as _jc
from jax.extend.core import Primitive
from jax.interpreters import batching, mlir

from brainstate_core import BrainStateError
from brainstate_core.internal import contains_tracer, is_tracer, read_values, set_home

from ._stateful import Known, StatefulFunction, boundary

__all__ = ["unvmap", "debug_nan", "debug_nan_if", "breakpoint_if", "DebugNanError", "nan_checked"]


# -- unvmap ---------------------------------------------------------------------------------------
_REDUCE = {"any": jnp.any, "all": jnp.all, "max": jnp.max}

unvmap_p = Primitive("unvmap")


def _unvmap_abstract(x: Any, *, op: str) -> jax.core.ShapedArray:
    if op == "none":
        return x
    return jax.core.ShapedArray((), jnp.bool_ if op != "max" else x.dtype)


def _unvmap_impl(x: Any, *, op: str) -> Any:
    return x if op == "none" else _REDUCE[op](x)


def _unvmap_batch(args: tuple, dims: tuple, *, op: str) -> tuple[Any, None]:
    if op == "none":
        raise ValueError(
            "unvmap(x, op='none') was given a value that differs between vmap lanes: removing the batch axis "
            "would change the shape the function sees. Fix: reduce it with op='any', 'all' or 'max', or pass "
            "a value that is the same in every lane."
        )
    return unvmap_p.bind(args[0], op=op), None  # the batch axis is reduced away with the others


unvmap_p.def_impl(_unvmap_impl)
unvmap_p.def_abstract_eval(_unvmap_abstract)
batching.primitive_batchers[unvmap_p] = _unvmap_batch
mlir.register_lowering(unvmap_p, mlir.lower_fun(_unvmap_impl, multiple_results=False))


def unvmap(x: Any, op: str = "any") -> Any:
    """Reduce ``x`` over all its elements *and* over every enclosing ``vmap`` lane; the result is unbatched.

    Inside a vmapped function every lane gets the same scalar: ``'any'`` (is any element true in any
    lane), ``'all'``, or ``'max'`` (keeps the dtype). Outside ``vmap`` it is ``jnp.any(x)`` and so on.
    ``'none'`` returns ``x`` itself, and is for values that are the same in every lane: a value that
    differs between lanes raises ``ValueError`` (removing its batch axis would change its shape).

    Example:
        >>> import brainstate, jax, jax.numpy as jnp
        >>> jax.vmap(lambda x: brainstate.transform.unvmap(x > 2, op="any"))(jnp.arange(4))
        Array([ True,  True,  True,  True], dtype=bool)
    """
    if op not in ("any", "all", "max", "none"):
        raise ValueError(f"unvmap: op must be 'any', 'all', 'max' or 'none', got {op!r}.")
    return unvmap_p.bind(jnp.asarray(x), op=op)


# -- NaN / Inf reports ----------------------------------------------------------------------------
class DebugNanError(BrainStateError, RuntimeError):
    """NaN or Inf reached the output (or the written states) of a function checked by ``debug_nan``."""


set_home(DebugNanError, "brainstate.transform")


def _inexact(x: Any) -> bool:
    return hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.inexact)


def _bad_flag(tree: Any) -> Any:
    """A boolean scalar: does any floating leaf of ``tree`` hold a NaN or an Inf (in any vmap lane)?"""
    flags = [jnp.any(~jnp.isfinite(x)) for x in jax.tree.leaves(tree) if _inexact(x)]
    return unvmap(jnp.any(jnp.stack(flags)) if flags else False, op="any")


def _user_frame(tb: Any) -> str | None:
    """The innermost frame of the user's code in a JAX traceback, as ``File "...", line N, in f``."""
    from jax._src import traceback_util

    try:
        frames = traceback.format_tb(traceback_util.filter_traceback(tb.as_python_traceback()))
    except Exception:  # noqa: BLE001 - a report without a location is still a report
        return None
    frames = [f for f in frames if f"{os.sep}site-packages{os.sep}" not in f]  # JAX's own operators
    return frames[-1].strip() if frames else None


def _message(error: Any, watched: Any, what: str) -> str:
    lines = [f"NaN/Inf in {what}."]
    exc = error.get_exception() if error is not None else None
    if error is not None and exc is not None:
        lines.append(f"  first produced: {error.get()}")
        where = _user_frame(getattr(exc, "traceback_info", None))
        if where:
            lines.append(f"  at: {where}")
    else:
        lines.append("  first produced: not localised (an Inf from overflow, log(0), 1/0.0 ...; "
                     "NaN and integer division by zero are localised)")
    for label, tree in watched.items():
        for path, x in jax.tree_util.tree_flatten_with_path(tree)[0]:
            x = np.asarray(x) if _inexact(x) else None
            if x is not None and not np.all(np.isfinite(x)):
                lines.append(f"  {label}{jax.tree_util.keystr(path)}: {x.dtype}{list(x.shape)} with "
                             f"{int(np.isnan(x).sum())} NaN, {int(np.isinf(x).sum())} Inf")
    lines.append("Fix: guard the operation named above (jnp.where on its inputs, a clip, an epsilon).")
    return "\n".join(lines)


def _report(error: Any, watched: Any, what: str) -> None:
    """Raise :class:`DebugNanError` if ``watched`` holds NaN/Inf: now, or when the compiled program runs."""
    flag = _bad_flag(watched)
    if not is_tracer(flag):
        if not bool(flag):
            return
        if not contains_tracer((error, watched)):
            raise DebugNanError(_message(error, watched, what))

    def fail(err: Any, values: Any) -> None:
        if bool(_bad_flag(values)):  # under vmap this runs once per lane: only a bad lane reports
            raise DebugNanError(_message(err, values, what))

    # Only a failing run pays for the transfer to the host.
    jax.lax.cond(flag, lambda: jax.debug.callback(fail, error, watched, ordered=True), lambda: None)


def nan_checked(fun: Callable, what: str, watch: Callable[[Any], dict[str, Any]]) -> Callable:
    """``fun`` run under ``checkify`` (float checks), raising :class:`DebugNanError` when ``watch(out)``
    (``{label: values}``) holds NaN/Inf; NaN computed but masked away (``jnp.where``) is not reported."""
    checked = _jc.checkify(fun, errors=_jc.float_checks)

    def run(*args: Any, **kwargs: Any) -> Any:
        error, out = checked(*args, **kwargs)
        _report(error, watch(out), what)
        return out

    return run


@boundary
def debug_nan(fn: Callable, *args: Any, phase: str = "", **kwargs: Any) -> None:
    """Run ``fn(*args, **kwargs)`` and raise :class:`DebugNanError` if NaN or Inf reaches its output.

    The output and the new values of the States ``fn`` writes are checked; a NaN computed but masked
    away (``jnp.where``) is not reported. The report names the primitive that first produced a NaN
    (or divided an integer by zero) and the line of your code that called it, and lists the
    contaminated outputs. Inside ``jit`` the check runs with the program, and the failure surfaces as
    JAX's runtime error carrying the same message.

    This is a diagnostic: it returns ``None`` and leaves every State as it was (the writes of ``fn``
    are checked, then dropped).

    Args:
        fn: the function; it may read and write States.
        *args, **kwargs: its arguments.
        phase: a label for the report ("forward", "loss" ...).

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> brainstate.transform.debug_nan(jnp.log, jnp.array([1.0, 2.0]))
        >>> brainstate.transform.debug_nan(jnp.log, jnp.array([-1.0, 2.0]))
        Traceback (most recent call last):
        ...
        brainstate.transform.DebugNanError: NaN/Inf in the output of log.
          first produced: nan generated by primitive: log.
        ...
    """
    sf = StatefulFunction._shared(fn)
    name = getattr(fn, "__name__", None) or repr(fn)
    what = f"the output of {name}" + (f" [{phase}]" if phase else "")

    def attempt(known: Known) -> None:
        pure = sf._pure(known, known.states)

        def watch(out: tuple) -> dict[str, Any]:
            return {"output": out[0], **{f"state {known.states[i]!r}": v for i, v in out[1].items()}}

        nan_checked(lambda values, a, kw: pure(values, a, kw), what, watch)(read_values(known.states), args, kwargs)

    sf._retry(attempt)


@boundary
def debug_nan_if(has_nan: Any, fn: Callable, *args: Any, phase: str = "", **kwargs: Any) -> None:
    """:func:`debug_nan` when ``has_nan`` is true (in any vmap lane); inside ``jit`` ``fn`` only runs then.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> x = jnp.array([-1.0, 2.0])
        >>> brainstate.transform.debug_nan_if(False, jnp.log, x)  # not checked
    """
    _when(has_nan, lambda: debug_nan(fn, *args, phase=phase, **kwargs))


def breakpoint_if(pred: Any, **breakpoint_kwargs: Any) -> None:
    """``jax.debug.breakpoint(**breakpoint_kwargs)`` when ``pred`` is true (in any vmap lane).

    Eagerly with a concrete ``pred`` nothing is staged; inside ``jit`` the breakpoint is compiled
    into a ``lax.cond`` and the debugger only opens when the program finds ``pred`` true. Under
    ``vmap`` it opens when ``pred`` is true in any lane, once per lane (as JAX runs callbacks).

    Example:
        >>> import brainstate, jax, jax.numpy as jnp
        >>> @brainstate.transform.jit
        ... def f(x):
        ...     brainstate.transform.breakpoint_if(jnp.any(jnp.isnan(x)))
        ...     return x * 2
        >>> f(jnp.ones(2))
        Array([2., 2.], dtype=float32)
    """
    _when(pred, lambda: jax.debug.breakpoint(**breakpoint_kwargs))


def _when(pred: Any, action: Callable[[], None]) -> None:
    """Run ``action`` if ``pred`` holds in any lane: now when it is concrete, else in a ``lax.cond``."""
    flag = unvmap(pred, op="any")
    if not is_tracer(flag):
        if bool(flag):
            action()
        return

    def run() -> None:
        action()  # a breakpoint given a token returns it: the branches must both return nothing

    jax.lax.cond(flag, run, lambda: None)
