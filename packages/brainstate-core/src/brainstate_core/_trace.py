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
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import jax
import numpy as np
from jax._src import core as _jax_core
from jax._src.array import ArrayImpl
from jax.core import Tracer

from ._errors import TraceContextError
from ._filter import to_predicate

if TYPE_CHECKING:
    from ._state import State

__all__ = [
    "StateTrace",
    "StateTraceStack",
    "catch_new_states",
    "current_trace",
    "check_state_value_tree",
    "check_state_jax_tracer",
]


class _Local(threading.local):
    def __init__(self) -> None:
        self.traces: list[StateTrace] = []
        self.catchers: list[list] = []
        # State -> the value this thread sees while a restoring trace is active (see the module doc).
        self.overlay: dict[State, Any] = {}
        self.tree_checks: list[bool] = []  # the check_state_value_tree() blocks of this thread


LOCAL = _Local()


class _Switch:
    """``on`` is true while some state operation needs more than the plain path.

    That is while any hook is registered (``_hooks.py``) or some thread is inside a
    :class:`check_state_value_tree` block. ``State.value`` checks this one flag and nothing else.
    """

    __slots__ = ("on", "_hooks", "_checks", "_lock")

    def __init__(self) -> None:
        self.on = False
        self._hooks = False
        self._checks = 0
        self._lock = threading.Lock()

    def set_hooks(self, active: bool) -> None:
        with self._lock:
            self._hooks = active
            self.on = active or self._checks > 0

    def add_checks(self, delta: int) -> None:
        with self._lock:
            self._checks += delta
            self.on = self._hooks or self._checks > 0


