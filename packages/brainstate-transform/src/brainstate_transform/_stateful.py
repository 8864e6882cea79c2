"""The one primitive every transformation is built on: a stateful function.

A :class:`StatefulFunction` turns a Python function that reads and writes States into a pure function
of their values. It owns everything the transformations have in common:

* **the pure function** (:meth:`StatefulFunction._pure`): ``(state values, args, kwargs) -> (out, new
  values)``, which runs the user's function with the given states holding the given values, checks
  that it touched no state the transformation did not know, and reports the new values of the states
  it wrote, keyed by their position;
* **discovery and retry** (:meth:`StatefulFunction._retry`): the states a function touches are learnt
  by tracing. A transformation starts from what it knows (:class:`Known`, empty at first); a trace that
  meets a state it did not know aborts with an internal signal, the known set widens, and the
  transformation traces again. The known set only grows, so a function settles after a few traces;
* **recording** (:meth:`StatefulFunction._record`): one trace of the user's function into a jaxpr in
  which every state it did not know reads as a fresh input. ``jit`` uses it so that the first call runs
  the user's code exactly once: the recorded jaxpr is what gets compiled;
* **write-back** (:meth:`StatefulFunction._apply`): the new values go back into the states, atomically.

A transformation then only says which ``jax.*`` function to call, how the state values are laid out
(which are differentiated, batched, carried) and how the results are arranged.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import jax
import jax.extend
import numpy as np

from brainstate_core import State, StateTrace
from brainstate_core.internal import executing_eagerly, peek, read_values, write_values

from ._aborts import note_traces, release_traces
from ._known import Known, _Result
from ._make_jaxpr import Inspection, optimizations
from ._options import checked_options
from ._recording import Recording, record
from ._sharded import pin_declared
from ._traceback import boundary as boundary
from ._util import fun_name, normalize_argnums

__all__ = ["StatefulFunction", "make_jaxpr", "Known"]

R = TypeVar("R")


class _Rediscover(BaseException):
    """Internal signal: a trace touched states the transformation did not know. Never escapes."""

    def __init__(self, owner: object, known: Known, recording: Recording | None = None) -> None:
        super().__init__("internal brainstate signal; should never escape a transformation")
        self.owner = owner
        self.known = known
        self.recording = recording
        note_traces(self)


def _fresh(value: Any) -> Any:
    """``value`` with fresh containers (same leaves): editing it in place cannot reach the original."""
    if isinstance(value, (jax.Array, np.ndarray, np.generic, int, float, complex, bool)):
        return value
    return jax.tree.map(lambda x: x, value)


def as_tracer(state: State, value: Any) -> Any:
    """The value of a state this trace did not know, as a tracer of the current JAX trace.

    The states a trace has not met yet then read as tracers, as they will in the real trace, never as
    concrete arrays: JAX keys the caches of jitted operations called on concrete arrays inside a trace
    by that trace, so computing with them there would leave a cache entry behind per trace.
    """
    return jax.tree.map(lambda x: jax.lax.optimization_barrier(x) if isinstance(x, (jax.Array, np.ndarray)) else x, value)


_MEMO: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _Aborts(threading.local):
    count = 0


_ABORTS = _Aborts()


class _Discovering(threading.local):
    """How deep this thread is in discovery runs (:meth:`StatefulFunction._discover`), whose results are dropped."""

    depth = 0

    def __enter__(self) -> None:
        self.depth += 1

    def __exit__(self, *exc: Any) -> None:
        self.depth -= 1


DISCOVERING = _Discovering()


def aborts() -> int:
    """How many attempts that may have left traced work in an enclosing trace were aborted, this thread."""
    return _ABORTS.count


class StatefulFunction(Inspection):
    """Turn a Python function that reads and writes States into a pure function of their values.

    Every transformation of ``brainstate.transform`` is built on this class. Used directly, it tells
    which states a function touches for given arguments and gives the jaxpr of its pure form.

    Args:
        fun: the function.
        static_argnums: positions of arguments that are static (hashable, not traced).
        static_argnames: names of keyword arguments that are static.
        axis_env: ``(axis name, size)`` pairs for collectives in the jaxpr (see ``jax.make_jaxpr``).
        name: a label for the function (shown in its repr).
        return_only_write: the jaxpr of :meth:`make_jaxpr` outputs the new values of the written
            states only (``False``: of every state it touches).
        ir_optimizations: passes of :func:`optimize_jaxpr` applied to that jaxpr (``"cse"``,
            ``"dce"``, ...).

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

    @checked_options("brainstate.transform.StatefulFunction")
    def __init__(
        self,
        fun: Callable,
        static_argnums: int | Sequence[int] = (),
        static_argnames: str | Iterable[str] = (),
        axis_env: Sequence[tuple[Hashable, int]] | None = None,
        name: str | None = None,
        return_only_write: bool = True,
        ir_optimizations: str | Sequence[str] | None = None,
    ) -> None:
        self.fun = fun
        self.axis_env = axis_env
        self.name = name
        self.return_only_write = return_only_write
        self.ir_optimizations = optimizations(ir_optimizations)
        self.static_argnums = normalize_argnums(static_argnums)
        self.static_argnames = (static_argnames,) if isinstance(static_argnames, str) else tuple(static_argnames)
        self._known = Known()
        self._validated = False
        self._memo_key: Any = None

    def __repr__(self) -> str:
        label = f", name={self.name!r}" if self.name else ""
        return f"brainstate.transform.StatefulFunction({fun_name(self.fun)}{label})"

    @classmethod
    def _shared(cls, fun: Callable, key: Any = None) -> StatefulFunction:
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
            sf._known, sf._validated = known, True
        return sf

    # -- the protocol the transformations use --------------------------------------------------
    def _run(self, states: Sequence[State], values: Sequence[Any], args: tuple, kwargs: dict,
             lift: Callable | None = None) -> _Result:
        """Call the function with ``states`` holding ``values``; put every state back afterwards.

        Every other state reads through ``lift`` at its first read (by default a fresh copy of its
        containers, so editing a value in place never reaches the stored one).
        """
        with StateTrace(lift=lift or _fresh_lift) as trace:
            # The values live in this thread's overlay: other threads keep seeing the real ones.
            trace.install(states, [_fresh(v) for v in values])
            try:
                out = self.fun(*args, **kwargs)
            except BaseException as exc:
                note_traces(exc)
                raise
            new_values = pin_declared({s: peek(s) for s, w in zip(trace.states, trace.written) if w})
        return _Result(out, trace.states, trace.written, new_values, trace.env_reads)

    def _check(self, known: Known, result: _Result, *, writes: bool = False) -> None:
        """Signal a retrace (caught by :meth:`_retry`) if ``result`` went beyond ``known``."""
        if not known.covers(result, writes=writes):
            raise _Rediscover(self, known.widen(result))

    def _pure(self, known: Known, states: Sequence[State], *, fun: StatefulFunction | None = None,
              writes: bool = False, lift: Callable | None = None,
              inspect: Callable[[list[State]], None] | None = None) -> Callable[..., tuple[Any, dict[int, Any]]]:
        """The pure function ``(values of states, args, kwargs) -> (out, {position in states: new value})``.

        It runs ``fun`` (default: this function; a branch of a ``switch`` runs another) and checks the
        trace against ``known`` (with ``writes``, a write to a state known as read-only also retraces).
        ``inspect`` is then given the states the trace touched (``grad`` checks its grad states).
        """
        run = (fun or self)._run
        index = {s: i for i, s in enumerate(states)}

        def pure(values: Sequence[Any], args: tuple = (), kwargs: Mapping[str, Any] | None = None):
            result = run(states, values, args, dict(kwargs or {}), lift)
            self._check(known, result, writes=writes)
            if inspect is not None:
                inspect(result.states)
            return result.out, {index[s]: v for s, v in result.new_values.items()}

        return pure

    def _retry(self, attempt: Callable[[Known], R], known: Known | None = None, *, pollutes: bool = False,
               discover: bool = True, on_retry: Callable[[_Rediscover], None] | None = None) -> R:
        """Run ``attempt(known)``, widening what is known and retrying while a trace finds more.

        Executed eagerly for the first time, the states are first discovered by running ``attempt``
        abstractly (under ``jax.eval_shape``), so an eager transformation never computes (or runs
        ``jax.debug`` callbacks) twice because it met a state it did not know. Under an enclosing JAX
        trace an aborted attempt only traces, but a transformation that evaluates the user's code in
        the enclosing trace (``pollutes``: ``grad``, ``vmap``) may have left what it traced so far there,
        side effects included: the abort is counted (:func:`aborts`), and ``jit``, whose recorded trace
        it was, traces again. ``jit`` passes ``discover=False`` (its recording is its discovery) and
        ``on_retry``, which sees each signal before the next attempt.
        """
        known = self._known if known is None else known
        eager = executing_eagerly()
        if discover and not self._validated and eager:
            known = self._discover(attempt, known)
        while True:
            try:
                result = attempt(known)
            except _Rediscover as signal:
                release_traces(signal)
                if signal.owner is not self:
                    raise
                if pollutes and not eager:
                    _ABORTS.count += 1
                known = self._learn(signal.known)
                if on_retry is not None:
                    on_retry(signal)
                continue
            except BaseException as exc:
                release_traces(exc)
                raise
            if not self._validated:
                self._validated = True
            return result

    def _apply(self, attempt: Callable[[Known], tuple[Sequence[State], Mapping[int, Any], R]], **retry: Any) -> R:
        """:meth:`_retry` an attempt returning ``(states, new values by position, result)``; write back."""
        states, new_values, result = self._retry(attempt, **retry)
        if new_values:
            write_values(states, new_values)
        return result

    def _run_eagerly(self, args: tuple, kwargs: dict) -> Any:
        """Run the function once, as plain Python, on the states themselves (``jit`` under ``disable_jit``)."""
        result = self._run((), (), args, kwargs)
        if not self._known.covers(result, writes=True):
            self._learn(self._known.widen(result))
        write_values(list(result.new_values), dict(enumerate(result.new_values.values())))
        return result.out

    def _discover(self, attempt: Callable[[Known], Any], known: Known) -> Known:
        """One abstract run of ``attempt``: one trace finds every state the function touches."""
        def abstract() -> None:  # the attempt's result holds States, which JAX must not see
            # Writes that the attempt makes outside the traced function (a RandomState handing keys
            # to vmap lanes) are undone by this trace, before JAX's trace ends: no tracer outlives it.
            with StateTrace(check_tracers=False), DISCOVERING:
                attempt(known)

        try:
            jax.eval_shape(abstract)
        except _Rediscover as signal:
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
        self._known = known
        if self._memo_key is not None:
            _MEMO[self._memo_key] = known
        return known

    def _record(self, known: Known, values: Sequence[Any], args: tuple, kwargs: dict) -> Recording:
        """Trace the function once into a jaxpr; every state ``known`` lacks becomes a fresh input.

        See :func:`brainstate_transform._recording.record`.
        """
        return record(self, known, values, args, kwargs)

    def _split_static(self, args: tuple, kwargs: dict) -> tuple[Callable, tuple, dict, Hashable]:
        """Split off static arguments: (function of the dynamic args, dyn args, dyn kwargs, static key)."""
        if not self.static_argnums and not self.static_argnames:
            return self.fun, args, kwargs, ()
        n = len(args)
        nums = {i % n if i < 0 else i for i in self.static_argnums if -n <= i < n}
        static_kw = {k: v for k, v in kwargs.items() if k in self.static_argnames}
        dyn_args = tuple(a for i, a in enumerate(args) if i not in nums)
        dyn_kwargs = {k: v for k, v in kwargs.items() if k not in self.static_argnames}
        fun = self.fun

        def bound(*dargs: Any, **dkwargs: Any) -> Any:
            it = iter(dargs)
            return fun(*[args[i] if i in nums else next(it) for i in range(n)], **dkwargs, **static_kw)

        key = (tuple((i, args[i]) for i in sorted(nums)), tuple(sorted(static_kw.items())))
        return bound, dyn_args, dyn_kwargs, key


