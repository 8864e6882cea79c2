"""The table of layer conversions: :class:`LayerMapping`, its registration, and lookup by type.

Each framework module (``_nnx``, ``_linen``, ``_equinox``) imports without its framework; its
``load()`` imports the framework and registers the built-in mappings, and runs the first time a
conversion for that framework does. So ``import brainstate`` never imports flax or equinox.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from collections.abc import Callable
from types import ModuleType
from typing import Any

import jax

from brainstate_core import ConfigError

from ._errors import InteropError, MissingDependencyError

__all__ = ["LayerMapping", "register_layer_mapping", "supported_layers", "FRAMEWORKS"]

# framework -> the module that registers its mappings (importable without the framework: see its load())
FRAMEWORKS: dict[str, str] = {
    "nnx": "brainstate_nn.interop._nnx",
    "linen": "brainstate_nn.interop._linen",
    "equinox": "brainstate_nn.interop._equinox",
}


@dataclasses.dataclass(frozen=True)
class LayerMapping:
    """How one brainstate layer type and one foreign layer type convert into each other.

    Both directions live in one object, so a layout difference (a transposed kernel, a reshaped
    bias) is written once per direction next to its inverse.

    Args:
        bst_type: the ``brainstate.nn.Module`` subclass.
        framework: ``'nnx'`` (``flax.nnx``), ``'linen'`` (``flax.linen``) or ``'equinox'``.
        foreign_type: the layer class of that framework.
        to_bst: ``(foreign_layer, ctx) -> brainstate module``: build the brainstate layer and fill
            its States with the foreign weights. For ``'linen'`` the first argument has the
            attributes ``module`` (the linen module) and ``variables`` (its slice of the variables,
            e.g. ``{'params': {'kernel': ...}}``).
        to_foreign: ``(bst_layer, ctx) -> foreign layer``: the reverse. For ``'linen'`` it returns
            the pair ``(linen_module, variables)``.

    ``ctx`` carries the conversion's options: ``ctx.cur_size`` (the shape of one unbatched input
    of the layer when known, else ``None``), ``ctx.rngs`` (an ``nnx.Rngs``) and ``ctx.next_key()``
    (a fresh PRNG key).

    A subclass of ``bst_type`` (or of ``foreign_type``) uses the mapping too, as long as it adds
    no method of its own (``__init__`` aside): a different computation needs its own mapping.

    Example:
        >>> import brainstate
        >>> m = brainstate.interop.LayerMapping(brainstate.nn.Linear, 'nnx', object, lambda f, c: f, lambda b, c: b)
        >>> m.framework
        'nnx'
    """

    bst_type: type
    framework: str
    foreign_type: type
    to_bst: Callable[[Any, Any], Any]
    to_foreign: Callable[[Any, Any], Any]


_IMPORT: dict[str, dict[type, LayerMapping]] = {}  # framework -> foreign type -> mapping
_EXPORT: dict[str, dict[type, LayerMapping]] = {}  # framework -> brainstate type -> mapping
_NO_IMPORT: dict[str, dict[type, str]] = {}  # framework -> foreign type -> why it does not convert
_NO_EXPORT: dict[str, dict[type, str]] = {}  # framework -> brainstate type -> why it does not convert
_LOADED: dict[str, ModuleType] = {}


def check_framework(framework: Any) -> str:
    if framework not in FRAMEWORKS:
        raise ConfigError(f"Unknown interop framework {framework!r}. Fix: pass one of {sorted(FRAMEWORKS)}.")
    return framework


def lazy_import(name: str) -> ModuleType:
    """Import ``name`` (``'flax.nnx'``, ``'equinox'``); a missing package raises :class:`MissingDependencyError`."""
    package = name.partition(".")[0]
    try:
        return importlib.import_module(name)
    except ImportError as err:
        hint = f"pip install 'brainstate-nn[{package}]' (or `pip install {package}`)"
        raise MissingDependencyError(package, hint) from err
    except Exception as err:  # installed, but its import fails: usually a release that does not match jax
        raise InteropError(
            f"The optional dependency {package!r} is installed but importing {name!r} failed with "
            f"{type(err).__name__}: {err}. This usually means its version does not match the installed jax "
            f"{jax.__version__}. Fix: install a release of {package} made for this jax (pip install -U {package})."
        ) from err


def load_framework(framework: str) -> ModuleType:
    """Import the module of ``framework`` (registering its built-in mappings) and return it."""
    check_framework(framework)
    if framework not in _LOADED:
        module_name = FRAMEWORKS[framework]
        module = importlib.import_module(module_name)
        module.load()
        _LOADED[framework] = module
    return _LOADED[framework]


def register_builtin(bst_type: type, framework: str, foreign_type: type, to_bst: Callable,
                     to_foreign: Callable) -> None:
    mapping = LayerMapping(bst_type, framework, foreign_type, to_bst, to_foreign)
    _IMPORT.setdefault(framework, {})[foreign_type] = mapping
    _EXPORT.setdefault(framework, {})[bst_type] = mapping


def register_unsupported(framework: str, reason: str, *, foreign: tuple = (), bst: tuple = ()) -> None:
    for t in foreign:
        _NO_IMPORT.setdefault(framework, {})[t] = reason
    for t in bst:
        _NO_EXPORT.setdefault(framework, {})[t] = reason


def register_layer_mapping(mapping: LayerMapping) -> None:
    """Add (or replace) the conversion of ``mapping.bst_type`` <-> ``mapping.foreign_type``, both ways.

    The framework's built-in mappings are loaded first, so a mapping registered here replaces a
    built-in one for the same types and is never overwritten later.

    Args:
        mapping: the :class:`LayerMapping`.

    Raises:
        ConfigError: ``mapping`` is not a LayerMapping, names an unknown framework, or its types or
            functions are not classes / callables.
        MissingDependencyError: the framework is not installed.

    Example:
        >>> import brainstate
        >>> brainstate.interop.register_layer_mapping('not a mapping')
        Traceback (most recent call last):
        ...
        brainstate.ConfigError: register_layer_mapping expects a brainstate.interop.LayerMapping, got str. ...
    """
    if not isinstance(mapping, LayerMapping):
        raise ConfigError(f"register_layer_mapping expects a brainstate.interop.LayerMapping, got "
                          f"{type(mapping).__name__}. Fix: pass LayerMapping(bst_type, framework, foreign_type, "
                          "to_bst, to_foreign).")
    check_framework(mapping.framework)
    for field in ("bst_type", "foreign_type"):
        if not inspect.isclass(getattr(mapping, field)):
            raise ConfigError(f"LayerMapping.{field} must be a class, got {getattr(mapping, field)!r}. "
                              "Fix: pass the layer class itself, not an instance.")
    for field in ("to_bst", "to_foreign"):
        if not callable(getattr(mapping, field)):
            raise ConfigError(f"LayerMapping.{field} must be a function (layer, ctx) -> layer, got "
                              f"{getattr(mapping, field)!r}. Fix: pass a callable.")
    load_framework(mapping.framework)
    _IMPORT.setdefault(mapping.framework, {})[mapping.foreign_type] = mapping
    _EXPORT.setdefault(mapping.framework, {})[mapping.bst_type] = mapping
    _NO_IMPORT.get(mapping.framework, {}).pop(mapping.foreign_type, None)
    _NO_EXPORT.get(mapping.framework, {}).pop(mapping.bst_type, None)


def _same_forward(sub: type, base: type) -> bool:
    """Whether ``sub`` (a subclass of ``base``) keeps ``base``'s computation.

    True when no class between them defines ``__call__`` or a method without a dunder name
    (``update``, ``_kernel``, ...); ``__init__`` and generated dunders (``__repr__``, ``__eq__``) are fine.
    """
    for cls in sub.__mro__:
        if cls is base:
            return True
        for name, value in vars(cls).items():
            computes = name == "__call__" or not name.startswith("__")
            if computes and (inspect.isfunction(value) or isinstance(value, (staticmethod, classmethod, property))):
                return False
    return False


def _find(table: dict[type, Any], cls: type) -> Any:
    if cls in table:
        return table[cls]
    for base in cls.__mro__[1:]:
        if base in table:
            return table[base] if _same_forward(cls, base) else None
    return None


def find_import(framework: str, foreign_type: type) -> LayerMapping | None:
    return _find(_IMPORT.get(framework, {}), foreign_type)


def find_export(framework: str, bst_type: type) -> LayerMapping | None:
    return _find(_EXPORT.get(framework, {}), bst_type)


def import_refusal(framework: str, foreign_type: type) -> str | None:
    table = _NO_IMPORT.get(framework, {})
    return next((table[c] for c in foreign_type.__mro__ if c in table), None)


def export_refusal(framework: str, bst_type: type) -> str | None:
    table = _NO_EXPORT.get(framework, {})
    return next((table[c] for c in bst_type.__mro__ if c in table), None)


def supported_layers(framework: str | None = None) -> dict[str, list[str]]:
    """The brainstate layer types that convert, per framework.

    Args:
        framework: ``'nnx'``, ``'linen'`` or ``'equinox'``; ``None`` for every framework that is
            installed (those that are not are left out, rather than raising).

    Returns:
        ``{framework: sorted brainstate class names}`` (mappings added with
        :func:`register_layer_mapping` included). ``Sequential`` stacks of these layers, and plain
        functions (activations) inside them, convert too.

    Raises:
        ConfigError: unknown ``framework``.
        MissingDependencyError: ``framework`` was named and is not installed.

    Example:
        >>> import brainstate
        >>> brainstate.interop.supported_layers('torch')
        Traceback (most recent call last):
        ...
        brainstate.ConfigError: Unknown interop framework 'torch'. Fix: pass one of ['equinox', 'linen', 'nnx'].
    """
    if framework is not None:
        names = [check_framework(framework)]
    else:
        names = []
        for fw in FRAMEWORKS:
            try:
                load_framework(fw)
            except InteropError:
                continue
            names.append(fw)
    out = {}
    for fw in names:
        load_framework(fw)
        out[fw] = sorted({t.__name__ for t in _EXPORT.get(fw, {})})
    return out
