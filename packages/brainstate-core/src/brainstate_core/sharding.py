"""Sharding as State metadata: declare how each state is laid out over a mesh of devices.

A state declares its layout when it is made, ``State(value, sharding=spec)``, and needs no mesh to
be made: a model built with declarations runs unchanged on one device. A declaration is

* a :class:`~jax.sharding.PartitionSpec` (``P('data', None)``), or a tuple of the same entries
  (``('data', None)``): one entry per leading axis of the value, each a mesh-axis name, a tuple of
  names (the axis split over several mesh axes), or ``None`` (not split);
* a :class:`~jax.sharding.NamedSharding` (a spec with its mesh);
* for a state whose value is a pytree (an optimiser state, a layer's ``{'weight', 'bias'}``), a
  pytree prefix of these: ``{'weight': ('embed', 'mlp'), 'bias': ('mlp',)}``.

Names in a spec are mesh-axis names, or *logical* names (``'embed'``, ``'batch'``) that the rules of
:func:`axis_rules` map to mesh axes. The rules live in :mod:`~brainstate_core.environ`, so a jitted
function that resolved them recompiles when they change. Where no mesh is in use a declaration is
not applied.

What this module gives: the mesh in use (:func:`use_mesh`, :func:`get_mesh`); the resolved specs,
named shardings and abstract values of a model's states, by path (:func:`get_partition_specs`,
:func:`get_named_shardings`, :func:`abstract_states`); placement (:func:`place`) and a model built
directly sharded, never whole on one device (:func:`init_sharded`); :func:`constrain`, which pins a
value to a layout inside or outside a trace on meshes of either axis type; and, for several
processes, :func:`global_batch` and :func:`gather`.

Example:
    >>> import jax, jax.numpy as jnp
    >>> from jax.sharding import PartitionSpec as P
    >>> import brainstate
    >>> w = brainstate.ParamState(jnp.zeros((8, 4)), sharding=('embed', None))
    >>> with brainstate.sharding.axis_rules({'embed': 'data'}):
    ...     brainstate.sharding.partition_spec(w) == P('data', None)
    True
    >>> mesh = jax.make_mesh((1,), ('data',))
    >>> with brainstate.sharding.use_mesh(mesh), brainstate.sharding.axis_rules({'embed': 'data'}):
    ...     _ = brainstate.sharding.place(w)
    >>> w.value.sharding.spec == P('data', None)
    True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from . import environ
from ._errors import ShardingError
from ._multiprocess import gather, global_batch
from ._state import State, write_without_hooks
from ._trace import StateTrace, peek
from .internal import executing_eagerly

__all__ = [
    "RULES_KEY",
    "use_mesh",
    "get_mesh",
    "axis_rules",
    "get_axis_rules",
    "declared",
    "declare",
    "partition_spec",
    "named_sharding",
    "get_partition_specs",
    "get_named_shardings",
    "abstract_states",
    "place",
    "init_sharded",
    "constrain",
    "global_batch",
    "gather",
]

RULES_KEY = "sharding_rules"
"""The ``environ`` key holding the logical-axis rules (set by :func:`axis_rules`)."""


# -- the mesh in use (the compatibility layer over JAX's mesh context) ------------------------------
def use_mesh(mesh: Mesh) -> Any:
    """Use ``mesh`` for sharded states and bare partition specs: a context manager, or a global setting.

    This is ``jax.set_mesh``: inside it, jit, ``shard_map`` and the functions of this module resolve
    declarations on ``mesh``. Call it outside jitted code.

    Example:
        >>> import jax, brainstate
        >>> mesh = jax.make_mesh((1,), ('data',))
        >>> with brainstate.sharding.use_mesh(mesh):
        ...     brainstate.sharding.get_mesh().axis_names
        ('data',)
    """
    return jax.sharding.set_mesh(mesh)


def get_mesh() -> Any:
    """The mesh in use, or ``None``: the concrete :class:`~jax.sharding.Mesh` outside traces, inside a
    trace the abstract mesh JAX traces with.

    Example:
        >>> import brainstate
        >>> brainstate.sharding.get_mesh() is None
        True
    """
    abstract = jax.sharding.get_abstract_mesh()
    if not executing_eagerly():
        return None if abstract.empty else abstract
    getter = getattr(jax.sharding, "get_mesh", None)
    if getter is None:  # jax < 0.9 names it only privately
        from jax._src.mesh import get_concrete_mesh as getter
    mesh = getter()
    if mesh is None or mesh.empty:
        return None if abstract.empty else abstract
    return mesh


# -- logical axis rules -------------------------------------------------------------------------------
def _freeze_rules(rules: Mapping[str, Any] | Sequence[tuple[str, Any]]) -> tuple[tuple[str, Any], ...]:
    pairs = list(rules.items()) if isinstance(rules, Mapping) else list(rules)
    frozen = []
    for pair in pairs:
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], str)):
            raise ShardingError(f"axis_rules: {pair!r} is not a (logical name, mesh axes) pair. Fix: give a dict "
                                "{'embed': 'model', 'batch': ('data', 'fsdp'), 'vocab': None} or a list of pairs.")
        logical, target = pair
        if isinstance(target, list):
            target = tuple(target)
        if not (target is None or isinstance(target, str) or (isinstance(target, tuple) and all(isinstance(t, str) for t in target))):
            raise ShardingError(f"axis_rules: the logical axis {logical!r} maps to {target!r}; it must map to a "
                                "mesh-axis name, a tuple of names, or None (not split).")
        frozen.append((logical, target))
    return tuple(frozen)


def axis_rules(rules: Mapping[str, Any] | Sequence[tuple[str, Any]]) -> environ.context:
    """A context in which logical axis names map to mesh axes: ``{'embed': 'model', 'batch': 'data'}``.

    A logical name maps to a mesh-axis name, a tuple of them, or ``None`` (that axis is not split).
    The rules are an ``environ`` value (key :data:`RULES_KEY`), so code jitted under one set of rules
    compiles again under another. ``environ.set(sharding_rules=...)`` sets them globally.

    Example:
        >>> import brainstate
        >>> with brainstate.sharding.axis_rules({'embed': 'model', 'vocab': None}):
        ...     brainstate.sharding.get_axis_rules()
        {'embed': 'model', 'vocab': None}
    """
    frozen: Any = _freeze_rules(rules)
    return environ.context(**{RULES_KEY: frozen})


def get_axis_rules() -> dict[str, Any]:
    """The logical-axis rules in effect (``{}`` when none are set)."""
    return dict(environ.get(RULES_KEY, default=()))


# -- resolving declarations ----------------------------------------------------------------------------
def _is_name_entry(e: Any) -> bool:
    return e is None or isinstance(e, str) or e is PartitionSpec.UNCONSTRAINED or (
        isinstance(e, tuple) and all(isinstance(t, str) for t in e))


def _is_spec_leaf(x: Any) -> bool:
    if isinstance(x, (PartitionSpec, NamedSharding)):
        return True
    return isinstance(x, tuple) and all(_is_name_entry(e) for e in x)


def declared(state: State) -> Any:
    """The ``sharding=`` declaration of ``state`` as written (``None`` when it has none)."""
    return state.metadata.get("sharding")


def _describe(state: State | None, path: Any) -> str:
    if state is None:
        return "the value"
    where = f" at path {'.'.join(map(str, path))}" if path else ""
    return f"{state!r}{where} (created at {state.source_info})"


def _resolve_entry(entry: Any, rules: dict[str, Any], axes: tuple[str, ...] | None, who: str) -> Any:
    if entry is None or entry is PartitionSpec.UNCONSTRAINED:
        return entry
    names = (entry,) if isinstance(entry, str) else entry
    out: list[str] = []
    for name in names:
        target = rules.get(name, name) if name not in (axes or ()) else name
        if target is None:
            continue
        for t in (target,) if isinstance(target, str) else target:
            if axes is not None and t not in axes:
                known = f"the mesh axes are {axes}" + (f" and the rules map {sorted(rules)}" if rules else ", no rules are set")
                raise ShardingError(f"{who} is declared with sharding axis {name!r}, which is not a mesh axis ({known}). "
                                    "Fix: map it with brainstate.sharding.axis_rules({" + repr(name) + ": <mesh axis>}) "
                                    "or use a name of the mesh.")
            out.append(t)
    if not out:
        return None
    return out[0] if len(out) == 1 else tuple(out)


def _resolve_leaf(spec: Any, leaf: Any, rules: dict[str, Any], axes: tuple[str, ...] | None, who: str) -> PartitionSpec:
    if isinstance(spec, NamedSharding):
        spec = spec.spec
    if spec is None:
        return PartitionSpec()
    if not _is_spec_leaf(spec):
        raise ShardingError(f"{who} has sharding={spec!r}, which is not a partition spec. Fix: give a "
                            "PartitionSpec, a tuple of mesh/logical axis names (None for an axis not split), a "
                            "NamedSharding, or a pytree prefix of these for a tree-valued state.")
    entries = tuple(spec)
    ndim = len(getattr(leaf, "shape", ()))
    if len(entries) > ndim:
        raise ShardingError(f"{who} is declared sharding={spec!r} ({len(entries)} axes) but its value has "
                            f"shape {tuple(getattr(leaf, 'shape', ()))} ({ndim} axes). Fix: give one entry per "
                            "leading axis at most.")
    return PartitionSpec(*(_resolve_entry(e, rules, axes, who) for e in entries))


def _mesh_axes(mesh: Any) -> tuple[str, ...] | None:
    mesh = get_mesh() if mesh is None else mesh
    return None if mesh is None else tuple(mesh.axis_names)


def partition_spec(state: State, *, mesh: Any = None, _path: Any = None) -> Any:
    """The resolved :class:`~jax.sharding.PartitionSpec` of ``state``'s value: one spec per leaf.

    Logical names are mapped by the rules in effect and checked against ``mesh`` (default: the mesh
    in use, if any). A state without a declaration is replicated: ``PartitionSpec()``.

    Raises:
        ShardingError: the declaration is not a spec, names an axis neither the mesh nor the rules
            know, or has more entries than the value has axes.
    """
    return _resolve(state, get_axis_rules(), _mesh_axes(mesh), _path)


def _check_form(state: State) -> Any:
    """The declaration resolved with no mesh and no rules: what can be checked where the state is made
    (``internal.check_sharding``); logical names are kept (``internal.declared_specs``)."""
    return _resolve(state, {}, None, None)


def _resolve(state: State, rules: dict[str, Any], axes: tuple[str, ...] | None, _path: Any) -> Any:
    decl = declared(state)
    value = peek(state)
    if decl is None:
        return jax.tree.map(lambda _: PartitionSpec(), value)
    who = _describe(state, _path)
    if _is_spec_leaf(decl):
        return jax.tree.map(lambda leaf: _resolve_leaf(decl, leaf, rules, axes, who), value)
    try:
        return jax.tree.map(lambda d, sub: jax.tree.map(lambda leaf: _resolve_leaf(d, leaf, rules, axes, who), sub),
                            decl, value, is_leaf=lambda x: x is None or _is_spec_leaf(x))
    except ValueError as exc:
        if isinstance(exc, ShardingError):
            raise
        raise ShardingError(f"{who} has sharding={decl!r}, which is not a pytree prefix of its value "
                            f"({jax.tree.structure(value)}). Fix: give one spec, or a tree with the value's keys.") from None


def named_sharding(state: State, mesh: Any = None, *, _path: Any = None) -> Any:
    """``state``'s layout on ``mesh`` (default: the mesh in use) as :class:`~jax.sharding.NamedSharding`\\ s."""
    decl = declared(state)
    if mesh is None and isinstance(decl, NamedSharding):
        mesh = decl.mesh
    mesh = get_mesh() if mesh is None else mesh
    if mesh is None:
        raise ShardingError(f"{_describe(state, _path)}: no mesh to lay it out on. Fix: pass mesh=..., or call "
                            "inside `with brainstate.sharding.use_mesh(mesh):`.")
    specs = partition_spec(state, mesh=mesh, _path=_path)
    return jax.tree.map(lambda p: NamedSharding(mesh, p), specs, is_leaf=lambda x: isinstance(x, PartitionSpec))


