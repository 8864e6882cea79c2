"""Inspecting a stateful function: its jaxpr, its output shapes, the states it reads and writes.

The jaxpr is arranged as upstream brainstate arranges it: its inputs are the function's dynamic
positional arguments, then its dynamic keyword arguments, then the values of the states it touches
(in order of first access), each flattened; its outputs are the function's output, then the new
values of the states it writes (``return_only_write=True``) or of every state it touches.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any

import jax
from jax.extend.core import ClosedJaxpr

from brainstate_core import State
from brainstate_core.internal import peek, read_values

from ._known import Known

if TYPE_CHECKING:
    from ._stateful import StatefulFunction

__all__ = ["Inspection"]


class Inspection:
    """The inspection methods of :class:`StatefulFunction` (the upstream-facing API)."""

    if TYPE_CHECKING:  # what these methods use of the StatefulFunction they are part of
        axis_env: Sequence[tuple[Hashable, int]] | None
        return_only_write: bool
        ir_optimizations: tuple[str, ...]

        def _split_static(self, args: tuple, kwargs: dict) -> tuple[Callable, tuple, dict, Hashable]: ...

    def make_jaxpr(self, *args: Any, **kwargs: Any) -> tuple[ClosedJaxpr, tuple[State, ...]]:
        """The jaxpr of the function's pure form for these arguments, and the states it touches.

        Inputs: the dynamic positional arguments, the dynamic keyword arguments, then the state
        values; outputs: the function's output, then the new values of the written states (of every
        touched state with ``return_only_write=False``), all flattened. The states are those this
        call touches, in order of first access; the function is traced once and no State changes.
        """
        jaxpr, states, _ = self._jaxpr(args, kwargs, self.return_only_write)
        return jaxpr, states

    def _jaxpr(self, args: tuple, kwargs: dict,
               only_written: bool) -> tuple[ClosedJaxpr, tuple[State, ...], Any]:
        """(closed jaxpr, states, output shapes) in upstream's arrangement (see :meth:`make_jaxpr`)."""
        fun, dyn_args, dyn_kwargs, _ = self._split_static(args, kwargs)
        inner = _plain(fun)

        def attempt(known: Known) -> tuple[ClosedJaxpr, Any, Known]:
            pure = inner._pure(known, known.states)

            def arranged(a: tuple, kw: dict, values: list) -> tuple[Any, list]:
                out, new = pure(values, a, kw)
                states_out = [new.get(i, v) for i, (v, w) in enumerate(zip(values, known.writes)) if w or not only_written]
                return out, states_out

            maker = jax.make_jaxpr(arranged, axis_env=self.axis_env, return_shape=True)
            jaxpr, (out_shape, _) = maker(dyn_args, dyn_kwargs, read_values(known.states))
            return jaxpr, out_shape, known

        jaxpr, out_shape, known = inner._retry(attempt)
        if self.ir_optimizations:
            from ._jaxpr_optim import optimize_jaxpr

            jaxpr = optimize_jaxpr(jaxpr, optimizations=list(self.ir_optimizations))
        return jaxpr, known.states, out_shape

    def get_jaxpr(self, *args: Any, **kwargs: Any) -> ClosedJaxpr:
        """The closed jaxpr of the pure function for these arguments (see :meth:`make_jaxpr`)."""
        return self.make_jaxpr(*args, **kwargs)[0]

    def get_out_shapes(self, *args: Any, **kwargs: Any) -> Any:
        """Shapes and dtypes of the function's output for these arguments (nothing runs, no state changes)."""
        from ._stateful import _eval_shape

        fun, dyn_args, dyn_kwargs, _ = self._split_static(args, kwargs)
        return _eval_shape(_plain(fun), dyn_args, dyn_kwargs)

    def get_states(self, *args: Any, **kwargs: Any) -> tuple[State, ...]:
        """States the function touches for these arguments, in order of first access."""
        return self._known_for(args, kwargs).states

    def get_write_states(self, *args: Any, **kwargs: Any) -> tuple[State, ...]:
        """States the function writes for these arguments."""
        return tuple(self._known_for(args, kwargs).write_states())

    def get_read_states(self, *args: Any, **kwargs: Any) -> tuple[State, ...]:
        """States the function reads but never writes for these arguments."""
        return tuple(self._known_for(args, kwargs).read_states())

    def _known_for(self, args: tuple, kwargs: dict) -> Known:
        fun, dyn_args, dyn_kwargs, _ = self._split_static(args, kwargs)
        inner = _plain(fun)

        def attempt(known: Known) -> Known:
            jax.eval_shape(inner._pure(known, known.states), [peek(s) for s in known.states], dyn_args, dyn_kwargs)
            return known

        return inner._retry(attempt)


def _plain(fun: Any) -> StatefulFunction:
    from ._stateful import StatefulFunction

    return StatefulFunction(fun)


def optimizations(names: str | Sequence[str] | None) -> tuple[str, ...]:
    """``ir_optimizations`` as a tuple of pass names (checked when the jaxpr is optimised)."""
    if names is None:
        return ()
    return (names,) if isinstance(names, str) else tuple(names)
