"""The object graph: find the States (and Nodes) of any Python object tree, by path.

**What is searched.** Starting from a root object, the search descends into

- lists and tuples (path keys: the int indices), dicts (path keys: the dict keys), and
  :class:`FlattedDict` objects (their path keys are spliced into the path);
- :class:`Node` instances and plain user objects: instances of classes defined outside the
  standard library, JAX, NumPy and SciPy, through their ``__dict__`` and ``__slots__`` (path keys:
  the attribute names, private ones included; class attributes are not searched). A class may
  name attributes not to search in a ``_graph_skip`` class attribute (read once per class);
- objects of a type registered with ``graph.register_graph_node_type``, through its ``flatten``
  function (path keys: its keys), rebuilt by copies with its ``create_empty`` and ``set_key``.

Anything else is a leaf and is not searched: arrays, numbers, strings, functions, classes,
modules, and objects of the standard library (``functools.partial``, ``SimpleNamespace``, ...),
JAX, NumPy or SciPy.

**Order and sharing.** Children are visited in sorted key order (dict keys of mixed types are
grouped by type name first), so results come out sorted by path, without a final sort. An object
reachable along several paths (shared, or in a cycle) is visited once, under the first path this
depth-first search meets; without cycles that is its smallest path.

**Copies.** :func:`clone` and :func:`treefy_merge` copy the searched structure with
``copy.deepcopy``, giving every State a fresh State; state values, JAX objects, modules and
callable leaves are shared, other leaves (NumPy arrays included) are deep-copied.
"""

from __future__ import annotations

import copy
import os
import sys
import sysconfig
import types
from collections.abc import Hashable, Mapping
from typing import Any, overload

import jax
import numpy as np

from ._errors import StateArgumentError, StateShapeError, StateUsageError
from ._filter import FilterLike, partition
from ._flatted import FlattedDict, _as_flat, _values
from ._graph_registry import REGISTRY, copy_graph
from ._node import Node
from ._state import State

__all__ = ["states", "nodes", "GraphDef", "treefy_split", "treefy_merge", "update_states", "clone"]

Path = tuple[Hashable, ...]
Result = FlattedDict | tuple[FlattedDict, ...]

_LEAF, _STATE, _SEQ, _DICT, _FLAT, _OBJ, _REG = range(7)  # _REG: a registered graph node type
_OPAQUE_MODULES = frozenset({"jax", "jaxlib", "numpy", "ml_dtypes", "scipy"})
_STDLIB_DIRS = tuple({os.path.realpath(sysconfig.get_paths()[k]) for k in ("stdlib", "platstdlib")})
_OPAQUE_TYPES = (type, types.ModuleType, jax.Array, np.ndarray, np.generic)

# type -> (kind, flag, skipped attribute names, slot (name, descriptor) pairs, has __dict__), where
# the flag of a searched object says whether it is a Node, and that of a leaf whether clone and
# treefy_merge share it instead of deep-copying it (JAX objects, modules, functions and other callables).
_INFO: dict[type, tuple] = {}


def _classify(tp: type) -> tuple:
    root_module = tp.__module__.partition(".")[0]
    callable_instances = any("__call__" in cls.__dict__ for cls in tp.__mro__)
    shared = callable_instances or issubclass(tp, types.ModuleType) or root_module in ("jax", "jaxlib")
    info: tuple = (_LEAF, shared, frozenset(), (), False)
    if tp in REGISTRY:
        info = (_REG, True, frozenset(), (), False)
    elif issubclass(tp, State):
        info = (_STATE, False, frozenset(), (), False)
    elif issubclass(tp, FlattedDict):
        info = (_FLAT, False, frozenset(), (), False)
    elif issubclass(tp, dict):
        info = (_DICT, False, frozenset(), (), False)
    elif issubclass(tp, (list, tuple)):
        info = (_SEQ, False, frozenset(), (), False)
    elif issubclass(tp, Node) or not (
        issubclass(tp, _OPAQUE_TYPES) or root_module in _OPAQUE_MODULES or _is_stdlib(root_module)
    ):
        slots = _slot_members(tp)
        has_dict = tp.__dictoffset__ != 0
        if slots or has_dict:
            skip = getattr(tp, "_graph_skip", ())
            skip = frozenset((skip,) if isinstance(skip, str) else skip)
            info = (_OBJ, issubclass(tp, Node), skip, slots, has_dict)
    _INFO[tp] = info
    return info


