"""Vectorisation over States: vmap and vmap_new_states (pmap, built on the same class, is in _pmap.py)."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any, overload

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_core import BatchAxisError, State, StateUsageError, catch_new_states
from brainstate_core.internal import (
    contains_tracer,
    peek,
    read_values,
    read_without_hooks,
    to_predicate,
    write_without_hooks,
)

from ._stateful import Known, StatefulFunction, boundary
from ._util import fun_name, is_state

__all__ = ["vmap", "vmap_new_states", "VmapFunction"]

# The axis name of a vmap given none. One name for all: the axis environment is part of the key of JAX's
# tracing caches, so a fresh name per vmap object would retrace every jitted function called inside it.
# Nested vmaps may share it; each one's lanes are told apart by the innermost binding, its own.
_DEFAULT_AXIS = "_brainstate_vmap"


def _parse_declaration(decl: Any, axis: int = 0) -> tuple[dict[State, int], list[tuple[Callable, int]]]:
    """``in_states`` / ``out_states`` -> (explicit {state: axis}, [(filter predicate, axis)])."""
    explicit: dict[State, int] = {}
    filters: list[tuple[Callable, int]] = []
    if decl is None:
        return explicit, filters
    if isinstance(decl, State):
        explicit[decl] = axis
    elif isinstance(decl, dict):
        for key, value in decl.items():
            # {axis: states} gives an axis; {name: state} and path-keyed mappings keep the current one.
            sub_axis = key if isinstance(key, int) and not isinstance(key, bool) else axis
            e, f = _parse_declaration(value, sub_axis)
            explicit.update(e)
            filters.extend(f)
    elif isinstance(decl, (list, tuple)):
        for value in decl:
            e, f = _parse_declaration(value, axis)
            explicit.update(e)
            filters.extend(f)
    else:
        filters.append((to_predicate(decl), axis))
    return explicit, filters


def _resolve(decl: tuple[dict[State, int], list], states: Sequence[State]) -> dict[State, int]:
    explicit, filters = decl
    resolved = dict(explicit)
    for state in states:
        if state not in resolved:
            for predicate, axis in filters:
                if predicate((), state):
                    resolved[state] = axis
                    break
    return resolved


def _axis_size(in_axes: Any, args: tuple, declared: dict[State, int], axis_size: int | None) -> int:
    """The size of the mapped axis; a declared state that disagrees is named in the error."""
    sizes = {axis_size} if axis_size is not None else set()
    axes = in_axes if isinstance(in_axes, (tuple, list)) else (in_axes,) * len(args)
    for ax, arg in zip(axes, args):
        for a, leaf in _pair_axes(ax, arg):
            if a is not None:
                sizes.add(jnp.shape(leaf)[a])
    if len(sizes) > 1:
        raise BatchAxisError(f"vmap got inconsistent sizes {sorted(sizes)} for the mapped axes of the arguments.")
    for state, ax in declared.items():
        for leaf in jax.tree.leaves(read_without_hooks(state)):
            shape = jnp.shape(leaf)
            size = shape[ax] if -len(shape) <= ax < len(shape) else None
            if size is None or (sizes and size not in sizes):
                expected = f"size {next(iter(sizes))}" if sizes else "a mapped axis"
                raise BatchAxisError(
                    f"{state!r} (created at {state.source_info}) is declared batched on axis {ax}, but its value "
                    f"has shape {tuple(shape)} where the arguments need {expected} on that axis. Fix: give the "
                    "state one entry per vmap lane on that axis (for example with vmap_new_states), declare "
                    "another axis, or leave the state undeclared so that every lane shares it."
                )
            sizes.add(size)
    if not sizes:
        raise StateUsageError("vmap needs at least one mapped argument or declared state, or `axis_size=`.")
    return sizes.pop()


def _pair_axes(ax: Any, arg: Any) -> list[tuple[int | None, Any]]:
    """Pair each leaf of ``arg`` with its axis from the prefix tree ``ax``."""
    if ax is None or isinstance(ax, int):
        return [(ax, leaf) for leaf in jax.tree.leaves(arg)]
    is_none = lambda a: a is None  # noqa: E731
    subtrees = jax.tree.structure(ax, is_leaf=is_none).flatten_up_to(arg)
    return [pair for sub_ax, sub in zip(jax.tree.leaves(ax, is_leaf=is_none), subtrees) for pair in _pair_axes(sub_ax, sub)]


def _is_batched(value: Any, reference: Any) -> bool:
    trace = getattr(reference, "_trace", None)
    return any(
        getattr(leaf, "_trace", None) is trace and getattr(leaf, "batch_dim", 0) is not None
        for leaf in jax.tree.leaves(value)
    )


class VmapFunction:
    """A vectorised stateful function (what :func:`vmap` and :func:`pmap` return)."""

    def __init__(self, fun, in_axes, out_axes, axis_name, axis_size, in_states, out_states, mapper, **mapper_kwargs):
        functools.update_wrapper(self, fun)
        self._sf = StatefulFunction(fun)
        self.in_axes, self.out_axes, self.axis_size = in_axes, out_axes, axis_size
        self.axis_name = axis_name if axis_name is not None else _DEFAULT_AXIS
        self._in_decl = _parse_declaration(in_states)
        self._out_decl = _parse_declaration(out_states)
        self._mapper = functools.partial(mapper, **mapper_kwargs)
        self._kind = "vmap" if mapper is jax.vmap else "pmap"
        self._undeclared = "raise"  # what to do with undeclared per-lane writes (see StatefulMapping)

    def __repr__(self) -> str:
        return f"brainstate.transform.{self._kind}({fun_name(self._sf.fun)}, in_axes={self.in_axes!r})"

    def _lane_writes(self, new: dict[int, Any], out_index: dict[int, int], states: list[State], n: int):
        """Sort the lanes' writes: declared (stacked on their axis), batched, and equal in every lane."""
        declared, batched, unbatched = {}, {}, {}
        reference = jax.lax.axis_index(self.axis_name) if new else None
        for i, v in new.items():
            if i in out_index:
                declared[i] = v
            elif self._kind == "pmap" or _is_batched(v, reference):  # pmap lanes are told apart afterwards
                if self._kind == "vmap" and type(states[i]).from_lanes is State.from_lanes and self._undeclared == "raise":
                    states[i].from_lanes(v, True, n)  # raises BatchAxisError, naming the state
                batched[i] = v
            else:
                unbatched[i] = v
        return declared, batched, unbatched

    def _attempt(self, known: Known, args: tuple, kwargs: dict):
        declared_in = _resolve(self._in_decl, known.states)
        declared_out = _resolve(self._out_decl, known.states)
        for state, axis in declared_in.items():
            declared_out.setdefault(state, axis)
        n = _axis_size(self.in_axes, args, declared_in, self.axis_size)
        din = list(declared_in)
        others = [s for s in known.states if s not in declared_in]
        states = din + others
        out_index = {i: declared_out[s] for i, s in enumerate(states) if s in declared_out}
        snapshot = [peek(s) for s in states]
        pure = self._sf._pure(known, states)
        try:
            lanes = [s.to_lanes(n) for s in others]

            def per_lane(din_values, other_values, kw, *a):
                values = list(din_values) + list(other_values)
                out, new = pure(values, a, kw)
                declared, batched, unbatched = self._lane_writes(new, out_index, states, n)
                declared.update({i: values[i] for i in out_index if i not in declared})
                return out, declared, batched, unbatched

            user_axes = tuple(self.in_axes) if isinstance(self.in_axes, (tuple, list)) else (self.in_axes,) * len(args)
            in_axes = ([declared_in[s] for s in din], [ax for _, ax in lanes], 0, *user_axes)
            out_axes = (self.out_axes, dict(out_index), 0, None)
            mapped = self._mapper(per_lane, in_axes=in_axes, out_axes=out_axes, axis_name=self.axis_name, axis_size=n)
            out, declared, batched, unbatched = mapped(read_values(din), [v for v, _ in lanes], kwargs, *args)
        except BaseException:
            _restore(states, snapshot)
            raise
        writes = {i: (_set_value, v) for i, v in declared.items()}
        writes.update({i: (functools.partial(_from_lanes, batched=False, n=n), v) for i, v in unbatched.items()})
        writes.update({i: (functools.partial(_from_lanes, batched=True, n=n), v) for i, v in batched.items()})
        return states, writes, snapshot, out

    def _settle(self, states: list[State], writes: dict[int, tuple[Callable, Any]]) -> dict[int, tuple[Callable, Any]]:
        """The write-back of each state, as ``(write, value)``, once the lanes are done."""
        if self._undeclared != "raise":
            return {i: _scatter(states[i], w, v, self._undeclared) for i, (w, v) in writes.items()}
        if self._kind == "pmap":
            return {i: _same_on_every_device(states[i], w, v) for i, (w, v) in writes.items()}
        return writes

    @boundary
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        states, writes, snapshot, out = self._sf._retry(lambda known: self._attempt(known, args, kwargs), pollutes=True)
        writes = self._settle(states, writes)
        try:
            for i, (write, value) in writes.items():
                write(states[i], value)
        except BaseException:  # a from_lanes hook refused: undo the whole call (to_lanes included)
            _restore(states, snapshot)
            raise
        return out


