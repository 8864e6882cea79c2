"""``shard_map``: run a stateful function once per shard of a device mesh (SPMD)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.sharding import NamedSharding, PartitionSpec

from brainstate_core import ShardingError, State, sharding
from brainstate_core.internal import executing_eagerly, peek, read_values, spec_axes

from ._stateful import Known, StatefulFunction, boundary
from ._util import fun_name

__all__ = ["shard_map"]


def _varying(value: Any) -> frozenset:
    """The mesh axes along which a value inside ``shard_map`` differs per shard (JAX >= 0.8 spellings)."""
    axes: set = set()
    for leaf in jax.tree.leaves(value):
        aval = jax.typeof(leaf)
        vma = getattr(aval, "vma", None)
        if vma is None:
            mat = getattr(aval, "manual_axis_type", None)
            vma = getattr(mat, "varying", frozenset())
        axes |= set(vma)
    return frozenset(axes)


def _stand_in(axes: tuple, sizes: dict, block_spec: Callable[[State], Any]) -> Callable[[State, Any], Any]:
    """How a state this shard_map has not met yet reads in the body: zeros of its block's shape, varying
    along every mesh axis (so collectives over any axis trace). The attempt is retried with the state
    as an input, so only shapes matter, and no value of the enclosing trace is closed over (which JAX
    refuses for arrays sharded on Explicit axes)."""
    cast = getattr(jax.lax, "pcast", None)
    vary = (lambda x: cast(x, axes, to="varying")) if cast is not None else (lambda x: jax.lax.pvary(x, axes))  # pyright: ignore

    def zeros(struct: Any, spec: PartitionSpec) -> Any:
        shape = list(struct.shape)
        for d, entry in enumerate(tuple(spec)[: len(shape)]):
            for name in () if entry is None else (entry,) if isinstance(entry, str) else entry:
                shape[d] //= sizes[name]
        if jnp.issubdtype(struct.dtype, jax.dtypes.prng_key):
            data = jax.eval_shape(jax.random.key_data, struct)
            return jax.random.wrap_key_data(vary(jnp.zeros((*shape, *data.shape[len(shape):]), data.dtype)))
        return vary(jnp.zeros(shape, struct.dtype))

    def lift(state: State, value: Any) -> Any:
        specs = block_spec(state)
        structs = jax.tree.map(lambda x: jax.ShapeDtypeStruct(jnp.shape(x), jax.dtypes.result_type(x))
                               if hasattr(x, "dtype") or isinstance(x, (int, float, complex, bool)) else x, value)
        return jax.tree.map(lambda st, sp: zeros(st, sp) if isinstance(st, jax.ShapeDtypeStruct) else st, structs, specs,
                            is_leaf=lambda x: isinstance(x, jax.ShapeDtypeStruct))

    return lift


def _place(value: Any, specs: Any, mesh: Any) -> Any:
    """``value`` laid out by ``specs`` (a prefix tree of PartitionSpecs) on ``mesh``, as shard_map expects."""
    def one(spec: Any, sub: Any) -> Any:
        if spec is None:
            return sub
        return sharding.constrain(sub, NamedSharding(mesh, spec) if isinstance(mesh, jax.sharding.Mesh) else spec)

    return jax.tree.map(one, specs, value, is_leaf=lambda x: x is None or isinstance(x, PartitionSpec))


def _spread(spec: Any, value: Any) -> Any:
    return jax.tree.map(lambda _: spec, value)


_REPLICATED = PartitionSpec()


class ShardMapFunction:
    """A stateful function mapped over the shards of a mesh (what :func:`shard_map` returns)."""

    def __init__(self, fun: Callable, mesh: Any, in_specs: Any, out_specs: Any, state_in_specs: Any,
                 state_out_specs: Any, check_vma: bool) -> None:
        functools.update_wrapper(self, fun)
        self._sf = StatefulFunction(fun)
        self.mesh, self.in_specs, self.out_specs, self.check_vma = mesh, in_specs, out_specs, check_vma
        self._state_in, self._state_out = state_in_specs, state_out_specs
        from ._jit import jit  # eager calls go through jit: compiled once per signature, states learnt once

        self._compiled = jit(self._traced)

    def __repr__(self) -> str:
        return f"brainstate.transform.shard_map({fun_name(self._sf.fun)}, in_specs={self.in_specs!r})"

    @staticmethod
    def _given(decl: Any, state: State) -> Any:
        if decl is None:
            return None
        if isinstance(decl, dict):
            return decl.get(state)
        return decl

    def _in_spec(self, state: State, mesh: Any) -> Any:
        given = self._given(self._state_in, state)
        if given is not None:
            return _spread(given, peek(state))
        return sharding.partition_spec(state, mesh=mesh)

    def _attempt(self, known: Known, args: tuple, kwargs: dict) -> tuple:
        mesh = self.mesh if self.mesh is not None else sharding.get_mesh()
        if mesh is None:
            raise ShardingError(f"{self!r}: no mesh. Fix: pass mesh=..., or call inside "
                                "`with brainstate.sharding.use_mesh(mesh):`.")
        axes = tuple(mesh.axis_names)
        n = math.prod(dict(mesh.shape).values())  # every shard
        states = list(known.states)
        lanes: dict[int, Any] = {}  # states handing each shard its own value (a RandomState's keys)
        values, specs = [], []
        for i, s in enumerate(states):
            if self._given(self._state_in, s) is None and sharding.declared(s) is None:
                value, axis = s.to_lanes(n)
                if axis is not None:
                    lanes[i] = axis
                    values.append(jnp.moveaxis(value, axis, 0) if axis else value)
                    specs.append(jax.tree.map(lambda _: PartitionSpec(axes), value))
                    continue
            values.append(read_values([s])[0])
            specs.append(self._in_spec(s, mesh))
        written = [i for i, w in enumerate(known.writes) if w]
        out_specs_states = []
        for i in written:
            given = self._given(self._state_out, states[i])
            out_specs_states.append(specs[i] if given is None else _spread(given, values[i]))
        sizes = dict(mesh.shape)
        lift = _stand_in(axes, sizes, lambda s: self._in_spec(s, mesh) if sharding.declared(s) is not None or
                         self._given(self._state_in, s) is not None else jax.tree.map(lambda _: _REPLICATED, peek(s)))
        pure = self._sf._pure(known, states, writes=True, lift=lift)
        user_in = self.in_specs if isinstance(self.in_specs, tuple) else (self.in_specs,) * len(args)

        def body(state_values: list, a: tuple) -> tuple:
            state_values = [jax.tree.map(lambda x: x[0], v) if i in lanes else v for i, v in enumerate(state_values)]
            out, new = pure(state_values, a, kwargs)
            result = []
            for i, spec in zip(written, out_specs_states):
                v = new.get(i, state_values[i])
                if self.check_vma:
                    extra = _varying(v) - spec_axes(spec)
                    if extra and i not in lanes:
                        raise ShardingError(
                            f"{states[i]!r} (created at {states[i].source_info}) is laid out as {spec} in shard_map but "
                            f"was written with a value that differs per shard along mesh axes {sorted(extra)}. Fix: "
                            "reduce it first (jax.lax.psum / pmean over those axes), or declare its layout with "
                            "`state_out_specs={state: P(...)}` (or `sharding=` on the state).")
                result.append(jax.tree.map(lambda x: x[None], v) if i in lanes else v)
            return out, result

        mapped = jax.shard_map(body, mesh=mesh, in_specs=(specs, user_in), out_specs=(self.out_specs, out_specs_states),
                               check_vma=self.check_vma)
        out, new_values = mapped(_place(values, specs, mesh), _place(args, user_in, mesh))
        writes = {}
        for i, v in zip(written, new_values):
            if i in lanes:
                states[i].from_lanes(jnp.moveaxis(v, 0, lanes[i]) if lanes[i] else v, True, n)
            else:
                writes[i] = v
        return states, writes, out

    def _traced(self, *args: Any, **kwargs: Any) -> Any:
        return self._sf._apply(lambda known: self._attempt(known, args, kwargs))

    @boundary
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if executing_eagerly() and not jax.config.jax_disable_jit:  # pyright: ignore[reportAttributeAccessIssue]
            return self._compiled(*args, **kwargs)
        return self._traced(*args, **kwargs)


def shard_map(fun: Callable | None = None, mesh: Any = None, in_specs: Any = _REPLICATED,
              out_specs: Any = _REPLICATED, *, state_in_specs: Any = None, state_out_specs: Any = None,
              check_vma: bool = True) -> Any:
    """Run a stateful function once per shard of ``mesh``, each on its block of the inputs (SPMD).

    The function sees per-shard blocks, as with ``jax.shard_map``, and may use collectives over the
    mesh axes (``jax.lax.psum(x, 'data')``). The states it uses are handed to the shards by their
    layout: ``state_in_specs`` (one spec for all states, or ``{state: spec}``), else the state's
    ``sharding=`` declaration, else replicated; a ``RandomState`` without either gives each shard its
    own key. A written state comes back with ``state_out_specs`` (default: its input layout); a state
    laid out replicated but written with a value that differs per shard raises
    :class:`~brainstate.ShardingError` naming it. What the function touches is learnt once and kept;
    called outside a trace it is compiled once per signature, and it nests in jit, grad and loops.

    Args:
        fun: the function (usable as a decorator factory when omitted).
        mesh: the mesh; default the one in use (:func:`brainstate.sharding.use_mesh`).
        in_specs: a spec per positional argument (a tuple), or one spec for all of them. Keyword
            arguments are passed whole to every shard.
        out_specs: the spec (tree) of the output.
        state_in_specs, state_out_specs: layouts of states, overriding their declarations.
        check_vma: JAX's check that outputs declared replicated do not vary per shard.

    Example:
        >>> import jax, jax.numpy as jnp, brainstate
        >>> from jax.sharding import PartitionSpec as P
        >>> mesh = jax.make_mesh((1,), ('data',))
        >>> total = brainstate.State(jnp.zeros(()))
        >>> def add(x):
        ...     total.value = total.value + jax.lax.psum(x.sum(), 'data')
        ...     return x * 2
        >>> f = brainstate.transform.shard_map(add, mesh, in_specs=P('data'), out_specs=P('data'))
        >>> f(jnp.arange(4.0)).tolist(), float(total.value)
        ([0.0, 2.0, 4.0, 6.0], 6.0)
    """
    if fun is None:
        return lambda f: ShardMapFunction(f, mesh, in_specs, out_specs, state_in_specs, state_out_specs, check_vma)
    return ShardMapFunction(fun, mesh, in_specs, out_specs, state_in_specs, state_out_specs, check_vma)
