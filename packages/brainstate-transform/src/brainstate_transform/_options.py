"""Checking the options given to a transformation when it is built."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable

__all__ = ["reject_unknown"]


def reject_unknown(where: str, given: Iterable[str], accepts: Callable, taken: Iterable[str] = ()) -> None:
    """Raise ``TypeError`` naming the first keyword in ``given`` that ``accepts`` does not take.

    ``taken`` are parameters of ``accepts`` that the transformation sets itself. Checked when the
    transformation is built, not when the wrapped JAX function is first called.
    """
    params = inspect.signature(accepts).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    allowed = [p.name for p in params if p.kind in named and p.name not in set(taken)]
    unknown = [k for k in given if k not in allowed]
    if unknown:
        extra = f"its other options are {', '.join(allowed)}" if allowed else "it takes no other options"
        raise TypeError(f"{where}() got an unexpected keyword argument {unknown[0]!r}; {extra}.")