def _same_on_every_device(state: State, write: Callable, value: Any) -> tuple[Callable, Any]:
    """A pmap write that came back stacked per device: kept as one value when every device wrote the same.

    pmap's lanes are separate programs, so whether a write depended on the lane shows only in the
    values: a state written with equal values everywhere is written back once, as vmap does. Inside an
    enclosing trace the values are not known yet; the first device's value is kept and a runtime check
    (:func:`jit_error_if`) fails the call if the devices disagree.
    """
    if not isinstance(write, functools.partial) or not write.keywords.get("batched"):
        return write, value
    if type(state).from_lanes is not State.from_lanes:  # the state has its own rule (a RandomState's keys)
        return write, value
    leaves = jax.tree.leaves(value)
    message = (f"{state!r} (created at {state.source_info}) was written with a value that differs per pmap "
               "device, but it was not declared batched. Fix: declare it with `out_states=` (and `in_states=` "
               "if its input is batched too), or write a value that does not depend on the device's inputs.")
    once = functools.partial(_from_lanes, batched=False, n=write.keywords["n"])
    if contains_tracer(value):
        from ._misc import jit_error_if

        jit_error_if(jnp.any(jnp.stack([jnp.any(leaf != leaf[0:1]) for leaf in leaves])), message)
        return once, jax.tree.map(lambda x: x[0], value)
    host = [np.asarray(leaf) for leaf in leaves]
    if not all(np.array_equal(h, np.broadcast_to(h[0:1], h.shape)) for h in host):
        raise BatchAxisError(message)
    # From the host: the first device's slice of a pmap output stays laid out over pmap's mesh.
    return once, jax.tree.unflatten(jax.tree.structure(value), [jnp.asarray(h[0]) for h in host])