def _fresh_lift(state: State, value: Any) -> Any:
    return _fresh(value)


def _eval_shape(sf: StatefulFunction, args: tuple, kwargs: dict) -> Any:
    """Shapes of ``sf``'s output; no state changes."""

    def attempt(known: Known) -> Any:
        return jax.eval_shape(sf._pure(known, known.states), read_values(known.states), args, kwargs)[0]

    return sf._retry(attempt)


@checked_options("brainstate.transform.make_jaxpr")
def make_jaxpr(fun: Callable, static_argnums: int | Sequence[int] = (), static_argnames: str | Iterable[str] = (),
               axis_env: Sequence[tuple[Hashable, int]] | None = None, return_shape: bool = False,
               return_only_write: bool = False) -> Callable[..., tuple]:
    """Return a function that gives ``(closed jaxpr, states)`` of a stateful ``fun`` for given arguments.

    The jaxpr's inputs are the dynamic positional arguments, the dynamic keyword arguments, then
    the values of ``states`` (those ``fun`` touches, in order of first access); its outputs are
    ``fun``'s output, then the new values of every state in ``states`` (of the written ones only,
    with ``return_only_write=True``), all flattened, as in upstream brainstate.

    Args:
        fun: the function.
        static_argnums, static_argnames: arguments that are static (not inputs of the jaxpr).
        axis_env: ``(axis name, size)`` pairs for collectives (see ``jax.make_jaxpr``).
        return_shape: also return the shapes and dtypes of ``fun``'s output:
            ``(jaxpr, states, shapes)``.
        return_only_write: the jaxpr outputs the written states only.

    Example:
        >>> import brainstate, jax, jax.numpy as jnp
        >>> w = brainstate.ParamState(jnp.ones(3))
        >>> n = brainstate.State(jnp.zeros(()))
        >>> def f(x):
        ...     n.value = n.value + 1
        ...     return w.value * x
        >>> jaxpr, states = brainstate.transform.make_jaxpr(f)(2.0)
        >>> states == (n, w)
        True
        >>> out, new_n, same_w = jax.core.eval_jaxpr(jaxpr.jaxpr, jaxpr.consts, 2.0, n.value, w.value)
        >>> float(new_n), out.tolist()
        (1.0, [2.0, 2.0, 2.0])
    """
    sf = StatefulFunction(fun, static_argnums, static_argnames, axis_env=axis_env, name="make_jaxpr")

    def make(*args: Any, **kwargs: Any) -> tuple:
        jaxpr, states, shapes = sf._jaxpr(args, kwargs, return_only_write)
        return (jaxpr, states, shapes) if return_shape else (jaxpr, states)

    make.__name__ = make.__qualname__ = f"make_jaxpr({fun_name(fun)})"
    return make
