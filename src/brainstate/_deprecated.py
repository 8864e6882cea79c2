"""Upstream brainstate's old module names, kept so that old programs run: ``brainstate.compile``,
``brainstate.augment`` and ``brainstate.functional``.

Each is a module object (importable, ``from brainstate.compile import jit`` works) that forwards the
names upstream forwarded to their new home, warning once per name with a ``DeprecationWarning`` that
names the new spelling. Any other name is an ``AttributeError`` that says where to look instead.
"""

from __future__ import annotations

import importlib
import sys
import types
import warnings
from typing import Any

__all__ = ["DeprecatedModule", "install"]

# old module -> (new module, the names upstream forwarded from it)
_RENAMED: dict[str, tuple[str, tuple[str, ...]]] = {
    "compile": ("transform", (
        "checkpoint", "remat", "cond", "switch", "ifelse", "jit_error_if", "jit", "scan", "checkpointed_scan",
        "for_loop", "checkpointed_for_loop", "while_loop", "bounded_while_loop", "StatefulFunction", "make_jaxpr",
        "ProgressBar",
    )),
    "augment": ("transform", (
        "GradientTransform", "grad", "vector_grad", "hessian", "jacobian", "jacrev", "jacfwd", "vmap",
    )),
    "functional": ("nn", (
        "weight_standardization", "clip_grad_norm", "tanh", "relu", "squareplus", "softplus", "soft_sign", "sigmoid",
        "silu", "swish", "log_sigmoid", "elu", "leaky_relu", "hard_tanh", "celu", "selu", "gelu", "glu", "logsumexp",
        "log_softmax", "softmax", "standardize", "relu6", "hard_sigmoid", "sparse_plus", "hard_silu", "hard_swish",
        "hard_shrink", "rrelu", "mish", "soft_shrink", "prelu", "softmin", "one_hot", "sparse_sigmoid",
    )),
}


class DeprecatedModule(types.ModuleType):
    """A module whose names are those of another module, each warning once when first used.

    Example:
        >>> import warnings, brainstate
        >>> old = DeprecatedModule("brainstate.compile", "brainstate.transform", ("jit",))
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     jit = old.jit
        >>> jit is brainstate.transform.jit
        True
        >>> print(caught[0].message)
        brainstate.compile.jit is deprecated: use brainstate.transform.jit (brainstate.compile was renamed brainstate.transform).
    """

    def __init__(self, name: str, target: str, names: tuple[str, ...]) -> None:
        super().__init__(name, f"Deprecated: use {target} (the names of upstream's {name}).")
        self._target, self._names, self._warned = target, frozenset(names), set()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in self._names:
            raise AttributeError(
                f"{self.__name__} is deprecated and never had {name!r}. Fix: look for it in {self._target}."
            )
        target = importlib.import_module(self._target)
        try:
            value = getattr(target, name)
        except AttributeError:
            raise AttributeError(
                f"{self.__name__}.{name} is deprecated, and its new home {self._target}.{name} does not exist in "
                "this version of brainstate yet."
            ) from None
        if name not in self._warned:
            self._warned.add(name)
            warnings.warn(
                f"{self.__name__}.{name} is deprecated: use {self._target}.{name} "
                f"({self.__name__} was renamed {self._target}).",
                DeprecationWarning,
                stacklevel=2,
            )
        return value

    def __dir__(self) -> list[str]:
        return sorted(self._names)

    def __repr__(self) -> str:
        return f"<deprecated module {self.__name__!r}: use {self._target!r}>"


def install(package: str) -> dict[str, DeprecatedModule]:
    """Create the old modules of ``package`` and register them in ``sys.modules``; return them by short name."""
    modules = {}
    for old, (new, names) in _RENAMED.items():
        module = DeprecatedModule(f"{package}.{old}", f"{package}.{new}", names)
        sys.modules[module.__name__] = module
        modules[old] = module
    return modules
