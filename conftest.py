"""Test-suite configuration shared by every package: doctests of objects that show a public home, and a
cheaper tracer-leak checker (:func:`pytest_runtest_setup`).

The wheels and the meta-package give their public classes and functions the ``__module__`` users import
them from (``brainstate.nn.Linear``; see ``brainstate_core.internal.set_home``). The standard doctest
finder decides that an object belongs to the module it is collected from by that name, and so would
skip every such docstring in the file that defines it. Here it asks for the defining module instead.
"""

import doctest
import gc

import brainstate  # noqa: F401 - every test sees the public homes (``brainstate.StateShapeError`` in doctests)
from brainstate_core.internal import defined_in

_from_module = doctest.DocTestFinder._from_module


def _defined_here(self, module, obj):
    home = defined_in(obj)
    if module is not None and home is not None:
        return module.__name__ == home
    return _from_module(self, module, obj)


doctest.DocTestFinder._from_module = _defined_here


def pytest_runtest_setup(item):
    """Under JAX's tracer-leak checker (``nox -s checking_leaks``), freeze what is alive before each test.

    The checker runs a full ``gc.collect()`` whenever a finished trace is still referenced, walking every
    object a worker holds (the whole collected suite and JAX's caches). ``gc.freeze()`` moves the objects
    alive before the test out of the collector's sight (reference counting still frees them), so each
    collection walks only what the test made, which is where a leaked tracer is (four nn test files
    took 59 s instead of 72). Nothing the checker looks for is hidden: a leaked tracer is made in the test.
    """
    import jax

    if jax.config.jax_check_tracer_leaks:
        gc.collect()
        gc.freeze()
