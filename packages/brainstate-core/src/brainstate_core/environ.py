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

Behaviours. :func:`register_default_behavior` attaches a callback to a key; it runs with the new
value whenever :func:`set` (or :func:`set_precision`, :func:`set_platform`,
:func:`set_host_device_count`) changes the key, and when a :func:`context` sets it (and again, with
the value in force before, when the block ends). A callback that raises makes the change fail: the
values are put back and the error propagates (upstream brainstate turns it into a warning).

Separate environments. Every function takes ``env=`` to act on an :class:`EnvironmentState` of
the caller's own instead of the process-wide one. Values read from one are tracked by the
transformations like global ones: a jitted function that read ``get('dt', env=mine)`` recompiles
when ``mine``'s ``dt`` changes.
"""

from __future__ import annotations

import functools
import numbers
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

from . import _trace
from ._errors import EnvironKeyError, EnvironValueError

__all__ = [
    "TRACED",
    "I",
    "T",
    "DT",
    "FIT",
    "PRECISION",
    "PLATFORM",
    "HOST_DEVICE_COUNT",
    "JIT_ERROR_CHECK",
    "DEFAULT_PRECISION",
    "SUPPORTED_PLATFORMS",
    "SUPPORTED_PRECISIONS",
    "EnvironmentState",
    "set",
    "get",
    "pop",
    "all",
    "reset",
    "context",
    "get_dt",
    "get_precision",
    "set_precision",
    "get_platform",
    "set_platform",
    "get_host_device_count",
    "set_host_device_count",
    "dftype",
    "ditype",
    "dutype",
    "dctype",
    "tolerance",
    "register_default_behavior",
    "unregister_default_behavior",
    "list_registered_behaviors",
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
"""Key of the default numerical precision: 64, 32, 16, 8 or ``'bf16'``."""
PLATFORM = "platform"
"""Name of the computing platform setting (:func:`set_platform`; not a value of the environment)."""
HOST_DEVICE_COUNT = "host_device_count"
"""Name of the host device count setting (:func:`set_host_device_count`; not a value of the environment)."""
JIT_ERROR_CHECK = "jit_error_check"
"""Key of the opt-in flag for runtime checks inside compiled code (for example delay index bounds)."""

DEFAULT_PRECISION = 32
"""The precision used when JAX does not run in x64 mode at import."""
SUPPORTED_PLATFORMS = ("cpu", "gpu", "tpu")
"""The platforms :func:`set_platform` accepts."""
SUPPORTED_PRECISIONS = (8, 16, 32, 64, "bf16")
"""The precisions :func:`set` and :func:`context` accept."""

_F = TypeVar("_F", bound=Callable[..., Any])
_MISSING: Any = type("_Missing", (), {"__repr__": lambda self: "<missing>"})()
_builtin_all = all

_FLOATS = {64: jnp.float64, 32: jnp.float32, 16: jnp.float16, "bf16": jnp.bfloat16, 8: jnp.float8_e5m2}
_INTS = {64: jnp.int64, 32: jnp.int32, 16: jnp.int16, "bf16": jnp.int16, 8: jnp.int8}
_UINTS = {64: jnp.uint64, 32: jnp.uint32, 16: jnp.uint16, "bf16": jnp.uint16, 8: jnp.uint8}
_COMPLEXES = {64: jnp.complex128, 32: jnp.complex64, 16: jnp.complex64, "bf16": jnp.complex64, 8: jnp.complex64}
_TOLERANCES = {64: np.float64(1e-12), 32: np.float32(1e-5)}

_enable_x64: Callable[[bool], Any] = jax.enable_x64  # JAX's thread-local x64 override

_LOCK = threading.RLock()
_X64_AT_IMPORT: bool = jax.config.jax_enable_x64  # pyright: ignore[reportAttributeAccessIssue]  # run-time jax flag
_INITIAL_PRECISION: int | str = 64 if _X64_AT_IMPORT else DEFAULT_PRECISION


class _Local(threading.local):
    def __init__(self) -> None:
        # ``merged`` is every context of this thread flattened into one dict, so a lookup is two
        # dict probes however deep the nesting; ``frames`` remembers what each open context replaced.
        self.merged: dict[str, Any] = {}
        self.frames: list[tuple[context, dict[str, Any], Any]] = []


class EnvironmentState:
    """A set of environment values: global settings, per-thread contexts and registered behaviours.

    The module's functions act on the process-wide one; pass ``env=`` to act on your own instead
    (for a library that keeps its configuration apart, or a test). Its settings are shared by all
    threads and its contexts are per thread, like the process-wide environment's.

    Args:
        **settings: initial values (``precision`` defaults to the process's initial precision).

    Example:
        >>> from brainstate_core import environ
        >>> mine = environ.EnvironmentState(dt=0.5)
        >>> environ.get('dt', env=mine)
        0.5
        >>> environ.get('dt', default=None) is None   # the process-wide environment is unchanged
        True
    """

    __slots__ = ("settings", "functions", "_local", "__weakref__")

    def __init__(self, **settings: Any) -> None:
        if PRECISION in settings:
            settings[PRECISION] = _check_precision(settings[PRECISION])
        self.settings: dict[str, Any] = {PRECISION: _INITIAL_PRECISION, **settings}
        self.functions: dict[str, Callable[[Any], Any]] = {}  # registered behaviours, by key
        self._local = _Local()

    def __repr__(self) -> str:
        return f"brainstate.environ.EnvironmentState({self.settings!r})"


_ENV = EnvironmentState()
_GLOBAL = _ENV.settings  # the process-wide settings and this thread's contexts: the fast path of get()
_LOCAL = _ENV._local


class _Scoped:
    """How a trace records a key read from an :class:`EnvironmentState` other than the process-wide
    one: :func:`get` given this key reads that environment's value of it."""

    __slots__ = ("env", "key")

    def __init__(self, env: EnvironmentState, key: str) -> None:
        self.env, self.key = env, key

    def __eq__(self, other: Any) -> bool:
        return type(other) is _Scoped and other.env is self.env and other.key == self.key

    def __hash__(self) -> int:
        return hash((id(self.env), self.key))

    def __repr__(self) -> str:
        return f"{self.key}@EnvironmentState({id(self.env):#x})"


def _env(env: EnvironmentState | None) -> EnvironmentState:
    if env is None:
        return _ENV
    if not isinstance(env, EnvironmentState):
        raise EnvironValueError(f"env={env!r} is not an EnvironmentState. Fix: pass brainstate.environ.EnvironmentState().")
    return env


class _Traced:
    """What a trace records for a value that is itself a JAX tracer (the tracer may not outlive its trace)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<traced value>"


TRACED = _Traced()
"""Recorded in ``StateTrace.env_reads`` for a value that was a JAX tracer (it must not outlive its trace)."""


def _record(key: str | _Scoped, value: Any) -> None:
    traces = _trace.LOCAL.traces
    if traces:
        recorded = TRACED if _trace._contains_tracer(value) else value
        for trace in traces:
            trace.env_reads[key] = recorded


def _check_precision(precision: Any) -> int | str:
    """Return ``precision`` as 64, 32, 16, 8 or ``'bf16'``; integers of any type and their strings are accepted."""
    if isinstance(precision, str):
        if precision == "bf16":
            return precision
        if precision.isdigit() and int(precision) in _FLOATS:
            return int(precision)
    elif isinstance(precision, numbers.Integral) and not isinstance(precision, bool) and int(precision) in _FLOATS:
        return int(precision)
    raise EnvironValueError(
        f"precision={precision!r} is not supported. Use one of 64, 32, 16, 8 or 'bf16', e.g. "
        "`brainstate.environ.set(precision=32)`."
    )


def _run_behaviors(env: EnvironmentState, values: dict[str, Any]) -> None:
    functions = env.functions
    for key, value in values.items():
        behavior = functions.get(key)
        if behavior is not None:
            behavior(value)


def _missing_key_error(key: str, desc: str | None) -> EnvironKeyError:
    what = f" ({desc})" if desc else ""
    return EnvironKeyError(
        f"The environment value {key!r}{what} is not set. Set it globally with "
        f"`brainstate.environ.set({key}=...)` or for a block with "
        f"`with brainstate.environ.context({key}=...):`."
    )


def get(key: str, default: Any = _MISSING, desc: str | None = None, *, env: EnvironmentState | None = None) -> Any:
    """Return the innermost value of an environment key.

    Contexts of the current thread take priority over global settings, and inner contexts over
    outer ones. The returned value is recorded in every active state trace of the thread.

    Args:
        key: Name of the value.
        default: Returned when the key is set nowhere. Without it a missing key raises.
        desc: A few words on what the key means, included in the error message.
        env: an :class:`EnvironmentState` to read instead of the process-wide environment.

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
    recorded: str | _Scoped = key
    if env is None:
        value = _LOCAL.merged.get(key, _MISSING)
        if value is _MISSING:
            value = _GLOBAL.get(key, _MISSING)
            if value is _MISSING:
                if type(key) is _Scoped:  # a key a trace recorded from another environment
                    return get(key.key, default, desc, env=key.env)
                if default is _MISSING:
                    raise _missing_key_error(key, desc)
                value = default
    else:
        env = _env(env)
        value = env._local.merged.get(key, _MISSING)
        if value is _MISSING:
            value = env.settings.get(key, default)
            if value is _MISSING:
                raise _missing_key_error(key, desc)
        if env is not _ENV:
            recorded = _Scoped(env, key)
    if _trace.LOCAL.traces:
        _record(recorded, value)
    return value


def all(*, env: EnvironmentState | None = None) -> dict[str, Any]:  # noqa: A001 - public name mirrors the upstream API
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
    env = _env(env)
    values = {**env.settings, **env._local.merged}
    if _trace.LOCAL.traces:
        for key, value in values.items():
            _record(key if env is _ENV else _Scoped(env, key), value)
    return values


def set(  # noqa: A001 - public name mirrors the upstream API
    platform: str | None = None,
    host_device_count: int | None = None,
    *,
    env: EnvironmentState | None = None,
    **values: Any,
) -> None:
    """Set global environment values, visible in every thread.

    A value set here is hidden on a thread while a :func:`context` of that thread overrides the same
    key. ``precision=64`` turns JAX's x64 mode on for the whole process; 32, 16, 8 and ``'bf16'``
    turn it off. Registered behaviours of the keys run with their new values; if one raises, every
    value is put back and the error propagates.

    Args:
        platform: if given, :func:`set_platform` with it.
        host_device_count: if given, :func:`set_host_device_count` with it.
        env: an :class:`EnvironmentState` to change instead of the process-wide environment.
        **values: Keys and their new values. Values may be any Python object.

    Raises:
        EnvironValueError: If ``precision`` is not one of 64, 32, 16, 8 or ``'bf16'``.

    Example:
        >>> from brainstate_core import environ
        >>> environ.set(dt=0.05, fit=False)
        >>> environ.get_dt()
        0.05
        >>> _ = environ.pop('dt'), environ.pop('fit')
    """
    if platform is not None:
        set_platform(platform)
    if host_device_count is not None:
        set_host_device_count(host_device_count)
    if PRECISION in values:
        values[PRECISION] = _check_precision(values[PRECISION])
    env = _env(env)
    with _LOCK:
        settings = env.settings
        before = {key: settings.get(key, _MISSING) for key in values}
        settings.update(values)
        try:
            if PRECISION in values and env is _ENV:
                jax.config.update("jax_enable_x64", values[PRECISION] == 64)
            _run_behaviors(env, values)
        except BaseException:
            for key, value in before.items():
                if value is _MISSING:
                    settings.pop(key, None)
                else:
                    settings[key] = value
            if PRECISION in values and env is _ENV:
                jax.config.update("jax_enable_x64", settings[PRECISION] == 64)
            raise


def pop(key: str, default: Any = _MISSING, *, env: EnvironmentState | None = None) -> Any:
    """Remove a global environment value and return it.

    Values set by open contexts are not affected; they disappear when their block ends.

    Args:
        key: Name of the value.
        default: Returned when the key has no global value. Without it a missing key raises.
        env: an :class:`EnvironmentState` to change instead of the process-wide environment.

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
        value = _env(env).settings.pop(key, default)
    if value is _MISSING:
        raise _missing_key_error(key, None)
    return value


class context:
    """Override environment values on the current thread for a block or a function call.

    Use it as a ``with`` statement (which binds a snapshot dict of all values) or as a decorator.
    Contexts nest; the previous values come back when the block ends, also when it raises. A
    ``precision`` in the context switches JAX's x64 mode for the block on this thread only.
    Registered behaviours of the keys run with the block's values on entry and with the values in
    force again on exit.

    Args:
        env: an :class:`EnvironmentState` to override instead of the process-wide environment.
        **values: Keys and the values they take inside the block.

    Raises:
        EnvironValueError: If ``precision`` is not one of 64, 32, 16, 8 or ``'bf16'``, or a key is
            ``platform`` or ``host_device_count`` (process-wide settings: use :func:`set`).

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

    def __init__(self, *, env: EnvironmentState | None = None, **values: Any) -> None:
        for key, setter in ((PLATFORM, "set_platform"), (HOST_DEVICE_COUNT, "set_host_device_count")):
            if key in values:
                raise EnvironValueError(
                    f"{key!r} is a process-wide setting and cannot be set for a block. "
                    f"Fix: call brainstate.environ.{setter}(...) (or environ.set({key}=...)) once, at start-up."
                )
        if PRECISION in values:
            values[PRECISION] = _check_precision(values[PRECISION])
        self.values = values
        self.env = _env(env)

    def __enter__(self) -> dict[str, Any]:
        env = self.env
        local = env._local
        x64 = None
        if PRECISION in self.values and env is _ENV:
            x64 = _enable_x64(self.values[PRECISION] == 64)
            x64.__enter__()
        local.frames.append((self, local.merged, x64))
        local.merged = {**local.merged, **self.values}
        if env.functions:
            try:
                _run_behaviors(env, self.values)
            except BaseException:
                self._leave(None, None, None)
                raise
        return {**env.settings, **local.merged}

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._leave(exc_type, exc, tb)
        env = self.env
        if env.functions:
            now = {**env.settings, **env._local.merged}
            _run_behaviors(env, {key: now[key] for key in self.values if key in now})

    def _leave(self, exc_type: Any, exc: Any, tb: Any) -> None:
        local = self.env._local
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


def get_dt(*, env: EnvironmentState | None = None) -> Any:
    """Return the integration time step ``dt``.

    Raises:
        EnvironKeyError: If ``dt`` is not set; the message says how to set it.

    Example:
        >>> from brainstate_core import environ
        >>> with environ.context(dt=0.1):
        ...     environ.get_dt()
        0.1
    """
    return get(DT, desc="the numerical integration time step", env=env)


def get_precision(*, env: EnvironmentState | None = None) -> int | str:
    """Return the current default precision: 64, 32, 16, 8 or ``'bf16'``.

    Example:
        >>> from brainstate_core import environ
        >>> with environ.context(precision=16):
        ...     environ.get_precision()
        16
    """
    return get(PRECISION, env=env)


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


def dftype(*, env: EnvironmentState | None = None) -> Any:
    return _FLOATS[get(PRECISION, env=env)]


def ditype(*, env: EnvironmentState | None = None) -> Any:
    return _INTS[get(PRECISION, env=env)]


def dutype(*, env: EnvironmentState | None = None) -> Any:
    return _UINTS[get(PRECISION, env=env)]


def dctype(*, env: EnvironmentState | None = None) -> Any:
    return _COMPLEXES[get(PRECISION, env=env)]


dftype.__doc__ = _dtype_doc("floating-point", _FLOATS, "dftype")
ditype.__doc__ = _dtype_doc("signed integer", _INTS, "ditype")
dutype.__doc__ = _dtype_doc("unsigned integer", _UINTS, "dutype")
dctype.__doc__ = _dtype_doc("complex", _COMPLEXES, "dctype")



# The process-wide settings, behaviours and reset live in their own file (this one would pass 600 lines).
from ._environ_settings import (  # noqa: E402 - needs the definitions above
    get_host_device_count,
    get_platform,
    list_registered_behaviors,
    register_default_behavior,
    reset,
    set_host_device_count,
    set_platform,
    set_precision,
    tolerance,
    unregister_default_behavior,
)
