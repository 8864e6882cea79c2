"""Named environment values (``dt``, ``precision``, the train flag, ...) read by models at trace time.

Values live in two layers:

* **global settings**, changed with :func:`set`, shared by every thread;
* a **thread-local stack of contexts**, opened with :func:`context`, each overriding some keys for
  the duration of a ``with`` block (or of a decorated function) on the current thread only.

:func:`get` returns the innermost value of a key. Every value it returns is also recorded in each
active :class:`~brainstate_core.StateTrace` of the thread (``trace.env_reads[key] = value``), so a
transformation that traced a function knows which environment values the traced program baked in
and can retrace when they change.

Well-known keys: ``i`` (the step index), ``t`` (the current time), ``dt`` (the integration step),
``fit`` (``True`` while training) and ``precision`` (64, 32, 16 or ``'bf16'``, always set). The
names are also available as the constants :data:`I`, :data:`T`, :data:`DT`, :data:`FIT` and
:data:`PRECISION`.

Precision and JAX's x64 mode: ``set(precision=64)`` turns ``jax_enable_x64`` on for the whole
process and any other precision turns it off. ``context(precision=...)`` switches x64 with JAX's own
thread-local override (``jax.enable_x64``), so inside the block, and on this thread only, arrays are
created with the matching default width; leaving the block puts back whatever was in force before.
The initial precision is 64 if JAX already runs in x64 mode when this module is imported (for
example through ``JAX_ENABLE_X64=1``), else 32.
"""

from __future__ import annotations

import functools
import numbers
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import jax
import jax.numpy as jnp

from . import _trace
from ._errors import EnvironKeyError, EnvironValueError

__all__ = [
    "TRACED",
    "I",
    "T",
    "DT",
    "FIT",
    "PRECISION",
    "set",
    "get",
    "pop",
    "all",
    "context",
    "get_dt",
    "get_precision",
    "dftype",
    "ditype",
    "dutype",
    "dctype",
]

I = "i"  # noqa: E741 - the upstream name of the step-index key
"""Key of the current step index."""
T = "t"
"""Key of the current simulation time."""
DT = "dt"
"""Key of the numerical integration time step."""
FIT = "fit"
"""Key of the training flag (``True`` while fitting, ``False`` at inference)."""
PRECISION = "precision"
"""Key of the default numerical precision: 64, 32, 16 or ``'bf16'``."""

_F = TypeVar("_F", bound=Callable[..., Any])
_MISSING: Any = type("_Missing", (), {"__repr__": lambda self: "<missing>"})()
_builtin_all = all

_FLOATS = {64: jnp.float64, 32: jnp.float32, 16: jnp.float16, "bf16": jnp.bfloat16}
_INTS = {64: jnp.int64, 32: jnp.int32, 16: jnp.int16, "bf16": jnp.int16}
_UINTS = {64: jnp.uint64, 32: jnp.uint32, 16: jnp.uint16, "bf16": jnp.uint16}
_COMPLEXES = {64: jnp.complex128, 32: jnp.complex64, 16: jnp.complex64, "bf16": jnp.complex64}

_enable_x64: Callable[[bool], Any] = jax.enable_x64  # JAX's thread-local x64 override

_LOCK = threading.Lock()
_GLOBAL: dict[str, Any] = {PRECISION: 64 if jax.config.jax_enable_x64 else 32}


class _Local(threading.local):
    def __init__(self) -> None:
        # ``merged`` is every context of this thread flattened into one dict, so a lookup is two
        # dict probes however deep the nesting; ``frames`` remembers what each open context replaced.
        self.merged: dict[str, Any] = {}
        self.frames: list[tuple[context, dict[str, Any], Any]] = []


_LOCAL = _Local()


