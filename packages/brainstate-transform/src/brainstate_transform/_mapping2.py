"""Upstream's mapping API (``vmap2``, ``pmap2``, ``StatefulMapping``, ``*_new_states``) and ``map``.

Each is the same machinery as :func:`vmap` / :func:`pmap` under upstream's names: ``state_in_axes``
is ``in_states`` and ``state_out_axes`` is ``out_states``. What upstream adds is a policy for a
state written per lane without being declared (``unexpected_out_state_mapping``); the default here
is ``'raise'`` (a :class:`BatchAxisError` naming the state) where upstream's is ``'auto'`` (the
lanes' values silently stacked): an undeclared batched write is usually a mistake, and saying so is
what the rest of the library does. ``'auto'``, ``'warn'`` and ``'ignore'`` keep the lanes' values
stacked on axis 0, ``'warn'`` with a warning.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import ConfigError, State
from brainstate_core.internal import to_predicate

from ._pmap import pmap
from ._util import fun_name, normalize_argnums
from ._vmap import VmapFunction, run_new_states, vmap

__all__ = ["StatefulMapping", "vmap2", "pmap2", "vmap2_new_states", "pmap2_new_states", "map"]

_POLICIES = ("raise", "auto", "warn", "ignore")


class StatefulMapping:
    """A stateful function mapped with ``jax.vmap`` or ``jax.pmap`` (what :func:`vmap2` and :func:`pmap2` return).

    Args:
        fun: the function.
        in_axes, out_axes: as for ``jax.vmap``.
        state_in_axes: states batched on input (and, when written, stacked back on their axis): a
            State, a list, ``{axis: states or filter}`` or a filter (axis 0).
        state_out_axes: states whose per-lane writes are stacked on the given axis.
        unexpected_out_state_mapping: ``'raise'`` (the default), ``'auto'``, ``'warn'`` or ``'ignore'``
            for a state written per lane without being declared (see the module docs).
        static_argnums, static_argnames: arguments that are not mapped: each value gets its own
            compiled mapping.
        axis_env, return_only_write: accepted for upstream's signature; as upstream, they have no effect.
        axis_size, axis_name: as for ``jax.vmap``.
        name: a name for reprs.
        mapping_fn: ``jax.vmap`` or ``jax.pmap``.
        mapping_kwargs: further options of ``mapping_fn``.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> counter = brainstate.ShortTermState(jnp.zeros(3))
        >>> def accumulate(x):
        ...     counter.value = counter.value + x
        ...     return counter.value
        >>> batched = brainstate.transform.StatefulMapping(accumulate, state_in_axes={0: counter})
        >>> batched(jnp.asarray([1., 2., 3.]))
        Array([1., 2., 3.], dtype=float32)
        >>> counter.value
        Array([1., 2., 3.], dtype=float32)
    """

    def __init__(self, fun: Callable, in_axes: Any = 0, out_axes: Any = 0, state_in_axes: Any = None,
                 state_out_axes: Any = None, unexpected_out_state_mapping: str = "raise",
                 static_argnums: int | Sequence[int] = (), static_argnames: str | Sequence[str] = (),
                 axis_env: Any = None, return_only_write: bool = True, axis_size: int | None = None,
                 axis_name: Any = None, name: str | None = None, mapping_fn: Callable = jax.vmap,
                 mapping_kwargs: dict | None = None) -> None:
        if unexpected_out_state_mapping not in _POLICIES:
            raise ConfigError(f"unexpected_out_state_mapping={unexpected_out_state_mapping!r}: expected one of "
                              f"{_POLICIES}.")
        if mapping_fn not in (jax.vmap, jax.pmap):
            raise ConfigError(f"StatefulMapping(mapping_fn={mapping_fn!r}): only jax.vmap and jax.pmap are supported.")
        self.origin_fun, self.name = fun, name
        self.in_axes, self.out_axes, self.axis_size, self.axis_name = in_axes, out_axes, axis_size, axis_name
        self.state_in_axes, self.state_out_axes = state_in_axes, state_out_axes
        self.mapping_fn, self.unexpected_out_state_mapping = mapping_fn, unexpected_out_state_mapping
        self._mapping_kwargs = dict(mapping_kwargs or {})
        self._static_argnums = normalize_argnums(static_argnums)
        self._static_argnames = (static_argnames,) if isinstance(static_argnames, str) else tuple(static_argnames)
        self._mapped: dict[Any, VmapFunction] = {}  # one per value of the static arguments

    def _build(self, fun: Callable, in_axes: Any) -> VmapFunction:
        options: dict[str, Any] = dict(in_axes=in_axes, out_axes=self.out_axes, axis_name=self.axis_name,
                                       in_states=self.state_in_axes, out_states=self.state_out_axes, **self._mapping_kwargs)
        if self.mapping_fn is jax.vmap:
            mapped = vmap(fun, axis_size=self.axis_size, **options)
        else:
            mapped = pmap(fun, **options)
        mapped._undeclared = self.unexpected_out_state_mapping
        return mapped

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not (self._static_argnums or self._static_argnames):
            mapped = self._mapped.get(None)
            if mapped is None:
                mapped = self._mapped[None] = self._build(self.origin_fun, self.in_axes)
            return mapped(*args, **kwargs)
        static = {i % len(args): args[i] for i in self._static_argnums if -len(args) <= i < len(args)}
        static_kw = {k: kwargs.pop(k) for k in self._static_argnames if k in kwargs}
        key = (tuple(sorted(static.items())), tuple(sorted(static_kw.items())))
        dynamic = [a for i, a in enumerate(args) if i not in static]
        mapped = self._mapped.get(key)
        if mapped is None:
            in_axes = self.in_axes
            if isinstance(in_axes, (tuple, list)):
                in_axes = tuple(ax for i, ax in enumerate(in_axes) if i not in static)

            def closed(*dyn: Any, **kw: Any) -> Any:
                it = iter(dyn)
                full = [static[i] if i in static else next(it) for i in range(len(dyn) + len(static))]
                return self.origin_fun(*full, **kw, **static_kw)

            mapped = self._mapped[key] = self._build(closed, in_axes)
        return mapped(*dynamic, **kwargs)

    def __repr__(self) -> str:
        kind = "vmap2" if self.mapping_fn is jax.vmap else "pmap2"
        return f"brainstate.transform.{kind}({self.name or fun_name(self.origin_fun)}, in_axes={self.in_axes!r})"


def vmap2(fn: Callable | None = None, *, in_axes: Any = 0, out_axes: Any = 0, axis_name: Any = None,
          axis_size: int | None = None, spmd_axis_name: Any = None, state_in_axes: Any = None,
          state_out_axes: Any = None, unexpected_out_state_mapping: str = "raise") -> Any:
    """:func:`vmap` with upstream's keywords: a :class:`StatefulMapping` over ``jax.vmap``.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> w = brainstate.ParamState(jnp.ones(3))
        >>> brainstate.transform.vmap2(lambda x: (w.value * x).sum())(jnp.arange(4.0))
        Array([0., 3., 6., 9.], dtype=float32)
    """
    extra = {} if spmd_axis_name is None else {"spmd_axis_name": spmd_axis_name}
    options: dict[str, Any] = dict(in_axes=in_axes, out_axes=out_axes, axis_name=axis_name, axis_size=axis_size,
                                   state_in_axes=state_in_axes, state_out_axes=state_out_axes,
                                   unexpected_out_state_mapping=unexpected_out_state_mapping, mapping_kwargs=extra)
    if fn is None:
        return lambda f: StatefulMapping(f, **options)
    return StatefulMapping(fn, **options)


def pmap2(fn: Callable | None = None, axis_name: Any = None, *, in_axes: Any = 0, out_axes: Any = 0,
          static_broadcasted_argnums: int | Sequence[int] = (), devices: Any = None, backend: str | None = None,
          axis_size: int | None = None, donate_argnums: int | Sequence[int] = (), global_arg_shapes: Any = None,
          state_in_axes: Any = None, state_out_axes: Any = None, unexpected_out_state_mapping: str = "raise") -> Any:
    """:func:`pmap` with upstream's keywords: a :class:`StatefulMapping` over ``jax.pmap``.

    Example:
        >>> import brainstate, jax, jax.numpy as jnp
        >>> n = jax.local_device_count()
        >>> brainstate.transform.pmap2(lambda x: x + 1)(jnp.zeros(n)).shape == (n,)
        True
    """
    given = dict(devices=devices, backend=backend, axis_size=axis_size, global_arg_shapes=global_arg_shapes)
    extra = {k: v for k, v in given.items() if v is not None}
    if donate_argnums != ():
        extra["donate_argnums"] = donate_argnums
    options: dict[str, Any] = dict(
        in_axes=in_axes, out_axes=out_axes, axis_name=axis_name, state_in_axes=state_in_axes,
        state_out_axes=state_out_axes, unexpected_out_state_mapping=unexpected_out_state_mapping,
        static_argnums=static_broadcasted_argnums, mapping_fn=jax.pmap, mapping_kwargs=extra)
    if fn is None:
        return lambda f: StatefulMapping(f, **options)
    return StatefulMapping(fn, **options)


def _new_states(kind: str, module: Any, init_kwargs: dict | None, state_tag: str | None, axis_size: int | None,
                state_out_axes: Any, mapped_of: Callable) -> dict[int, list[State]]:
    if axis_size is None:
        raise ConfigError(f"{kind}_new_states(): axis_size is required. Fix: pass axis_size=<number of lanes>.")
    init = getattr(module, "init_all_states", None)
    if not callable(init):
        raise ConfigError(f"{kind}_new_states(): {module!r} has no init_all_states(). Fix: pass a brainstate.nn.Module.")
    _, created = run_new_states(lambda: init(**(init_kwargs or {})), (), {}, state_tag, mapped_of)
    axes = state_out_axes if isinstance(state_out_axes, dict) else {0: state_out_axes} if state_out_axes else {}
    rules = [(axis, to_predicate(f)) for axis, f in axes.items()]
    grouped: dict[int, list[State]] = {}
    for state in created:
        axis = next((ax for ax, pred in rules if pred((), state)), 0)
        if axis != 0:
            state.restore_value(jax.tree.map(lambda v, ax=axis: jnp.moveaxis(v, 0, ax), state.value))
        grouped.setdefault(axis, []).append(state)
    return grouped


def vmap2_new_states(module: Any, init_kwargs: dict | None = None, state_tag: str | None = None,
                     axis_size: int | None = None, state_out_axes: Any = None, spmd_axis_name: Any = None
                     ) -> dict[int, list[State]]:
    """Run ``module.init_all_states(**init_kwargs)`` once per lane: the states it creates get the lanes' axis.

    Returns the created states grouped by the axis they got (0, or the axis of the first
    ``state_out_axes`` filter they match). Random draws differ per lane.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> class Counter(brainstate.nn.Module):
        ...     def init_state(self):
        ...         self.count = brainstate.ShortTermState(jnp.zeros(2))
        >>> m = Counter()
        >>> groups = brainstate.transform.vmap2_new_states(m, {}, axis_size=5)
        >>> m.count.value.shape, len(groups[0])
        ((5, 2), 1)
    """
    extra = {} if spmd_axis_name is None else {"spmd_axis_name": spmd_axis_name}
    mapped_of = lambda body: vmap(body, in_axes=None, axis_size=axis_size, **extra)  # noqa: E731
    return _new_states("vmap2", module, init_kwargs, state_tag, axis_size, state_out_axes, mapped_of)


def pmap2_new_states(module: Any, init_kwargs: dict | None = None, state_tag: str | None = None,
                     axis_size: int | None = None, state_out_axes: Any = None, axis_name: Any = None
                     ) -> dict[int, list[State]]:
    """:func:`vmap2_new_states` with one lane per device (``axis_size`` at most the local device count).

    Example:
        >>> import brainstate, jax, jax.numpy as jnp
        >>> class Counter(brainstate.nn.Module):
        ...     def init_state(self):
        ...         self.count = brainstate.ShortTermState(jnp.zeros(2))
        >>> m = Counter()
        >>> _ = brainstate.transform.pmap2_new_states(m, {}, axis_size=jax.local_device_count())
        >>> m.count.value.shape == (jax.local_device_count(), 2)
        True
    """

    def mapped_of(body: Callable) -> Callable:
        lanes = pmap(lambda _: body(), axis_name=axis_name)
        return lambda: lanes(jnp.arange(axis_size))

    return _new_states("pmap2", module, init_kwargs, state_tag, axis_size, state_out_axes, mapped_of)


def map(f: Callable, *xs: Any, batch_size: int | None = None) -> Any:  # noqa: A001 - mirrors jax.lax.map
    """Apply ``f`` to slices of ``xs`` along the leading axis, one slice (or ``batch_size`` slices) at a time.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> brainstate.transform.map(lambda x: x * 2, jnp.arange(5.0), batch_size=2)
        Array([0., 2., 4., 6., 8.], dtype=float32)
    """
    from ._loops import for_loop

    if batch_size is None:
        return for_loop(f, *xs)
    n = jax.tree.leaves(xs)[0].shape[0]
    full = n // batch_size * batch_size
    batched = vmap(f)
    pieces = []
    if full:
        chunks = jax.tree.map(lambda x: x[:full].reshape(n // batch_size, batch_size, *x.shape[1:]), xs)
        ys = for_loop(batched, *chunks)
        pieces.append(jax.tree.map(lambda y: y.reshape(full, *y.shape[2:]), ys))
    if full < n:
        pieces.append(batched(*jax.tree.map(lambda x: x[full:], xs)))
    if len(pieces) == 1:
        return pieces[0]
    return jax.tree.map(lambda *p: jnp.concatenate(p), *pieces)

