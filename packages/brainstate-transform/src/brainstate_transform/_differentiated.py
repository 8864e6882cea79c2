"""What every derivative transformation shares: grad states first, the other states after."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import jax

from brainstate_core import State, StateUsageError
from brainstate_core.internal import read_values

from ._stateful import Known, StatefulFunction
from ._util import describe, fun_name, is_state, normalize_argnums

__all__ = ["_Differentiated", "_arrange", "_substitute"]


def _flatten_grad_states(grad_states: Any) -> tuple[list[State], Any, list[str]]:
    if grad_states is None:
        return [], None, []
    with_path, treedef = jax.tree_util.tree_flatten_with_path(grad_states, is_leaf=is_state)
    states = [leaf for _, leaf in with_path]
    for path, leaf in with_path:
        if not isinstance(leaf, State):
            raise StateUsageError(
                f"grad_states must hold only State objects, but found {type(leaf).__name__} at "
                f"{jax.tree_util.keystr(path) or 'the top level'}. Pass the States themselves (for example "
                "`model.states(brainstate.ParamState)`), not their values."
            )
    if len(set(map(id, states))) != len(states):
        raise StateUsageError("grad_states lists the same State more than once; list each State once.")
    return states, treedef, [jax.tree_util.keystr(p) for p, _ in with_path]


def _substitute(args: tuple, positions: Sequence[int], values: Sequence[Any]) -> tuple:
    full = list(args)
    for i, v in zip(positions, values):
        full[i] = v
    return tuple(full)


class _Differentiated:
    """What every derivative transformation shares: the grad states come first, then the other states.

    The pure function it builds is ``(grad state values, other state values, *args) -> (value, (value,
    aux, new values))``, the form ``jax.grad(..., has_aux=True)`` and its relatives take.
    """

    if TYPE_CHECKING:  # every subclass is callable
        def __call__(self, *args: Any, **kwargs: Any) -> Any: ...

    _name = "derivative"

    def __init__(self, fun: Callable, grad_states: Any = None, argnums: int | Sequence[int] | None = None,
                 has_aux: bool = False, check_states: bool = True) -> None:
        functools.update_wrapper(self, fun)
        self._sf = StatefulFunction(fun)
        self._grad_states, self._grad_tree, self._grad_paths = _flatten_grad_states(grad_states)
        # The grad states are certain inputs: knowing them up front spares the first call a retrace
        # when the function touches no other state.
        self._sf._known = Known(self._grad_states, [False] * len(self._grad_states))
        if argnums is None and grad_states is None:
            argnums = 0
        self._argnums = argnums
        self._arg_tuple = normalize_argnums(argnums)
        self.has_aux = has_aux
        self.check_states = check_states

    def __repr__(self) -> str:
        states = f", grad_states=<{len(self._grad_states)} states>" if self._grad_states else ""
        args = f", argnums={self._argnums}" if self._argnums is not None else ""
        return f"brainstate.transform.{self._name}({fun_name(self._sf.fun)}{states}{args})"

    def _layout(self, known: Known, kwargs: dict) -> tuple[list[State], list[Any], Callable]:
        """(all states, values of the non-grad states, the pure function)."""
        grad_set = set(self._grad_states)
        others = [s for s in known.states if s not in grad_set]
        states = self._grad_states + others
        pure = self._sf._pure(known, states, inspect=self._check_used if self.check_states else None)

        def differentiable(grad_values: list, other_values: list, *args: Any):
            out, new = pure(list(grad_values) + list(other_values), args, kwargs)
            value, aux = self._split_aux(out)
            return value, (value, aux, new)

        return states, read_values(others), differentiable

    def _split_aux(self, out: Any) -> tuple[Any, Any]:
        if not self.has_aux:
            return out, None
        if not (isinstance(out, tuple) and len(out) == 2):
            raise StateUsageError(
                f"With has_aux=True the function `{fun_name(self._sf.fun)}` must return a pair (value, aux); it "
                f"returned {describe(out)}. Fix: return `value, aux`, or drop has_aux=True."
            )
        return out

    def _check_used(self, touched: Sequence[State]) -> None:
        used = set(touched)
        missing = [
            f"{path or '<root>'}: {s!r} created at {s.source_info}"
            for s, path in zip(self._grad_states, self._grad_paths)
            if s not in used
        ]
        if missing:
            raise StateUsageError(
                "These grad_states are never used by the differentiated function, so their gradient is "
                "not defined:\n  " + "\n  ".join(missing) + "\nFix: remove them from grad_states, or pass "
                "`check_states=False` to get zero gradients for them."
            )

    def _arrange(self, grads: tuple) -> Any:
        """Derivatives as documented: for the states only, the arguments only, or ``(states, args)``."""
        if self._grad_states:
            state_grads, arg_grads = jax.tree.unflatten(self._grad_tree, list(grads[0])), grads[1:]
        else:
            state_grads, arg_grads = None, grads
        return _arrange(state_grads, arg_grads, bool(self._grad_states), self._argnums)


def _arrange(state_grads: Any, arg_grads: tuple, has_states: bool, argnums: Any) -> Any:
    """Arrange derivatives as documented: states only, args only, or ``(states, args)``."""
    if isinstance(argnums, int):
        arg_grads = arg_grads[0]
    if has_states and argnums is not None:
        return state_grads, arg_grads
    return state_grads if has_states else arg_grads
