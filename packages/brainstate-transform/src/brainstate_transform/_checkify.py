"""``checkify``: functional runtime checks (``jax.experimental.checkify``) for stateful functions."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from jax.experimental import checkify as _jc

from brainstate_core.internal import read_values

from ._stateful import Known, StatefulFunction, boundary
from ._util import fun_name

__all__ = ["checkify", "check", "check_error", "Checkified", "all_checks", "user_checks", "nan_checks", "div_checks",
           "index_checks", "float_checks", "automatic_checks"]

#: Every kind of check: ``user_checks | nan_checks | div_checks | index_checks``.
all_checks = _jc.all_checks
#: The checks written with :func:`check` (the default of :func:`checkify`).
user_checks = _jc.user_checks
#: A floating-point operation produced a NaN from non-NaN inputs.
nan_checks = _jc.nan_checks
#: An integer division (or remainder) by zero.
div_checks = _jc.div_checks
#: An out-of-bounds index in gathers, scatters and dynamic slices.
index_checks = _jc.index_checks
#: ``nan_checks | div_checks``.
float_checks = _jc.float_checks
#: Everything but the user's checks: ``nan_checks | div_checks | index_checks``.
automatic_checks = _jc.automatic_checks


def check(pred: Any, msg: str, *fmt_args: Any, debug: bool = False, **fmt_kwargs: Any) -> None:
    """Assert ``pred`` at run time; inside :func:`checkify` a false ``pred`` becomes the returned error.

    This is ``jax.experimental.checkify.check``. Called eagerly with a concrete false ``pred`` it
    raises at once; inside a function transformed by :func:`checkify` it is functionalised, so it
    works under ``jit``, ``vmap`` and the loops. Staged (inside ``jit``) without :func:`checkify`
    around it, JAX refuses it when tracing.

    Args:
        pred: the condition that must hold (a boolean scalar or array: every element must be true).
        msg: the message; ``{}`` fields are filled with ``fmt_args`` / ``fmt_kwargs``, which may be
            traced arrays (their runtime values are shown).
        debug: a debug check, dropped unless the enclosing :func:`checkify` functionalises it.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> def safe_log(x):
        ...     brainstate.transform.check(x > 0, "x must be positive, got {}", x)
        ...     return jnp.log(x)
        >>> err, out = brainstate.transform.checkify(safe_log)(jnp.array(-1.0))
        >>> err.get()
        'x must be positive, got -1.0 (`check` failed)'
    """
    _jc.check(pred, msg, *fmt_args, debug=debug, **fmt_kwargs)


def check_error(error: _jc.Error) -> None:
    """Raise ``error`` (an ``Error`` returned by :func:`checkify`) into the enclosing check context.

    This is ``jax.experimental.checkify.check_error``: inside another :func:`checkify` the error is
    merged into that one's error; eagerly a failed error raises at once.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> inner = brainstate.transform.checkify(lambda x: (brainstate.transform.check(x > 0, "inner"), x)[1])
        >>> def outer(x):
        ...     err, y = inner(x)
        ...     brainstate.transform.check_error(err)
        ...     return y
        >>> brainstate.transform.checkify(outer)(jnp.array(-1.0))[0].get()
        'inner (`check` failed)'
    """
    _jc.check_error(error)


class Checkified:
    """A stateful function whose checks are returned as an ``Error`` (what :func:`checkify` returns).

    A call traces the function (as ``jax.experimental.checkify.checkify`` does; wrap it in
    :func:`~brainstate.transform.jit` to compile it), with the states it reads as inputs, and returns
    ``(error, out)``. The states it wrote are written back whether or not a check failed.
    """

    def __init__(self, fun: Callable, errors: Iterable[type] = user_checks) -> None:
        functools.update_wrapper(self, fun)
        self._sf = StatefulFunction(fun)
        self.errors = frozenset(errors)

    def __repr__(self) -> str:
        return f"brainstate.transform.checkify({fun_name(self._sf.fun)})"

    @boundary
    def __call__(self, *args: Any, **kwargs: Any) -> tuple[_jc.Error, Any]:
        def attempt(known: Known):
            pure = self._sf._pure(known, known.states)
            checked = _jc.checkify(lambda values, a, kw: pure(values, a, kw), errors=self.errors)
            error, (out, new) = checked(read_values(known.states), args, kwargs)
            return known.states, new, (error, out)

        return self._sf._apply(attempt)


def checkify(fun: Callable | None = None, errors: Iterable[type] = user_checks):
    """Return ``(error, out)`` from a stateful function instead of raising in its checks.

    A state-aware ``jax.experimental.checkify.checkify``: the checks selected by ``errors`` (the
    user's :func:`check` calls by default; :data:`nan_checks`, :data:`div_checks`,
    :data:`index_checks` or their unions :data:`float_checks`, :data:`automatic_checks` and
    :data:`all_checks` add JAX's automatic ones) are threaded out of the function as an ``Error``
    value, so they work inside ``jit``, ``vmap``, ``grad`` and the loops, and the caller decides what
    to do: ``error.get()`` is the message of the first failed check (``None`` if none failed),
    ``error.throw()`` raises it.

    The states the function reads are inputs, the states it writes are written back, as with
    :func:`~brainstate.transform.jit`. A failed check does not stop the computation (nothing can,
    inside compiled code): the output and the written states hold what the function computed, as
    ``out`` does in JAX. To keep the states of a failed step, check first and write after, or save
    the values before the call. A call that raises while tracing writes nothing.

    Args:
        fun: the function. ``checkify(errors=...)`` without it returns a decorator.
        errors: the set of checks to functionalise.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> total = brainstate.State(jnp.array(0.0))
        >>> @brainstate.transform.checkify
        ... def add(x):
        ...     brainstate.transform.check(x >= 0, "negative input {}", x)
        ...     total.value = total.value + x
        ...     return total.value
        >>> err, out = add(jnp.array(2.0))
        >>> err.get() is None, float(total.value)
        (True, 2.0)
        >>> err, out = brainstate.transform.jit(add)(jnp.array(-1.0))
        >>> err.get(), float(total.value)
        ('negative input -1.0 (`check` failed)', 1.0)
    """
    if fun is None:
        return lambda f: Checkified(f, errors)
    return Checkified(fun, errors)