def _states_by_path(target: Any, filters: tuple) -> dict[Any, State]:
    if isinstance(target, State):
        return {(): target}
    from .graph import states as graph_states

    found: Any = graph_states(target, *filters) if filters else graph_states(target)
    if isinstance(found, tuple):  # several filters: one group each
        return {p: s for group in found for p, s in group.items()}
    return dict(found.items())


def declare(target: Any, layouts: Mapping[Any, Any]) -> Any:
    """Declare the layouts of states of an existing model: ``{path or filter: declaration}``; returns ``target``.

    A key is a state's path (a tuple, as :func:`brainstate.graph.states` gives it), or a filter (a State
    type, a tag, a predicate) selecting states. The declaration is stored as the state's ``sharding=``
    metadata, as if it had been given when the state was made; later keys win. A path that matches no
    state is an error, and so is a declaration that is not a spec or has more entries than the
    state's value has axes (mesh axes and logical names are checked when the model is laid out).

    Example:
        >>> import jax.numpy as jnp, brainstate
        >>> class Net(brainstate.graph.Node):
        ...     def __init__(self):
        ...         self.w = brainstate.ParamState(jnp.zeros((4, 2)))
        ...         self.h = brainstate.HiddenState(jnp.zeros(4))
        >>> net = brainstate.sharding.declare(Net(), {('w',): (None, 'model'), brainstate.HiddenState: ('data',)})
        >>> net.w.metadata['sharding'], net.h.metadata['sharding']
        ((None, 'model'), ('data',))
    """
    from ._filter import to_predicate

    found = _states_by_path(target, ())
    for key, layout in layouts.items():
        if isinstance(key, tuple) and not isinstance(key, type):
            if key not in found:
                near = [p for p in found if p[-1:] == key[-1:]] or list(found)[:5]
                raise ShardingError(f"declare: no state at path {key!r}. Fix: use a path of "
                                    f"brainstate.graph.states(model), such as {near}.")
            found[key].metadata["sharding"] = layout
            _resolve(found[key], {}, None, key)
            continue
        predicate = to_predicate(key)
        for path, state in found.items():
            if predicate(path, state):
                state.metadata["sharding"] = layout
                _resolve(state, {}, None, path)
    return target


