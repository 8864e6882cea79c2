"""Generate the API reference pages from the public names of brainstate's modules, on every build.

The reference is never written by hand, so it cannot fall behind the code: when the build starts,
:func:`write_api_pages` imports every module in :data:`MODULES`, takes its public names
(:func:`public_names`: ``__all__`` where the module defines it, otherwise every attribute without a
leading underscore) and writes, under ``docs/api/_autogen/``:

- one page per module (``brainstate.nn.rst``): its docstring, then a summary table of its names,
  grouped by the private file that defines them (the heading is that file's docstring), and the
  list of its submodules;
- one page per name (``names/brainstate.nn.Linear.rst``), titled with the public path and
  holding the ``autoclass`` / ``autofunction`` / ``autodata`` of that path;
- ``toc.md``, the toctree of the module pages, included by the hand-written ``api/index.md``.

The name pages are ``:orphan:`` and reached through the tables, which keeps them out of the
sidebar (a sidebar of 700 entries on every page would make the site slow to build and to load).

This module does not import Sphinx, so ``tests/test_docs_api.py`` runs the generator without it and
checks that every public name gets its page. ``apixref.py`` (the other extension) resolves the
cross-references of the generated pages.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import shutil
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The public modules, in the order of the reference. A module that is the value of a public name of
# another (``brainstate.nn.init``, ``brainstate.util.filter``) but not listed here gets its page too.
MODULES = [
    "brainstate",
    "brainstate.transform",
    "brainstate.random",
    "brainstate.nn",
    "brainstate.nn.init",
    "brainstate.nn.optim",
    "brainstate.surrogate",
    "brainstate.environ",
    "brainstate.graph",
    "brainstate.sharding",
    "brainstate.util",
    "brainstate.mixin",
    "brainstate.typing",
]
AUTOGEN = "_autogen"  # under docs/api/
_WHEELS = ("brainstate_core", "brainstate_transform", "brainstate_random", "brainstate_nn", "brainstate")


def public_names(module: types.ModuleType) -> list[str]:
    """The public names of ``module``: its ``__all__``, or else every attribute not starting with ``_``."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [name for name in vars(module) if not name.startswith("_")]
    return list(names)


