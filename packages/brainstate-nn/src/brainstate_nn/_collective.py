"""Collective operations on a module tree (:func:`call_all_fns`, per vmap lane: :func:`vmap_call_all_fns`,
:func:`vmap_reset_all_states`; :func:`assign_state_values`), wrappers that run a module in an environment
context (:class:`EnvironContext`) or per lane (:class:`Vmap`, :class:`Map`), and the marks of update hooks."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import jax
import jax.numpy as jnp

from brainstate_core import ConfigError, State, StateShapeError, StateUsageError, environ, graph
from brainstate_core.internal import FilterLike, peek

from ._lanes import _batched, _lane_count, _per_lane
from ._module import (
    _IF_NOT_EXIST,
    Module,
    _call_all,
    _check_keywords,
    _exclusion,
    init_all_states,
    reset_all_states,
)

__all__ = [
    "call_order", "call_all_fns", "vmap_call_all_fns", "vmap_reset_all_states", "assign_state_values",
    "EnvironContext", "Vmap", "Map", "receive_update_input", "not_receive_update_input", "receive_update_output",
    "not_receive_update_output",
]

M = TypeVar("M")
F = TypeVar("F")

#: Levels of :func:`call_order` lie in ``[0, MAX_ORDER)`` (unless ``check_order_boundary=False``).
MAX_ORDER = 10


# -- calling a method on every module ----------------------------------------------------------
def call_order(level: int = 0, check_order_boundary: bool = True) -> Callable[[F], F]:
    """Give a method a call level: collective calls run it after the unmarked ones, by increasing level.

    The level is stored in the method's ``call_order`` attribute, read by :func:`call_all_fns`,
    :func:`~brainstate.nn.init_all_states` and :func:`~brainstate.nn.reset_all_states`.

    Args:
        level: the level, in ``[0, MAX_ORDER)``.
        check_order_boundary: ``False`` accepts any integer level.

    Example:
        >>> import brainstate
        >>> log = []
        >>> class Late(brainstate.nn.Module):
        ...     @brainstate.nn.call_order(1)
        ...     def reset_state(self):
        ...         log.append('late')
        >>> class Early(brainstate.nn.Module):
        ...     def __init__(self):
        ...         self.child = Late()
        ...     def reset_state(self):
        ...         log.append('early')
        >>> _ = brainstate.nn.reset_all_states(Early())
        >>> log
        ['early', 'late']
    """
    if isinstance(level, bool) or not isinstance(level, int) or (
            check_order_boundary and not 0 <= level < MAX_ORDER):
        raise ConfigError(f"call_order level must be an integer in [0, {MAX_ORDER}), got {level!r}. Fix: pass a "
                          "level in that range, or check_order_boundary=False.")

    def mark(fn: F) -> F:
        fn.call_order = level  # type: ignore[attr-defined]
        return fn

    return mark


def _call_options(fn_name: Any, args: Any, kwargs: Any, fn_if_not_exist: Any) -> tuple[tuple, dict]:
    if not isinstance(fn_name, str):
        raise ConfigError(f"fn_name must be a method name (a str), got {fn_name!r}. Fix: pass e.g. 'reset_state'.")
    if fn_if_not_exist not in _IF_NOT_EXIST:
        raise ConfigError(f"fn_if_not_exist={fn_if_not_exist!r} is not one of {list(_IF_NOT_EXIST)}. "
                          "Fix: pass 'raise', 'pass' (or 'none') or 'warn'.")
    if kwargs is not None and not isinstance(kwargs, Mapping):
        raise ConfigError(f"kwargs must be a mapping of keyword arguments, got {type(kwargs).__name__}. "
                          "Fix: pass a dict, e.g. kwargs={'batch_size': 2}.")
    return (args if isinstance(args, tuple) else (args,)), dict(kwargs or {})


def call_all_fns(
    target: M,
    fn_name: str,
    args: Sequence[Any] | Any = (),
    kwargs: Mapping[str, Any] | None = None,
    node_to_exclude: FilterLike | None = None,
    fn_if_not_exist: str = "raise",
) -> M:
    """Call ``fn_name(*args, **kwargs)`` on every module of ``target``; returns ``target``.

    Modules are visited children first, root last; methods marked with :func:`call_order` run
    after the unmarked ones, by increasing level. The modules inside a :class:`Map` are left to it.

    Args:
        target: a module (or any object tree holding modules).
        fn_name: the method name.
        args: positional arguments (a value that is not a tuple is one argument).
        kwargs: keyword arguments.
        node_to_exclude: a filter of modules to leave out.
        fn_if_not_exist: for a module without the method: ``'raise'`` (an :class:`InputError` naming
            its path), ``'pass'`` / ``'none'`` (skip it) or ``'warn'`` (skip it with a warning).

    Example:
        >>> import brainstate
        >>> class Greeter(brainstate.nn.Module):
        ...     def hello(self, who):
        ...         print('hello', who)
        >>> net = brainstate.nn.Sequential(Greeter(), brainstate.nn.ReLU())
        >>> _ = brainstate.nn.call_all_fns(net, 'hello', 'you', fn_if_not_exist='pass')
        hello you
    """
    args, kwargs = _call_options(fn_name, args, kwargs, fn_if_not_exist)
    _call_all(target, fn_name, args, kwargs, node_to_exclude, fn_if_not_exist)
    return target


def vmap_call_all_fns(
    target: M,
    fn_name: str,
    args: Sequence[Any] | Any = (),
    kwargs: Mapping[str, Any] | None = None,
    axis_size: int | None = None,
    node_to_exclude: FilterLike | None = None,
    state_tag: str | None = None,
    fn_if_not_exist: str = "raise",
) -> M:
    """:func:`call_all_fns` run once per vmap lane (``axis_size`` lanes); returns ``target``.

    Every lane draws its own random numbers. Afterwards every State the call created or wrote holds
    one entry per lane on axis 0: States made with :meth:`Module.set_state` (or created anew, tagged
    ``state_tag``) and States written with different values per lane. A State of ``target`` that
    already has a leading axis of size ``axis_size`` is taken as batched: each lane reads and writes
    its own entry. A State written with the same value in every lane, without such an axis, keeps one
    value (every lane agrees on it).

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> class Noise(brainstate.nn.Module):
        ...     def reset_state(self):
        ...         self.set_state('x', brainstate.random.randn(2))
        >>> m = brainstate.nn.vmap_call_all_fns(Noise(), 'reset_state', axis_size=3)
        >>> m.x.value.shape, bool(jnp.all(m.x.value[0] != m.x.value[1]))
        ((3, 2), True)
    """
    args, kwargs = _call_options(fn_name, args, kwargs, fn_if_not_exist)
    n = _lane_count(axis_size, "vmap_call_all_fns")
    lanes = _batched(target, n)
    _per_lane(lambda: _call_all(target, fn_name, args, kwargs, node_to_exclude, fn_if_not_exist),
              n, state_tag, {0: lanes} if lanes else {}, "auto")
    return target


def vmap_reset_all_states(target: M, *reset_args: Any, axis_size: int | None = None,
                          node_to_exclude: FilterLike | None = None, exclude: FilterLike | None = None,
                          state_tag: str | None = None, **reset_kwargs: Any) -> M:
    """:func:`~brainstate.nn.reset_all_states` once per vmap lane (see :func:`vmap_call_all_fns`).

    After :func:`~brainstate.nn.vmap_init_all_states` each lane resets its own States, drawing its
    own random numbers. Keywords are checked as by ``reset_all_states``.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> class Noise(brainstate.nn.Module):
        ...     def init_state(self):
        ...         self.set_state('x', jnp.zeros(2))
        ...     def reset_state(self):
        ...         self.x.value = brainstate.random.rand(2)
        >>> m = brainstate.nn.vmap_init_all_states(Noise(), axis_size=4)
        >>> x = brainstate.nn.vmap_reset_all_states(m, axis_size=4).x
        >>> x is m.x, x.value.shape, len(set(x.value[:, 0].tolist()))
        (True, (4, 2), 4)
    """
    exclude = _exclusion("vmap_reset_all_states", exclude, node_to_exclude)
    _check_keywords("vmap_reset_all_states", target, exclude, reset_kwargs)
    return vmap_call_all_fns(target, "reset_state", reset_args, reset_kwargs, axis_size=axis_size,
                             node_to_exclude=exclude, state_tag=state_tag)


# -- assigning values by path ------------------------------------------------------------------
def _path_key(path: Any) -> str:
    return ".".join(str(p) for p in path) if isinstance(path, tuple) else str(path)


def assign_state_values(target: Any, *state_by_abs_path: Mapping[Any, Any]) -> tuple[list, list]:
    """Put values into the States of ``target`` by path; returns ``(unexpected_keys, missing_keys)``.

    Keys are paths as ``target.states()`` gives them (``('layers', 0, 'weight')``) or dotted
    (``'layers.0.weight'``); with several dicts, later ones win. ``unexpected_keys`` are the given
    keys that name no State (as given), ``missing_keys`` the paths of States given no value (as
    tuples), both sorted; neither is an error. A value whose structure or shapes differ from the
    State's raises :class:`StateShapeError` naming the path, and then no State is changed.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> net = brainstate.nn.Sequential(brainstate.nn.Linear(2, 3), brainstate.nn.Linear(3, 1))
        >>> saved = {'.'.join(map(str, p)): s.value for p, s in net.states().items()}
        >>> del saved['layers.1.weight']
        >>> saved['layers.7.weight'] = jnp.ones(1)
        >>> brainstate.nn.assign_state_values(net, saved)
        (['layers.7.weight'], [('layers', 1, 'weight')])
    """
    given: dict[str, tuple[Any, Any]] = {}
    for mapping in state_by_abs_path:
        if not isinstance(mapping, Mapping):
            raise ConfigError(f"assign_state_values() takes dicts of path -> value, got {type(mapping).__name__}. "
                              "Fix: pass e.g. {'layer.weight': array}.")
        for key, value in mapping.items():
            given[_path_key(key)] = (key, value)
    states = {_path_key(p): (p, s) for p, s in graph.states(target).items()}
    updates = []
    for name in sorted(set(given) & set(states)):
        path, state = states[name]
        value = jax.tree.map(jnp.asarray, given[name][1])
        current = peek(state)
        same_tree = jax.tree.structure(value) == jax.tree.structure(current)
        if not same_tree or any(jnp.shape(a) != jnp.shape(b) for a, b in zip(jax.tree.leaves(value),
                                                                              jax.tree.leaves(current))):
            shapes = lambda v: jax.tree.map(jnp.shape, v)  # noqa: E731
            raise StateShapeError(f"assign_state_values(): the value for {name!r} has shape {shapes(value)}, but the "
                                  f"State there holds {shapes(current)}. Fix: pass a value of the State's structure "
                                  "and shape (or re-initialise the model to the saved shapes first).")
        updates.append((state, value))
    for state, value in updates:
        state.value = value
    unexpected = sorted((given[k][0] for k in set(given) - set(states)), key=_path_key)
    missing = sorted((states[k][0] for k in set(states) - set(given)), key=_path_key)
    return unexpected, missing


# -- wrappers ----------------------------------------------------------------------------------
class EnvironContext(Module):
    """Run ``layer`` inside ``brainstate.environ.context(**context)``.

    ``update(..., context={...})`` adds settings for one call, overriding the stored ones (upstream
    refuses a key given in both; here the call's value wins).

    Args:
        layer: the module to run.
        **context: the environment settings (``dt``, ``fit``, ``precision``, any named value).

    Example:
        >>> import brainstate
        >>> class Probe(brainstate.nn.Module):
        ...     def update(self):
        ...         return brainstate.environ.get('fit'), brainstate.environ.get_dt()
        >>> wrapped = brainstate.nn.EnvironContext(Probe(), fit=True, dt=0.1)
        >>> wrapped(), wrapped(context={'dt': 0.5})
        ((True, 0.1), (True, 0.5))
    """

    def __init__(self, layer: Module, **context: Any) -> None:
        super().__init__()
        if not isinstance(layer, Module):
            raise ConfigError(f"EnvironContext wraps a brainstate.nn.Module, got {type(layer).__name__}. "
                              "Fix: pass a module (wrap a function in a Module subclass).")
        environ.context(**context)  # refuses process-wide keys and bad precisions now, not at the first call
        self.layer = layer
        self.context = dict(context)

    def update(self, *args: Any, context: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        with environ.context(**{**self.context, **(context or {})}):
            return self.layer(*args, **kwargs)

    def add_context(self, **context: Any) -> None:
        """Store more environment settings (overriding those of the same name)."""
        environ.context(**context)
        self.context.update(context)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.context.items())


def _axes_of(spec: Any, what: str) -> dict[int, list]:
    """``None``, a filter, ``{axis: filter}`` or upstream's ``{filter: axis}`` -> ``{axis: [filters]}``."""
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        return {0: [spec]}
    out: dict[int, list] = {}
    for key, value in spec.items():
        axis, filt = (key, value) if isinstance(key, int) and not isinstance(key, bool) else (value, key)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ConfigError(f"{what} maps axes to state filters, got the entry {key!r}: {value!r}. "
                              "Fix: pass {axis: filter}, e.g. {0: brainstate.HiddenState}.")
        out.setdefault(axis, []).append(filt)
    return out


class _ModuleStates:
    """A vmap state filter: the States of ``module`` matching ``filters`` (at the last :meth:`refresh`)."""

    def __init__(self, module: Module, filters: list) -> None:
        self.module, self.filters, self.ids = module, [graph.to_predicate(f) for f in filters], frozenset()

    def refresh(self) -> None:
        found = graph.states(self.module)
        self.ids = frozenset(id(s) for p, s in found.items() if any(f(p, s) for f in self.filters))

    def __call__(self, path: Any, state: Any) -> bool:
        return id(state) in self.ids


class Vmap(Module):
    """Run ``module`` under :func:`brainstate.transform.vmap`: ``Vmap(m)(xs)`` maps ``m`` over ``xs``.

    States of ``module`` matched by ``vmap_states`` are batched (sliced per lane, stacked back);
    the filters are applied to the module's States at every call, so States made by
    ``init_all_states`` after wrapping count. Other States are shared by the lanes.

    Args:
        module: the module to vectorise.
        in_axes, out_axes, axis_name, axis_size: as for ``brainstate.transform.vmap``.
        vmap_states: batched States: a filter (axis 0), or ``{axis: filter}`` (upstream's
            ``{filter: axis}`` is accepted too).
        vmap_out_states: States whose per-lane writes are stacked (same forms).

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> lin = brainstate.nn.Linear(3, 2)
        >>> xs = jnp.ones((5, 3))
        >>> out = brainstate.nn.Vmap(lin)(xs)
        >>> out.shape, bool(jnp.allclose(out, jnp.stack([lin(x) for x in xs])))
        ((5, 2), True)
    """

    def __init__(self, module: Module, in_axes: Any = 0, out_axes: Any = 0, vmap_states: Any = None,
                 vmap_out_states: Any = None, axis_name: Any = None, axis_size: int | None = None) -> None:
        from brainstate_transform import vmap

        super().__init__()
        if not isinstance(module, Module):
            raise ConfigError(f"Vmap wraps a brainstate.nn.Module, got {type(module).__name__}. Fix: pass a module.")
        self.module = module
        self.in_axes, self.out_axes, self.axis_name, self.axis_size = in_axes, out_axes, axis_name, axis_size
        self._selected = []
        decl = []
        for spec, what in ((vmap_states, "vmap_states"), (vmap_out_states, "vmap_out_states")):
            axes = {ax: _ModuleStates(module, filters) for ax, filters in _axes_of(spec, what).items()}
            self._selected.extend(axes.values())
            decl.append(axes or None)
        self._vmapped = vmap(lambda *a, **k: module(*a, **k), in_axes=in_axes, out_axes=out_axes,
                             in_states=decl[0], out_states=decl[1], axis_name=axis_name, axis_size=axis_size)

    def update(self, *args: Any, **kwargs: Any) -> Any:
        for selected in self._selected:
            selected.refresh()
        return self._vmapped(*args, **kwargs)


class Map(Module):
    """Make ``init_map_size`` copies of ``module``'s States and run it on them in parallel lanes.

    ``init_all_states(map)`` (or ``map.init_all_states(...)``) runs the module's ``init_state`` once
    per lane, so every State it makes gets a lane axis and every lane its own random draws;
    ``reset_all_states`` resets per lane too. ``map(x)`` then runs the module under
    ``brainstate.transform.vmap`` (``behavior='pmap'``: over devices), each lane with its States.

    Args:
        module: the module.
        init_map_size: the number of lanes.
        init_state_axes: ``{axis: filter}``: put the matching lane States' lane axis there (default 0).
        state_tag: tag of the States made per lane.
        in_axes, out_axes, axis_name, spmd_axis_name: of the mapping of calls.
        call_state_axes: ``{axis: filter}``: other States batched in calls.
        behavior: ``'vmap'`` or ``'pmap'``.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> class Walk(brainstate.nn.Module):
        ...     def init_state(self):
        ...         self.pos = brainstate.HiddenState(brainstate.random.randn(2))
        ...     def update(self, step):
        ...         self.pos.value = self.pos.value + step
        ...         return self.pos.value
        >>> walkers = brainstate.nn.init_all_states(brainstate.nn.Map(Walk(), init_map_size=3))
        >>> walkers(jnp.ones((3, 2))).shape, walkers.module.pos.value.shape
        ((3, 2), (3, 2))
    """

    _calls_children = True  # init_all_states / reset_all_states reach the module through this Map, per lane
    _graph_skip = ("_lanes",)

    def __init__(self, module: Module, init_map_size: int, init_state_axes: Mapping[int, Any] | None = None,
                 state_tag: str | None = None, in_axes: Any = 0, out_axes: Any = 0, axis_name: Any = None,
                 spmd_axis_name: Any = None, call_state_axes: Mapping[int, Any] | None = None,
                 behavior: str = "vmap") -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise ConfigError(f"Map wraps a brainstate.nn.Module, got {type(module).__name__}. Fix: pass a module.")
        if behavior not in ("vmap", "pmap"):
            raise ConfigError(f"Map behavior={behavior!r} is not 'vmap' or 'pmap'. Fix: pass one of them.")
        self.module = module
        self.init_map_size = _lane_count(init_map_size, "Map", "init_map_size")
        self.init_state_axes = _axes_of(init_state_axes, "init_state_axes")
        self.call_state_axes = _axes_of(call_state_axes, "call_state_axes")
        self.state_tag, self.behavior = state_tag, behavior
        self.in_axes, self.out_axes, self.axis_name, self.spmd_axis_name = in_axes, out_axes, axis_name, spmd_axis_name
        self._lanes: dict[int, list[State]] | None = None
        self._mapped: Callable | None = None

    @property
    def dict_vmap_states(self) -> dict[int, list[State]] | None:
        """The per-lane States by the axis of their lane index (``None`` before initialisation)."""
        return None if self._lanes is None else {ax: list(states) for ax, states in self._lanes.items()}

    def _run_lanes(self, collective: Callable, args: tuple, kwargs: dict) -> None:
        previous = self._lanes or {}
        made = _per_lane(lambda: collective(self.module, *args, **kwargs), self.init_map_size, self.state_tag,
                         previous, "raise", self.behavior, self.axis_name, self.spmd_axis_name)
        paths = {id(s): p for p, s in graph.states(self.module).items()}
        remade = {id(s) for s in made}  # kept below: the earlier lane States still in the module, not re-made
        lanes = {ax: [s for s in states if id(s) not in remade and id(s) in paths] for ax, states in previous.items()}
        for state in made:
            path = paths.get(id(state), ())
            axis = next((ax for ax, filters in self.init_state_axes.items()
                         if any(graph.to_predicate(f)(path, state) for f in filters)), 0)
            if axis != 0:
                state.restore_value(jax.tree.map(lambda v, a=axis: jnp.moveaxis(v, 0, a), peek(state)))
            lanes.setdefault(axis, []).append(state)
        self._lanes = {ax: states for ax, states in lanes.items() if states}
        self._mapped = None

    def init_state(self, *args: Any, **kwargs: Any) -> None:
        """Run ``init_all_states(module, *args, **kwargs)`` once per lane."""
        self._run_lanes(init_all_states, args, kwargs)

    def reset_state(self, *args: Any, **kwargs: Any) -> None:
        """Run ``reset_all_states(module, *args, **kwargs)`` once per lane, each lane on its States."""
        self._run_lanes(reset_all_states, args, kwargs)

    def map(self, fn: str | Callable, in_axes: Any = 0, out_axes: Any = 0, axis_name: Any = None,
            state_axes: Mapping[int, Any] | None = None) -> Callable:
        """``fn`` (a method name of the module, or a function) mapped over the lanes, with their States.

        ``state_axes`` (``{axis: filter}``) batches further States; ``axis_name`` defaults to the Map's.
        """
        if self._lanes is None:
            raise StateUsageError("Map has no per-lane States yet. Fix: call brainstate.nn.init_all_states(map) "
                                  "(or map.init_all_states(...)) before running it.")
        if isinstance(fn, str):
            method = getattr(self.module, fn, None)
            if not callable(method):
                raise ConfigError(f"{type(self.module).__name__} has no method {fn!r}. Fix: pass a method name "
                                  "or a function.")
            fn = method
        axes: dict[int, list] = {ax: list(states) for ax, states in self._lanes.items()}
        for ax, filters in _axes_of(state_axes, "state_axes").items():
            axes.setdefault(ax, []).extend(filters)
        from brainstate_transform import pmap2, vmap2

        options = dict(in_axes=in_axes, out_axes=out_axes, state_in_axes=axes, state_out_axes=axes)
        name = self.axis_name if axis_name is None else axis_name
        if self.behavior == "pmap":
            return pmap2(fn, name, **options)
        return vmap2(fn, axis_name=name, spmd_axis_name=self.spmd_axis_name, **options)

    def update(self, *args: Any, **kwargs: Any) -> Any:
        if self._mapped is None:
            self._mapped = self.map(lambda *a, **k: self.module(*a, **k), self.in_axes, self.out_axes,
                                    state_axes=self.call_state_axes)
        return self._mapped(*args, **kwargs)


# -- marks for the update hooks of Dynamics ------------------------------------------------------
def _mark(obj: F, attr: str, value: bool, name: str) -> F:
    try:
        setattr(obj, attr, value)
    except (AttributeError, TypeError):
        raise ConfigError(f"{name}() cannot mark {obj!r}: it takes no attributes. Fix: mark a function, a module "
                          "or a class (for a bound method, mark the function it wraps).") from None
    return obj


_HOOK_DOC = """Mark ``obj`` (a function, module or class; returned) as a hook that {what}.

    Upstream's Dynamics calls its before-update hooks with no arguments unless marked with
    ``receive_update_input`` (then with the arguments of ``update``), and its after-update hooks with
    the output of ``update`` unless marked with ``not_receive_update_output`` (then with none). The
    mark is the bool attribute ``{attr}`` (``{attr} = {value}``); an unmarked object counts as
    ``{attr} = {default}``. A class mark is inherited, and a subclass can be marked the other way.
    This package's ``Dynamics.add_before_update`` hooks are called with no arguments.

    Example:
        >>> import brainstate
        >>> @brainstate.nn.{name}
        ... def hook(*args):
        ...     pass
        >>> hook.{attr}
        {value}
    """


def receive_update_input(obj: F) -> F:
    return _mark(obj, "_receive_update_input", True, "receive_update_input")


def not_receive_update_input(obj: F) -> F:
    return _mark(obj, "_receive_update_input", False, "not_receive_update_input")


def receive_update_output(obj: F) -> F:
    return _mark(obj, "_receive_update_output", True, "receive_update_output")


def not_receive_update_output(obj: F) -> F:
    return _mark(obj, "_receive_update_output", False, "not_receive_update_output")


for _fn, _what, _attr, _value, _default in (
    (receive_update_input, "is called with the inputs of ``update``", "_receive_update_input", True, False),
    (not_receive_update_input, "is called with no arguments", "_receive_update_input", False, False),
    (receive_update_output, "is called with the output of ``update``", "_receive_update_output", True, True),
    (not_receive_update_output, "is called with no arguments", "_receive_update_output", False, True),
):
    _fn.__doc__ = _HOOK_DOC.format(what=_what, attr=_attr, value=_value, default=_default, name=_fn.__name__)
del _fn, _what, _attr, _value, _default
