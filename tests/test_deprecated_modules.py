"""Upstream's old module names ``brainstate.compile``, ``brainstate.augment`` and ``brainstate.functional``."""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings

import pytest

import brainstate

CASES = [("compile", "transform", "jit"), ("compile", "transform", "for_loop"), ("augment", "transform", "grad"),
         ("augment", "transform", "vmap"), ("functional", "nn", "relu"), ("functional", "nn", "softmax")]


@pytest.mark.parametrize("old, new, name", CASES)
def test_old_names_forward_to_the_new_home_and_warn_once(old, new, name):
    module = getattr(brainstate, old)
    module._warned.discard(name)
    with pytest.warns(DeprecationWarning, match=rf"brainstate\.{old}\.{name} is deprecated: use brainstate\.{new}\.{name}"):
        value = getattr(module, name)
    assert value is getattr(getattr(brainstate, new), name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert getattr(module, name) is value  # the second use does not warn


@pytest.mark.parametrize("old", ["compile", "augment", "functional"])
def test_old_modules_are_importable(old):
    assert importlib.import_module(f"brainstate.{old}") is getattr(brainstate, old)


def test_from_import_works():
    code = ("import warnings; warnings.simplefilter('error')\n"
            "try:\n    from brainstate.compile import jit\nexcept DeprecationWarning as w:\n    print('warned:', w)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "warned: brainstate.compile.jit is deprecated: use brainstate.transform.jit" in out.stdout, out.stderr


def test_a_name_the_old_module_never_had_says_where_to_look():
    with pytest.raises(AttributeError, match=r"brainstate\.augment is deprecated and never had 'Linear'.*brainstate\.transform"):
        _ = brainstate.augment.Linear


def test_a_forwarded_name_whose_new_home_is_missing_says_so(monkeypatch):
    monkeypatch.delattr(brainstate.transform, "make_jaxpr")
    with pytest.raises(AttributeError, match=r"new home brainstate\.transform\.make_jaxpr does not exist"):
        _ = brainstate.compile.make_jaxpr


def test_dir_lists_the_forwarded_names():
    assert "jit" in dir(brainstate.compile) and "grad" in dir(brainstate.augment) and "relu" in dir(brainstate.functional)
    assert repr(brainstate.compile) == "<deprecated module 'brainstate.compile': use 'brainstate.transform'>"