def _is_stdlib(root_module: str) -> bool:
    """Whether a top-level module is the standard library's (not a user module of the same name)."""
    if root_module not in sys.stdlib_module_names:
        return False
    module = sys.modules.get(root_module)
    if module is None:
        return False
    file = getattr(module, "__file__", None)
    if file is None:  # built into the interpreter
        return True
    file = os.path.realpath(file)
    return file.startswith(_STDLIB_DIRS) and "site-packages" not in file


def _slot_members(tp: type) -> tuple:
    members = []
    for cls in tp.__mro__:
        slots = cls.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name in ("__dict__", "__weakref__"):
                continue
            if name.startswith("__") and not name.endswith("__"):
                name = f"_{cls.__name__.lstrip('_')}{name}"
            members.append((name, cls.__dict__[name]))
    return tuple(members)


def _sorted_keys(d: Mapping) -> list:
    try:
        return sorted(d)
    except TypeError:  # mixed key types: group by type name, then sort within each group
        groups: dict[str, list] = {}
        for k in d:
            groups.setdefault(f"{type(k).__module__}.{type(k).__qualname__}", []).append(k)
        out: list = []
        for name in sorted(groups):
            group = groups[name]
            try:
                group.sort()
            except TypeError:
                group.sort(key=repr)
            out += group
        return out


def _as_path(key: Any) -> Path:
    """A FlattedDict key as a path (a key that is not a tuple is a one-component path)."""
    return key if type(key) is tuple else (key,)


def _children(obj: Any, info: tuple) -> tuple[Any, Any]:
    """``(source, keys)`` of a searched non-State object: its children are ``source[key]`` in key order."""
    kind = info[0]
    if kind == _SEQ:
        return obj, range(len(obj))
    if kind == _REG:
        items, _ = REGISTRY[type(obj)].items(obj)
        return dict(items), [key for key, _ in items]
    if kind != _OBJ:
        return obj, _sorted_keys(obj)
    skip, slots = info[2], info[3]
    attrs = obj.__dict__ if info[4] else {}
    if slots:
        attrs = dict(attrs)
        tp = type(obj)
        for name, member in slots:
            try:
                attrs[name] = member.__get__(obj, tp)
            except AttributeError:  # an unset slot
                pass
    keys = _sorted_keys(attrs)
    return attrs, [k for k in keys if k not in skip] if skip else keys


_SCALARS = frozenset({int, float, bool, complex, str, type(None)})


def _collect(root: Any, want_nodes: bool) -> list:
    """``[(path, state_or_node), ...]`` in depth-first sorted order, each object once."""
    out: list = []
    append = out.append
    seen: set = set()
    seen_add = seen.add
    info_of = _INFO.get
    want_states = not want_nodes

    def visit(obj: Any, path: Path, info: tuple) -> None:
        if want_nodes and info[1]:
            append((path, obj))
        kind = info[0]
        if kind == _OBJ and not info[3] and not info[2]:  # the common case, inlined: a plain __dict__
            source = obj.__dict__
            try:
                keys = sorted(source)
            except TypeError:
                keys = _sorted_keys(source)
        else:
            source, keys = _children(obj, info)
        flat = kind == _FLAT
        for key in keys:
            child = source[key]
            cinfo = info_of(type(child)) or _classify(type(child))
            ckind = cinfo[0]
            if ckind == _LEAF or id(child) in seen:
                continue
            if (type(child) is tuple or type(child) is list) and all(type(e) in _SCALARS for e in child):
                continue  # a sequence of plain numbers or strings (a shape, say) cannot hold a State
            seen_add(id(child))
            cpath = path + _as_path(key) if flat else path + (key,)
            if ckind == _STATE:
                if want_states:
                    append((cpath, child))
            else:
                visit(child, cpath, cinfo)

    info = info_of(type(root)) or _classify(type(root))
    seen_add(id(root))
    if info[0] == _STATE:
        if want_states:
            append(((), root))
    elif info[0] != _LEAF:
        visit(root, (), info)
    return out


