"""Checking the options given to a transformation when it is built."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import TypeVar

from ._traceback import boundary

__all__ = ["reject_unknown", "checked_options"]

F = TypeVar("F", bound=Callable)


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


def checked_options(where: str) -> Callable[[F], F]:
    """Decorate a transformation so that an unknown keyword is a ``TypeError`` listing its options.

    The options listed are the parameters with a default; the check costs one set comparison per call.
    The wrapper is an API boundary (its frame is hidden from the user's tracebacks).
    """

    def decorate(fun: F) -> F:
        params = inspect.signature(fun).parameters.values()
        named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        allowed = frozenset(p.name for p in params if p.kind in named)
        required = [p.name for p in params if p.kind in named and p.default is p.empty]

        @functools.wraps(fun)
        def checked(*args, **kwargs):
            if kwargs and not allowed.issuperset(kwargs):
                reject_unknown(where, [k for k in kwargs if k not in allowed], fun, required)
            return fun(*args, **kwargs)

        return boundary(checked)  # type: ignore[return-value]

    return decorate