@dataclass
class Entry:
    """One public name of one module and the page that documents it."""

    module: str  # public module path, "brainstate.nn"
    name: str  # "Linear"
    kind: str  # "class", "exception", "function", "data" or "module"
    obj: Any = field(repr=False)
    docname: str = ""  # page (relative to docs/api/_autogen/, no suffix); for a module entry, its module page

    @property
    def fullname(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass
class ModulePage:
    name: str
    module: types.ModuleType = field(repr=False)
    entries: list[Entry] = field(default_factory=list)
    alias_of: str | None = None  # the module's page if this public path is another name for it


def _kind(obj: Any) -> str:
    if isinstance(obj, types.ModuleType):
        return "module"
    if isinstance(obj, type):
        return "exception" if issubclass(obj, BaseException) else "class"
    if callable(obj) and not _is_typing_construct(obj):
        return "function"
    return "data"


def _is_typing_construct(obj: Any) -> bool:
    """Type aliases and type variables (``ArrayLike``, ``TypeVar('T')``): callable or not, they are data."""
    return type(obj).__module__ in ("typing", "types", "typing_extensions")


def collect(modules: list[str] = MODULES) -> list[ModulePage]:
    """Import ``modules`` and list their public names; submodules named by them are added after their parent."""
    pages: list[ModulePage] = []
    seen: dict[int, str] = {}  # id(module object) -> the first public path it was documented under
    queue = list(modules)
    listed = {id(importlib.import_module(path)) for path in modules}
    while queue:
        path = queue.pop(0)
        module = importlib.import_module(path)
        page = ModulePage(path, module, alias_of=seen.get(id(module)))
        seen.setdefault(id(module), path)
        pages.append(page)
        if page.alias_of:
            continue
        added = []
        for name in public_names(module):
            obj = getattr(module, name)
            entry = Entry(path, name, _kind(obj), obj)
            page.entries.append(entry)
            sub = f"{path}.{name}"
            if entry.kind == "module" and not _deprecated(obj) and id(obj) not in listed and sub not in queue:
                added.append(sub)
        # a submodule's page follows its parent's, before the next listed module
        queue[0:0] = [sub for sub in added if not any(p.name == sub for p in pages)]
    _assign_docnames(pages)
    return pages


def _deprecated(module: types.ModuleType) -> bool:
    return type(module).__name__ == "DeprecatedModule"


def _assign_docnames(pages: list[ModulePage]) -> None:
    """Page names: the public path, with ``-<kind>`` added where two names differ only in case (``ReLU``, ``relu``).

    Names that differ only in case would be one file on a case-insensitive file system.
    """
    by_module = {page.name: page for page in pages}
    for page in pages:
        lower: dict[str, int] = {}
        for entry in page.entries:
            lower[entry.name.lower()] = lower.get(entry.name.lower(), 0) + 1
        for entry in page.entries:
            if entry.kind == "module":
                target = _module_page_of(entry, by_module)
                entry.docname = target if target else ""
                continue
            suffix = f"-{entry.kind}" if lower[entry.name.lower()] > 1 else ""
            entry.docname = f"names/{entry.fullname}{suffix}"


def _module_page_of(entry: Entry, by_module: dict[str, ModulePage]) -> str | None:
    page = by_module.get(entry.fullname)
    if page is None:
        for other in by_module.values():
            if other.module is entry.obj:
                page = other
                break
    if page is None:
        return None
    return page.alias_of or page.name


# ---------------------------------------------------------------------------------------------------
# grouping by defining file


def _defining_file(obj: Any) -> str | None:
    """The source file that defines ``obj``: a function's code object, or the file of a class's own methods.

    A class without methods of its own (``Conv2d``, a thin subclass) goes with the nearest base
    class of brainstate's that has some.
    """
    code = getattr(inspect.unwrap(obj) if callable(obj) else obj, "__code__", None)
    if code is not None:
        return code.co_filename
    if not isinstance(obj, type):
        return None
    for cls in obj.__mro__[:-1]:
        file = _own_methods_file(cls)
        if file is not None and (cls is obj or any(Path(file).is_relative_to(root) for root in _wheel_dirs())):
            return file
    return None


def _wheel_dirs() -> list[Path]:
    return [Path(importlib.import_module(name).__file__).parent for name in _WHEELS]


def _own_methods_file(cls: type) -> str | None:
    for value in vars(cls).values():
        func = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
        func = func.fget if isinstance(func, property) else func
        code = getattr(func, "__code__", None)
        if code is not None and getattr(func, "__qualname__", "").startswith(cls.__qualname__ + "."):
            return code.co_filename
    return None


_SOURCES: dict[str, str] = {}


def _source(file: str | None) -> str:
    if not file or not file.endswith(".py"):
        return ""
    if file not in _SOURCES:
        try:
            _SOURCES[file] = Path(file).read_text(encoding="utf-8")
        except OSError:
            _SOURCES[file] = ""
    return _SOURCES[file]


def _heading_of(file: str | None) -> str | None:
    """The first sentence of the module docstring of ``file``: the heading of the names it defines."""
    if not file:
        return None
    try:
        doc = ast.get_docstring(ast.parse(_source(file)))
    except SyntaxError:
        return None
    if not doc:
        return None
    paragraph = " ".join(doc.split("\n\n")[0].split())
    match = re.match(r"(.+?[.!?])(\s|$)", paragraph)
    sentence = (match.group(1) if match else paragraph).rstrip(".")
    # "Recurrent cells: one time step of ...": the part before the colon, where it says enough
    topic, colon, _ = sentence.partition(": ")
    if colon and len(topic) >= 25 and _balanced(topic):
        sentence = topic
    if len(sentence) > 100:  # a long sentence is cut at its first comma or parenthesis outside backticks
        for match in re.finditer(r", | \(", sentence):
            head = sentence[: match.start()]
            if len(head) >= 25 and _balanced(head):
                sentence = head
                break
    return sentence or None


def _balanced(text: str) -> bool:
    """Whether ``text`` closes every inline literal (````x````) and role (```x```) it opens."""
    return "`" not in re.sub(r"``.+?``|`[^`]+`", "", text)


_KIND_HEADINGS = {"class": "Classes", "exception": "Exceptions", "function": "Functions", "data": "Constants and types"}


def groups(page: ModulePage) -> list[tuple[str, list[Entry]]]:
    """The entries of ``page`` (modules left out) under headings, in the order they first appear.

    A name defined in a private file of a wheel goes under that file's docstring; anything else
    (defined in the public module itself, or re-exported from JAX) under its kind.
    """
    out: dict[str, list[Entry]] = {}
    for entry in page.entries:
        if entry.kind == "module":
            continue
        file = _defining_file(entry.obj) if entry.kind != "data" else None
        private = file is not None and Path(file).name.startswith("_") and Path(file).name != "__init__.py"
        heading = (_heading_of(file) if private else None) or _KIND_HEADINGS[entry.kind]
        out.setdefault(heading, []).append(entry)
    return list(out.items())


# ---------------------------------------------------------------------------------------------------
# writing the pages


def _title(text: str, char: str = "=") -> str:
    return f"{text}\n{char * max(len(text), 3)}\n"


_DIRECTIVE = {"class": "autoclass", "exception": "autoexception", "function": "autofunction", "data": "autodata"}


def name_page(entry: Entry, no_index: bool = False) -> str:
    """The reST of the page of one name: the public path as title, then its autodoc directive.

    ``no_index``: an earlier page already documents the same object under another path, and autodoc
    registers every description under the object's own path too (``:canonical:``), so indexing it
    again would describe that path twice. References to this path still resolve: ``apixref`` maps an
    unresolved path to the first documented path of the same object.
    """
    options = "   :no-index:\n" if no_index else ""
    if entry.kind in ("class", "exception"):
        options += "   :members:\n   :show-inheritance:\n"
    return (
        f":orphan:\n\n{_title(entry.fullname)}\n"
        f".. currentmodule:: {entry.module}\n\n"
        f".. {_DIRECTIVE[entry.kind]}:: {entry.name}\n{options}"
    )


def module_page(page: ModulePage) -> str:
    """The reST of a module's page: docstring, summary tables by topic, submodules."""
    lines = [_title(page.name)]
    if page.alias_of:
        return "\n".join([*lines, f"``{page.name}`` is another name of the same module object: see "
                          f":doc:`{page.alias_of}`.", ""])
    lines += [f".. automodule:: {page.name}", "   :no-members:", "", f".. currentmodule:: {page.name}", ""]
    for heading, entries in groups(page):
        lines += [_title(heading, "-"), ".. autosummary::", "   :nosignatures:", ""]
        lines += [f"   {entry.name}" for entry in entries]
        lines.append("")
    modules = [entry for entry in page.entries if entry.kind == "module"]
    if modules:
        lines += [_title("Submodules", "-")]
        for entry in modules:
            if entry.docname:
                lines.append(f"- :doc:`{entry.fullname} <{entry.docname}>`")
            elif _deprecated(entry.obj):
                lines.append(f"- ``{entry.fullname}``: upstream's old module name, importable with a "
                             f"deprecation warning (see :doc:`/migration`)")
        lines.append("")
    return "\n".join(lines)


def toc(pages: list[ModulePage]) -> str:
    """The MyST toctree of the module pages, in reference order (included by ``api/index.md``)."""
    body = "\n".join(f"/api/{AUTOGEN}/{page.name}" for page in pages)
    return f"```{{toctree}}\n:maxdepth: 1\n\n{body}\n```\n"


def write_api_pages(api_dir: Path, modules: list[str] = MODULES) -> list[ModulePage]:
    """Write the pages of :func:`collect` under ``api_dir/_autogen`` (emptied first); return what was written."""
    pages = collect(modules)
    out = Path(api_dir) / AUTOGEN
    if out.exists():
        shutil.rmtree(out)
    (out / "names").mkdir(parents=True)
    documented: set[int] = set()
    for page in pages:
        (out / f"{page.name}.rst").write_text(module_page(page), encoding="utf-8")
        for entry in page.entries:
            if entry.kind != "module":
                twice = id(entry.obj) in documented
                (out / f"{entry.docname}.rst").write_text(name_page(entry, no_index=twice), encoding="utf-8")
                if entry.kind in ("class", "exception", "function"):
                    documented.add(id(entry.obj))
    (out / "toc.md").write_text(toc(pages), encoding="utf-8")
    return pages


# ---------------------------------------------------------------------------------------------------
# the Sphinx extension: write the pages when the build starts

PAGES: list[ModulePage] = []  # what the current build documents (filled when the build starts)


def _on_builder_inited(app: Any) -> None:
    PAGES[:] = write_api_pages(Path(app.srcdir) / "api")


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", _on_builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