def _result(pairs: list, filters: tuple) -> Result:
    groups = [FlattedDict(g) for g in partition(pairs, filters)]
    return groups[0] if len(groups) == 1 else tuple(groups)


@overload
def states(obj: Any, filter: FilterLike = ..., /) -> FlattedDict: ...
@overload
def states(obj: Any, first: FilterLike, second: FilterLike, /, *rest: FilterLike) -> tuple[FlattedDict, ...]: ...
def states(obj: Any, *filters: FilterLike) -> Result:
    """The States reachable from ``obj``, keyed by path, sorted by path, each State once.

    Args:
        obj: any object tree (see the module docstring for what is searched).
        *filters: with none or one filter, a single ``FlattedDict`` is returned; with several, a
            tuple with one ``FlattedDict`` per filter, each State going to the first filter it
            matches (States matching none are left out; end with ``...`` to collect the rest).

    Returns:
        A ``FlattedDict`` ``path -> State``, or a tuple of them.

    Example:
        >>> import brainstate_core as bc, jax.numpy as jnp
        >>> from brainstate_core import graph
        >>> w, h = bc.ParamState(jnp.ones(2)), bc.State(jnp.zeros(2))
        >>> tree = {'layers': [{'w': w}, {'w': w, 'h': h}]}
        >>> graph.states(tree)
        FlattedDict({('layers', 0, 'w'): ParamState(f32[2]), ('layers', 1, 'h'): State(f32[2])})
        >>> params, rest = graph.states(tree, bc.ParamState, ...)
        >>> list(params), list(rest)
        ([('layers', 0, 'w')], [('layers', 1, 'h')])
    """
    return _result(_collect(obj, False), filters)


@overload
def nodes(obj: Any, filter: FilterLike = ..., /) -> FlattedDict: ...
@overload
def nodes(obj: Any, first: FilterLike, second: FilterLike, /, *rest: FilterLike) -> tuple[FlattedDict, ...]: ...
def nodes(obj: Any, *filters: FilterLike) -> Result:
    """The :class:`Node` objects reachable from ``obj`` (``obj`` itself under ``()``), by path.

    Filters work as in :func:`states`.

    Example:
        >>> from brainstate_core import graph
        >>> from brainstate_core._node import Node
        >>> class Cell(Node):
        ...     pass
        >>> class Net(Node):
        ...     def __init__(self):
        ...         self.cells = [Cell(), Cell()]
        >>> list(graph.nodes(Net())), list(graph.nodes(Net(), Cell))
        ([(), ('cells', 0), ('cells', 1)], [('cells', 0), ('cells', 1)])
    """
    return _result(_collect(obj, True), filters)


