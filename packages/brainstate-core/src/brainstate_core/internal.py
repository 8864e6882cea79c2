"""The small internal API that the other brainstate wheels (and extension authors) build on.

Users do not need it. It exists so that brainstate-transform, brainstate-random and brainstate-nn
never reach into core's private modules or a State's private slots: everything they need is here,
named and documented, and core is free to change how it is implemented.

* :func:`peek` reads the value a state has for this thread without recording a read;
* :func:`read_values` / :func:`write_values` are the fast paths a transformation uses to hand state
  values to JAX and to write the results back; like :func:`read_without_hooks` and
  :func:`write_without_hooks` (for single states), they run no state hooks: the hooks ran when the
  user's code touched the state;
* :func:`is_tracer` and :func:`contains_tracer` answer "is this a JAX tracer" one way everywhere,
  :func:`executing_eagerly` "is any JAX trace active";
* :func:`check_sharding` checks a ``sharding=`` declaration where a state is made (a layer's keyword),
  :func:`declared_specs` gives it one spec per leaf (what an optimiser's moments copy), :func:`spec_axes`
  the mesh axes a spec splits over;
* :func:`format_value` describes a pytree of arrays compactly for error messages and reprs;
* :data:`FilterLike` and :func:`to_predicate` are the filter language of ``graph`` and ``vmap``;
* :func:`notebook_html` renders an object for a notebook (through treescope when it is installed,
  else a given built-in view); :func:`state_html`, :func:`html_escape` and :data:`HTML_BOX_STYLE`
  are the pieces of the built-in view of States that a module's view reuses;
* :func:`set_public_home` / :func:`set_home` make a wheel's public classes and functions show the
  module users import them from (``brainstate_nn.Linear``, not ``brainstate_nn._linear.Linear``);
  :func:`defined_in` still names the module that defines them (the test suite's doctest collector
  asks it).

Example:
    >>> import jax.numpy as jnp
    >>> import brainstate_core as bc
    >>> from brainstate_core import internal
    >>> s = bc.State(jnp.zeros(3))
    >>> internal.format_value(internal.peek(s)), internal.contains_tracer(s.value)
    ('f32[3]', False)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import FunctionType
from typing import Any
from weakref import WeakKeyDictionary

from jax.core import Tracer

from ._errors import TraceContextError
from ._filter import FilterLike, to_predicate
from ._state import State, format_value, read_without_hooks, write_without_hooks
from ._trace import LOCAL, _contains_tracer, peek

__all__ = [
    "FilterLike",
    "to_predicate",
    "peek",
    "is_dead",
    "in_state_trace",
    "read_values",
    "write_values",
    "read_without_hooks",
    "write_without_hooks",
    "is_tracer",
    "executing_eagerly",
    "check_sharding",
    "declared_specs",
    "spec_axes",
    "contains_tracer",
    "format_value",
    "set_public_home",
    "set_home",
    "defined_in",
    "notebook_html",
    "state_html",
    "html_escape",
    "HTML_BOX_STYLE",
]

_DEFINED_IN: WeakKeyDictionary = WeakKeyDictionary()  # class or function -> its module before set_home


def is_tracer(x: Any) -> bool:
    """Whether ``x`` itself is a JAX tracer."""
    return isinstance(x, Tracer)


def executing_eagerly() -> bool:
    """Whether this code runs outside every JAX trace (so an operation would really compute now)."""
    from jax._src import core

    return isinstance(core.trace_ctx.trace, core.EvalTrace)


def check_sharding(state: State) -> None:
    """Check the form of ``state``'s ``sharding=`` declaration where the state is made.

    Only what needs no mesh and no rules: every leaf is a partition spec (or a pytree prefix of the
    value made of them) with no more entries than its value has axes. Mesh axes and logical names are
    checked when the state is laid out.

    Raises:
        ShardingError: naming the state and the fix.
    """
    declared_specs(state)


def declared_specs(state: State) -> Any:
    """``state``'s declaration as one ``PartitionSpec`` per leaf of its value, logical names kept.

    What a state that follows another one's layout (an optimiser moment follows its weight) declares;
    ``PartitionSpec()`` for every leaf when ``state`` declares nothing. Checked as
    :func:`check_sharding` checks.
    """
    from .sharding import _check_form

    return _check_form(state)


def spec_axes(spec: Any) -> set[str]:
    """The mesh axes that a ``PartitionSpec`` or ``NamedSharding`` (or a pytree of them) splits over.

    Example:
        >>> from jax.sharding import PartitionSpec as P
        >>> from brainstate_core import internal
        >>> sorted(internal.spec_axes({'w': P('data', ('model', 'x')), 'b': P(None, P.UNCONSTRAINED)}))
        ['data', 'model', 'x']
    """
    from .sharding import _spec_axes

    return _spec_axes(spec)


def contains_tracer(value: Any) -> bool:
    """Whether any leaf of the pytree ``value`` is a JAX tracer (fast for a single array)."""
    return _contains_tracer(value)


def is_dead(state: State) -> bool:
    """Whether ``state`` was created inside a finished trace and so has no usable value."""
    return state._dead


def in_state_trace() -> bool:
    """Whether this thread is inside a brainstate transformation (some :class:`StateTrace` is active)."""
    return bool(LOCAL.traces)


def read_values(states: Sequence[State]) -> list[Any]:
    """The current values of ``states``, as a transformation hands them to JAX.

    Inside an enclosing transformation this is an ordinary read (recorded, so the outer
    transformation learns the states); outside every transformation it skips the bookkeeping.
    """
    if LOCAL.traces:
        return [read_without_hooks(s) for s in states]
    return [s.value if s._dead else s._value for s in states]


def write_values(states: Sequence[State], new_values: Mapping[int, Any]) -> None:
    """Write ``new_values`` (position in ``states`` -> value) back after a transformation ran.

    Inside an enclosing transformation the writes are recorded like any write. Outside, a tracer is
    refused with :class:`TraceContextError`: it means the transformation ran inside a raw JAX one.
    """
    if not new_values:
        return
    if LOCAL.traces:
        for i, value in new_values.items():
            write_without_hooks(states[i], value)
        return
    first = next(iter(new_values))
    if _contains_tracer(new_values[first]):
        state = states[first]
        raise TraceContextError(
            f"A brainstate transformation was called inside a raw JAX transformation (jax.jit, jax.grad, "
            f"jax.vmap, ...) and would write tracers into {state!r} (created at {state.source_info}). Fix: "
            "use the brainstate.transform version of the outer transformation too."
        )
    for i, value in new_values.items():
        state = states[i]
        if state._plain_store:
            state._value = value
            state._dead = False
        else:
            state._store(value)


def set_public_home(namespace: Mapping[str, Any], home: str) -> None:
    """Give the public classes and functions in ``namespace`` the ``__module__`` ``home``.

    Only objects defined in a private module of the same wheel (a module under ``home``'s first
    component with a ``_``-prefixed part) move, so re-exported JAX or NumPy objects, and objects that
    already show a public home, keep theirs. Reprs, tracebacks, ``help`` and
    pickling then name the module users import from. Call it at the end of a public module, with
    ``globals()`` and ``__name__``.

    Example:
        >>> import types
        >>> from brainstate_core import internal
        >>> impl = types.ModuleType("mylib._impl")
        >>> exec("def f(): pass", impl.__dict__)
        >>> internal.set_public_home({"f": impl.f}, "mylib")
        >>> impl.f.__module__, internal.defined_in(impl.f)
        ('mylib', 'mylib._impl')
    """
    root = home.partition(".")[0]
    for name, obj in list(namespace.items()):
        if name.startswith("_") or not isinstance(obj, (type, FunctionType)):
            continue
        parts = str(obj.__module__).split(".")
        if parts[0] == root and any(part.startswith("_") for part in parts[1:]):
            set_home(obj, home)


def set_home(obj: type | FunctionType, home: str) -> None:
    """Set ``obj.__module__`` to ``home``, remembering the module that defines it (see :func:`defined_in`)."""
    _DEFINED_IN.setdefault(obj, obj.__module__)
    obj.__module__ = home


def defined_in(obj: Any) -> str | None:
    """The name of the module that defines ``obj``, if :func:`set_home` gave it another home, else ``None``.

    Example:
        >>> import brainstate_core
        >>> from brainstate_core import internal
        >>> internal.defined_in(brainstate_core.State)
        'brainstate_core._state'
    """
    try:
        return _DEFINED_IN.get(obj)
    except TypeError:  # not weakly referenceable: never moved
        return None


# Last: the HTML views themselves read states through the helpers above.
from ._html import BOX_STYLE as HTML_BOX_STYLE  # noqa: E402
from ._html import esc as html_escape  # noqa: E402
from ._html import notebook_html, state_html  # noqa: E402
