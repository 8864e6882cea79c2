"""Every public class and function shows the ``brainstate.*`` path users import it from (issue 15).

``brainstate_core.internal.set_public_home`` gives each wheel's objects their wheel-level home
(``brainstate_nn.Linear``) and the meta-package then gives each its shortest ``brainstate.*`` path;
the doctest collector (the repository's ``conftest.py``) still finds their docstrings in the files
that define them.
"""

import pickle
import subprocess
import sys
import types

import pytest

import brainstate

PUBLIC = ["brainstate", "brainstate.environ", "brainstate.graph", "brainstate.mixin", "brainstate.nn",
          "brainstate.nn.init", "brainstate.nn.optim", "brainstate.random", "brainstate.surrogate",
          "brainstate.transform", "brainstate.typing", "brainstate.util", "brainstate.util.filter",
          "brainstate.util.struct"]
WHEELS = ("brainstate_core", "brainstate_transform", "brainstate_random", "brainstate_nn")


def ours(module: str):
    mod = sys.modules[module]
    for name in getattr(mod, "__all__", None) or [n for n in vars(mod) if not n.startswith("_")]:
        obj = getattr(mod, name, None)
        if isinstance(obj, (type, types.FunctionType)) and obj.__module__.partition(".")[0] in (*WHEELS, "brainstate"):
            yield name, obj


@pytest.mark.parametrize("module", PUBLIC)
def test_public_objects_show_a_public_brainstate_home(module):
    checked = 0
    for name, obj in ours(module):
        home = obj.__module__
        assert home.startswith("brainstate") and not home.startswith(WHEELS), f"{module}.{name}: {home}"
        assert not any(p.startswith("_") for p in home.split(".")), f"{module}.{name}: {home}"
        assert getattr(sys.modules[home], obj.__name__) is obj, f"{module}.{name} is not {home}.{obj.__name__}"
        checked += 1
    assert checked > 0


@pytest.mark.parametrize("obj, home", [
    (brainstate.State, "brainstate"), (brainstate.StateUsageError, "brainstate"),
    (brainstate.transform.jit, "brainstate.transform"), (brainstate.nn.Linear, "brainstate.nn"),
    (brainstate.random.RandomState, "brainstate.random"), (brainstate.surrogate.Sigmoid, "brainstate.surrogate"),
    (brainstate.nn.init.KaimingNormal, "brainstate.nn.init"), (brainstate.util.DotDict, "brainstate.util"),
])
def test_the_shortest_public_path_is_the_home_and_pickles(obj, home):
    assert obj.__module__ == home
    assert pickle.loads(pickle.dumps(obj)) is obj
    if isinstance(obj, type):
        assert repr(obj) == f"<class '{home}.{obj.__qualname__}'>"


def test_a_wheel_without_the_meta_package_shows_its_own_home():
    code = ("import sys, brainstate_nn as nn, brainstate_core as bc, brainstate_transform as T; "
            "assert 'brainstate' not in sys.modules; "
            "print(nn.Linear.__module__, bc.State.__module__, T.jit.__module__, bc.internal.defined_in(bc.State))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["brainstate_nn", "brainstate_core", "brainstate_transform", "brainstate_core._state"]


def test_doctests_are_collected_where_the_objects_are_defined(pytestconfig):
    import doctest

    import brainstate_core._state as defining

    names = {t.name for t in doctest.DocTestFinder().find(defining)}
    assert "brainstate_core._state.State" in names  # the class's home is brainstate, its file _state.py
    assert not {t.name for t in doctest.DocTestFinder().find(sys.modules["brainstate"])} & {"brainstate.State"}
