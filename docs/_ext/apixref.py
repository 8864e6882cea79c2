"""Cross-references of the API reference: private homes to public paths, and what Sphinx cannot parse.

Signatures and base-class lists name objects where they are defined (``brainstate_nn._linear.Linear``,
``brainstate_core._state.State``), but the reference documents them under their public paths
(``brainstate.nn.Linear``). This Sphinx extension

- resolves a reference Sphinx could not to the public path of the same object (by identity), and
  renders one to something real without a page of its own (a type variable, a private alias, an
  undocumented member) as plain text, so that only a reference to nothing fails the build;
- shows a private base class as its public bases;
- makes signatures with unparsable default reprs parse, keeps standard-library docstrings out of
  the pages, and helps napoleon with two idioms of brainstate's docstrings (see the handlers).
"""

from __future__ import annotations

import ast
import builtins
import functools
import importlib
import re
import sys
from typing import Any

import apigen
from apigen import _WHEELS, ModulePage, _own_methods_file, _source, collect


def public_index(pages: list[ModulePage]) -> tuple[dict[int, str], dict[str, list[str]]]:
    """``id(object) -> public path`` (the first one documented) and ``short name -> public paths``."""
    by_id: dict[int, str] = {}
    by_short: dict[str, list[str]] = {}
    for page in pages:
        for entry in page.entries:
            if entry.kind in ("class", "exception", "function"):
                by_id.setdefault(id(entry.obj), entry.fullname)
            if entry.kind != "module":
                by_short.setdefault(entry.name, []).append(entry.fullname)
    return by_id, by_short


_MISSING = object()


def _lookup(target: str) -> Any:
    """Import the object at the dotted path ``target`` (module part, then attributes), or ``_MISSING``."""
    parts = target.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except Exception:  # noqa: BLE001 - any failure means "not an importable module path"
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return _MISSING
        return obj
    return _MISSING


def public_target(target: str, by_id: dict[int, str], by_short: dict[str, list[str]],
                  module: str | None = None) -> str | None:
    """The documented public path for a reference ``target`` that Sphinx could not resolve as written.

    ``brainstate_nn._linear.Linear`` and ``brainstate_nn.Linear`` map to ``brainstate.nn.Linear``
    (by object identity); a bare ``Linear`` maps to the one public path with that last component;
    where there are several, to the one in ``module`` (the page's), in ``brainstate`` or in
    ``brainstate.typing``, in that order.
    """
    target = target.lstrip("~.")
    if target.partition(".")[0] in _WHEELS:
        obj = _lookup(target)
        if obj is not _MISSING and id(obj) in by_id:
            return by_id[id(obj)]
        # a method or attribute of a documented class: Class's public path + the rest
        head, _, tail = target.rpartition(".")
        owner = _lookup(head) if head else _MISSING
        if owner is not _MISSING and id(owner) in by_id:
            return f"{by_id[id(owner)]}.{tail}"
        return None
    short, dot, rest = target.partition(".")
    if dot:  # ``State.to_lanes``: the public path of ``State``, then the rest
        head = public_target(short, by_id, by_short, module)
        return f"{head}.{rest}" if head else None
    candidates = by_short.get(short, [])
    if len(candidates) == 1:
        return candidates[0]
    for home in (module, "brainstate", "brainstate.typing"):
        if home and f"{home}.{short}" in candidates:
            return f"{home}.{short}"
    return None


def _pages() -> list[ModulePage]:
    if not apigen.PAGES:  # a process that did not start the build (none so far), or a test
        apigen.PAGES[:] = collect()
    return apigen.PAGES


@functools.cache
def _index() -> tuple[dict[int, str], dict[str, list[str]]]:
    return public_index(_pages())


def _on_missing_reference(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """Resolve a py reference Sphinx could not: to the public path of its object, or else to plain text.

    Plain text (no link, no warning) is for targets that exist but have no page of their own: type
    variables, private helpers named in annotations, members without a docstring. A target that
    names nothing importable still warns, so a misspelt or renamed name fails the build.
    """
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"]
    new = public_target(target, *_index(), module=node.get("py:module"))
    if new is not None and new != target:
        domain = env.get_domain("py")
        moved = node.deepcopy()
        moved["reftarget"] = new
        moved.attributes.pop("refspecific", None)  # the py domain searches fuzzily whenever the key exists
        found = domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], new, moved, contnode)
        if found is not None:
            return found
    if _exists(target.lstrip("~."), node.get("py:module"), node.get("py:class")):
        return contnode
    return None


