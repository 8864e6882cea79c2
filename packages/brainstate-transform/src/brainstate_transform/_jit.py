"""``jit``: compile a stateful function; the states it reads become runtime inputs."""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, overload

import jax

from brainstate_core.internal import read_values, write_values

from ._aborts import release_traces
from ._options import reject_unknown
from ._sharded import check_read_layouts
from ._stateful import Known, StatefulFunction, _Rediscover, aborts, as_tracer, boundary
from ._util import environ_values, fun_name, normalize_argnums

__all__ = ["jit", "JittedFunction"]

F = TypeVar("F", bound=Callable)


class JittedFunction:
    """A compiled stateful function (what :func:`jit` returns).

    Each call passes the current values of the states the function reads as runtime inputs to one
    ``jax.jit`` program and writes the new values of the states it wrote back afterwards. JAX's own
    dispatch cache decides when to retrace: a new shape, dtype or weak type of an argument *or of a
    state* compiles a new program. The ``environ`` values the function read while tracing are part
    of the cache key too.

    The user's function runs once per compiled program. The first trace records it into a jaxpr in
    which the states it met read as fresh inputs (:meth:`StatefulFunction._record`); if it met states
    that were not known, the call is made again with them as inputs and the recording, not the user's
    code, is what that trace evaluates.

    JAX keeps static arguments in process-wide caches, so the only static arguments this class gives
    ``jax.jit`` besides the user's are small tokens: the states it learnt are looked up through them,
    and a model that is dropped (or forgotten by :meth:`clear_cache`) can be freed.
    """

    def __init__(
        self,
        fun: Callable,
        static_argnums: int | Sequence[int] = (),
        static_argnames: str | Sequence[str] = (),
        donate_argnums: int | Sequence[int] = (),
        in_shardings: Any = None,
        out_shardings: Any = None,
        **jit_kwargs: Any,
    ) -> None:
        reject_unknown("brainstate.transform.jit", jit_kwargs, jax.jit, ("fun",))
        functools.update_wrapper(self, fun)
        self.fun = fun
        self._options: dict[str, Any] = dict(
            static_argnums=static_argnums, static_argnames=static_argnames, donate_argnums=donate_argnums,
            in_shardings=in_shardings, out_shardings=out_shardings, **jit_kwargs)
        self._instances: dict[int, tuple[Any, JittedFunction]] = {}  # method use: one per instance
        self._sf = StatefulFunction(fun)
        # Known state sets by token (their position here, plus _token_base). Tokens start at 0 for every
        # function, so the trees of static arguments JAX caches are the same for all functions alike;
        # after clear_cache() they go on from where they were, so no cached trace is ever reused.
        self._by_token: list[Known] = []
        self._token_base = 0
        # (thread, token, recording): what the next trace of that token, on that thread, evaluates.
        self._pending: tuple[int, int, Any] | None = None
        # The jitted pure function is traced(token, env, state_values, *args, **kwargs): shift positions by 3.
        # The user's shardings are JAX's: the state values (the first dynamic argument) follow their arrays,
        # the new state values the declarations pinned while tracing (None: JAX's propagation decides).
        shift = lambda nums: tuple(i + 3 if i >= 0 else i for i in normalize_argnums(nums))  # noqa: E731
        if out_shardings is not None:
            jit_kwargs["out_shardings"] = (out_shardings, None)
        make = functools.partial(jax.jit, self._traced, static_argnums=(0, 1) + shift(static_argnums),
                                 static_argnames=static_argnames, donate_argnums=shift(donate_argnums), **jit_kwargs)
        if in_shardings is None:
            self._jitted: Any = make()
        elif isinstance(in_shardings, (tuple, list)):
            self._jitted = make(in_shardings=(None, *in_shardings))
        else:  # one sharding for every positional argument: JAX needs their number, known at the call
            self._jitted = _PerArity(lambda n: make(in_shardings=(None,) + (in_shardings,) * n))

    def _traced(self, token: int, env: tuple, values: list, *args: Any, **kwargs: Any):
        """What ``jax.jit`` traces: ``(state values, args) -> (out, new values by position)``."""
        known = self._by_token[token - self._token_base]
        pending, result = self._pending, None
        if pending is not None and pending[:2] == (threading.get_ident(), token):
            self._pending = None
            result = pending[2].replay(known, values, args, kwargs)  # None if the inputs differ
        if result is None and self._sf._validated:
            result = self._sf._pure(known, known.states, lift=as_tracer)(values, args, kwargs)
        elif result is None:
            before = aborts()
            recording = self._sf._record(known, values, args, kwargs)
            if aborts() != before:  # a nested grad or vmap left an aborted attempt in the recording
                self._sf._validated = True  # what the recording learnt is complete: trace directly
                raise _Rediscover(self._sf, recording.known)
            if recording.found_new:
                raise _Rediscover(self._sf, recording.known, recording)
            result = recording.replay(known, values, args, kwargs)
        return result

    def _invoke(self, method: Callable, args: tuple, kwargs: dict, *, write_back: bool = False) -> Any:
        """Call ``method`` (the jitted function, or its ``lower`` / ``eval_shape``) through the primitive."""

        def attempt(known: Known):
            check_read_layouts(known.states)
            env = environ_values(known.env_keys) if known.env_keys else ()
            out = method(self._token(known), env, read_values(known.states), *args, **kwargs)
            return (known.states, out[1], out[0]) if write_back else out

        try:
            drive = self._sf._apply if write_back else self._sf._retry
            return drive(attempt, discover=False, on_retry=self._keep_recording)
        finally:
            if self._pending is not None:  # used by the trace it was kept for, or not needed
                self._pending = None

    def _keep_recording(self, signal: _Rediscover) -> None:
        """A trace met new states: the next trace (of the wider set) evaluates its recording, if any."""
        self._pending = None
        if signal.recording is not None:
            self._pending = (threading.get_ident(), self._token(signal.known), signal.recording)

    def _token(self, known: Known) -> int:
        tokens = self._by_token
        for i in range(len(tokens) - 1, -1, -1):  # the current set is the last one
            if tokens[i] is known:
                return self._token_base + i
        tokens.append(known)
        return self._token_base + len(tokens) - 1

    @boundary
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # Under jax.disable_jit(): plain Python, once, on the states themselves.
        if jax.config.jax_disable_jit:  # pyright: ignore[reportAttributeAccessIssue]  # run-time jax flag
            return self._sf._run_eagerly(args, kwargs)
        sf = self._sf
        if sf._validated:  # the steady state: one call into JAX's dispatch, then the write-back
            known = sf._known
            env = environ_values(known.env_keys) if known.env_keys else ()
            try:
                out, new_values = self._jitted(self._token(known), env, read_values(known.states), *args, **kwargs)
            except _Rediscover as signal:  # a retrace met new states: the primitive takes it from here
                release_traces(signal)
                if signal.owner is not sf:
                    raise
                sf._learn(signal.known)
                self._keep_recording(signal)
            else:
                if new_values:
                    write_values(known.states, new_values)
                return out
        return self._invoke(self._jitted, args, kwargs, write_back=True)

    # -- ahead-of-time and inspection --------------------------------------------------------
    def lower(self, *args: Any, **kwargs: Any) -> jax.stages.Lowered:
        """Lower the program for these arguments (states included as leading inputs)."""
        return self._invoke(self._jitted.lower, args, kwargs)

    def compile(self, *args: Any, **kwargs: Any) -> jax.stages.Compiled:
        """Lower and compile the program for these arguments."""
        return self.lower(*args, **kwargs).compile()

    def eval_shape(self, *args: Any, **kwargs: Any) -> Any:
        """Shapes and dtypes of the output, without running anything or changing any state."""
        return self._invoke(self._jitted.eval_shape, args, kwargs)[0]

    def clear_cache(self) -> None:
        """Forget compiled programs and the states learnt by tracing (of every instance, for a method)."""
        # jax's JitWrapped type omits clear_cache, which the functions jax.jit returns have.
        self._jitted.clear_cache()  # pyright: ignore[reportAttributeAccessIssue]
        self._sf._known = Known()
        self._sf._validated = False
        self._token_base += len(self._by_token)
        self._by_token.clear()
        for _, method in list(self._instances.values()):
            method.clear_cache()

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        # Used as a method decorator: each instance gets its own compiled function, which refers to the
        # instance weakly (so the instance can be freed) and learns only that instance's states.
        if obj is None:
            return self
        key = id(obj)
        entry = self._instances.get(key)
        if entry is not None and entry[0]() is obj:
            return entry[1]
        instances = self._instances

        def forget(ref: Any) -> None:
            if instances.get(key, (None,))[0] is ref:
                del instances[key]

        try:
            ref: Any = weakref.ref(obj, forget)
        except TypeError:  # not weak-referenceable: the instance lives as long as this function
            ref = _Strong(obj)
        options = dict(self._options)
        for name in ("static_argnums", "donate_argnums"):  # the user counts `self` as argument 0
            options[name] = tuple(i - 1 if i > 0 else i for i in normalize_argnums(options[name]) if i != 0)
        method = JittedFunction(_BoundMethod(self.fun, ref), **options)
        instances[key] = (ref, method)
        return method

    def __repr__(self) -> str:
        return f"brainstate.transform.jit({fun_name(self.fun)})"


