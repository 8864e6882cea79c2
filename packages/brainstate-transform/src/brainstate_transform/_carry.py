"""Shared machinery of loops and branches: the states they write are carried through ``jax.lax``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from brainstate_core import State, StateShapeError
from brainstate_core._state import format_value

from ._stateful import Known, StatefulFunction

__all__ = ["Carry"]

def _avals(value: Any) -> list[tuple[tuple[int, ...], Any]]:
    return [(tuple(np.shape(leaf)), jax.numpy.result_type(leaf)) for leaf in jax.tree.leaves(value)]


class Carry:
    """The states a loop body or branch carries: those written (in any trace so far) and those only read.

    Args:
        known: what is known of the functions' states.
        owner: the StatefulFunction whose ``call`` retries when a trace finds more states.
        what: a short description for error messages ("the scan body", "a cond branch").
    """

    def __init__(self, known: Known, owner: StatefulFunction, what: str) -> None:
        self.known = known
        self.owner = owner
        self.what = what
        self.carried: list[State] = known.write_states()
        self.readonly: list[State] = known.read_states()
        from ._util import read_values

        self.carried_values = read_values(self.carried)
        self.readonly_values = read_values(self.readonly)

    def run(self, sf: StatefulFunction, carried_values: Sequence[Any], args: tuple, kwargs: dict | None = None):
        """Run ``sf`` with the carried states holding ``carried_values``; return (out, new carried values)."""
        result = sf.run(self.carried + self.readonly, list(carried_values) + self.readonly_values, args, kwargs or {})
        self.owner.check(self.known, result, writes=True)
        new = [result.new_values.get(s, v) for s, v in zip(self.carried, carried_values)]
        for state, old, value in zip(self.carried, carried_values, new):
            if _avals(old) != _avals(value) or jax.tree.structure(old) != jax.tree.structure(value):
                raise StateShapeError(
                    f"{state!r} (created at {state.source_info}) entered {self.what} as "
                    f"{format_value(old)} and left it as {format_value(value)}. A state carried through a "
                    "loop or branch must keep its structure, shape and dtype. Fix: write a value of the same "
                    "shape and dtype (cast with .astype, or reshape), or create the state with its final shape."
                )
        return result, new

    def write_back(self, new_values: Sequence[Any]) -> None:
        from ._util import write_back

        if self.carried:
            write_back(self.carried, dict(enumerate(new_values)))