SWITCH = _Switch()

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
        self.env_reads: dict[Hashable, Any] = {}  # environ key (or a scoped key of another environment) -> value
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
        # Called only for a trace with a lift (see State._traced_read).
        value = self.lift(state, state._value if before is _ABSENT else before)  # pyright: ignore[reportOptionalCall]
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

    def install(self, states: Sequence[State], values: Sequence[Any]) -> None:
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

    Args:
        state_tag: a tag given to every caught state when the block ends.
        state_to_exclude: a filter (see ``brainstate.graph.to_predicate``); the states it matches
            are dropped from the catch when the block ends, and not tagged.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> with brainstate.catch_new_states("hidden", state_to_exclude=brainstate.ParamState) as new:
        ...     h = brainstate.HiddenState(jnp.zeros(3))
        ...     w = brainstate.ParamState(jnp.ones(3))
        >>> new.get_states() == [h], h.tag, w.tag, h in new, w in new
        (True, 'hidden', None, True, False)
    """

    def __init__(self, state_tag: str | None = None, state_to_exclude: Any = None) -> None:
        self.state_tag = state_tag
        self.state_to_exclude = state_to_exclude
        self.states: list[State] = []

    def __enter__(self) -> catch_new_states:
        LOCAL.catchers.append(self.states)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        popped = LOCAL.catchers.pop()
        assert popped is self.states, "catch_new_states contexts closed out of order"
        if self.state_to_exclude is not None:
            excluded = to_predicate(self.state_to_exclude)
            self.states[:] = [s for s in self.states if not excluded((), s)]
        if self.state_tag is not None:
            for state in self.states:
                state.tag = self.state_tag

    def get_states(self) -> list[State]:
        """The caught states, in creation order."""
        return list(self.states)

    def get_state_values(self) -> list[Any]:
        """The values of the caught states (read through ``State.value``)."""
        return [state.value for state in self.states]

    def get_by_tag(self, tag: str) -> list[State]:
        """The caught states whose tags include ``tag``."""
        return [state for state in self.states if state.has_tag(tag)]

    def __iter__(self) -> Iterator[State]:
        return iter(self.states)

    def __len__(self) -> int:
        return len(self.states)

    def __getitem__(self, index: int) -> State:
        return self.states[index]

    def __contains__(self, state: object) -> bool:
        return any(s is state for s in self.states)


class check_state_value_tree:
    """Inside this block, assigning a State a value of another pytree structure raises.

    Outside it the structure is not checked (a check costs a tree flatten per write). The check
    runs under transformations too, on the value the code assigns.

    Args:
        val: ``False`` turns the check off again inside an enclosing checking block.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> s = brainstate.State(jnp.zeros(2))
        >>> with brainstate.check_state_value_tree():
        ...     s.value = jnp.ones(2)
        ...     s.value = (jnp.ones(2), jnp.ones(2))
        Traceback (most recent call last):
        ...
        brainstate.StateShapeError: State(f32[2]) (created at ...) was assigned a value whose tree structure ...
    """

    def __init__(self, val: bool = True) -> None:
        self.val = bool(val)

    def __enter__(self) -> check_state_value_tree:
        LOCAL.tree_checks.append(self.val)
        SWITCH.add_checks(1)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        LOCAL.tree_checks.pop()
        SWITCH.add_checks(-1)


class check_state_jax_tracer:
    """Upstream's switch for the tracer checks; in brainstate they are always on.

    A State never keeps a JAX tracer outside the trace it belongs to: writing a tracer outside a
    brainstate transformation raises :class:`TraceContextError` whether or not this block is
    active. ``check_state_jax_tracer()`` is accepted (it changes nothing);
    ``check_state_jax_tracer(False)`` raises, because the check cannot be turned off.

    Example:
        >>> import brainstate
        >>> with brainstate.check_state_jax_tracer():
        ...     pass
        >>> brainstate.check_state_jax_tracer(False)
        Traceback (most recent call last):
        ...
        brainstate.TraceContextError: The tracer checks of brainstate cannot be turned off: ...
    """

    def __init__(self, val: bool = True) -> None:
        if not val:
            raise TraceContextError(
                "The tracer checks of brainstate cannot be turned off: a State that kept a tracer of a finished "
                "trace would hand a stale or invalid value to later code. Remove check_state_jax_tracer(False); "
                "if a check fires, use the brainstate.transform version of the JAX transformation."
            )

    def __enter__(self) -> check_state_jax_tracer:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        return None


class StateTraceStack(StateTrace):
    """Upstream's name and query methods for a :class:`StateTrace` that keeps its writes.

    ``StateTraceStack(name=...)`` is ``StateTrace(restore=False)``: writes made in the block stay
    when it ends normally and are undone if it raises. The queries are upstream's.

    Args:
        new_arg: not supported (upstream let it replace a state's stored value at its first read);
            passing one raises :class:`TraceContextError`. Transformations use ``StateTrace(lift=...)``.
        name: a name shown in the repr.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> a, b = brainstate.State(jnp.zeros(2)), brainstate.ParamState(jnp.ones(2))
        >>> with brainstate.StateTraceStack(name='step') as trace:
        ...     a.value = b.value + 1
        >>> trace.get_read_states() == (b,), trace.get_write_states() == (a,), trace.been_writen
        (True, True, [False, True])
        >>> trace.state_subset(brainstate.ParamState) == [b], trace
        (True, StateTraceStack(step))
    """

    __slots__ = ("name",)

    def __init__(self, new_arg: Callable | None = None, name: str | None = None) -> None:
        if new_arg is not None:
            raise TraceContextError(
                "StateTraceStack(new_arg=...) is not supported: it replaced a state's stored value at its first "
                "read, which leaves the state holding a tracer if the trace fails. Use StateTrace(lift=...), whose "
                "lift only changes what the trace sees, or a brainstate.transform function."
            )
        super().__init__(restore=False)
        self.name = name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name or ''})"

    @property
    def been_writen(self) -> list[bool]:
        """Per state in :attr:`states`: whether it was written (upstream's spelling)."""
        return list(self.written)

    @property
    def original_state_values(self) -> tuple[Any, ...]:
        """The value each state had when the trace first touched it."""
        return tuple(self.originals)

    def get_state_values(self, separate: bool = False, replace: bool = False) -> tuple:
        """Current values of the states; with ``separate``, ``(written values, read values)``.

        With ``separate`` and ``replace``, both tuples have one entry per state, ``None`` where the
        state belongs to the other group.
        """
        values = [peek(s) for s in self.states]
        if not separate:
            return tuple(values)
        writes = [v if w else None for v, w in zip(values, self.written)]
        reads = [None if w else v for v, w in zip(values, self.written)]
        if not replace:
            writes = [v for v, w in zip(values, self.written) if w]
            reads = [v for v, w in zip(values, self.written) if not w]
        return tuple(writes), tuple(reads)

    def get_read_states(self, replace_writen: bool = False) -> tuple:
        """States read but never written (``None`` in place of written ones with ``replace_writen``)."""
        if replace_writen:
            return tuple(None if w else s for s, w in zip(self.states, self.written))
        return tuple(self.read_states())

    def get_write_states(self, replace_read: bool = False) -> tuple:
        """States written (``None`` in place of read-only ones with ``replace_read``)."""
        if replace_read:
            return tuple(s if w else None for s, w in zip(self.states, self.written))
        return tuple(self.write_states())

    def get_read_state_values(self, replace_writen: bool = False) -> tuple:
        """Values of :meth:`get_read_states`."""
        return tuple(None if s is None else peek(s) for s in self.get_read_states(replace_writen))

    def get_write_state_values(self, replace_read: bool = False) -> tuple:
        """Values of :meth:`get_write_states`."""
        return tuple(None if s is None else peek(s) for s in self.get_write_states(replace_read))

    def state_subset(self, state_type: type) -> list[State]:
        """The traced states that are instances of ``state_type``."""
        return [s for s in self.states if isinstance(s, state_type)]

    def recovery_original_values(self) -> None:
        """Put back the value every written state had before the trace touched it."""
        self.restore()

    def assign_state_vals(self, state_vals: Sequence[Any]) -> None:
        """Give every traced state a value: written states by assignment, read ones by ``restore_value``.

        Raises:
            ValueError: ``state_vals`` does not have one value per traced state.
        """
        if len(state_vals) != len(self.states):
            raise ValueError(f"assign_state_vals needs {len(self.states)} values, one per traced state; got {len(state_vals)}.")
        for state, written, value in zip(self.states, self.written, state_vals):
            if written:
                state.value = value
            else:
                state.restore_value(value)