class _Traced:
    """What a trace records for a value that is itself a JAX tracer (the tracer may not outlive its trace)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<traced value>"


TRACED = _Traced()
"""Recorded in ``StateTrace.env_reads`` for a value that was a JAX tracer (it must not outlive its trace)."""


def _record(key: str, value: Any) -> None:
    traces = _trace.LOCAL.traces
    if traces:
        recorded = TRACED if _trace._contains_tracer(value) else value
        for trace in traces:
            trace.env_reads[key] = recorded


def _check_precision(precision: Any) -> int | str:
    """Return ``precision`` as 64, 32, 16 or ``'bf16'``; integers of any type are accepted."""
    if precision == "bf16" and isinstance(precision, str):
        return precision
    if isinstance(precision, numbers.Integral) and not isinstance(precision, bool) and int(precision) in _FLOATS:
        return int(precision)
    raise EnvironValueError(
        f"precision={precision!r} is not supported. Use one of 64, 32, 16 or 'bf16', e.g. "
        "`brainstate.environ.set(precision=32)`."
    )


def _missing_key_error(key: str, desc: str | None) -> EnvironKeyError:
    what = f" ({desc})" if desc else ""
    return EnvironKeyError(
        f"The environment value {key!r}{what} is not set. Set it globally with "
        f"`brainstate.environ.set({key}=...)` or for a block with "
        f"`with brainstate.environ.context({key}=...):`."
    )


def get(key: str, default: Any = _MISSING, desc: str | None = None) -> Any:
    """Return the innermost value of an environment key.

    Contexts of the current thread take priority over global settings, and inner contexts over
    outer ones. The returned value is recorded in every active state trace of the thread.

    Args:
        key: Name of the value.
        default: Returned when the key is set nowhere. Without it a missing key raises.
        desc: A few words on what the key means, included in the error message.

    Returns:
        The value of ``key``, or ``default``.

    Raises:
        EnvironKeyError: If the key is not set and no default was given.

    Example:
        >>> from brainstate_core import environ
        >>> with environ.context(dt=0.1):
        ...     environ.get('dt')
        0.1
        >>> environ.get('no_such_key', default=3)
        3
    """
    value = _LOCAL.merged.get(key, _MISSING)
    if value is _MISSING:
        value = _GLOBAL.get(key, default)
        if value is _MISSING:
            raise _missing_key_error(key, desc)
    if _trace.LOCAL.traces:
        _record(key, value)
    return value


def all() -> dict[str, Any]:  # noqa: A001 - public name mirrors the upstream API
    """Return every environment value visible on this thread, contexts overlaid on globals.

    Every key returned is recorded in the active state traces, as :func:`get` does.

    Returns:
        A new dict; changing it does not change the environment.

    Example:
        >>> from brainstate_core import environ
        >>> with environ.context(fit=True):
        ...     environ.all()['fit']
        True
    """
    values = {**_GLOBAL, **_LOCAL.merged}
    if _trace.LOCAL.traces:
        for key, value in values.items():
            _record(key, value)
    return values


def set(**values: Any) -> None:  # noqa: A001 - public name mirrors the upstream API
    """Set global environment values, visible in every thread.

    A value set here is hidden on a thread while a :func:`context` of that thread overrides the same
    key. ``precision=64`` turns JAX's x64 mode on for the whole process; 32, 16 and ``'bf16'`` turn
    it off.

    Args:
        **values: Keys and their new values. Values may be any Python object.

    Raises:
        EnvironValueError: If ``precision`` is not one of 64, 32, 16 or ``'bf16'``.

    Example:
        >>> from brainstate_core import environ
        >>> environ.set(dt=0.05, fit=False)
        >>> environ.get_dt()
        0.05
        >>> _ = environ.pop('dt'), environ.pop('fit')
    """
    if PRECISION in values:
        values[PRECISION] = _check_precision(values[PRECISION])
    with _LOCK:
        _GLOBAL.update(values)
        if PRECISION in values:
            jax.config.update("jax_enable_x64", values[PRECISION] == 64)


def pop(key: str, default: Any = _MISSING) -> Any:
    """Remove a global environment value and return it.

    Values set by open contexts are not affected; they disappear when their block ends.

    Args:
        key: Name of the value.
        default: Returned when the key has no global value. Without it a missing key raises.

    Returns:
        The removed value, or ``default``.

    Raises:
        EnvironKeyError: If the key has no global value and no default was given.
        EnvironValueError: If ``key`` is ``'precision'``, which must always be set.

    Example:
        >>> from brainstate_core import environ
        >>> environ.set(t=2.0)
        >>> environ.pop('t'), environ.get('t', default=None)
        (2.0, None)
    """
    if key == PRECISION:
        raise EnvironValueError(
            "The environment value 'precision' cannot be removed. Change it with "
            "`brainstate.environ.set(precision=32)` (or 64, 16, 'bf16')."
        )
    with _LOCK:
        value = _GLOBAL.pop(key, default)
    if value is _MISSING:
        raise _missing_key_error(key, None)
    return value


class context:
    """Override environment values on the current thread for a block or a function call.

    Use it as a ``with`` statement (which binds a snapshot dict of all values) or as a decorator.
    Contexts nest; the previous values come back when the block ends, also when it raises. A
    ``precision`` in the context switches JAX's x64 mode for the block on this thread only.

    Args:
        **values: Keys and the values they take inside the block.

    Raises:
        EnvironValueError: If ``precision`` is not one of 64, 32, 16 or ``'bf16'``.

    Example:
        >>> import jax.numpy as jnp
        >>> from brainstate_core import environ
        >>> with environ.context(dt=0.1, fit=True) as env:
        ...     with environ.context(dt=0.01):
        ...         print(environ.get('dt'), environ.get('fit'), env['dt'])
        0.01 True 0.1
        >>> with environ.context(precision=64):
        ...     jnp.zeros(2, dtype=environ.dftype()).dtype
        dtype('float64')
        >>> @environ.context(fit=False)
        ... def evaluate():
        ...     return environ.get('fit')
        >>> evaluate()
        False
    """

    def __init__(self, **values: Any) -> None:
        if PRECISION in values:
            values[PRECISION] = _check_precision(values[PRECISION])
        self.values = values

    def __enter__(self) -> dict[str, Any]:
        local = _LOCAL
        x64 = None
        if PRECISION in self.values:
            x64 = _enable_x64(self.values[PRECISION] == 64)
            x64.__enter__()
        local.frames.append((self, local.merged, x64))
        local.merged = {**local.merged, **self.values}
        return {**_GLOBAL, **local.merged}

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        local = _LOCAL
        owner, previous, x64 = local.frames.pop()
        assert owner is self, "brainstate.environ.context blocks closed out of order"
        local.merged = previous
        if x64 is not None:
            x64.__exit__(exc_type, exc, tb)

    def __call__(self, fn: _F) -> _F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        return f"brainstate.environ.context({items})"


def get_dt() -> Any:
    """Return the integration time step ``dt``.

    Raises:
        EnvironKeyError: If ``dt`` is not set; the message says how to set it.

    Example:
        >>> from brainstate_core import environ
        >>> with environ.context(dt=0.1):
        ...     environ.get_dt()
        0.1
    """
    return get(DT, desc="the numerical integration time step")


def get_precision() -> int | str:
    """Return the current default precision: 64, 32, 16 or ``'bf16'``.

    Example:
        >>> from brainstate_core import environ
        >>> with environ.context(precision=16):
        ...     environ.get_precision()
        16
    """
    return get(PRECISION)


def _dtype_doc(kind: str, table: dict[Hashable, Any], example: str) -> str:
    rows = ", ".join(f"{p!r} -> {jnp.dtype(t).name}" for p, t in table.items())
    return f"""Return the default {kind} dtype for the current precision.

    The mapping from precision is: {rows}.

    Example:
        >>> from brainstate_core import environ
        >>> with environ.context(precision=32):
        ...     environ.{example}()
        <class 'jax.numpy.{jnp.dtype(table[32]).name}'>
    """


def dftype() -> Any:
    return _FLOATS[get(PRECISION)]


def ditype() -> Any:
    return _INTS[get(PRECISION)]


def dutype() -> Any:
    return _UINTS[get(PRECISION)]


def dctype() -> Any:
    return _COMPLEXES[get(PRECISION)]


dftype.__doc__ = _dtype_doc("floating-point", _FLOATS, "dftype")
ditype.__doc__ = _dtype_doc("signed integer", _INTS, "ditype")
dutype.__doc__ = _dtype_doc("unsigned integer", _UINTS, "dutype")
dctype.__doc__ = _dtype_doc("complex", _COMPLEXES, "dctype")