def get_partition_specs(target: Any, *filters: Any, mesh: Any = None) -> dict[Any, Any]:
    """``{path: resolved spec}`` for every state of ``target`` (a module, any object graph, or one State).

    Example:
        >>> import jax.numpy as jnp, brainstate
        >>> from jax.sharding import PartitionSpec as P
        >>> class Net(brainstate.graph.Node):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.w = brainstate.ParamState(jnp.zeros((4, 2)), sharding=('data', None))
        ...         self.b = brainstate.ParamState(jnp.zeros(2))
        >>> specs = brainstate.sharding.get_partition_specs(Net())
        >>> specs[('w',)] == P('data', None), specs[('b',)] == P()
        (True, True)
    """
    return {path: partition_spec(s, mesh=mesh, _path=path) for path, s in _states_by_path(target, filters).items()}


def get_named_shardings(target: Any, *filters: Any, mesh: Mesh | None = None) -> dict[Any, Any]:
    """``{path: NamedSharding tree}`` for every state of ``target`` on ``mesh`` (default: the mesh in use)."""
    return {path: named_sharding(s, mesh, _path=path) for path, s in _states_by_path(target, filters).items()}


def abstract_states(target: Any, *filters: Any, mesh: Mesh | None = None) -> dict[Any, Any]:
    """``{path: jax.ShapeDtypeStruct tree}``: shape, dtype and sharding of each state, for AOT and restores.

    Without a mesh (none given, none in use) the structs carry no sharding.
    """
    out = {}
    mesh = get_mesh() if mesh is None else mesh
    for path, s in _states_by_path(target, filters).items():
        value = peek(s)
        if mesh is None:
            out[path] = jax.tree.map(lambda x: jax.ShapeDtypeStruct(jax.numpy.shape(x), jax.numpy.result_type(x)), value)
        else:
            shard = named_sharding(s, mesh, _path=path)
            out[path] = jax.tree.map(lambda x, sh: jax.ShapeDtypeStruct(jax.numpy.shape(x), jax.numpy.result_type(x), sharding=sh),
                                     value, shard)
    return out


