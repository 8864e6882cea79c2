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
from types import ModuleType

__all__ = ["alias_module"]


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
