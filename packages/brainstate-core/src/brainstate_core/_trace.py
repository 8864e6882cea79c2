"""The state trace: which States a piece of code read and wrote, with value restore on failure.

A :class:`StateTrace` is pushed on a thread-local stack. While it is the innermost trace, every
``State.value`` read or write is recorded in it, in order of first access, and the value each
state had before its first access is remembered so that it can be put back. States created while
the trace is active are local to it: they are not recorded as inputs, and if they still hold a
tracer of this trace when it closes, later reads raise :class:`TraceContextError`.

Values written inside a trace that restores them (``restore=True``, what every transformation
uses) never touch the State object itself: they live in a thread-local overlay that ``State.value``
consults while a trace is active. Another thread reading or tracing the same State meanwhile sees
its real value, never a tracer of this thread's trace.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import jax
import numpy as np
from jax._src import core as _jax_core
from jax._src.array import ArrayImpl
from jax.core import Tracer

from ._errors import TraceContextError

if TYPE_CHECKING:
    from ._state import State

__all__ = ["StateTrace", "catch_new_states", "current_trace"]


class _Local(threading.local):
    def __init__(self) -> None:
        self.traces: list[StateTrace] = []
        self.catchers: list[list] = []
        # State -> the value this thread sees while a restoring trace is active (see the module doc).
        self.overlay: dict[State, Any] = {}


LOCAL = _Local()

_ABSENT = object()

# Concrete leaves, checked after Tracer (which jax.Array also covers). ArrayImpl is named, not built:
# building an array here would start the JAX backend at import time.
_CONCRETE = (ArrayImpl, np.ndarray, np.generic, float, int, bool, complex)


def _opaque_jax_trace() -> Any:
    return _jax_core.get_opaque_trace_state(convention="nnx")


class StateTrace:
    """Records the States that code reads and writes while the trace is active.

    Use it as a context manager. On exit the trace always puts back the value every written
    state had before (``restore=True``, what transformations need, since the values written
    while tracing are tracers) or only when the block raised (``restore=False``).

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> a, b = brainstate.State(jnp.zeros(2)), brainstate.State(jnp.ones(2))
        >>> with brainstate.StateTrace(restore=False) as trace:
        ...     a.value = b.value + 1
        >>> [s is b for s in trace.states], trace.written
        ([True, False], [False, True])
    """

    __slots__ = ("states", "written", "originals", "new_states", "env_reads", "_index", "_new", "_jax_trace", "_restore",
                 "_check", "_sandbox", "_installed", "_installed_ids", "_saved", "lift")

    def __init__(self, *, restore: bool = True, check_tracers: bool = True, lift: Callable | None = None) -> None:
        self.states: list[State] = []
        self.written: list[bool] = []
        self.originals: list[Any] = []
        self.new_states: list[State] = []
        self.env_reads: dict[str, Any] = {}
        self._index: dict[int, int] = {}
        self._new: set[int] = set()
        self._jax_trace: Any = None
        self._restore = restore
        self._check = check_tracers
        self._sandbox = restore  # writes go to the thread's overlay (decided again on entry)
        self._installed: list[tuple[State, Any]] = []
        self._installed_ids: set[int] = set()
        self._saved: list[Any] = []  # per state: its overlay entry before this trace (sandbox only)
        # ``lift(state, value)`` is applied at the first read of every state this trace did not install
        # (whether its value is concrete or a tracer of an outer trace); the result is what the trace
        # sees. A transformation that will make the state an input gives a tracer here, so the code
        # never computes with the concrete value.
        self.lift = lift

    # -- recording -------------------------------------------------------------------------
    def _add(self, state: State) -> int:
        i = len(self.states)
        self._index[id(state)] = i
        self.states.append(state)
        self.written.append(False)
        if self._sandbox:
            saved = LOCAL.overlay.get(state, _ABSENT)
            self._saved.append(saved)
            self.originals.append(state._value if saved is _ABSENT else saved)
        else:
            self.originals.append(state._value)
        return i

    def record_read(self, state: State) -> None:
        if id(state) not in self._index and id(state) not in self._new:
            self._add(state)

    def lifted_read(self, state: State) -> Any:
        """Record a read of ``state`` and return the value this trace sees, lifted at the first read."""
        sid = id(state)
        overlay = LOCAL.overlay
        if sid in self._index or sid in self._new or sid in self._installed_ids:
            if sid not in self._index and sid not in self._new:
                self._add(state)
            value = overlay.get(state, _ABSENT)
            return state._value if value is _ABSENT else value
        self._add(state)
        before = overlay.get(state, _ABSENT)
        value = self.lift(state, state._value if before is _ABSENT else before)
        overlay[state] = value
        self._installed.append((state, before))
        return value

    def write(self, state: State, value: Any) -> None:
        """Record a write of ``state`` and store ``value`` where this thread will read it."""
        sid = id(state)
        if sid in self._new:  # created inside this trace: local to this thread
            state._value = value
            state._dead = False
            return
        i = self._index.get(sid)
        if i is None:
            i = self._add(state)
        self.written[i] = True
        if self._jax_trace is not None and _contains_tracer(value) and _opaque_jax_trace() != self._jax_trace:
            raise TraceContextError(
                f"{state!r} (created at {state.source_info}) was assigned a JAX tracer inside a raw JAX "
                "transformation (jax.jit, jax.lax.cond, jax.vmap, ...) nested in a brainstate "
                "transformation. That tracer would leak out of its trace. Fix: use the brainstate.transform "
                "version of the inner transformation, which threads the state for you."
            )
        if self._sandbox:
            LOCAL.overlay[state] = value
        else:
            state._value = value
            state._dead = False

    def install(self, states: list[State], values: list[Any]) -> None:
        """Make ``states`` read as ``values`` inside this (restoring) trace, without recording access."""
        if not self._sandbox:
            raise RuntimeError("StateTrace.install needs a trace that restores its values (restore=True)")
        overlay = LOCAL.overlay
        for state, value in zip(states, values):
            self._installed.append((state, overlay.get(state, _ABSENT)))
            self._installed_ids.add(id(state))
            overlay[state] = value

    def record_new(self, state: State) -> None:
        self._new.add(id(state))
        self.new_states.append(state)

    # -- queries ---------------------------------------------------------------------------
    def index(self, state: State) -> int | None:
        """Position of ``state`` in :attr:`states`, or ``None`` if it was not accessed."""
        return self._index.get(id(state))

    def read_states(self) -> list[State]:
        """States accessed but never written."""
        return [s for s, w in zip(self.states, self.written) if not w]

    def write_states(self) -> list[State]:
        """States written at least once."""
        return [s for s, w in zip(self.states, self.written) if w]

    def restore(self) -> None:
        """Put back the value each accessed state had before this trace first touched it."""
        if not self._sandbox:
            for state, written, original in zip(self.states, self.written, self.originals):
                if written:
                    state._value = original
            return
        overlay = LOCAL.overlay
        undo = [(s, o) for s, w, o in zip(self.states, self.written, self._saved) if w] + self._installed[::-1]
        for state, original in undo:
            if original is _ABSENT:
                overlay.pop(state, None)
            else:
                overlay[state] = original

    # -- context -----------------------------------------------------------------------------
    def __enter__(self) -> StateTrace:
        self._jax_trace = _opaque_jax_trace() if self._check else None
        traces = LOCAL.traces
        self._sandbox = self._restore or (bool(traces) and traces[-1]._sandbox)
        traces.append(self)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        popped = LOCAL.traces.pop()
        assert popped is self, "StateTrace contexts closed out of order"
        if exc_type is not None or self._restore:
            self.restore()
        for state in self.new_states:
            if _contains_tracer(state._value):
                # Drop the tracer (it would keep its whole trace alive); reads now raise.
                state._value = None
                state._dead = True


def peek(state: State) -> Any:
    """The value of ``state`` as this thread sees it, without recording a read or checking it."""
    overlay = LOCAL.overlay
    if overlay:
        value = overlay.get(state, _ABSENT)
        if value is not _ABSENT:
            return value
    return state._value


def current_trace() -> StateTrace | None:
    """The innermost active :class:`StateTrace` of this thread, or ``None``."""
    traces = LOCAL.traces
    return traces[-1] if traces else None


def _contains_tracer(value: Any) -> bool:
    """Whether any leaf of ``value`` is a JAX tracer (fast for the common single-array case)."""
    if isinstance(value, Tracer):
        return True
    if isinstance(value, _CONCRETE):
        return False
    return any(isinstance(leaf, Tracer) for leaf in jax.tree.leaves(value))


# A State created inside a raw JAX trace (jax.jit, jax.grad, jax.vmap, ... with no brainstate trace
# active) belongs to that trace and may hold its tracers, as graph.treefy_merge under a raw jax.grad
# needs. State -> weak reference to the JAX trace it was created in.
_RAW_OWNER: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _note_raw_owner(state: State) -> bool:
    """Record the raw JAX trace ``state`` is created in; ``False`` at JAX's top level (no trace)."""
    trace = _jax_core.trace_ctx.trace
    if isinstance(trace, _jax_core.EvalTrace):
        return False
    _RAW_OWNER[state] = trace._weakref
    return True


def _raw_owner_is_current(state: State) -> bool:
    """Whether ``state`` was created in the JAX trace that is running now (so may hold its tracers)."""
    ref = _RAW_OWNER.get(state)
    return ref is not None and ref() is _jax_core.trace_ctx.trace


class catch_new_states:
    """Collect (and optionally tag) every State created inside the block.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> with brainstate.catch_new_states("hidden") as new:
        ...     h = brainstate.HiddenState(jnp.zeros(3))
        >>> new.states == [h], h.tag
        (True, 'hidden')
    """

    def __init__(self, tag: str | None = None) -> None:
        self.tag = tag
        self.states: list[State] = []

    def __enter__(self) -> catch_new_states:
        LOCAL.catchers.append(self.states)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        popped = LOCAL.catchers.pop()
        assert popped is self.states, "catch_new_states contexts closed out of order"
        if self.tag is not None:
            for state in self.states:
                state.tag = self.tag

    def __iter__(self) -> Iterator[State]:
        return iter(self.states)

    def __len__(self) -> int:
        return len(self.states)