def place(target: Any, *filters: Any, mesh: Mesh | None = None) -> Any:
    """Move every state of ``target`` onto ``mesh`` (default: the mesh in use) as declared; returns ``target``.

    Undeclared states are replicated. The values move device to device (``jax.device_put``).
    """
    for path, s in _states_by_path(target, filters).items():
        write_without_hooks(s, jax.device_put(peek(s), named_sharding(s, mesh, _path=path)))
    return target


def init_sharded(constructor: Callable[..., Any], *args: Any, mesh: Mesh | None = None, **kwargs: Any) -> Any:
    """Build ``constructor(*args, **kwargs)`` with every state created directly in its declared layout.

    The constructor runs inside ``jax.jit`` and each new state's value leaves it laid out as declared,
    so a model too large for one device is never whole on one. States the constructor reads or writes
    that existed before (the default random generator) are threaded through and updated.

    Example:
        >>> import jax, jax.numpy as jnp, brainstate
        >>> mesh = jax.make_mesh((1,), ('data',))
        >>> make = lambda: brainstate.ParamState(jnp.ones((4, 2)), sharding=('data', None))
        >>> with brainstate.sharding.use_mesh(mesh):
        ...     w = brainstate.sharding.init_sharded(make)
        >>> want = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec('data', None))
        >>> w.value.sharding.is_equivalent_to(want, 2)   # on one device jax may also write it as P()
        True
    """
    box: dict[str, Any] = {}
    mesh = get_mesh() if mesh is None else mesh
    if mesh is None:
        raise ShardingError("init_sharded: no mesh to build on. Fix: pass mesh=..., or call inside "
                            "`with brainstate.sharding.use_mesh(mesh):`.")

    def build() -> tuple[list[Any], list[Any]]:
        with StateTrace() as trace:
            obj = constructor(*args, **kwargs)
            new = _states_by_path(obj, ())
            values = [constrain(peek(s), named_sharding(s, mesh, _path=p)) for p, s in new.items()]
            outer = [(s, peek(s)) for s, w in zip(trace.states, trace.written) if w]
        box.update(obj=obj, states=list(new.values()), outer=[s for s, _ in outer])
        return values, [v for _, v in outer]

    values, outer_values = jax.jit(build)()
    for s, v in zip(box["states"], values):
        s.restore_value(v)
    for s, v in zip(box["outer"], outer_values):  # back where they were (the random key stays off the mesh)
        before = peek(s)
        s.value = jax.tree.map(lambda new, old: jax.device_put(new, old.sharding) if isinstance(old, jax.Array) else new,
                               v, before)
    return box["obj"]