class _PerArity:
    """``jax.jit`` programs by number of positional arguments (for one ``in_shardings`` given for all)."""

    def __init__(self, make: Callable[[int], Any]) -> None:
        self._make, self._by_arity = make, {}

    def _get(self, args: tuple) -> Any:
        n = len(args) - 3  # token, environ values and state values come first
        jitted = self._by_arity.get(n)
        if jitted is None:
            jitted = self._by_arity[n] = self._make(n)
        return jitted

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._get(args)(*args, **kwargs)

    def lower(self, *args: Any, **kwargs: Any) -> Any:
        return self._get(args).lower(*args, **kwargs)

    def eval_shape(self, *args: Any, **kwargs: Any) -> Any:
        return self._get(args).eval_shape(*args, **kwargs)

    def clear_cache(self) -> None:
        for jitted in self._by_arity.values():
            jitted.clear_cache()


class _Strong:
    """Stands in for a weak reference to an object that cannot be weakly referenced."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __call__(self) -> Any:
        return self.obj


class _BoundMethod:
    """``fun`` bound to the object behind ``ref`` (a weak reference): a bound method that does not keep
    its instance alive."""

    def __init__(self, fun: Callable, ref: Any) -> None:
        self.fun, self.ref = fun, ref
        functools.update_wrapper(self, fun)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        obj = self.ref()
        if obj is None:
            raise ReferenceError(f"the instance {getattr(self.fun, '__qualname__', self.fun)!r} was bound to is gone")
        return self.fun(obj, *args, **kwargs)


@overload
def jit(fun: F, **kwargs: Any) -> F: ...
@overload
def jit(fun: None = None, **kwargs: Any) -> Callable[[F], F]: ...
def jit(
    fun: Callable | None = None,
    static_argnums: int | Sequence[int] = (),
    static_argnames: str | Sequence[str] = (),
    donate_argnums: int | Sequence[int] = (),
    in_shardings: Any = None,
    out_shardings: Any = None,
    **jit_kwargs: Any,
) -> Any:
    """Compile a function that reads and writes States, threading the states automatically.

    The states the function reads are runtime inputs of the compiled program, so changing
    ``state.value`` outside is seen without retracing; the states it writes are written back after
    each call (read-only states are not copied back). A change of shape or dtype of an argument or of
    a state compiles a new program, and so does a change of any ``environ`` value the function read
    while it was traced. States created inside the function are local to it. Usable as
    ``@jit``, ``@jit(static_argnums=...)`` or ``jit(f, ...)``; ``jit(module)`` works on any callable.

    Args:
        fun: the function.
        static_argnums, static_argnames: arguments that are compile-time constants.
        donate_argnums: arguments whose buffers may be reused for outputs.
        in_shardings, out_shardings: shardings of the positional arguments and of the output, given to
            ``jax.jit`` as they are (one sharding for all arguments, or one per argument). States laid
            out by a ``sharding=`` declaration need none: see :mod:`brainstate.sharding`.
        **jit_kwargs: other ``jax.jit`` options (``keep_unused``, ``device``, ``backend``, ``inline`` ...).

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> count = brainstate.State(jnp.array(0))
        >>> @brainstate.transform.jit
        ... def step(x):
        ...     count.value = count.value + 1
        ...     return x * 2
        >>> float(step(1.0)), int(count.value)
        (2.0, 1)
        >>> float(step(2.0)), int(count.value)
        (4.0, 2)
    """
    options: dict[str, Any] = dict(
        static_argnums=static_argnums,
        static_argnames=static_argnames,
        donate_argnums=donate_argnums,
        in_shardings=in_shardings,
        out_shardings=out_shardings,
        **jit_kwargs,
    )
    if fun is None:
        return lambda f: JittedFunction(f, **options)
    return JittedFunction(fun, **options)

