"""Shared machinery of loops and branches: the states they write are carried through ``jax.lax``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from brainstate_core import StateShapeError
from brainstate_core.internal import format_value, read_values

from ._stateful import Known, StatefulFunction

__all__ = ["Carry"]


def _avals(value: Any) -> list[tuple[tuple[int, ...], Any]]:
    return [(tuple(np.shape(leaf)), jax.numpy.result_type(leaf)) for leaf in jax.tree.leaves(value)]


class Carry:
    """The states a loop body or branch carries: those written (in any trace so far) and those only read.

    The carried states go through ``jax.lax`` as part of the loop carry (or as the branches' outputs);
    the read-only ones are constants of the loop.

    Args:
        known: what is known of the functions' states.
        owner: the StatefulFunction whose retry loop runs when a trace finds more states.
        what: a short description for error messages ("the scan body", "a cond branch").
    """

    def __init__(self, known: Known, owner: StatefulFunction, what: str) -> None:
        self.known = known
        self.owner = owner
        self.what = what
        self.carried = known.write_states()
        self.readonly = known.read_states()
        self.states = self.carried + self.readonly
        self.carried_values = read_values(self.carried)
        self.readonly_values = read_values(self.readonly)

    def pure(self, sf: StatefulFunction, *, writes: bool = True):
        """``(carried values, args) -> (out, new carried values)`` for ``sf`` (the owner's or a branch's).

        With ``writes=False`` (a while-loop condition) the function returns what the trace wrote
        instead, which the caller refuses.
        """
        pure = self.owner._pure(self.known, self.states, fun=sf, writes=True)

        def run(carried_values: Sequence[Any], args: tuple) -> tuple[Any, Any]:
            out, new = pure(list(carried_values) + self.readonly_values, args)
            if not writes:
                return out, [self.states[i] for i in new]
            values = [new.get(i, v) for i, v in enumerate(carried_values)]
            self._check_shapes(carried_values, values)
            return out, values

        return run

    def _check_shapes(self, before: Sequence[Any], after: Sequence[Any]) -> None:
        for state, old, value in zip(self.carried, before, after):
            if _avals(old) != _avals(value) or jax.tree.structure(old) != jax.tree.structure(value):
                raise StateShapeError(
                    f"{state!r} (created at {state.source_info}) entered {self.what} as "
                    f"{format_value(old)} and left it as {format_value(value)}. A state carried through a "
                    "loop or branch must keep its structure, shape and dtype. Fix: write a value of the same "
                    "shape and dtype (cast with .astype, or reshape), or create the state with its final shape."
                )

    def result(self, new_values: Sequence[Any], out: Any) -> tuple[list, dict[int, Any], Any]:
        """What an attempt returns to :meth:`StatefulFunction._apply`: the carried states' new values."""
        return self.carried, dict(enumerate(new_values)), out
