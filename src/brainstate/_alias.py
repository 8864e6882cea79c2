"""Make a ``brainstate.<name>`` submodule the very module object of the wheel that implements it.

The meta-package owns no code: ``brainstate.environ`` *is* :mod:`brainstate_core.environ`, not a
copy of its names. One module object means one namespace, so module-level state, later rebinding of
a module global and ``monkeypatch.setattr`` all behave the same whichever name the caller used.

Each alias file in this package comes down to::

    from ._alias import alias_module

    alias_module(__name__, "brainstate_core.environ")

plus a ``TYPE_CHECKING`` star import of the target, for editors and type checkers.

Python's import system supports a module replacing its own ``sys.modules`` entry while it runs:
``import brainstate.environ`` and ``from brainstate import environ`` both hand back the replacement.
"""

from __future__ import annotations

import importlib
import sys
from types import FunctionType, ModuleType

from brainstate_core.internal import set_home

__all__ = ["alias_module", "show_public_homes"]

_WHEELS = ("brainstate_core", "brainstate_transform", "brainstate_random", "brainstate_nn")


def alias_module(name: str, target: str) -> ModuleType:
    """Register the module ``target`` under the import name ``name`` and return it.

    Public submodules of ``target`` that are already imported (``brainstate_nn.init`` when
    ``target`` is ``brainstate_nn``) are registered as well (``brainstate.nn.init``), so that
    ``import brainstate.nn.init`` returns the same object instead of executing the file a second
    time under a new name. Private submodules (a component starting with ``_``) are not aliased.

    Args:
        name: the import name to claim, normally the calling module's ``__name__``.
        target: the import name of the implementing module.

    Returns:
        The target module, now also ``sys.modules[name]``.

    Example:
        >>> import brainstate, brainstate_core
        >>> import brainstate.environ
        >>> brainstate.environ is brainstate_core.environ is alias_module("brainstate.environ", "brainstate_core.environ")
        True
    """
    module = importlib.import_module(target)
    sys.modules[name] = module
    prefix = target + "."
    for full, sub in list(sys.modules.items()):
        if not full.startswith(prefix) or sub is None:
            continue
        rest = full[len(prefix) :]
        if not any(part.startswith("_") for part in rest.split(".")):
            sys.modules.setdefault(f"{name}.{rest}", sub)
    return module


def show_public_homes() -> None:
    """Give every public class and function of the wheels its shortest ``brainstate.*`` path as ``__module__``.

    ``brainstate.nn.Linear`` then shows as ``<class 'brainstate.nn.Linear'>`` in reprs, ``help`` and
    tracebacks, and pickles by that name. An object exported from several public modules takes the
    shortest path (``brainstate.State``, not ``brainstate.graph.State``; ``brainstate.surrogate.sigmoid``,
    not ``brainstate.nn.surrogate.sigmoid``). Without the meta-package the wheels show their own homes
    (``brainstate_nn.Linear``).

    Example:
        >>> import brainstate, pickle
        >>> brainstate.nn.Linear, brainstate.State.__module__
        (<class 'brainstate.nn.Linear'>, 'brainstate')
        >>> pickle.loads(pickle.dumps(brainstate.transform.jit)) is brainstate.transform.jit
        True
    """
    homes: dict[int, tuple[tuple[int, int], str, type | FunctionType]] = {}
    for name, module in list(sys.modules.items()):
        if not (name == "brainstate" or name.startswith("brainstate.")) or not isinstance(module, ModuleType):
            continue
        if any(part.startswith("_") for part in name.split(".")):
            continue
        if name != "brainstate" and module.__name__.partition(".")[0] not in _WHEELS:
            continue  # upstream's old module names, kept for their warnings, are nobody's home
        rank = (name.count("."), len(name))
        for attr, obj in list(vars(module).items()):
            if attr.startswith("_") or not isinstance(obj, (type, FunctionType)):
                continue
            if str(obj.__module__).partition(".")[0] not in (*_WHEELS, "brainstate"):
                continue
            best = homes.get(id(obj))
            if best is None or rank < best[0]:
                homes[id(obj)] = (rank, name, obj)
    for _, name, obj in homes.values():
        set_home(obj, name)
