"""Test-suite configuration shared by every package: doctests of objects that show a public home.

The wheels and the meta-package give their public classes and functions the ``__module__`` users import
them from (``brainstate.nn.Linear``; see ``brainstate_core.internal.set_home``). The standard doctest
finder decides that an object belongs to the module it is collected from by that name, and so would
skip every such docstring in the file that defines it. Here it asks for the defining module instead.
"""

import doctest

import brainstate  # noqa: F401 - every test sees the public homes (``brainstate.StateShapeError`` in doctests)
from brainstate_core.internal import defined_in

_from_module = doctest.DocTestFinder._from_module


def _defined_here(self, module, obj):
    home = defined_in(obj)
    if module is not None and home is not None:
        return module.__name__ == home
    return _from_module(self, module, obj)


doctest.DocTestFinder._from_module = _defined_here