def _scatter(state: State, write: Callable, value: Any, policy: str) -> tuple[Callable, Any]:
    """An undeclared per-lane write kept stacked on axis 0 (``unexpected_out_state_mapping`` not 'raise')."""
    if not isinstance(write, functools.partial) or not write.keywords.get("batched"):
        return write, value
    if type(state).from_lanes is not State.from_lanes:  # the state has its own rule (a RandomState)
        return write, value
    if policy == "warn":
        warnings.warn(f"{state!r} (created at {state.source_info}) was written per lane without being declared; "
                      "it now holds the lanes' values stacked on axis 0. Declare it in state_out_axes to silence this.",
                      UserWarning, stacklevel=4)
    return _set_value, value


def _set_value(state: State, value: Any) -> None:
    write_without_hooks(state, value)


def _from_lanes(state: State, value: Any, *, batched: bool, n: int) -> None:
    state.from_lanes(value, batched, n)


def _restore(states: Sequence[State], values: Sequence[Any]) -> None:
    for state, value in zip(states, values):
        state.restore_value(value)


@overload
def vmap(fn: Callable, *, in_axes: Any = ..., out_axes: Any = ..., axis_name: str | None = ...,
         axis_size: int | None = ..., in_states: Any = ..., out_states: Any = ...,
         spmd_axis_name: Any = ...) -> VmapFunction: ...
@overload
def vmap(fn: None = None, *, in_axes: Any = ..., out_axes: Any = ..., axis_name: str | None = ...,
         axis_size: int | None = ..., in_states: Any = ..., out_states: Any = ...,
         spmd_axis_name: Any = ...) -> Callable[[Callable], VmapFunction]: ...
