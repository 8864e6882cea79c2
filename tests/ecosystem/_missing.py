"""Which brainstate names a downstream library needs that this brainstate lacks.

Used by the smoke programs next to this file (run by ``nox -s ecosystem``), when importing the
library fails on a brainstate name. Two lists:

- ``import_time``: found by importing the library, and each time the import stops on a missing
  brainstate name (``cannot import name 'X' from 'brainstate.m'``, ``module 'brainstate.m' has no
  attribute 'X'``, ``No module named 'brainstate.m'``), putting a placeholder class there in this
  process only and importing again, until the import goes through or stops on something else.
  These names block ``import library``.
- ``referenced``: every dotted ``brainstate.*`` name in the library's source (imports and attribute
  chains, test files left out) that does not resolve here. A static scan: some are reached only
  by code the smoke program does not run.

The placeholders make no library code run: once one is needed, the smoke program reports the names
and exits with ``MISSING_NAMES``; it never runs anything on top of placeholders. When the import stops
on an error that is not a missing name (a class layout brainstate does not allow, say), that error and
where it happened are reported too, with ``INCOMPATIBLE`` if no name was missing.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import sys
import traceback
import types
from pathlib import Path

# Exit codes of a smoke program, and the lines the nox session reads from its output.
MISSING_NAMES = 3  # the import needs brainstate names that are missing: "MISSING-NAMES <library>: a.b, c.d"
INCOMPATIBLE = 4  # the import fails on something else in brainstate: "STOPPED-ON <library>: <error> (at <where>)"
MARKER = "MISSING-NAMES"
STOP_MARKER = "STOPPED-ON"

_CANNOT_IMPORT = re.compile(r"cannot import name '(\w+)' from '([\w.]+)'")
_FAMILY = ("brainstate", "brainstate_core", "brainstate_transform", "brainstate_random", "brainstate_nn")


def _ours(module_name: str) -> bool:
    return module_name.split(".")[0] in _FAMILY


def public_name(module: types.ModuleType) -> str:
    """``brainstate.nn`` for the module object ``brainstate_nn`` (the meta-package aliases them)."""
    names = [key for key, value in list(sys.modules.items()) if value is module and key.split(".")[0] == "brainstate"]
    return min(names, key=len) if names else module.__name__


class _AnyMeta(type):
    def __getattr__(cls, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return cls()


class _Any(metaclass=_AnyMeta):
    """Takes the place of a missing name just far enough for the import to go on: it can be
    subclassed, called with anything (as a decorator it returns what it decorates), subscripted,
    and every attribute of it is another one."""

    def __init__(self, *args, **kwargs):
        pass

    def __init_subclass__(cls, **kwargs):
        pass

    def __class_getitem__(cls, item):
        return cls

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _Any()

    def __call__(self, *args, **kwargs):
        return args[0] if len(args) == 1 and not kwargs and callable(args[0]) else _Any()


def _placeholder(name: str) -> type:
    module, _, short = name.rpartition(".")
    return _AnyMeta(short, (_Any,), {"__module__": module, "__doc__": f"missing: {name}"})


class _RecordingModule(types.ModuleType):
    """A stand-in for a missing brainstate module: every name taken from it is recorded as missing."""

    def __init__(self, name: str, found: list[str]):
        super().__init__(name)
        self.__path__ = []  # a package, so submodules of it can be stood in for too
        self._found = found

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        self._found.append(f"{self.__name__}.{attr}")
        value = _placeholder(f"{self.__name__}.{attr}")
        setattr(self, attr, value)
        return value


def _stand_in(error: BaseException, found: list[str]) -> bool:
    """Record the brainstate name ``error`` is about and put a placeholder there; False if it is not one."""
    if isinstance(error, ModuleNotFoundError) and error.name and _ours(error.name):
        found.append(error.name)
        sys.modules[error.name] = module = _RecordingModule(error.name, found)
        parent, _, child = error.name.rpartition(".")
        if parent in sys.modules:
            setattr(sys.modules[parent], child, module)
        return True
    if isinstance(error, ImportError) and (match := _CANNOT_IMPORT.search(str(error))):
        attr, module_name = match.groups()
        module = sys.modules.get(module_name)
        if module is None or not _ours(module_name):
            return False
        found.append(f"{public_name(module)}.{attr}")
        setattr(module, attr, _placeholder(f"{public_name(module)}.{attr}"))
        return True
    if isinstance(error, AttributeError) and error.name:
        obj = error.obj
        if isinstance(obj, types.ModuleType) and _ours(obj.__name__):
            where = public_name(obj)
        elif isinstance(obj, type) and _ours(obj.__module__):
            where = f"brainstate.{obj.__qualname__}" if getattr(sys.modules["brainstate"], obj.__name__, None) is obj \
                else f"{obj.__module__}.{obj.__qualname__}"
        else:
            return False
        found.append(f"{where}.{error.name}")
        setattr(obj, error.name, _placeholder(f"{where}.{error.name}"))
        return True
    return False


def import_time(library: str, packages: tuple[str, ...] = (), limit: int = 200) -> tuple[list[str], BaseException | None]:
    """The brainstate names that block ``import library``, and the error the import stopped on, if any.

    ``packages``: the downstream top-level packages whose modules are imported afresh on each try
    (those the library imports that may themselves stop on a brainstate name). Call it in a process
    whose only job left is to report: it leaves placeholders behind.
    """
    found: list[str] = []
    fresh = {library.split(".")[0], *packages}
    for _ in range(limit):
        for key in [k for k in sys.modules if k.split(".")[0] in fresh]:
            del sys.modules[key]
        try:
            importlib.import_module(library)
            return found, None
        except Exception as error:  # noqa: BLE001  (reported, not handled)
            if not isinstance(error, ImportError | AttributeError) or not _stand_in(error, found):
                return found, error
    return found, RuntimeError(f"gave up after {limit} missing names")


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:]:
            try:
                obj = getattr(obj, part)
            except Exception:  # noqa: BLE001  (a deprecated name's warning-as-error, a failing property)
                return False
        return True
    return False


def _references(tree: ast.AST) -> set[str]:
    aliases: dict[str, str] = {}
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for item in node.names:
                if item.name.split(".")[0] == "brainstate":
                    found.add(item.name)
                    aliases[item.asname or "brainstate"] = item.name if item.asname else "brainstate"
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and \
                node.module.split(".")[0] == "brainstate":
            for item in node.names:
                if item.name != "*":
                    found.add(f"{node.module}.{item.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            parts, inner = [], node
            while isinstance(inner, ast.Attribute):
                parts.append(inner.attr)
                inner = inner.value
            if isinstance(inner, ast.Name) and inner.id in aliases:
                found.add(".".join([aliases[inner.id], *reversed(parts)]))
    return found


def referenced(package_dir: Path) -> list[str]:
    """Dotted ``brainstate.*`` names in the package's source that do not resolve here (shortest form)."""
    names: set[str] = set()
    for path in package_dir.rglob("*.py"):
        if path.name.endswith("_test.py") or path.name.startswith("test_") or "tests" in path.parts:
            continue
        try:
            names |= _references(ast.parse(path.read_text(encoding="utf-8")))
        except (SyntaxError, UnicodeDecodeError):
            continue
    missing = set()
    for name in sorted(names):
        parts = name.split(".")
        for cut in range(2, len(parts) + 1):
            if not _resolves(".".join(parts[:cut])):
                missing.add(".".join(parts[:cut]))
                break
    return sorted(missing)