class _Identity:
    """Compares by identity: stands for an unhashable leaf in a :class:`GraphDef` signature."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __eq__(self, other: object) -> bool:
        return type(other) is _Identity and other.obj is self.obj

    def __hash__(self) -> int:
        return id(self.obj)


def _frozen(x: Any) -> Any:
    try:
        hash(x)
    except Exception:
        return _Identity(x)
    return x


def _walk_full(root: Any) -> tuple[list, list, list, list]:
    """States ``(path, state)``, the leaves to share when copying, the structural signature, and
    ``(node, impl)`` for the nodes of registered types."""
    found: list = []
    shared: list = []
    registered: list = []
    signature: list = []
    index: dict[int, int] = {}
    info_of = _INFO.get

    def visit(obj: Any, path: Path) -> None:
        tp = type(obj)
        info = info_of(tp) or _classify(tp)
        kind = info[0]
        if kind == _LEAF:
            if info[1]:
                shared.append(obj)
            signature.append((tp, _frozen(obj)))
            return
        first = index.get(id(obj))
        if first is not None:
            signature.append(("ref", first))
            return
        index[id(obj)] = len(index)
        if kind == _STATE:
            found.append((path, obj))
            meta = tuple((k, _frozen(v)) for k, v in sorted(obj.metadata.items()))
            signature.append((tp, obj.name, meta))
            return
        source, keys = _children(obj, info)
        if kind == _REG:
            impl = REGISTRY[tp]
            registered.append((obj, impl))
            signature.append((tp, tuple(keys), _frozen(impl.flatten(obj)[1])))
        else:
            signature.append((tp, tuple(keys)))
        flat = kind == _FLAT
        for key in keys:
            visit(source[key], path + _as_path(key) if flat else path + (key,))

    visit(root, ())
    return found, shared, signature, registered


def _template_state(state: State) -> State:
    """A value-less copy of ``state`` (type, name, metadata, creation site, extra attributes)."""
    template = copy.copy(state)
    template._value = None
    template._metadata = dict(state.metadata)
    return template


def _fresh_state(template: State, value: Any) -> State:
    """A new State like ``template`` holding ``value``, created as if by its constructor."""
    new = copy.copy(template)
    State.__init__(new, value, template.name, **template.metadata)
    new._source = template._source
    return new


class GraphDef:
    """The structure of an object graph, without its state values: half of :func:`treefy_split`.

    It holds a private structural copy of the object whose States are value-less templates, the
    state paths (:attr:`paths`), and a signature of the structure: the type and keys of every
    searched object, the type, name and metadata of every State, and the leaves (hashable ones by
    value, others, such as arrays, by identity). Two GraphDefs are equal, and hash equally,
    when their signatures are equal, so a GraphDef can be a static argument or a cache key.

    A GraphDef made inside a ``split_context`` may refer to States that an earlier split of the
    same context owns; it can then only be merged inside a ``merge_context``, after that one.

    Example:
        >>> import brainstate_core as bc, jax.numpy as jnp
        >>> from brainstate_core import graph
        >>> model = {'w': bc.ParamState(jnp.ones(2))}
        >>> graph.graphdef(model) == graph.graphdef({'w': bc.ParamState(jnp.zeros(2))}), graph.graphdef(model).type
        (True, <class 'dict'>)
    """

    __slots__ = ("_template", "_paths", "_states", "_indices", "_refs", "_shared", "_registered", "_signature",
                 "_hash")

    def __init__(self, template: Any, owned: list, refs: tuple, shared: tuple, registered: tuple, signature: tuple):
        self._template = template
        self._registered = registered  # ((node, impl), ...) of the template's registered-type nodes
        self._paths = tuple(path for path, _, _ in owned)
        self._states = tuple(state for _, state, _ in owned)
        self._indices = tuple(index for _, _, index in owned)
        self._refs = refs  # ((index, template), ...) of States owned by an earlier split of the context
        self._shared = shared
        self._signature = signature
        self._hash = hash(signature)

    @property
    def paths(self) -> tuple[Path, ...]:
        """The paths of all States of the graph, in sorted order."""
        return self._paths

    @property
    def type(self) -> type:
        """The type of the root object."""
        return type(self._template)

    @property
    def root(self) -> Any:
        """The edge of the root object (a ``NodeEdge``, ``PytreeEdge``, ``StateEdge``, ...)."""
        return self._parts()[0]

    @property
    def node_specs(self) -> tuple:
        """One ``NodeSpec`` per graph node, by index (see ``brainstate.graph.NodeSpec``)."""
        return self._parts()[1]

    def _parts(self) -> tuple:
        from ._graphdef_parts import describe

        return describe(self._template, self._states, self._indices, self._refs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GraphDef) and self._hash == other._hash and self._signature == other._signature

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"GraphDef({type(self._template).__qualname__}, {len(self._paths)} states)"


def _split(obj: Any, memo: dict | None = None, ref_index: Any = None) -> tuple[GraphDef, list]:
    """``(graphdef, [(path, state), ...])`` of the States ``obj`` owns (see :class:`GraphDef`).

    Inside a split context, ``memo`` (original object id -> structural copy) and ``ref_index``
    (State -> index) persist across calls: a State met again is a reference, not an owned state.
    """
    found, shared, signature, registered = _walk_full(obj)
    if memo is None:
        memo = {}
    for x in shared:
        memo[id(x)] = x
    owned, pairs, refs = [], [], []
    for path, state in found:
        template = memo.get(id(state))
        if template is None:
            memo[id(state)] = template = _template_state(state)
            index = len(owned) if ref_index is None else ref_index.setdefault(state, len(ref_index))
            owned.append((path, template, index))
            pairs.append((path, state))
        else:  # split before in this split_context (memo only persists there, and ref_index is given)
            assert ref_index is not None
            refs.append((ref_index[state], template))
    template_obj = copy_graph(obj, memo, registered)
    templates = tuple((memo[id(node)], impl) for node, impl in registered)
    return GraphDef(template_obj, owned, tuple(refs), tuple(shared), templates, tuple(signature)), pairs


def _merge(graphdef: GraphDef, values: tuple, memo: dict | None = None, index_ref: dict | None = None) -> Any:
    """Rebuild ``graphdef`` with ``values``; inside a merge context ``memo`` and ``index_ref`` persist."""
    from ._treefy import TreefyState

    if not isinstance(graphdef, GraphDef):
        raise StateArgumentError(
            f"Expected a GraphDef (from graph.treefy_split or graph.flatten), got {type(graphdef).__name__}. "
            "Fix: pass the graphdef first, then the state mappings."
        )
    given: dict = {}
    for v in values:
        given.update(_as_flat(v))
    known = set(graphdef._paths)
    problems = [f"  {p}: unknown path, the graph has no state there" for p in given if p not in known]
    problems += [f"  {p}: missing, no value was given" for p in graphdef._paths if p not in given]
    if problems:
        raise StateShapeError(
            f"Cannot merge values into {graphdef!r}:\n" + "\n".join(problems) + "\nFix: pass all the value "
            "dicts that treefy_split returned (split with `...` as the last filter to keep every state)."
        )
    if memo is None:
        memo = {}
    missing = [index for index, template in graphdef._refs if id(template) not in memo]
    if missing:
        raise StateUsageError(
            f"{graphdef!r} refers to States (indices {missing}) that another object split in the same "
            "split_context owns. Fix: merge it inside a merge_context, after the graphdef that owns them."
        )
    if graphdef._states and id(graphdef._states[0]) in memo:
        raise StateUsageError(f"{graphdef!r} was already merged in this merge_context. Fix: merge it once.")
    for x in graphdef._shared:
        memo[id(x)] = x
    for path, template, index in zip(graphdef._paths, graphdef._states, graphdef._indices):
        value = given[path]
        if isinstance(value, State):
            new = value
        else:
            new = _fresh_state(template, value.value if isinstance(value, TreefyState) else value)
        memo[id(template)] = new
        if index_ref is not None:
            index_ref[index] = new
    return copy_graph(graphdef._template, memo, graphdef._registered)


def treefy_split(obj: Any, *filters: FilterLike) -> tuple:
    """Split ``obj`` into its structure and its state values.

    Args:
        obj: any object tree.
        *filters: as in :func:`states`, applied to the States; one ``FlattedDict`` of values is
            returned per filter (one in all without filters).

    Returns:
        ``(graphdef, values)`` or ``(graphdef, values_1, ..., values_n)``, where each ``values`` is
        a ``FlattedDict`` ``path -> state.value`` (a pytree of arrays).

    Example:
        >>> import brainstate_core as bc, jax.numpy as jnp
        >>> from brainstate_core import graph
        >>> model = {'w': bc.ParamState(jnp.ones(2)), 'n': bc.State(jnp.zeros(()))}
        >>> graphdef, params, rest = graph.treefy_split(model, bc.ParamState, ...)
        >>> graphdef, params
        (GraphDef(dict, 2 states), FlattedDict({('w',): Array([1., 1.], dtype=float32)}))
        >>> copy = graph.treefy_merge(graphdef, params, rest)
        >>> copy['w'] is model['w'], copy['w'].value is model['w'].value
        (False, True)
    """
    graphdef, found = _split(obj)
    return (graphdef, *_values(found, filters))


def treefy_merge(graphdef: GraphDef, *values: Mapping) -> Any:
    """A new object with the structure of ``graphdef`` and fresh States holding ``values``.

    The result is independent of the object that was split: new containers, new objects, new
    States (of the same types, names, metadata and creation sites). Values, JAX arrays and
    modules are shared, not copied; other leaves, NumPy arrays included, are deep-copied.
    It works inside raw ``jax.jit`` / ``jax.grad`` / ``jax.vmap``: the new States belong to that
    trace and may hold its tracers.

    Args:
        graphdef: from :func:`treefy_split`.
        *values: ``FlattedDict`` (or :class:`NestedDict`) ``path -> value`` mappings that together
            give one value per state path of ``graphdef``. Shapes are not checked, so values of a
            different shape (say, stacked) may be given. A ``TreefyState`` gives its value (the
            graphdef fixes the state's type, name and metadata); a ``State`` is used as it is.

    Raises:
        StateShapeError: a path is given that is not in ``graphdef``, or a path has no value.
        StateUsageError: ``graphdef`` came from a ``split_context`` and needs a ``merge_context``.

    Example:
        >>> import jax, jax.numpy as jnp, brainstate_core as bc
        >>> from brainstate_core import graph
        >>> graphdef, params = graph.treefy_split({'w': bc.ParamState(jnp.ones(2))})
        >>> def loss(params):
        ...     model = graph.treefy_merge(graphdef, params)
        ...     return (model['w'].value ** 2).sum()
        >>> jax.grad(loss)(params)
        FlattedDict({('w',): Array([2., 2.], dtype=float32)})
    """
    return _merge(graphdef, values)


def update_states(obj: Any, *values: Mapping) -> None:
    """Write ``values`` (``path -> value`` mappings, e.g. from :func:`treefy_split`) into the
    States of ``obj`` in place. Values may cover only some of the states.

    Every path, structure, shape and dtype is checked before anything is written: on any
    problem one :class:`StateShapeError` lists them all and no state changes.

    Example:
        >>> import brainstate_core as bc, jax.numpy as jnp
        >>> from brainstate_core import graph
        >>> model = [bc.ParamState(jnp.zeros(2)), bc.State(jnp.zeros(()))]
        >>> _, saved = graph.treefy_split(model)
        >>> model[0].value = jnp.ones(2)
        >>> graph.update_states(model, saved)
        >>> model[0].value
        Array([0., 0.], dtype=float32)
    """
    given: dict = {}
    for v in values:
        given.update(_as_flat(v))
    FlattedDict(_collect(obj, False)).assign_values(given, strict=False)


def clone(obj: Any) -> Any:
    """An independent copy of ``obj``: writing to the copy's States leaves ``obj``'s unchanged.

    Equivalent to ``treefy_merge(*treefy_split(obj))`` in one pass: values, JAX arrays and
    modules are shared (they are immutable), other leaves are deep-copied.

    Example:
        >>> import brainstate_core as bc, jax.numpy as jnp
        >>> from brainstate_core import graph
        >>> model = {'w': bc.ParamState(jnp.zeros(2))}
        >>> twin = graph.clone(model)
        >>> twin['w'].value = jnp.ones(2)
        >>> model['w'].value
        Array([0., 0.], dtype=float32)
    """
    found, shared, _, registered = _walk_full(obj)
    memo = {id(x): x for x in shared}
    for _, state in found:
        memo[id(state)] = _fresh_state(state, state.value)
    return copy_graph(obj, memo, registered)