def vmap(
    fn: Callable | None = None,
    *,
    in_axes: Any = 0,
    out_axes: Any = 0,
    axis_name: str | None = None,
    axis_size: int | None = None,
    in_states: Any = None,
    out_states: Any = None,
    spmd_axis_name: Any = None,
) -> VmapFunction | Callable[[Callable], VmapFunction]:
    """Vectorise a stateful function over a batch axis.

    States the function uses but that are not declared are handed to the lanes through
    :meth:`State.to_lanes` (broadcast by default; a ``RandomState`` gives each lane its own key). An
    undeclared state written with the same value in every lane is written back once; one written
    with a per-lane value raises :class:`BatchAxisError` unless declared in ``out_states``.

    Args:
        fn: the function.
        in_axes, out_axes, axis_name, axis_size, spmd_axis_name: as for ``jax.vmap``.
        in_states: batched states: a State, a list, ``{axis: states}``, ``{axis: {name: state}}`` or a
            filter (a State type, a tag, a predicate); sliced on the axis (0 by default) and, when
            written, stacked back on it.
        out_states: states whose written per-lane values are stacked on the given axis.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> w = brainstate.State(jnp.array([1.0, 2.0, 3.0]))
        >>> f = brainstate.transform.vmap(lambda x: jnp.sum(w.value * x))
        >>> f(jnp.ones((2, 3)))
        Array([6., 6.], dtype=float32)
    """
    options: dict[str, Any] = dict(in_axes=in_axes, out_axes=out_axes, axis_name=axis_name, axis_size=axis_size,
                                   in_states=in_states, out_states=out_states)
    kwargs = {} if spmd_axis_name is None else {"spmd_axis_name": spmd_axis_name}
    if fn is None:
        return lambda f: VmapFunction(f, **options, mapper=jax.vmap, **kwargs)
    return VmapFunction(fn, **options, mapper=jax.vmap, **kwargs)


def _is_array(x: Any) -> bool:
    return isinstance(x, (jax.Array, np.ndarray, np.generic, int, float, complex, bool))


@overload
def vmap_new_states(fun: Callable, *, axis_size: int, axis_name: str | None = ...,
                    state_tag: str | None = ...) -> Callable: ...
@overload
def vmap_new_states(fun: None = None, *, axis_size: int, axis_name: str | None = ...,
                    state_tag: str | None = ...) -> Callable[[Callable], Callable]: ...
def vmap_new_states(
    fun: Callable | None = None,
    *,
    axis_size: int,
    axis_name: str | None = None,
    state_tag: str | None = None,
) -> Callable:
    """Run ``fun`` once per lane so that the States it creates get a leading batch axis.

    Only the states created inside ``fun`` are batched (with ``axis_size`` lanes); states that
    already existed are used as in :func:`vmap`. ``fun`` may return arrays, States, modules or any
    other objects it built. Like any traced function it may run more than once on its first call
    (once to discover the states it touches): the objects returned are those of the last run.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> make = brainstate.transform.vmap_new_states(lambda: brainstate.HiddenState(jnp.zeros(3)), axis_size=4)
        >>> make().value.shape
        (4, 3)
    """

    def decorate(f: Callable) -> Callable:
        @functools.wraps(f)
        def run(*args: Any, **kwargs: Any) -> Any:
            mapped_of = lambda body: vmap(body, in_axes=None, axis_size=axis_size, axis_name=axis_name)  # noqa: E731
            return run_new_states(f, args, kwargs, state_tag, mapped_of)[0]

        return run

    return decorate if fun is None else decorate(fun)


def run_new_states(f: Callable, args: tuple, kwargs: dict, state_tag: str | None,
                   mapped_of: Callable[[Callable], Callable]) -> tuple[Any, list[State]]:
    """Run ``f`` under the mapping ``mapped_of(body)`` so the States it creates get the lanes' axis.

    Returns what ``f`` returned (its arrays mapped, other objects as built) and the created states.
    """
    created: list[list[State]] = []
    returned: list[tuple[Any, list]] = []

    def body(*a, **kw):
        with catch_new_states(state_tag) as catcher:
            out = f(*a, **kw)
        created.append(catcher.states)
        # Only arrays cross the mapping's boundary: States, modules and other objects built here are
        # returned as they are, with their new states batched.
        leaves, treedef = jax.tree.flatten(out, is_leaf=is_state)
        # Keep the objects, not the traced arrays (which must not outlive this trace): an array's
        # place is None here and holds the mapped array in the output instead.
        returned.append((treedef, [None if _is_array(x) else x for x in leaves]))
        return [x if _is_array(x) else None for x in leaves], [peek(s) for s in catcher.states]

    out_leaves, values = mapped_of(body)(*args, **kwargs)
    for state, value in zip(created[-1], values):
        state.restore_value(value)
    treedef, objects = returned[-1]
    leaves = [obj if o is None else o for obj, o in zip(objects, out_leaves)]
    return jax.tree.unflatten(treedef, leaves), created[-1]
