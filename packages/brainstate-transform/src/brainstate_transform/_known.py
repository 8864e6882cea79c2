"""What a transformation knows about a function's states, and what one run of the function did."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, NamedTuple

from brainstate_core import State

__all__ = ["Known"]


class Known:
    """What a transformation knows about the states of a function (immutable; hashed by identity).

    Attributes:
        states: the states, ordered by first access over all traces so far.
        writes: one bool per state, True if some trace wrote it.
        env_keys: the ``environ`` keys some trace read.
    """

    __slots__ = ("states", "writes", "env_keys", "index")

    def __init__(self, states: Sequence[State] = (), writes: Sequence[bool] = (), env_keys: Sequence[Hashable] = ()):
        self.states = tuple(states)
        self.writes = tuple(writes)
        self.env_keys = tuple(env_keys)
        self.index = {s: i for i, s in enumerate(self.states)}

    def write_states(self) -> list[State]:
        return [s for s, w in zip(self.states, self.writes) if w]

    def read_states(self) -> list[State]:
        return [s for s, w in zip(self.states, self.writes) if not w]

    def widen(self, result: _Result) -> Known:
        states, writes = list(self.states), list(self.writes)
        for state, written in zip(result.states, result.written):
            i = self.index.get(state)
            if i is None:
                states.append(state)
                writes.append(written)
            elif written:
                writes[i] = True
        env = list(self.env_keys) + [k for k in result.env_reads if k not in self.env_keys]
        return Known(states, writes, env)

    def covers(self, result: _Result, *, writes: bool) -> bool:
        """Whether a trace stayed inside what is known (and, with ``writes``, wrote only known writes)."""
        index = self.index
        for state, written in zip(result.states, result.written):
            i = index.get(state)
            if i is None or (writes and written and not self.writes[i]):
                return False
        return all(k in self.env_keys for k in result.env_reads)


class _Result(NamedTuple):
    """What one run of a stateful function did."""

    out: Any
    states: list[State]
    written: list[bool]
    new_values: dict[State, Any]
    env_reads: dict[Hashable, Any]