@functools.cache
def _exists(target: str, module: str | None, cls: str | None) -> bool:
    """Whether ``target``, seen on a page of ``module`` (in the docs of class ``cls``), names something real."""
    candidates = [target]
    if module:
        candidates.insert(0, f"{module}.{target}")
        if cls:
            candidates.insert(0, f"{module}.{cls}.{target}")
    for candidate in candidates:
        if _lookup(candidate) is not _MISSING:
            return True
    if module and cls and target in _members_of(_lookup(f"{module}.{cls}")):
        return True
    if not re.fullmatch(r"[A-Za-z_]\w*", target):
        return False
    # a bare name: a member of a documented class (a summary line such as ":meth:`bind_cond`" is shown
    # outside its class), or a private alias or type variable of a signature (``Result``, ``M``)
    return target in _known_names()


@functools.cache
def _known_names() -> frozenset[str]:
    names: set[str] = set()
    for page in _pages():
        for entry in page.entries:
            if entry.kind in ("class", "exception"):
                names |= _members_of(entry.obj)
    for name, module in list(sys.modules.items()):
        if module is not None and name.partition(".")[0] in _WHEELS and "._" in f".{name}":
            names |= set(vars(module))
    return frozenset(names)


def _members_of(cls: Any) -> frozenset[str]:
    """The attributes of class ``cls``, with the instance attributes its source assigns (``self.pre = ...``)."""
    if not isinstance(cls, type):
        return frozenset()
    names = set(dir(cls))
    for klass in cls.__mro__[:-1]:
        file = _own_methods_file(klass)
        if file:
            names |= set(re.findall(r"\bself\.(\w+)(?:\s*,\s*self\.\w+)*\s*(?::[^=\n]+)?=", _source(file)))
            names |= {m for group in re.findall(r"\bself\.\w+((?:\s*,\s*self\.\w+)+)\s*=", _source(file))
                      for m in re.findall(r"self\.(\w+)", group)}
    return frozenset(names)


def _public_bases(bases: list[type], documented: dict[int, str]) -> list[type]:
    """``bases`` with each private base class that has no page replaced by its own bases, recursively."""
    out: list[type] = []
    for base in bases:
        private = base.__name__.startswith("_") or any(
            part.startswith("_") for part in str(base.__module__).split("."))
        if private and id(base) not in documented:
            replaced = _public_bases([b for b in base.__bases__ if b is not object], documented)
        else:
            replaced = [base]
        out.extend(b for b in replaced if b not in out)
    return out


def _on_process_bases(app: Any, name: str, obj: Any, options: Any, bases: list[type]) -> None:
    bases[:] = _public_bases(list(bases), _index()[0])


def _on_process_signature(app: Any, what: str, name: str, obj: Any, options: Any, signature: str | None,
                          return_annotation: str | None) -> tuple[str | None, str | None] | None:
    """Make a signature whose defaults are reprs that are not Python parseable again.

    Sphinx parses a signature as Python to render it; one it cannot parse is shown raw (with
    ``~typing.Any`` spelt out). Defaults such as ``<class 'brainstate.ParamState'>`` become
    ``brainstate.ParamState``, ``<function relu at 0x...>`` becomes ``relu``, and any other
    ``<...>`` (a dataclass field's ``<factory>``) becomes ``...``.
    """
    if not signature or _parses(signature):
        return None
    fixed = re.sub(r"<class '([\w.]+)'>", r"\1", signature)
    fixed = re.sub(r"<(?:function|built-in function|PjitFunction of <function) ([\w.<>]+?)(?: at 0x[0-9a-f]+)?>+", r"\1",
                   fixed)
    fixed = re.sub(r"<[^<>]*>", "...", fixed)
    return (fixed, return_annotation) if _parses(fixed) else None


def _parses(signature: str) -> bool:
    try:
        ast.parse(f"def f{signature}: pass")
    except SyntaxError:
        return False
    return True