def _where(error: BaseException) -> str:
    """``file:line: source`` of the innermost frame of ``error`` outside this file."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename != __file__]
    return f"{frames[-1].filename}:{frames[-1].lineno}: {frames[-1].line}" if frames else "?"


def report_and_exit(library: str, first_error: BaseException, packages: tuple[str, ...] = ()) -> None:
    """Print what ``library`` needs from brainstate (see the module docstring) and exit.

    ``packages``: the other downstream packages that ``library`` imports (see ``import_time``).
    Exits ``MISSING_NAMES`` when names are missing; ``INCOMPATIBLE`` when the import stops on an error
    that is not about a missing name (a difference in behaviour); re-raises ``first_error`` when it is
    not about brainstate at all.
    """
    blocking, stopped_on = import_time(library, packages)
    if not blocking and stopped_on is None:
        raise first_error
    static: list[str] = []
    for package in dict.fromkeys((library.split(".")[0], *packages)):
        spec = importlib.util.find_spec(package) if package not in sys.modules else sys.modules[package].__spec__
        if spec is not None and spec.origin:
            static += [n for n in referenced(Path(spec.origin).parent) if n not in blocking and n not in static]
    print(f"{library}: `import {library}` fails on this brainstate.")
    print(f"  first error: {type(first_error).__name__}: {first_error}")
    print(f"  names needed at import time and missing here ({len(blocking)}): {', '.join(blocking) or 'none'}")
    if stopped_on is not None:
        print(f"  with those stood in for, the import stopped on an error that is not a missing name "
              f"(more names may be needed after it):\n    {type(stopped_on).__name__}: {stopped_on}\n"
              f"    at {_where(stopped_on)}")
    print(f"  referenced elsewhere in the source of {', '.join(dict.fromkeys((library.split('.')[0], *packages)))} "
          f"and missing here ({len(static)}): {', '.join(static) or 'none'}")
    if blocking:
        print(f"{MARKER} {library}: {', '.join(blocking)}")
    if stopped_on is not None:
        print(f"{STOP_MARKER} {library}: {type(stopped_on).__name__}: {stopped_on} (at {_where(stopped_on)})")
    sys.stdout.flush()
    sys.exit(MISSING_NAMES if blocking else INCOMPATIBLE)
