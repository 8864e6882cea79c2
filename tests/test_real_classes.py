"""Every public class is a ``class`` statement with a readable signature (issue 15, "Real classes").

Classes made at run time (``type(name, bases, namespace)``) are ``Any`` to type checkers and have no
definition for an IDE to jump to; here each public class must appear as ``class Name`` in the file of
the module that defines it, and ``inspect.signature`` must read its constructor.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
from pathlib import Path

import pytest

import brainstate
from brainstate_core import internal

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = ["brainstate", "brainstate.environ", "brainstate.graph", "brainstate.mixin", "brainstate.nn",
          "brainstate.nn.init", "brainstate.nn.optim", "brainstate.random", "brainstate.surrogate",
          "brainstate.transform", "brainstate.typing", "brainstate.util", "brainstate.util.filter",
          "brainstate.util.struct", "brainstate.interop"]
WHEELS = ("brainstate_core", "brainstate_transform", "brainstate_random", "brainstate_nn")
SOURCES = sorted([*ROOT.glob("src/brainstate/**/*.py"), *ROOT.glob("packages/*/src/**/*.py")])


def public_classes(module_name: str) -> list[tuple[str, type]]:
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    found = []
    for name in names:
        obj = getattr(module, name, None)
        if isinstance(obj, type) and home(obj).partition(".")[0] in (*WHEELS, "brainstate"):
            found.append((name, obj))
    return found


def home(cls: type) -> str:
    """The module whose file defines ``cls`` (``__module__`` shows the public home instead)."""
    return internal.defined_in(cls) or cls.__module__


CLASSES = sorted({(f"{m}.{name}", cls) for m in PUBLIC for name, cls in public_classes(m)}, key=lambda p: p[0])


def test_the_public_modules_have_classes():
    assert len(CLASSES) > 300
    assert {"brainstate.nn.Conv2d", "brainstate.nn.ReLU", "brainstate.nn.init.KaimingNormal",
            "brainstate.nn.BatchNorm2d", "brainstate.nn.MaxPool2d", "brainstate.surrogate.Sigmoid"} <= {
        name for name, _ in CLASSES}


@pytest.mark.parametrize("name, cls", CLASSES, ids=[name for name, _ in CLASSES])
def test_public_class_is_a_class_statement(name, cls):
    assert cls.__qualname__ == cls.__name__, f"{name} is not a top-level class: {cls.__qualname__}"
    source = Path(sys.modules[home(cls)].__file__).read_text()
    assert re.search(rf"^class {re.escape(cls.__name__)}\b", source, re.M), (
        f"{name}: no `class {cls.__name__}` statement in {home(cls)} (made at run time?)")


@pytest.mark.parametrize("name, cls", CLASSES, ids=[name for name, _ in CLASSES])
def test_public_class_has_a_readable_signature_and_a_docstring(name, cls):
    assert inspect.getdoc(cls), f"{name} has no docstring"
    try:
        inspect.signature(cls)
    except ValueError:
        # Python cannot describe the builtin constructors that exceptions and dict subclasses inherit
        assert issubclass(cls, (BaseException, dict)), f"{name}: inspect.signature cannot read its constructor"


def _runtime_classes(source: str, where: str) -> list[str]:
    """``type(name, bases, namespace)`` calls in ``source`` whose name is not a private literal."""
    calls = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "type" \
                and len(node.args) == 3:
            first = node.args[0]
            if not (isinstance(first, ast.Constant) and str(first.value).startswith("_")):
                calls.append(f"{where}:{node.lineno}")
    return calls


def test_no_source_makes_a_public_class_with_type():
    made = [call for path in SOURCES for call in _runtime_classes(path.read_text(), str(path.relative_to(ROOT)))]
    assert not made, f"classes made with type(name, bases, namespace): {made}"


def test_the_scan_finds_a_class_made_with_type():
    # what the scan above would report: a public class made the old way (a private sentinel is fine)
    source = "Conv9d = type(name, (Conv,), {})\n_MISSING = type('_Missing', (), {})()\nkind = type(x)\n"
    assert _runtime_classes(source, "sample.py") == ["sample.py:1"]


@pytest.mark.parametrize("generic, prefix", [
    ("Conv", "Conv"), ("ConvTranspose", "ConvTranspose"), ("ScaledWSConv", "ScaledWSConv"), (None, "MaxPool"),
    (None, "AvgPool"), (None, "LPPool"), (None, "MaxUnpool"), (None, "AdaptiveAvgPool"), (None, "AdaptiveMaxPool"),
    (None, "Dropout"), (None, "ReflectionPad"), (None, "ReplicationPad"), (None, "ZeroPad"), (None, "ConstantPad"),
    (None, "CircularPad"), (None, "BatchNorm"),
])
def test_dimension_variants_are_thin_subclasses_of_one_class(generic, prefix):
    variants = [getattr(brainstate.nn, f"{prefix}{n}d") for n in (1, 2, 3)]
    base = variants[0].__mro__[1]
    assert generic is None or base is getattr(brainstate.nn, generic)
    for n, cls in enumerate(variants, start=1):
        assert cls.__mro__[1] is base and cls.num_spatial_dims == n
        # one summary line, the prose the variants share (written once, on the base), the example
        doc = inspect.getdoc(cls)
        assert doc.splitlines()[0].strip() and ">>>" in doc and f"nn.{cls.__name__}(" in doc
        if generic is None:  # a private base: its docstring is the prose the variants share
            assert inspect.getdoc(base).splitlines()[0] in doc


def test_activation_modules_show_their_hyper_parameters():
    nn = brainstate.nn
    assert str(inspect.signature(nn.LeakyReLU)) == (
        "(negative_slope: 'float' = 0.01, *, in_size: 'Size | None' = None) -> 'None'")
    assert list(inspect.signature(nn.Softmax).parameters) == ["dim", "in_size"]
    assert list(inspect.signature(nn.ReLU).parameters) == ["in_size"]
    assert list(inspect.signature(nn.init.KaimingNormal).parameters)[:3] == ["scale", "mode", "distribution"]
    assert inspect.signature(nn.init.XavierUniform).parameters["mode"].default == "fan_avg"