def _spec_axes(spec: Any) -> set[str]:
    """The mesh axes a PartitionSpec or NamedSharding (or a pytree of them) splits over (``internal.spec_axes``)."""
    leaves = jax.tree.leaves(spec, is_leaf=lambda x: isinstance(x, (PartitionSpec, NamedSharding)))
    return {a for leaf in leaves for e in (leaf.spec if isinstance(leaf, NamedSharding) else leaf)
            if e is not None and e is not PartitionSpec.UNCONSTRAINED for a in ((e,) if isinstance(e, str) else e)}


def constrain(x: Any, spec: Any) -> Any:
    """Pin ``x`` (a pytree) to a layout: ``jax.lax.with_sharding_constraint`` on axes of type Auto,
    ``jax.sharding.reshard`` on Explicit ones, ``jax.device_put`` outside traces.

    ``spec`` is a :class:`~jax.sharding.NamedSharding`, or a :class:`~jax.sharding.PartitionSpec` read
    on the mesh in use (a pytree of either, matching ``x``). Without a mesh a bare spec changes nothing.
    """
    def one(value: Any, s: Any) -> Any:
        if isinstance(s, PartitionSpec):
            mesh = jax.sharding.get_abstract_mesh()
            if mesh.empty:
                return value
            types = dict(zip(mesh.axis_names, mesh.axis_types))
        else:
            types = dict(zip(s.mesh.axis_names, s.mesh.axis_types))
        explicit = any(types.get(a) == jax.sharding.AxisType.Explicit for a in _spec_axes(s))
        if explicit:
            return jax.sharding.reshard(value, s)
        return jax.lax.with_sharding_constraint(value, s)

    if isinstance(spec, (PartitionSpec, NamedSharding)):
        return jax.tree.map(lambda v: one(v, spec), x)
    return jax.tree.map(one, x, spec, is_leaf=lambda v: isinstance(v, (PartitionSpec, NamedSharding)))

