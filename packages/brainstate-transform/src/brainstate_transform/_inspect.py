"""Looking at stateful code: which states a function touches, names in traces, discovery runs."""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Literal

import jax

from brainstate_core import ConfigError, State
from brainstate_core.internal import FilterLike, to_predicate

from ._stateful import DISCOVERING, StatefulFunction
from ._util import fun_name

__all__ = ["StateFinder", "in_new_state_probe", "named_call"]


def named_call(fun: Callable | None = None, *, name: str | None = None) -> Callable:
    """Run ``fun`` inside ``jax.named_scope(name)`` (default: its ``__name__``), to name it in profiles.

    Only names: nothing is compiled, and the States ``fun`` reads and writes are those of the
    transformation it runs in. The name shows in each equation's name stack and in the compiled
    program's metadata, where profilers show it.

    Example:
        >>> import brainstate, jax, jax.numpy as jnp
        >>> @brainstate.transform.named_call(name="block")
        ... def block(x):
        ...     return jnp.sin(x) * 2.0
        >>> eqn = jax.make_jaxpr(block)(1.0).eqns[0]
        >>> str(eqn.source_info.name_stack)
        'block'
    """

    def decorate(f: Callable) -> Callable:
        scope = name if name is not None else getattr(f, "__name__", "named_call")

        @functools.wraps(f)
        def named(*args: Any, **kwargs: Any) -> Any:
            with jax.named_scope(scope):
                return f(*args, **kwargs)

        return named

    return decorate if fun is None else decorate(fun)


def in_new_state_probe() -> bool:
    """Whether the code calling it runs in a discovery run, whose results brainstate throws away.

    The first eager call of a transformation (``vmap``, ``vmap_new_states``, ``grad`` ...) runs the
    function once abstractly (under ``jax.eval_shape``) to learn the States it touches, then for
    real. The discovery run's writes are undone and the States it creates are dropped, so a one-off
    side effect tied to the objects it creates (compiling and caching something built over freshly
    created states, say) should be skipped while this is true. Idempotent work needs no care.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> seen = []
        >>> def make():
        ...     seen.append(brainstate.transform.in_new_state_probe())
        ...     return brainstate.HiddenState(jnp.zeros(2))
        >>> brainstate.transform.vmap_new_states(make, axis_size=3)().value.shape
        (3, 2)
        >>> seen
        [True, False]
    """
    return DISCOVERING.depth > 0


_USAGES = ("all", "read", "write", "both")
_RETURNS = ("dict", "list", "tuple")


class StateFinder:
    """Find the States a function touches for given arguments, filtered and arranged as asked.

    Nothing runs for real: the function is traced abstractly and no State changes.

    Args:
        fn: the function.
        filter: keep only the states it matches (a State type, a tag, a predicate ``(path, state)``, ...).
        usage: ``'all'`` the states touched, ``'read'`` those only read, ``'write'`` those written, or
            ``'both'``: ``{'read': ..., 'write': ...}``.
        return_type: ``'dict'`` (keyed by ``key_fn``), ``'list'`` or ``'tuple'``, in order of first use.
        key_fn: ``key_fn(index, state)`` gives the dict key (default: the index); a key that is
            ``None`` or already used falls back to the state's name, then to ``state_<index>``.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> w = brainstate.ParamState(jnp.ones(2))
        >>> h = brainstate.HiddenState(jnp.zeros(2))
        >>> def step(x):
        ...     h.value = w.value * x
        ...     return h.value
        >>> finder = brainstate.transform.StateFinder(step, usage="both", return_type="list")
        >>> found = finder(1.0)
        >>> found["read"] == [w], found["write"] == [h]
        (True, True)
        >>> brainstate.transform.StateFinder(step, brainstate.ParamState)(1.0) == {0: w}
        True
    """

    def __init__(
        self,
        fn: Callable,
        filter: FilterLike | None = None,  # noqa: A002 - upstream's name
        *,
        usage: Literal["all", "read", "write", "both"] = "all",
        return_type: Literal["dict", "list", "tuple"] = "dict",
        key_fn: Callable[[int, State], Hashable] | None = None,
    ) -> None:
        if usage not in _USAGES:
            raise ConfigError(f"StateFinder: usage must be one of {_USAGES}, got {usage!r}.")
        if return_type not in _RETURNS:
            raise ConfigError(f"StateFinder: return_type must be one of {_RETURNS}, got {return_type!r}.")
        self.fn = fn
        self.usage = usage
        self.return_type = return_type
        self._filter = None if filter is None else to_predicate(filter)
        self._key_fn = key_fn if key_fn is not None else (lambda i, state: i)
        self.stateful_fn = StatefulFunction(fn)

    def __repr__(self) -> str:
        return f"brainstate.transform.StateFinder({fun_name(self.fn)}, usage={self.usage!r})"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.find(*args, **kwargs)

    def find(self, *args: Any, **kwargs: Any) -> Any:
        """The states ``fn(*args, **kwargs)`` touches, as configured."""
        sf = self.stateful_fn
        if self.usage == "both":
            return {"read": self._arrange(sf.get_read_states(*args, **kwargs)),
                    "write": self._arrange(sf.get_write_states(*args, **kwargs))}
        get = {"all": sf.get_states, "read": sf.get_read_states, "write": sf.get_write_states}[self.usage]
        return self._arrange(get(*args, **kwargs))

    def _arrange(self, states: Sequence[State]) -> Any:
        if self._filter is not None:
            states = [s for s in states if self._filter((), s)]
        if self.return_type == "list":
            return list(states)
        if self.return_type == "tuple":
            return tuple(states)
        out: dict[Hashable, State] = {}
        for i, state in enumerate(states):
            key = self._key_fn(i, state)
            try:
                hash(key)
            except TypeError:
                key = str(key)
            if key is None or key in out:
                base = getattr(state, "name", None) or f"state_{i}"
                key, n = base, 1
                while key in out:
                    key, n = f"{base}_{n}", n + 1
            out[key] = state
        return out
