"""The one primitive every transformation is built on: a stateful function.

A :class:`StatefulFunction` runs a Python function under a :class:`~brainstate.StateTrace` with the
values of a given list of States replaced by the values JAX hands in (tracers, usually), and reports
what the function did: its output, which states it touched (in order of first access), which it
wrote and their new values, and which ``environ`` keys it read. Each transformation wraps this in
the matching ``jax.*`` call: the pure function it gives JAX is
``(state values, args) -> (out, new values of written states)``.

The set of states a function touches is learnt by tracing. A transformation starts from what it
knows (:attr:`StatefulFunction.known`, empty at first) and, if the trace touches a state it did not
know, aborts that trace with an internal signal, widens what it knows and traces again. The known
set only grows, so every function is traced at most a few times before it settles, and a state
the function starts to use later (say, under another static argument) is picked up the same way.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, NamedTuple

import jax
import jax.extend
import numpy as np

from brainstate_core import State, StateTrace
from brainstate_core._trace import peek

__all__ = ["StatefulFunction", "make_jaxpr", "Known", "TraceResult"]


class Known:
    """What a transformation knows about the states of a function (immutable; hashed by identity).

    Attributes:
        states: the states, ordered by first access over all traces so far.
        writes: one bool per state, True if some trace wrote it.
        env_keys: the ``environ`` keys some trace read.
    """

    __slots__ = ("states", "writes", "env_keys", "index")

    def __init__(self, states: Sequence[State] = (), writes: Sequence[bool] = (), env_keys: Sequence[str] = ()):
        self.states = tuple(states)
        self.writes = tuple(writes)
        self.env_keys = tuple(env_keys)
        self.index = {s: i for i, s in enumerate(self.states)}

    def write_states(self) -> list[State]:
        return [s for s, w in zip(self.states, self.writes) if w]

    def read_states(self) -> list[State]:
        return [s for s, w in zip(self.states, self.writes) if not w]

    def widen(self, result: TraceResult) -> Known:
        states, writes = list(self.states), list(self.writes)
        for state, written in zip(result.states, result.written):
            i = self.index.get(state)
            if i is None:
                states.append(state)
                writes.append(written)
            elif written:
                writes[i] = True
        env = list(self.env_keys) + [k for k in result.env_reads if k not in self.env_keys]
        return Known(states, writes, env)

    def covers(self, result: TraceResult, *, writes: bool) -> bool:
        """Whether a trace stayed inside what is known (and, with ``writes``, wrote only known writes)."""
        index = self.index
        for state, written in zip(result.states, result.written):
            i = index.get(state)
            if i is None or (writes and written and not self.writes[i]):
                return False
        return all(k in self.env_keys for k in result.env_reads)


class TraceResult(NamedTuple):
    """What one run of a stateful function did."""

    out: Any
    states: list[State]
    written: list[bool]
    new_values: dict[State, Any]
    env_reads: dict[str, Any]


class Rediscover(BaseException):
    """Internal signal: a trace touched states the transformation did not know. Never escapes."""

    def __init__(self, owner: object, known: Known) -> None:
        super().__init__("internal brainstate signal; should never escape a transformation")
        self.owner = owner
        self.known = known
        note_traces(self)


def _jax_traces() -> list:
    """The JAX traces active in this thread, innermost first."""
    from jax._src import core

    trace, chain = core.trace_ctx.trace, []
    while trace is not None and not isinstance(trace, core.EvalTrace):
        chain.append(trace)
        trace = getattr(trace, "parent_trace", None)
    return chain


def note_traces(exc: BaseException) -> None:
    """Remember on ``exc`` the JAX traces it is about to abort (see :func:`release_traces`)."""
    if getattr(exc, "_brainstate_traces", None) is None:
        try:
            exc._brainstate_traces = _jax_traces()  # type: ignore[attr-defined]
        except AttributeError:  # an exception type without a __dict__
            pass


def release_traces(exc: BaseException) -> None:
    """Free the JAX traces that ``exc`` aborted and that are no longer active.

    JAX (0.4.36 to 0.12 at least) keeps a jaxpr trace that ended with an exception alive for good,
    with every constant it captured (a ``weakref.finalize`` on each constant refers back to the
    trace). Discovery traces end that way by design, and their constants are the values of the
    states they met, so without this every new jitted model would stay in memory. Clearing the
    trace's tables (what JAX does for a trace that ends normally) lets both go.
    """
    traces = getattr(exc, "_brainstate_traces", None)
    if not traces:
        return
    from jax._src.interpreters.partial_eval import DynamicJaxprTrace

    active = {id(t) for t in _jax_traces()}
    for trace in traces:
        if id(trace) not in active and isinstance(trace, DynamicJaxprTrace):
            try:
                trace.invalidate()
            except Exception:  # noqa: BLE001 - a JAX version whose trace cannot be cleared this way
                pass
    exc._brainstate_traces = [t for t in traces if id(t) in active]  # type: ignore[attr-defined]


_MEMO: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def as_tracer(value: Any) -> Any:
    """``value`` with every array leaf turned into a tracer of the current JAX trace (values unchanged).

    A discovery trace hands this as ``lift`` to :meth:`StatefulFunction.run`: the states it has not
    met yet then read as tracers, as they will in the real trace, and never as concrete arrays. JAX
    keys the caches of jitted operations called on concrete arrays inside a trace by that trace,
    so computing with concrete state values there would leave a cache entry behind per trace.
    """
    return jax.tree.map(lambda x: jax.lax.optimization_barrier(x) if isinstance(x, (jax.Array, np.ndarray)) else x, value)


def _executing_eagerly() -> bool:
    """True outside every JAX trace, where an aborted attempt would really compute."""
    from jax._src import core

    return isinstance(core.trace_ctx.trace, core.EvalTrace)


class StatefulFunction:
    """Turn a Python function that reads and writes States into a pure function of their values.

    Args:
        fun: the function.
        static_argnums: positions of arguments that are static (hashable, not traced).
        static_argnames: names of keyword arguments that are static.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> s = brainstate.State(jnp.zeros(2))
        >>> def f(x):
        ...     s.value = s.value + x
        ...     return s.value * 2
        >>> sf = brainstate.transform.StatefulFunction(f)
        >>> jaxpr, states = sf.make_jaxpr(jnp.ones(2))
        >>> states == (s,), sf.get_write_states(jnp.ones(2)) == (s,)
        (True, True)
    """

    def __init__(
        self,
        fun: Callable,
        static_argnums: int | Sequence[int] = (),
        static_argnames: str | Iterable[str] = (),
    ) -> None:
        self.fun = fun
        self.static_argnums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
        self.static_argnames = (static_argnames,) if isinstance(static_argnames, str) else tuple(static_argnames)
        self.known = Known()
        self.validated = False
        self._memo_key: Any = None

    @classmethod
    def shared(cls, fun: Callable, key: Any = None) -> StatefulFunction:
        """A StatefulFunction for ``fun`` that starts from what earlier ones keyed by ``key`` learnt.

        Loops and branches build a new StatefulFunction on each call; keyed by the user's function
        (``key``, default ``fun``), what one call learnt spares the next call a discovery trace.
        """
        sf = cls(fun)
        sf._memo_key = fun if key is None else key
        try:
            known = _MEMO.get(sf._memo_key)
        except TypeError:  # not weak-referenceable: nothing to share
            sf._memo_key = None
            return sf
        if known is not None:
            sf.known, sf.validated = known, True
        return sf

    # -- running -----------------------------------------------------------------------------
    def run(
        self, states: Sequence[State], values: Sequence[Any], args: tuple, kwargs: dict, lift: Callable | None = None
    ) -> TraceResult:
        """Call the function with ``states`` holding ``values``; put every state back afterwards.

        ``lift`` is applied to the value of any other state at its first read (see :class:`StateTrace`).
        """
        with StateTrace(lift=lift) as trace:
            # The values live in this thread's overlay: other threads keep seeing the real ones.
            trace.install(states, values)
            try:
                out = self.fun(*args, **kwargs)
            except BaseException as exc:
                note_traces(exc)
                raise
            new_values = {s: peek(s) for s, w in zip(trace.states, trace.written) if w}
        return TraceResult(out, trace.states, trace.written, new_values, trace.env_reads)

    def check(self, known: Known, result: TraceResult, *, writes: bool = False) -> None:
        """Signal a retrace (caught by :meth:`call`) if ``result`` went beyond ``known``."""
        if not known.covers(result, writes=writes):
            raise Rediscover(self, known.widen(result))

    def call(self, attempt: Callable[[Known], Any], known: Known | None = None) -> Any:
        """Run ``attempt(known)``, widening what is known and retrying while a trace finds more.

        Executed eagerly for the first time, the states are first discovered by running ``attempt``
        abstractly (under ``jax.eval_shape``), so an eager transformation never computes (or runs
        ``jax.debug`` callbacks) twice because it met a state it did not know. Under a JAX trace an
        aborted attempt only traces, so no abstract run is needed.
        """
        known = self.known if known is None else known
        if not self.validated and _executing_eagerly():
            known = self._discover(attempt, known)
        while True:
            try:
                result = attempt(known)
            except Rediscover as signal:
                release_traces(signal)
                if signal.owner is not self:
                    raise
                known = self._learn(signal.known)
                continue
            except BaseException as exc:
                release_traces(exc)
                raise
            self.validated = True
            return result

    def _discover(self, attempt: Callable[[Known], Any], known: Known) -> Known:
        """One abstract run of ``attempt``: one trace finds every state the function touches."""

        def abstract() -> None:
            attempt(known)

        try:
            # Writes that the attempt makes outside the traced function (a RandomState handing
            # keys to vmap lanes) are undone by this trace.
            with StateTrace(check_tracers=False):
                jax.eval_shape(abstract)
        except Rediscover as signal:
            release_traces(signal)
            if signal.owner is not self:
                raise
            known = self._learn(signal.known)
        except (jax.errors.JAXTypeError, jax.errors.NonConcreteBooleanIndexError) as exc:
            # The function branches on concrete values (allowed eagerly): discover by running it.
            release_traces(exc)
        except BaseException as exc:
            release_traces(exc)
            raise
        return known

    def _learn(self, known: Known) -> Known:
        self.known = known
        if self._memo_key is not None:
            _MEMO[self._memo_key] = known
        return known

    # -- static arguments --------------------------------------------------------------------
    def bind_static(self, args: tuple, kwargs: dict) -> tuple[Callable, tuple, dict, Hashable]:
        """Split off static arguments: returns (function of dynamic args, dyn args, dyn kwargs, static key)."""
        if not self.static_argnums and not self.static_argnames:
            return self.fun, args, kwargs, ()
        nums = {i % len(args) if i < 0 else i for i in self.static_argnums if -len(args) <= i < len(args)}
        static_pos = tuple((i, args[i]) for i in sorted(nums))
        static_kw = tuple(sorted((k, v) for k, v in kwargs.items() if k in self.static_argnames))
        dyn_args = tuple(a for i, a in enumerate(args) if i not in nums)
        dyn_kwargs = {k: v for k, v in kwargs.items() if k not in self.static_argnames}
        fun = self.fun
        n = len(args)

        def bound(*dargs, **dkwargs):
            it = iter(dargs)
            full = [args[i] if i in nums else next(it) for i in range(n)]
            return fun(*full, **dkwargs, **dict(static_kw))

        return bound, dyn_args, dyn_kwargs, (static_pos, static_kw)

    # -- inspection --------------------------------------------------------------------------
    def make_jaxpr(self, *args: Any, **kwargs: Any) -> tuple[jax.extend.core.ClosedJaxpr, tuple[State, ...]]:
        """The jaxpr of ``(state values, *args) -> (out, new values of written states)`` and the states.

        The states are exactly those this call touches, in order of first access.
        """
        fun, dyn_args, dyn_kwargs, _ = self.bind_static(args, kwargs)
        inner = StatefulFunction(fun)

        def attempt(known: Known):
            def pure(values, a, kw):
                result = inner.run(known.states, values, a, kw)
                inner.check(known, result)
                return result.out, [result.new_values.get(s, v) for s, v in zip(known.write_states(), values)]

            values = [s.value for s in known.states]
            return jax.make_jaxpr(pure)(values, dyn_args, dyn_kwargs), known

        jaxpr, known = inner.call(attempt)
        return jaxpr, known.states

    def get_states(self, *args: Any, **kwargs: Any) -> tuple[State, ...]:
        """States the function touches for these arguments, in order of first access."""
        return self._known_for(args, kwargs).states

    def get_write_states(self, *args: Any, **kwargs: Any) -> tuple[State, ...]:
        """States the function writes for these arguments."""
        return tuple(self._known_for(args, kwargs).write_states())

    def get_read_states(self, *args: Any, **kwargs: Any) -> tuple[State, ...]:
        """States the function reads but never writes for these arguments."""
        return tuple(self._known_for(args, kwargs).read_states())

    def _known_for(self, args: tuple, kwargs: dict) -> Known:
        fun, dyn_args, dyn_kwargs, _ = self.bind_static(args, kwargs)
        inner = StatefulFunction(fun)

        def attempt(known: Known) -> Known:
            def probe(a, kw):
                inner.check(known, inner.run(known.states, [peek(s) for s in known.states], a, kw))

            jax.eval_shape(probe, dyn_args, dyn_kwargs)
            return known

        return inner.call(attempt)


def make_jaxpr(fun: Callable, static_argnums: int | Sequence[int] = (), static_argnames: str | Iterable[str] = ()):
    """Return a function that gives ``(closed jaxpr, states)`` of a stateful ``fun`` for given arguments.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> w = brainstate.ParamState(jnp.ones(3))
        >>> jaxpr, states = brainstate.transform.make_jaxpr(lambda x: w.value * x)(2.0)
        >>> states == (w,)
        True
    """
    sf = StatefulFunction(fun, static_argnums, static_argnames)
    return sf.make_jaxpr