def _on_process_docstring(app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    """Before napoleon: drop docstrings inherited from the standard library, and spell two idioms of
    brainstate's ``Args:`` sections in a form napoleon parses.

    - A member without a docstring of its own inherits its base's (``HiData.items`` gets
      ``Mapping.items``'s "D.items() -> a set-like object ..."), which is not documentation of ours.
    - ``R, tau, V_th, ...,`` wrapped onto a second line before its colon: joined into one line.
    - ``*args, **kwargs: ...``: the stars escaped, as napoleon does for ``*args`` alone.
    """
    if what in ("method", "attribute", "property") and _doc_from_outside(name):
        lines[:] = []
        return
    out: list[str] = []
    for line in lines:
        stripped = line.strip()
        if out and out[-1].rstrip().endswith(",") and stripped and not out[-1].strip().endswith(":") and (
                len(line) - len(line.lstrip()) > len(out[-1]) - len(out[-1].lstrip())) and ":" in stripped and (
                re.fullmatch(r"[\w*]+(, [\w*]+)*,", out[-1].strip())):
            out[-1] = f"{out[-1].rstrip()} {stripped}"
            continue
        out.append(re.sub(r"^(\s+)\*(\w+), \*\*(\w+):", r"\1\\*\2, \\*\\*\3:", line))
    lines[:] = out


def _doc_from_outside(name: str) -> bool:
    """Whether the member at public path ``name`` takes its docstring from a class outside brainstate."""
    owner_path, _, member = name.rpartition(".")
    owner = _lookup(owner_path)
    if not isinstance(owner, type):
        return False
    for cls in owner.__mro__:
        value = vars(cls).get(member)
        if value is not None and getattr(value, "__doc__", None):
            return str(cls.__module__).partition(".")[0] not in _WHEELS
    return False


def _on_doctree_read(app: Any, doctree: Any) -> None:
    """Bare builtin and ``typing`` names in annotations (``type``, ``dict[str, Any]``) mean exactly those.

    Sphinx resolves such a name fuzzily, to any documented object ending with it: ``type`` would link
    to ``brainstate.graph.GraphDef.type`` and ``Any`` to the graph filter ``brainstate.graph.Any``.
    """
    from sphinx.addnodes import pending_xref

    for node in doctree.findall(pending_xref):
        if node.get("refdomain") != "py" or not node.hasattr("refspecific"):
            continue
        target = node.get("reftarget")
        if target == "Any":
            node["reftarget"] = "typing.Any"
        elif target in _BUILTINS:
            node["reftarget"] = f"builtins.{target}"
        else:
            continue
        del node["refspecific"]  # the py domain searches fuzzily whenever the key exists


_BUILTINS = frozenset(name for name in dir(builtins) if not name.startswith("_"))


_ARTICLES = {"a", "an", "the", "one", "every", "each", "how", "all"}


def _napoleon_prose_is_not_a_type() -> None:
    """Napoleon reads the first line of an attribute's docstring as ``type: description``.

    brainstate's property docstrings are prose ("How many hidden variables the state holds: 1"):
    a "type" of three words or more, or one starting with an article, is put back as the start of the
    description.
    """
    from sphinx.ext.napoleon.docstring import GoogleDocstring

    original = GoogleDocstring._consume_inline_attribute
    if getattr(original, "_brainstate", False):
        return

    def consume(self: Any) -> tuple[str, list[str]]:
        kind, descs = original(self)
        words = re.sub(r"\[.*?\]|`.*?`", "x", kind).split()
        if len(words) >= 3 or (len(words) > 1 and words[0].lower() in _ARTICLES):
            first = descs[0] if descs else ""
            return "", [f"{kind}: {first}".rstrip(": ") if first else kind, *descs[1:]]
        return kind, descs

    consume._brainstate = True  # type: ignore[attr-defined]
    GoogleDocstring._consume_inline_attribute = consume


def setup(app: Any) -> dict[str, Any]:
    _napoleon_prose_is_not_a_type()
    app.connect("missing-reference", _on_missing_reference)
    app.connect("autodoc-process-bases", _on_process_bases)
    app.connect("autodoc-process-signature", _on_process_signature)
    app.connect("autodoc-process-docstring", _on_process_docstring, priority=400)  # before napoleon (500)
    app.connect("doctree-read", _on_doctree_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
